#!/usr/bin/env bash
# store = etcd on one etcd member started here (the 3-member cluster,
# TLS and roles are test-etcd-*'s): login stores grant and access in the
# cluster, token answers from it, two "machines" (separate state and
# runtime directories) on an expired grant refresh once between them,
# a machine gone after its answer was journaled leaves its in-flight
# record for the others to respect,
# logout deletes the keys; an http:// endpoint off loopback is refused
# before any connection, and a cluster that is down is 69.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-headless.sh"
command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
    spk_skip "etcd and etcdctl are not installed (apt-get install etcd-server etcd-client)"
ETCD_PID=
etcd_stop() { [ -n "$ETCD_PID" ] && stop_pid "$ETCD_PID"; ETCD_PID=; }
trap 'etcd_stop; peers_stop' EXIT
export SPK_ACCESS_TTL=6
peers_start

CPORT=$(free_port); PPORT=$(free_port)
EP=http://127.0.0.1:$CPORT
etcd_start() {
    etcd --name solo --data-dir "$SPK_TMP/etcd" --listen-client-urls "$EP" \
        --advertise-client-urls "$EP" --listen-peer-urls "http://127.0.0.1:$PPORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$PPORT" \
        --initial-cluster "solo=http://127.0.0.1:$PPORT" >"$SPK_TMP/etcd.log" 2>&1 &
    ETCD_PID=$!
    for _ in $(seq 50); do
        etcdctl --endpoints "$EP" endpoint health >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    bail "etcd did not start: $(tail -3 "$SPK_TMP/etcd.log")"
}
etcd_start
ectl() { ETCDCTL_API=3 etcdctl --endpoints "$EP" "$@"; }
etcd_value() { ectl get --print-value-only "/sparekey/$1"; }

cfg_set ed store etcd
cfg_set ed etcd_endpoints "http://127.0.0.1:1 $EP"
cfg_set ed cache none

# ---------------------------------------------------------------- login into the cluster
browser_reset
sk --timeout 90 login ed --issuer "$ISSUER" --client-id sparekey-native --store etcd --timeout 60
assert_rc 0 "login ed --store etcd (first endpoint refuses): exits 0"
G=$(etcd_value ed/grant); A=$(etcd_value ed/access)
AT0=$(printf %s "$G" | json_get access_token)
RT0=$(printf %s "$G" | json_get refresh_token)
assert_ne "$RT0" "" "etcd holds /sparekey/ed/grant with a refresh token"
assert_eq "$(printf %s "$A" | json_get access_token)" "$AT0" \
    "/sparekey/ed/access holds the same access token"
assert_not_contains "$A" "$RT0" "... and never the refresh token"
assert_eq "$(keyring_item ed grant)" "" "nothing for ed is in the keyring"
assert_eq "$(ls "$XDG_STATE_HOME/sparekey" 2>/dev/null | grep -c '^ed\.grant$')" 0 \
    "no grant file on this machine"

sk token ed --min-valid 1
assert_rc 0 "token ed: exits 0"
assert_eq "$SK_OUT" "$AT0" "... the access token in the cluster"

# ---------------------------------------------------------------- two machines, one refresh
machine() {   # N: its own state and runtime directories (the config holds no secret)
    mkdir -p "$SPK_TMP/m$1/state" "$SPK_TMP/m$1/run"; chmod 700 "$SPK_TMP/m$1/run"
    echo "XDG_STATE_HOME=$SPK_TMP/m$1/state XDG_RUNTIME_DIR=$SPK_TMP/m$1/run"
}
EXP0=$(printf %s "$G" | json_get expires_at)
sleep_until "$((${EXP0%.*} + 1))"
M=$(events_mark)
PIDS=()
for m in 1 2; do
    for i in 1 2 3 4 5; do
        ( env $(machine $m) timeout 60 "$SPAREKEY" token ed >"$SPK_TMP/t$m.$i.out" \
            2>"$SPK_TMP/t$m.$i.err"; echo $? >"$SPK_TMP/t$m.$i.rc" ) &
        PIDS+=($!)
    done
