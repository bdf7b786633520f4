#!/bin/bash
# `sparekey exec --keep-fresh P -- CMD` (issue 17): the child gets
# SPAREKEY_ACCESS_TOKEN_FILE and BEARER_TOKEN_FILE, one 0600 file in the
# runtime directory that the parent rewrites before the token expires (at
# min_valid) for as long as the child runs.
#  - access tokens of 5 s, a child that runs 16 s (three lifetimes) and
#    calls the provider each second with the token read from the file: no
#    failed call, several tokens seen, each refresh accepted;
#  - the file is 0600, in $XDG_RUNTIME_DIR, gone after exit; the exit
#    status is the child's;
#  - SIGTERM to sparekey reaches the child; sparekey exits with the child's
#    status and removes the file;
#  - a refresh that fails while the child runs: a line on stderr and
#    notify_cmd refresh-failed; the child is not killed.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
export SPK_ACCESS_TTL=${SPK_ACCESS_TTL:-5}
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

peers_start
badpeer_start

P=job
spk_login "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login failed; nothing else can be checked"
cfg_set "$P" min_valid 2
NLOG=$SPK_TMP/notify.log
: >"$NLOG"
# In the key file `\\` stands for one backslash: the command sparekey runs
# is   printf '%s|%s|%s\n' >> NLOG "$@"   (profile, event, message)
cfg_set "$P" notify_cmd "printf '%s|%s|%s\\\\n' >> $NLOG"

# The child: child OUT SECONDS STATUS. It notes its environment and the
# file's mode in OUT.env, then each second reads the token from the file
# and calls the provider's /me with it ("CODE DIGEST" lines in OUT.calls);
# SIGTERM: "TERM" in OUT.sig, exit 42. Else it exits STATUS.
CHILD=$SPK_TMP/child
cat >"$CHILD" <<'EOF'
#!/bin/bash
out=$1 n=$2
f=${SPAREKEY_ACCESS_TOKEN_FILE:-}
{ echo "file=$f"; echo "bearer=${BEARER_TOKEN_FILE:-}"; echo "mode=$(stat -c %a -- "$f" 2>/dev/null)"
  echo "pid=$$"; } >"$out.env"
trap 'echo TERM >>"$out.sig"; exit 42' TERM
for ((i = 0; i < n; i++)); do
    tok=$(tr -d '[:space:]' <"$f")
    (umask 077; printf 'Authorization: Bearer %s\n' "$tok" >"$out.hdr")
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H @"$out.hdr" "$ISSUER/me")
    echo "$code $(printf %s "$tok" | sha256sum | cut -c1-16)" >>"$out.calls"
    sleep 1 & wait $!
done
exit "$3"
EOF
chmod 700 "$CHILD"
env_of() { sed -n "s/^$2=//p" "$1.env" 2>/dev/null; }

# ---------------------------------------------------------------- three lifetimes
sk refresh "$P"
mark=$(events_mark)
sk --timeout 60 exec --keep-fresh "$P" -- "$CHILD" "$SPK_TMP/a" 16 7
assert_rc 7 "exec --keep-fresh: the exit status is the child's (7)"
F=$(env_of "$SPK_TMP/a" file)
assert_contains "$F" "$XDG_RUNTIME_DIR/" "SPAREKEY_ACCESS_TOKEN_FILE is in \$XDG_RUNTIME_DIR"
assert_eq "$(env_of "$SPK_TMP/a" bearer)" "$F" "BEARER_TOKEN_FILE names the same file"
assert_eq "$(env_of "$SPK_TMP/a" mode)" 600 "the token file is 0600"
if [ -n "$F" ] && [ ! -e "$F" ]; then ok "the token file is gone after exit"
else not_ok "the token file is gone after exit" "file: $F"; fi
calls=$(nlines "$SPK_TMP/a.calls" 2>/dev/null || echo 0)
if [ "$calls" -ge 15 ]; then ok "the child ran its 16 seconds ($calls calls)"
else not_ok "the child ran its 16 seconds" "$calls calls"; fi
assert_eq "$(grep -vc '^200 ' "$SPK_TMP/a.calls")" 0 "every call with the token from the file was accepted"
tokens=$(cut -d' ' -f2 "$SPK_TMP/a.calls" | sort -u | wc -l)
if [ "$tokens" -ge 3 ]; then ok "the file held $tokens tokens in turn (a lifetime is 5 s)"
else not_ok "the file held at least 3 tokens in turn" "$tokens tokens"; fi
if [ "$(refresh_ok_since "$mark")" -ge 3 ]; then ok "the provider refreshed the grant at least 3 times"
else not_ok "the provider refreshed the grant at least 3 times" "$(refresh_ok_since "$mark")"; fi
assert_eq "$(refresh_errors_since "$mark")" 0 "no refresh was refused"
assert_eq "$(grep -c . "$NLOG")" 0 "notify_cmd did not run"

