#!/usr/bin/env bash
# The etcd harness itself (lib-etcd.sh), without sparekey: what the tests
# of issue 16 (store = etcd) rely on.
#   1. A 3-member cluster on 127.0.0.1 starts; etcdctl put/get; the JSON
#      gateway (/v3/kv/range, keys and values base64) answers on every
#      member.
#   2. SIGKILL of the leader leaves a working 2-member cluster with a new
#      leader; the killed member comes back; a frozen (SIGSTOP) member does
#      not stop the others; the whole cluster stopped and started keeps
#      its data.
#   3. A TLS cluster (openssl CA, certificates without a CommonName,
#      --client-cert-auth) with auth: a wrong password is refused; the
#      refresher may read and write PREFIX P/; the reader may read
#      PREFIX P/access and nothing else; no client certificate, one with
#      a CommonName at the gateway, or plain http are refused.
#   4. Machines: separate HOME and XDG dirs, each with the profile group.
#
# Peers: Debian's etcd-server and etcd-client, openssl, curl, node.
# Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-etcd.sh"
etcd_begin
etcd_tmp_start

P=fleet
KEY=${ETCD_PREFIX}$P/grant

# ================================================================ 1. a cluster
etcd_start 3
ok "a 3-member cluster starts and becomes healthy"
L=$(etcd_leader)
if [ -n "$L" ]; then ok "it has a leader (e$L)"; else not_ok "it has a leader"; fi
assert_eq "$(ectl member list | grep -c started)" 3 "etcdctl member list: 3 started members"
etcd_put "$KEY" '{"hello":"fleet"}'
assert_eq "$(etcd_get "$KEY")" '{"hello":"fleet"}' "etcdctl put, then get, through all endpoints"
for ((i = 1; i <= 3; i++)); do
    gateway_range "$(etcd_member_endpoint "$i")" "$KEY"
    assert_eq "$GW_STATUS" 200 "gateway of e$i: POST /v3/kv/range answers 200"
    V=$(json_get kvs <<<"$GW_BODY" | node -e 'const k = JSON.parse(require("fs").readFileSync(0, "utf8"));
        process.stdout.write(Buffer.from(k[0].value, "base64").toString())' 2>/dev/null)
    assert_eq "$V" '{"hello":"fleet"}' "gateway of e$i: the value, base64-decoded, is what was put"
done
gateway_range "$(etcd_member_endpoint 1)" "${ETCD_PREFIX}$P/nothing"
assert_eq "$(json_get kvs <<<"$GW_BODY")" "" "gateway: an absent key has no kvs"

# ================================================================ 2. failures
etcd_kill_leader || not_ok "(harness) a leader to kill"
diag "killed the leader e$ETCD_KILLED"
if proc_alive "${ETCD_PIDS[ETCD_KILLED]}"; then not_ok "the leader is gone after SIGKILL"
else ok "the leader e$ETCD_KILLED is gone after SIGKILL"; fi
if etcd_wait_healthy 15; then ok "the 2 members left elect a new leader"
else not_ok "the 2 members left elect a new leader"; fi
L2=$(etcd_leader)
assert_ne "$L2" "$ETCD_KILLED" "the new leader is another member (e$L2)"
ECTL_ENDPOINTS=$(etcd_alive_csv) etcd_put "$KEY" v2
assert_eq "$(ECTL_ENDPOINTS=$(etcd_alive_csv) etcd_get "$KEY")" v2 "the 2-member cluster takes writes"
gateway_range "$(etcd_member_endpoint "$L2")" "$KEY"
assert_eq "$GW_STATUS" 200 "the new leader's gateway answers"
gateway_range "$(etcd_member_endpoint "$ETCD_KILLED")" "$KEY"
assert_eq "$GW_STATUS" 000 "the killed member's port refuses connections"
etcd_member_start "$ETCD_KILLED"
if etcd_wait_healthy 20; then ok "the killed member comes back (same data dir)"
else not_ok "the killed member comes back"; fi
assert_eq "$(ECTL_ENDPOINTS=$(etcd_member_endpoint "$ETCD_KILLED") etcd_get "$KEY")" v2 \
    "... and serves the write it missed"

F=$(( $(etcd_leader) % 3 + 1 ))
etcd_freeze "${ETCD_PIDS[F]}"
assert_eq "$(proc_state "${ETCD_PIDS[F]}")" T "etcd_freeze: member e$F is stopped (SIGSTOP)"
ECTL_ENDPOINTS=$(etcd_member_endpoint $(( F % 3 + 1 ))) etcd_put "$KEY" v3
assert_eq "$(ECTL_ENDPOINTS=$(etcd_member_endpoint $(( F % 3 + 1 ))) etcd_get "$KEY")" v3 \
    "with e$F frozen, the others take a write"
t0=$(date +%s.%N)
gateway_range "$(etcd_member_endpoint "$F")" "$KEY" --max-time 2
assert_eq "$GW_STATUS" 000 "the frozen member's gateway accepts but does not answer (curl gives up)"
etcd_thaw "${ETCD_PIDS[F]}"
sleep 1
assert_eq "$(ECTL_ENDPOINTS=$(etcd_member_endpoint "$F") etcd_get "$KEY")" v3 "thawed, e$F catches up"

etcd_stop_all
N_ALIVE=0
for ((i = 1; i <= 3; i++)); do proc_alive "${ETCD_PIDS[i]}" && N_ALIVE=$((N_ALIVE + 1)); done
assert_eq "$N_ALIVE" 0 "etcd_stop_all: no member runs"
gateway_range "$(etcd_member_endpoint 1)" "$KEY"
assert_eq "$GW_STATUS" 000 "... and nothing answers"
if etcd_start_all; then ok "etcd_start_all: the cluster is healthy again"
else not_ok "etcd_start_all: the cluster is healthy again"; fi
assert_eq "$(etcd_get "$KEY")" v3 "... with its data"
etcd_stop_all

# ================================================================ 3. TLS and auth
etcd_start 3 --tls
ok "a 3-member TLS cluster with --client-cert-auth starts"
assert_eq "$(openssl x509 -in "$ETCD_CLIENT_CERT" -noout -subject | grep -c 'CN *=')" 0 \
    "the client certificate has no CommonName"
assert_match "$(openssl x509 -in "$ETCD_DIR/tls/server.crt" -noout -ext subjectAltName)" \
    'IP Address:127\.0\.0\.1' "the server certificate is for IP:127.0.0.1"
EP=$(etcd_member_endpoint 1)
TLS=(--cacert "$ETCD_CACERT" --cert "$ETCD_CLIENT_CERT" --key "$ETCD_CLIENT_KEY")
gateway_range "$EP" "$KEY" "${TLS[@]}"
assert_eq "$GW_STATUS" 200 "gateway over https with the client certificate: 200"
gateway_range "$EP" "$KEY" --cacert "$ETCD_CACERT"
assert_eq "$GW_STATUS" 000 "gateway over https without a client certificate: refused"
gateway_range "http://127.0.0.1:${ETCD_CLIENT_PORTS[1]}" "$KEY"
assert_ne "$GW_STATUS" 200 "plain http to the TLS port: no answer"

etcd_auth_setup "$P" || bail "(harness) etcd_auth_setup failed"
ok "auth enabled: root, a refresher and a reader"
assert_eq "$(file_mode "$ETCD_REFRESHER_PWFILE")" 600 "the refresher's password file is 0600"
assert_eq "$(nlines "$ETCD_REFRESHER_PWFILE")" 1 "... one line"
ETCD_ROOT_PASSWORD='' ectl get "$KEY" >/dev/null 2>&1
assert_ne "$?" 0 "etcdctl without a user: refused"
echo wrong-password >"$SPK_TMP/wrong.pw"; chmod 600 "$SPK_TMP/wrong.pw"
ectl_as refresher "$SPK_TMP/wrong.pw" get "$KEY" >/dev/null 2>"$SPK_TMP/err"
assert_icontains "$(cat "$SPK_TMP/err")" "invalid user ID or password" "etcdctl as refresher, wrong password: refused"
assert_eq "$(gateway_token "$EP" refresher "$SPK_TMP/wrong.pw" "${TLS[@]}")" "" \
    "gateway /v3/auth/authenticate with a wrong password: no token"
RT=$(gateway_token "$EP" refresher "$ETCD_REFRESHER_PWFILE" "${TLS[@]}")
assert_ne "$RT" "" "gateway /v3/auth/authenticate as refresher: a token"
(umask 077; printf 'Authorization: %s\n' "$RT" >"$SPK_TMP/auth.hdr")
gateway_range "$EP" "$KEY" "${TLS[@]}" -H @"$SPK_TMP/auth.hdr"
assert_eq "$GW_STATUS" 200 "gateway range of the grant key as refresher (token in Authorization): 200"
gateway_range "$EP" "$KEY" "${TLS[@]}"
assert_ne "$GW_STATUS" 200 "gateway range without the Authorization header: refused"
CN=(--cacert "$ETCD_CACERT" --cert "$ETCD_CERT_CN_CERT" --key "$ETCD_CERT_CN_KEY")
gateway_range "$EP" "$KEY" "${CN[@]}" -H @"$SPK_TMP/auth.hdr"
diag "a client certificate with a CommonName at the gateway: $GW_STATUS $GW_BODY"
assert_eq "$GW_STATUS" 400 "gateway with auth on and a client certificate that has a CommonName: 400"
assert_icontains "$GW_BODY" "CommonName of client" "... saying the CommonName will be ignored"

printf g1 | ectl_as refresher "$ETCD_REFRESHER_PWFILE" put "$KEY" >/dev/null 2>&1
assert_eq "$?" 0 "refresher: put $KEY"
printf a1 | ectl_as refresher "$ETCD_REFRESHER_PWFILE" put "${ETCD_PREFIX}$P/access" >/dev/null 2>&1
assert_eq "$?" 0 "refresher: put ${ETCD_PREFIX}$P/access"
assert_eq "$(ectl_as refresher "$ETCD_REFRESHER_PWFILE" get --print-value-only "$KEY" 2>/dev/null)" g1 \
    "refresher: get $KEY"
ectl_as refresher "$ETCD_REFRESHER_PWFILE" get "${ETCD_PREFIX}other/grant" >/dev/null 2>"$SPK_TMP/err"
assert_icontains "$(cat "$SPK_TMP/err")" "permission denied" "refresher: another profile's grant is refused"
assert_eq "$(ectl_as reader "$ETCD_READER_PWFILE" get --print-value-only "${ETCD_PREFIX}$P/access" 2>/dev/null)" a1 \
    "reader: get ${ETCD_PREFIX}$P/access"
ectl_as reader "$ETCD_READER_PWFILE" get "$KEY" >/dev/null 2>"$SPK_TMP/err"
assert_icontains "$(cat "$SPK_TMP/err")" "permission denied" "reader: etcd refuses it the grant key"
printf x | ectl_as reader "$ETCD_READER_PWFILE" put "${ETCD_PREFIX}$P/access" >/dev/null 2>"$SPK_TMP/err"
assert_icontains "$(cat "$SPK_TMP/err")" "permission denied" "reader: etcd refuses it a write of the access key"
RD=$(gateway_token "$EP" reader "$ETCD_READER_PWFILE" "${TLS[@]}")
(umask 077; printf 'Authorization: %s\n' "$RD" >"$SPK_TMP/auth.hdr")
gateway_range "$EP" "$KEY" "${TLS[@]}" -H @"$SPK_TMP/auth.hdr"
assert_icontains "$GW_BODY" "permission denied" "reader at the gateway: the grant key is refused (permission denied)"
gateway_range "$EP" "${ETCD_PREFIX}$P/access" "${TLS[@]}" -H @"$SPK_TMP/auth.hdr"
assert_eq "$GW_STATUS" 200 "reader at the gateway: the access key answers 200"
rm -f "$SPK_TMP/auth.hdr"

# ================================================================ 4. machines
etcd_machine m1 "$P" etcd_user=refresher "etcd_password_file=$ETCD_REFRESHER_PWFILE"
etcd_machine m2 "$P"
assert_eq "$(on m1 printenv HOME)" "$SPK_TMP/m1/home" "on m1: HOME is m1's"
assert_ne "$(on m1 printenv XDG_RUNTIME_DIR)" "$(on m2 printenv XDG_RUNTIME_DIR)" "m1 and m2 have their own runtime dirs"
assert_eq "$(file_mode "$SPK_TMP/m1/run")" 700 "m1's runtime dir is 0700"
assert_eq "$(on m1 cfg_get "$P" store)" etcd "m1's config: store = etcd"
assert_eq "$(on m1 cfg_get "$P" etcd_endpoints)" "$ETCD_ENDPOINTS" "m1's config: etcd_endpoints, all members"
assert_eq "$(on m1 cfg_get "$P" etcd_prefix)" "$ETCD_PREFIX" "m1's config: etcd_prefix"
assert_eq "$(on m1 cfg_get "$P" etcd_cacert)" "$ETCD_CACERT" "m1's config: etcd_cacert"
assert_eq "$(on m1 cfg_get "$P" etcd_user)" refresher "m1's config: etcd_user"
assert_eq "$(on m2 cfg_get "$P" etcd_user)" "" "m2's config is its own"
assert_eq "${HOME:-}" "${HOME:-}" "(the caller's environment is unchanged)"
if [ "$(on m1 printenv HOME)" != "${HOME:-}" ]; then ok "after on m1, HOME is the caller's again"
else not_ok "after on m1, HOME is the caller's again"; fi

spk_done
