#!/usr/bin/env bash
# Logins without a browser on this machine: --no-browser (with the ssh -L
# line over SSH), --paste (the address the browser ended on, or the bare
# code, from stdin; the loopback server listens at the same time) and
# --device (RFC 8628), against oidc-provider, gnome-keyring and Chromium.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-headless.sh"
trap peers_stop EXIT
peers_start

AUTH_RE='^http://127\.0\.0\.1:[0-9]+/auth\?'
PROMPT_RE='paste that address'

# lines_after FILE ERE: lines of FILE after the first one matching ERE
lines_after() { awk -v re="$2" 'f { n++ } !f && $0 ~ re { f = 1 } END { print n + 0 }' "$1"; }

# stored_me PROFILE USER DESC: the keyring holds PROFILE's grant with a
# refresh token, and its access token is USER's at the provider (/me).
stored_me() {
    local g; g=$(keyring_item "$1" grant)
    assert_ne "$(json_get refresh_token <<<"$g")" "" "$3: the keyring holds a grant with a refresh token"
    me "$(json_get access_token <<<"$g")"
    assert_eq "$ME_STATUS" 200 "$3: the provider accepts the stored access token (GET /me)"
    assert_contains "$ME_BODY" "\"sub\":\"$2\"" "$3: /me says sub is $2"
}

# A $BROWSER that only records that it was run.
FAKE_BROWSER=$SPK_TMP/fake-browser
FAKE_RAN=$SPK_TMP/fake-browser.ran
printf '#!/bin/sh\necho "$*" >>"%s"\n' "$FAKE_RAN" >"$FAKE_BROWSER"
chmod 755 "$FAKE_BROWSER"

# ================================================================ 1. --no-browser over SSH
M=$(events_mark)
sk_bg BROWSER="$FAKE_BROWSER" SSH_CONNECTION="10.0.0.5 5555 10.0.0.9 22" USER=alice -- \
    login nb --issuer "$ISSUER" --client-id sparekey-native --no-browser --timeout 60
URL=$(wait_for_line "$SPK_TMP/bg.err" "$AUTH_RE" 15 "$SK_BG_PID")
[ -n "$URL" ] || bail "login --no-browser printed no authorize URL on stderr: $(cat "$SPK_TMP/bg.err")"
ok "login --no-browser prints the authorize URL on stderr"
assert_match "$URL" '^[^ ]+$' "the authorize URL is alone on its line"
assert_eq "$(url_param "$URL" client_id)" sparekey-native "the printed URL asks for client sparekey-native"
REDIR=$(url_param "$URL" redirect_uri)
PORT=$(sed -nE 's#^http://127\.0\.0\.1:([0-9]+)/callback$#\1#p' <<<"$REDIR")
assert_ne "$PORT" "" "the printed URL's redirect_uri is http://127.0.0.1:PORT/callback (got $REDIR)"
SSHL=$(grep -E '^ssh ' "$SPK_TMP/bg.err")
assert_eq "$SSHL" "ssh -N -L $PORT:127.0.0.1:$PORT alice@10.0.0.9" \
    "with SSH_CONNECTION and USER=alice it prints the ssh -L line for port $PORT, alone on its line"
if port_free "$PORT"; then not_ok "sparekey listens on 127.0.0.1:$PORT while it waits"
else ok "sparekey listens on 127.0.0.1:$PORT while it waits"; fi
# The person opens the printed URL (here: the test browser, in its normal way).
browser_open "$URL"
browser_wait 30
assert_eq "$(browser_field ok)" true "the browser, given the printed URL, signs in and reaches the callback"
sk_bg_wait 30
assert_rc 0 "login --no-browser completes through the loopback server: exits 0"
assert_stdout_empty "login --no-browser: nothing on stdout"
assert_eq "$(cat "$FAKE_RAN" 2>/dev/null)" "" "login --no-browser did not run \$BROWSER"
assert_eq "$(logins_since "$M")" 1 "one authorization_code grant reached the provider"
stored_me nb alice "login --no-browser"

