#!/usr/bin/env bash
# store = etcd when things fail (issue 16). Three machines m1, m2, m3 share
# a grant in a 3-member cluster; the provider is strict (a reused refresh
# token revokes the grant). Needs a build with -Dfault_injection=true.
#   1. etcd_endpoints with plain http:// to an address that is not
#      loopback: refused with exit 78 before any connection.
#   2. The stampede (20 `token` per machine on an expired grant) while the
#      etcd leader is killed with SIGKILL: every caller exits 0 or 75 (one
#      line), every printed token is accepted, no reuse at the provider,
#      and the grant keeps working.
#   3. The whole cluster down: token and refresh exit 69 or 75 with one
#      line, nothing reaches the provider; the grant is byte-identical when
#      the cluster comes back, and works. Every member frozen (accepts,
#      never answers): 75.
#   4. A holder frozen right after its refresh request was answered
#      (SPAREKEY_FAULT=stop-after-send, then its whole machine SIGSTOPped)
#      for longer than its 15 s lease: the other machines exit 75 naming
#      its host and never spend the refresh token; after SIGCONT it stores
#      the rotated grant and everyone continues.
#
# Peers: provider.mjs, browser, etcd (etcd-server, etcd-client).
# Env: SPAREKEY (with fault injection). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-etcd.sh"
etcd_begin
# Long enough that the token a holder frozen for 20 s brings back is
# still valid when it prints it.
export SPK_ACCESS_TTL=30
peers_start
unset SPAREKEY_FAULT
etcd_start 3

P=fleet
MACHINES="m1 m2 m3"
for m in $MACHINES; do etcd_machine "$m" "$P"; done
etcd_login m1 "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login on m1 failed; nothing else can be checked"
machine_copy_profile m1 m2 "$P" && machine_copy_profile m1 m3 "$P" \
    || bail "(harness) m1's [$P] group could not be copied"

# wait_expired: until the access token in the cluster has expired
wait_expired() {
    local exp
    exp=$(etcd_grant "$P" | json_get expires_at)
    [ -n "$exp" ] || return 0
    sleep_until "$((${exp%.*} + 1))"
}

# fails_one_line WHAT RCS: the last sk exited with one of RCS (e.g. "69 75"),
# one line on stderr, nothing on stdout
fails_one_line() {
    case " $2 " in
        *" $SK_RC "*) ok "$1: exits ${2// / or } ($SK_RC)" ;;
        *) not_ok "$1: exits ${2// / or }" "got $SK_RC" ;;
    esac
    assert_stderr_one_line "$1: exactly one line on stderr"
    assert_stdout_empty "$1: nothing on stdout"
}

# ================================================================ 1. http:// off loopback
etcd_machine m4 "$P"
machine_copy_profile m1 m4 "$P"
on m4 cfg_set "$P" etcd_endpoints "http://192.0.2.1:2379"
on m4 sk --timeout 30 token "$P" --min-valid 1
assert_failure 78 "http://192.0.2.1 (not loopback) in etcd_endpoints: token"
assert_icontains "$SK_ERR" https "... the line says https:// is required"
if in_range "$SK_SECS" 0 3; then ok "... refused at once, before any connection (${SK_SECS}s)"
else not_ok "... refused at once, before any connection" "took ${SK_SECS}s"; fi
on m4 cfg_set "$P" etcd_endpoints "${ETCD_ENDPOINTS%% *} http://192.0.2.1:2379"
on m4 sk --timeout 30 token "$P" --min-valid 1
assert_failure 78 "a loopback endpoint, then http://192.0.2.1: token refuses the whole list"
on m4 sk --timeout 30 refresh "$P"
assert_failure 78 "... and refresh too"

# ================================================================ 2. the stampede, leader killed
wait_expired
M=$(events_mark)
G0=$(etcd_grant "$P")
N=20
L=$(etcd_leader)
diag "the leader is e$L; it will be killed 0.3 s into the stampede"
FLEET_AT_GO="sleep 0.3; etcd_kill_leader" fleet_burst "$N" "$MACHINES" token "$P" --min-valid 1
diag "3 x $N token calls took ${FLEET_SECS}s; exit statuses: $(fleet_rcs | tr '\n' ' ')"
if [ -n "${ETCD_KILLED:-}" ] && ! proc_alive "${ETCD_PIDS[ETCD_KILLED]}"; then
    ok "(harness) the leader e$ETCD_KILLED was killed during the stampede"
