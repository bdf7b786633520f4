#!/bin/bash
# Xero first-class, against a Xero-shaped peer: the xero preset with its
# endpoints pointed (by hand-written endpoint overrides) at oidc-provider's
# sparekey-exact client (exact redirect URIs http://localhost:8749..8751,
# rotating refresh tokens) and at tests/peers/xero-connections.mjs (GET
# /connections in Xero's format, checking the bearer token). Checks the
# redirect-port list and its fallback, tenant choice (--tenant, first one
# without a terminal, on a terminal the person's pick), tenants
# [--refresh], token --header/--json, exec and logout (revoking, --keep-remote,
# unreachable revocation endpoint).
#
# Peers: provider.mjs, xero-connections.mjs, browser, gnome-keyring in a
# private D-Bus session (lib.sh, lib-xero.sh). Needs 127.0.0.1/[::1] ports
# 8749-8751 free.
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-xero.sh"
trap peers_stop EXIT

command -v script >/dev/null || spk_skip "script (util-linux) is not installed"
peers_start
wait_ports_free 60 8749 8750 8751 || spk_skip "ports 8749-8751 are in use on this machine (the Xero redirect ports must be free)"
xero_peer_start
URIS='http://localhost:8749/callback http://localhost:8750/callback http://localhost:8751/callback'

# line_no TEXT NEEDLE: number of the first line of TEXT holding NEEDLE (0: none)
line_no() { awk -v n="$2" 'index($0, n) { print NR; f = 1; exit } END { if (!f) print 0 }' <<<"$1"; }

# refresh_at_server RT: a refresh_token grant for sparekey-exact with curl
refresh_at_server() {
    token_post "grant_type=refresh_token&client_id=sparekey-exact&refresh_token=$(urlencode "$1")"
}

# no_grant_stored PROFILE WHAT: the keyring holds no item for PROFILE
no_grant_stored() {
    if [ -z "$(secret-tool lookup profile "$1" kind grant 2>/dev/null)" ] \
        && [ -z "$(secret-tool lookup profile "$1" kind client_secret 2>/dev/null)" ] \
        && ! secret-tool search --all profile "$1" 2>/dev/null | grep -q .; then
        ok "$2: the keyring holds no item for profile $1 (neither kind grant nor kind client_secret)"
    else
        not_ok "$2: the keyring holds no item for profile $1 (neither kind grant nor kind client_secret)" \
            "$(secret-tool search --all profile "$1" 2>&1 | grep -v '^secret = ')"
    fi
}

# ---------------------------------------------------------------- 0. the peer itself
S=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$XERO_PEER/connections")
assert_eq "$S" 401 "(harness) the connections peer answers 401 without a token"
(umask 077; printf 'Authorization: Bearer not-a-token\n' >"$SPK_TMP/bad.hdr")
S=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -H @"$SPK_TMP/bad.hdr" "$XERO_PEER/connections")
assert_eq "$S" 401 "(harness) the connections peer answers 401 for a token the provider does not know"

# ---------------------------------------------------------------- 1. login --tenant NAME
xero_profile xero
diag "config written by hand:"; diag_file "$SPK_CONFIG"
M=$(events_mark); X=$(xero_mark)
browser_reset
T0=$(now)
sk --timeout 90 login xero --tenant "$XERO_T2_NAME"
T1=$(now)
assert_rc 0 "login xero --tenant '$XERO_T2_NAME': exits 0" || bail "the first Xero login failed; nothing else can be checked"
assert_stdout_empty "login xero: nothing on stdout"
if browser_wait 30; then
    assert_match "$(browser_field url)" '^http://localhost:8749/callback\?' \
        "login xero: the browser came back to http://localhost:8749/callback (the first redirect port)"
    assert_eq "$(browser_field status)" 200 "login xero: the callback page answered HTTP 200"
else
    not_ok "login xero: the browser wrote its result"
