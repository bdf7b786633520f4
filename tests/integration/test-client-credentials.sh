#!/usr/bin/env bash
# login --client-credentials: a confidential client's own tokens (no
# person, no refresh token), with the client secret read from a file or
# stdin, authenticated with HTTP Basic (the default) or in the form body,
# and kept in the store, never in argv or the config file.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-headless.sh"
trap peers_stop EXIT
export SPK_ACCESS_TTL=5
# A secret with characters that RFC 6749 2.3.1 form-encoding must escape in
# Basic credentials (":" "+" "/" "%" "&" "=" and a space).
export SPK_CLIENT_SECRET='Sp4re:key+te st/se%cret&x=y'
peers_start
token_proxy_start || bail "the recording token proxy did not start"

SECRET=$SPK_CLIENT_SECRET
SF=$SPK_TMP/client-secret
WF=$SPK_TMP/wrong-secret
EF=$SPK_TMP/empty-secret
(umask 077; printf '%s\n' "$SECRET" >"$SF"; printf '%s\n' 'not-the-secret' >"$WF"; : >"$EF")
CC=client_credentials

no_secret_in_config() {   # DESC
    if grep -qF -- "$SECRET" "$SPK_CONFIG" 2>/dev/null; then not_ok "$1" "the config file holds the secret"
    else ok "$1"; fi
}

# check_token PROFILE CLIENT DESC: token --min-valid 1 prints the stored
# access token, which the provider says is CLIENT's and active. Sets AT.
check_token() {
    sk token "$1" --min-valid 1
    assert_rc 0 "$3: token $1 exits 0"
    AT=$SK_OUT
    assert_eq "$AT" "$(keyring_or_file "$1" | json_get access_token)" "$3: token $1 prints the stored access token"
    introspect "$AT"
    assert_eq "$IS_ACTIVE" true "$3: the provider says the printed token is active (introspection)"
    assert_eq "$IS_CLIENT" "$2" "$3: ... and that it is $2's own token"
}
keyring_or_file() {
    if [ "$(cfg_get "$1" store)" = file ]; then cat "$XDG_STATE_HOME/sparekey/$1.grant" 2>/dev/null
    else keyring_item "$1" grant; fi
}

# ================================================================ no secret in argv
for form in separate joined; do
    if [ $form = separate ]; then set -- --client-secret "$SECRET"; else set -- "--client-secret=$SECRET"; fi
    sk login argv --issuer "$ISSUER" --client-id sparekey-basic --client-credentials "$@"
    assert_rc 64 "login with the secret in argv ($form: --client-secret …) is a usage error: exits 64"
    assert_not_contains "$SK_ERR" "$SECRET" "... and stderr does not repeat the secret"
done
set --
assert_eq "$(keyring_item argv client_secret)$(keyring_item argv grant)" "" "nothing was stored for profile argv"

# ================================================================ Basic (the default with a secret)
cfg_set cc token_endpoint "$TOKEN_PROXY/token"
M=$(events_mark)
sk login cc --issuer "$ISSUER" --client-id sparekey-basic --client-credentials --client-secret-file "$SF"
assert_rc 0 "login cc --client-credentials --client-secret-file FILE: exits 0"
assert_stdout_empty "login cc: nothing on stdout"
assert_eq "$(grant_count_since "$M" $CC)" 1 "login cc made one client_credentials grant"
assert_eq "$(proxy_last auth)" basic "login cc authenticated the client with HTTP Basic (the default with a secret)"
assert_eq "$(proxy_last both)" false "... and sent no client_secret in the body as well"
assert_eq "$(proxy_last basic_client_id)" sparekey-basic "... as client sparekey-basic"
assert_eq "$(keyring_item cc client_secret)" "$SECRET" "secret-tool lookup profile cc kind client_secret returns the secret"
no_secret_in_config "the config file does not contain the secret"
assert_eq "$(cfg_get cc client_id)" sparekey-basic "config [cc] client_id = sparekey-basic"
G1=$(keyring_item cc grant)
assert_eq "$(json_type refresh_token <<<"$G1")" undefined "the stored grant has no refresh token"
EXP1=$(json_get expires_at <<<"$G1")
check_token cc sparekey-basic "cc"
AT1=$AT
sk status
assert_rc 0 "status: exits 0 with a client-credentials profile"
assert_contains "$SK_OUT$SK_ERR" cc "status lists cc"

# --- the token expires: token gets a new one with client_credentials
sleep_until "$((${EXP1%.*} + 1))"
introspect "$AT1"
assert_eq "$IS_ACTIVE" false "(harness) the first token has expired at the provider"
M=$(events_mark)
check_token cc sparekey-basic "cc after expiry"
assert_new "$AT" "$AT1" "token cc after expiry prints a new access token"
assert_eq "$(grant_count_since "$M" $CC)" 1 "... got with one client_credentials grant"
assert_eq "$(any_grant_since "$M" refresh_token)" 0 "... and no refresh_token grant"
assert_eq "$(proxy_last auth)" basic "... authenticated with Basic again (secret from the keyring)"
assert_eq "$(keyring_item cc grant | json_type refresh_token)" undefined "the stored grant still has no refresh token"
AT2=$AT
sk token cc --min-valid 1
assert_eq "$SK_OUT" "$AT2" "token cc again, while valid: the same token, no new grant"
assert_eq "$(grant_count_since "$M" $CC)" 1 "(still one client_credentials grant)"

