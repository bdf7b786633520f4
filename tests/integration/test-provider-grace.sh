#!/bin/bash
# The test provider's Xero-like grace period for spent refresh tokens
# (SPK_REFRESH_GRACE in tests/peers/provider.mjs), driven with curl after a
# real login:
#   - within the window, a spent refresh token (same client) gets the very
#     answer of its first use again (same new tokens, still valid), logged as
#     grant.grace_replay, with no grant.error or grant.revoked; the
#     SPK_TOKEN_DELAY_FILE holds a replay back like any token answer;
#   - another client presenting it is not replayed (invalid_grant, the
#     grant lives on);
#   - the rotated token still works afterwards;
#   - after the window, reuse is strict again: invalid_grant, grant.revoked,
#     and the newest refresh token is dead too.
# The event log never holds a token.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

W=5
export SPK_REFRESH_GRACE=$W
peers_start
assert_contains "$(cat "$SPK_TMP/provider.log")" "refresh grace ${W}s" "the provider runs with a ${W} s refresh grace"

P=grace
spk_login "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login failed; nothing else can be checked"
RT0=$(grant_field "$P" refresh_token)

# refresh RT [CLIENT]: a refresh_token grant with curl (public client)
refresh() { token_post "grant_type=refresh_token&client_id=${2:-sparekey-native}&refresh_token=$(urlencode "$1")"; }
replays_since() { events_since "$1" | grep -cF '"event":"grant.grace_replay"'; }

# --- within the window
M=$(events_mark)
refresh "$RT0"; T1=$(date +%s.%N)
assert_eq "$TP_STATUS" 200 "first use of RT0: 200"
B1=$TP_BODY
RT1=$(json_get refresh_token <<<"$B1")
AT1=$(json_get access_token <<<"$B1")
assert_new "$RT1" "$RT0" "first use of RT0: a new refresh token RT1"

echo 1000 >"$SPK_TOKEN_DELAY_FILE"
t0=$(date +%s.%N)
refresh "$RT0"
t1=$(date +%s.%N)
rm -f "$SPK_TOKEN_DELAY_FILE"
assert_eq "$TP_STATUS" 200 "RT0 again within ${W} s: 200"
if [ "$TP_BODY" = "$B1" ]; then ok "RT0 again within ${W} s: the very answer of its first use (same RT1)"
else not_ok "RT0 again within ${W} s: the very answer of its first use (same RT1)"; fi
in_range "$(elapsed_between "$t0" "$t1")" 0.9 5 \
    && ok "the replay is held back by SPK_TOKEN_DELAY_FILE (1000 ms)" \
    || not_ok "the replay is held back by SPK_TOKEN_DELAY_FILE (1000 ms)" "took $(elapsed_between "$t0" "$t1") s"
assert_eq "$(replays_since "$M")" 1 "one grant.grace_replay event"
assert_contains "$(events_since "$M" | grep -F grace_replay)" \
    '"event":"grant.grace_replay","grant_type":"refresh_token","client_id":"sparekey-native"' \
    "the event names the grant type and the client"
assert_eq "$(refresh_ok_since "$M")" 1 "a replay is no new grant (one grant.success)"
assert_eq "$(trouble_since "$M")" "" "no grant.error, grant.revoked or server_error"
me "$AT1"
assert_eq "$ME_STATUS" 200 "the access token of the replayed answer is valid"

M=$(events_mark)
refresh "$RT0" sparekey-exact
assert_eq "$TP_STATUS" 400 "RT0 from another client: not replayed (400)"
assert_contains "$TP_BODY" invalid_grant "RT0 from another client: invalid_grant"
assert_eq "$(replays_since "$M")" 0 "RT0 from another client: no grace_replay event"
assert_eq "$(events_since "$M" | grep -cF '"event":"grant.revoked"')" 0 "RT0 from another client: the grant is not revoked"

M=$(events_mark)
refresh "$RT1"; T2=$(date +%s.%N)
assert_eq "$TP_STATUS" 200 "RT1 still works after the replay: 200"
RT2=$(json_get refresh_token <<<"$TP_BODY")
assert_new "$RT2" "$RT1" "RT1 gives a new refresh token RT2"
assert_eq "$(trouble_since "$M")" "" "RT1: no trouble events"

leaked=0
for t in "$RT0" "$RT1" "$RT2" "$AT1"; do grep -qF -- "$t" "$SPK_EVENT_LOG" && leaked=1; done
assert_eq "$leaked" 0 "no token in the event log"

# --- after the window: strict again
sleep_until "$(awk -v t="$T2" -v w="$W" 'BEGIN { printf "%.2f", t + w + 1 }')"
M=$(events_mark)
refresh "$RT1"
assert_eq "$TP_STATUS" 400 "RT1 again after ${W} s: 400"
assert_contains "$TP_BODY" invalid_grant "RT1 again after ${W} s: invalid_grant"
assert_eq "$(replays_since "$M")" 0 "RT1 again after ${W} s: no grace_replay event"
assert_match "$(events_since "$M")" '"event":"grant\.revoked"' "RT1 again after ${W} s: the grant is revoked"
refresh "$RT2"
assert_eq "$TP_STATUS" 400 "the newest refresh token RT2 died with the grant"
M=$(events_mark)
refresh "$RT0"
assert_eq "$TP_STATUS" 400 "RT0 (window long over, grant revoked): 400"
assert_eq "$(replays_since "$M")" 0 "RT0 after the window: no grace_replay event"

spk_done
