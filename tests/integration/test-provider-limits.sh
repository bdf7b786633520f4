#!/bin/bash
# Providers that do less than the test provider usually does:
#   1. a client that gets no refresh token (a grant that cannot be
#      refreshed): refresh says so and when the grant ends, while its access
#      token is valid and after it expired (exit 77), leaving it intact;
#   2. a provider without a revocation endpoint (GitHub, Entra ID): logout
#      deletes the grant here, exits 0 and says in one line where to revoke
#      the app's access by hand; nothing is sent.
# Peers: provider.mjs with SPK_NO_REVOCATION=1, browser, gnome-keyring.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

TTL=8
export SPK_ACCESS_TTL=$TTL SPK_NO_REVOCATION=1
peers_start

# ---------------------------------------------------------------- 1. no refresh token
P=norefresh
browser_reset
sk --timeout 90 login "$P" --timeout 60 --issuer "$ISSUER" --client-id sparekey-norefresh --scope openid
assert_rc 0 "login $P (a client without the refresh_token grant): exits 0"
G0=$(grant_lookup "$P")
assert_ne "$G0" "" "login $P: a grant is stored"
assert_eq "$(json_get refresh_token <<<"$G0")" "" "login $P: ... without a refresh token"
M=$(events_mark)
sk refresh "$P"
assert_failure 77 "refresh $P while its access token is valid"
assert_contains "$SK_ERR" "cannot be refreshed" "refresh $P: the line says the grant cannot be refreshed"
assert_contains "$SK_ERR" "ends when its access token expires, at" "refresh $P: ... that it ends with its access token, and when"
assert_not_contains "$SK_ERR" "expired" "refresh $P: ... and does not claim the access token expired"
assert_contains "$SK_ERR" "sparekey login $P" "refresh $P: ... and names the login to run then"
assert_eq "$(refresh_grants_since "$M")" 0 "refresh $P: nothing was sent"
assert_eq "$(grant_lookup "$P")" "$G0" "refresh $P: the stored grant is intact"
sk token "$P"
assert_rc 0 "token $P: hands out the access token while it is valid"
sleep_until "$(($(json_get expires_at <<<"$G0") + 1))"
sk token "$P"
assert_failure 77 "token $P after its access token expired"
assert_contains "$SK_ERR" "expired at" "token $P (expired): the line says when the access token expired"
assert_contains "$SK_ERR" "cannot be refreshed" "token $P (expired): ... that the grant cannot be refreshed"
assert_contains "$SK_ERR" "sparekey login $P" "token $P (expired): ... and to log in"
assert_eq "$(grant_lookup "$P")" "$G0" "token $P (expired): the stored grant is intact"

# ---------------------------------------------------------------- 2. no revocation endpoint
P=norevoke
meta=$(curl -fsS --max-time 10 "$ISSUER/.well-known/openid-configuration")
assert_eq "$(json_get revocation_endpoint <<<"$meta")" "" "(the provider publishes no revocation endpoint)"
spk_login "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" || bail "login $P failed"
M=$(events_mark)
sk logout "$P"
assert_rc 0 "logout $P (provider without a revocation endpoint): exits 0"
assert_stderr_one_line "logout $P: one line on stderr"
assert_stdout_empty "logout $P: nothing on stdout"
assert_contains "$SK_ERR" "no revocation endpoint" "logout $P: the line says the provider has no revocation endpoint"
assert_contains "$SK_ERR" "at $ISSUER" "logout $P: ... and where to revoke the app's access (the issuer)"
assert_eq "$(grant_lookup "$P")" "" "logout $P: the grant is deleted here"
assert_eq "$(events_since "$M" | grep -c '/token/revocation')" 0 "logout $P: nothing was sent to the provider"

spk_done
