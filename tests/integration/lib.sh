# shellcheck shell=bash disable=SC2034
# Shared harness for sparekey's integration tests. Source it from a test
# script (bash), then:
#
#   set -u
#   . "$(dirname "$0")/lib.sh"
#   trap peers_stop EXIT
#   export SPK_ACCESS_TTL=8        # optional, before peers_start
#   peers_start                    # private HOME/XDG dirs, D-Bus, keyring, provider
#   badpeer_start                  # optional: the misbehaving HTTP server
#   sk login e2e --issuer "$ISSUER" ...; assert_rc 0 "login works"
#   ...
#   spk_done                       # prints the plan and exits 0 or 1
#
# Output is TAP: "ok N - ...", "not ok N - ...", "# ..." diagnostics, the
# plan "1..N" at the end. Exit status: 0 all passed, 1 something failed,
# 77 a peer could not be started (missing chromium, node modules,
# gnome-keyring, ...): the test is skipped.
#
# Inputs (environment):
#   SPAREKEY         the sparekey binary (default: build/sparekey under the
#                    project root; a relative path is taken from the cwd
#                    first, then from the project root)
#   SPK_ACCESS_TTL, SPK_REFRESH_TTL, SPK_REFRESH_GRACE   passed to the
#                    provider (seconds; see tests/peers/provider.mjs)
#   SPK_CHROMIUM     browser executable (default /usr/bin/chromium)
#   SPK_KEEP_TMP=1   keep the temp dir (logs, keyring, config) after the run
#
# Set by peers_start (exported):
#   SPK_TMP          private temp dir (everything below lives in it)
#   HOME, XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_CACHE_HOME, XDG_DATA_HOME,
#   XDG_RUNTIME_DIR (0700), TMPDIR
#   DBUS_SESSION_BUS_ADDRESS   the private bus (no service activation)
#   SPK_CONFIG       $XDG_CONFIG_HOME/sparekey/config
#   ISSUER           http://127.0.0.1:PORT (oidc-provider)
#   SPK_EVENT_LOG    the provider's JSON-lines event log
#   BROWSER          tests/peers/browser (returns at once, like xdg-open)
#   SPK_BROWSER_RESULT, SPK_BROWSER_LOG, SPK_BROWSER_PIDS, SPK_BROWSER_USER
# Set by badpeer_start: BADPEER (http://127.0.0.1:PORT), SPK_BADPEER_LOG.
# Set by provider_run (another provider, other knobs): PROVIDER_ORIGIN.

SPK_ROOT=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
SPK_PEERS=$SPK_ROOT/tests/peers
SPK_NAME=$(basename -- "$0" .sh)

