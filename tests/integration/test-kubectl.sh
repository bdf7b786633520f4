#!/bin/bash
# sparekey as kubectl's exec credential plugin (issue 17): `sparekey token
# P --exec-credential` prints an ExecCredential in the apiVersion that
# KUBERNETES_EXEC_INFO asks for (client.authentication.k8s.io/v1 or
# v1beta1; v1 when absent), with status.token and
# status.expirationTimestamp (RFC 3339), and never opens a browser.
#  - Debian's kubectl (kubernetes-client) with a kubeconfig whose user runs
#    sparekey: `kubectl get --raw /version` and `kubectl version` against
#    an HTTPS stand-in for kube-apiserver that accepts only bearer tokens
#    the provider accepts;
#  - the v1beta1 and v1 documents: Debian 12's kubectl (1.20) knows
#    v1beta1 only, so the v1 document is read as kubectl 1.22+ would,
#    from sparekey with KUBERNETES_EXEC_INFO set as they set it;
#  - a revoked grant: kubectl fails with sparekey's one line, no browser.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-consumers.sh"
trap peers_stop EXIT

peers_start
consumers_check_prereqs kubectl openssl
kube_server_start

P=kube
consumer_login "$P"

# exec_info APIVERSION: KUBERNETES_EXEC_INFO as kubectl sets it
exec_info() {
    printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/%s","spec":{"interactive":false}}' "$1"
}

# check_doc WHAT APIVERSION: the last sk printed an ExecCredential of that
# apiVersion whose token the provider accepts and whose expiry is the
# grant's, in RFC 3339
check_doc() {
    local what=$1 v=$2 st exp want
    assert_rc 0 "$what: exits 0"
    assert_eq "$(json_get apiVersion <<<"$SK_OUT")" "client.authentication.k8s.io/$v" "$what: apiVersion $v"
    assert_eq "$(json_get kind <<<"$SK_OUT")" ExecCredential "$what: kind ExecCredential"
    st=$(json_get status <<<"$SK_OUT")
    me "$(json_get token <<<"$st")"
    assert_eq "$ME_STATUS" 200 "$what: status.token is an access token the provider accepts"
    exp=$(json_get expirationTimestamp <<<"$st")
    assert_match "$exp" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' \
        "$what: status.expirationTimestamp is RFC 3339"
    want=$(grant_field "$P" expires_at)
    assert_eq "$(date -u -d "$exp" +%s 2>/dev/null)" "$want" "$what: status.expirationTimestamp is the token's expiry"
}

# ---------------------------------------------------------------- the documents

SK_CMD="KUBERNETES_EXEC_INFO=(v1) sparekey token $P --exec-credential"
KUBERNETES_EXEC_INFO=$(exec_info v1) sk token "$P" --exec-credential
check_doc "--exec-credential, KUBERNETES_EXEC_INFO v1" v1
KUBERNETES_EXEC_INFO=$(exec_info v1beta1) sk token "$P" --exec-credential
check_doc "--exec-credential, KUBERNETES_EXEC_INFO v1beta1" v1beta1
(unset KUBERNETES_EXEC_INFO; sk token "$P" --exec-credential; declare -p SK_RC SK_OUT >"$SPK_TMP/noinfo.sh")
# shellcheck source=/dev/null
. "$SPK_TMP/noinfo.sh"
check_doc "--exec-credential without KUBERNETES_EXEC_INFO" v1
if ! grep -qF refresh_token <<<"$SK_OUT"; then ok "--exec-credential: no refresh token in the document"
else not_ok "--exec-credential: no refresh token in the document"; fi

# A version sparekey does not speak is the kubeconfig's to fix (78), said
# before any refresh: --min-valid 7200 would otherwise spend the token.
mark=$(events_mark)
KUBERNETES_EXEC_INFO=$(exec_info v1alpha1) sk token "$P" --exec-credential --min-valid 7200
assert_failure 78 "--exec-credential, KUBERNETES_EXEC_INFO v1alpha1"
assert_contains "$SK_ERR" "client.authentication.k8s.io/v1alpha1" "... names the version asked for"
assert_eq "$(refresh_grants_since "$mark")" 0 "... no refresh was spent"
KUBERNETES_EXEC_INFO='not json' sk token "$P" --exec-credential
assert_failure 78 "--exec-credential, KUBERNETES_EXEC_INFO not JSON"
sk token "$P" --exec-credential --json
assert_failure 64 "--exec-credential with --json"
sk token "$P" --header --exec-credential
assert_failure 64 "--exec-credential with --header"

# ---------------------------------------------------------------- real kubectl (v1beta1)

kubeconfig_exec "$SPK_TMP/kubeconfig" "$P" v1beta1
kubectl_run "$SPK_TMP/kubeconfig" get --raw /version
assert_eq "$KC_RC" 0 "kubectl get --raw /version through sparekey: exits 0"
assert_eq "$(json_get gitVersion <<<"$KC_OUT")" "v1.20.2-sparekey-test" "kubectl get --raw /version: the server's version"
kubectl_run "$SPK_TMP/kubeconfig" version
assert_eq "$KC_RC" 0 "kubectl version through sparekey: exits 0"
assert_contains "$KC_OUT" 'GitVersion:"v1.20.2-sparekey-test"' "kubectl version: shows the server version"
assert_eq "$(peer_count "$KUBE_LOG" auth=refused)" 0 "the API server refused no token"
assert_ne "$(peer_count "$KUBE_LOG" auth=accepted sub=alice)" 0 "the API server took alice's token"

# ---------------------------------------------------------------- a revoked grant
grant_revoke "$P"
browser_reset
mark=$(events_mark)
sk token "$P" --exec-credential --min-valid 7200
assert_failure 77 "--exec-credential with the grant revoked"
assert_contains "$SK_ERR" "sparekey login $P" "--exec-credential with the grant revoked: says to run sparekey login $P"
# The cached access token went with the grant: a refresh is needed.
cfg_set "$P" min_valid 7200
kubectl_run "$SPK_TMP/kubeconfig" get --raw /version
assert_ne "$KC_RC" 0 "kubectl with the grant revoked: fails"
assert_contains "$KC_ERR" "sparekey login $P" "kubectl with the grant revoked: shows sparekey's line"
assert_no_login_since "$mark"

spk_done