fi
assert_eq "$(events_since "$M" | grep -F '"event":"authorization.success"' | json_get redirect_uri)" \
    http://localhost:8749/callback "login xero: the authorization request named redirect_uri http://localhost:8749/callback"
URIS_LINE=$(line_no "$SK_ERR" "$URIS")
OPEN_LINE=$(line_no "$SK_ERR" "$ISSUER/auth?")
if [ "$URIS_LINE" -gt 0 ]; then ok "login xero: stderr lists all three redirect URIs to register ($URIS)"
else not_ok "login xero: stderr lists all three redirect URIs to register ($URIS)"; fi
if [ "$URIS_LINE" -gt 0 ] && [ "$OPEN_LINE" -gt "$URIS_LINE" ]; then
    ok "login xero: the redirect URIs come before the authorize URL the browser is sent to"
else
    not_ok "login xero: the redirect URIs come before the authorize URL the browser is sent to" \
        "redirect URIs on line $URIS_LINE, authorize URL on line $OPEN_LINE"
fi
assert_contains "$SK_ERR" "$XERO_T2_NAME ($XERO_T2_ID)" "login xero: stderr names the organisation API calls act on"
G=$(grant_lookup xero)
assert_ne "$(secret-tool lookup profile xero kind grant 2>/dev/null)" "" "secret-tool lookup profile xero kind grant finds the grant"
assert_eq "$(json_js 'r.tenants.length' <<<"$G")" 2 "grant: tenants has both organisations"
assert_eq "$(json_js 'r.tenants.map((t) => t.id).join(" ")' <<<"$G")" "$XERO_T1_ID $XERO_T2_ID" \
    "grant: tenants holds both tenant ids, in the peer's order"
assert_eq "$(json_js 'r.tenants.map((t) => t.name).join("|")' <<<"$G")" "$XERO_T1_NAME|$XERO_T2_NAME" \
    "grant: tenants holds both tenant names"
assert_eq "$(json_get tenant_id <<<"$G")" "$XERO_T2_ID" "grant: tenant_id is the second tenant's id ($XERO_T2_NAME)"
TEN=$(cfg_get xero tenant)
if [ "$TEN" = "$XERO_T2_NAME" ] || [ "$TEN" = "$XERO_T2_ID" ]; then ok "config [xero] has tenant = the second tenant (name or id)"
else not_ok "config [xero] has tenant = the second tenant (name or id)" "got tenant = '$TEN'"; fi
assert_eq "$(cfg_get xero connections_endpoint)" "$XERO_PEER/connections" "config [xero] keeps the hand-written connections_endpoint"
assert_eq "$(cfg_get xero provider)" xero "config [xero] still says provider = xero"
assert_eq "$(xero_requests_since "$X" /connections)" 1 "login xero: the connections peer got one request"
assert_contains "$(tail -n 1 "$SPK_XERO_LOG")" '"sub":"alice","status":200' \
    "login xero: ... with alice's access token, which it accepted"
if [ "$(json_get refresh_token <<<"$G")" ]; then ok "grant: holds a refresh token"; else not_ok "grant: holds a refresh token"; fi
EXP=$(json_get expires_at <<<"$G")
if [ -n "$EXP" ] && in_range "$EXP" "$((T0 + 3600 - 5))" "$((T1 + 3600 + 5))"; then ok "grant: expires_at is an hour after the login"
else not_ok "grant: expires_at is an hour after the login" "expires_at=$EXP, login from $T0 to $T1"; fi
AT=$(json_get access_token <<<"$G")
RT=$(json_get refresh_token <<<"$G")