# ---------------------------------------------------------------- SIGTERM
sk refresh "$P"
rm -f -- "$SPK_TMP/b".*
"$SPAREKEY" exec --keep-fresh "$P" -- "$CHILD" "$SPK_TMP/b" 60 0 </dev/null >"$SPK_TMP/b.out" 2>"$SPK_TMP/b.err" &
spid=$!
if wait_for_file "$SPK_TMP/b.calls" 15 "$spid"; then
    kill -TERM "$spid"
    t0=$(date +%s)
    wait "$spid"; rc=$?
    assert_eq "$rc" 42 "SIGTERM: sparekey exits with the child's status (42)"
    assert_eq "$(cat "$SPK_TMP/b.sig" 2>/dev/null)" TERM "SIGTERM reached the child"
    if in_range "$(($(date +%s) - t0))" 0 5; then ok "SIGTERM: sparekey was done within 5 s"
    else not_ok "SIGTERM: sparekey was done within 5 s"; fi
    F=$(env_of "$SPK_TMP/b" file)
    if [ -n "$F" ] && [ ! -e "$F" ]; then ok "SIGTERM: the token file is gone"
    else not_ok "SIGTERM: the token file is gone" "file: $F"; fi
else
    not_ok "exec --keep-fresh started the child" "$(cat "$SPK_TMP/b.err")"
    stop_pid "$spid"
fi
cpid=$(env_of "$SPK_TMP/b" pid)
if [ -n "$cpid" ] && proc_alive "$cpid"; then not_ok "SIGTERM: the child is gone"; kill -KILL "$cpid"
else ok "SIGTERM: the child is gone"; fi

# ---------------------------------------------------------------- a refresh fails meanwhile
sk refresh "$P"
cfg_set "$P" token_endpoint "$BADPEER/503"
sk --timeout 60 exec --keep-fresh "$P" -- "$CHILD" "$SPK_TMP/c" 8 0
assert_rc 0 "refresh failing under the child: exits with the child's status (0)"
calls=$(nlines "$SPK_TMP/c.calls" 2>/dev/null || echo 0)
if [ "$calls" -ge 8 ]; then ok "refresh failing under the child: the child was not killed ($calls calls)"
else not_ok "refresh failing under the child: the child was not killed" "$calls calls"; fi
assert_match "$SK_ERR" "$P.*(503|refresh)" "refresh failing under the child: a line on stderr"
assert_contains "$(cat "$NLOG")" "$P|refresh-failed" "refresh failing under the child: notify_cmd refresh-failed"
F=$(env_of "$SPK_TMP/c" file)
if [ -n "$F" ] && [ ! -e "$F" ]; then ok "refresh failing under the child: the token file is gone after exit"
else not_ok "refresh failing under the child: the token file is gone after exit" "file: $F"; fi
cfg_unset "$P" token_endpoint

# ---------------------------------------------------------------- other ways out
# (The children's variables are theirs to expand: SC2016.)
# A child killed by a signal: 128 + N, as a shell says it; the file is gone.
# shellcheck disable=SC2016
sk exec --keep-fresh "$P" -- \
    sh -c 'printf %s "$SPAREKEY_ACCESS_TOKEN_FILE" >"$0"; kill -KILL $$' "$SPK_TMP/d.file"
assert_rc 137 "a child killed by SIGKILL: sparekey exits 128 + 9"
F=$(cat "$SPK_TMP/d.file" 2>/dev/null)
if [ -n "$F" ] && [ ! -e "$F" ]; then ok "a child killed by SIGKILL: the token file is gone"
else not_ok "a child killed by SIGKILL: the token file is gone" "file: $F"; fi
# The token alone in the file, as BEARER_TOKEN_FILE readers take it.
# shellcheck disable=SC2016
sk exec --keep-fresh "$P" -- \
    sh -c 'cat -- "$BEARER_TOKEN_FILE"; echo; printf %s "$SPAREKEY_ACCESS_TOKEN"'
assert_rc 0 "a child printing the file and the variable: exits 0"
assert_eq "$(sed -n 1p <<<"$SK_OUT")" "$(sed -n 2p <<<"$SK_OUT")" \
    "the file holds the token (as SPAREKEY_ACCESS_TOKEN)"
# A command that does not exist: 127, as today's exec; nothing left behind.
sk exec --keep-fresh "$P" -- "$SPK_TMP/no-such-command"
assert_failure 127 "exec --keep-fresh of a missing command"
# No runtime directory: no file can be private there; one line, 78.
(unset XDG_RUNTIME_DIR; sk exec --keep-fresh "$P" -- true
 declare -p SK_RC SK_OUT SK_ERR >"$SPK_TMP/noruntime.sh")
# shellcheck source=/dev/null
. "$SPK_TMP/noruntime.sh"
assert_failure 78 "exec --keep-fresh without XDG_RUNTIME_DIR"
assert_contains "$SK_ERR" XDG_RUNTIME_DIR "... says what is missing"
left=$(find "$XDG_RUNTIME_DIR" -name '*.bearer' 2>/dev/null)
assert_eq "$left" "" "no token file is left in \$XDG_RUNTIME_DIR"
# Without --keep-fresh, exec is what it was: no file, the token in the environment.
# shellcheck disable=SC2016
sk exec "$P" -- \
    sh -c 'echo "${SPAREKEY_ACCESS_TOKEN_FILE-unset} ${BEARER_TOKEN_FILE-unset}" \
        "${#SPAREKEY_ACCESS_TOKEN}"'
assert_rc 0 "exec without --keep-fresh: exits 0"
assert_match "$SK_OUT" '^unset unset [1-9][0-9]*$' \
    "exec without --keep-fresh: no token file, the token in SPAREKEY_ACCESS_TOKEN"

spk_done