# Outside SSH: no ssh line; nobody opens the URL, so it gives up.
sk_bg BROWSER="$FAKE_BROWSER" -- login nb2 --issuer "$ISSUER" --client-id sparekey-native --no-browser --timeout 2
sk_bg_wait 20
assert_rc 75 "login --no-browser --timeout 2 with nobody at the browser: exits 75"
assert_match "$(cat "$SPK_TMP/sk.err")" "$AUTH_RE" "... after printing the authorize URL"
assert_eq "$(line_count "$SPK_TMP/sk.err" '^ssh ')" 0 "without SSH_CONNECTION there is no ssh -L line"
assert_icontains "$(tail -n1 "$SPK_TMP/sk.err")" "no answer from the browser" "... its last line says no answer came from the browser"
assert_eq "$(keyring_item nb2 grant)" "" "... and nothing is stored"
assert_eq "$(cat "$FAKE_RAN" 2>/dev/null)" "" "... and \$BROWSER was not run"

# A $BROWSER that fails: login says so, and the URL printed before is the way on.
sk_bg BROWSER=/bin/false -- login nb3 --issuer "$ISSUER" --client-id sparekey-native --timeout 2
sk_bg_wait 20
assert_rc 75 "login with BROWSER=/bin/false and nobody at the URL: exits 75 once the wait is over"
assert_match "$(cat "$SPK_TMP/sk.err")" "$AUTH_RE" "... after printing the authorize URL"
assert_icontains "$(cat "$SPK_TMP/sk.err")" "could not start a browser" "... and a line says the browser could not be started"
assert_eq "$(keyring_item nb3 grant)" "" "... and nothing is stored"

# ================================================================ 2. --paste
# paste_start PROFILE: login --paste with stdin from the paste FIFO; sets URL.
paste_start() {
    paste_open
    sk_bg --stdin "$SPK_PASTE" BROWSER="$FAKE_BROWSER" -- \
        login "$1" --issuer "$ISSUER" --client-id sparekey-native --paste --timeout 60
    URL=$(wait_for_line "$SPK_TMP/bg.err" "$AUTH_RE" 15 "$SK_BG_PID")
    [ -n "$URL" ] || bail "login --paste printed no authorize URL: $(cat "$SPK_TMP/bg.err")"
    wait_for_line "$SPK_TMP/bg.err" "$PROMPT_RE" 5 "$SK_BG_PID" >/dev/null
}

# intercepted_redirect: the browser signs in at $URL and stops at the
# redirect back to sparekey without sending it; sets IURL to that address.
intercepted_redirect() {
    browser_open "$URL" SPK_BROWSER_MODE=intercept
    browser_wait 30
    IURL=$(browser_field url)
    assert_eq "$(browser_field intercepted)" true "(harness) the browser stopped at the redirect to sparekey and did not send it"
    local r; r=$(url_param "$URL" redirect_uri)
    assert_match "$IURL" "^${r//./\\.}\\?" "(harness) ... which goes to the redirect_uri with a query"
}

# --- (a) the full address the browser ended on
M=$(events_mark)
paste_start pa
assert_match "$(cat "$SPK_TMP/bg.err")" "$AUTH_RE" "login --paste prints the authorize URL alone on a stderr line"
intercepted_redirect
sleep 1
if proc_alive "$SK_BG_PID"; then ok "login --paste still waits: the redirect never reached it"
else not_ok "login --paste still waits: the redirect never reached it" "it exited: $(cat "$SPK_TMP/bg.err")"; fi
assert_eq "$(any_grant_since "$M" authorization_code)" 0 "no code was exchanged before the paste"
paste_send "$IURL"
sk_bg_wait 30
paste_close
assert_rc 0 "login --paste with the pasted address: exits 0"
assert_stdout_empty "login --paste: nothing on stdout"
assert_eq "$(logins_since "$M")" 1 "the pasted code was exchanged once (one authorization_code grant)"
stored_me pa alice "login --paste (address)"
assert_eq "$(cat "$FAKE_RAN" 2>/dev/null)" "" "login --paste did not run \$BROWSER"

