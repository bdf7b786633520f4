#!/usr/bin/env bash
# store = etcd soak (issue 16): two machines share one grant in a 3-member
# cluster, access tokens live 5 s, for SPK_ETCD_SOAK_SECS (default 90):
#   - on each machine two consumers loop `sparekey token soak --min-valid 2`
#     and check each printed token at once with GET /me;
#   - on each machine a refresh timer runs `sparekey refresh --all
#     --older-than 3s` every 2 s.
# Every call exits 0, every printed token is accepted, the provider sees
# no reuse (no invalid_grant, no revocation), nobody logs in again, and no
# machine keeps the refresh token or a rescue file on its disk.
#
# Peers: provider.mjs, browser, etcd. Env: SPAREKEY, SPK_ETCD_SOAK_SECS.
# Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-etcd.sh"
etcd_begin
SOAK=${SPK_ETCD_SOAK_SECS:-90}
export SPK_ACCESS_TTL=5 SPK_REFRESH_TTL=60 SPK_PROVIDER_QUIET=1
peers_start
etcd_start 3

P=soak
etcd_machine m1 "$P"
etcd_machine m2 "$P"
etcd_login m1 "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login on m1 failed"
machine_copy_profile m1 m2 "$P" || bail "(harness) m1's [$P] group could not be copied"

mkdir -p "$SPK_TMP/soak"
END=$(($(now) + SOAK))
M0=$(events_mark)

# consumer MACHINE NAME: until END, token + /me; one line per call in
# soak/NAME.log: epoch rc me_status sha256(token) (failures in NAME.err)
consumer() {
    local m=$1 name=$2 rc tok st
    export ME_TAG=".$name"
    while [ "$(now)" -lt "$END" ]; do
        on "$m" timeout --kill-after=5 60 "$SPAREKEY" token "$P" --min-valid 2 </dev/null \
            >"$SPK_TMP/soak/$name.out" 2>"$SPK_TMP/soak/$name.lasterr"
        rc=$?
        tok=$(cat "$SPK_TMP/soak/$name.out")
        st=-
        if [ "$rc" -eq 0 ]; then me "$tok"; st=$ME_STATUS; fi
        printf '%s %d %s %s\n' "$(date +%s.%N)" "$rc" "$st" "$(sha256 "$tok" | cut -c1-12)" \
            >>"$SPK_TMP/soak/$name.log"
        if [ "$rc" -ne 0 ] || [ "$st" != 200 ]; then
            { printf '%s exit %d /me %s: ' "$(date +%T)" "$rc" "$st"; cat "$SPK_TMP/soak/$name.lasterr"; } \
                >>"$SPK_TMP/soak/$name.err"
        fi
        sleep 0.2
    done
}

# timer MACHINE: until END, refresh --all --older-than 3s every 2 s
timer() {
    local m=$1 rc
    while [ "$(now)" -lt "$END" ]; do
        on "$m" timeout --kill-after=5 90 "$SPAREKEY" refresh --all --older-than 3s </dev/null \
            >/dev/null 2>"$SPK_TMP/soak/timer-$m.lasterr"
        rc=$?
        printf '%s %d\n' "$(date +%s.%N)" "$rc" >>"$SPK_TMP/soak/timer-$m.log"
        if [ "$rc" -ne 0 ]; then
            { printf '%s exit %d: ' "$(date +%T)" "$rc"; cat "$SPK_TMP/soak/timer-$m.lasterr"; } \
                >>"$SPK_TMP/soak/timer-$m.err"
        fi
        sleep 2
    done
}

diag "soaking for ${SOAK}s on m1 and m2"
PIDS=()
consumer m1 c1 & PIDS+=($!)
consumer m1 c2 & PIDS+=($!)
consumer m2 c3 & PIDS+=($!)
consumer m2 c4 & PIDS+=($!)
timer m1 & PIDS+=($!)
timer m2 & PIDS+=($!)
SPK_PIDS+=("${PIDS[@]}")
wait "${PIDS[@]}"

# Each log line: epoch rc me_status token-hash. Over all four consumers:
ALL=$SPK_TMP/soak/all.log
cat "$SPK_TMP"/soak/c?.log >"$ALL"
for name in c1 c2 c3 c4; do
    n=$(grep -c . "$SPK_TMP/soak/$name.log" 2>/dev/null)
    if [ "${n:-0}" -ge $((SOAK / 2)) ]; then ok "consumer $name made enough calls ($n)"
    else not_ok "consumer $name made enough calls" "only ${n:-0} calls in ${SOAK}s"; fi
done
N=$(grep -c . "$ALL")
FAILED=$(awk '$2 != 0' "$ALL" | grep -c .)
REFUSED=$(awk '$2 == 0 && $3 != 200' "$ALL" | grep -c .)
TOKENS=$(awk '$2 == 0 { print $4 }' "$ALL" | sort -u | grep -c .)
diag "consumers on m1 and m2: $N calls, $TOKENS distinct tokens"
assert_eq "$FAILED" 0 "no token call on either machine failed (of $N)"
[ "$FAILED" -eq 0 ] || diag "$(cat "$SPK_TMP"/soak/c?.err 2>/dev/null | head -n 8)"
assert_eq "$REFUSED" 0 "the provider accepted every printed token when it was printed"
if [ "$TOKENS" -ge $((SOAK / 10)) ]; then ok "the token changed as it expired ($TOKENS tokens)"
else not_ok "the token changed as it expired" "only $TOKENS distinct tokens in ${SOAK}s"; fi
for m in m1 m2; do
    L=$SPK_TMP/soak/timer-$m.log
    n=$(grep -c . "$L" 2>/dev/null); n=${n:-0}
    bad=$(awk '$2 != 0' "$L" | grep -c .)
    if [ "$n" -ge $((SOAK / 4)) ]; then ok "the timer on $m ran often enough ($n runs)"
    else not_ok "the timer on $m ran often enough" "only $n runs"; fi
    if [ "$bad" -eq 0 ]; then ok "timer on $m: every refresh --all exited 0"
    else not_ok "timer on $m: every refresh --all exited 0" "$bad of $n failed; first ones:" \
        "$(head -n 5 "$SPK_TMP/soak/timer-$m.err")"; fi
done
NREF=$(refresh_ok_since "$M0")
diag "the provider saw $NREF successful refreshes during the soak"
if [ "$NREF" -ge $((SOAK / 6)) ]; then ok "the provider saw refreshes throughout ($NREF)"
else not_ok "the provider saw refreshes throughout" "only $NREF"; fi
assert_eq "$(trouble_since "$M0")" "" "the provider saw no reuse, invalid_grant or revocation"
assert_eq "$(logins_since "$M0")" 0 "nobody had to log in again"

RT=$(etcd_grant "$P" | json_get refresh_token)
for m in m1 m2; do
    assert_machine_clean "after the soak" "$m" "$RT"
done
M=$(events_mark)
on m2 sk refresh "$P"
assert_rc 0 "after the soak: refresh on m2 exits 0"
assert_eq "$(trouble_since "$M")" "" "after the soak: the stored refresh token is the live one"

spk_done
