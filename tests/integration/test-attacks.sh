#!/bin/bash
# A login under attack, and what other local processes can see of sparekey.
#
#  1. While `sparekey -v login` waits for the browser (a $BROWSER wrapper
#     holds the real browser back until the attacks are done): a storm of
#     junk at the callback port (wrong path, POST/HEAD/PUT, missing or wrong
#     state, the real state with a wrong Host, a foreign iss, no code, two
#     codes; headers and URLs over 32 KiB, garbage, a burst of 150), and
#     100 slow connections that send half a request line and stall (reopened
#     when the server drops them) for the whole login. Then the browser
#     goes: the login must succeed, and the token endpoint must have seen
#     exactly one authorization_code request, with the browser's code.
#  2. Only 127.0.0.1 / [::1] listen during the login (ss), for both halves
#     of redirect_host = localhost.
#  3. /proc/PID/cmdline and /proc/PID/environ of every sparekey process,
#     sampled all through login, token, refresh and exec (the exec'd command
#     excepted: it gets the token by design), hold no access token, refresh
#     token, id_token, code, PKCE verifier or client secret; nor does the
#     stderr of `sparekey -v login/token/refresh`. The secrets are read
#     afterwards from a recording proxy in front of the token endpoint, the
#     keyring, the secret file and the browser's final URL.
#  4. The process cannot dump core (RLIMIT_CORE 0) and is not dumpable:
#     run as an unprivileged user, its /proc files belong to root and
#     another process of that user cannot read its environment (checked
#     against a dumpable control process, so the check can fail).
#
# Peers: provider.mjs, browser (headless Chromium), gnome-keyring; see lib.sh.
# tests/peers/attacker.mjs: the storm, the slow connections, the proxy.
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
DUMPHOME=
cleanup() {
    local rc=$?
    [ -n "$DUMPHOME" ] && rm -rf -- "$DUMPHOME"
    (exit "$rc")
    peers_stop
}
trap cleanup EXIT

command -v ss >/dev/null || spk_skip "ss is not installed (apt-get install iproute2)"
command -v python3 >/dev/null || spk_skip "python3 is not installed"
command -v setpriv >/dev/null || spk_skip "setpriv is not installed (util-linux)"

# Short-lived access tokens: token and exec below wait until the stored one
# has expired, so that they refresh (whatever margin sparekey keeps).
export SPK_ACCESS_TTL=8
peers_start

ATTACKER=$SPK_PEERS/attacker.mjs
P=atk

# ---------------------------------------------------------------- set-up
# The token endpoint behind a recording proxy that answers after 1.5 s, so
# that every sparekey process lives long enough to be sampled.
node "$ATTACKER" proxy --upstream "$ISSUER" --port-file "$SPK_TMP/proxy.port" \
    --log "$SPK_TMP/proxy.jsonl" --delay-ms 1500 >"$SPK_TMP/proxy.log" 2>&1 </dev/null &
SPK_PIDS+=("$!")
wait_for_file "$SPK_TMP/proxy.port" 15 "$!" || { cat "$SPK_TMP/proxy.log" >&2; spk_skip "the token proxy did not start"; }
PROXY=http://127.0.0.1:$(cat "$SPK_TMP/proxy.port")
: >"$SPK_TMP/proxy.jsonl"

SF=$SPK_TMP/client-secret
(umask 077; printf '%s\n' "${SPK_CLIENT_SECRET:-sparekey-test-secret}" >"$SF")
CLIENT_SECRET=$(cat "$SF")

# A confidential client (the secret is one more thing to look for), both
# loopback families (localhost), token endpoint through the proxy.
cfg_set "$P" provider oidc
cfg_set "$P" issuer "$ISSUER"
cfg_set "$P" client_id sparekey-post
cfg_set "$P" client_auth post
cfg_set "$P" redirect_host localhost
cfg_set "$P" token_endpoint "$PROXY/token"

# $BROWSER: note the URL, return at once, start the real browser only when
# $SPK_TMP/go exists.
cat >"$SPK_TMP/held-browser" <<EOF
#!/bin/sh
printf '%s\n' "\$1" >"$SPK_TMP/authorize-url.tmp" && mv "$SPK_TMP/authorize-url.tmp" "$SPK_TMP/authorize-url"
(
    i=0
    while [ ! -e "$SPK_TMP/go" ] && [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i + 1)); done
    exec "$SPK_PEERS/browser" "\$@"
) </dev/null >>"$SPK_TMP/held-browser.log" 2>&1 &
exit 0
EOF
chmod +x "$SPK_TMP/held-browser"