# ---------------------------------------------------------------- 2. tenants
X=$(xero_mark)
sk tenants xero
assert_rc 0 "tenants xero: exits 0"
assert_eq "$(nlines "$SPK_TMP/sk.out")" 2 "tenants xero: two lines, one per organisation"
L1=$(grep -F "$XERO_T1_ID" "$SPK_TMP/sk.out")
L2=$(grep -F "$XERO_T2_ID" "$SPK_TMP/sk.out")
assert_match "$L2" "^\\*.*ORGANISATION.*Demo Company \\(NZ\\)\$" "tenants xero: '*' at the chosen tenant's line (id, type, name)"
assert_match "$L1" "^ .*ORGANISATION.*Demo Company \\(AU\\)\$" "tenants xero: no '*' at the other tenant's line (id, type, name)"
assert_eq "$(grep -c '^\*' "$SPK_TMP/sk.out")" 1 "tenants xero: exactly one '*'"
assert_eq "$(xero_requests_since "$X")" 0 "tenants xero (no --refresh) answers from the stored grant, without asking the peer"

# A third organisation gets connected at the provider: --refresh sees it.
xero_peer_restart "[{\"tenantId\":\"$XERO_T1_ID\",\"tenantName\":\"$XERO_T1_NAME\"},{\"tenantId\":\"$XERO_T2_ID\",\"tenantName\":\"$XERO_T2_NAME\"},{\"tenantId\":\"0b5d9e2f-3c4a-4d6e-9f80-a1b2c3d4e5f6\",\"tenantName\":\"Florist Practice\",\"tenantType\":\"PRACTICE\"}]"
X=$(xero_mark)
sk tenants xero
assert_eq "$(nlines "$SPK_TMP/sk.out")" 2 "tenants xero after a third organisation was connected: still the two stored"
sk tenants xero --refresh
assert_rc 0 "tenants xero --refresh: exits 0"
assert_eq "$(xero_requests_since "$X" /connections)" 1 "tenants xero --refresh: the peer got a new /connections request"
assert_eq "$(nlines "$SPK_TMP/sk.out")" 3 "tenants xero --refresh: three lines now"
assert_match "$(grep -F 0b5d9e2f-3c4a-4d6e-9f80-a1b2c3d4e5f6 "$SPK_TMP/sk.out")" '^ .*PRACTICE.*Florist Practice$' \
    "tenants xero --refresh: lists the new organisation with its type"
assert_match "$(grep -F "$XERO_T2_ID" "$SPK_TMP/sk.out")" '^\*' "tenants xero --refresh: '*' still at the chosen tenant"
G=$(grant_lookup xero)
assert_eq "$(json_js 'r.tenants.length' <<<"$G")" 3 "tenants xero --refresh stored the new list in the grant"
assert_eq "$(json_get tenant_id <<<"$G")" "$XERO_T2_ID" "tenants xero --refresh kept tenant_id"
assert_eq "$(json_get refresh_token <<<"$G")" "$RT" "tenants xero --refresh left the refresh token alone"
X=$(xero_mark)
sk tenants xero
assert_eq "$(nlines "$SPK_TMP/sk.out")" 3 "tenants xero: the refreshed list (three) is what is stored"
assert_eq "$(xero_requests_since "$X")" 0 "tenants xero: ... read without asking the peer"
xero_peer_restart
sk tenants xero --refresh
assert_eq "$(nlines "$SPK_TMP/sk.out")" 2 "tenants xero --refresh after an organisation was disconnected: two again"

# The profile's organisation (tenant = Demo Company (NZ)) gets disconnected:
# API calls must not silently go to another organisation's books.
xero_peer_restart "[{\"tenantId\":\"$XERO_T1_ID\",\"tenantName\":\"$XERO_T1_NAME\"}]"
sk tenants xero --refresh
assert_contains "$SK_ERR" "$XERO_T2_NAME" \
    "tenants xero --refresh after the profile's organisation was disconnected: stderr says '$XERO_T2_NAME' is gone"
sk token xero --header
if grep -qF "$XERO_T1_ID" "$SPK_TMP/sk.out"; then
    not_ok "token xero --header with the profile's organisation disconnected: does not hand out another organisation ($XERO_T1_NAME)" \
        "profile: tenant = $(cfg_get xero tenant); exit $SK_RC; stdout line 2: $(sed -n 2p "$SPK_TMP/sk.out")"
else
    ok "token xero --header with the profile's organisation disconnected: does not hand out another organisation ($XERO_T1_NAME)"
