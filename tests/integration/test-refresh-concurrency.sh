#!/bin/bash
# Concurrent refreshes against a strict server (rotating refresh tokens,
# reuse revokes the grant):
#   1. 50 `sparekey token P --min-valid 1` started at once on an expired
#      grant: all print the same new token, the provider sees exactly one
#      refresh, nothing is revoked;
#   2. concurrent `refresh P` and `token P`: every refresh waits its turn,
#      none reuses a spent refresh token;
#   3. the per-profile lock ($XDG_RUNTIME_DIR/sparekey/P.lock) held by
#      someone else (flock(1)): a valid token is still printed at once; an
#      expired one makes `token` give up after about 30 s with exit 75 and
#      one line naming the lock, grant untouched; once released, it works.
#
# Peers: provider.mjs, browser (headless Chromium), gnome-keyring; see lib.sh.
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

TTL=12
export SPK_ACCESS_TTL=$TTL
peers_start
command -v flock >/dev/null || spk_skip "flock (util-linux) is not installed"

P=conc
spk_login "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login failed; nothing else can be checked"
G0=$(grant_lookup "$P")
AT0=$(json_get access_token <<<"$G0")
RT0=$(json_get refresh_token <<<"$G0")
EXP0=$(json_get expires_at <<<"$G0")

# burst N WHAT ARGS...: start N sparekey processes at once (released together
# by a start file), wait for all; results in $SPK_TMP/burst/I.{out,err,rc}
burst() {
    local n=$1 i pids=()
    shift
    rm -rf "$SPK_TMP/burst"; mkdir -p "$SPK_TMP/burst"
    for ((i = 1; i <= n; i++)); do
        (
            while [ ! -e "$SPK_TMP/burst/go" ]; do sleep 0.01; done
            timeout --kill-after=5 120 "$SPAREKEY" "$@" </dev/null \
                >"$SPK_TMP/burst/$i.out" 2>"$SPK_TMP/burst/$i.err"
            echo $? >"$SPK_TMP/burst/$i.rc"
        ) &
        pids+=($!)
    done
    sleep 0.3
    BURST_T0=$(date +%s.%N)
    : >"$SPK_TMP/burst/go"
    for i in "${pids[@]}"; do wait "$i"; done
    BURST_SECS=$(elapsed_between "$BURST_T0" "$(date +%s.%N)")
}