# The sampler: all through the test, every sparekey process's cmdline and
# environ (when its executable is still sparekey after the read), under the
# phase named in $SPK_TMP/phase.
SK_REAL=$(readlink -f "$SPAREKEY")
SK_CLI=$(dirname "$SK_REAL")/sparekey-cli
mkdir -p "$SPK_TMP/proc"
echo setup >"$SPK_TMP/phase"
cat >"$SPK_TMP/sampler.py" <<'PY'
import hashlib, os, sys, time
outdir, phase_file, stop_file = sys.argv[1:4]
targets = {os.path.realpath(p) for p in sys.argv[4:] if os.path.exists(p)}
me = os.getpid()
seen = set()
counts = {}
def read(path):
    with open(path, 'rb') as f:
        return f.read()
while not os.path.exists(stop_file):
    try:
        phase = read(phase_file).decode().strip()
    except OSError:
        phase = '?'
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == me:
            continue
        d = '/proc/' + pid
        try:
            exe = os.readlink(d + '/exe')
            if exe not in targets:
                continue
            try:
                env = read(d + '/environ')
            except PermissionError:
                # not root: a non-dumpable process's environ is closed to
                # its own user too, which is the point
                env = b'(unreadable)'
            blob = read(d + '/cmdline') + b'\n--environ--\n' + env
            if os.readlink(d + '/exe') != exe:
                continue
        except OSError:
            continue
        key = (phase, pid, exe)
        if key not in counts:
            counts[key] = 0
            with open(os.path.join(outdir, 'samples'), 'a') as f:
                f.write('%s %s %s\n' % (phase, pid, exe))
        counts[key] += 1
        h = hashlib.sha256(blob).hexdigest()
        if h not in seen:
            seen.add(h)
            with open(os.path.join(outdir, '%s-%s-%s.bin' % (phase, pid, h[:12])), 'wb') as f:
                f.write(blob)
    time.sleep(0.003)
PY
python3 "$SPK_TMP/sampler.py" "$SPK_TMP/proc" "$SPK_TMP/phase" "$SPK_TMP/sampler.stop" \
    "$SK_REAL" "$SK_CLI" >"$SPK_TMP/sampler.log" 2>&1 </dev/null &
SAMPLER=$!
SPK_PIDS+=("$SAMPLER")

# ---------------------------------------------------------------- 1. login under attack
echo login >"$SPK_TMP/phase"
browser_reset
M=$(events_mark)
BROWSER=$SPK_TMP/held-browser "$SPAREKEY" -v login "$P" --issuer "$ISSUER" --client-id sparekey-post \
    --client-secret-file "$SF" --scope "openid offline_access" --timeout 120 \
    </dev/null >"$SPK_TMP/login.out" 2>"$SPK_TMP/login.err" &
LPID=$!
SPK_PIDS+=("$LPID")

if ! wait_for_file "$SPK_TMP/authorize-url" 30 "$LPID"; then
    diag_file "$SPK_TMP/login.err" 'stderr: '
    bail "sparekey login never started the browser"
fi
AUTH_URL=$(cat "$SPK_TMP/authorize-url")
url_param() { node -e 'try { const v = new URL(process.argv[1]).searchParams.get(process.argv[2]); process.stdout.write(v === null ? "" : v); } catch { }' "$1" "$2"; }
REDIRECT=$(url_param "$AUTH_URL" redirect_uri)
STATE=$(url_param "$AUTH_URL" state)
PORT=$(node -e 'process.stdout.write(new URL(process.argv[1]).port)' "$REDIRECT")
RPATH=$(node -e 'process.stdout.write(new URL(process.argv[1]).pathname)' "$REDIRECT")
diag "login pid $LPID, redirect_uri $REDIRECT"
assert_match "$REDIRECT" '^http://localhost:[0-9]+/' "the redirect URI is http://localhost:PORT/... (redirect_host = localhost)"
[ -n "$STATE" ] && [ -n "$PORT" ] || bail "no state or port in the authorize URL: $AUTH_URL"