fi
xero_peer_restart
sk tenants xero --refresh
assert_eq "$(grant_field xero tenant_id)" "$XERO_T2_ID" "tenants xero --refresh after '$XERO_T2_NAME' is connected again: it is the tenant again"

# ---------------------------------------------------------------- 3. token --header, --json
sk token xero --header
assert_rc 0 "token xero --header: exits 0"
assert_eq "$(nlines "$SPK_TMP/sk.out")" 2 "token xero --header: exactly two lines"
if [ "$(sed -n 1p "$SPK_TMP/sk.out")" = "Authorization: Bearer $AT" ]; then
    ok "token xero --header: line 1 is 'Authorization: Bearer <the stored access token>'"
else
    not_ok "token xero --header: line 1 is 'Authorization: Bearer <the stored access token>'" \
        "line 1 starts with: $(sed -n 1p "$SPK_TMP/sk.out" | cut -c1-22)"
fi
assert_eq "$(sed -n 2p "$SPK_TMP/sk.out")" "Xero-Tenant-Id: $XERO_T2_ID" "token xero --header: line 2 is 'Xero-Tenant-Id: <the chosen tenant>'"

X=$(xero_mark)
BODY=$("$SPAREKEY" token xero --header 2>"$SPK_TMP/pipe.err" \
    | curl -sS --max-time 10 -w '\n%{http_code}' -H @- "$XERO_PEER/api.xro/2.0/Organisation")
assert_eq "${BODY##*$'\n'}" 200 "sparekey token xero --header | curl -H @- <Xero-shaped API>: HTTP 200"
assert_contains "$BODY" "\"Name\":\"$XERO_T2_NAME\"" "... the API answered for the chosen organisation ($XERO_T2_NAME)"
assert_contains "$(tail -n 1 "$SPK_XERO_LOG")" "\"tenant\":\"$XERO_T2_ID\"" "... the API request carried Xero-Tenant-Id: <chosen tenant>"
BODY=$("$SPAREKEY" token xero --header 2>"$SPK_TMP/pipe.err" | curl -sS --max-time 10 -w '\n%{http_code}' -H @- "$ISSUER/me")
assert_eq "${BODY##*$'\n'}" 200 "sparekey token xero --header | curl -H @- \$ISSUER/me: HTTP 200"
assert_contains "$BODY" '"sub":"alice"' "... /me says sub is alice"

sk token xero --json
assert_rc 0 "token xero --json: exits 0"
J=$SK_OUT
assert_eq "$(json_js 'typeof r === "object" && !Array.isArray(r)' <<<"$J")" true "token xero --json: prints a JSON object"
assert_eq "$(json_get access_token <<<"$J")" "$AT" "token xero --json: access_token is the stored one"
assert_eq "$(json_get expires_at <<<"$J")" "$EXP" "token xero --json: expires_at is the stored expiry"
assert_eq "$(json_type expires_at <<<"$J")" number "token xero --json: expires_at is a number"
assert_match "$(json_get token_type <<<"$J")" '^bearer$' "token xero --json: token_type is Bearer"
assert_contains " $(json_get scope <<<"$J") " " openid " "token xero --json: scope is there (includes openid)"
assert_eq "$(json_get tenant_id <<<"$J")" "$XERO_T2_ID" "token xero --json: tenant_id is the chosen tenant"
assert_eq "$(json_type refresh_token <<<"$J")" undefined "token xero --json: has no refresh_token field"
if [[ $J != *"$RT"* ]]; then ok "token xero --json: the refresh token's value appears nowhere in the output"
else not_ok "token xero --json: the refresh token's value appears nowhere in the output"; fi
sk token xero
assert_eq "$SK_OUT" "$AT" "token xero (no option) still prints the bare access token"

