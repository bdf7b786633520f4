#!/usr/bin/env bash
# store = etcd over TLS with client certificates and etcd's own auth
# (issue 16). A 3-member cluster with --client-cert-auth (a CA and
# certificates without a CommonName, made with openssl here), auth enabled,
# the prefix /acme/sparekey/ (etcd_prefix), and the roles sparekey.conf(5)
# gives: the refresher may read and write PREFIX tls/, the reader may read
# PREFIX tls/access only.
#   1. Login on m1 (refresher): the grant lands under /acme/sparekey/tls/;
#      m2 (refresher) gets the token; status and doctor.
#   2. m3 (reader) gets the token while it is fresh, exits 75 when it is
#      stale (nothing reaches the provider), and etcd itself refuses it the
#      grant key; once a refresher refreshed, it gets the new token.
#   3. A wrong password, a password file others may read, a user without
#      permission: 78 naming the user (and the file or key). No client
#      certificate, another CA: 69 with the TLS reason. A client
#      certificate with a CommonName (the gateway's refusal): 78 saying so.
#      The grant is untouched by all of them.
#
# Peers: provider.mjs, browser, etcd, openssl. Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-etcd.sh"
etcd_begin
export SPK_ACCESS_TTL=10
ETCD_PREFIX=/acme/sparekey/
peers_start
etcd_start 3 --tls
P=tls
etcd_auth_setup "$P" || bail "(harness) etcd users and roles could not be set up"
# a user with no role at all
printf 'stranger-pw\n' | ectl user add stranger --interactive=false >/dev/null 2>&1 \
    || bail "(harness) etcdctl user add stranger"

# machine_pwfile MACHINE NAME PASSWORD: MACHINE's own 0600 password file
machine_pwfile() {
    local f=$SPK_TMP/$1/home/.config/sparekey/$2.password
    mkdir -p "$(dirname "$f")"
    pwfile "$f" "$3"
    echo "$f"
}
RPW=$(head -n 1 "$ETCD_REFRESHER_PWFILE")
for m in m1 m2; do
    etcd_machine "$m" "$P" etcd_user=refresher \
        "etcd_password_file=$(machine_pwfile "$m" refresher "$RPW")"
done
etcd_machine m3 "$P" etcd_user=reader \
    "etcd_password_file=$(machine_pwfile m3 reader "$(head -n 1 "$ETCD_READER_PWFILE")")"

# ================================================================ 1. refreshers
etcd_login m1 "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login on m1 failed; nothing else can be checked"
assert_eq "$(on m1 cfg_get "$P" etcd_user)" refresher "login kept etcd_user"
assert_eq "$(on m1 cfg_get "$P" etcd_cert)" "$ETCD_CLIENT_CERT" "login kept etcd_cert"
assert_not_contains "$(cat "$SPK_TMP/m1/home/.config/sparekey/config")" "$RPW" \
    "m1's config does not hold the etcd password"
assert_eq "$(etcd_keys /sparekey/)" "" "nothing under the default prefix /sparekey/"
for m in m2 m3; do
    on "$m" cfg_get "$P" etcd_password_file >"$SPK_TMP/.pwf"
    machine_copy_profile m1 "$m" "$P"
    on "$m" cfg_set "$P" etcd_password_file "$(cat "$SPK_TMP/.pwf")"
done
on m3 cfg_set "$P" etcd_user reader
G0=$(etcd_grant "$P")
AT0=$(json_get access_token <<<"$G0")
EXP0=$(json_get expires_at <<<"$G0")

on m2 sk token "$P" --min-valid 1
assert_rc 0 "m2 (refresher, over TLS with a client certificate): token exits 0"
assert_eq "$SK_OUT" "$AT0" "m2: the token m1's login stored"
on m2 sk status "$P"
assert_contains "$SK_OUT" etcd "m2: status shows the store as etcd"
assert_contains "$SK_OUT" "https://127.0.0.1:" "m2: status shows the https endpoint that answered"
on m2 sk doctor "$P"
assert_rc 0 "m2: doctor exits 0"
if grep -F refresher "$SPK_TMP/sk.out" | grep -qw ok; then ok "m2: doctor: an ok line names the user refresher"
else not_ok "m2: doctor: an ok line names the user refresher" "$SK_OUT"; fi