# burst_check N WHAT: all exited 0 with one line on stdout and nothing on stderr
burst_check() {
    local n=$1 what=$2 i bad=() rc
    for ((i = 1; i <= n; i++)); do
        rc=$(cat "$SPK_TMP/burst/$i.rc" 2>/dev/null)
        [ "$rc" = 0 ] || bad+=("#$i: exit ${rc:-none}: $(head -n 2 "$SPK_TMP/burst/$i.err" 2>/dev/null)")
    done
    if [ ${#bad[@]} -eq 0 ]; then ok "$what: all $n exit 0"
    else not_ok "$what: all $n exit 0" "${#bad[@]} did not:" "${bad[@]:0:10}"; fi
}

# ---------------------------------------------------------------- 1. 50 tokens at once, expired grant
diag "waiting for the access token to expire (expires_at $EXP0)"
sleep_until "$((${EXP0%.*} + 1))"
me "$AT0"
assert_eq "$ME_STATUS" 401 "(harness) the stored access token has expired at the provider"
M=$(events_mark)
N=50
burst "$N" token "$P" --min-valid 1
diag "$N concurrent token calls took ${BURST_SECS}s"
burst_check "$N" "$N concurrent token --min-valid 1 on an expired grant"
NL=$(cat "$SPK_TMP"/burst/*.out | grep -c .)
assert_eq "$NL" "$N" "$N concurrent token: one line each on stdout"
DISTINCT=$(cat "$SPK_TMP"/burst/*.out | sort -u | grep -c .)
assert_eq "$DISTINCT" 1 "$N concurrent token: all print the same token"
AT1=$(head -n 1 "$SPK_TMP/burst/1.out")
assert_new "$AT1" "$AT0" "$N concurrent token: the token printed is a new one"
NERR=$(cat "$SPK_TMP"/burst/*.err | grep -c .)
assert_eq "$NERR" 0 "$N concurrent token: nothing on stderr"
assert_eq "$(refresh_grants_since "$M")" 1 "$N concurrent token: the provider saw exactly one refresh_token grant"
T=$(trouble_since "$M")
assert_eq "$T" "" "$N concurrent token: no grant error or revocation at the provider"
me "$AT1"
assert_eq "$ME_STATUS" 200 "$N concurrent token: the provider accepts the token afterwards (GET /me)"
G1=$(grant_lookup "$P")
assert_eq "$(json_get access_token <<<"$G1")" "$AT1" "$N concurrent token: the keyring holds the printed token"
RT1=$(json_get refresh_token <<<"$G1")
assert_new "$RT1" "$RT0" "$N concurrent token: the keyring holds the rotated refresh token"
LOCK=$XDG_RUNTIME_DIR/sparekey/$P.lock
if [ -f "$LOCK" ]; then ok "the lock file $LOCK exists"
else not_ok "the lock file $LOCK exists" "$(ls -la "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/sparekey" 2>&1)"; fi

# ---------------------------------------------------------------- 2. refresh and token at once
M=$(events_mark)
NR=6
burst "$NR" refresh "$P"
diag "$NR concurrent refresh calls took ${BURST_SECS}s"
burst_check "$NR" "$NR concurrent refresh"
assert_eq "$(trouble_since "$M")" "" "$NR concurrent refresh: no grant error or revocation at the provider"
NOK=$(refresh_ok_since "$M")
assert_eq "$NOK" "$NR" "$NR concurrent refresh: each made its own successful refresh, one after the other"
G2=$(grant_lookup "$P")
RT2=$(json_get refresh_token <<<"$G2")
assert_new "$RT2" "$RT1" "$NR concurrent refresh: the keyring holds a newer refresh token"
me "$(json_get access_token <<<"$G2")"
assert_eq "$ME_STATUS" 200 "$NR concurrent refresh: the provider accepts the stored access token"
M=$(events_mark)
sk refresh "$P"
assert_rc 0 "refresh after the concurrent ones: exits 0 (the stored refresh token is the live one)"
assert_eq "$(trouble_since "$M")" "" "refresh after the concurrent ones: no error at the provider"

# ---------------------------------------------------------------- 3. the lock held by someone else
# hold_lock: flock(1) takes the lock in a subshell that then becomes
# `sleep`, so killing $HOLD_PID releases it.
hold_lock() {
    rm -f "$SPK_TMP/locked"
    (
        exec 9>>"$LOCK"
        flock -x 9 || exit 1
        : >"$SPK_TMP/locked"
        exec sleep 300
    ) &
    HOLD_PID=$!; SPK_PIDS+=("$HOLD_PID")
    wait_for_file_exists "$SPK_TMP/locked" 10 || bail "(harness) flock could not take $LOCK"
}
wait_for_file_exists() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do [ -e "$1" ] && return 0; sleep 0.1; done
    return 1
}

mkdir -p "$(dirname "$LOCK")"
hold_lock
if flock -n -x "$LOCK" true; then not_ok "(harness) the lock is held by flock(1)"
else ok "(harness) the lock is held by flock(1)"; fi

G3=$(grant_lookup "$P")
AT3=$(json_get access_token <<<"$G3")
EXP3=$(json_get expires_at <<<"$G3")
M=$(events_mark)
sk --timeout 60 token "$P" --min-valid 1
assert_rc 0 "lock held, stored token still valid: token exits 0"
assert_eq "$SK_OUT" "$AT3" "lock held, stored token still valid: it prints the stored token"
if in_range "$SK_SECS" 0 3; then ok "lock held, stored token still valid: no wait for the lock (${SK_SECS}s)"
else not_ok "lock held, stored token still valid: no wait for the lock" "took ${SK_SECS}s"; fi
assert_eq "$(refresh_grants_since "$M")" 0 "lock held, stored token still valid: no refresh"

diag "waiting for the access token to expire (expires_at $EXP3)"
sleep_until "$((${EXP3%.*} + 1))"
M=$(events_mark)
sk --timeout 90 token "$P" --min-valid 1
assert_failure 75 "lock held, token expired: token"
assert_icontains "$SK_ERR" lock "lock held, token expired: the line says another sparekey holds the lock"
if in_range "$SK_SECS" 28 40; then ok "lock held, token expired: token gave up after about 30 s (${SK_SECS}s)"
else not_ok "lock held, token expired: token gave up after about 30 s" "took ${SK_SECS}s"; fi
assert_eq "$(grant_lookup "$P")" "$G3" "lock held, token expired: the stored grant is byte-identical"
assert_eq "$(refresh_grants_since "$M")" 0 "lock held, token expired: no refresh reached the provider"

stop_pid "$HOLD_PID"
if flock -n -x "$LOCK" true; then ok "(harness) the lock is free again"
else not_ok "(harness) the lock is free again"; fi
M=$(events_mark)
sk --timeout 60 token "$P" --min-valid 1
assert_rc 0 "lock released: token exits 0"
AT4=$SK_OUT
assert_new "$AT4" "$AT3" "lock released: token prints a new access token"
me "$AT4"
assert_eq "$ME_STATUS" 200 "lock released: the provider accepts it (GET /me)"
assert_eq "$(refresh_grants_since "$M")" 1 "lock released: exactly one refresh"
assert_eq "$(trouble_since "$M")" "" "lock released: no grant error or revocation at the provider"

spk_done