# ---------------------------------------------------------------- 4. exec
rm -f "$SPK_TMP/exec.env"
# shellcheck disable=SC2016
sk exec xero -- sh -c 'env >"$SPK_TMP/exec.env"'
assert_rc 0 "exec xero -- sh -c 'env >FILE': exits 0"
ENVT=$(cat "$SPK_TMP/exec.env" 2>/dev/null)
assert_eq "$(sed -n 's/^SPAREKEY_ACCESS_TOKEN=//p' "$SPK_TMP/exec.env" | sha256sum | cut -d' ' -f1)" "$(printf '%s\n' "$AT" | sha256sum | cut -d' ' -f1)" \
    "exec xero: SPAREKEY_ACCESS_TOKEN is the stored access token"
assert_eq "$(sed -n 's/^XERO_TENANT_ID=//p' "$SPK_TMP/exec.env")" "$XERO_T2_ID" "exec xero: XERO_TENANT_ID is the chosen tenant"
assert_eq "$(sed -n 's/^SPAREKEY_TENANT_ID=//p' "$SPK_TMP/exec.env")" "$XERO_T2_ID" "exec xero: SPAREKEY_TENANT_ID is the chosen tenant"
if [ -n "$ENVT" ] && [[ $ENVT != *"$RT"* ]]; then ok "exec xero: the refresh token's value appears nowhere in the environment"
else not_ok "exec xero: the refresh token's value appears nowhere in the environment" \
    "$(if [ -z "$ENVT" ]; then echo 'no environment was written'
       else echo "in: $(grep -F -f <(printf '%s\n' "$RT") "$SPK_TMP/exec.env" | cut -d= -f1)"; fi)"; fi
assert_eq "$(sed -n 's/^HOME=//p' "$SPK_TMP/exec.env")" "$HOME" "exec xero: the rest of the environment is passed on (HOME)"

# shellcheck disable=SC2016
sk exec xero -- sh -c 'curl -sS --max-time 10 -H "Authorization: Bearer $SPAREKEY_ACCESS_TOKEN" -H "Xero-Tenant-Id: $XERO_TENANT_ID" "$1"' sh "$XERO_PEER/api.xro/2.0/Organisation"
assert_rc 0 "exec xero -- sh -c 'curl … \$SPAREKEY_ACCESS_TOKEN … \$XERO_TENANT_ID …': exits 0"
assert_contains "$SK_OUT" "\"Name\":\"$XERO_T2_NAME\"" "exec xero: the command's API call with the exported token and tenant works"

sk exec xero -- sh -c 'exit 3'
assert_rc 3 "exec xero -- sh -c 'exit 3': exit status 3 propagates"
sk exec xero -- spk-no-such-command-here
assert_rc 127 "exec xero -- <missing command>: exits 127"
assert_stderr_one_line "exec xero -- <missing command>: one line on stderr"
assert_contains "$SK_ERR" spk-no-such-command-here "exec xero -- <missing command>: stderr names the command"
printf '#!/bin/sh\necho hi\n' >"$SPK_TMP/not-executable"; chmod 644 "$SPK_TMP/not-executable"
sk exec xero -- "$SPK_TMP/not-executable"
assert_rc 126 "exec xero -- <a file that is not executable>: exits 126"

cfg_set xero exec_token_env MY_TOKEN
cfg_set xero exec_tenant_env MY_ORG
rm -f "$SPK_TMP/exec.env"
# shellcheck disable=SC2016
sk exec xero -- sh -c 'env >"$SPK_TMP/exec.env"'
assert_rc 0 "exec xero with exec_token_env = MY_TOKEN, exec_tenant_env = MY_ORG: exits 0"
assert_eq "$(sed -n 's/^MY_TOKEN=//p' "$SPK_TMP/exec.env" | sha256sum | cut -d' ' -f1)" "$(printf '%s\n' "$AT" | sha256sum | cut -d' ' -f1)" \
    "exec_token_env = MY_TOKEN: MY_TOKEN holds the access token"