# ---- 2. what listens
LISTEN=$(ss -Hltnp 2>/dev/null | grep -F "pid=$LPID,")
LISTEN_UDP=$(ss -Hlunp 2>/dev/null | grep -F "pid=$LPID,")
diag "listening sockets of the login:" "$LISTEN"
if [ -n "$LISTEN" ]; then ok "ss -ltnp shows the login's listening sockets"
else not_ok "ss -ltnp shows the login's listening sockets" "$(ss -Hltnp 2>&1 | head -n 20)"; fi
BAD=$(awk '{ print $4 }' <<<"$LISTEN" | grep -vE '^(127\.0\.0\.1|\[::1\]):[0-9]+$')
if [ -z "$BAD" ]; then ok "during login sparekey listens on 127.0.0.1 / [::1] only"
else not_ok "during login sparekey listens on 127.0.0.1 / [::1] only" "also on: $BAD"; fi
assert_eq "$(awk '{ print $4 }' <<<"$LISTEN" | sed 's/.*://' | sort -u | tr '\n' ' ')" "$PORT " \
    "it listens on the redirect URI's port only"
if grep -qF '127.0.0.1:' <<<"$LISTEN" && grep -qF '[::1]:' <<<"$LISTEN"; then
    ok "for localhost, both 127.0.0.1 and [::1] listen"
elif ! ip -6 addr show lo 2>/dev/null | grep -qF '::1'; then
    skip_one "for localhost, both 127.0.0.1 and [::1] listen" "no ::1 on this host"
else
    not_ok "for localhost, both 127.0.0.1 and [::1] listen" "$LISTEN"
fi
assert_eq "$LISTEN_UDP" "" "no UDP socket of the login is bound"
assert_eq "$(awk '/^Max core file size/ { print $5 }' "/proc/$LPID/limits" 2>/dev/null)" 0 \
    "the login's RLIMIT_CORE is 0 (no core file)"

# ---- the attacks
HAVE6=no; grep -qF '[::1]:' <<<"$LISTEN" && HAVE6=yes
node "$ATTACKER" slow --port "$PORT" --addr 127.0.0.1 --count 70 --ready "$SPK_TMP/slow4.ready" \
    --stop "$SPK_TMP/slow.stop" --out "$SPK_TMP/slow4.json" >"$SPK_TMP/slow4.log" 2>&1 </dev/null &
SPK_PIDS+=("$!")
if [ "$HAVE6" = yes ]; then
    node "$ATTACKER" slow --port "$PORT" --addr ::1 --count 30 --ready "$SPK_TMP/slow6.ready" \
        --stop "$SPK_TMP/slow.stop" --out "$SPK_TMP/slow6.json" >"$SPK_TMP/slow6.log" 2>&1 </dev/null &
    SPK_PIDS+=("$!")
fi
wait_for_file "$SPK_TMP/slow4.ready" 20 || true
[ "$HAVE6" = yes ] && { wait_for_file "$SPK_TMP/slow6.ready" 20 || true; }
N_SLOW=$(($(cat "$SPK_TMP/slow4.ready" 2>/dev/null || echo 0) + $(cat "$SPK_TMP/slow6.ready" 2>/dev/null || echo 0)))
assert_eq "$N_SLOW" "$([ "$HAVE6" = yes ] && echo 100 || echo 70)" "the slow connections are all open"

T_STORM=$(date +%s.%N)
timeout 120 node "$ATTACKER" storm --port "$PORT" --host localhost --addr 127.0.0.1 --path "$RPATH" \
    --state "$STATE" --out "$SPK_TMP/storm.jsonl" >"$SPK_TMP/storm.log" 2>&1 </dev/null
if [ "$HAVE6" = yes ]; then
    timeout 120 node "$ATTACKER" storm --port "$PORT" --host localhost --addr ::1 --path "$RPATH" \
        --state "$STATE" --out "$SPK_TMP/storm6.jsonl" >>"$SPK_TMP/storm.log" 2>&1 </dev/null
fi
diag "the storm took $(elapsed_between "$T_STORM" "$(date +%s.%N)") s"
diag_file "$SPK_TMP/storm.log" 'storm: '

# Every junk request got an error answer (4xx, or 505 for HTTP/2) or a
# closed connection; none a 2xx or 3xx.
python3 - "$SPK_TMP/storm.jsonl" "$SPK_TMP/storm6.jsonl" >"$SPK_TMP/storm.check" <<'PY'
import json, os, sys
n = bad = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        continue
    for line in open(path):
        r = json.loads(line)
        n += 1
        if 'burst' in r:
            good = all(k == 'closed without an answer' or k.startswith('ECONNRESET') or
                       (k.isdigit() and 400 <= int(k) < 600) for k in r['burst'])
            desc = ', '.join('%s x%d' % kv for kv in sorted(r['burst'].items()))
        else:
            s = r.get('status')
            # (an unparseable request may just sit until the server's
            # connection timeout: not accepted either)
            good = (s is not None and 400 <= s < 600) or r.get('error') in (
                'closed without an answer', 'ECONNRESET', 'EPIPE', 'timeout')
            desc = str(s) if s is not None else r.get('error')
        bad += not good
        print('%s %s: %s%s' % ('BAD' if not good else 'ok ', os.path.basename(path), r['name'], ' -> ' + desc))
