#!/bin/bash
# End-to-end: sparekey login through a real browser against a real
# authorization server, grant in a real Secret Service; then token, refresh
# with rotation, status, repeated logins on a fixed port, an exact-redirect
# client on localhost:8749, missing grants, and a revoked grant.
#
# Peers: tests/peers/provider.mjs (oidc-provider), tests/peers/browser
# (headless Chromium), gnome-keyring in a private D-Bus session; see lib.sh.
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

TTL=8
export SPK_ACCESS_TTL=$TTL
peers_start

# login_ok WHAT USER: checks after a login that should have worked.
login_ok() {
    local what=$1 user=$2
    BURL=
    BTEXT=
    # The rest says nothing useful when the login itself failed.
    assert_rc 0 "$what: exits 0" || return 1
    assert_stdout_empty "$what: nothing on stdout (human output goes to stderr)"
    if browser_wait 30; then
        assert_eq "$(browser_field ok)" true "$what: the browser reached the callback page"
        assert_eq "$(browser_field status)" 200 "$what: the callback page answered HTTP 200"
        BURL=$(browser_field url)
        BTEXT=$(browser_field text)
        assert_match "$BURL" '[?&]code=' "$what: the browser was redirected with an authorization code"
        assert_match "$BTEXT" 'success|logged in|signed in|login (worked|complete)|all set' \
            "$what: the callback page says the login worked"
        if grep -qiE 'error|fail|denied' <<<"$BTEXT"; then not_ok "$what: the callback page shows no error" "page text: $BTEXT"
        else ok "$what: the callback page shows no error"; fi
        assert_match "$BTEXT" 'close' "$what: the callback page says the tab can be closed"
    else
        not_ok "$what: the browser wrote its result" "$(tail -n 5 "$SPK_BROWSER_LOG" 2>/dev/null)"
    fi
    assert_icontains "$SK_ERR" "$user" "$what: stderr says who logged in ($user)"
    assert_match "$SK_ERR" 'expir|valid|until' "$what: stderr says until when the access token is valid"
}

# ---------------------------------------------------------------- 1. first login
SPK_BROWSER_USER=alice; browser_reset
T0=$(now)
sk --timeout 90 login e2e --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" --timeout 60
T1=$(now)
login_ok "first login" alice
[ "$SK_RC" -eq 0 ] || bail "login failed; nothing else can be checked"
assert_match "$BURL" '^http://(127\.0\.0\.1|localhost):[0-9]+/callback\?' \
    "first login: the callback is http://127.0.0.1:PORT/callback or http://localhost:PORT/callback"

# ---------------------------------------------------------------- 2. config file
if [ -f "$SPK_CONFIG" ]; then ok "config file $SPK_CONFIG exists"
else not_ok "config file $SPK_CONFIG exists" "$(ls -lR "$XDG_CONFIG_HOME" 2>&1)"; fi
if grep -qxF '[e2e]' "$SPK_CONFIG" 2>/dev/null; then ok "config has a [e2e] group"
else not_ok "config has a [e2e] group" "$(cat "$SPK_CONFIG" 2>&1)"; fi
assert_eq "$(cfg_get e2e provider)" oidc "config [e2e] provider = oidc"
assert_eq "$(cfg_get e2e issuer)" "$ISSUER" "config [e2e] issuer = \$ISSUER"
assert_eq "$(cfg_get e2e client_id)" sparekey-native "config [e2e] client_id = sparekey-native"

# ---------------------------------------------------------------- 3. grant in the keyring
G1=$(grant_lookup e2e)
if [ -n "$G1" ]; then ok "secret-tool lookup profile e2e finds the grant"
else bail "no grant in the keyring under profile=e2e after a successful login"; fi
assert_ne "$(json_type access_token <<<"$G1")" not-json "the stored grant is JSON"
for f in access_token refresh_token token_type scope; do
    v=$(json_get "$f" <<<"$G1")
    if [ "$(json_type "$f" <<<"$G1")" = string ] && [ -n "$v" ]; then ok "grant: $f is a non-empty string"
    else not_ok "grant: $f is a non-empty string" "type $(json_type "$f" <<<"$G1")"; fi
done
for f in expires_at obtained_at refresh_obtained_at; do
    assert_eq "$(json_type "$f" <<<"$G1")" number "grant: $f is a number"
done
assert_match "$(json_get token_type <<<"$G1")" '^bearer$' "grant: token_type is Bearer"
assert_contains " $(json_get scope <<<"$G1") " " openid " "grant: scope includes openid"
EXP1=$(json_get expires_at <<<"$G1")
OBT1=$(json_get obtained_at <<<"$G1")
if awk -v e="$EXP1" -v a="$T0" -v b="$T1" -v t="$TTL" 'BEGIN { exit !(e + 0 >= a + t - 2 && e + 0 <= b + t + 1) }'; then
    ok "grant: expires_at is the Unix time the provider's expires_in ($TTL s) points at"
