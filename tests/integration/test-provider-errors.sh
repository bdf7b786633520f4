#!/bin/bash
# A token endpoint that misbehaves: after a real login, the profile's
# token_endpoint override points at an unreachable port, at a TLS handshake
# with a plain-HTTP server, and at each path of tests/peers/badpeer.mjs (503,
# 502, 429, HTML, broken, truncated or mistyped JSON, a token response
# without access_token, 5 MiB JSON, invalid_client, invalid_grant, a server
# that never answers; an unreadable expires_in is no error any more, see
# test-token-answers.sh). Each `sparekey refresh` must fail with the documented
# exit status and exactly one line on stderr, and leave the stored grant
# byte-identical. A request that got no answer in time is retried once with
# the same refresh token, then gives 75. Then the override is removed and a
# refresh works again.
#
# Env: SPAREKEY (default build/sparekey); SPK_SKIP_SLOW=1 skips the /slow
# case (a server that never answers: it costs sparekey's whole timeout,
# twice). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

peers_start
badpeer_start

P=errs
SPK_BROWSER_USER=alice; browser_reset
sk --timeout 90 login "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" --timeout 60
assert_rc 0 "login $P: exits 0"
[ "$SK_RC" -eq 0 ] || bail "login failed; nothing else can be checked"
browser_wait 30 || true
G0=$(grant_lookup "$P")
[ -n "$G0" ] || bail "no grant in the keyring under profile=$P after login"
RT0=$(json_get refresh_token <<<"$G0")
[ -n "$RT0" ] || bail "the stored grant has no refresh_token"

# badpeer_hits PATH MARK: requests badpeer saw for PATH since line MARK of its log
badpeer_hits() {
    tail -n "+$(($2 + 1))" "$SPK_BADPEER_LOG" | grep -F "\"path\":\"$1\"" || true
}

# case_run URL CODE WHAT [BADPATH] [TIMEOUT]
case_run() {
    local url=$1 code=$2 what=$3 path=${4:-} t=${5:-90} mark hits
    cfg_set "$P" token_endpoint "$url"
    mark=$(wc -l <"$SPK_BADPEER_LOG" | tr -d ' ')
    sk --timeout "$t" refresh "$P"
    assert_failure "$code" "refresh with token_endpoint $what"
    if [ -n "$path" ]; then
        hits=$(badpeer_hits "$path" "$mark")
        if [ -n "$hits" ]; then ok "refresh with token_endpoint $what: the request went to $BADPEER$path"
        else not_ok "refresh with token_endpoint $what: the request went to $BADPEER$path" "badpeer saw no request for $path"; fi
        assert_contains "$hits" '"grant_type":"refresh_token"' "refresh with token_endpoint $what: it was a refresh_token grant"
    fi
    G=$(grant_lookup "$P")
    if [ "$G" == "$G0" ]; then ok "refresh with token_endpoint $what: the stored grant is byte-identical"
    else not_ok "refresh with token_endpoint $what: the stored grant is byte-identical" \
        "before: $(head -c 200 <<<"$G0")" "after:  $(head -c 200 <<<"$G")"; fi
}

case_run "http://127.0.0.1:1/token" 69 "unreachable (127.0.0.1:1)"
case_run "https://127.0.0.1:${BADPEER##*:}/503" 69 "https to a plain-HTTP server (TLS handshake fails)"
case_run "$BADPEER/503" 75 "answering 503" /503
case_run "$BADPEER/500" 75 "answering 500 with HTML" /500
case_run "$BADPEER/502" 75 "answering 502 Bad Gateway" /502
case_run "$BADPEER/429" 75 "answering 429 Retry-After: 1" /429
case_run "$BADPEER/html" 75 "answering 200 text/html" /html
case_run "$BADPEER/garbage" 75 "answering 200 with broken JSON" /garbage
case_run "$BADPEER/empty" 75 "answering 200 with an empty body" /empty
case_run "$BADPEER/truncated" 75 "answering 200 with truncated JSON" /truncated
case_run "$BADPEER/token_number" 75 "answering 200 with access_token as a number" /token_number
case_run "$BADPEER/no_access_token" 75 "answering 200 without access_token" /no_access_token
case_run "$BADPEER/notjsonobject" 75 "answering 200 with a JSON array" /notjsonobject
case_run "$BADPEER/huge" 75 "answering 200 with 5 MiB of JSON" /huge
case_run "$BADPEER/invalid_client" 78 "answering 401 invalid_client" /invalid_client
assert_contains "$SK_ERR" invalid_client "invalid_client: stderr names invalid_client"
case_run "$BADPEER/invalid_grant" 77 "answering 400 invalid_grant" /invalid_grant
assert_contains "$SK_ERR" "$P: the provider no longer accepts this grant (invalid_grant). Run: sparekey login $P" \
    "invalid_grant: stderr says the provider no longer accepts this grant, and to run sparekey login $P"
if [ "${SPK_SKIP_SLOW:-0}" = 1 ]; then
    skip_one "refresh with token_endpoint that never answers" "SPK_SKIP_SLOW=1"
else
    SLOW_MARK=$(wc -l <"$SPK_BADPEER_LOG" | tr -d ' ')
    case_run "$BADPEER/slow" 75 "that never answers" /slow 150
    diag "sparekey gave up on /slow after ${SK_SECS}s"
    SLOW_HITS=$(badpeer_hits /slow "$SLOW_MARK")
    assert_eq "$(grep -c . <<<"$SLOW_HITS")" 2 "a server that never answers: exactly two requests arrived (the first and one retry)"
    assert_eq "$(grep -o '"refresh_token_sha256":"[0-9a-f]*"' <<<"$SLOW_HITS" | sort -u | grep -c .)" 1 \
        "a server that never answers: the retry sent the same refresh token"
    assert_contains "$SLOW_HITS" "\"refresh_token_sha256\":\"$(sha256 "$RT0")\"" \
        "a server that never answers: that refresh token is the stored one"
    if in_range "$SK_SECS" 50 80; then ok "a server that never answers: sparekey gave up after two waits (${SK_SECS}s)"
    else not_ok "a server that never answers: sparekey gave up after two waits" "took ${SK_SECS}s"; fi
fi

# The real token endpoint again: the untouched grant still works.
cfg_unset "$P" token_endpoint
assert_eq "$(cfg_get "$P" token_endpoint)" "" "(harness) token_endpoint override removed"
sk refresh "$P"
assert_rc 0 "refresh with the real token endpoint again: exits 0"
G=$(grant_lookup "$P")
assert_new "$(json_get refresh_token <<<"$G")" "$RT0" "the refresh token was rotated by the real provider"
assert_new "$(json_get access_token <<<"$G")" "$(json_get access_token <<<"$G0")" "a new access token was stored"
me "$(json_get access_token <<<"$G")"
assert_eq "$ME_STATUS" 200 "the provider accepts the new access token"

spk_done