print('total %d bad %d' % (n, bad))
PY
diag_file "$SPK_TMP/storm.check" ''
if grep -q '^total [1-9][0-9]* bad 0$' "$SPK_TMP/storm.check"; then
    ok "every junk request was refused (4xx/5xx or connection closed), none accepted"
else
    not_ok "every junk request was refused (4xx/5xx or connection closed), none accepted" "$(grep -E '^(BAD|total)' "$SPK_TMP/storm.check")"
fi
for c in 'wrong path -> 404' 'POST with the real state -> 405' 'real state, wrong Host (DNS rebinding) -> 421' \
    'wrong state -> 400' 'real state, another issuer (RFC 9207 mix-up) -> 400'; do
    assert_contains "$(cat "$SPK_TMP/storm.check")" "storm.jsonl: $c" "junk: ${c% -> *} is answered ${c##* -> }"
done
if grep -q '431\|413\|closed without an answer\|ECONNRESET' <<<"$(grep 'headers over 32 KiB' "$SPK_TMP/storm.check")"; then
    ok "junk: headers over 32 KiB are refused (431/413 or closed)"
else
    not_ok "junk: headers over 32 KiB are refused (431/413 or closed)" "$(grep 'headers over 32 KiB' "$SPK_TMP/storm.check")"
fi

if proc_alive "$LPID"; then ok "the login still waits after the storm"
else not_ok "the login still waits after the storm" "$(cat "$SPK_TMP/login.err")"; fi
assert_eq "$(grep -c '"grant_type":"authorization_code"' "$SPK_TMP/proxy.jsonl" 2>/dev/null)" 0 \
    "no code was exchanged during the storm"

# ---- the real browser, with the slow connections still held
N_HELD=0
for _ in 1 2 3 4 5; do
    n=$(ss -Htn state established "( dport = :$PORT )" 2>/dev/null | grep -c .)
    [ "$n" -gt "$N_HELD" ] && N_HELD=$n
    sleep 0.1
done
if [ "$N_HELD" -ge 90 ]; then ok "about 100 stalled connections are open when the browser goes ($N_HELD)"
else not_ok "about 100 stalled connections are open when the browser goes ($N_HELD)" "$(cat "$SPK_TMP"/slow*.log 2>/dev/null)"; fi
T_GO=$(date +%s.%N)
: >"$SPK_TMP/go"
for _ in $(seq 1200); do proc_alive "$LPID" || break; sleep 0.1; done
if proc_alive "$LPID"; then stop_pid "$LPID"; fi
wait "$LPID"; LRC=$?
diag "login exited $LRC, $(elapsed_between "$T_GO" "$(date +%s.%N)") s after the browser was let go"
diag_file "$SPK_TMP/login.err" 'stderr: '
: >"$SPK_TMP/slow.stop"
sleep 0.5
for f in slow4 slow6; do [ -s "$SPK_TMP/$f.json" ] && diag "$f: $(cat "$SPK_TMP/$f.json")"; done

assert_eq "$LRC" 0 "login under attack: exits 0"
browser_wait 30 || true
BURL=$(browser_field url)
assert_eq "$(browser_field status)" 200 "the browser's redirect was answered 200"
REAL_CODE=$(url_param "$BURL" code)
assert_ne "$REAL_CODE" "" "the browser's redirect carried a code"
# (a confidential client's profile has two items: the grant and the secret)
G=$(secret-tool lookup profile "$P" kind grant 2>/dev/null)
AT=$(json_get access_token <<<"$G")
RT=$(json_get refresh_token <<<"$G")
assert_ne "$RT" "" "the keyring holds the new grant with a refresh token"

CODES=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["form"].get("grant_type") == "authorization_code":
        print(r["form"].get("code", ""))' "$SPK_TMP/proxy.jsonl")