else
    not_ok "grant: expires_at is the Unix time the provider's expires_in ($TTL s) points at" \
        "expires_at=$EXP1, login ran from $T0 to $T1, so expected $((T0 + TTL - 2))..$((T1 + TTL + 1))"
fi
if awk -v o="$OBT1" -v a="$T0" -v b="$T1" 'BEGIN { exit !(o + 0 >= a - 1 && o + 0 <= b + 1) }'; then
    ok "grant: obtained_at is the time of the login"
else
    not_ok "grant: obtained_at is the time of the login" "obtained_at=$OBT1, login ran from $T0 to $T1"
fi
AT1=$(json_get access_token <<<"$G1")
RT1=$(json_get refresh_token <<<"$G1")

# ---------------------------------------------------------------- 4. token prints the stored token
sk token e2e --min-valid 1
assert_rc 0 "token e2e --min-valid 1: exits 0"
if printf '%s\n' "$AT1" | cmp -s - "$SPK_TMP/sk.out"; then
    ok "token e2e prints exactly the stored access token, one line, nothing else"
else
    not_ok "token e2e prints exactly the stored access token, one line, nothing else" \
        "stdout has $(nlines "$SPK_TMP/sk.out") lines, $(wc -c <"$SPK_TMP/sk.out") bytes; stored token has ${#AT1} chars" \
        "same token: $([ "$SK_OUT" = "$AT1" ] && echo yes || echo no)"
fi
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "the provider accepts the printed token (GET /me)"
assert_contains "$ME_BODY" '"sub":"alice"' "/me says sub is alice"

# ---------------------------------------------------------------- 5. expiry -> refresh with rotation
diag "waiting for the access token to expire (expires_at $EXP1)"
sleep_until "$((${EXP1%.*} + 1))"
me "$AT1"
assert_eq "$ME_STATUS" 401 "(harness) the first access token has expired at the provider"
M=$(events_mark)
sk token e2e --min-valid 1
assert_rc 0 "token e2e after expiry: exits 0"
AT2=$SK_OUT
assert_eq "$(nlines "$SPK_TMP/sk.out")" 1 "token e2e after expiry: one line on stdout"
assert_new "$AT2" "$AT1" "token e2e after expiry prints a new access token"
me "$AT2"
assert_eq "$ME_STATUS" 200 "the provider accepts the refreshed token (GET /me)"
assert_contains "$ME_BODY" '"sub":"alice"' "/me with the refreshed token says sub is alice"
G2=$(grant_lookup e2e)
RT2=$(json_get refresh_token <<<"$G2")
assert_new "$RT2" "$RT1" "the stored refresh token was rotated (new, non-empty)"
assert_eq "$(json_get access_token <<<"$G2")" "$AT2" "the keyring holds the access token that was printed"
assert_eq "$(refresh_grants_since "$M")" 1 "exactly one refresh_token grant reached the provider"

# ---------------------------------------------------------------- 6. refresh now
M=$(events_mark)
sk refresh e2e
assert_rc 0 "refresh e2e: exits 0"
assert_stdout_empty "refresh e2e: nothing on stdout"
G3=$(grant_lookup e2e)
RT3=$(json_get refresh_token <<<"$G3")
assert_new "$RT3" "$RT2" "refresh e2e rotated the stored refresh token again (new, non-empty)"
assert_new "$(json_get access_token <<<"$G3")" "$AT2" "refresh e2e stored a new access token"
assert_eq "$(refresh_grants_since "$M")" 1 "refresh e2e made exactly one refresh_token grant request"
me "$(json_get access_token <<<"$G3")"
assert_eq "$ME_STATUS" 200 "the provider accepts the access token stored by refresh e2e"

# ---------------------------------------------------------------- 7. status
sk status
assert_rc 0 "status: exits 0"
assert_contains "$SK_OUT$SK_ERR" e2e "status mentions the profile e2e"

# ---------------------------------------------------------------- 8. login again, fixed port, twice
PORT=$(free_port)
SPK_BROWSER_USER=bob; browser_reset
sk --timeout 90 login e2e --port "$PORT" --timeout 60
login_ok "second login on port $PORT (profile from the config file)" bob
assert_match "$BURL" "^http://(127\\.0\\.0\\.1|localhost):$PORT/callback\\?" "second login: the callback was on port $PORT"
G4=$(grant_lookup e2e)
assert_new "$(json_get refresh_token <<<"$G4")" "$RT3" "second login replaced the stored refresh token"
me "$(json_get access_token <<<"$G4")"
assert_eq "$ME_STATUS" 200 "the provider accepts the access token of the second login"
assert_contains "$ME_BODY" '"sub":"bob"' "the stored grant is now bob's"