assert_eq "$(grep -c '^SPAREKEY_ACCESS_TOKEN=' "$SPK_TMP/exec.env")" 0 "exec_token_env = MY_TOKEN: SPAREKEY_ACCESS_TOKEN is not set"
assert_eq "$(sed -n 's/^MY_ORG=//p' "$SPK_TMP/exec.env")" "$XERO_T2_ID" "exec_tenant_env = MY_ORG: MY_ORG holds the tenant id"
assert_eq "$(grep -c '^XERO_TENANT_ID=' "$SPK_TMP/exec.env")" 0 "exec_tenant_env = MY_ORG: XERO_TENANT_ID is not set"
cfg_unset xero exec_token_env
cfg_unset xero exec_tenant_env

# The documented order: exec PROFILE [--min-valid SECS] -- COMMAND.
sk exec xero --min-valid 30 -- sh -c 'echo command-ran'
assert_rc 0 "exec xero --min-valid 30 -- sh -c 'echo command-ran' (options after PROFILE, as the usage says): exits 0"
assert_eq "$SK_OUT" command-ran "exec xero --min-valid 30 -- COMMAND: runs COMMAND (not '--min-valid')"

# exec refreshes first when the token would not last (min_valid beyond the
# one-hour lifetime): the command gets the new token, the tenant survives.
cfg_set xero min_valid 86400
M=$(events_mark)
rm -f "$SPK_TMP/exec.env"
# shellcheck disable=SC2016
sk exec xero -- sh -c 'env >"$SPK_TMP/exec.env"'
assert_rc 0 "exec xero with min_valid = 86400 in the profile: exits 0"
cfg_unset xero min_valid
G=$(grant_lookup xero)
AT2=$(json_get access_token <<<"$G")
RT2=$(json_get refresh_token <<<"$G")
assert_eq "$(refresh_ok_since "$M")" 1 "exec xero, min_valid 86400: one refresh at the provider"
assert_new "$RT2" "$RT" "exec xero, min_valid 86400: the rotated refresh token was stored"
assert_eq "$(sed -n 's/^SPAREKEY_ACCESS_TOKEN=//p' "$SPK_TMP/exec.env" 2>/dev/null | sha256sum | cut -d' ' -f1)" "$(printf '%s\n' "$AT2" | sha256sum | cut -d' ' -f1)" \
    "exec xero, min_valid 86400: the command got the new access token"
ENVT=$(cat "$SPK_TMP/exec.env" 2>/dev/null)
if [ -n "$ENVT" ] && [[ $ENVT != *"$RT2"* && $ENVT != *"$RT"* ]]; then ok "exec xero, min_valid 86400: neither the old nor the new refresh token is in the environment"
else not_ok "exec xero, min_valid 86400: neither the old nor the new refresh token is in the environment" \
    "$([ -z "$ENVT" ] && echo 'no environment was written')"; fi
assert_eq "$(json_get tenant_id <<<"$G")" "$XERO_T2_ID" "after the refresh the grant still has tenant_id"
assert_eq "$(json_js 'r.tenants.length' <<<"$G")" 2 "after the refresh the grant still lists both tenants"
assert_eq "$(sed -n 's/^XERO_TENANT_ID=//p' "$SPK_TMP/exec.env" 2>/dev/null)" "$XERO_T2_ID" "exec xero, min_valid 86400: XERO_TENANT_ID is set"
AT=$AT2; RT=$RT2

# ---------------------------------------------------------------- 5. logout (revokes)
M=$(events_mark)
sk logout xero
assert_rc 0 "logout xero: exits 0"
assert_match "$SK_ERR" 'revoked' "logout xero: stderr says the grant was revoked"
no_grant_stored xero "logout xero"
refresh_at_server "$RT"
assert_eq "$TP_STATUS" 400 "logout xero: the server now refuses the old refresh token (HTTP 400)"
assert_eq "$(json_get error <<<"$TP_BODY")" invalid_grant "logout xero: ... with invalid_grant"
assert_eq "$(cfg_get xero client_id)" sparekey-exact "logout xero: the profile's settings stay in the config"
sk token xero
assert_failure 77 "token xero after logout"
assert_contains "$SK_ERR" "sparekey login xero" "token xero after logout: stderr says to run sparekey login xero"
sk logout xero
assert_rc 0 "logout xero again (nothing stored): exits 0"