# --- (b) the bare code
M=$(events_mark)
SPK_BROWSER_USER=bob
paste_start pb
intercepted_redirect
CODE=$(url_param "$IURL" code)
assert_ne "$CODE" "" "(harness) the intercepted address holds a code"
paste_send "  $CODE  "
sk_bg_wait 30
paste_close
assert_rc 0 "login --paste with the bare code (blanks around it): exits 0"
assert_eq "$(logins_since "$M")" 1 "the bare code was exchanged once"
stored_me pb bob "login --paste (bare code)"
SPK_BROWSER_USER=alice

# --- (c) an address from another login (wrong state)
M=$(events_mark)
paste_start pc
intercepted_redirect
BAD=$(url_with_param "$IURL" state "another-login-$RANDOM$RANDOM")
paste_send "$BAD"
sk_bg_wait 30
paste_close
assert_rc 77 "login --paste with a wrong state: exits 77"
assert_eq "$(lines_after "$SPK_TMP/sk.err" "$PROMPT_RE")" 1 "... with one line on stderr after the prompt"
assert_icontains "$(tail -n1 "$SPK_TMP/sk.err")" state "... which names the state"
assert_stdout_empty "... and nothing on stdout"
assert_eq "$(keyring_item pc grant)" "" "... nothing is stored"
assert_eq "$(any_grant_since "$M" authorization_code)" 0 "... nothing was exchanged (no authorization_code grant request)"

# --- (c2) neither an address nor a code
M=$(events_mark)
paste_start pc2
paste_send "no idea what to paste"
sk_bg_wait 30
paste_close
assert_rc 77 "login --paste with text that is no address and no code: exits 77"
assert_eq "$(lines_after "$SPK_TMP/sk.err" "$PROMPT_RE")" 1 "... with one line on stderr after the prompt"
assert_eq "$(keyring_item pc2 grant)" "" "... nothing is stored"
assert_eq "$(any_grant_since "$M" authorization_code)" 0 "... nothing was exchanged"

# --- (d) the loopback redirect wins while stdin stays open
M=$(events_mark)
SPK_BROWSER_USER=carol
paste_start pd
browser_open "$URL"
browser_wait 30
assert_eq "$(browser_field ok)" true "the browser reaches sparekey's callback page"
sk_bg_wait 30
assert_rc 0 "login --paste: the loopback redirect completes the login while stdin is still open: exits 0"
paste_close
assert_eq "$(logins_since "$M")" 1 "one authorization_code grant"
stored_me pd carol "login --paste (loopback won)"
SPK_BROWSER_USER=alice

# --- (e) stdin at end of file: only the loopback redirect can come
sk_bg BROWSER="$FAKE_BROWSER" -- login pe --issuer "$ISSUER" --client-id sparekey-native --paste --timeout 60
URL=$(wait_for_line "$SPK_TMP/bg.err" "$AUTH_RE" 15 "$SK_BG_PID")
browser_open "$URL"
browser_wait 30
sk_bg_wait 30
assert_rc 0 "login --paste with stdin at end of file still completes through the loopback server"
stored_me pe alice "login --paste (empty stdin)"

