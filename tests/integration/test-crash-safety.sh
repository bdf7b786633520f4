#!/bin/bash
# Crash-safe rotation against a strict server (rotating refresh tokens,
# reuse revokes the whole grant). Needs a build with -Dfault_injection=true:
# $SPAREKEY_FAULT selects a fault point. A refresh is sent by a detached
# worker (sparekey-worker) that journals the answer and, if its caller is
# gone, stores it itself.
#   1. kill-after-journal: the caller dies (SIGKILL) right after the worker
#      handed back the journaled answer, before storing it; the worker
#      stores it: the keyring holds the new grant, the rescue file
#      $XDG_STATE_HOME/sparekey/P.rescue is gone, no second refresh.
#   2. kill-after-store: the caller dies after the keyring write, before
#      the journal is removed; the worker removes it.
#   3. kill-after-journal during `refresh`, then `refresh` again.
#   4. fail-store: the keyring write fails (in the caller and the worker):
#      exit 75, the line names the rescue file, which stays; the next plain
#      run recovers.
#   5. For the keyring and for store = file: SPK_KILL_ROUNDS (default 120)
#      runs each, `refresh P` and `token P` on a grant that needs
#      refreshing in turn, killed at a random moment in 0-120 ms three ways
#      in turn: kill -9 PID, kill -9 -PGID (started with setsid), and
#      timeout -s KILL. Afterwards the grant still refreshes and its token
#      is accepted; the provider saw no reuse of a spent refresh token; the
#      kills landed during exchanges often enough; no sparekey process is
#      left running.
#   6. `refresh --all` over both (one shared worker, a thread per profile),
#      its process group killed mid-run six times: no reuse, and it works
#      afterwards.
#   7. kill-after-revoke: logout dies once the revocation was answered; the
#      worker deletes the grant here, and the provider no longer takes it.
#
# Peers: provider.mjs, browser (headless Chromium), gnome-keyring; see lib.sh.
# Env: SPAREKEY (default build/sparekey; must have fault injection),
#      SPK_KILL_ROUNDS (default 120). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

TTL=6
export SPK_ACCESS_TTL=$TTL
peers_start
unset SPAREKEY_FAULT

P=crash
RESCUE_DIR=$XDG_STATE_HOME/sparekey
RESCUE=$RESCUE_DIR/$P.rescue
ROUNDS=${SPK_KILL_ROUNDS:-120}

spk_login "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login failed; nothing else can be checked"

# faulty FAULT ARGS...: sk with $SPAREKEY_FAULT set for this run only
faulty() {
    local f=$1; shift
    export SPAREKEY_FAULT=$f
    sk --timeout 60 "$@"
    unset SPAREKEY_FAULT
}

# wait_expired: until the stored access token has expired
wait_expired() {
    local exp
    exp=$(grant_field "$P" expires_at)
    [ -n "$exp" ] || return 0
    sleep_until "$((${exp%.*} + 1))"
}

rescue_present() {   # WHAT
    if [ -f "$RESCUE" ]; then ok "$1: the rescue file $RESCUE exists"
    else not_ok "$1: the rescue file $RESCUE exists" "$(ls -la "$RESCUE_DIR" 2>&1)"; return 1; fi
    assert_eq "$(file_mode "$RESCUE")" 600 "$1: the rescue file has mode 0600"
    assert_eq "$(file_mode "$RESCUE_DIR")" 700 "$1: its directory has mode 0700"
}

rescue_gone() {   # WHAT
    if [ ! -e "$RESCUE" ]; then ok "$1: the rescue file is gone"
    else not_ok "$1: the rescue file is gone" "$(ls -la "$RESCUE_DIR" 2>&1)"; fi
}

# recovered WHAT MARK OLD_RT: the last sk was a plain `token` that must have
# recovered: a token /me accepts, stored; rotated refresh token; nothing
# spent was reused.
recovered_by_token() {
    local what=$1 mark=$2 old_rt=$3 g
    assert_rc 0 "$what: a plain token exits 0 (no new login)"
    assert_eq "$(nlines "$SPK_TMP/sk.out")" 1 "$what: token prints one line"
    me "$SK_OUT"
    assert_eq "$ME_STATUS" 200 "$what: the provider accepts the printed token (GET /me)"
    g=$(grant_lookup "$P")
    assert_eq "$(json_get access_token <<<"$g")" "$SK_OUT" "$what: the keyring holds the printed token"
    assert_new "$(json_get refresh_token <<<"$g")" "$old_rt" "$what: the keyring holds the rotated refresh token"
    rescue_gone "$what"
    assert_eq "$(trouble_since "$mark")" "" "$what: the provider saw no reuse of a spent token (no grant error, nothing revoked)"
    assert_eq "$(logins_since "$mark")" 0 "$what: nobody had to log in again"
}