done
wait "${PIDS[@]}"
fails=0; toks=$(cat "$SPK_TMP"/t*.out | sort -u | wc -l)
for f in "$SPK_TMP"/t*.rc; do [ "$(cat "$f")" = 0 ] || { fails=$((fails + 1)); diag_file "${f%.rc}.err"; }; done
assert_eq "$fails" 0 "10 token calls on 2 machines on an expired grant: all exit 0"
assert_eq "$toks" 1 "... all print the same token"
assert_eq "$(refresh_grants_since "$M")" 1 "... after exactly one refresh at the provider"
assert_eq "$(trouble_since "$M")" "" "... and no reused token"
AT1=$(etcd_value ed/grant | json_get access_token)
assert_eq "$(cat "$SPK_TMP/t1.1.out")" "$AT1" "the cluster holds the new access token"
assert_eq "$(etcd_value ed/access | json_get access_token)" "$AT1" "... in access as well"
assert_eq "$(ectl get --keys-only /sparekey/ed/holder | grep -c .)" 0 \
    "the lock is free again (no holder record)"
assert_eq "$(ectl get --keys-only /sparekey/ed/inflight | grep -c .)" 0 "no in-flight record is left"
me "$AT1"
assert_eq "$ME_STATUS" 200 "the provider accepts the new token"

# ---------------------------------------------------------------- a machine cut off after sending
# Machine 1's worker stops right after the provider answered, and its lease
# is no longer renewed: machine 2 must not spend the token (75, naming
# machine 1); after SIGCONT machine 1 stores its answer and all goes on.
EXP1=$(etcd_value ed/grant | json_get expires_at)
sleep_until "$((${EXP1%.*} + 1))"
M=$(events_mark)
( env $(machine 1) SPAREKEY_FAULT=stop-after-send timeout 120 "$SPAREKEY" token ed \
    >"$SPK_TMP/cut.out" 2>"$SPK_TMP/cut.err"; echo $? >"$SPK_TMP/cut.rc" ) &
CUT=$!
for _ in $(seq 100); do
    WPID=$(ps -o pid=,stat= -C sparekey-worker | awk '$2 ~ /^T/ { print $1; exit }')
    [ -n "$WPID" ] && break; sleep 0.1
done
if [ -n "$WPID" ]; then ok "machine 1's worker stopped right after sending"
else not_ok "machine 1's worker stopped right after sending"; fi
env $(machine 2) timeout 60 "$SPAREKEY" token ed >"$SPK_TMP/m2.out" 2>"$SPK_TMP/m2.err"
M2=$?
diag_file "$SPK_TMP/m2.err"
assert_eq "$M2" 75 "machine 2 meanwhile: exits 75"
assert_contains "$(cat "$SPK_TMP/m2.err")" "$(hostname)" "... naming the machine that sent the refresh"
assert_eq "$(nlines "$SPK_TMP/m2.err")" 1 "... in one line"
assert_eq "$(refresh_grants_since "$M")" 1 "... and the provider saw one refresh only"
[ -n "$WPID" ] && kill -CONT "$WPID"
wait "$CUT"
assert_eq "$(cat "$SPK_TMP/cut.rc")" 0 "machine 1 after SIGCONT: token exits 0"
diag_file "$SPK_TMP/cut.err"
AT1=$(etcd_value ed/grant | json_get access_token)
assert_eq "$(cat "$SPK_TMP/cut.out")" "$AT1" "... and the cluster holds its new token"
env $(machine 2) timeout 60 "$SPAREKEY" token ed >"$SPK_TMP/m2.out" 2>"$SPK_TMP/m2.err"
assert_eq "$?" 0 "machine 2 then: exits 0"
# (machine 1's token, issued when it sent, may have expired by now: then one refresh more)
AT1=$(etcd_value ed/grant | json_get access_token)
assert_eq "$(cat "$SPK_TMP/m2.out")" "$AT1" "... with the token in the cluster"
assert_eq "$(trouble_since "$M")" "" "no reused token at the provider"

# ---------------------------------------------------------------- a machine gone after its answer was journaled
# Machine 1's worker stops right after the provider's answer is in machine
# 1's rescue journal, before the cluster has it; then machine 1 is gone
# (its processes killed: its lease expires). Its in-flight record stays in
# the cluster until the answer is stored, so machine 2 does not spend the
# spent token (75, naming machine 1); machine 1, back, stores its journal.
EXP2=$(etcd_value ed/grant | json_get expires_at)
sleep_until "$((${EXP2%.*} + 1))"
M=$(events_mark)
( env $(machine 1) SPAREKEY_FAULT=stop-after-journal timeout 120 "$SPAREKEY" token ed \
    >/dev/null 2>"$SPK_TMP/gone.err"; echo $? >"$SPK_TMP/gone.rc" ) &