assert_eq "$(printf '%s' "$CODES" | grep -c .)" 1 "the token endpoint saw exactly one authorization_code request"
if [ -n "$REAL_CODE" ] && [ "$CODES" = "$REAL_CODE" ]; then ok "... and its code is the one the browser brought back"
else not_ok "... and its code is the one the browser brought back" "exchanged: $(printf %q "$CODES")"; fi
assert_eq "$(logins_since "$M")" 1 "the provider logged exactly one successful authorization_code grant"
assert_eq "$(events_since "$M" | grep -F '"event":"grant.error"' | grep -cF '"grant_type":"authorization_code"')" 0 \
    "the provider logged no failed authorization_code grant"

# ---------------------------------------------------------------- 3b. -v token / refresh, exec
# wait_expired: until the stored access token has expired
wait_expired() {
    local e
    e=$(secret-tool lookup profile "$P" kind grant 2>/dev/null | json_get expires_at)
    [ -n "$e" ] && sleep_until "$((e + 1))"
}
wait_expired
echo token >"$SPK_TMP/phase"
sk -v token "$P"
assert_rc 0 "-v token (refreshes: the access token has expired): exits 0"
cp "$SPK_TMP/sk.err" "$SPK_TMP/token-v.err"
TOKEN_OUT=$SK_OUT

echo refresh >"$SPK_TMP/phase"
sk -v refresh "$P"
assert_rc 0 "-v refresh: exits 0"
cp "$SPK_TMP/sk.err" "$SPK_TMP/refresh-v.err"

wait_expired
echo exec >"$SPK_TMP/phase"
sk exec "$P" -- sh -c 'test -n "$SPAREKEY_ACCESS_TOKEN" && sleep 0.5'
assert_rc 0 "exec (refreshes, then runs the command with the token in its environment): exits 0"

echo done >"$SPK_TMP/phase"
sleep 0.3
: >"$SPK_TMP/sampler.stop"
wait "$SAMPLER" 2>/dev/null

# ---- the secrets, from everywhere they are known
python3 - "$SPK_TMP/proxy.jsonl" >"$SPK_TMP/secrets" <<'PY'
import json, sys
out = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    for k in ('code', 'code_verifier', 'refresh_token', 'client_secret', 'device_code'):
        if r['form'].get(k):
            out.add(r['form'][k])
    if r.get('authorization'):
        out.add(r['authorization'].split(' ', 1)[-1])
    for k in ('access_token', 'refresh_token', 'id_token'):
        if (r.get('answer') or {}).get(k):
            out.add(r['answer'][k])
for s in sorted(out):
    print(s)
PY
{ printf '%s\n' "$AT" "$RT" "$CLIENT_SECRET" "$REAL_CODE" "$TOKEN_OUT"; } | sed '/^$/d' >>"$SPK_TMP/secrets"
sort -u -o "$SPK_TMP/secrets" "$SPK_TMP/secrets"
N_SECRETS=$(grep -c . "$SPK_TMP/secrets")
VERIFIERS=$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["form"].get("code_verifier")))' "$SPK_TMP/proxy.jsonl")
N_REFRESH=$(grep -c '"grant_type":"refresh_token"' "$SPK_TMP/proxy.jsonl")
diag "$N_SECRETS distinct secrets to look for ($VERIFIERS PKCE verifier(s), $N_REFRESH refreshes)"
assert_eq "$VERIFIERS" 1 "(harness) the proxy saw the PKCE verifier"
if [ "$N_REFRESH" -ge 3 ]; then ok "(harness) token, refresh and exec each refreshed through the proxy"
else not_ok "(harness) token, refresh and exec each refreshed through the proxy" "$N_REFRESH refresh requests"; fi

# secret_hits FILE...: which secrets (by kind and length, never the value)
# occur in the files, in full or as a 16-character prefix of an opaque one
secret_hits() {
    python3 - "$SPK_TMP/secrets" "$@" <<'PY'
import sys
secrets = [l.rstrip('\n') for l in open(sys.argv[1]) if l.strip()]
needles = []
for s in secrets:
    needles.append((s.encode(), 'a %d-character secret' % len(s)))
    if len(s) >= 32 and not s.startswith('eyJ'):
        needles.append((s[:16].encode(), 'the first 16 characters of a %d-character secret' % len(s)))
for path in sys.argv[2:]:
    data = open(path, 'rb').read()
    for n, what in needles:
        if n in data:
            print('%s: %s' % (path.rsplit('/', 1)[-1], what))
PY
}

for ph in login token refresh exec; do
    n=$(grep -c "^$ph " "$SPK_TMP/proc/samples" 2>/dev/null)
    if [ "${n:-0}" -gt 0 ]; then ok "(harness) sampled /proc of $n sparekey process(es) during $ph"
    else not_ok "(harness) sampled /proc of $n sparekey process(es) during $ph"; fi
