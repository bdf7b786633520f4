#!/bin/bash
# Token answers as other providers write them (issue 14, items 3-7), from
# the real test provider with its answer quirks (provider.mjs: the quirks
# file, switched between steps, so that one run and its grants serve all):
#  - no scope, token_type "bearer", expires_in "3600": the login stores the
#    requested scope; token --json has its five keys; token --header says
#    "Authorization: Bearer", and /me takes it;
#  - expires_in 3599.5 at a provider that rotates refresh tokens: refresh
#    stores the rotated token (the next refresh works), no warning;
#    expires_in "soon": stored all the same, one warning line;
#  - no expires_in (opaque access tokens): "expiry unknown" in status, null
#    in status --json and token --json, and the profile's assume_lifetime
#    decides when token refreshes;
#  - an id_token with the wrong aud or iss, or expired: login fails with
#    one line naming the claim, and the stored grant stays byte-identical
#    (a new profile gets nothing stored); in a refresh, it is ignored with
#    a warning and the rotated token is stored;
#  - badpeer's expires_in {"seconds": 3600} (an object): stored, one warning;
#  - no expires_in, but a JWT access token (a second provider with
#    SPK_JWT_ACCESS_TOKENS=1): the JWT's exp is the stored expiry.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

peers_start
badpeer_start

P=answers
SCOPE="openid offline_access"
login_args=(--issuer "$ISSUER" --client-id sparekey-native --scope "$SCOPE")

# rt_rotated WHAT OLD: the stored refresh token is a new one; sets RT
rt_rotated() {
    RT=$(grant_field "$P" refresh_token)
    assert_new "$RT" "$2" "$1: the rotated refresh token is stored"
}

# ---------------------------------------------------------------- items 3, 5, 7 at login

quirks SPK_TOKEN_QUIRKS=no-scope,lowercase-bearer,string-expires-in
spk_login "$P" "${login_args[@]}" || bail "login failed; nothing else can be checked"
want_scope=$(cfg_get "$P" scopes)
assert_eq "$(grant_field "$P" scope)" "$want_scope" "no scope in the answer: the requested scope is stored"
assert_contains " $want_scope " " offline_access " "the requested scope is the one asked for"
assert_eq "$(grant_field "$P" token_type)" "Bearer" "token_type bearer is stored as Bearer"
exp=$(grant_field "$P" expires_at)
if in_range "$((exp - $(now)))" 3500 3600; then ok "expires_in \"3600\" (a string) is read: expires in about an hour"
else not_ok "expires_in \"3600\" (a string) is read: expires in about an hour" "expires_at $exp, now $(now)"; fi

sk token "$P" --json
assert_rc 0 "token --json: exits 0"
J=$SK_OUT
keys=$(node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(0, "utf8"))).join(" "))' <<<"$J")
assert_eq "$keys" "access_token expires_at token_type scope tenant_id" "token --json has its five keys"
assert_eq "$(json_get scope <<<"$J")" "$want_scope" "token --json: scope is the requested one"
assert_eq "$(json_get token_type <<<"$J")" "Bearer" "token --json: token_type Bearer"
assert_eq "$(json_type expires_at <<<"$J")" "number" "token --json: expires_at is a number"

sk token "$P" --header
assert_rc 0 "token --header: exits 0"
assert_match "$(head -n 1 <<<"$SK_OUT")" '^Authorization: Bearer [^ ]+$' "token --header: Authorization: Bearer …"
if [[ $SK_OUT == "Authorization: Bearer "* ]]; then ok "token --header: Bearer spelt as RFC 6750 does"
else not_ok "token --header: Bearer spelt as RFC 6750 does"; fi
code=$(printf '%s\n' "$SK_OUT" | curl -sS -o /dev/null -w '%{http_code}' --max-time 15 -H @- "$ISSUER/me")
assert_eq "$code" 200 "the provider's /me takes the header token --header printed"

# ---------------------------------------------------------------- item 5 at refresh

