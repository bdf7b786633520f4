#!/bin/bash
# Presets and client authentication: the oidc preset's discovery (endpoints
# kept with the grant, so refresh and logout need no discovery round trip),
# confidential clients with client_auth basic and post (browser logins
# against oidc-provider), and the authorize URLs the google, microsoft,
# github and xero presets send a person to -- printed only: those logins
# time out after 1 s, and a trap proxy checks that nothing tried to leave
# the machine.
#
# Peers: provider.mjs, browser, gnome-keyring in a private D-Bus session
# (lib.sh). Needs 127.0.0.1/[::1] port 8749 free (the xero preset's first).
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-xero.sh"
trap peers_stop EXIT

peers_start
SECRET=sparekey-test-secret

# discoveries: GET /.well-known/openid-configuration requests in the provider's access log
discoveries() { grep -c 'GET /.well-known/openid-configuration ' "$SPK_TMP/provider.log"; }

# token_post_client ID FORM: like token_post, authenticating as confidential
# client ID with HTTP Basic (credentials from a 0600 curl config file).
token_post_basic() {
    (umask 077; printf 'user = "%s:%s"\n' "$1" "$SECRET" >"$SPK_TMP/curl.cfg"; printf %s "$2" >"$SPK_TMP/token.form")
    TP_STATUS=$(curl -sS -K "$SPK_TMP/curl.cfg" -o "$SPK_TMP/token.body" -w '%{http_code}' --max-time 15 \
        -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$SPK_TMP/token.form" "$ISSUER/token")
    TP_BODY=$(cat "$SPK_TMP/token.body" 2>/dev/null)
    rm -f "$SPK_TMP/curl.cfg" "$SPK_TMP/token.form"
}

# auth_since MARK PATH: the client authentication methods (basic, post,
# none) of the requests to PATH since MARK, distinct, space separated
auth_since() {
    events_since "$1" | node -e 'const seen = new Set();
        for (const l of require("fs").readFileSync(0, "utf8").split("\n")) {
            let e; try { e = JSON.parse(l); } catch { continue; }
            if (e.event === "endpoint.auth" && e.path === process.argv[1]) seen.add(e.auth);
        }
        process.stdout.write([...seen].join(" "));' "$2"
}

# url_param URL NAME: the decoded query parameter ("" when absent)
url_param() {
    node -e 'const u = new URL(process.argv[1]); process.stdout.write(u.searchParams.get(process.argv[2]) ?? "")' "$1" "$2"
}

# no_items PROFILE WHAT: the keyring holds nothing for PROFILE
no_items() {
    if ! secret-tool search --all profile "$1" 2>/dev/null | grep -q .; then
        ok "$2: the keyring holds no item for profile $1 (grant and client secret gone)"
    else
        not_ok "$2: the keyring holds no item for profile $1 (grant and client secret gone)" \
            "$(secret-tool search --all profile "$1" 2>&1 | grep -E '^attribute\.')"
    fi
}

# ---------------------------------------------------------------- 1. oidc: discovery once, endpoints kept
D0=$(discoveries)
spk_login od --issuer "$ISSUER" --client-id sparekey-native || bail "login od --issuer failed"
D1=$(discoveries)
if [ "$D1" -gt "$D0" ]; then ok "login od --issuer: sparekey read the discovery document"
else not_ok "login od --issuer: sparekey read the discovery document" "discovery requests before $D0, after $D1"; fi
G=$(grant_lookup od)
assert_eq "$(json_js 'r.endpoints && r.endpoints.token' <<<"$G")" "$ISSUER/token" "grant od: carries the discovered token endpoint"
assert_eq "$(json_js 'r.endpoints && r.endpoints.revocation' <<<"$G")" "$ISSUER/token/revocation" "grant od: carries the discovered revocation endpoint"
assert_eq "$(cfg_get od token_endpoint)" "" "config [od]: the discovered endpoints are not written as overrides"
RT=$(json_get refresh_token <<<"$G")
M=$(events_mark)
sk refresh od
assert_rc 0 "refresh od: exits 0"
assert_eq "$(refresh_ok_since "$M")" 1 "refresh od: one refresh at the provider"
assert_new "$(grant_field od refresh_token)" "$RT" "refresh od: the rotated refresh token was stored"
assert_eq "$(discoveries)" "$D1" "refresh od: no new request for /.well-known/openid-configuration"
assert_eq "$(grant_field od endpoints)" "$(json_get endpoints <<<"$G")" "refresh od: the stored endpoints are kept"

sk token od --header
assert_rc 0 "token od --header: exits 0"
assert_eq "$(nlines "$SPK_TMP/sk.out")" 1 "token od --header (oidc): one line, no Xero-Tenant-Id"
if [ "$SK_OUT" = "Authorization: Bearer $(grant_field od access_token)" ]; then ok "token od --header: 'Authorization: Bearer <stored token>'"
else not_ok "token od --header: 'Authorization: Bearer <stored token>'" "starts with: ${SK_OUT:0:22}"; fi
rm -f "$SPK_TMP/exec.env"
# shellcheck disable=SC2016
sk exec od -- sh -c 'env >"$SPK_TMP/exec.env"'
assert_rc 0 "exec od: exits 0"
assert_eq "$(grep -cE '^(SPAREKEY_ACCESS_TOKEN)=.' "$SPK_TMP/exec.env")" 1 "exec od: SPAREKEY_ACCESS_TOKEN is set"
assert_eq "$(grep -cE '^(XERO_TENANT_ID|SPAREKEY_TENANT_ID)=' "$SPK_TMP/exec.env")" 0 "exec od (no tenants): no tenant variables"
sk tenants od --refresh
assert_failure 78 "tenants od --refresh (oidc: no connections endpoint)"

RT=$(grant_field od refresh_token)
sk logout od
assert_rc 0 "logout od: exits 0"
assert_eq "$(discoveries)" "$D1" "logout od: revoked at the stored endpoint, without discovery"
no_items od "logout od"
token_post "grant_type=refresh_token&client_id=sparekey-native&refresh_token=$(urlencode "$RT")"
assert_eq "$TP_STATUS $(json_get error <<<"$TP_BODY")" "400 invalid_grant" "logout od: the server refuses the old refresh token (400 invalid_grant)"

# ---------------------------------------------------------------- 2. client_auth = basic
(umask 077; printf '%s\n' "$SECRET" >"$SPK_TMP/secret")
M=$(events_mark)
spk_login cb --issuer "$ISSUER" --client-id sparekey-basic --client-secret-file "$SPK_TMP/secret" --client-auth basic \
    || bail "login cb (client_secret_basic) failed"
assert_eq "$(events_since "$M" | grep -F '"grant_type":"authorization_code"' | json_get client_id)" sparekey-basic \
    "login cb: the code was exchanged by client sparekey-basic"
assert_eq "$(auth_since "$M" /token)" basic "login cb: the code exchange authenticated with HTTP Basic (client_secret_basic)"
assert_eq "$(cfg_get cb client_auth)" basic "config [cb]: client_auth = basic"
assert_eq "$(secret-tool lookup profile cb kind client_secret 2>/dev/null)" "$SECRET" "keyring: the client secret is stored as kind client_secret"
if grep -qF "$SECRET" "$SPK_CONFIG"; then not_ok "config: holds no client secret"; else ok "config: holds no client secret"; fi
sk token cb
assert_rc 0 "token cb: exits 0"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "token cb: the provider accepts the token (GET /me)"
RT=$(grant_field cb refresh_token)
M=$(events_mark)
sk refresh cb
assert_rc 0 "refresh cb (basic): exits 0"
assert_eq "$(refresh_ok_since "$M")" 1 "refresh cb (basic): one successful refresh at the provider"
assert_eq "$(auth_since "$M" /token)" basic "refresh cb: authenticated with HTTP Basic"
assert_new "$(grant_field cb refresh_token)" "$RT" "refresh cb (basic): the rotated refresh token was stored"
me "$(grant_field cb access_token)"
assert_eq "$ME_STATUS" 200 "refresh cb (basic): the new access token works"
# The profile's client_auth decides: switched to post, the secret goes in the
# body (oidc-provider 8 takes either from a client_secret_basic client).
cfg_set cb client_auth post
M=$(events_mark)
sk refresh cb
assert_rc 0 "refresh cb with client_auth switched to post: exits 0"
assert_eq "$(auth_since "$M" /token)" post "refresh cb with client_auth = post: the secret went in the body (client_secret_post)"
cfg_set cb client_auth basic
M=$(events_mark)
sk refresh cb
assert_rc 0 "refresh cb with client_auth back to basic: exits 0"
assert_eq "$(auth_since "$M" /token)" basic "refresh cb with client_auth = basic: HTTP Basic again"
RT=$(grant_field cb refresh_token)
M=$(events_mark)
sk logout cb
assert_rc 0 "logout cb: exits 0"
assert_eq "$(auth_since "$M" /token/revocation)" basic "logout cb: the revocation request authenticated with HTTP Basic"
no_items cb "logout cb"
token_post_basic sparekey-basic "grant_type=refresh_token&refresh_token=$(urlencode "$RT")"
assert_eq "$TP_STATUS $(json_get error <<<"$TP_BODY")" "400 invalid_grant" "logout cb: the server refuses the old refresh token (400 invalid_grant)"

# ---------------------------------------------------------------- 3. client_auth = post
M=$(events_mark)
spk_login cp --issuer "$ISSUER" --client-id sparekey-post --client-secret-file "$SPK_TMP/secret" --client-auth post \
    || bail "login cp (client_secret_post) failed"
assert_eq "$(events_since "$M" | grep -F '"grant_type":"authorization_code"' | json_get client_id)" sparekey-post \
    "login cp: the code was exchanged by client sparekey-post"
assert_eq "$(auth_since "$M" /token)" post "login cp: the code exchange sent the secret in the body (client_secret_post)"
assert_eq "$(cfg_get cp client_auth)" post "config [cp]: client_auth = post"
sk token cp
assert_rc 0 "token cp: exits 0"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "token cp: the provider accepts the token (GET /me)"
RT=$(grant_field cp refresh_token)
M=$(events_mark)
sk refresh cp
assert_rc 0 "refresh cp (post): exits 0"
assert_eq "$(refresh_ok_since "$M")" 1 "refresh cp (post): one successful refresh at the provider"
assert_eq "$(auth_since "$M" /token)" post "refresh cp: the secret went in the body"
assert_new "$(grant_field cp refresh_token)" "$RT" "refresh cp (post): the rotated refresh token was stored"
RT=$(grant_field cp refresh_token)
M=$(events_mark)
sk logout cp
assert_rc 0 "logout cp: exits 0"
assert_eq "$(auth_since "$M" /token/revocation)" post "logout cp: the revocation request sent the secret in the body"
no_items cp "logout cp"
token_post "grant_type=refresh_token&client_id=sparekey-post&client_secret=$SECRET&refresh_token=$(urlencode "$RT")"
assert_eq "$TP_STATUS $(json_get error <<<"$TP_BODY")" "400 invalid_grant" "logout cp: the server refuses the old refresh token (400 invalid_grant)"

# ---------------------------------------------------------------- 4. presets' authorize URLs (printed only)
# Anything that tries to leave the machine goes to this trap proxy instead.
TRAP_LOG=$SPK_TMP/trap.log
: >"$TRAP_LOG"
node -e 'const [log, pf] = process.argv.slice(1); const fs = require("fs");
         const s = require("net").createServer((c) => {
             c.once("data", (d) => { fs.appendFileSync(log, d.toString("latin1").split("\r\n")[0] + "\n"); c.destroy(); });
             c.on("error", () => {}); c.setTimeout(2000, () => { fs.appendFileSync(log, "(a connection that sent nothing)\n"); c.destroy(); }); });
         s.listen(0, "127.0.0.1", () => fs.writeFileSync(pf, String(s.address().port)));
         process.on("SIGTERM", () => process.exit(0));' "$TRAP_LOG" "$SPK_TMP/trap.port" &
SPK_PIDS+=($!)
wait_for_file "$SPK_TMP/trap.port" 10 $! || bail "(harness) the trap proxy did not start"
TRAP=http://127.0.0.1:$(cat "$SPK_TMP/trap.port")
export http_proxy=$TRAP https_proxy=$TRAP HTTP_PROXY=$TRAP HTTPS_PROXY=$TRAP ALL_PROXY=$TRAP all_proxy=$TRAP
# The trap catches what libcurl would send out (it never resolves the name).
curl -sS --max-time 5 -o /dev/null https://accounts.google.com/ 2>/dev/null
for i in $(seq 20); do [ -s "$TRAP_LOG" ] && break; sleep 0.1; done
assert_contains "$(cat "$TRAP_LOG")" "CONNECT accounts.google.com:443" "(harness) the trap proxy sees an https request to the internet"
: >"$TRAP_LOG"
SAVED_BROWSER=$BROWSER
unset BROWSER

# preset_login WHAT ARGS...: a login that must print the URL and time out
preset_login() {
    local what=$1; shift
    sk --timeout 30 login "$@" --no-browser --timeout 1
    assert_rc 75 "$what: exits 75 after the 1 s timeout"
    assert_match "$(tail -n 1 "$SPK_TMP/sk.err")" 'no answer|time' "$what: the last stderr line says no answer came in time"
    URL=$(grep -E '^https://' "$SPK_TMP/sk.err" | head -n 1)
}

preset_login "login g --provider google" g --provider google --client-id y
assert_match "$URL" '^https://accounts\.google\.com/o/oauth2/v2/auth\?' "google: the URL is https://accounts.google.com/o/oauth2/v2/auth?…"
assert_eq "$(url_param "$URL" access_type)" offline "google: access_type=offline"
assert_eq "$(url_param "$URL" prompt)" consent "google: prompt=consent"
assert_eq "$(url_param "$URL" code_challenge_method)" S256 "google: code_challenge_method=S256"
assert_eq "$(url_param "$URL" client_id)" y "google: client_id=y"
assert_eq "$(url_param "$URL" response_type)" code "google: response_type=code"
assert_match "$(url_param "$URL" redirect_uri)" '^http://127\.0\.0\.1:[0-9]+/callback$' "google: redirect_uri http://127.0.0.1:PORT/callback"
assert_eq "$(url_param "$URL" scope)" "openid email" "google: scope 'openid email'"
assert_exit 1 "google: nothing was stored" secret-tool lookup profile g

cfg_set ms provider microsoft
cfg_set ms client_id y
cfg_set ms tenant contoso
preset_login "login ms (provider microsoft, tenant = contoso)" ms
assert_match "$URL" '^https://login\.microsoftonline\.com/contoso/oauth2/v2\.0/authorize\?' \
    "microsoft, tenant = contoso: the URL is https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize?…"
assert_match "$(url_param "$URL" redirect_uri)" '^http://localhost:[0-9]+/callback$' "microsoft: redirect_uri http://localhost:PORT/callback"
assert_eq "$(url_param "$URL" code_challenge_method)" S256 "microsoft: code_challenge_method=S256"
assert_contains " $(url_param "$URL" scope) " " offline_access " "microsoft: scope has offline_access"
preset_login "login ms2 --provider microsoft (no tenant)" ms2 --provider microsoft --client-id y
assert_match "$URL" '^https://login\.microsoftonline\.com/common/oauth2/v2\.0/authorize\?' \
    "microsoft without a tenant: the URL names the tenant common"

preset_login "login gh --provider github" gh --provider github --client-id y
assert_match "$URL" '^https://github\.com/login/oauth/authorize\?' "github: the URL is https://github.com/login/oauth/authorize?…"
assert_eq "$(url_param "$URL" code_challenge_method)" S256 "github: code_challenge_method=S256"
assert_eq "$(url_param "$URL" client_id)" y "github: client_id=y"

wait_ports_free 60 8749 || diag "port 8749 is still in use: the xero preset will take another port"
preset_login "login xr --provider xero (Xero's own endpoints)" xr --provider xero --client-id y --scope accounting.invoices
assert_match "$URL" '^https://login\.xero\.com/identity/connect/authorize\?' "xero: the URL is https://login.xero.com/identity/connect/authorize?…"
assert_eq "$(url_param "$URL" redirect_uri)" http://localhost:8749/callback "xero: redirect_uri http://localhost:8749/callback"
assert_eq "$(url_param "$URL" scope)" "openid profile email offline_access accounting.invoices" \
    "xero: scope is the preset's defaults plus --scope"
assert_eq "$(url_param "$URL" code_challenge_method)" S256 "xero: code_challenge_method=S256"
assert_contains "$SK_ERR" "http://localhost:8749/callback http://localhost:8750/callback http://localhost:8751/callback" \
    "xero: stderr lists the three redirect URIs to register"
assert_eq "$(cfg_get xr provider)" xero "config [xr]: provider = xero"

sk login z --provider nosuch --client-id y --no-browser --timeout 1
assert_failure 64 "login z --provider nosuch"
assert_contains "$SK_ERR" "github, google, microsoft, oidc, xero" "login --provider nosuch: stderr lists the known presets"

if [ -s "$TRAP_LOG" ]; then not_ok "the preset logins tried no network beyond loopback" "the trap proxy saw:" "$(cat "$TRAP_LOG")"
else ok "the preset logins tried no network beyond loopback (the trap proxy saw nothing)"; fi
export BROWSER=$SAVED_BROWSER

spk_done