# ---------------------------------------------------------------- 6. logout --keep-remote
spk_login xero || bail "login xero (for --keep-remote) failed"
RT=$(grant_field xero refresh_token)
assert_eq "$(grant_field xero tenant_id)" "$XERO_T2_ID" "login xero again: the profile's tenant is chosen without --tenant"
sk logout xero --keep-remote
assert_rc 0 "logout xero --keep-remote: exits 0"
no_grant_stored xero "logout xero --keep-remote"
refresh_at_server "$RT"
assert_eq "$TP_STATUS" 200 "logout xero --keep-remote: the refresh token still works at the server (HTTP 200)"
assert_ne "$(json_get refresh_token <<<"$TP_BODY")" "" "logout xero --keep-remote: ... and rotates as usual"

# ---------------------------------------------------------------- 7. logout, revocation endpoint unreachable
spk_login xero --tenant "$XERO_T1_ID" || bail "login xero --tenant ID (for the unreachable revocation) failed"
assert_eq "$(grant_field xero tenant_id)" "$XERO_T1_ID" "login xero --tenant <first tenant's id>: grant tenant_id is that id"
sk token xero --header
assert_eq "$(sed -n 2p "$SPK_TMP/sk.out")" "Xero-Tenant-Id: $XERO_T1_ID" "login xero --tenant <id>: token --header names that tenant"
RT=$(grant_field xero refresh_token)
cfg_set xero revocation_endpoint http://127.0.0.1:1/revoke
sk logout xero
assert_failure 69 "logout xero with revocation_endpoint = http://127.0.0.1:1/revoke"
assert_match "$SK_ERR" 'deleted' "logout with revocation unreachable: stderr says the grant was deleted here"
assert_match "$SK_ERR" 'revok' "logout with revocation unreachable: ... and that revoking it failed"
no_grant_stored xero "logout with revocation unreachable"
refresh_at_server "$RT"
assert_eq "$TP_STATUS" 200 "logout with revocation unreachable: (as stderr says) the grant still lives at the server"
cfg_set xero revocation_endpoint "$(json_get revocation_endpoint <<<"$(curl -fsS "$ISSUER/.well-known/openid-configuration")")"

# ---------------------------------------------------------------- 8. no --tenant, no terminal
xero_profile xauto
M=$(events_mark)
spk_login xauto
assert_contains "$SK_ERR" "using the first, $XERO_T1_NAME" "login xauto (stdin, stderr not terminals): stderr says the first tenant is used"
assert_eq "$(grant_field xauto tenant_id)" "$XERO_T1_ID" "login xauto: grant tenant_id is the first tenant's id"
sk tenants xauto
assert_match "$(grep -F "$XERO_T1_ID" "$SPK_TMP/sk.out")" '^\*' "tenants xauto: '*' at the first tenant"
sk token xauto --header
assert_eq "$(sed -n 2p "$SPK_TMP/sk.out")" "Xero-Tenant-Id: $XERO_T1_ID" "token xauto --header: Xero-Tenant-Id is the first tenant"

# stderr a terminal, stdin not: still no question, the first tenant.
xero_profile xpty
browser_reset
# shellcheck disable=SC2016
timeout 90 script -qefc '"$SPAREKEY" login xpty --timeout 60 </dev/null' /dev/null >"$SPK_TMP/pty.out" 2>&1 </dev/null
RC=$?
tr -d '\r' <"$SPK_TMP/pty.out" >"$SPK_TMP/pty.txt"
diag "\$ script -c 'sparekey login xpty </dev/null'  -> exit $RC"; diag_file "$SPK_TMP/pty.txt" 'tty: '
assert_eq "$RC" 0 "login xpty, stdin /dev/null, stderr a terminal: exits 0"
assert_contains "$(cat "$SPK_TMP/pty.txt")" "using the first, $XERO_T1_NAME" "login xpty (stdin not a terminal): stderr says the first tenant is used"
assert_eq "$(grant_field xpty tenant_id)" "$XERO_T1_ID" "login xpty: grant tenant_id is the first tenant's id"

