#!/bin/bash
# `sparekey check [PROFILE... | --all] [--within DAYS] [--json]` (issue 17):
# will a person be needed? Monitoring Plugins conventions, from real states,
# with no network, no refresh and no lock:
#   0 OK        a fresh grant
#   1 WARNING   a refresh token dies within DAYS unless used (idle expiry
#               near), or the last refresh failed temporarily
#   2 CRITICAL  a person must log in now (revoked grant, no grant)
#   3 UNKNOWN   cannot tell (keyring locked)
# One line on stdout: "SPAREKEY <STATE> - <profile>: <why>"; --json for
# scripts (an array, one object per profile with "profile" and "status").
# The provider's counters (event log and access log) are unchanged by every
# check, and a check runs while a refresh holds the profile's lock.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-headless.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-consumers.sh"
trap peers_stop EXIT

peers_start
badpeer_start

ARGS=(--issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access")
for p in fresh idle revoked flaky; do
    spk_login "$p" "${ARGS[@]}" || bail "login $p failed"
done

# net_mark / net_same WHAT MARK: nothing reached the provider or badpeer
net_mark() { echo "$(events_mark) $(nlines "$SPK_TMP/provider.log") $(nlines "$SPK_BADPEER_LOG")"; }
net_same() { assert_eq "$(net_mark)" "$2" "$1: no network traffic (provider and badpeer counters unchanged)"; }

# chk WHAT CODE STATE PROFILE [ARGS...]: `check PROFILE ARGS` exits CODE and
# says "SPAREKEY STATE - PROFILE: …" on one line, with no network traffic
chk() {
    local what=$1 code=$2 state=$3 p=$4 m; shift 4
    m=$(net_mark)
    sk check "$p" "$@"
    assert_rc "$code" "$what: exits $code"
    assert_match "$SK_OUT" "^SPAREKEY $state - $p: " "$what: SPAREKEY $state - $p: …"
    assert_eq "$(nlines "$SPK_TMP/sk.out")" 1 "$what: one line"
    net_same "$what" "$m"
}

# ---------------------------------------------------------------- OK
chk "check fresh" 0 OK fresh

# ---------------------------------------------------------------- WARNING: idle expiry near
cfg_set idle refresh_idle_days 10
chk "check idle (10 days left) --within 14" 1 WARNING idle --within 14
assert_match "$SK_OUT" 'refresh token expires in (9|10) days unless used' \
    "check idle: says the refresh token expires in 9 or 10 days unless used"
chk "check idle (10 days left) --within 5" 0 OK idle --within 5

# ---------------------------------------------------------------- WARNING: the last refresh failed for now
cfg_set flaky token_endpoint "$BADPEER/503"
sk refresh flaky
assert_rc 75 "(setup) refresh flaky against a 503: exits 75"
chk "check flaky (last refresh failed temporarily)" 1 WARNING flaky
cfg_unset flaky token_endpoint

# ---------------------------------------------------------------- CRITICAL
grant_revoke revoked
sk refresh revoked
assert_rc 77 "(setup) refresh revoked: exits 77"
chk "check revoked" 2 CRITICAL revoked
assert_contains "$SK_OUT" "sparekey login revoked" "check revoked: says to run sparekey login revoked"
cfg_set never issuer "$ISSUER"
cfg_set never client_id sparekey-native
chk "check never (configured, never logged in)" 2 CRITICAL never

# ---------------------------------------------------------------- several profiles, --all, --json
m=$(net_mark)
sk check fresh idle --within 14
assert_rc 1 "check fresh idle: exits 1 (the worst of OK and WARNING)"
assert_match "$(head -n 1 "$SPK_TMP/sk.out")" '^SPAREKEY WARNING - ' "check fresh idle: the first line says WARNING"
sk check --all --within 14
assert_rc 2 "check --all: exits 2 (revoked and never are CRITICAL)"
assert_match "$(head -n 1 "$SPK_TMP/sk.out")" '^SPAREKEY CRITICAL - ' "check --all: the first line says CRITICAL"
sk check --all --within 14 --json
assert_rc 2 "check --all --json: exits 2, as without --json"
J=$SK_OUT
# shellcheck disable=SC2016 # a JavaScript template string
st=$(node -e 'const a = JSON.parse(require("fs").readFileSync(0, "utf8"));
              console.log(a.map((o) => `${o.profile}=${o.status}`).sort().join(" "))' <<<"$J" 2>&1)
assert_eq "$st" "flaky=WARNING fresh=OK idle=WARNING never=CRITICAL revoked=CRITICAL" \
    "check --all --json: each profile's status"
for p in fresh idle; do
    for f in access_token refresh_token; do
        v=$(grant_field "$p" "$f")
        [ -n "$v" ] && assert_not_contains "$J" "$v" "check --json: no $f of $p"
    done
done
net_same "check with several profiles, --all, --json" "$m"

# ---------------------------------------------------------------- no lock
echo 4000 >"$SPK_TOKEN_DELAY_FILE"
"$SPAREKEY" refresh fresh </dev/null >/dev/null 2>&1 &
rpid=$!
sleep 1
sk --timeout 30 check fresh
assert_rc 0 "check fresh while a refresh of fresh holds its lock: exits 0"
if in_range "$SK_SECS" 0 2; then ok "... at once, without waiting for the lock (${SK_SECS}s)"
else not_ok "... at once, without waiting for the lock" "took ${SK_SECS}s"; fi
wait "$rpid"
rm -f -- "$SPK_TOKEN_DELAY_FILE"

# ---------------------------------------------------------------- UNKNOWN: keyring locked
assert_eq "$(keyring_lock)" true "(setup) the login collection is now locked"
chk "check fresh with the keyring locked" 3 UNKNOWN fresh
assert_icontains "$SK_OUT" locked "check with the keyring locked: says it is locked"
assert_eq "$(keyring_unlock)" false "(setup) the login collection is unlocked again"
chk "check fresh again" 0 OK fresh

spk_done