# still_live WHAT: a refresh with the stored refresh token is accepted
still_live() {
    local m
    m=$(events_mark)
    sk refresh "$P"
    assert_rc 0 "$1: a further refresh with the stored refresh token works"
    assert_eq "$(trouble_since "$m")" "" "$1: ... and the provider reports no error"
}

# worker_settled: until no process holds P's refresh lock (the worker of a
# killed caller has stored its answer and ended), at most 30 s.
worker_settled() {   # [PROFILE]
    flock -w 30 "$XDG_RUNTIME_DIR/sparekey/${1:-$P}.lock" true
}

# ---------------------------------------------------------------- 1. kill-after-journal
wait_expired
G0=$(grant_lookup "$P"); RT0=$(json_get refresh_token <<<"$G0")
M=$(events_mark)
faulty kill-after-journal token "$P" --min-valid 1
assert_rc 137 "kill-after-journal: token dies by SIGKILL (exit 137)"
assert_stdout_empty "kill-after-journal: no token was printed"
worker_settled || not_ok "kill-after-journal: the worker ends within 30 s"
assert_eq "$(refresh_ok_since "$M")" 1 "kill-after-journal: the provider rotated the refresh token (one refresh)"
rescue_gone "kill-after-journal: the worker stored the answer"
RTK=$(grant_field "$P" refresh_token)
assert_new "$RTK" "$RT0" "kill-after-journal: the keyring holds the NEW refresh token (stored by the worker)"
sk token "$P" --min-valid 1
recovered_by_token "after kill-after-journal" "$M" "$RT0"
assert_eq "$(grant_field "$P" refresh_token)" "$RTK" "after kill-after-journal: the keyring keeps the refresh token the worker stored"
assert_eq "$(refresh_grants_since "$M")" 1 "after kill-after-journal: no second refresh was needed"
still_live "after kill-after-journal"

# ---------------------------------------------------------------- 2. kill-after-store
wait_expired
G0=$(grant_lookup "$P"); RT0=$(json_get refresh_token <<<"$G0")
M=$(events_mark)
faulty kill-after-store token "$P" --min-valid 1
assert_rc 137 "kill-after-store: token dies by SIGKILL (exit 137)"
assert_stdout_empty "kill-after-store: no token was printed"
worker_settled || not_ok "kill-after-store: the worker ends within 30 s"
assert_eq "$(refresh_ok_since "$M")" 1 "kill-after-store: the provider rotated the refresh token (one refresh)"
rescue_gone "kill-after-store: the worker removed the journal"
RTK=$(grant_field "$P" refresh_token)
assert_new "$RTK" "$RT0" "kill-after-store: the keyring holds the NEW refresh token"
sk token "$P" --min-valid 1
recovered_by_token "after kill-after-store" "$M" "$RT0"
assert_eq "$(grant_field "$P" refresh_token)" "$RTK" "after kill-after-store: the keyring keeps the refresh token of the killed run"
assert_eq "$(refresh_grants_since "$M")" 1 "after kill-after-store: no second refresh was needed"
still_live "after kill-after-store"

# ---------------------------------------------------------------- 3. kill-after-journal, then refresh
G0=$(grant_lookup "$P"); RT0=$(json_get refresh_token <<<"$G0")
M=$(events_mark)
faulty kill-after-journal refresh "$P"
assert_rc 137 "kill-after-journal during refresh: dies by SIGKILL (exit 137)"
worker_settled || not_ok "kill-after-journal during refresh: the worker ends within 30 s"
rescue_gone "kill-after-journal during refresh: the worker stored the answer"
assert_new "$(grant_field "$P" refresh_token)" "$RT0" "kill-after-journal during refresh: the keyring holds the NEW refresh token"
sk refresh "$P"
assert_rc 0 "refresh after a killed refresh: exits 0"
assert_eq "$(refresh_ok_since "$M")" 2 "refresh after a killed refresh: two refreshes in all (the killed one, then one with the token it stored)"
assert_eq "$(trouble_since "$M")" "" "refresh after a killed refresh: no reuse of a spent token (no grant error, nothing revoked)"
me "$(grant_field "$P" access_token)"
assert_eq "$ME_STATUS" 200 "refresh after a killed refresh: the provider accepts the stored access token"

