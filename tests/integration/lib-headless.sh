# shellcheck shell=bash disable=SC2034
# More harness for the tests of headless logins, client credentials, the
# keyring outside a desktop session, the file store, export/import and
# doctor. Source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib-headless.sh"
#
# Everything it starts goes into SPK_PIDS (stopped by peers_stop) and every
# file it writes lives in $SPK_TMP.

# ---------------------------------------------------------------- running sparekey

# skx [--timeout SECS] [--stdin FILE] [--env-i] [VAR=VALUE...] -- ARGS...
# Like sk, with stdin from FILE (default /dev/null), in an environment
# changed by the VAR=VALUE assignments; --env-i starts from an empty
# environment (like cron). Sets SK_RC, SK_OUT, SK_ERR, SK_SECS, SK_CMD;
# output in $SPK_TMP/sk.out and sk.err, so assert_rc, assert_failure, ...
# work on it.
skx() {
    local t=120 in=/dev/null t0
    local -a envargs=()
    while [ $# -gt 0 ]; do
        case $1 in
            --timeout) t=$2; shift 2 ;;
            --stdin) in=$2; shift 2 ;;
            --env-i) envargs+=(-i); shift ;;
            --) shift; break ;;
            *=*) envargs+=("$1"); shift ;;
            *) break ;;
        esac
    done
    SK_CMD="${envargs[*]:+env ${envargs[*]} }sparekey $*"
    t0=$(date +%s.%N)
    { env "${envargs[@]}" timeout --kill-after=5 "$t" "$SPAREKEY" "$@" <"$in" >"$SPK_TMP/sk.out" 2>"$SPK_TMP/sk.err"; } 2>/dev/null
    SK_RC=$?
    SK_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    SK_OUT=$(cat "$SPK_TMP/sk.out")
    SK_ERR=$(cat "$SPK_TMP/sk.err")
    [ "$in" = /dev/null ] || SK_CMD="$SK_CMD <$in"
    diag "\$ $SK_CMD  -> exit $SK_RC in ${SK_SECS}s"
    [ "$SK_RC" -eq 124 ] && diag "(killed by the harness after ${t}s)"
    diag_file "$SPK_TMP/sk.err" 'stderr: '
    return 0
}

# sk_bg [--stdin FILE] [VAR=VALUE...] -- ARGS...: start sparekey in the
# background (stdout $SPK_TMP/bg.out, stderr $SPK_TMP/bg.err); its pid is
# SK_BG_PID. Collect it with sk_bg_wait.
sk_bg() {
    local in=/dev/null
    local -a envargs=()
    while [ $# -gt 0 ]; do
        case $1 in
            --stdin) in=$2; shift 2 ;;
            --) shift; break ;;
            *=*) envargs+=("$1"); shift ;;
            *) break ;;
        esac
    done
    : >"$SPK_TMP/bg.out"; : >"$SPK_TMP/bg.err"
    SK_CMD="sparekey $*"
    SK_BG_T0=$(date +%s.%N)
    # fd 7 (the paste FIFO's write end, see paste_open) is not inherited.
    env "${envargs[@]}" "$SPAREKEY" "$@" <"$in" >"$SPK_TMP/bg.out" 2>"$SPK_TMP/bg.err" 7>&- &
    SK_BG_PID=$!
    SPK_PIDS+=("$SK_BG_PID")
    diag "started in the background (pid $SK_BG_PID): $SK_CMD"
}