# On a terminal, the person is asked and picks the second.
xero_profile xpick
browser_reset
# shellcheck disable=SC2016
printf '2\n' | timeout 90 script -qefc '"$SPAREKEY" login xpick --timeout 60' /dev/null >"$SPK_TMP/pty.out" 2>&1
RC=$?
tr -d '\r' <"$SPK_TMP/pty.out" >"$SPK_TMP/pty.txt"
diag "\$ printf '2\\n' | script -c 'sparekey login xpick'  -> exit $RC"; diag_file "$SPK_TMP/pty.txt" 'tty: '
assert_eq "$RC" 0 "login xpick on a terminal, answering 2: exits 0"
PT=$(cat "$SPK_TMP/pty.txt")
assert_contains "$PT" "1) $XERO_T1_NAME ($XERO_T1_ID)" "login xpick on a terminal: lists tenant 1 with its id"
assert_contains "$PT" "2) $XERO_T2_NAME ($XERO_T2_ID)" "login xpick on a terminal: lists tenant 2 with its id"
assert_eq "$(grant_field xpick tenant_id)" "$XERO_T2_ID" "login xpick on a terminal, answering 2: grant tenant_id is the second tenant's"

# A --tenant no organisation is called: nothing stored.
xero_profile xbad
browser_reset
sk --timeout 90 login xbad --tenant 'No Such Company' --timeout 60
assert_rc 78 "login xbad --tenant 'No Such Company': exits 78 (configuration)"
assert_contains "$SK_ERR" "No Such Company" "login xbad --tenant 'No Such Company': stderr names the tenant"
no_grant_stored xbad "login xbad --tenant 'No Such Company'"

# ---------------------------------------------------------------- 9. redirect port fallback
hold_port 8749 127.0.0.1 || bail "(harness) cannot hold 127.0.0.1:8749"
H1=$HOLD_PID
M=$(events_mark)
spk_login xero
assert_match "$(browser_field url)" '^http://localhost:8750/callback\?' "login xero with 127.0.0.1:8749 taken: the browser came back on port 8750"
assert_contains "$SK_ERR" "redirect URI http://localhost:8750/callback" "login xero with 8749 taken: stderr names the redirect URI on 8750"
assert_eq "$(events_since "$M" | grep -F '"event":"authorization.success"' | json_get redirect_uri)" \
    http://localhost:8750/callback "login xero with 8749 taken: the authorization request named port 8750"
me "$(grant_field xero access_token)"
assert_eq "$ME_STATUS" 200 "login xero on port 8750: the stored access token works"
hold_port 8750 ::1 || bail "(harness) cannot hold [::1]:8750"
H2=$HOLD_PID
spk_login xero
assert_match "$(browser_field url)" '^http://localhost:8751/callback\?' \
    "login xero with 127.0.0.1:8749 and [::1]:8750 taken: the browser came back on port 8751"
hold_port 8751 127.0.0.1 || bail "(harness) cannot hold 127.0.0.1:8751"
H3=$HOLD_PID
G=$(grant_lookup xero)
browser_reset
sk --timeout 30 login xero --timeout 20
assert_failure 75 "login xero with all three redirect ports taken"
assert_contains "$SK_ERR" "8749 8750 8751" "login xero with all three ports taken: stderr names the ports"
assert_eq "$(grant_lookup xero)" "$G" "login xero with all three ports taken: the stored grant is unchanged"
if [ -e "$SPK_BROWSER_RESULT" ]; then not_ok "login xero with all three ports taken: no browser was opened"
else ok "login xero with all three ports taken: no browser was opened"; fi
stop_pid "$H1"; stop_pid "$H2"; stop_pid "$H3"

spk_done