SPAREKEY=${SPAREKEY:-build/sparekey}
case $SPAREKEY in
    /*) ;;
    *)  if [ -e "$PWD/$SPAREKEY" ]; then SPAREKEY=$PWD/$SPAREKEY
        else SPAREKEY=$SPK_ROOT/$SPAREKEY; fi ;;
esac
export SPAREKEY

SPK_NTEST=0
SPK_NFAIL=0
SPK_PIDS=()          # processes this harness started (its own children)
SPK_TMP=
SPK_STOPPED=

# ---------------------------------------------------------------- output

diag() { local l; while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$*"; }

# diag_file FILE [PREFIX]: show a file's lines as diagnostics.
diag_file() {
    local l
    [ -s "$1" ] || return 0
    while IFS= read -r l || [ -n "$l" ]; do printf '#   %s%s\n' "${2:-}" "$l"; done <"$1"
}

ok() { SPK_NTEST=$((SPK_NTEST + 1)); printf 'ok %d - %s\n' "$SPK_NTEST" "$1"; }

# not_ok DESC [DETAIL...]: record a failure; details become diagnostics.
not_ok() {
    local d=$1; shift
    SPK_NTEST=$((SPK_NTEST + 1)); SPK_NFAIL=$((SPK_NFAIL + 1))
    printf 'not ok %d - %s\n' "$SPK_NTEST" "$d"
    local x; for x in "$@"; do diag "$x"; done
    return 1
}

skip_one() { SPK_NTEST=$((SPK_NTEST + 1)); printf 'ok %d - %s # SKIP %s\n' "$SPK_NTEST" "$1" "$2"; }

# spk_skip REASON: skip the whole test (exit 77).
spk_skip() {
    printf '1..0 # SKIP %s\n' "$*"
    printf '%s: SKIP: %s\n' "$SPK_NAME" "$*" >&2
    exit 77
}

# bail REASON: a failure that makes the rest of the test meaningless.
bail() {
    SPK_NFAIL=$((SPK_NFAIL + 1))
    printf 'Bail out! %s\n' "$*"
    exit 1
}

spk_done() {
    printf '1..%d\n' "$SPK_NTEST"
    diag "$SPK_NAME: $((SPK_NTEST - SPK_NFAIL)) of $SPK_NTEST checks passed, $SPK_NFAIL failed, $((SECONDS)) s"
    [ "$SPK_NFAIL" -eq 0 ] && exit 0
    exit 1
}

# ---------------------------------------------------------------- assertions
# Each prints "ok"/"not ok" naming what was checked and, on failure, what
# was seen. They return 1 on failure but never exit.

assert_eq() {   # ACTUAL EXPECTED DESC
    if [ "$1" == "$2" ]; then ok "$3"
    else not_ok "$3" "expected: $(printf %q "$2")" "got:      $(printf %q "$1")"; fi
}

assert_ne() {   # ACTUAL UNEXPECTED DESC
    if [ "$1" != "$2" ]; then ok "$3"
    else not_ok "$3" "expected something other than: $(printf %q "$2")"; fi
}

assert_new() {   # NEW OLD DESC — NEW is non-empty and differs from OLD
    if [ -n "$1" ] && [ "$1" != "$2" ]; then ok "$3"
    elif [ -z "$1" ]; then not_ok "$3" "got an empty value"
    else not_ok "$3" "still the old value: $(printf %q "$2")"; fi
}

assert_contains() {   # HAYSTACK NEEDLE DESC   (fixed string, case-sensitive)
    if [[ $1 == *"$2"* ]]; then ok "$3"
    else not_ok "$3" "expected to contain: $2" "got: $1"; fi
}

assert_icontains() {   # HAYSTACK NEEDLE DESC   (fixed string, case-insensitive)
    if grep -qiF -- "$2" <<<"$1"; then ok "$3"
    else not_ok "$3" "expected to contain (any case): $2" "got: $1"; fi
}

assert_match() {   # HAYSTACK ERE DESC   (grep -E -i, any line)
    if grep -qiE -- "$2" <<<"$1"; then ok "$3"
    else not_ok "$3" "expected to match /$2/ (any case)" "got: $1"; fi
}

assert_not_contains() {   # HAYSTACK NEEDLE DESC
    if [[ $1 != *"$2"* ]]; then ok "$3"
    else not_ok "$3" "must not contain: $2" "got: $1"; fi
}

# assert_exit CODE DESC CMD [ARG...]: run any command, check its exit status.
assert_exit() {
    local want=$1 d=$2 rc; shift 2
    "$@" >"$SPK_TMP/cmd.out" 2>"$SPK_TMP/cmd.err"; rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$d"
    else
        not_ok "$d" "\$ $(printf '%q ' "$@")" "expected exit $want, got $rc"
        diag_file "$SPK_TMP/cmd.out" 'stdout: '; diag_file "$SPK_TMP/cmd.err" 'stderr: '
        return 1
    fi
}

# ---------------------------------------------------------------- running sparekey

# sk [--timeout SECS] ARGS...: run "$SPAREKEY ARGS..." with stdin from
# /dev/null and a hard timeout (default 120 s). Sets SK_RC, SK_OUT (stdout,
# trailing newlines stripped), SK_ERR (stderr), SK_SECS (elapsed); raw
# output is in $SPK_TMP/sk.out and $SPK_TMP/sk.err. Shows the command, its
# exit status and its stderr as diagnostics (stdout is not shown: it may
# be a token).
sk() {
    local t=120 t0
    if [ "${1:-}" = --timeout ]; then t=$2; shift 2; fi
    SK_CMD="sparekey $*"
    t0=$(date +%s.%N)
    # (the braces keep bash's "Killed" job report off the TAP stream's stderr)
    { timeout --kill-after=5 "$t" "$SPAREKEY" "$@" <"/dev/null" >"$SPK_TMP/sk.out" 2>"$SPK_TMP/sk.err"; } 2>/dev/null
    SK_RC=$?
    SK_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    SK_OUT=$(cat "$SPK_TMP/sk.out")
    SK_ERR=$(cat "$SPK_TMP/sk.err")
    diag "\$ $SK_CMD  -> exit $SK_RC in ${SK_SECS}s"
    [ "$SK_RC" -eq 124 ] && diag "(killed by the harness after ${t}s)"
    diag_file "$SPK_TMP/sk.err" 'stderr: '
    return 0
}

assert_rc() {   # EXPECTED DESC — exit status of the last sk
    if [ "$SK_RC" -eq "$1" ]; then ok "$2"
    else
        not_ok "$2" "\$ $SK_CMD" "expected exit $1, got $SK_RC"
        diag_file "$SPK_TMP/sk.err" 'stderr: '
        return 1
    fi
}

# number of lines in a file, counting an unterminated last line
nlines() { awk 'END { print NR }' "$1"; }

assert_stderr_one_line() {   # DESC — last sk printed exactly one line on stderr
    local n; n=$(nlines "$SPK_TMP/sk.err")
    if [ "$n" -eq 1 ] && [ -n "$(tr -d '[:space:]' <"$SPK_TMP/sk.err")" ]; then ok "$1"
    else not_ok "$1" "expected exactly one non-empty line on stderr, got $n lines"; diag_file "$SPK_TMP/sk.err" 'stderr: '; return 1; fi
}

assert_stdout_empty() {   # DESC
    if [ ! -s "$SPK_TMP/sk.out" ]; then ok "$1"
    else not_ok "$1" "expected nothing on stdout, got $(wc -c <"$SPK_TMP/sk.out") bytes: $(head -c 200 "$SPK_TMP/sk.out")"; fi
}

# assert_failure CODE WHAT: exit status CODE, one stderr line, empty stdout.
assert_failure() {
    assert_rc "$1" "$2: exits $1"
    assert_stderr_one_line "$2: exactly one line on stderr"
    assert_stdout_empty "$2: nothing on stdout"
}

# ---------------------------------------------------------------- processes

# proc_alive PID: exists and is not a zombie (kill -0 succeeds on zombies,
# and PID 1 here does not reap orphans).
proc_alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; reap if it is our child.
stop_pid() {
    local pid=$1 i
    if proc_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 50); do proc_alive "$pid" || break; sleep 0.1; done
        proc_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# Processes whose command line names our private temp dir: the detached
# browsers (node + chromium, started by sparekey through $BROWSER) and
# anything else this test started with its files. Never anything else.
own_stray_pids() {
    local d pid
    [ -n "$SPK_TMP" ] || return 0
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [ "$pid" = $$ ] && continue
        if { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -qF -- "$SPK_TMP/"; then
            proc_alive "$pid" && echo "$pid"
        fi
    done
}

peers_stop() {
    local rc=$? pid f i
    [ -n "$SPK_STOPPED" ] && return 0
    SPK_STOPPED=1
    trap - INT TERM HUP
    if [ -n "${SPK_BROWSER_PIDS:-}" ] && [ -f "$SPK_BROWSER_PIDS" ]; then
        while read -r pid; do
            [ -n "$pid" ] || continue
            if proc_alive "$pid" && grep -qF browser.mjs "/proc/$pid/cmdline" 2>/dev/null; then
                stop_pid "$pid"
            fi
        done <"$SPK_BROWSER_PIDS"
    fi
    for ((i = ${#SPK_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${SPK_PIDS[i]}"; done
    for pid in $(own_stray_pids); do kill -TERM "$pid" 2>/dev/null; done
    sleep 0.2
    for pid in $(own_stray_pids); do kill -KILL "$pid" 2>/dev/null; done
    if [ -n "$SPK_TMP" ] && [ -d "$SPK_TMP" ]; then
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
            for f in provider.log keyring.log dbus.log badpeer.log browser.log; do
                [ -s "$SPK_TMP/$f" ] || continue
                diag "---- last lines of $f ----"
                tail -n 25 "$SPK_TMP/$f" >"$SPK_TMP/.tail"; diag_file "$SPK_TMP/.tail"
            done
            if [ -s "${SPK_EVENT_LOG:-/nonexistent}" ]; then
                diag "---- last provider events ----"
                tail -n 15 "$SPK_EVENT_LOG" >"$SPK_TMP/.tail"; diag_file "$SPK_TMP/.tail"
            fi
        fi
        if [ "${SPK_KEEP_TMP:-0}" = 1 ]; then
            diag "kept $SPK_TMP"
        else
            rm -rf -- "$SPK_TMP"
        fi
    fi
    return "$rc"
}

# wait_for_file FILE SECS PID: until FILE is non-empty; fails early if PID dies.
wait_for_file() {
    local f=$1 n=$(($2 * 10)) pid=${3:-} i
    for ((i = 0; i < n; i++)); do
        [ -s "$f" ] && return 0
        if [ -n "$pid" ] && ! proc_alive "$pid"; then return 1; fi
        sleep 0.1
    done
    [ -s "$f" ]
}

# ---------------------------------------------------------------- peers

peers_check_prereqs() {
    local c
    command -v node >/dev/null || spk_skip "node is not installed"
    [ -f "$SPK_PEERS/node_modules/oidc-provider/package.json" ] \
        || spk_skip "tests/peers/node_modules is missing (run: npm ci --prefix tests/peers)"
    [ -f "$SPK_PEERS/node_modules/playwright-core/package.json" ] \
        || spk_skip "playwright-core is missing from tests/peers/node_modules (run: npm ci --prefix tests/peers)"
    [ -x "${SPK_CHROMIUM:-/usr/bin/chromium}" ] || spk_skip "no browser at ${SPK_CHROMIUM:-/usr/bin/chromium} (apt-get install chromium)"
    for c in dbus-daemon dbus-send gnome-keyring-daemon secret-tool curl setsid timeout; do
        command -v "$c" >/dev/null || spk_skip "$c is not installed"
    done
    [ -x "$SPAREKEY" ] || bail "no sparekey binary at $SPAREKEY (build it, or set SPAREKEY)"
}

peers_start() {
    local pw pid i
    peers_check_prereqs
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    SPK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/spk-${SPK_NAME}.XXXXXX") || bail "mktemp failed"
    chmod 700 "$SPK_TMP"
    export SPK_TMP
    export HOME=$SPK_TMP/home
    export XDG_CONFIG_HOME=$HOME/.config XDG_STATE_HOME=$HOME/.local/state
    export XDG_CACHE_HOME=$HOME/.cache XDG_DATA_HOME=$HOME/.local/share
    export XDG_RUNTIME_DIR=$SPK_TMP/run TMPDIR=$SPK_TMP/tmp
    mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" "$TMPDIR"
    mkdir -m 700 "$XDG_RUNTIME_DIR"
    export SPK_CONFIG=$XDG_CONFIG_HOME/sparekey/config
    # Nothing may leave the machine, nothing may pop up on a desktop.
    unset DISPLAY WAYLAND_DISPLAY http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy \
        XDG_SESSION_TYPE XDG_CURRENT_DESKTOP DESKTOP_SESSION GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
    export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1

    # --- private session bus, no service activation
    dbus-daemon --nofork --config-file="$SPK_ROOT/tests/integration/dbus.conf" \
        --address="unix:path=$SPK_TMP/bus" >"$SPK_TMP/dbus.log" 2>&1 &
    pid=$!; SPK_PIDS+=("$pid")
    export DBUS_SESSION_BUS_ADDRESS=unix:path=$SPK_TMP/bus
    for ((i = 0; i < 100; i++)); do
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.GetId >/dev/null 2>&1 && break
        proc_alive "$pid" || break
        sleep 0.1
    done
    if ((i >= 100)) || ! proc_alive "$pid"; then
        cat "$SPK_TMP/dbus.log" >&2; spk_skip "private dbus-daemon did not start"
    fi

    # --- gnome-keyring (Secret Service), unlocked with a known password
    pw=spk-test-keyring-password
    printf %s "$pw" | gnome-keyring-daemon --foreground --unlock --components=secrets \
        >"$SPK_TMP/keyring.log" 2>&1 &
    pid=$!; SPK_PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
            | grep -q 'boolean true' && break
        proc_alive "$pid" || break
        sleep 0.1
    done
    if ((i >= 100)) || ! proc_alive "$pid"; then
        cat "$SPK_TMP/keyring.log" >&2; spk_skip "gnome-keyring-daemon did not take org.freedesktop.secrets"
    fi
    # The login collection appears a moment after the name: probe a store.
    for ((i = 0; i < 50; i++)); do
        if printf probe | secret-tool store --label='sparekey harness probe' spk-harness probe 2>/dev/null \
            && [ "$(secret-tool lookup spk-harness probe 2>/dev/null)" = probe ]; then
            secret-tool clear spk-harness probe
            break
        fi
        sleep 0.1
    done
    ((i < 50)) || { cat "$SPK_TMP/keyring.log" >&2; spk_skip "the private keyring does not store secrets"; }

    # --- the authorization server
    export SPK_EVENT_LOG=$SPK_TMP/events.jsonl
    : >"$SPK_EVENT_LOG"
    # echo MS >"$SPK_TOKEN_DELAY_FILE" holds back the token endpoint's answers
    export SPK_TOKEN_DELAY_FILE=$SPK_TMP/token-delay
    # quirks LINE... (SPK_TOKEN_QUIRKS=…, SPK_ID_TOKEN_QUIRK=…) rewrites its
    # answers from then on; quirks_off stops (see provider.mjs)
    export SPK_QUIRKS_FILE=$SPK_TMP/quirks
    provider_run ""
    ISSUER=$PROVIDER_ORIGIN
    export ISSUER
    curl -fsS -o /dev/null --max-time 10 "$ISSUER/.well-known/openid-configuration" \
        || { cat "$SPK_TMP/provider.log" >&2; spk_skip "provider.mjs does not answer at $ISSUER"; }

    # --- the browser
    export BROWSER=$SPK_PEERS/browser
    export SPK_BROWSER_RESULT=$SPK_TMP/browser-result.json
    export SPK_BROWSER_LOG=$SPK_TMP/browser.log
    export SPK_BROWSER_PIDS=$SPK_TMP/browser.pids
    export SPK_BROWSER_USER=${SPK_BROWSER_USER:-alice}
    : >"$SPK_BROWSER_PIDS"

    diag "sparekey: $SPAREKEY"
    diag "issuer: $ISSUER (access ttl ${SPK_ACCESS_TTL:-3600}s), temp dir: $SPK_TMP"
}

# provider_run TAG [VAR=VALUE...]: start one provider.mjs (peers_start's
# with TAG ""; a test may add more, e.g. with other knobs), with VAR=VALUE
# added to its environment; files $SPK_TMP/providerTAG.{port,out,log}; stopped
# by peers_stop; the test is skipped if it does not start. Sets
# PROVIDER_ORIGIN (http://127.0.0.1:PORT).
provider_run() {
    local tag=$1 pid; shift
    env "$@" node "$SPK_PEERS/provider.mjs" --port 0 --port-file "$SPK_TMP/provider$tag.port" \
        >"$SPK_TMP/provider$tag.out" 2>"$SPK_TMP/provider$tag.log" </dev/null &
    pid=$!; SPK_PIDS+=("$pid")
    wait_for_file "$SPK_TMP/provider$tag.port" 30 "$pid" \
        || { cat "$SPK_TMP/provider$tag.log" >&2; spk_skip "provider.mjs $* did not start"; }
    PROVIDER_ORIGIN=http://127.0.0.1:$(cat "$SPK_TMP/provider$tag.port")
}

quirks() { printf '%s\n' "$@" >"$SPK_QUIRKS_FILE"; }
quirks_off() { rm -f -- "$SPK_QUIRKS_FILE"; }

badpeer_start() {
    local pid
    export SPK_BADPEER_LOG=$SPK_TMP/badpeer-requests.jsonl
    : >"$SPK_BADPEER_LOG"
    node "$SPK_PEERS/badpeer.mjs" --port 0 --port-file "$SPK_TMP/badpeer.port" \
        >"$SPK_TMP/badpeer.out" 2>"$SPK_TMP/badpeer.log" </dev/null &
    pid=$!; SPK_PIDS+=("$pid")
    wait_for_file "$SPK_TMP/badpeer.port" 30 "$pid" \
        || { cat "$SPK_TMP/badpeer.log" >&2; spk_skip "badpeer.mjs did not start"; }
    BADPEER=http://127.0.0.1:$(cat "$SPK_TMP/badpeer.port")
    export BADPEER
    diag "badpeer: $BADPEER"
}

# ---------------------------------------------------------------- browser

browser_reset() { rm -f -- "$SPK_BROWSER_RESULT"; }

# browser_wait [SECS]: wait for the browser's result file (default 30 s).
browser_wait() {
    wait_for_file "$SPK_BROWSER_RESULT" "${1:-30}" && return 0
    diag "no browser result after ${1:-30}s"; diag_file "$SPK_BROWSER_LOG" 'browser: '
    return 1
}

# browser_field NAME: a top-level field of the result ("" when absent).
browser_field() {
    [ -s "$SPK_BROWSER_RESULT" ] || return 0
    node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const v = r[process.argv[2]]; process.stdout.write(v === undefined || v === null ? "" : String(v));' \
        "$SPK_BROWSER_RESULT" "$1"
}

# ---------------------------------------------------------------- keyring, grant

# grant_lookup PROFILE: the stored grant (kind grant: a client secret is
# stored under the same profile attribute, and lookup picks either)
grant_lookup() { secret-tool lookup profile "$1" kind grant 2>/dev/null; }

# grant_field PROFILE FIELD: one field of the stored grant ("" when absent)
grant_field() { grant_lookup "$1" | json_get "$2"; }

# json_get FIELD <<<JSON: prints a top-level field ("" when absent or not
# JSON; objects/arrays as JSON; numbers and strings as they are).
json_get() {
    node -e 'let r; try { r = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { process.exit(0); }
             const v = r && typeof r === "object" ? r[process.argv[1]] : undefined;
             if (v === undefined || v === null) process.exit(0);
             process.stdout.write(typeof v === "object" ? JSON.stringify(v) : String(v));' "$1"
}

# json_type FIELD <<<JSON: typeof the field (string, number, object, undefined, ...)
json_type() {
    node -e 'let r; try { r = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { console.log("not-json"); process.exit(0); }
             const v = r && typeof r === "object" ? r[process.argv[1]] : undefined;
             console.log(v === null ? "null" : typeof v);' "$1"
}

# ---------------------------------------------------------------- provider

# me TOKEN: GET $ISSUER/me with the token as bearer (header from a 0600
# file, not argv). Sets ME_STATUS and ME_BODY. Background loops set ME_TAG
# (any word) so that concurrent calls use their own files.
me() {
    local h="$SPK_TMP/auth${ME_TAG:-}.hdr" b="$SPK_TMP/me${ME_TAG:-}.body"
    (umask 077; printf 'Authorization: Bearer %s\n' "$1" >"$h")
    ME_STATUS=$(curl -sS -o "$b" -w '%{http_code}' --max-time 15 -H @"$h" "$ISSUER/me")
    ME_BODY=$(cat "$b" 2>/dev/null)
    rm -f "$h"
}

# token_post FORM: POST an x-www-form-urlencoded body (from a file, not argv)
# to $ISSUER/token. Sets TP_STATUS and TP_BODY.
token_post() {
    (umask 077; printf %s "$1" >"$SPK_TMP/token.form")
    TP_STATUS=$(curl -sS -o "$SPK_TMP/token.body" -w '%{http_code}' --max-time 15 \
        -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$SPK_TMP/token.form" "$ISSUER/token")
    TP_BODY=$(cat "$SPK_TMP/token.body" 2>/dev/null)
    rm -f "$SPK_TMP/token.form"
}

# urlencode STRING (passed to node on stdin, not in argv: it may be a token)
urlencode() { printf %s "$1" | node -e 'process.stdout.write(encodeURIComponent(require("fs").readFileSync(0, "utf8")))'; }

events_mark() { wc -l <"$SPK_EVENT_LOG" | tr -d ' '; }

# events_since MARK: provider events logged after events_mark returned MARK
events_since() { tail -n "+$(($1 + 1))" "$SPK_EVENT_LOG"; }

# refresh_grants_since MARK: number of refresh_token grant requests (success
# or error) the provider handled since MARK
refresh_grants_since() {
    events_since "$1" | grep -E '"event":"grant\.(success|error)"' | grep -c '"grant_type":"refresh_token"'
}

# refresh_ok_since MARK / refresh_errors_since MARK: successful / failed
# refresh_token grants since MARK (counts)
refresh_ok_since() {
    events_since "$1" | grep -F '"event":"grant.success"' | grep -cF '"grant_type":"refresh_token"'
}
refresh_errors_since() {
    events_since "$1" | grep -F '"event":"grant.error"' | grep -cF '"grant_type":"refresh_token"'
}

# trouble_since MARK: the provider events since MARK that mean a grant was
# hurt (any grant.error, grant.revoked, server_error), one per line
trouble_since() {
    events_since "$1" | grep -E '"event":"(grant\.error|grant\.revoked|server_error)"' || true
}

# logins_since MARK: authorization_code grants since MARK (a person signed in)
logins_since() {
    events_since "$1" | grep -F '"event":"grant.success"' | grep -cF '"grant_type":"authorization_code"'
}

# ---------------------------------------------------------------- config file (GLib key file)

cfg_get() {   # GROUP KEY
    [ -f "$SPK_CONFIG" ] || return 0
    awk -v g="[$1]" -v k="$2" '
        /^[ \t]*\[/ { ing = ($0 == g); next }
        ing {
            line = $0; sub(/^[ \t]+/, "", line)
            i = index(line, "=")
            if (i == 0 || substr(line, 1, 1) == "#") next
            key = substr(line, 1, i - 1); sub(/[ \t]+$/, "", key)
            if (key == k) { v = substr(line, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v); print v; exit }
        }' "$SPK_CONFIG"
}

# cfg_set GROUP KEY VALUE: set KEY in [GROUP], creating file and group as needed.
# VALUE is written as it is (backslashes included: GLib key-file escapes
# like \n or \\ reach the file unchanged).
cfg_set() {
    mkdir -p "$(dirname "$SPK_CONFIG")"
    [ -f "$SPK_CONFIG" ] || : >"$SPK_CONFIG"
    SPK_CFG_G="[$1]" SPK_CFG_K="$2" SPK_CFG_V="$3" awk '
        function keyof(s,   i) { sub(/^[ \t]+/, "", s); i = index(s, "="); if (i == 0) return ""; s = substr(s, 1, i - 1); sub(/[ \t]+$/, "", s); return s }
        BEGIN { g = ENVIRON["SPK_CFG_G"]; k = ENVIRON["SPK_CFG_K"]; val = ENVIRON["SPK_CFG_V"] }
        /^[ \t]*\[/ { ing = ($0 == g); print; if (ing) { print k " = " val; done = 1 }; next }
        ing && keyof($0) == k { next }
        { print }
        END { if (!done) { print ""; print g; print k " = " val } }' "$SPK_CONFIG" >"$SPK_CONFIG.tmp" \
        && mv -f -- "$SPK_CONFIG.tmp" "$SPK_CONFIG"
}

# cfg_unset GROUP KEY
cfg_unset() {
    [ -f "$SPK_CONFIG" ] || return 0
    SPK_CFG_G="[$1]" SPK_CFG_K="$2" awk '
        function keyof(s,   i) { sub(/^[ \t]+/, "", s); i = index(s, "="); if (i == 0) return ""; s = substr(s, 1, i - 1); sub(/[ \t]+$/, "", s); return s }
        BEGIN { g = ENVIRON["SPK_CFG_G"]; k = ENVIRON["SPK_CFG_K"] }
        /^[ \t]*\[/ { ing = ($0 == g); print; next }
        ing && keyof($0) == k { next }
        { print }' "$SPK_CONFIG" >"$SPK_CONFIG.tmp" && mv -f -- "$SPK_CONFIG.tmp" "$SPK_CONFIG"
}

# ---------------------------------------------------------------- misc

# spk_login PROFILE [LOGIN ARGS...]: sign in through the browser as
# $SPK_BROWSER_USER (consenting) and check that it worked: exit 0 and a
# grant with a refresh token in the keyring. Returns 1 otherwise.
spk_login() {
    local p=$1; shift
    browser_reset
    sk --timeout 90 login "$p" --timeout 60 "$@"
    assert_rc 0 "login $p: exits 0" || return 1
    browser_wait 30 || true
    if [ -n "$(grant_field "$p" refresh_token)" ]; then ok "login $p: the keyring holds a grant with a refresh token"
    else not_ok "login $p: the keyring holds a grant with a refresh token"; return 1; fi
}

# file_mode PATH: octal permission bits ("" when PATH does not exist)
file_mode() { stat -c %a -- "$1" 2>/dev/null; }

# sha256 STRING: hex digest (the string goes through stdin, not argv)
sha256() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

# elapsed_between T0 T1: T1 - T0 in seconds, one decimal
elapsed_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# in_range VALUE LO HI: LO <= VALUE <= HI (decimals allowed)
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v + 0 >= lo + 0 && v + 0 <= hi + 0) }'; }

# free_port: a currently free TCP port on 127.0.0.1 (from the ephemeral range).
free_port() {
    node -e 'const s = require("net").createServer();
             s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# port_free PORT: nothing listens on 127.0.0.1:PORT or [::1]:PORT
port_free() {
    node -e 'const net = require("net"); const port = +process.argv[1];
             const s = net.createServer(); s.once("error", () => process.exit(1));
             s.listen(port, "127.0.0.1", () => s.close(() => process.exit(0)));' "$1"
}

now() { date +%s; }

# sleep_until EPOCH_SECONDS (fractional ok)
sleep_until() {
    local d
    d=$(awk -v t="$1" -v n="$(date +%s.%N)" 'BEGIN { d = t - n; printf "%.2f", (d > 0 ? d : 0) }')
    sleep "$d"
}
