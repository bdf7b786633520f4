#!/bin/bash
# The consumer peers of issue 17's tests (lib-consumers.sh) work with the
# real clients from Debian's packages, without any sparekey feature but
# `token`: each accepts an access token the test provider accepts and
# refuses another one.
#  - git (smart HTTP, git http-backend): clone and push with a throwaway
#    credential helper that prints the token; a bad token and no helper
#    at all are refused (401, git fails);
#  - kubectl (kubernetes-client) against the HTTPS kube-apiserver stand-in,
#    with the token from a tokenFile and from a throwaway exec plugin
#    (ExecCredential v1beta1); a bad token gets Unauthorized;
#  - msmtp sends one mail with auth xoauth2 and passwordeval; a bad token
#    gets 535 and no mail;
#  - the heartbeat counter counts success and /fail pings, and hangs when
#    told to.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-consumers.sh"
trap peers_stop EXIT

peers_start
consumers_check_prereqs git kubectl msmtp openssl
git_server_start
kube_server_start
smtp_server_start
heartbeat_start

P=peers
consumer_login "$P"
GOOD=$SPK_TMP/good.token BAD=$SPK_TMP/bad.token
sk token "$P"
assert_rc 0 "sparekey token: exits 0" || bail "no token"
(umask 077; printf '%s\n' "$SK_OUT" >"$GOOD"; printf '%s\n' "not-a-token-$RANDOM$RANDOM" >"$BAD")
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "the provider accepts the token"

# ---------------------------------------------------------------- git

# A credential helper that answers git's "get" with the token in FILE.
helper=$SPK_TMP/cred-helper
cat >"$helper" <<'EOF'
#!/bin/sh
# usage: cred-helper TOKEN-FILE get|store|erase
[ "$2" = get ] || exit 0
cat >/dev/null
printf 'username=oauth2\npassword=%s\n' "$(cat "$1")"
EOF
chmod 700 "$helper"
with_helper() { echo "credential.helper=$helper $1"; }

git_run "$SPK_TMP" -c "$(with_helper "$GOOD")" clone -q "$GIT_REPO_URL" good
assert_eq "$GIT_RC" 0 "git clone with a good token: exits 0"
assert_eq "$(cat "$SPK_TMP/good/README" 2>/dev/null)" "hello from the test forge" \
    "git clone with a good token: the repository's README is there"
printf 'pushed over smart HTTP\n' >"$SPK_TMP/good/PUSHED"
git -C "$SPK_TMP/good" add PUSHED && git -C "$SPK_TMP/good" commit -qm 'a pushed commit'
git_run "$SPK_TMP/good" -c "$(with_helper "$GOOD")" push -q origin main
assert_eq "$GIT_RC" 0 "git push with a good token: exits 0"
assert_eq "$(git --git-dir="$SPK_TMP/git-root/demo.git" show main:PUSHED 2>/dev/null)" "pushed over smart HTTP" \
    "git push with a good token: the commit is in the server's repository"
assert_eq "$(peer_count "$GIT_LOG" method=POST auth=accepted service=git-receive-pack status=200)" 1 \
    "the git server ran one authenticated receive-pack"

mark=$(nlines "$GIT_LOG")
git_run "$SPK_TMP" -c "$(with_helper "$BAD")" clone -q "$GIT_REPO_URL" bad
assert_ne "$GIT_RC" 0 "git clone with a bad token: fails"
assert_match "$GIT_ERR" "Authentication failed|401" "git clone with a bad token: git says authentication failed"
if [ ! -e "$SPK_TMP/bad/README" ]; then ok "git clone with a bad token: nothing was cloned"
else not_ok "git clone with a bad token: nothing was cloned"; fi
tail -n "+$((mark + 1))" "$GIT_LOG" >"$SPK_TMP/git-since.jsonl"
assert_eq "$(peer_count "$SPK_TMP/git-since.jsonl" auth=accepted)" 0 "the git server accepted nothing with a bad token"
assert_ne "$(peer_count "$SPK_TMP/git-since.jsonl" auth=refused)" 0 "the git server refused the bad token"

git_run "$SPK_TMP" clone -q "$GIT_REPO_URL" none
assert_ne "$GIT_RC" 0 "git clone without credentials: fails (no prompt)"

# ---------------------------------------------------------------- kubectl

kubeconfig_write "$SPK_TMP/kube-good" "    tokenFile: $GOOD"
kubeconfig_write "$SPK_TMP/kube-bad" "    tokenFile: $BAD"
kubectl_run "$SPK_TMP/kube-good" get --raw /version
assert_eq "$KC_RC" 0 "kubectl get --raw /version with a good token: exits 0"
assert_eq "$(json_get gitVersion <<<"$KC_OUT")" "v1.20.2-sparekey-test" \
    "kubectl get --raw /version with a good token: the server's version"
