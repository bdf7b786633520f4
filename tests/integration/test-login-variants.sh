#!/bin/bash
# Logins that do not go the happy way, and the xero preset:
#   a. the person denies consent in the browser: exit 77, nothing stored;
#   b. the xero preset pointed at the local server by endpoint overrides
#      (config group written by hand, `sparekey login xo` with no flags;
#      connections_endpoint too, so that the organisation list comes from
#      provider.mjs and nothing leaves the machine):
#      redirect http://localhost:8749/callback, the preset's scopes; with
#      8749 held by another listener it falls back to 8750, then 8751;
#   c. an unreachable issuer (exit 69) and a browser that never comes back
#      (--timeout 2, BROWSER=true: exit 75 after about 2 s).
#
# Peers: provider.mjs, browser (headless Chromium), gnome-keyring; see lib.sh.
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

peers_start

# no_grant PROFILE WHAT: the keyring holds no grant for PROFILE
no_grant() {
    local out rc
    out=$(secret-tool lookup profile "$1" kind grant 2>/dev/null); rc=$?
    if [ "$rc" -ne 0 ] && [ -z "$out" ]; then ok "$2: secret-tool lookup profile $1 kind grant finds nothing"
    else not_ok "$2: secret-tool lookup profile $1 kind grant finds nothing" "lookup exit $rc, ${#out} bytes"; fi
}

# stderr_lines_with NEEDLE: number of lines of the last sk's stderr containing NEEDLE
stderr_lines_with() { grep -cF -- "$1" "$SPK_TMP/sk.err"; }

# authorize_url: the line of the last sk's stderr that is an authorize URL alone
authorize_url() { grep -E "^https?://[^ ]+\?[^ ]*response_type=code[^ ]*\$" "$SPK_TMP/sk.err" | head -n 1; }

# url_param URL NAME: a decoded query parameter
url_param() {
    node -e 'try { const v = new URL(process.argv[1]).searchParams.get(process.argv[2]); process.stdout.write(v === null ? "" : v); } catch { }' "$1" "$2"
}

# sorted_words "a b c": the words one per line, sorted, joined by spaces
sorted_words() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'; }

# ---------------------------------------------------------------- a. consent denied
export SPK_BROWSER_ACTION=deny
browser_reset
M=$(events_mark)
sk --timeout 90 login deny --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" --timeout 60
assert_rc 77 "login with consent denied: exits 77"
assert_stdout_empty "login with consent denied: nothing on stdout"
assert_eq "$(stderr_lines_with access_denied)" 1 "login with consent denied: exactly one stderr line mentions access_denied"
if awk -v s="$SK_SECS" 'BEGIN { exit !(s + 0 < 30) }'; then
    ok "login with consent denied: sparekey stops when the browser comes back, not at --timeout"
else
    not_ok "login with consent denied: sparekey stops when the browser comes back, not at --timeout" "took ${SK_SECS}s (timeout 60)"
fi
if browser_wait 30; then
    assert_match "$(browser_field url)" '[?&]error=access_denied' "consent denied: the browser came back to the callback with error=access_denied"
    BTEXT=$(browser_field text)
    assert_match "$BTEXT" 'sign-in failed|login failed|not (granted|signed in)|denied' "consent denied: the browser's page says the sign-in failed"
    if grep -qiE 'signed in|success|logged in' <<<"$BTEXT"; then
        not_ok "consent denied: the browser's page does not claim success" "page text: $BTEXT"
    else
        ok "consent denied: the browser's page does not claim success"
    fi
else
    not_ok "consent denied: the browser wrote its result" "$(tail -n 5 "$SPK_BROWSER_LOG" 2>/dev/null)"
fi
no_grant deny "consent denied"
if events_since "$M" | grep -F '"event":"grant.success"' | grep -qF '"grant_type":"authorization_code"'; then
    not_ok "consent denied: no authorization code was exchanged at the provider" "$(events_since "$M")"
else
    ok "consent denied: no authorization code was exchanged at the provider"
fi
export SPK_BROWSER_ACTION=consent

# ---------------------------------------------------------------- b. xero preset, overridden endpoints
DISCO=$(curl -fsS --max-time 10 "$ISSUER/.well-known/openid-configuration")
AUTH_EP=$(json_get authorization_endpoint <<<"$DISCO")
TOKEN_EP=$(json_get token_endpoint <<<"$DISCO")
assert_eq "$AUTH_EP" "$ISSUER/auth" "(harness) the provider's authorization endpoint is \$ISSUER/auth"
assert_eq "$TOKEN_EP" "$ISSUER/token" "(harness) the provider's token endpoint is \$ISSUER/token"

mkdir -p "$(dirname "$SPK_CONFIG")"
cat >>"$SPK_CONFIG" <<EOF

[xo]
provider = xero
client_id = sparekey-exact
authorization_endpoint = $AUTH_EP
token_endpoint = $TOKEN_EP
connections_endpoint = $ISSUER/connections
EOF
chmod 600 "$SPK_CONFIG"

for p in 8749 8750 8751; do
    if port_free "$p"; then ok "(harness) port $p is free on 127.0.0.1"
    else not_ok "(harness) port $p is free on 127.0.0.1" "something on this machine listens on $p; the xero preset's ports cannot be tested"; fi
done