# ---------------------------------------------------------------- 4. fail-store
wait_expired
G0=$(grant_lookup "$P"); RT0=$(json_get refresh_token <<<"$G0")
M=$(events_mark)
faulty fail-store token "$P" --min-valid 1
assert_failure 75 "fail-store: token"
assert_match "$SK_ERR" "rescue" "fail-store: the line mentions the rescue file"
assert_contains "$SK_ERR" "$P.rescue" "fail-store: the line names $P.rescue"
rescue_present "fail-store"
assert_eq "$(grant_lookup "$P")" "$G0" "fail-store: the stored grant is byte-identical"
sk token "$P" --min-valid 1
recovered_by_token "after fail-store" "$M" "$RT0"
assert_eq "$(refresh_grants_since "$M")" 1 "after fail-store: the recovery needed no second refresh"
still_live "after fail-store"

# ---------------------------------------------------------------- 5. random SIGKILLs
# stored_rt PROFILE: the refresh token in the profile's store
stored_rt() {
    if [ "$1" = "$PF" ]; then json_get refresh_token <"$XDG_STATE_HOME/sparekey/$PF.grant"
    else grant_field "$1" refresh_token; fi
}

# own_sparekey_pids: sparekey processes of this test (its private HOME), not zombies
own_sparekey_pids() {
    local d pid exe
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        exe=$(readlink "$d/exe" 2>/dev/null) || continue
        case ${exe##*/} in sparekey | sparekey-cli | sparekey-worker) ;; *) continue ;; esac
        tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -qxF "HOME=$HOME" || continue
        proc_alive "$pid" && echo "$pid"
    done
}

# kill_rounds PROFILE: ROUNDS runs, each killed at a random moment in 0-120 ms
kill_rounds() {
    local p=$1 r how cmd us delay pid rc m start killed=0 mid=0 log="$SPK_TMP/rounds-$1.log"
    start=$(events_mark)
    : >"$log"
    for ((r = 1; r <= ROUNDS; r++)); do
        # A grant that needs refreshing: `refresh`, or `token` asked for more than any token has.
        if ((r % 2)); then cmd=(refresh "$p"); else cmd=(token "$p" --min-valid 86400); fi
        us=$((1000 + (RANDOM * 32768 + RANDOM) % 119001))
        delay=$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))
        m=$(events_mark)
        case $((r % 3)) in
        1)  how="kill -9 PID"
            "$SPAREKEY" "${cmd[@]}" </dev/null >/dev/null 2>>"$SPK_TMP/round.err" &
            pid=$!; sleep "$delay"; kill -KILL "$pid" 2>/dev/null ;;
        2)  how="kill -9 -PGID"
            setsid "$SPAREKEY" "${cmd[@]}" </dev/null >/dev/null 2>>"$SPK_TMP/round.err" &
            pid=$!; sleep "$delay"; kill -KILL -- "-$pid" 2>/dev/null ;;
        0)  how="timeout -s KILL"
            timeout -s KILL "$delay" "$SPAREKEY" "${cmd[@]}" </dev/null >/dev/null 2>>"$SPK_TMP/round.err" &
            pid=$! ;;
        esac
        { wait "$pid"; } 2>/dev/null; rc=$?
        # The caller is gone; its worker (if any) ends on its own.
        worker_settled "$p" || not_ok "$p round $r: the refresh lock is free again within 30 s"
        local n; n=$(refresh_ok_since "$m")
        if [ "$rc" -eq 137 ] || [ "$rc" -eq 124 ]; then
            killed=$((killed + 1))
            [ "$n" -gt 0 ] && mid=$((mid + 1))
        fi
        printf 'round %d: %s %s after %s s: exit %d; refreshes seen: %d\n' "$r" "$how" "${cmd[0]}" "$delay" "$rc" "$n" >>"$log"
    done
    diag "$p: $ROUNDS rounds, $killed killed before they finished, $mid of them after the request had reached the provider"
    assert_eq "$(trouble_since "$start")" "" "$p: after $ROUNDS killed runs the provider saw no reuse of a spent refresh token (no grant error, nothing revoked)" \
        || diag_file "$log"
    if [ "$mid" -ge $((ROUNDS / 10)) ]; then ok "$p: (harness) kills landed during exchanges ($mid of $ROUNDS rounds)"
    else not_ok "$p: (harness) kills landed during exchanges" "only $mid of $ROUNDS rounds were killed after the request reached the provider"; diag_file "$log"; fi
    M=$(events_mark)
    RT_BEFORE=$(stored_rt "$p")
    sk refresh "$p"
    assert_rc 0 "$p: after $ROUNDS killed runs the grant still refreshes"
    assert_new "$(stored_rt "$p")" "$RT_BEFORE" "$p: ... and the store holds the rotated refresh token"
    sk token "$p"
    assert_rc 0 "$p: after $ROUNDS killed runs token exits 0"
    me "$SK_OUT"
    assert_eq "$ME_STATUS" 200 "$p: the provider accepts the token"
    assert_eq "$(trouble_since "$M")" "" "$p: ... and reports no error"
    [ ! -e "$XDG_STATE_HOME/sparekey/$p.rescue" ] && [ ! -e "$XDG_STATE_HOME/sparekey/$p.inflight" ] \
        && ok "$p: no rescue journal or in-flight record is left" \
        || not_ok "$p: no rescue journal or in-flight record is left" "$(ls -la "$XDG_STATE_HOME/sparekey" 2>&1)"
}