else not_ok "(harness) the leader was killed during the stampede"; fi
assert_eq "$(fleet_bad "0 75")" "" "leader killed: every caller exits 0 or 75"
MULTI=""
for f in "$SPK_TMP"/burst/*.rc; do
    [ "$(cat "$f")" = 75 ] || continue
    [ "$(nlines "${f%.rc}.err")" = 1 ] || MULTI="$MULTI ${f##*/}"
done
assert_eq "$MULTI" "" "leader killed: each caller that exits 75 prints one line"
NT=0
while IFS= read -r t; do
    NT=$((NT + 1))
    me "$t"
    assert_eq "$ME_STATUS" 200 "leader killed: printed token #$NT is accepted (GET /me)"
done < <(fleet_tokens)
diag "leader killed: $NT distinct tokens printed"
assert_eq "$(trouble_since "$M")" "" "leader killed: no reuse, grant error or revocation at the provider"
etcd_start_all || bail "(harness) the killed member did not come back"
on m2 sk refresh "$P"
assert_rc 0 "after the leader kill: refresh on m2 exits 0 (no grant lost)"
assert_eq "$(trouble_since "$M")" "" "after the leader kill: still no trouble at the provider"
on m3 sk token "$P" --min-valid 1
assert_rc 0 "after the leader kill: token on m3 exits 0"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "... with a token the provider accepts"
assert_eq "$(logins_since "$M")" 0 "after the leader kill: nobody had to log in"

# ================================================================ 3. the cluster down
wait_expired
G=$(etcd_grant "$P")
M=$(events_mark)
etcd_stop_all
on m2 sk --timeout 90 token "$P" --min-valid 1
fails_one_line "cluster down: token on m2" "69 75"
on m1 sk --timeout 90 token "$P" --min-valid 1
fails_one_line "cluster down: token on m1 (its cache is stale)" "69 75"
on m3 sk --timeout 90 refresh "$P"
fails_one_line "cluster down: refresh on m3" "69 75"
assert_eq "$(refresh_grants_since "$M")" 0 "cluster down: no refresh reached the provider"
etcd_start_all || bail "(harness) the cluster did not come back"
assert_eq "$(etcd_grant "$P")" "$G" "cluster back: the grant is byte-identical"
on m3 sk token "$P" --min-valid 1
assert_rc 0 "cluster back: token on m3 exits 0"
assert_new "$SK_OUT" "$(json_get access_token <<<"$G")" "cluster back: ... with a new token"
assert_eq "$(refresh_ok_since "$M")" 1 "cluster back: one refresh"
assert_eq "$(trouble_since "$M")" "" "cluster back: no trouble at the provider"

wait_expired
G=$(etcd_grant "$P")
M=$(events_mark)
etcd_freeze "${ETCD_PIDS[@]}"
on m2 sk --timeout 90 token "$P" --min-valid 1
fails_one_line "every member frozen (accepts, never answers): token on m2" 75
if in_range "$SK_SECS" 0 45; then ok "every member frozen: token gives up in bounded time (${SK_SECS}s)"
else not_ok "every member frozen: token gives up in bounded time" "took ${SK_SECS}s"; fi
assert_eq "$(refresh_grants_since "$M")" 0 "every member frozen: no refresh reached the provider"
etcd_thaw "${ETCD_PIDS[@]}"
etcd_wait_healthy 30 || bail "(harness) the cluster did not recover from SIGSTOP"
assert_eq "$(etcd_grant "$P")" "$G" "thawed: the grant is byte-identical"
on m2 sk token "$P" --min-valid 1
assert_rc 0 "thawed: token on m2 exits 0"
assert_eq "$(trouble_since "$M")" "" "thawed: no trouble at the provider"