done
shopt -s nullglob
CAPS=("$SPK_TMP"/proc/*.bin)
shopt -u nullglob
diag "${#CAPS[@]} distinct cmdline+environ captures"
HITS=$( [ ${#CAPS[@]} -gt 0 ] && secret_hits "${CAPS[@]}")
assert_eq "$HITS" "" "no secret in /proc/PID/cmdline or /proc/PID/environ of sparekey during login, token, refresh, exec"

for f in login token-v refresh-v; do
    HITS=$(secret_hits "$SPK_TMP/$f.err")
    assert_eq "$HITS" "" "sparekey -v ${f%-v}: no secret on stderr"
done
if grep -q 'loopback' "$SPK_TMP/login.err"; then ok "(harness) -v login logged its loopback diagnostics"
else not_ok "(harness) -v login logged its loopback diagnostics" "is -v working?"; fi

# ---------------------------------------------------------------- 4. not dumpable
NOBODY=65534
# (in /tmp: $SPK_TMP is private to us)
DUMPHOME=$(mktemp -d /tmp/spk-dump.XXXXXX)
chmod 755 "$DUMPHOME"
# Copies, so that the unprivileged user can run them wherever the build is.
cp "$SK_REAL" "$DUMPHOME/sparekey"
[ -e "$SK_CLI" ] && cp "$SK_CLI" "$DUMPHOME/sparekey-cli"
AS_OTHER=()
if [ "$(id -u)" -eq 0 ]; then
    chown "$NOBODY:$NOBODY" "$DUMPHOME"
    AS_OTHER=(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups)
fi
# The same user starts a dumpable control process and a sparekey that waits
# (exec'd, so that $! is their pid).
"${AS_OTHER[@]}" env -i PATH="$PATH" HOME="$DUMPHOME" XDG_CONFIG_HOME="$DUMPHOME/c" \
    XDG_STATE_HOME="$DUMPHOME/s" XDG_RUNTIME_DIR="$DUMPHOME" BROWSER=true \
    ${ASAN_OPTIONS+ASAN_OPTIONS="$ASAN_OPTIONS"} \
    "$DUMPHOME/sparekey" login dumpable --provider xero --client-id x --store file --no-browser --timeout 30 \
    </dev/null >"$DUMPHOME/out" 2>"$DUMPHOME/err" &
DPID=$!
SPK_PIDS+=("$DPID")
"${AS_OTHER[@]}" sleep 30 </dev/null >/dev/null 2>&1 &
CPID=$!
SPK_PIDS+=("$CPID")
# Once it listens for the redirect, it is well past main()'s hardening.
for _ in $(seq 100); do ss -Hltnp 2>/dev/null | grep -qF "pid=$DPID," && break; proc_alive "$DPID" || break; sleep 0.1; done
if proc_alive "$DPID"; then
    UIDD=$(awk '/^Uid:/ { print $2 }' "/proc/$DPID/status")
    OWN=$(stat -c %u "/proc/$DPID/environ")
    OWN_C=$(stat -c %u "/proc/$CPID/environ")
    diag "sparekey pid $DPID runs as uid $UIDD; /proc/$DPID/environ belongs to uid $OWN; control's to $OWN_C"
    assert_eq "$OWN_C" "$UIDD" "(control) a dumpable process's /proc files belong to its user"
    assert_ne "$OWN" "$UIDD" "sparekey's /proc files belong to root, not its user: it is not dumpable (PR_SET_DUMPABLE 0)"
    if "${AS_OTHER[@]}" cat "/proc/$CPID/environ" >/dev/null 2>&1; then ok "(control) the same user can read a dumpable process's environ"
    else not_ok "(control) the same user can read a dumpable process's environ"; fi
    if "${AS_OTHER[@]}" cat "/proc/$DPID/environ" >/dev/null 2>&1; then
        not_ok "another process of the same user cannot read sparekey's environ"
    else ok "another process of the same user cannot read sparekey's environ"; fi
    assert_eq "$(awk '/^Max core file size/ { print $5 }' "/proc/$DPID/limits")" 0 "RLIMIT_CORE is 0 (no core file)"
else
    not_ok "a sparekey login --no-browser waits as user $NOBODY" "$(cat "$DUMPHOME/err")"
fi
stop_pid "$DPID"
stop_pid "$CPID"
spk_done