# xero_login WHAT PORT: sparekey login xo (no flags) must come back on localhost:PORT
xero_login() {
    local what=$1 port=$2 url ru g
    browser_reset
    M=$(events_mark)
    sk --timeout 90 login xo --timeout 60
    assert_rc 0 "$what: exits 0" || return 1
    assert_stdout_empty "$what: nothing on stdout"
    url=$(authorize_url)
    assert_contains "$url" "$AUTH_EP?" "$what: stderr has the authorize URL alone on a line, at the overridden authorization endpoint"
    ru=$(url_param "$url" redirect_uri)
    assert_eq "$ru" "http://localhost:$port/callback" "$what: the authorize URL asks for redirect_uri http://localhost:$port/callback"
    assert_eq "$(sorted_words "$(url_param "$url" scope)")" "$(sorted_words "openid profile email offline_access")" \
        "$what: the authorize URL requests the scopes openid profile email offline_access"
    assert_eq "$(url_param "$url" client_id)" sparekey-exact "$what: the authorize URL names client_id sparekey-exact"
    assert_eq "$(url_param "$url" code_challenge_method)" S256 "$what: PKCE S256"
    assert_contains "$SK_ERR" "http://localhost:$port/callback" "$what: stderr names the redirect URI http://localhost:$port/callback"
    if browser_wait 30; then
        assert_match "$(browser_field url)" "^http://localhost:$port/callback\\?" "$what: the browser came back to http://localhost:$port/callback"
        assert_match "$(browser_field text)" 'signed in|success|logged in' "$what: the callback page says the sign-in worked"
    else
        not_ok "$what: the browser wrote its result" "$(tail -n 5 "$SPK_BROWSER_LOG" 2>/dev/null)"
    fi
    assert_contains "$(events_since "$M" | grep -F '"event":"authorization.success"')" "\"redirect_uri\":\"http://localhost:$port/callback\"" \
        "$what: the provider authorized redirect_uri http://localhost:$port/callback"
    assert_contains "$(events_since "$M" | grep -F '"event":"connections"')" '"status":200' \
        "$what: the organisations were listed at the local connections endpoint with the new token"
    g=$(grant_lookup xo)
    assert_ne "$(json_get refresh_token <<<"$g")" "" "$what: the keyring holds a grant with a refresh token"
    sk token xo
    assert_rc 0 "$what: sparekey token xo exits 0"
    assert_eq "$(nlines "$SPK_TMP/sk.out")" 1 "$what: token xo prints one line"
    me "$SK_OUT"
    assert_eq "$ME_STATUS" 200 "$what: the provider accepts the printed token (GET /me)"
    assert_contains "$ME_BODY" '"sub":"alice"' "$what: /me says sub is alice"
}

xero_login "xero preset login (8749 free)" 8749
assert_eq "$(cfg_get xo provider)" xero "config [xo] still says provider = xero"
assert_eq "$(cfg_get xo token_endpoint)" "$TOKEN_EP" "config [xo] keeps the token_endpoint override"

# hold_port PORT: a listener on 127.0.0.1:PORT, in the background (sets HOLD_PID)
hold_port() {
    rm -f "$SPK_TMP/hold.$1"
    node -e 'const fs = require("fs"); const s = require("net").createServer((c) => c.destroy());
             s.on("error", (e) => { console.error(e.message); process.exit(1); });
             s.listen(+process.argv[1], "127.0.0.1", () => fs.writeFileSync(process.argv[2], "ready\n"));
             process.on("SIGTERM", () => process.exit(0));' "$1" "$SPK_TMP/hold.$1" </dev/null >/dev/null 2>"$SPK_TMP/hold.$1.log" &
    HOLD_PID=$!; SPK_PIDS+=("$HOLD_PID")
    wait_for_file "$SPK_TMP/hold.$1" 10 "$HOLD_PID" || bail "(harness) could not hold port $1: $(cat "$SPK_TMP/hold.$1.log")"
}

hold_port 8749; H1=$HOLD_PID
xero_login "xero preset login with 8749 taken" 8750
hold_port 8750; H2=$HOLD_PID
xero_login "xero preset login with 8749 and 8750 taken" 8751
stop_pid "$H2"; stop_pid "$H1"

# ---------------------------------------------------------------- c. unreachable issuer, browser never back
DEAD=http://127.0.0.1:$(free_port)
sk --timeout 60 login unr --issuer "$DEAD" --client-id sparekey-native
assert_failure 69 "login with an unreachable issuer ($DEAD)"
no_grant unr "unreachable issuer"

M=$(events_mark)
SAVED_BROWSER=$BROWSER
export BROWSER=true
sk --timeout 30 login lazy --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" --timeout 2
export BROWSER=$SAVED_BROWSER
assert_rc 75 "login --timeout 2 with a browser that does nothing: exits 75"
assert_stdout_empty "login --timeout 2: nothing on stdout"
if awk -v s="$SK_SECS" 'BEGIN { exit !(s + 0 >= 1.9 && s + 0 <= 5) }'; then
    ok "login --timeout 2: gives up after about 2 s"
else
    not_ok "login --timeout 2: gives up after about 2 s" "took ${SK_SECS}s"
fi
URL=$(authorize_url)
assert_contains "$URL" "$ISSUER/auth?" "login --timeout 2: stderr has the authorize URL alone on a line"
assert_eq "$(url_param "$URL" client_id)" sparekey-native "login --timeout 2: the printed URL is this login's (client_id sparekey-native)"
assert_match "$(tail -n 1 "$SPK_TMP/sk.err")" 'time|2 ?s' "login --timeout 2: the last stderr line says the wait timed out"
no_grant lazy "login --timeout 2"
assert_eq "$(events_since "$M" | grep -c '"grant_type":"authorization_code"')" 0 "login --timeout 2: no code reached the token endpoint"

spk_done