GONE=$!
WPID=
for _ in $(seq 100); do
    WPID=$(ps -o pid=,stat= -C sparekey-worker | awk '$2 ~ /^T/ { print $1; exit }')
    [ -n "$WPID" ] && break; sleep 0.1
done
if [ -n "$WPID" ]; then ok "machine 1's worker stopped with the answer in its journal"
else not_ok "machine 1's worker stopped with the answer in its journal" "$(cat "$SPK_TMP/gone.err")"; fi
assert_eq "$(ectl get --keys-only /sparekey/ed/inflight | grep -c .)" 1 \
    "... and the in-flight record is still in the cluster"
# Machine 1 goes: every sparekey process in its environment, the lease keeper too.
for pid in $(pgrep -f 'sparekey'); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "XDG_RUNTIME_DIR=$SPK_TMP/m1/run" &&
        kill -KILL "$pid"
done
wait "$GONE"
env $(machine 2) timeout 90 "$SPAREKEY" token ed >"$SPK_TMP/m2.out" 2>"$SPK_TMP/m2.err"
M2=$?
diag_file "$SPK_TMP/m2.err"
assert_eq "$M2" 75 "machine 2, machine 1 gone with the answer: exits 75"
assert_contains "$(cat "$SPK_TMP/m2.err")" "$(hostname)" "... naming the machine that sent the refresh"
assert_eq "$(refresh_grants_since "$M")" 1 "... and the provider saw one refresh only"
env $(machine 1) timeout 60 "$SPAREKEY" token ed >"$SPK_TMP/m1.out" 2>"$SPK_TMP/m1.err"
assert_eq "$?" 0 "machine 1 back: token exits 0"
AT1=$(etcd_value ed/grant | json_get access_token)
assert_eq "$(cat "$SPK_TMP/m1.out")" "$AT1" "... the answer of its journal is in the cluster (or its successor)"
assert_eq "$(ectl get --keys-only /sparekey/ed/inflight | grep -c .)" 0 "... and the in-flight record goes with it"
env $(machine 2) timeout 60 "$SPAREKEY" token ed >"$SPK_TMP/m2.out" 2>"$SPK_TMP/m2.err"
assert_eq "$?" 0 "machine 2 then: exits 0"
assert_eq "$(cat "$SPK_TMP/m2.out")" "$(etcd_value ed/grant | json_get access_token)" "... with the token in the cluster"
# (the journaled token, issued before the wait, may have expired: then one refresh more)
assert_eq "$(trouble_since "$M")" "" "no reused token, no grant error at the provider"

# ---------------------------------------------------------------- status, doctor
sk status ed
assert_rc 0 "status ed: exits 0"
assert_match "$SK_OUT" "etcd .* via $EP" "status ed shows the store as etcd and the endpoint that answered"
sk doctor ed
assert_match "$SK_OUT" "store +ok +grant found in the etcd cluster" "doctor ed: the grant is in the cluster"
assert_match "$SK_OUT" "etcd endpoint +FAIL .*127\.0\.0\.1:1" "doctor ed: the first endpoint, refusing, fails"
assert_match "$SK_OUT" "etcd endpoint +ok +$EP answers; it has a leader" "doctor ed: the second answers and has a leader"
assert_match "$SK_OUT" "etcd read +ok +may read /sparekey/ed/grant" "doctor ed: read permission"
assert_match "$SK_OUT" "etcd write +ok +may write /sparekey/ed/grant" "doctor ed: write permission"
assert_eq "$(etcd_value ed/grant | json_get access_token)" "$AT1" "doctor wrote nothing"
diag "$SK_OUT"

# ---------------------------------------------------------------- failures
cfg_set bad store etcd
cfg_set bad etcd_endpoints "http://192.0.2.1:2379"
sk token bad
assert_failure 78 "token with an http:// endpoint off loopback"
assert_contains "$SK_ERR" "https" "... the line says https"

etcd_stop
sk token ed --min-valid 86400
case $SK_RC in
    69|75) ok "token ed with the cluster down: exit $SK_RC" ;;
    *) not_ok "token ed with the cluster down: 69 or 75" "exit $SK_RC" ;;
esac
assert_stderr_one_line "... one line"
etcd_start
assert_eq "$(etcd_value ed/grant | json_get access_token)" "$AT1" "the grant is intact"

