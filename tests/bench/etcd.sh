# shellcheck shell=bash disable=SC2034
# Part 5 of sparekey's benchmarks (sourced by run.sh, which has started the
# provider and the browser queue): store = etcd, on a 3-member etcd cluster
# on loopback and "machines" with separate dirs (tests/integration/
# lib-etcd.sh; no auth, no TLS: sparekey and etcdctl both talk plain HTTP
# to the same members). The targets of issue 16:
#   5a token on a machine whose runtime cache is empty, answered from the
#      cluster <= 1.0 x etcdctl get of the same key (PREFIX P/access)
#   5b 3 machines x 20 callers on an expired grant <= 3 x one refresh
#      (refresh P on one machine), exactly one refresh at the provider
#   5c refresh --all over 100 profiles in the cluster <= 3 x one refresh
#      with the provider 200 ms away; etcd's and the provider's own CPU per
#      run as the floor

# shellcheck source=../integration/lib-etcd.sh
. "$ROOT/tests/integration/lib-etcd.sh"
EMACH=(m1 m2 m3)
ECONC_N=${SPK_BENCH_ETCD_CALLERS:-20}

say "5. store = etcd: a 3-member cluster on loopback, machines ${EMACH[*]} and ma"
etcd_start 3 >&2
printf 'etcd: %s, 3 members, heartbeat 50 ms, data dirs on %s\n' \
    "$("$SPK_ETCD" --version | head -1)" "$(df -P "$ETCD_DIR" | awk 'NR == 2 { print $1 }')" >>"$RESULTS/machine.txt"

# etcd_group P: a config group for P on the cluster (what etcd_machine writes)
etcd_group() {
    printf '[%s]\nstore = etcd\netcd_endpoints = %s\netcd_prefix = %s\nmin_valid = %s\n\n' \
        "$1" "$ETCD_ENDPOINTS" "$ETCD_PREFIX" "$MINV"
}
# etcd_cpu_ticks: utime + stime of the members together
etcd_cpu_ticks() {
    local i t=0
    for ((i = 1; i <= ETCD_N; i++)); do t=$((t + $(cpu_ticks "${ETCD_PIDS[i]}"))); done
    echo "$t"
}
per_run_ms() { awk -v a="$1" -v b="$2" -v t="$TCK" -v n="$3" 'BEGIN { printf "%.0f", (b - a) / t / n * 1000 }'; }

# m1 signs in to ek (5a, 5b's baseline) and e01..e20 (5b); m2 and m3 get
# the same groups (no secret), nothing else.
etcd_machine m1 ek min_valid="$MINV"
EC=()
for ((i = 1; i <= ROUNDS; i++)); do EC+=("$(printf 'e%02d' "$i")"); etcd_group "${EC[-1]}" >>"$SPK_TMP/m1/home/.config/sparekey/config"; done
M0=$(events_mark); T0=$(date +%s.%N)
for p in ek "${EC[@]}"; do on m1 bench_login "$p"; done
for m in m2 m3; do
    etcd_machine "$m" ek
    cp "$SPK_TMP/m1/home/.config/sparekey/config" "$SPK_TMP/$m/home/.config/sparekey/config"
done
say "   $(logins_since_mark "$M0") logins on m1 in $(secs_since "$T0") s; keys in the cluster: $(etcd_keys "$ETCD_PREFIX" | wc -l)"

# ---------------------------------------------------------------- 5a
say "5a. token ek on m2 (empty runtime cache, answered from the cluster) vs etcdctl get ${ETCD_PREFIX}ek/access"
fresh_on() { on "$1" "$SPAREKEY" refresh "${@:2}" >/dev/null 2>"$SPK_TMP/refresh.err" || { cat "$SPK_TMP/refresh.err" >&2; die "refresh ${*:2} on $1 failed"; }; }
fresh_on m1 ek
[ -n "$(etcd_access ek | json_get access_token)" ] || die "no shared access token at ${ETCD_PREFIX}ek/access"
M=$(events_mark)
on m2 hf etcd-token-cold --warmup "$WARMUP" --runs "$RUNS" \
    --prepare "rm -rf $SPK_TMP/m2/run/sparekey" \
    -n "sparekey token ek (m2, runtime cache empty)" "$SPAREKEY token ek" \
    --prepare "true" \
    -n "etcdctl get ${ETCD_PREFIX}ek/access" \
    "env ETCDCTL_API=3 $SPK_ETCDCTL --endpoints=$ETCD_CSV get ${ETCD_PREFIX}ek/access" \
    || die "hyperfine token ek / etcdctl get failed"