# --- refresh: a new token now
M=$(events_mark)
sk refresh cc
assert_rc 0 "refresh cc: exits 0"
assert_stdout_empty "refresh cc: nothing on stdout"
assert_eq "$(grant_count_since "$M" $CC)" 1 "refresh cc made one client_credentials grant"
assert_new "$(keyring_item cc grant | json_get access_token)" "$AT2" "refresh cc stored a new access token"

# ================================================================ post, secret from stdin
cfg_set ccp token_endpoint "$TOKEN_PROXY/token"
M=$(events_mark)
skx --stdin "$SF" -- login ccp --issuer "$ISSUER" --client-id sparekey-post --client-auth post \
    --client-credentials --client-secret-file -
assert_rc 0 "login ccp --client-auth post --client-secret-file - (secret on stdin): exits 0"
assert_eq "$(proxy_last auth)" post "login ccp sent the client secret in the form body"
assert_eq "$(grant_count_since "$M" $CC)" 1 "login ccp made one client_credentials grant"
assert_eq "$(keyring_item ccp client_secret)" "$SECRET" "the secret read from stdin is in the keyring (kind client_secret)"
no_secret_in_config "the config file still does not contain the secret"
check_token ccp sparekey-post "ccp"
EXP=$(keyring_item ccp grant | json_get expires_at)
sleep_until "$((${EXP%.*} + 1))"
M=$(events_mark)
AT_OLD=$AT
check_token ccp sparekey-post "ccp after expiry"
assert_new "$AT" "$AT_OLD" "token ccp after expiry prints a new access token"
assert_eq "$(proxy_last auth)" post "... asked for with the secret in the body again"

# --- the choice is kept in the profile
assert_eq "$(cfg_get ccp client_auth)" post "config [ccp] client_auth = post"

# ================================================================ wrong and missing secrets
M=$(events_mark)
sk login ccw --issuer "$ISSUER" --client-id sparekey-basic --client-credentials --client-secret-file "$WF"
assert_failure 78 "login with a wrong client secret"
assert_icontains "$SK_ERR" invalid_client "... stderr names invalid_client"
assert_eq "$(keyring_item ccw grant)" "" "... no grant is stored"
assert_eq "$(keyring_item ccw client_secret)" "" "... and the wrong secret is not stored"
assert_eq "$(events_since "$M" | grep -F '"grant.error"' | grep -cF '"error":"invalid_client"')" 1 "(harness) the provider refused the client once"

# A failed login keeps what was there.
GB=$(keyring_item cc grant)
sk login cc --client-credentials --client-secret-file "$WF"
assert_failure 78 "login cc again with a wrong secret"
assert_eq "$(keyring_item cc client_secret)" "$SECRET" "... the stored secret is still the right one"
assert_eq "$(keyring_item cc grant)" "$GB" "... the stored grant is unchanged"
sk refresh cc
assert_rc 0 "refresh cc still works with the stored secret"

sk login cce --issuer "$ISSUER" --client-id sparekey-basic --client-credentials --client-secret-file "$EF"
assert_failure 78 "login with an empty secret file"
assert_icontains "$SK_ERR" empty "... stderr says the secret is empty"
sk login ccm --issuer "$ISSUER" --client-id sparekey-basic --client-credentials --client-secret-file "$SPK_TMP/no-such-file"
assert_failure 78 "login with a missing secret file"
assert_contains "$SK_ERR" "$SPK_TMP/no-such-file" "... stderr names the file"
sk login ccn --issuer "$ISSUER" --client-id sparekey-basic --client-credentials
assert_failure 78 "login --client-credentials without any secret (a confidential client)"
assert_icontains "$SK_ERR" secret "... stderr says a client secret is needed"
assert_eq "$(keyring_item ccn grant)$(keyring_item cce grant)$(keyring_item ccm grant)" "" "none of them stored a grant"

# A secret removed from the keyring: token names the way out.
secret-tool clear profile cc kind client_secret
EXP=$(keyring_item cc grant | json_get expires_at)
sleep_until "$((${EXP%.*} + 1))"
sk token cc --min-valid 1
assert_failure 78 "token cc after its client secret was deleted from the keyring"
assert_contains "$SK_ERR" "--client-secret-file" "... stderr says to log in with --client-secret-file"

# ================================================================ the file store
sk login ccf --issuer "$ISSUER" --client-id sparekey-basic --client-credentials --client-secret-file "$SF" --store file
assert_rc 0 "login ccf --client-credentials --store file: exits 0"
SD=$XDG_STATE_HOME/sparekey
assert_eq "$(file_mode "$SD/ccf.client_secret")" 600 "the client secret is in a 0600 file $SD/ccf.client_secret"
if [ "$(cat "$SD/ccf.client_secret" 2>/dev/null)" = "$SECRET" ]; then ok "... holding the secret"
else not_ok "... holding the secret"; fi
assert_eq "$(keyring_item ccf client_secret)$(keyring_item ccf grant)" "" "nothing for ccf is in the keyring"
no_secret_in_config "the config file does not contain the secret"
check_token ccf sparekey-basic "ccf"

spk_done