# sk_bg_wait SECS: wait up to SECS for the background sparekey to exit
# (then kill it: exit status 124). Sets SK_RC, SK_OUT, SK_ERR, SK_SECS and
# copies its output to $SPK_TMP/sk.out and sk.err.
sk_bg_wait() {
    local n=$(($1 * 10)) i
    for ((i = 0; i < n; i++)); do
        proc_alive "$SK_BG_PID" || break
        sleep 0.1
    done
    if proc_alive "$SK_BG_PID"; then
        kill -KILL "$SK_BG_PID" 2>/dev/null
        wait "$SK_BG_PID" 2>/dev/null
        SK_RC=124
        diag "(killed by the harness after $1 s)"
    else
        wait "$SK_BG_PID" 2>/dev/null
        SK_RC=$?
    fi
    SK_SECS=$(awk -v a="$SK_BG_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    cp -f "$SPK_TMP/bg.out" "$SPK_TMP/sk.out"; cp -f "$SPK_TMP/bg.err" "$SPK_TMP/sk.err"
    SK_OUT=$(cat "$SPK_TMP/sk.out")
    SK_ERR=$(cat "$SPK_TMP/sk.err")
    diag "\$ $SK_CMD  -> exit $SK_RC after ${SK_SECS}s"
    diag_file "$SPK_TMP/sk.err" 'stderr: '
    return 0
}

# wait_for_line FILE ERE SECS [PID]: until a line of FILE matches ERE
# (grep -E); prints the first such line. Fails after SECS, or early when
# PID has exited.
wait_for_line() {
    local f=$1 re=$2 n=$(($3 * 10)) pid=${4:-} i
    for ((i = 0; i < n; i++)); do
        if grep -qE -- "$re" "$f" 2>/dev/null; then grep -m1 -E -- "$re" "$f"; return 0; fi
        if [ -n "$pid" ] && ! proc_alive "$pid"; then break; fi
        sleep 0.1
    done
    grep -m1 -E -- "$re" "$f" 2>/dev/null
}

# line_count FILE ERE: how many lines of FILE match ERE
line_count() { grep -cE -- "$2" "$1" 2>/dev/null; }

# ---------------------------------------------------------------- paste FIFO
# paste_open: a FIFO for sparekey's stdin ($SPK_PASTE); the test holds its
# write end on fd 7, so sparekey's stdin stays open until paste_close.
paste_open() {
    SPK_PASTE=$SPK_TMP/paste.fifo
    rm -f "$SPK_PASTE"; mkfifo -m 600 "$SPK_PASTE"
    exec 7<>"$SPK_PASTE"
}
paste_send() { printf '%s\n' "$1" >&7; }   # LINE
paste_close() { exec 7>&-; }

# ---------------------------------------------------------------- browser

# browser_open URL [VAR=VALUE...]: what a person does with a printed URL:
# open it in the test browser (tests/peers/browser, detached; its pid goes
# to $SPK_BROWSER_PIDS) with the given browser settings, e.g.
# SPK_BROWSER_MODE=intercept. Then browser_wait.
browser_open() {
    local u=$1; shift
    browser_reset
    env "$@" "$SPK_PEERS/browser" "$u"
}

# url_param URL NAME: a query parameter of URL, decoded ("" when absent)
url_param() {
    node -e 'const v = new URL(process.argv[1]).searchParams.get(process.argv[2]); process.stdout.write(v === null ? "" : v)' "$1" "$2"
}

# url_with_param URL NAME VALUE: URL with the query parameter NAME set to VALUE
url_with_param() {
    node -e 'const u = new URL(process.argv[1]); u.searchParams.set(process.argv[2], process.argv[3]); process.stdout.write(u.href)' "$1" "$2" "$3"
}

# ---------------------------------------------------------------- provider

# introspect TOKEN: ask the provider (as the confidential client
# "introspector") whether TOKEN is active. Sets IS_STATUS, IS_BODY,
# IS_ACTIVE (true/false/""), IS_CLIENT (the token's client_id).
introspect() {
    # RFC 6749 2.3.1: id and secret form-encoded, then Basic (secret from the environment, not argv)
    (umask 077
     printf 'token=%s' "$(urlencode "$1")" >"$SPK_TMP/introspect.form"
     node -e 'const e = (s) => encodeURIComponent(s);
              const s = process.env.SPK_CLIENT_SECRET || "sparekey-test-secret";
              console.log("Authorization: Basic " + Buffer.from(e("introspector") + ":" + e(s)).toString("base64"))' \
         >"$SPK_TMP/introspect.hdr")
    IS_STATUS=$(curl -sS -o "$SPK_TMP/introspect.body" -w '%{http_code}' --max-time 15 -H @"$SPK_TMP/introspect.hdr" \
        -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$SPK_TMP/introspect.form" \
        "$ISSUER/token/introspection")
    IS_BODY=$(cat "$SPK_TMP/introspect.body" 2>/dev/null)
    IS_ACTIVE=$(json_get active <<<"$IS_BODY")
    IS_CLIENT=$(json_get client_id <<<"$IS_BODY")
    rm -f "$SPK_TMP/introspect.form" "$SPK_TMP/introspect.hdr"
}

# grant_count_since MARK GRANT_TYPE [EVENT]: provider events EVENT
# (default grant.success) for GRANT_TYPE since MARK
grant_count_since() {
    events_since "$1" | grep -F "\"event\":\"${3:-grant.success}\"" | grep -cF "\"grant_type\":\"$2\""
}

# any_grant_since MARK GRANT_TYPE: grant requests of that type (success or error)
any_grant_since() {
    events_since "$1" | grep -E '"event":"grant\.(success|error)"' | grep -cF "\"grant_type\":\"$2\""
}

# ---------------------------------------------------------------- keyring items

# keyring_item PROFILE KIND: the secret of the item (profile, kind) in the
# keyring of the current DBUS_SESSION_BUS_ADDRESS ("" when absent)
keyring_item() { secret-tool lookup profile "$1" kind "$2" 2>/dev/null; }

# keyring_pid: the gnome-keyring-daemon that peers_start started
keyring_pid() {
    local pid
    for pid in "${SPK_PIDS[@]}"; do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = gnome-keyring-d ] && { echo "$pid"; return 0; }
    done
    return 1
}

# keyring_lock / keyring_unlock: lock the default collection of the keyring
# on $DBUS_SESSION_BUS_ADDRESS (Secret Service Lock, which needs no
# prompt), and unlock it again with the password peers_start used
# (gnome-keyring's internal UnlockWithMasterPassword: no prompter needed).
# Print the collection's Locked property afterwards (true/false).
keyring_lock() { /usr/bin/python3 - lock <<<"$SPK_KEYRING_PY"; }
keyring_unlock() { /usr/bin/python3 - unlock spk-test-keyring-password <<<"$SPK_KEYRING_PY"; }
SPK_KEYRING_PY='
import sys, dbus
bus = dbus.SessionBus()
svc = bus.get_object("org.freedesktop.secrets", "/org/freedesktop/secrets")
service = dbus.Interface(svc, "org.freedesktop.Secret.Service")
coll = service.ReadAlias("default")
if sys.argv[1] == "lock":
    locked, prompt = service.Lock([coll])
    if prompt != "/":
        sys.exit("Lock wants a prompt: " + prompt)
else:
    internal = dbus.Interface(svc, "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface")
    _, session = service.OpenSession("plain", dbus.String("", variant_level=1))
    secret = dbus.Struct((session, dbus.ByteArray(b""), dbus.ByteArray(sys.argv[2].encode()), "text/plain"),
                         signature="oayays")
    internal.UnlockWithMasterPassword(coll, secret)
props = dbus.Interface(bus.get_object("org.freedesktop.secrets", coll), "org.freedesktop.DBus.Properties")
print("true" if props.Get("org.freedesktop.Secret.Collection", "Locked") else "false")
'

# ---------------------------------------------------------------- more buses, more machines

# bus_start SOCKET: another private dbus-daemon (no service activation) on
# unix:path=SOCKET. Sets BUS_PID. Fails when it does not answer in 10 s.
bus_start() {
    local sock=$1 i
    dbus-daemon --nofork --config-file="$SPK_ROOT/tests/integration/dbus.conf" \
        --address="unix:path=$sock" >>"$SPK_TMP/dbus-more.log" 2>&1 &
    BUS_PID=$!; SPK_PIDS+=("$BUS_PID")
    for ((i = 0; i < 100; i++)); do
        DBUS_SESSION_BUS_ADDRESS=unix:path=$sock dbus-send --session --print-reply --dest=org.freedesktop.DBus \
            /org/freedesktop/DBus org.freedesktop.DBus.GetId >/dev/null 2>&1 && return 0
        proc_alive "$BUS_PID" || break
        sleep 0.1
    done
    cat "$SPK_TMP/dbus-more.log" >&2
    return 1
}

# machine_start NAME: a second "machine" for the same user: its own HOME,
# XDG dirs, session bus and unlocked gnome-keyring, below $SPK_TMP/NAME.
# Sets MACHINE_ENV (an array of VAR=VALUE for env/skx) and MACHINE_HOME.
# Run things there with: on_machine CMD ARGS... or skx "${MACHINE_ENV[@]}" -- ARGS
machine_start() {
    local root=$SPK_TMP/$1 pid i
    MACHINE_HOME=$root/home
    mkdir -p "$MACHINE_HOME/.config" "$MACHINE_HOME/.local/state" "$MACHINE_HOME/.cache" \
        "$MACHINE_HOME/.local/share" "$root/tmp"
    mkdir -m 700 "$root/run"
    bus_start "$root/bus" || return 1
    MACHINE_ENV=(HOME="$MACHINE_HOME" XDG_CONFIG_HOME="$MACHINE_HOME/.config"
        XDG_STATE_HOME="$MACHINE_HOME/.local/state" XDG_CACHE_HOME="$MACHINE_HOME/.cache"
        XDG_DATA_HOME="$MACHINE_HOME/.local/share" XDG_RUNTIME_DIR="$root/run" TMPDIR="$root/tmp"
        DBUS_SESSION_BUS_ADDRESS="unix:path=$root/bus")
    printf %s spk-test-keyring-password | env "${MACHINE_ENV[@]}" \
        gnome-keyring-daemon --foreground --unlock --components=secrets >"$root/keyring.log" 2>&1 &
    pid=$!; SPK_PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do
        if printf probe | on_machine secret-tool store --label='sparekey harness probe' spk-harness probe 2>/dev/null \
            && [ "$(on_machine secret-tool lookup spk-harness probe 2>/dev/null)" = probe ]; then
            on_machine secret-tool clear spk-harness probe
            return 0
        fi
        proc_alive "$pid" || break
        sleep 0.1
    done
    cat "$root/keyring.log" >&2
    return 1
}

on_machine() { env "${MACHINE_ENV[@]}" "$@"; }

# ---------------------------------------------------------------- a recording proxy

# token_proxy_start: an HTTP proxy on 127.0.0.1 in front of $ISSUER that
# records how each request authenticates the client (never a secret) in
# $SPK_TOKEN_PROXY_LOG, one JSON line per request: {path, grant_type,
# auth: "basic"|"post"|"none", basic_client_id, both (basic and a body
# secret at once)}. Sets TOKEN_PROXY (http://127.0.0.1:PORT); point a
# profile's token_endpoint at "$TOKEN_PROXY/token".
token_proxy_start() {
    local pid
    export SPK_TOKEN_PROXY_LOG=$SPK_TMP/token-proxy.jsonl
    : >"$SPK_TOKEN_PROXY_LOG"
    cat >"$SPK_TMP/token-proxy.mjs" <<'JS'
import fs from 'node:fs';
import http from 'node:http';
const [upstream, portFile, log] = process.argv.slice(2);
const formDecode = (s) => decodeURIComponent(s.replace(/\+/g, '%20'));
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const form = new URLSearchParams(body.toString('utf8'));
    const authz = req.headers.authorization || '';
    const basic = /^basic /i.test(authz);
    const rec = {
      ts: Date.now() / 1000,
      path: req.url.split('?')[0],
      grant_type: form.get('grant_type'),
      auth: basic ? 'basic' : form.has('client_secret') ? 'post' : 'none',
      both: basic && form.has('client_secret'),
    };
    if (basic) {
      const dec = Buffer.from(authz.slice(6).trim(), 'base64').toString('utf8');
      try { rec.basic_client_id = formDecode(dec.slice(0, dec.indexOf(':'))); } catch { rec.basic_client_id = null; }
    }
    fs.appendFileSync(log, `${JSON.stringify(rec)}\n`);
    const target = new URL(req.url, upstream);
    const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    up.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(`${portFile}.tmp`, `${server.address().port}\n`);
  fs.renameSync(`${portFile}.tmp`, portFile);
});
process.on('SIGTERM', () => process.exit(0));
JS
    node "$SPK_TMP/token-proxy.mjs" "$ISSUER" "$SPK_TMP/token-proxy.port" "$SPK_TOKEN_PROXY_LOG" \
        >"$SPK_TMP/token-proxy.log" 2>&1 </dev/null &
    pid=$!; SPK_PIDS+=("$pid")
    wait_for_file "$SPK_TMP/token-proxy.port" 15 "$pid" || { cat "$SPK_TMP/token-proxy.log" >&2; return 1; }
    TOKEN_PROXY=http://127.0.0.1:$(cat "$SPK_TMP/token-proxy.port")
}

# proxy_last FIELD: FIELD of the last request the token proxy recorded
proxy_last() { tail -n1 "$SPK_TOKEN_PROXY_LOG" | json_get "$1"; }