PF=crashfile
sk --timeout 90 login "$PF" --timeout 60 --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" --store file
assert_rc 0 "login $PF --store file: exits 0"
[ -s "$XDG_STATE_HOME/sparekey/$PF.grant" ] || bail "no grant file for $PF"

kill_rounds "$P"
kill_rounds "$PF"

# ---------------------------------------------------------------- 6. refresh --all, killed
# Both profiles at once, each through its own worker; the whole process
# group killed mid-run, six times: every refresh sent still lands.
M=$(events_mark)
for ((r = 1; r <= 6; r++)); do
    us=$((1000 + (RANDOM * 32768 + RANDOM) % 119001))
    setsid "$SPAREKEY" refresh --all --older-than 0 </dev/null >/dev/null 2>>"$SPK_TMP/round.err" &
    pid=$!
    sleep "$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))"
    kill -KILL -- "-$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    worker_settled "$P"; worker_settled "$PF"
done
assert_eq "$(trouble_since "$M")" "" "refresh --all killed 6 times: the provider saw no reuse of a spent refresh token"
sk -v refresh --all --older-than 0
assert_rc 0 "refresh --all killed 6 times: the next refresh --all works for both"
assert_eq "$(grep -c 'worker: shared' <<<"$SK_ERR")" 1 "(refresh --all sent both through one shared worker)"
assert_eq "$(trouble_since "$M")" "" "... and the provider reports no error"

# ---------------------------------------------------------------- 7. logout, killed after revoking
# The caller dies once the worker's revocation was answered, before it
# deleted anything: the worker deletes the grant here.
RT_GONE=$(grant_field "$P" refresh_token)
faulty kill-after-revoke logout "$P"
assert_rc 137 "kill-after-revoke: logout dies by SIGKILL (exit 137)"
worker_settled || not_ok "kill-after-revoke: the worker ends within 30 s"
assert_eq "$(grant_lookup "$P")" "" "kill-after-revoke: the worker deleted the grant here"
token_post "grant_type=refresh_token&client_id=sparekey-native&refresh_token=$(urlencode "$RT_GONE")"
assert_eq "$TP_STATUS" 400 "kill-after-revoke: the provider no longer takes the revoked refresh token"

sleep 3
left=$(own_sparekey_pids)
assert_eq "$left" "" "no sparekey process is left running 3 s after the last kill"
[ -z "$left" ] || for x in $left; do diag "$(tr '\0' ' ' <"/proc/$x/cmdline")"; done

spk_done