N=$(refreshes_since "$M")
[ "$N" = 0 ] || note_add "token ek on m2: expected no refresh (the shared token is valid), saw $N"
[ -s "$SPK_TMP/m2/run/sparekey/ek.token" ] && ECACHED=yes || ECACHED=no
T_ECOLD=$(hf_get "$RESULTS/etcd-token-cold.json" 0 median)
T_ECTL=$(hf_get "$RESULTS/etcd-token-cold.json" 1 median)
say "   token from the cluster $T_ECOLD ms, etcdctl get $T_ECTL ms (runtime cache written after: $ECACHED)"
row "token from the cluster (cache empty) <= 1.0 x etcdctl get" "token $T_ECOLD ms / etcdctl get $T_ECTL ms" "$(ratio "$T_ECOLD" "$T_ECTL")" 1.0
# Diagnostic: the same key through the JSON gateway sparekey speaks, by curl.
EP1=${ETCD_ENDPOINTS%% *}
hf etcd-curl --warmup "$WARMUP" --runs "$RUNS" -n "curl POST $EP1/v3/kv/range (the same key)" \
    "curl -sS -o /dev/null -X POST $EP1/v3/kv/range -d '{\"key\":\"$(b64 "${ETCD_PREFIX}ek/access")\"}'" \
    || die "hyperfine curl range failed"
T_ECURL=$(hf_get "$RESULTS/etcd-curl.json" 0 median)
say "   (diagnostic) curl range on the gateway: $T_ECURL ms"

# ---------------------------------------------------------------- 5b
say "5b. 3 machines x $ECONC_N 'token' at once on an expired grant, $ROUNDS rounds (profiles ${EC[0]}..${EC[-1]})"
M=$(events_mark)
on m1 hf etcd-refresh-one --warmup 2 --runs "$RUNS" -n "sparekey refresh ek (m1)" "$SPAREKEY refresh ek" \
    || die "hyperfine refresh ek failed"
