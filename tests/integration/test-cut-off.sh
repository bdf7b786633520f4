#!/bin/bash
# A refresh cut off where no process could carry it through (power loss, a
# machine-wide kill): the worker dies after its request reached the
# provider, before the answer was stored. Simulated with the test-only
# fault point kill-worker-after-send (-Dfault_injection=true), which ends
# the worker right after the provider answered. The in-flight record
# $XDG_STATE_HOME/sparekey/P.inflight (0600, no secret) stays.
#   1. A provider with a grace for spent refresh tokens (the test
#      provider's SPK_REFRESH_GRACE, like Xero's 30 minutes) and a profile
#      that knows it (refresh_reuse_grace): the caller says to run again
#      (75); the next run sends the same token again and recovers: no
#      login, no reuse detected, the record is gone.
#   2. A strict provider (refresh_reuse_grace 0, the oidc preset's): exit
#      77 with one line saying what happened, when, and to log in; the next
#      run says the same without sending anything; a still valid access
#      token is still handed out; a new login clears it.
#   3. A grace that has passed: 77, naming the grace.
#
# Peers: provider.mjs (SPK_REFRESH_GRACE=120), browser, gnome-keyring.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

export SPK_REFRESH_GRACE=120
peers_start
unset SPAREKEY_FAULT

LOGIN_ARGS=(--issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access")
record() { echo "$XDG_STATE_HOME/sparekey/$1.inflight"; }

# cut_off PROFILE: a refresh whose worker dies after the provider answered
cut_off() {
    SPAREKEY_FAULT=kill-worker-after-send sk refresh "$1"
}

replays_since() { events_since "$1" | grep -cF '"event":"grant.grace_replay"'; }

# ---------------------------------------------------------------- 1. within the grace
G=cutgrace
spk_login "$G" "${LOGIN_ARGS[@]}" || bail "login failed"
cfg_set "$G" refresh_reuse_grace 120
RT0=$(grant_field "$G" refresh_token)
M=$(events_mark)
cut_off "$G"
assert_failure 75 "grace: a refresh whose worker died after sending"
assert_match "$SK_ERR" "cut off" "grace: the line says the refresh was cut off"
assert_match "$SK_ERR" "run sparekey again" "grace: ... and to run again"
assert_eq "$(refresh_ok_since "$M")" 1 "grace: the provider did rotate the refresh token"
assert_eq "$(grant_field "$G" refresh_token)" "$RT0" "grace: the keyring still holds the spent refresh token (the answer was lost)"
assert_eq "$(file_mode "$(record "$G")")" 600 "grace: the in-flight record is there, mode 0600"
if grep -qF -- "$RT0" "$(record "$G")"; then not_ok "grace: the in-flight record holds no token"
else ok "grace: the in-flight record holds no token"; fi
sk token "$G"
assert_rc 0 "grace: the next token run recovers (no login)"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "grace: the provider accepts its token"
assert_eq "$(replays_since "$M")" 1 "grace: it sent the spent refresh token again, within the provider's grace"
assert_eq "$(trouble_since "$M")" "" "grace: the provider detected no reuse (nothing revoked)"
assert_eq "$(logins_since "$M")" 0 "grace: nobody had to log in"
assert_new "$(grant_field "$G" refresh_token)" "$RT0" "grace: the keyring holds a new refresh token"
[ ! -e "$(record "$G")" ] && ok "grace: the in-flight record is gone" || not_ok "grace: the in-flight record is gone"
M=$(events_mark)
sk refresh "$G"
assert_rc 0 "grace: a further refresh works"
assert_eq "$(trouble_since "$M")" "" "grace: ... and the provider reports no error"

# ---------------------------------------------------------------- 2. a strict provider
S=cutstrict
spk_login "$S" "${LOGIN_ARGS[@]}" || bail "login failed"
M=$(events_mark)
cut_off "$S"
assert_failure 77 "strict: a refresh whose worker died after sending"
assert_match "$SK_ERR" "cut off" "strict: the line says the refresh was cut off"
assert_contains "$SK_ERR" "sparekey login $S" "strict: ... and names the login to run"
assert_eq "$(file_mode "$(record "$S")")" 600 "strict: the in-flight record is there, mode 0600"
M=$(events_mark)
sk refresh "$S"
assert_failure 77 "strict: the next refresh"
assert_match "$SK_ERR" "a refresh sent at 2[0-9]{3}-[0-9]{2}-[0-9]{2} [0-9:]{8}" "strict: the line says when the refresh was sent"
assert_contains "$SK_ERR" "sparekey login $S" "strict: ... and what to do"
assert_eq "$(refresh_grants_since "$M")" 0 "strict: nothing was sent (no spent token reused)"
sk status "$S"
assert_contains "$SK_OUT" "refresh cut off: run sparekey login" "strict: status says the refresh was cut off and a login is needed"
sk status "$S" --json
assert_eq "$(node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"))[0]; console.log(r.needs_login, /cut off/.test(r.problem))' <<<"$SK_OUT")" "true true" \
    "strict: status --json: needs_login true, the problem names the cut-off refresh"
sk token "$S"
assert_rc 0 "strict: token still hands out the access token while it is valid"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "strict: ... which the provider accepts"
spk_login "$S" "${LOGIN_ARGS[@]}" || bail "login failed"
[ ! -e "$(record "$S")" ] && ok "strict: a new login clears the in-flight record" || not_ok "strict: a new login clears the in-flight record"
sk refresh "$S"
assert_rc 0 "strict: after the new login, refresh works"

# ---------------------------------------------------------------- 3. the grace has passed
E=cutlate
spk_login "$E" "${LOGIN_ARGS[@]}" || bail "login failed"
cfg_set "$E" refresh_reuse_grace 2
cut_off "$E"
assert_rc 75 "late: the cut-off refresh exits 75 (the grace is still open)"
sleep 3
M=$(events_mark)
sk refresh "$E"
assert_failure 77 "late: a refresh after the grace"
assert_match "$SK_ERR" "grace .*has passed" "late: the line says the grace has passed"
assert_eq "$(refresh_grants_since "$M")" 0 "late: nothing was sent"

spk_done
