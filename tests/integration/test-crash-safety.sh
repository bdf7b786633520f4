#!/bin/bash
# Crash-safe rotation against a strict server (rotating refresh tokens,
# reuse revokes the whole grant). Needs a build with -Dfault_injection=true:
# $SPAREKEY_FAULT selects a fault point.
#   1. kill-after-journal: sparekey dies (SIGKILL) right after journaling the
#      refresh answer; the keyring still has the old grant, the rescue file
#      $XDG_STATE_HOME/sparekey/P.rescue (0600) has the new one. The next
#      plain run stores it: no new login, no reuse of a spent token.
#   2. kill-after-store: dies after the keyring write, before the journal is
#      removed; the next run completes and removes the journal.
#   3. kill-after-journal, recovered by `refresh`: the leftover journal is
#      stored first, then the refresh uses the journaled refresh token.
#   4. fail-store: the keyring write fails: exit 75, the line names the
#      rescue file, which stays; the next plain run recovers.
#   5. ~30 `sparekey refresh P` killed with SIGKILL at random moments; the
#      grant must survive. Known limit: a kill after the server rotated but
#      before the answer is journaled loses the grant; the test detects it
#      from the provider's events and reports it as a labelled failure with
#      the timings.
#
# Peers: provider.mjs, browser (headless Chromium), gnome-keyring; see lib.sh.
# Env: SPAREKEY (default build/sparekey; must have fault injection),
#      SPK_KILL_ROUNDS (default 30). Exit 0 pass, 1 fail, 77 skip.
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
ROUNDS=${SPK_KILL_ROUNDS:-30}

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

# ---------------------------------------------------------------- 1. kill-after-journal
wait_expired
G0=$(grant_lookup "$P"); RT0=$(json_get refresh_token <<<"$G0")
M=$(events_mark)
faulty kill-after-journal token "$P" --min-valid 1
assert_rc 137 "kill-after-journal: token dies by SIGKILL (exit 137)"
assert_stdout_empty "kill-after-journal: no token was printed"
assert_eq "$(refresh_ok_since "$M")" 1 "kill-after-journal: the provider rotated the refresh token (one refresh)"
rescue_present "kill-after-journal"
assert_eq "$(json_get refresh_token <<<"$(grant_lookup "$P")")" "$RT0" "kill-after-journal: the keyring still holds the OLD refresh token"
assert_eq "$(grant_lookup "$P")" "$G0" "kill-after-journal: the stored grant is byte-identical"
sk token "$P" --min-valid 1
recovered_by_token "after kill-after-journal" "$M" "$RT0"
assert_eq "$(refresh_grants_since "$M")" 1 "after kill-after-journal: the recovery needed no second refresh (the journaled answer was used)"
still_live "after kill-after-journal"

# ---------------------------------------------------------------- 2. kill-after-store
wait_expired
G0=$(grant_lookup "$P"); RT0=$(json_get refresh_token <<<"$G0")
M=$(events_mark)
faulty kill-after-store token "$P" --min-valid 1
assert_rc 137 "kill-after-store: token dies by SIGKILL (exit 137)"
assert_stdout_empty "kill-after-store: no token was printed"
assert_eq "$(refresh_ok_since "$M")" 1 "kill-after-store: the provider rotated the refresh token (one refresh)"
rescue_present "kill-after-store"
RTK=$(grant_field "$P" refresh_token)
assert_new "$RTK" "$RT0" "kill-after-store: the keyring already holds the NEW refresh token"
sk token "$P" --min-valid 1
recovered_by_token "after kill-after-store" "$M" "$RT0"
assert_eq "$(grant_field "$P" refresh_token)" "$RTK" "after kill-after-store: the keyring keeps the refresh token of the killed run"
assert_eq "$(refresh_grants_since "$M")" 1 "after kill-after-store: the recovery needed no second refresh"
still_live "after kill-after-store"