T_EONE=$(hf_get "$RESULTS/etcd-refresh-one.json" 0 median)
N=$(refreshes_since "$M")
[ "$N" = $((RUNS + 2)) ] || note_add "refresh ek (etcd): expected $((RUNS + 2)) refreshes at the provider, saw $N"
say "   one refresh (etcd): median $T_EONE ms"
LAST=0
for p in "${EC[@]}"; do e=$(etcd_grant "$p" | json_get expires_at); e=${e%.*}; [ "${e:-0}" -gt "$LAST" ] && LAST=$e; done
say "   waiting $((LAST + 1 - $(date +%s))) s until the grants have expired"
sleep_until "$((LAST + 1))"
: >"$RESULTS/etcd-concurrency-rounds.txt"
EW=(); EONE=1; E0=$(etcd_cpu_ticks); P0=$(cpu_ticks "$PROVIDER_PID")
for ((r = 0; r < ROUNDS; r++)); do
    p=${EC[r]}
    OLD=$(etcd_access "$p" | json_get access_token)
    M=$(events_mark)
    for m in "${EMACH[@]}"; do rm -rf "$SPK_TMP/fan-$m"; mkdir -p "$SPK_TMP/fan-$m"; done
    fpids=()
    t0=$(date +%s.%N)
    for m in "${EMACH[@]}"; do
        on "$m" "$FANOUT" "$ECONC_N" "$SPK_TMP/fan-$m" "$SPAREKEY" token "$p" >"$SPK_TMP/fan-$m.line" &
        fpids+=("$!")
    done
    wait "${fpids[@]}"
    w=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
    fails=$(cat "$SPK_TMP"/fan-m?.line | grep -vc 'failed=0 ')
    [ "$fails" = 0 ] || die "3 x $ECONC_N x token $p: some failed: $(cat "$SPK_TMP"/fan-m?/*.err | sort | uniq -c | head -5)"
    n=$(refreshes_since "$M"); rv=$(revocations_since "$M")
    NEW=$(etcd_access "$p" | json_get access_token)
    distinct=$(cat "$SPK_TMP"/fan-m?/*.out | sort -u | wc -l)
    same=no; [ "$distinct" = 1 ] && [ "$(head -1 "$SPK_TMP/fan-m1/0.out")" = "$NEW" ] && [ "$NEW" != "$OLD" ] && same=yes
    printf '%s wall_ms=%s refreshes=%s revoked=%s distinct_tokens=%s all_print_the_new_shared_token=%s fanouts: %s\n' \
        "$p" "$w" "$n" "$rv" "$distinct" "$same" "$(cut -d' ' -f1 "$SPK_TMP"/fan-m?.line | tr '\n' ' ')" \
        >>"$RESULTS/etcd-concurrency-rounds.txt"
    [ "$n" = 1 ] && [ "$rv" = 0 ] && [ "$same" = yes ] || EONE=0
    EW+=("$w")
done
E1=$(etcd_cpu_ticks); P1=$(cpu_ticks "$PROVIDER_PID")
T_ECONC=$(printf '%s\n' "${EW[@]}" | median)
ECONC_CPU="etcd (3 members) $(cpu_s "$E0" "$E1") s, provider $(cpu_s "$P0" "$P1") s CPU over $ROUNDS rounds"
say "   3 x $ECONC_N at once, expired: median $T_ECONC ms (min $(printf '%s\n' "${EW[@]}" | sort -g | head -1), max $(printf '%s\n' "${EW[@]}" | sort -g | tail -1)); $ECONC_CPU"
sed 's/^/     /' "$RESULTS/etcd-concurrency-rounds.txt" >&2
row "3 machines x $ECONC_N token, expired (etcd) <= 3 x one refresh" "3 x $ECONC_N at once $T_ECONC ms / refresh ek $T_EONE ms" "$(ratio "$T_ECONC" "$T_EONE")" 3
if ((EONE)); then ROWS+=("exactly one refresh per 3 x $ECONC_N round (etcd, event log)|$ROUNDS of $ROUNDS rounds: 1 refresh, 0 revocations, all $((3 * ECONC_N)) printed the new shared token|-|1|MET")
else ROWS+=("exactly one refresh per 3 x $ECONC_N round (etcd, event log)|see etcd-concurrency-rounds.txt: $(awk '{ print $3 }' "$RESULTS/etcd-concurrency-rounds.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ';')|-|1|MISSED"); fi

# ---------------------------------------------------------------- 5c
say "5c. refresh --all over $NPROF profiles in the cluster (machine ma): $NPROF logins"
etcd_machine ma a001 min_valid="$MINV"
EA=(a001)
for ((i = 2; i <= NPROF; i++)); do EA+=("$(printf 'a%03d' "$i")"); etcd_group "${EA[-1]}" >>"$SPK_TMP/ma/home/.config/sparekey/config"; done
M=$(events_mark); T0=$(date +%s.%N)
for p in "${EA[@]}"; do on ma bench_login "$p"; done
say "   $(logins_since_mark "$M") logins in $(secs_since "$T0") s"
# on loopback first (the CPU floor), then with the provider 200 ms away (the target)
for lat in 0 "$LATENCY"; do
    [ "$lat" = 0 ] || echo "$lat" >"$SPK_TOKEN_DELAY_FILE"
    sfx=; [ "$lat" = 0 ] || sfx=-latency
    on ma hf "etcd-refresh-a001$sfx" --warmup 2 --runs "$RUNS" -n "sparekey refresh a001 (etcd, answers $lat ms late)" \
        "$SPAREKEY refresh a001" || die "hyperfine refresh a001 failed"
    # One run first with its stderr kept: a failing profile is reported, and
    # hyperfine then measures on (-i) rather than stopping the benchmark.
    on ma "$SPAREKEY" refresh --all --older-than 0 >/dev/null 2>"$RESULTS/etcd-refresh-all$sfx.err"
    rc=$?
    [ "$rc" = 0 ] || note_add "refresh --all (etcd, answers $lat ms late) exited $rc: $(grep -c . "$RESULTS/etcd-refresh-all$sfx.err") lines on stderr, e.g. '$(head -1 "$RESULTS/etcd-refresh-all$sfx.err")'"
    M=$(events_mark); E0=$(etcd_cpu_ticks); P0=$(cpu_ticks "$PROVIDER_PID")
    on ma hf "etcd-refresh-all$sfx" -i --warmup 1 --runs "$ALL_RUNS" \
        -n "sparekey refresh --all --older-than 0 ($NPROF profiles, etcd, answers $lat ms late)" \
        "$SPAREKEY refresh --all --older-than 0" || die "hyperfine refresh --all (etcd) failed"
    E1=$(etcd_cpu_ticks); P1=$(cpu_ticks "$PROVIDER_PID")
    rm -f "$SPK_TOKEN_DELAY_FILE"
    N=$(refreshes_since "$M"); NERR=$(events_since "$M" | grep -F '"event":"grant.error"' | grep -c refresh_token)
    [ "$N" = $(((ALL_RUNS + 1) * NPROF)) ] && [ "$NERR" = 0 ] ||
        note_add "refresh --all (etcd, $lat ms): expected $(((ALL_RUNS + 1) * NPROF)) refreshes without errors, saw $N ($NERR errors)"
    t1=$(hf_get "$RESULTS/etcd-refresh-a001$sfx.json" 0 median)
    ta=$(hf_get "$RESULTS/etcd-refresh-all$sfx.json" 0 median)
    cpu=$(awk -v u="$(hf_get "$RESULTS/etcd-refresh-all$sfx.json" 0 user)" -v s="$(hf_get "$RESULTS/etcd-refresh-all$sfx.json" 0 system)" 'BEGIN { printf "%.0f", u + s }')
    e_ms=$(per_run_ms "$E0" "$E1" $((ALL_RUNS + 1))); p_ms=$(per_run_ms "$P0" "$P1" $((ALL_RUNS + 1)))
    say "   answers $lat ms late: refresh a001 $t1 ms, refresh --all $ta ms; per run: sparekey $cpu ms, etcd $e_ms ms, provider $p_ms ms CPU"
    if [ "$lat" = 0 ]; then
        T_EA1=$t1 T_EALL=$ta EALL_CPU="sparekey $cpu ms, etcd (3 members) $e_ms ms, provider $p_ms ms CPU per run"
        row "(diagnostic) refresh --all, $NPROF profiles, etcd, loopback" "--all $ta ms / one $t1 ms" "$(ratio "$ta" "$t1")" 3
        floor_row "(floor) etcd's + the provider's CPU per --all run" "$e_ms + $p_ms ms / one $t1 ms" "$(ratio $((e_ms + p_ms)) "$t1")" 3
        row "refresh --all (etcd, loopback) <= 1.5 x the peers' own CPU" "--all $ta ms / etcd + provider $((e_ms + p_ms)) ms" "$(ratio "$ta" $((e_ms + p_ms)))" 1.5
    else
        T_EA1L=$t1 T_EALLL=$ta EALLL_CPU="sparekey $cpu ms, etcd (3 members) $e_ms ms, provider $p_ms ms CPU per run"
        row "refresh --all, $NPROF profiles (etcd), provider ${lat} ms away <= 3 x one" "--all $ta ms / one $t1 ms" "$(ratio "$ta" "$t1")" 3
        floor_row "(floor) etcd's + the provider's CPU per --all run (${lat} ms)" "$e_ms + $p_ms ms / one $t1 ms" "$(ratio $((e_ms + p_ms)) "$t1")" 3
    fi
done
[ "$LATENCY" -gt 0 ] || { T_EA1L=- T_EALLL=- EALLL_CPU=-; }

ETCD_SUMMARY="store = etcd (3 members, loopback): token from the cluster $T_ECOLD ms, etcdctl get $T_ECTL ms, curl range $T_ECURL ms; refresh ek $T_EONE ms, 3 x $ECONC_N token expired ($ROUNDS rounds) $T_ECONC ms ($ECONC_CPU); refresh a001 $T_EA1 ms, refresh --all ($NPROF) $T_EALL ms ($EALL_CPU); answers $LATENCY ms late: refresh a001 $T_EA1L ms, refresh --all $T_EALLL ms ($EALLL_CPU)."
