#!/bin/bash
# sparekey as git's credential helper (issue 17), with Debian's git against
# a smart-HTTP server (git http-backend) that accepts a request only when
# the password is an access token the test provider accepts:
#  - git-credential-sparekey is installed next to sparekey, and
#    `git config credential.URL.helper sparekey` makes clone and push work;
#    the profile is the one whose git_hosts lists the host (HOST:PORT);
#  - `sparekey git-credential [PROFILE] get` answers username (git_username,
#    default oauth2), password (the access token) and password_expiry_utc;
#    store is accepted and ignored; erase drops the cached access token, so
#    the next get refreshes (erasing a token refreshed since changes
#    nothing); a malformed request gets one line, without its text;
#  - with the access token expired between two fetches, the second works,
#    with one refresh at the provider;
#  - a host no profile lists: the helper answers nothing, and git takes the
#    next helper's answer;
#  - a revoked grant: git fails with sparekey's one-line message, and no
#    browser opens.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# Tokens that die within the test; min_valid below is shorter.
export SPK_ACCESS_TTL=${SPK_ACCESS_TTL:-8}
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-consumers.sh"
trap peers_stop EXIT

peers_start
consumers_check_prereqs git
git_server_start

P=forge
consumer_login "$P"
cfg_set "$P" git_hosts "$GIT_HOST"
cfg_set "$P" min_valid 2

# gc ARGS... <<<INPUT: sparekey git-credential ARGS with INPUT on stdin (as
# git writes it); sets SK_RC and SK_OUT like sk (stderr in
# $SPK_TMP/sk.err, for assert_stdout_empty and the rest).
gc() {
    cat >"$SPK_TMP/gc.in"
    SK_CMD="sparekey git-credential $*"
    { timeout --kill-after=5 60 "$SPAREKEY" git-credential "$@" <"$SPK_TMP/gc.in" \
        >"$SPK_TMP/sk.out" 2>"$SPK_TMP/sk.err"; } 2>/dev/null
    SK_RC=$?
    SK_OUT=$(cat "$SPK_TMP/sk.out")
    diag "\$ $SK_CMD  -> exit $SK_RC"
    diag_file "$SPK_TMP/sk.err" 'stderr: '
}
# field NAME: the value of NAME=… in the last gc answer
field() { sed -n "s/^$1=//p" "$SPK_TMP/sk.out" | head -n 1; }
request() { printf 'protocol=http\nhost=%s\npath=demo.git\n\n' "$1"; }

# ---------------------------------------------------------------- the protocol

gc "$P" get <<<"$(request "$GIT_HOST")"
assert_rc 0 "git-credential $P get: exits 0"
assert_eq "$(field username)" oauth2 "get: username is oauth2 by default"
me "$(field password)"
assert_eq "$ME_STATUS" 200 "get: the password is an access token the provider accepts"
assert_eq "$(field password_expiry_utc)" "$(grant_field "$P" expires_at)" \
    "get: password_expiry_utc is the access token's expiry (Unix time)"
assert_eq "$(grep -cvE '^(username|password|password_expiry_utc)=' "$SPK_TMP/sk.out")" 0 \
    "get: nothing but username, password and password_expiry_utc"
PW1=$(field password)

gc get <<<"$(request "$GIT_HOST")"
assert_rc 0 "git-credential get (no profile): exits 0"
assert_eq "$(field password)" "$PW1" "get without a profile: the profile whose git_hosts lists $GIT_HOST answers"

cfg_set "$P" git_username alice
gc get <<<"$(request "$GIT_HOST")"
assert_eq "$(field username)" alice "get: username is git_username when set"
cfg_unset "$P" git_username

gc get <<<"$(request git.unlisted.example)"
assert_rc 0 "get for a host no profile lists: exits 0"
assert_stdout_empty "get for a host no profile lists: answers nothing"
gc get <<<"$(request 127.0.0.1:1)"
assert_stdout_empty "get for the same address on another port: answers nothing (host is HOST:PORT)"

gc "$P" store <<<"$(request "$GIT_HOST")username=oauth2
password=$PW1"
assert_rc 0 "store: exits 0"
assert_stdout_empty "store: answers nothing"

# A fresh token (it lives SPK_ACCESS_TTL seconds), then get, get, erase, get.
sk refresh "$P"
gc "$P" get <<<"$(request "$GIT_HOST")"
PW1=$(field password)
mark=$(events_mark)
gc "$P" get <<<"$(request "$GIT_HOST")"
assert_eq "$(field password)" "$PW1" "get again: the cached access token"
assert_eq "$(refresh_grants_since "$mark")" 0 "get again: no refresh"
gc "$P" erase <<<"$(request "$GIT_HOST")username=oauth2
password=$PW1"
assert_rc 0 "erase: exits 0"
assert_stdout_empty "erase: answers nothing"
gc "$P" get <<<"$(request "$GIT_HOST")"
assert_new "$(field password)" "$PW1" "get after erase: a new access token"
assert_eq "$(refresh_ok_since "$mark")" 1 "get after erase: one refresh at the provider"
# git erases the password it was refused; one refreshed since is kept.
PW2=$(field password)
mark=$(events_mark)
gc "$P" erase <<<"$(request "$GIT_HOST")username=oauth2
password=$PW1"
assert_rc 0 "erase of an older token: exits 0"
gc "$P" get <<<"$(request "$GIT_HOST")"
assert_eq "$(field password)" "$PW2" "get after erasing an older token: the current one"
assert_eq "$(refresh_grants_since "$mark")" 0 "get after erasing an older token: no refresh"

