#!/bin/bash
# Soak: short-lived tokens (access 10 s, refresh tokens die after 60 s idle,
# sliding with each rotation) under steady use for about 150 s:
#   - two consumer loops call `sparekey token soak --min-valid 2` and check
#     each printed token at once with GET /me;
#   - a refresher loop runs `sparekey refresh --all --older-than 20s` every
#     few seconds; it alone keeps a second profile, `idle`, alive past the
#     server's 60 s idle expiry.
# Every call must exit 0, every printed token must be accepted, nobody logs
# in again, and the provider must see no invalid_grant or revocation.
#
# Peers: provider.mjs, browser (headless Chromium), gnome-keyring; see lib.sh.
# Env: SPAREKEY; SPK_SOAK_SECS (default 150). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

export SPK_ACCESS_TTL=10 SPK_REFRESH_TTL=60
export SPK_PROVIDER_QUIET=1
SOAK=${SPK_SOAK_SECS:-150}
peers_start

spk_login soak --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login soak failed"
spk_login idle --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login idle failed"
RT_IDLE0=$(grant_field idle refresh_token)

mkdir -p "$SPK_TMP/soak"
END=$(($(now) + SOAK))
M0=$(events_mark)

# consumer NAME: until END, token + /me; one line per call in soak/NAME.log:
#   epoch rc me_status sha256(token)   (stderr of failures in NAME.err)
consumer() {
    local name=$1 rc tok st
    export ME_TAG=".$name"
    while [ "$(now)" -lt "$END" ]; do
        timeout --kill-after=5 60 "$SPAREKEY" token soak --min-valid 2 </dev/null \
            >"$SPK_TMP/soak/$name.out" 2>"$SPK_TMP/soak/$name.lasterr"
        rc=$?
        tok=$(cat "$SPK_TMP/soak/$name.out")
        st=-
        if [ "$rc" -eq 0 ]; then me "$tok"; st=$ME_STATUS; fi
        printf '%s %d %s %s\n' "$(date +%s.%N)" "$rc" "$st" "$(sha256 "$tok" | cut -c1-12)" >>"$SPK_TMP/soak/$name.log"
        if [ "$rc" -ne 0 ] || [ "$st" != 200 ]; then
            { printf '%s exit %d /me %s: ' "$(date +%T)" "$rc" "$st"; cat "$SPK_TMP/soak/$name.lasterr"; } >>"$SPK_TMP/soak/$name.err"
        fi
        sleep 0.2
    done
}

# refresher: until END, refresh --all --older-than 20s every 3 s
refresher() {
    local rc
    while [ "$(now)" -lt "$END" ]; do
        timeout --kill-after=5 90 "$SPAREKEY" refresh --all --older-than 20s </dev/null \
            >/dev/null 2>"$SPK_TMP/soak/refresher.lasterr"
        rc=$?
        printf '%s %d %s\n' "$(date +%s.%N)" "$rc" "$(grep -c refreshed "$SPK_TMP/soak/refresher.lasterr")" >>"$SPK_TMP/soak/refresher.log"
        if [ "$rc" -ne 0 ]; then
            { printf '%s exit %d: ' "$(date +%T)" "$rc"; cat "$SPK_TMP/soak/refresher.lasterr"; } >>"$SPK_TMP/soak/refresher.err"
        fi
        sleep 3
    done
}

diag "soaking for ${SOAK}s"
consumer c1 & P1=$!
consumer c2 & P2=$!
refresher & P3=$!
SPK_PIDS+=("$P1" "$P2" "$P3")
wait "$P1" "$P2" "$P3"

for name in c1 c2; do
    L=$SPK_TMP/soak/$name.log
    n=$(grep -c . "$L" 2>/dev/null); n=${n:-0}
    bad_rc=$(awk '$2 != 0' "$L" | grep -c .)
    bad_me=$(awk '$2 == 0 && $3 != 200' "$L" | grep -c .)
    distinct=$(awk '$2 == 0 { print $4 }' "$L" | sort -u | grep -c .)
    diag "consumer $name: $n calls, $distinct distinct tokens"
    if [ "$n" -ge 100 ]; then ok "consumer $name made enough calls ($n)"
    else not_ok "consumer $name made enough calls" "only $n calls in ${SOAK}s"; fi
    if [ "$bad_rc" -eq 0 ]; then ok "consumer $name: every token call exited 0"
    else not_ok "consumer $name: every token call exited 0" "$bad_rc of $n failed; first ones:" "$(head -n 5 "$SPK_TMP/soak/$name.err")"; fi
    if [ "$bad_me" -eq 0 ]; then ok "consumer $name: /me accepted every printed token when it was printed"
    else not_ok "consumer $name: /me accepted every printed token when it was printed" "$bad_me of $n were refused; first ones:" "$(head -n 5 "$SPK_TMP/soak/$name.err")"; fi
    if [ "$distinct" -ge $((SOAK / 12)) ]; then ok "consumer $name saw the token change as it expired ($distinct tokens)"
    else not_ok "consumer $name saw the token change as it expired" "only $distinct distinct tokens in ${SOAK}s with a 10 s lifetime"; fi
done
L=$SPK_TMP/soak/refresher.log
n=$(grep -c . "$L" 2>/dev/null); n=${n:-0}
bad=$(awk '$2 != 0' "$L" | grep -c .)
diag "refresher: $n runs, $(awk '{ s += $3 } END { print s + 0 }' "$L") profile refreshes"
if [ "$n" -ge $((SOAK / 6)) ]; then ok "the refresher ran often enough ($n runs)"
else not_ok "the refresher ran often enough" "only $n runs"; fi
if [ "$bad" -eq 0 ]; then ok "refresher: every refresh --all exited 0"
else not_ok "refresher: every refresh --all exited 0" "$bad of $n failed; first ones:" "$(head -n 5 "$SPK_TMP/soak/refresher.err")"; fi

NREF=$(refresh_ok_since "$M0")
diag "the provider saw $NREF successful refreshes during the soak"
if [ "$NREF" -ge $((SOAK / 10)) ]; then ok "the provider saw refreshes throughout ($NREF)"
else not_ok "the provider saw refreshes throughout" "only $NREF"; fi
T=$(trouble_since "$M0")
assert_eq "$T" "" "the provider saw no invalid_grant, grant error or revocation"
assert_eq "$(logins_since "$M0")" 0 "nobody had to log in again"

# `idle` was used by nobody but the refresher, for longer than its 60 s idle life.
sk token idle --min-valid 2
assert_rc 0 "idle (kept alive only by refresh --all for ${SOAK}s > 60 s idle expiry): token exits 0"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "idle: the provider accepts its token"
assert_new "$(grant_field idle refresh_token)" "$RT_IDLE0" "idle: its refresh token was rotated by the refresher"
sk token soak --min-valid 2
assert_rc 0 "soak: token still works after the soak"
LEFT=$(find "$XDG_STATE_HOME" -name '*.rescue' 2>/dev/null)
assert_eq "$LEFT" "" "no rescue file is left behind"

spk_done