# ---------------------------------------------------------------- 3. kill-after-journal, then refresh
G0=$(grant_lookup "$P"); RT0=$(json_get refresh_token <<<"$G0")
M=$(events_mark)
faulty kill-after-journal refresh "$P"
assert_rc 137 "kill-after-journal during refresh: dies by SIGKILL (exit 137)"
rescue_present "kill-after-journal during refresh"
assert_eq "$(grant_lookup "$P")" "$G0" "kill-after-journal during refresh: the stored grant is byte-identical"
sk refresh "$P"
assert_rc 0 "refresh after a journaled, unstored answer: exits 0"
rescue_gone "refresh after a journaled, unstored answer"
assert_eq "$(refresh_ok_since "$M")" 2 "refresh after a journaled, unstored answer: two refreshes in all (the killed one, then one with the journaled token)"
assert_eq "$(trouble_since "$M")" "" "refresh after a journaled, unstored answer: no reuse of a spent token (no grant error, nothing revoked)"
me "$(grant_field "$P" access_token)"
assert_eq "$ME_STATUS" 200 "refresh after a journaled, unstored answer: the provider accepts the stored access token"

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
# Typical duration of `sparekey refresh P` (median of 5), started the way
# the rounds below start it.
DUR=()
for i in 1 2 3 4 5; do
    t0=$(date +%s.%N)
    "$SPAREKEY" refresh "$P" </dev/null >/dev/null 2>"$SPK_TMP/measure.err" &
    wait $!; rc=$?
    t1=$(date +%s.%N)
    [ "$rc" -eq 0 ] || { diag_file "$SPK_TMP/measure.err"; bail "refresh failed while measuring its duration (exit $rc)"; }
    DUR+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')")
done
TYP=$(printf '%s\n' "${DUR[@]}" | sort -n | sed -n 3p)
MAXD=$((TYP * 3 / 2))
diag "refresh durations (ms): ${DUR[*]}; typical ${TYP} ms; kills land at random between 0 and ${MAXD} ms"

LOST=0
LOST_INFO=()
LAST_ROT="(none)"   # the last round in which the provider rotated the token
KILLED=0
FINISHED=0
ROT_KILLED=0      # killed after the provider had rotated the refresh token
ROT_JOURNALED=0   # ... and the answer was already in the rescue journal

: >"$SPK_TMP/rounds.log"
for ((r = 1; r <= ROUNDS; r++)); do
    us=$(((RANDOM * 32768 + RANDOM) % (MAXD * 1000 + 1)))
    delay=$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))
    m=$(events_mark)
    t0=$(date +%s.%N)
    "$SPAREKEY" refresh "$P" </dev/null >/dev/null 2>"$SPK_TMP/round.err" &
    pid=$!
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null
    tk=$(date +%s.%N)
    { wait "$pid"; } 2>/dev/null; rc=$?
    if [ "$rc" -eq 137 ]; then KILLED=$((KILLED + 1)); else FINISHED=$((FINISHED + 1)); fi
    sleep 0.2   # let the provider finish (and log) a request whose client died
    ok_n=$(refresh_ok_since "$m")
    err_n=$(refresh_errors_since "$m")
    has_journal=$([ -e "$RESCUE" ] && echo yes || echo no)
    if [ "$rc" -eq 137 ] && [ "$ok_n" -gt 0 ]; then
        ROT_KILLED=$((ROT_KILLED + 1))
        [ "$has_journal" = yes ] && ROT_JOURNALED=$((ROT_JOURNALED + 1))
    fi
    printf 'round %d: kill planned at %s s, sent at %s s, exit %d; provider: %d refreshed, %d errors; rescue file left: %s\n' \
        "$r" "$delay" "$(awk -v a="$t0" -v b="$tk" 'BEGIN { printf "%.4f", b - a }')" "$rc" "$ok_n" "$err_n" "$has_journal" >>"$SPK_TMP/rounds.log"
    if [ "$err_n" -gt 0 ] || [ -n "$(trouble_since "$m")" ]; then
        # The refresh token this run used was already spent: an earlier
        # rotation never reached the journal or the keyring.
        LOST=$((LOST + 1))
        LOST_INFO+=("round $r sent a spent refresh token (reuse: the provider revoked the grant);"
            "  the rotation it missed: $LAST_ROT"
            "  this round: $(tail -n 1 "$SPK_TMP/rounds.log")"
            "  provider: $(trouble_since "$m" | tr '\n' ' ')")
        diag "round $r: GRANT LOST (reported as a failure at the end); logging in again to go on"
        rm -f "$RESCUE"
        spk_login "$P" || bail "could not log in again after a lost grant"
    elif [ "$ok_n" -gt 0 ]; then
        LAST_ROT=$(tail -n 1 "$SPK_TMP/rounds.log")
    fi