kubectl_run "$SPK_TMP/kube-good" version
assert_eq "$KC_RC" 0 "kubectl version with a good token: exits 0"
assert_contains "$KC_OUT" 'GitVersion:"v1.20.2-sparekey-test"' "kubectl version: shows the server version"
kubectl_run "$SPK_TMP/kube-bad" get --raw /version
assert_ne "$KC_RC" 0 "kubectl with a bad token: fails"
assert_icontains "$KC_ERR" "Unauthorized" "kubectl with a bad token: Unauthorized"

# An exec plugin printing an ExecCredential: what sparekey will be.
plugin=$SPK_TMP/exec-plugin
cat >"$plugin" <<'EOF'
#!/bin/sh
printf '%s\n' "$KUBERNETES_EXEC_INFO" >"$(dirname "$0")/exec-info.json"
printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}\n' \
    "$(cat "$1")"
EOF
chmod 700 "$plugin"
kubeconfig_write "$SPK_TMP/kube-exec" '    exec:' '      apiVersion: client.authentication.k8s.io/v1beta1' \
    "      command: $plugin" '      args:' "      - $GOOD"
kubectl_run "$SPK_TMP/kube-exec" get --raw /version
assert_eq "$KC_RC" 0 "kubectl with an exec plugin (v1beta1) and a good token: exits 0"
assert_eq "$(json_get gitVersion <<<"$KC_OUT")" "v1.20.2-sparekey-test" "kubectl with an exec plugin: the server's version"
assert_eq "$(json_get apiVersion <"$SPK_TMP/exec-info.json")" "client.authentication.k8s.io/v1beta1" \
    "kubectl tells the exec plugin the apiVersion in KUBERNETES_EXEC_INFO"

# ---------------------------------------------------------------- msmtp

msmtprc_write "$SPK_TMP/msmtprc-good" "cat $GOOD"
msmtprc_write "$SPK_TMP/msmtprc-bad" "cat $BAD"
msmtp_send "$SPK_TMP/msmtprc-good" "peer self-test good"
assert_eq "$MS_RC" 0 "msmtp with a good token: exits 0"
assert_eq "$(grep -c '^Subject: peer self-test good' "$SMTP_MAILBOX")" 1 "msmtp with a good token: the mail arrived"
assert_eq "$(peer_count "$SMTP_LOG" event=mail user=alice@example.test)" 1 "the SMTP server took one mail from alice"
msmtp_send "$SPK_TMP/msmtprc-bad" "peer self-test bad"
assert_ne "$MS_RC" 0 "msmtp with a bad token: fails"
assert_contains "$MS_ERR" "535" "msmtp with a bad token: the server's 535"
assert_eq "$(grep -c '^Subject: peer self-test bad' "$SMTP_MAILBOX")" 0 "msmtp with a bad token: no mail"
assert_eq "$(peer_count "$SMTP_LOG" event=auth auth=refused)" 1 "the SMTP server refused one authentication"

# ---------------------------------------------------------------- heartbeat

curl -fsS -o /dev/null --max-time 5 "$HEARTBEAT/ping/abc"
curl -fsS -o /dev/null --max-time 5 "$HEARTBEAT/ping/abc"
curl -fsS -o /dev/null --max-time 5 "$HEARTBEAT/ping/abc/fail"
assert_eq "$(heartbeat_count /ping/abc)" 2 "heartbeat: two success pings counted"
assert_eq "$(heartbeat_count /ping/abc/fail)" 1 "heartbeat: one failure ping counted"
touch "$HEARTBEAT_HANG"
t0=$(date +%s.%N)
curl -sS -o /dev/null --max-time 2 "$HEARTBEAT/ping/abc" 2>/dev/null
rc=$?
t=$(elapsed_between "$t0" "$(date +%s.%N)")
rm -f -- "$HEARTBEAT_HANG"
assert_eq "$rc" 28 "heartbeat told to hang: the client times out (curl exit 28)"
if in_range "$t" 1.9 4; then ok "heartbeat told to hang: for the client's whole timeout (${t}s)"
else not_ok "heartbeat told to hang: for the client's whole timeout" "took ${t}s"; fi
assert_eq "$(heartbeat_count /ping/abc)" 3 "heartbeat: the hung ping is counted"
assert_eq "$(peer_count "$HEARTBEAT_LOG" authorization=true)" 0 "heartbeat: no ping carried an Authorization header"

spk_done