# ================================================================ 2. the reader
M=$(events_mark)
on m3 sk token "$P" --min-valid 1
assert_rc 0 "m3 (reader) while the shared token is fresh: token exits 0"
assert_eq "$SK_OUT" "$AT0" "m3: prints the shared token"
ectl_as reader "$ETCD_READER_PWFILE" get "${ETCD_PREFIX}$P/grant" >/dev/null 2>"$SPK_TMP/err"
assert_icontains "$(cat "$SPK_TMP/err")" "permission denied" "etcd refuses the reader the grant key"
sleep_until "$((${EXP0%.*} + 1))"
on m3 sk --timeout 90 token "$P" --min-valid 1
assert_failure 75 "m3 (reader), the shared token stale: token"
assert_icontains "$SK_ERR" refresh "m3: the line says no machine with refresh rights has refreshed it"
assert_eq "$(refresh_grants_since "$M")" 0 "m3: the reader sent no refresh"
assert_eq "$(etcd_grant "$P")" "$G0" "m3: the grant is untouched"
on m1 sk token "$P" --min-valid 1
assert_rc 0 "m1 (refresher): token on the stale grant exits 0"
AT1=$SK_OUT
assert_new "$AT1" "$AT0" "m1: ... with a new token"
assert_eq "$(refresh_ok_since "$M")" 1 "m1: one refresh"
on m3 sk token "$P" --min-valid 1
assert_rc 0 "m3 (reader) after m1 refreshed: token exits 0"
assert_eq "$SK_OUT" "$AT1" "m3: prints m1's new token"

# ================================================================ 3. refused
G1=$(etcd_grant "$P")
M=$(events_mark)
etcd_machine m4 "$P"
machine_copy_profile m1 m4 "$P"
# No runtime cache on m4: each call below asks the cluster.
on m4 cfg_set "$P" cache none
on m4 cfg_set "$P" etcd_password_file "$(machine_pwfile m4 wrong wrong-password)"
on m4 sk --timeout 60 token "$P" --min-valid 1
assert_failure 78 "a wrong password: token"
assert_contains "$SK_ERR" refresher "... the line names the user"
chmod 644 "$SPK_TMP/m4/home/.config/sparekey/wrong.password"
on m4 cfg_set "$P" etcd_password_file "$SPK_TMP/m4/home/.config/sparekey/wrong.password"
on m4 sk --timeout 60 token "$P" --min-valid 1
assert_failure 78 "a password file others may read (0644): token"
assert_contains "$SK_ERR" wrong.password "... the line names the file"
on m4 cfg_set "$P" etcd_password_file "$SPK_TMP/m4/no-such-file"
on m4 sk --timeout 60 token "$P" --min-valid 1
assert_failure 78 "a missing password file: token"
on m4 cfg_set "$P" etcd_user stranger
on m4 cfg_set "$P" etcd_password_file "$(machine_pwfile m4 stranger stranger-pw)"
on m4 sk --timeout 60 token "$P" --min-valid 1
assert_failure 78 "a user without permission on ${ETCD_PREFIX}$P/: token"
assert_contains "$SK_ERR" stranger "... the line names the user"
assert_contains "$SK_ERR" "${ETCD_PREFIX}$P/" "... and the key"

on m4 cfg_set "$P" etcd_user refresher
on m4 cfg_set "$P" etcd_password_file "$(machine_pwfile m4 refresher "$RPW")"
on m4 sk --timeout 60 token "$P" --min-valid 1
assert_rc 0 "(harness) m4 as refresher works"
on m4 cfg_unset "$P" etcd_cert
on m4 cfg_unset "$P" etcd_key
on m4 sk --timeout 60 token "$P" --min-valid 1
assert_failure 69 "no client certificate (--client-cert-auth): token"
assert_icontains "$SK_ERR" certificate "... the line gives the TLS reason"
on m4 cfg_set "$P" etcd_cert "$ETCD_CLIENT_CERT"
on m4 cfg_set "$P" etcd_key "$ETCD_CLIENT_KEY"
mkdir -p "$SPK_TMP/otherca"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout "$SPK_TMP/otherca/ca.key" \
    -out "$SPK_TMP/otherca/ca.crt" -subj "/O=another CA" >/dev/null 2>&1 || bail "(harness) openssl"
on m4 cfg_set "$P" etcd_cacert "$SPK_TMP/otherca/ca.crt"
on m4 sk --timeout 60 token "$P" --min-valid 1
assert_failure 69 "etcd_cacert of another CA (the server does not verify): token"
assert_icontains "$SK_ERR" certificate "... the line gives the TLS reason"
on m4 cfg_set "$P" etcd_cacert "$ETCD_CACERT"
on m4 cfg_set "$P" etcd_cert "$ETCD_CERT_CN_CERT"
on m4 cfg_set "$P" etcd_key "$ETCD_CERT_CN_KEY"
on m4 sk --timeout 60 token "$P" --min-valid 1
assert_failure 78 "a client certificate with a CommonName (refused by etcd's gateway): token"
assert_contains "$SK_ERR" CommonName "... the line says the CommonName is the problem"
assert_eq "$(etcd_grant "$P")" "$G1" "after all these: the grant is byte-identical"
assert_eq "$(refresh_grants_since "$M")" 0 "after all these: no refresh reached the provider"

M=$(events_mark)
on m2 sk refresh --all --older-than 0s
assert_rc 0 "m2 (refresher): refresh --all --older-than 0s exits 0"
assert_eq "$(refresh_ok_since "$M")" 1 "m2: one refresh"
assert_eq "$(trouble_since "$M")" "" "m2: no trouble at the provider"

spk_done