done
diag "rounds: $KILLED killed, $FINISHED finished before the kill; $ROT_KILLED killed after the provider rotated the token, $ROT_JOURNALED of them with the answer journaled; $LOST grant(s) lost"
diag_file "$SPK_TMP/rounds.log"
ls -la "$RESCUE_DIR" >"$SPK_TMP/statedir.txt" 2>&1
diag "state directory after the rounds:"; diag_file "$SPK_TMP/statedir.txt"
# A refresh first: it sends whatever refresh token survived the last round
# (a token run could print a still-valid access token and send nothing).
M=$(events_mark)
sk refresh "$P"
if [ -n "$(trouble_since "$M")" ]; then
    LOST=$((LOST + 1))
    LOST_INFO+=("the refresh after the last round sent a spent refresh token (reuse: the provider revoked the grant);"
        "  the rotation it missed: $LAST_ROT"
        "  provider: $(trouble_since "$M" | tr '\n' ' ')")
    diag "after the last round: GRANT LOST (reported as a failure below); logging in again to go on"
    rm -f "$RESCUE"
    spk_login "$P" || bail "could not log in again after a lost grant"
else
    assert_rc 0 "after $ROUNDS randomly killed refreshes: refresh exits 0"
fi
M=$(events_mark)
wait_expired
sk token "$P" --min-valid 1
assert_rc 0 "after $ROUNDS randomly killed refreshes: token exits 0"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "after $ROUNDS randomly killed refreshes: the provider accepts the printed token"
rescue_gone "after $ROUNDS randomly killed refreshes and a token"
assert_eq "$(trouble_since "$M")" "" "after $ROUNDS randomly killed refreshes: the final token run reused no spent token"
still_live "after $ROUNDS randomly killed refreshes"
WINDOW_KILLS=$((ROT_KILLED - ROT_JOURNALED))
if [ "$LOST" -eq 0 ]; then
    ok "random SIGKILL: the grant survived all $ROUNDS rounds ($KILLED killed mid-run)"
elif [ "$LOST" -le "$WINDOW_KILLS" ]; then
    # A known limit, not a defect: with single-use refresh tokens and reuse
    # detection, a kill after the provider rotated the token but before its
    # answer reached the journal loses the grant; no client can close that
    # window (the answer is in flight). TAP TODO: reported, not failed.
    SPK_NTEST=$((SPK_NTEST + 1))
    printf 'not ok %d - random SIGKILL: grant lost %d time(s) in %d rounds, each killed after the provider rotated the token and before the answer was journaled # TODO known limit of strict rotation\n' \
        "$SPK_NTEST" "$LOST" "$ROUNDS"
    diag "typical refresh ${TYP} ms, kill delays 0..${MAXD} ms; of $KILLED kills, $ROT_KILLED landed after the provider rotated, $ROT_JOURNALED of them after the journal was written"
    for x in "${LOST_INFO[@]}"; do diag "$x"; done
else
    not_ok "random SIGKILL: grant lost $LOST time(s) in $ROUNDS rounds, more than the $WINDOW_KILLS kills that landed before the journal: a journaled grant was lost" \
        "typical refresh ${TYP} ms, kill delays 0..${MAXD} ms; of $KILLED kills, $ROT_KILLED landed after the provider rotated, $ROT_JOURNALED of them after the journal was written" \
        "${LOST_INFO[@]}"
fi
if [ "$KILLED" -ge $((ROUNDS / 3)) ]; then ok "(harness) the kills landed mid-run often enough ($KILLED of $ROUNDS)"
else not_ok "(harness) the kills landed mid-run often enough" "only $KILLED of $ROUNDS runs were killed before finishing"; fi

spk_done