# ---------------------------------------------------------------- auth: a refresher and a reader
ectl user add root --new-user-password=rootpw >/dev/null
ectl role add rw >/dev/null && ectl role grant-permission rw --prefix=true readwrite /sparekey/ed/ >/dev/null
ectl role add ro >/dev/null && ectl role grant-permission ro read /sparekey/ed/access >/dev/null
ectl user add app --new-user-password=apppw >/dev/null && ectl user grant-role app rw >/dev/null
ectl user add web --new-user-password=webpw >/dev/null && ectl user grant-role web ro >/dev/null
ectl auth enable >/dev/null
ectl_root() { ectl --user root:rootpw "$@"; }
etcd_value() { ectl_root get --print-value-only "/sparekey/$1"; }
umask 077
printf 'apppw\n' >"$SPK_TMP/app.pw"; printf 'webpw' >"$SPK_TMP/web.pw"; printf 'nope\n' >"$SPK_TMP/bad.pw"
cfg_set ed etcd_user app
cfg_set ed etcd_password_file "$SPK_TMP/app.pw"
sk token ed --min-valid 1
assert_rc 0 "token ed as the refresher (password file with a trailing newline): exits 0"
sk doctor ed
assert_match "$SK_OUT" "etcd auth +ok" "doctor ed: auth ok"
cfg_set ed etcd_password_file "$SPK_TMP/bad.pw"
sk token ed --min-valid 1
assert_failure 78 "token ed with a wrong password"
assert_contains "$SK_ERR" "app" "... the line names the user"
cfg_set ed etcd_password_file "$SPK_TMP/app.pw"
chmod 644 "$SPK_TMP/app.pw"
sk token ed
assert_failure 78 "token ed with a password file others may read"
chmod 600 "$SPK_TMP/app.pw"

# Machine 3: the reader, with a config of its own.
R="XDG_CONFIG_HOME=$SPK_TMP/m3/config $(machine 3)"
mkdir -p "$SPK_TMP/m3/config/sparekey"
SPK_CONFIG=$SPK_TMP/m3/config/sparekey/config
cfg_set ed issuer "$ISSUER"; cfg_set ed provider oidc; cfg_set ed client_id sparekey-native
cfg_set ed store etcd; cfg_set ed etcd_endpoints "$EP"; cfg_set ed cache none
cfg_set ed etcd_user web; cfg_set ed etcd_password_file "$SPK_TMP/web.pw"
SPK_CONFIG=$XDG_CONFIG_HOME/sparekey/config
rd() { env $R timeout 30 "$SPAREKEY" "$@" >"$SPK_TMP/r.out" 2>"$SPK_TMP/r.err"; RD_RC=$?; diag_file "$SPK_TMP/r.err"; }
# A token just refreshed (6 s) leaves the reader seconds of slack, even
# on a loaded machine: the check is about the reader, not the clock.
sk refresh ed
assert_rc 0 "refresh ed as the refresher: exits 0"
sk token ed --min-valid 1
AT2=$SK_OUT
rd token ed --min-valid 1
assert_eq "$RD_RC" 0 "the reader: token ed while the shared token is fresh exits 0"
assert_eq "$(cat "$SPK_TMP/r.out")" "$AT2" "... the shared access token"
M=$(events_mark)
rd token ed --min-valid 3600
assert_eq "$RD_RC" 75 "the reader: token ed --min-valid 3600 (stale for it) exits 75"
assert_contains "$(cat "$SPK_TMP/r.err")" "no machine with refresh rights" "... saying no machine with refresh rights refreshed it"
assert_eq "$(refresh_grants_since "$M")" 0 "... and nothing was refreshed"
if ectl --user web:webpw get /sparekey/ed/grant >/dev/null 2>&1; then not_ok "etcd refuses the reader the grant"
else ok "etcd refuses the reader the grant"; fi
ectl_root auth disable >/dev/null
cfg_unset ed etcd_user; cfg_unset ed etcd_password_file
etcd_value() { ectl get --print-value-only "/sparekey/$1"; }

# ---------------------------------------------------------------- logout
M=$(events_mark)
sk logout ed
assert_rc 0 "logout ed: exits 0"
assert_eq "$(ectl get --prefix --keys-only /sparekey/ed/ | grep -c .)" 0 "the profile's keys are gone"

spk_done