# ================================================================ 4. a holder frozen past its lease
wait_expired
G0=$(etcd_grant "$P")
AT0=$(json_get access_token <<<"$G0")
RT0=$(json_get refresh_token <<<"$G0")
M=$(events_mark)
(
    export SPAREKEY_FAULT=stop-after-send
    on m1 timeout --kill-after=5 300 "$SPAREKEY" token "$P" --min-valid 1 </dev/null \
        >"$SPK_TMP/holder.out" 2>"$SPK_TMP/holder.err"
    echo $? >"$SPK_TMP/holder.rc"
) &
HOLDER=$!
STOPPED=""
for ((i = 0; i < 300; i++)); do
    STOPPED=$(stopped_sparekeys)
    [ -n "$STOPPED" ] && break
    [ -e "$SPK_TMP/holder.rc" ] && break
    sleep 0.1
done
if [ -z "$STOPPED" ]; then
    not_ok "stop-after-send: a sparekey process of m1 stops itself after the provider answered" \
        "holder exit: $(cat "$SPK_TMP/holder.rc" 2>/dev/null)" "$(cat "$SPK_TMP/holder.err" 2>/dev/null)"
    for pid in $(sparekeys_under "$HOLDER"); do stop_pid "$pid"; done
    wait "$HOLDER"
    spk_done
fi
ok "stop-after-send: a sparekey process of m1 stopped itself (pid ${STOPPED//$'\n'/ })"
# The whole machine stops: its caller and worker, whichever keeps the lease.
FROZEN=$(sparekeys_under "$HOLDER" | tr '\n' ' ')
# shellcheck disable=SC2086
etcd_freeze $FROZEN $STOPPED
diag "m1 frozen: $FROZEN $STOPPED"
assert_eq "$(refresh_ok_since "$M")" 1 "stop-after-send: the provider answered m1's refresh (the token is spent)"
diag "waiting 20 s: past m1's 15 s lease"
sleep 20
for m in m2 m3; do
    on "$m" sk --timeout 90 token "$P" --min-valid 1
    assert_failure 75 "m1 frozen past its lease: token on $m"
    assert_contains "$SK_ERR" "$(hostname)" "m1 frozen: $m's line names the holder's host"
done
assert_eq "$(refresh_grants_since "$M")" 1 "m1 frozen: m2 and m3 never spent the refresh token"
# Another machine's refresh under way is not a login (status, status --json, check).
on m2 sk status "$P"
assert_contains "$SK_OUT" "refresh under way on $(hostname) since" "m1 frozen: status on m2 says the refresh is under way on m1's host"
assert_not_contains "$SK_OUT" "run sparekey login" "m1 frozen: ... and asks for no login"
on m2 sk status "$P" --json
assert_eq "$(node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"))[0]; console.log(r.needs_login, /under way/.test(r.problem))' <<<"$SK_OUT")" "false true" \
    "m1 frozen: status --json on m2: needs_login false, the problem says the refresh is under way"
on m3 sk check "$P"
assert_rc 1 "m1 frozen: check on m3 exits 1 (WARNING, not CRITICAL)"
assert_match "$SK_OUT" "^SPAREKEY WARNING - $P: refresh under way on " "m1 frozen: check on m3 says WARNING, the refresh under way"
assert_eq "$(etcd_grant "$P")" "$G0" "m1 frozen: the grant in the cluster is unchanged"
# shellcheck disable=SC2086
etcd_thaw $STOPPED $FROZEN
for ((i = 0; i < 600; i++)); do [ -e "$SPK_TMP/holder.rc" ] && break; sleep 0.1; done
wait "$HOLDER"
assert_eq "$(cat "$SPK_TMP/holder.rc" 2>/dev/null)" 0 "m1 thawed: its token call exits 0"
AT1=$(cat "$SPK_TMP/holder.out")
assert_shared_token "m1 thawed, it stored its answer" "$P" "$AT1" "$AT0" "$RT0"
for m in m2 m3; do
    on "$m" sk token "$P" --min-valid 1
    assert_rc 0 "m1 thawed: token on $m exits 0"
    assert_eq "$SK_OUT" "$AT1" "m1 thawed: $m prints m1's new token"
done
assert_eq "$(refresh_grants_since "$M")" 1 "m1 thawed: still one refresh in all"
on m2 sk refresh "$P"
assert_rc 0 "m1 thawed: refresh on m2 exits 0"
assert_eq "$(trouble_since "$M")" "" "m1 frozen and thawed: no reuse, grant error or revocation"
assert_eq "$(logins_since "$M")" 0 "m1 frozen and thawed: nobody had to log in"

spk_done