SPK_BROWSER_USER=carol; browser_reset
sk --timeout 90 login e2e --port "$PORT" --timeout 60
login_ok "third login, same port $PORT right away" carol
assert_match "$BURL" "^http://(127\\.0\\.0\\.1|localhost):$PORT/callback\\?" "third login: the callback was on port $PORT again"
G5=$(grant_lookup e2e)
assert_new "$(json_get refresh_token <<<"$G5")" "$(json_get refresh_token <<<"$G4")" "third login replaced the stored refresh token"
me "$(json_get access_token <<<"$G5")"
assert_eq "$ME_STATUS" 200 "the provider accepts the access token of the third login"
assert_contains "$ME_BODY" '"sub":"carol"' "the stored grant is now carol's"
SPK_BROWSER_USER=alice

# ---------------------------------------------------------------- 9. exact redirect (like Xero): localhost:8749
if port_free 8749; then
    cfg_set exact redirect_host localhost
    browser_reset
    sk --timeout 90 login exact --issuer "$ISSUER" --client-id sparekey-exact --scope openid --port 8749 --timeout 60
    login_ok "exact-redirect login on localhost:8749" alice
    assert_match "$BURL" '^http://localhost:8749/callback\?' "exact-redirect login: the browser came back to http://localhost:8749/callback"
    assert_eq "$(cfg_get exact redirect_host)" localhost "config [exact] still has redirect_host = localhost"
    assert_eq "$(cfg_get exact client_id)" sparekey-exact "config [exact] client_id = sparekey-exact"
    GX=$(grant_lookup exact)
    me "$(json_get access_token <<<"$GX")"
    assert_eq "$ME_STATUS" 200 "the provider accepts the access token stored for profile exact"
    assert_eq "$(json_get refresh_token <<<"$(grant_lookup e2e)")" "$(json_get refresh_token <<<"$G5")" \
        "logging in to profile exact left profile e2e's grant alone"
else
    skip_one "exact-redirect login on localhost:8749" "port 8749 is in use on this machine"
fi

# ---------------------------------------------------------------- 10. a reused refresh token revokes the grant
GA=$(grant_lookup e2e)
RTA=$(json_get refresh_token <<<"$GA")
sk refresh e2e
assert_rc 0 "refresh e2e before the reuse: exits 0"
GB=$(grant_lookup e2e)
EXPB=$(json_get expires_at <<<"$GB")
assert_new "$(json_get refresh_token <<<"$GB")" "$RTA" "refresh e2e stored a new refresh token (the previous one is now spent)"
M=$(events_mark)
token_post "grant_type=refresh_token&client_id=sparekey-native&refresh_token=$(urlencode "$RTA")"
assert_eq "$TP_STATUS" 400 "(harness) the spent refresh token, sent again with curl, gets HTTP 400"
assert_eq "$(json_get error <<<"$TP_BODY")" invalid_grant "(harness) ... with error invalid_grant"
assert_contains "$(events_since "$M")" '"event":"grant.revoked"' "(harness) the provider revoked the whole grant"
GPRE=$(grant_lookup e2e)
sk refresh e2e
assert_failure 77 "refresh e2e with a revoked grant"
assert_contains "$SK_ERR" invalid_grant "refresh e2e with a revoked grant: stderr names invalid_grant"
assert_contains "$SK_ERR" "sparekey login e2e" "refresh e2e with a revoked grant: stderr says to run sparekey login e2e"
GPOST=$(grant_lookup e2e)
assert_ne "$GPOST" "" "the grant is still in the keyring after invalid_grant (never deleted on refresh failure)"
assert_eq "$GPOST" "$GPRE" "the stored grant is unchanged after invalid_grant"

# ---------------------------------------------------------------- 11. no grant at all
secret-tool clear profile e2e
assert_exit 1 "(harness) secret-tool clear removed the grant" secret-tool lookup profile e2e
# A valid access token may still be cached; wait until the last one issued
# has expired so the answer must come from the keyring.
sleep_until "$((${EXPB%.*} + 1))"
sk token e2e
assert_failure 77 "token e2e without a grant"
assert_contains "$SK_ERR" "sparekey login e2e" "token e2e without a grant: stderr says to run sparekey login e2e"
sk token nosuchprofile
assert_failure 77 "token nosuchprofile"
assert_contains "$SK_ERR" nosuchprofile "token nosuchprofile: stderr names the profile"

spk_done