quirks SPK_TOKEN_QUIRKS=fractional-expires-in
RT0=$(grant_field "$P" refresh_token)
mark=$(events_mark)
sk refresh "$P"
assert_rc 0 "expires_in 3599.5: refresh exits 0"
assert_not_contains "$SK_ERR" warning "expires_in 3599.5: understood, no warning"
rt_rotated "expires_in 3599.5" "$RT0"
exp=$(grant_field "$P" expires_at)
if in_range "$((exp - $(now)))" 3500 3599; then ok "expires_in 3599.5: rounded down to whole seconds"
else not_ok "expires_in 3599.5: rounded down to whole seconds" "expires_at $exp, now $(now)"; fi

quirks SPK_TOKEN_QUIRKS=unreadable-expires-in
RT1=$RT
sk refresh "$P"
assert_rc 0 "expires_in \"soon\": refresh exits 0 (the answer carries the new refresh token)"
assert_eq "$(grep -c warning "$SPK_TMP/sk.err")" 1 "expires_in \"soon\": one warning line"
assert_contains "$SK_ERR" "expires_in" "expires_in \"soon\": the warning names expires_in"
rt_rotated "expires_in \"soon\"" "$RT1"

quirks_off
RT2=$RT
sk refresh "$P"
assert_rc 0 "the next refresh, with the stored rotated token, works"
rt_rotated "the next refresh" "$RT2"
assert_eq "$(refresh_errors_since "$mark")" 0 "no refresh was refused: no spent token was sent"

# ---------------------------------------------------------------- item 4

quirks SPK_TOKEN_QUIRKS=no-expires-in
sk refresh "$P"
assert_rc 0 "no expires_in: refresh exits 0"
assert_eq "$(grant_lookup "$P" | json_type expires_at)" "null" "no expires_in: the stored expiry is null"
sk status "$P"
assert_contains "$SK_OUT" "expiry unknown" "status says expiry unknown"
assert_not_contains "$SK_OUT" "no expiry" "status never says no expiry"
sk status "$P" --json
S=$(node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(0, "utf8"))[0]))' <<<"$SK_OUT")
assert_eq "$(json_type access_token_expires_at <<<"$S")" "null" "status --json: access_token_expires_at is null"
assert_eq "$(json_type access_token_valid <<<"$S")" "null" "status --json: access_token_valid is null (unknown), not true"
sk token "$P" --json
assert_eq "$(json_type expires_at <<<"$SK_OUT")" "null" "token --json: expires_at is null, as in status --json"

# The token is about a second old: assume_lifetime against --min-valid.
cfg_set "$P" assume_lifetime 3600
mark=$(events_mark)
sk token "$P" --min-valid 3000
assert_rc 0 "assume_lifetime 3600, --min-valid 3000: exits 0"
assert_eq "$(refresh_grants_since "$mark")" 0 "assume_lifetime 3600, --min-valid 3000: no refresh"
sk token "$P" --min-valid 3700
assert_rc 0 "assume_lifetime 3600, --min-valid 3700: exits 0"
assert_eq "$(refresh_grants_since "$mark")" 1 "assume_lifetime 3600, --min-valid 3700: refreshed"
cfg_set "$P" assume_lifetime 7200
sk token "$P" --min-valid 3700
assert_eq "$(refresh_grants_since "$mark")" 1 "assume_lifetime 7200, --min-valid 3700: no refresh"
cfg_unset "$P" assume_lifetime
sk token "$P" --min-valid 3700
assert_eq "$(refresh_grants_since "$mark")" 2 "no assume_lifetime: the default hour decides"
quirks_off

# ---------------------------------------------------------------- item 6

# login_refused WHAT CLAIM CODE: the last login exited CODE, and its one
# failure line (after the progress lines) names the claim
login_refused() {
    assert_rc "$3" "$1: login exits $3"
    assert_eq "$(grep -c id_token "$SPK_TMP/sk.err")" 1 "$1: one line about the id_token"
    assert_contains "$(tail -n 1 "$SPK_TMP/sk.err")" "($2" "$1: the last line names $2"
    assert_stdout_empty "$1: nothing on stdout"
}