# ================================================================ 3. --device
# device_start PROFILE [TIMEOUT]: sets VURI, UCODE, VCOMPLETE from stderr
device_start() {
    sk_bg BROWSER="$FAKE_BROWSER" -- login "$1" --issuer "$ISSUER" --client-id sparekey-native --device --timeout "${2:-60}"
    VCOMPLETE=$(wait_for_line "$SPK_TMP/bg.err" '^http://127\.0\.0\.1:[0-9]+/[^ ]*user_code=' 15 "$SK_BG_PID")
    [ -n "$VCOMPLETE" ] || bail "login --device printed no verification_uri_complete: $(cat "$SPK_TMP/bg.err")"
    VURI=$(grep -E '^http://[^ ]+$' "$SPK_TMP/bg.err" | grep -v 'user_code=' | head -n1)
    UCODE=$(sed -nE 's/.*enter the code ([A-Z0-9-]+).*/\1/p' "$SPK_TMP/bg.err" | head -n1)
}

M=$(events_mark)
SPK_BROWSER_USER=dave
device_start dv
assert_eq "$VURI" "$ISSUER/device" "login --device prints the verification URI alone on its line"
assert_match "$UCODE" '^[A-Z0-9]{4}-?[A-Z0-9]{4}$' "login --device prints the user code"
assert_eq "$(url_param "$VCOMPLETE" user_code)" "$UCODE" "the verification_uri_complete (alone on its line) holds that user code"
assert_eq "$(cat "$FAKE_RAN" 2>/dev/null)" "" "login --device does not run \$BROWSER"
browser_open "$VCOMPLETE" SPK_BROWSER_MODE=device
browser_wait 40
assert_eq "$(browser_field title)" "Sign-in Success" "on the device pages, the person confirms the code, signs in and consents"
sk_bg_wait 30
assert_rc 0 "login --device: exits 0 after the person approved"
assert_stdout_empty "login --device: nothing on stdout"
assert_eq "$(grant_count_since "$M" urn:ietf:params:oauth:grant-type:device_code)" 1 "one successful device_code grant"
sk token dv
assert_rc 0 "token dv: exits 0"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "the provider accepts the token printed by token dv (GET /me)"
assert_contains "$ME_BODY" '"sub":"dave"' "/me says sub is dave"
SPK_BROWSER_USER=alice

# --- the person aborts on the device page
M=$(events_mark)
device_start dva
browser_open "$VCOMPLETE" SPK_BROWSER_MODE=device SPK_BROWSER_ACTION=abort
browser_wait 40
assert_icontains "$(browser_field text)" interrupted "(harness) the provider's page says the sign-in was interrupted"
sk_bg_wait 30
assert_rc 77 "login --device, aborted on the device page: exits 77"
assert_icontains "$(tail -n1 "$SPK_TMP/sk.err")" denied "... its last line says the sign-in was denied"
assert_stdout_empty "... nothing on stdout"
assert_eq "$(keyring_item dva grant)" "" "... nothing is stored"
assert_eq "$(events_since "$M" | grep -F '"grant_type":"urn:ietf:params:oauth:grant-type:device_code"' | grep -cF '"error":"access_denied"')" 1 \
    "the provider answered one poll with access_denied"
assert_eq "$(grant_count_since "$M" urn:ietf:params:oauth:grant-type:device_code)" 0 "... and issued no token"

# --- nobody approves in time (the provider's polling interval is 5 s: a
# shorter --timeout still waits that long, asking the provider at least once)
M=$(events_mark)
device_start dvx 3
sk_bg_wait 30
assert_rc 75 "login --device --timeout 3 with nobody approving: exits 75"
if in_range "$SK_SECS" 2.5 12; then ok "... after waiting about 3 s, as it announced (${SK_SECS}s)"
else not_ok "... after waiting about 3 s, as it announced" "it gave up after ${SK_SECS}s"; fi
assert_ne "$(any_grant_since "$M" urn:ietf:params:oauth:grant-type:device_code)" 0 \
    "... having asked the provider at least once whether the person approved"
assert_icontains "$(tail -n1 "$SPK_TMP/sk.err")" "not completed in time" "... its last line says the sign-in was not completed in time"
assert_eq "$(keyring_item dvx grant)" "" "... nothing is stored"
sk token dvx
assert_failure 77 "token dvx after the expired device login"

spk_done