# A malformed request: one line that names the line, never its text.
gc "$P" erase <<<"protocol=http
host=$GIT_HOST
password=$PW2
$PW2"
assert_rc 64 "a request line without '=': exits 64 (usage)"
assert_stdout_empty "a malformed request: answers nothing"
assert_stderr_one_line "a malformed request: one line on stderr"
assert_contains "$(cat "$SPK_TMP/sk.err")" "line 4 of the request is not key=value" \
    "... which names the line"
assert_not_contains "$(cat "$SPK_TMP/sk.err")" "$PW2" "... and never shows a token"

# ---------------------------------------------------------------- real git
BINDIR=$(dirname -- "$SPAREKEY")
if [ -x "$BINDIR/git-credential-sparekey" ]; then ok "git-credential-sparekey is installed next to sparekey"
else not_ok "git-credential-sparekey is installed next to sparekey" "$(ls "$BINDIR" 2>&1)"; fi
export PATH=$BINDIR:$PATH
git config --global "credential.$GIT_ORIGIN.helper" sparekey

git_run "$SPK_TMP" clone -q "$GIT_REPO_URL" work
assert_eq "$GIT_RC" 0 "git clone with credential.helper sparekey: exits 0"
assert_eq "$(cat "$SPK_TMP/work/README" 2>/dev/null)" "hello from the test forge" "git clone: the README is there"
assert_ne "$(peer_count "$GIT_LOG" auth=accepted user=oauth2)" 0 "the server took oauth2 with a provider-accepted token"
printf 'from sparekey\n' >"$SPK_TMP/work/NOTE"
git -C "$SPK_TMP/work" add NOTE && git -C "$SPK_TMP/work" commit -qm 'pushed with sparekey'
git_run "$SPK_TMP/work" push -q origin main
assert_eq "$GIT_RC" 0 "git push with credential.helper sparekey: exits 0"
assert_eq "$(git --git-dir="$SPK_TMP/git-root/demo.git" show main:NOTE 2>/dev/null)" "from sparekey" \
    "git push: the commit is in the server's repository"

# The access token expires between two fetches.
sleep_until "$(($(grant_field "$P" expires_at) + 1))"
mark=$(events_mark)
git_run "$SPK_TMP/work" fetch -q origin
assert_eq "$GIT_RC" 0 "git fetch after the access token expired: exits 0"
assert_eq "$(refresh_ok_since "$mark")" 1 "git fetch after the access token expired: one refresh at the provider"
assert_eq "$(refresh_errors_since "$mark")" 0 "... and no refused refresh"

# A host no profile lists: sparekey answers nothing, the next helper answers.
git config --global --unset "credential.$GIT_ORIGIN.helper"
cfg_set "$P" git_hosts git.elsewhere.example
sk token "$P"
(umask 077; printf '%s\n' "$SK_OUT" >"$SPK_TMP/next.token")
cat >"$SPK_TMP/next-helper" <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 0
echo called >>"$SPK_TMP/next-helper.calls"
printf 'username=next\npassword=%s\n' "\$(cat "$SPK_TMP/next.token")"
EOF
chmod 700 "$SPK_TMP/next-helper"
git config --global --add "credential.$GIT_ORIGIN.helper" sparekey
git config --global --add "credential.$GIT_ORIGIN.helper" "$SPK_TMP/next-helper"
git_run "$SPK_TMP" clone -q "$GIT_REPO_URL" other
assert_eq "$GIT_RC" 0 "an unlisted host: git clone works with the next helper"
assert_eq "$(grep -c called "$SPK_TMP/next-helper.calls" 2>/dev/null)" 1 "an unlisted host: git asked the next helper"
assert_ne "$(peer_count "$GIT_LOG" auth=accepted user=next)" 0 "an unlisted host: the server saw the next helper's user"
git config --global --unset-all "credential.$GIT_ORIGIN.helper"
git config --global "credential.$GIT_ORIGIN.helper" sparekey
cfg_set "$P" git_hosts "$GIT_HOST"

# ---------------------------------------------------------------- a revoked grant
grant_revoke "$P"
sleep_until "$(($(grant_field "$P" expires_at) + 1))"
browser_reset
mark=$(events_mark)
git_run "$SPK_TMP/work" fetch -q origin
assert_ne "$GIT_RC" 0 "git fetch with the grant revoked: fails"
assert_eq "$(grep -c 'sparekey' "$SPK_TMP/git.err")" 1 "git fetch with the grant revoked: one line from sparekey"
assert_contains "$GIT_ERR" "sparekey login $P" "... which says to run sparekey login $P"
assert_no_login_since "$mark"

spk_done