# id_token_refused QUIRK CLAIM CODE
id_token_refused() {
    local quirk=$1 claim=$2 code=$3 g0
    quirks "SPK_ID_TOKEN_QUIRK=$quirk"
    g0=$(grant_lookup "$P")
    browser_reset
    sk --timeout 90 login "$P" --timeout 60 "${login_args[@]}"
    browser_wait 30 || true
    login_refused "id_token $quirk" "$claim" "$code"
    if [ "$(grant_lookup "$P")" == "$g0" ]; then ok "id_token $quirk: the stored grant is byte-identical"
    else not_ok "id_token $quirk: the stored grant is byte-identical"; fi
}
id_token_refused wrong-aud aud 78
id_token_refused wrong-iss iss 78
id_token_refused expired exp 77

quirks SPK_ID_TOKEN_QUIRK=wrong-aud
browser_reset
sk --timeout 90 login fresh --timeout 60 "${login_args[@]}"
browser_wait 30 || true
login_refused "id_token wrong-aud, new profile" aud 78
assert_eq "$(grant_lookup fresh)" "" "id_token wrong-aud, new profile: nothing in the keyring"

# In a refresh the id_token is for display only: ignored, said, stored.
RT3=$(grant_field "$P" refresh_token)
account=$(grant_field "$P" account)
sk refresh "$P"
assert_rc 0 "id_token wrong-aud in a refresh: exits 0"
assert_contains "$SK_ERR" "warning" "id_token wrong-aud in a refresh: a warning"
assert_contains "$SK_ERR" "id_token" "id_token wrong-aud in a refresh: the warning names id_token"
rt_rotated "id_token wrong-aud in a refresh" "$RT3"
assert_eq "$(grant_field "$P" account)" "$account" "id_token wrong-aud in a refresh: the account stays"
quirks_off
RT4=$RT
sk refresh "$P"
assert_rc 0 "after it all, a plain refresh works"
rt_rotated "after it all, a plain refresh" "$RT4"

# ---------------------------------------------------------------- a stranger expires_in

# Last: the stored grant is badpeer's afterwards.
cfg_set "$P" token_endpoint "$BADPEER/expires_object"
sk refresh "$P"
assert_rc 0 "expires_in as an object: refresh exits 0"
assert_eq "$(grep -c warning "$SPK_TMP/sk.err")" 1 "expires_in as an object: one warning line"
assert_eq "$(grant_field "$P" refresh_token)" "typed-refresh" "expires_in as an object: its refresh token is stored"

# ---------------------------------------------------------------- no expires_in, a JWT access token
quirks_off
provider_run jwt SPK_JWT_ACCESS_TOKENS=1 SPK_TOKEN_QUIRKS=no-expires-in
JWT_ISSUER=$PROVIDER_ORIGIN
SF=$SPK_TMP/jwt-client-secret
(umask 077; printf %s "${SPK_CLIENT_SECRET:-sparekey-test-secret}" >"$SF")
sk login jw --issuer "$JWT_ISSUER" --client-id sparekey-basic --client-credentials \
    --client-secret-file "$SF" --scope accounting.invoices
assert_rc 0 "JWT access token, no expires_in: login --client-credentials exits 0"
G=$(grant_lookup jw)
JWT_EXP=$(json_get access_token <<<"$G" | node -e '
    const t = require("fs").readFileSync(0, "utf8").trim().split(".");
    if (t.length === 3) process.stdout.write(String(JSON.parse(Buffer.from(t[1], "base64url")).exp ?? ""));')
assert_ne "$JWT_EXP" "" "(the provider's access token is a JWT with an exp claim)"
[ -n "$JWT_EXP" ] && assert_eq "$(json_get expires_at <<<"$G")" "$JWT_EXP" "JWT access token, no expires_in: the stored expiry is the JWT's exp"
sk status jw
assert_not_contains "$SK_OUT" "expiry unknown" "JWT access token, no expires_in: status shows a known expiry"

spk_done
