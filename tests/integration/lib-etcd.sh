# shellcheck shell=bash disable=SC2034
# A real etcd v3 cluster (Debian's etcd-server and etcd-client, 3.4) on
# 127.0.0.1 and "machines" that share nothing but it and the test provider,
# for the tests of issue 16 (store = etcd). Source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib-etcd.sh"
#   etcd_begin                       # the EXIT trap; skip if etcd is missing
#   peers_start                      # or etcd_tmp_start: only the temp dir
#   etcd_start 3 [--tls]             # ETCD_ENDPOINTS, ETCD_PIDS, ...
#   etcd_auth_setup PROFILE          # optional: root, refresher, reader
#   etcd_machine m1 PROFILE          # its own HOME, XDG dirs, config group
#   on m1 sk token PROFILE           # any command, in m1's environment
#
# The cluster: members e1..eN, client URLs http(s)://127.0.0.1:PORT, peer
# URLs http://127.0.0.1:PORT (free ports), data and logs in $ETCD_DIR,
# heartbeat 50 ms and election timeout 500 ms so that a new leader is
# elected in about a second. With --tls: a CA, a server certificate for
# IP:127.0.0.1 and a client certificate made with openssl, clients must
# show a certificate the CA signed (--client-cert-auth). No certificate has
# a CommonName: etcd 3.4's JSON gateway refuses a client certificate with
# one when --client-cert-auth is on.
#
# Set by etcd_start (exported where a child needs it):
#   ETCD_N, ETCD_SCHEME (http or https), ETCD_DIR ($SPK_TMP/etcdK, K = 1, 2...)
#   ETCD_CLIENT_PORTS[i], ETCD_PEER_PORTS[i], ETCD_PIDS[i]   i = 1..N
#   ETCD_ENDPOINTS   "S://127.0.0.1:P1 S://127.0.0.1:P2 ..." (etcd_endpoints)
#   ETCD_CSV         the same, comma-separated (etcdctl --endpoints)
#   ETCD_CACERT, ETCD_CLIENT_CERT, ETCD_CLIENT_KEY   (--tls only)
#   ETCD_CERT_CN_CERT, ETCD_CERT_CN_KEY   a client certificate WITH a
#                    CommonName, for the gateway's refusal (--tls only)
# Set by etcd_auth_setup:
#   ETCD_ROOT_PASSWORD; ETCD_REFRESHER / ETCD_READER (user names) and
#   ETCD_REFRESHER_PWFILE / ETCD_READER_PWFILE (0600 files, one line)
#
# The prefix: $ETCD_PREFIX (default /sparekey/, etcd_prefix's default); a
# profile P's keys are ${ETCD_PREFIX}P/grant, ${ETCD_PREFIX}P/access, ...

SPK_ETCD=/usr/bin/etcd
SPK_ETCDCTL=/usr/bin/etcdctl
ETCD_PREFIX=${ETCD_PREFIX:-/sparekey/}
ETCD_N=0
ETCD_SCHEME=http
ETCD_FROZEN=()       # processes etcd_freeze stopped: continued at exit

etcd_check_prereqs() {
    local c
    [ -x "$SPK_ETCD" ] || spk_skip "no $SPK_ETCD (apt-get install etcd-server)"
    [ -x "$SPK_ETCDCTL" ] || spk_skip "no $SPK_ETCDCTL (apt-get install etcd-client)"
    for c in openssl curl base64 node; do
        command -v "$c" >/dev/null || spk_skip "$c is not installed"
    done
}

# etcd_begin: the test's EXIT trap (etcd_peers_stop), and a skip (77) now,
# before any peer starts, if etcd, etcdctl or another tool is missing
etcd_begin() {
    trap etcd_peers_stop EXIT
    etcd_check_prereqs
}

# etcd_tmp_start: what peers_start does for the temp dir and nothing else
# (no bus, keyring, provider or browser), for tests of the cluster alone.
etcd_tmp_start() {
    trap 'exit 130' INT
    trap 'exit 143' TERM
    SPK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/spk-${SPK_NAME}.XXXXXX") || bail "mktemp failed"
    chmod 700 "$SPK_TMP"
    export SPK_TMP
    mkdir -p "$SPK_TMP/tmp"
}

# etcd_peers_stop: the EXIT trap: continues what etcd_freeze stopped (so
# that it can be stopped), then peers_stop (members included).
etcd_peers_stop() {
    local rc=$? pid
    for pid in "${ETCD_FROZEN[@]}"; do kill -CONT "$pid" 2>/dev/null; done
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "$SPK_TMP" ] && [ "$ETCD_N" -gt 0 ]; then
        local i
        for ((i = 1; i <= ETCD_N; i++)); do
            [ -s "$ETCD_DIR/e$i.log" ] || continue
            diag "---- last lines of etcd e$i ----"
            grep -v -e rafthttp -e 'not cryptographically signed' "$ETCD_DIR/e$i.log" \
                | tail -n 8 >"$SPK_TMP/.tail"; diag_file "$SPK_TMP/.tail"
        done
    fi
    (exit "$rc")
    peers_stop
}

# ---------------------------------------------------------------- the cluster

# etcd_ports N: 2N distinct free ports in ETCD_CLIENT_PORTS and ETCD_PEER_PORTS
etcd_ports() {
    local n=$1 p seen=" " i=1 k=0
    ETCD_CLIENT_PORTS=() ETCD_PEER_PORTS=()
    while [ "$i" -le "$n" ]; do
        p=$(free_port) || return 1
        k=$((k + 1)); [ "$k" -lt 200 ] || return 1
        case $seen in *" $p "*) continue ;; esac
        seen="$seen$p "
        if [ -z "${ETCD_CLIENT_PORTS[i]:-}" ]; then ETCD_CLIENT_PORTS[i]=$p
        else ETCD_PEER_PORTS[i]=$p; i=$((i + 1)); fi
    done
}

# etcd_certs: CA, server and client certificates in $ETCD_DIR/tls (openssl)
etcd_certs() {
    local d=$ETCD_DIR/tls
    mkdir -p "$d"
    (
        set -e
        cd "$d"
        exec 2>>openssl.log
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.crt \
            -subj "/O=sparekey test CA" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null
        # sign NAME SUBJECT EXTENSIONS
        sign() {
            openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" >/dev/null
            printf '%b' "$3" >"$1.ext"
            openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile "$1.ext" -out "$1.crt" >/dev/null
        }
        # The gateway dials its own gRPC server with the server certificate:
        # it is a client certificate too.
        sign server "/O=sparekey test etcd" \
            'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n'
        sign client "/O=sparekey test machines" 'extendedKeyUsage=clientAuth\n'
        sign client-cn "/O=sparekey test machines/CN=machine1" 'extendedKeyUsage=clientAuth\n'
        chmod 600 ./*.key
    ) || return 1
    ETCD_CACERT=$d/ca.crt ETCD_CLIENT_CERT=$d/client.crt ETCD_CLIENT_KEY=$d/client.key
    ETCD_CERT_CN_CERT=$d/client-cn.crt ETCD_CERT_CN_KEY=$d/client-cn.key
}

# etcd_member_start I: start member eI (again: its data dir decides then)
etcd_member_start() {
    local i=$1 cp=${ETCD_CLIENT_PORTS[$1]} pp=${ETCD_PEER_PORTS[$1]} j cluster="" pid
    local -a tls=()
    for ((j = 1; j <= ETCD_N; j++)); do
        cluster="${cluster:+$cluster,}e$j=http://127.0.0.1:${ETCD_PEER_PORTS[j]}"
    done
    if [ "$ETCD_SCHEME" = https ]; then
        tls=(--cert-file "$ETCD_DIR/tls/server.crt" --key-file "$ETCD_DIR/tls/server.key"
            --client-cert-auth --trusted-ca-file "$ETCD_CACERT")
    fi
    env -u ETCDCTL_API -u ETCD_NAME -u ETCD_DATA_DIR "$SPK_ETCD" --name "e$i" \
        --data-dir "$ETCD_DIR/e$i.data" \
        --listen-client-urls "$ETCD_SCHEME://127.0.0.1:$cp" \
        --advertise-client-urls "$ETCD_SCHEME://127.0.0.1:$cp" \
        --listen-peer-urls "http://127.0.0.1:$pp" \
        --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
        --initial-cluster "$cluster" --initial-cluster-state new \
        --initial-cluster-token "spk-$SPK_NAME-$$" \
        --heartbeat-interval 50 --election-timeout 500 \
        --logger zap --log-outputs stderr --log-level warn "${tls[@]}" \
        </dev/null >>"$ETCD_DIR/e$i.log" 2>&1 &
    pid=$!
    ETCD_PIDS[i]=$pid
    SPK_PIDS+=("$pid")
}

# ectl ARGS...: etcdctl against the whole cluster, as root once auth is on
# (the password in the environment, not argv), with the client
# certificate on a TLS cluster. ECTL_ENDPOINTS overrides the endpoints.
ectl() {
    local -a a=(--endpoints="${ECTL_ENDPOINTS:-$ETCD_CSV}" --dial-timeout=2s --command-timeout=5s)
    if [ "$ETCD_SCHEME" = https ]; then
        a+=(--cacert="$ETCD_CACERT" --cert="$ETCD_CLIENT_CERT" --key="$ETCD_CLIENT_KEY")
    fi
    if [ -n "${ETCD_ROOT_PASSWORD:-}" ]; then
        ETCDCTL_API=3 ETCDCTL_USER="root:$ETCD_ROOT_PASSWORD" "$SPK_ETCDCTL" "${a[@]}" "$@"
    else
        ETCDCTL_API=3 "$SPK_ETCDCTL" "${a[@]}" "$@"
    fi
}

# etcd_member_endpoint I
etcd_member_endpoint() { printf '%s://127.0.0.1:%s' "$ETCD_SCHEME" "${ETCD_CLIENT_PORTS[$1]}"; }

# etcd_alive_csv: the endpoints of the members that run
etcd_alive_csv() {
    local i out=""
    for ((i = 1; i <= ETCD_N; i++)); do
        proc_alive "${ETCD_PIDS[i]}" && out="${out:+$out,}$(etcd_member_endpoint "$i")"
    done
    printf %s "$out"
}

# etcd_wait_healthy [SECS]: every running member answers a linearizable
# read and the cluster has a leader (default 30 s)
etcd_wait_healthy() {
    local end=$(($(date +%s) + ${1:-30})) csv
    csv=$(etcd_alive_csv)
    [ -n "$csv" ] || return 1
    while [ "$(date +%s)" -lt "$end" ]; do
        if ECTL_ENDPOINTS=$csv ectl endpoint health >/dev/null 2>&1 && [ -n "$(etcd_leader)" ]; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# etcd_start N [--tls]: a new N-member cluster; skips the test if it does
# not become healthy within 30 s
etcd_start() {
    local n=$1 i
    etcd_check_prereqs
    # A cluster of its own: a second one gets new data dirs.
    ETCD_RUN=$((${ETCD_RUN:-0} + 1))
    ETCD_N=$n ETCD_DIR=$SPK_TMP/etcd$ETCD_RUN ETCD_SCHEME=http
    [ "${2:-}" = --tls ] && ETCD_SCHEME=https
    mkdir -p "$ETCD_DIR"
    etcd_ports "$n" || spk_skip "no free ports for etcd"
    if [ "$ETCD_SCHEME" = https ]; then
        etcd_certs || { cat "$ETCD_DIR/tls/openssl.log" >&2; spk_skip "openssl could not make the certificates"; }
    fi
    ETCD_ENDPOINTS="" ETCD_CSV=""
    for ((i = 1; i <= n; i++)); do
        ETCD_ENDPOINTS="${ETCD_ENDPOINTS:+$ETCD_ENDPOINTS }$(etcd_member_endpoint "$i")"
    done
    ETCD_CSV=${ETCD_ENDPOINTS// /,}
    for ((i = 1; i <= n; i++)); do etcd_member_start "$i"; done
    if ! etcd_wait_healthy 30; then
        for ((i = 1; i <= n; i++)); do tail -n 5 "$ETCD_DIR/e$i.log" >&2; done
        spk_skip "the $n-member etcd cluster did not become healthy"
    fi
    diag "etcd: $n members at $ETCD_ENDPOINTS ($("$SPK_ETCD" --version | head -n 1))"
}

# etcd_leader: the index I of the leader ("" when none answers as leader)
etcd_leader() {
    local i line
    for ((i = 1; i <= ETCD_N; i++)); do
        proc_alive "${ETCD_PIDS[i]}" || continue
        # endpoint, id, version, db size, is leader, ...
        line=$(ECTL_ENDPOINTS=$(etcd_member_endpoint "$i") ectl endpoint status -w simple 2>/dev/null)
        if [ "$(cut -d, -f5 <<<"$line" | tr -d ' ')" = true ]; then
            echo "$i"; return 0
        fi
    done
}

# etcd_kill_leader: SIGKILL the leader; sets ETCD_KILLED (its index)
etcd_kill_leader() {
    ETCD_KILLED=$(etcd_leader)
    [ -n "$ETCD_KILLED" ] || return 1
    kill -KILL "${ETCD_PIDS[ETCD_KILLED]}" 2>/dev/null
    wait "${ETCD_PIDS[ETCD_KILLED]}" 2>/dev/null
    return 0
}

# etcd_member_stop I: SIGTERM member I and wait for it
etcd_member_stop() { stop_pid "${ETCD_PIDS[$1]}"; }

# etcd_stop_all / etcd_start_all: the whole cluster down and up again
# (same ports, same data: nothing is lost)
etcd_stop_all() {
    local i
    for ((i = 1; i <= ETCD_N; i++)); do kill -TERM "${ETCD_PIDS[i]}" 2>/dev/null; done
    for ((i = 1; i <= ETCD_N; i++)); do stop_pid "${ETCD_PIDS[i]}"; done
}
etcd_start_all() {
    local i
    for ((i = 1; i <= ETCD_N; i++)); do
        proc_alive "${ETCD_PIDS[i]}" || etcd_member_start "$i"
    done
    etcd_wait_healthy 30
}

# etcd_freeze PID... / etcd_thaw PID...: SIGSTOP / SIGCONT (a machine, a
# member that hangs); whatever is still frozen is continued at exit
etcd_freeze() {
    local pid i
    for pid in "$@"; do
        kill -STOP "$pid" 2>/dev/null || continue
        ETCD_FROZEN+=("$pid")
        for ((i = 0; i < 50; i++)); do [ "$(proc_state "$pid")" = T ] && break; sleep 0.05; done
    done
}
etcd_thaw() {
    local pid
    for pid in "$@"; do kill -CONT "$pid" 2>/dev/null; done
}

# proc_state PID: R, S, T (stopped), Z, ... ("" when gone)
proc_state() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }

# stopped_sparekeys: the pids of stopped (state T) sparekey processes
# (sparekey, the sparekey-cli it execs, sparekey-worker), one per line
stopped_sparekeys() {
    local d pid comm
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        comm=$(cat "$d/comm" 2>/dev/null) || continue
        case $comm in sparekey*) ;; *) continue ;; esac
        [ "$(proc_state "$pid")" = T ] && echo "$pid"
    done
}

# ---------------------------------------------------------------- keys

b64() { printf %s "$1" | base64 -w0; }

# etcd_get KEY: the value ("" when absent), as root on an auth cluster
etcd_get() { ectl get --print-value-only -- "$1" 2>/dev/null; }

# etcd_keys PREFIX: the keys under PREFIX, one per line
etcd_keys() { ectl get --prefix --keys-only -- "$1" 2>/dev/null | grep -v '^$'; }

# etcd_put KEY VALUE (VALUE from stdin, not argv: it may be a grant)
etcd_put() { printf %s "$2" | ectl put -- "$1" >/dev/null; }

# etcd_revision KEY: the key's mod_revision ("" when absent)
etcd_revision() {
    ectl get -w json -- "$1" 2>/dev/null \
        | node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
                   if (r.kvs && r.kvs[0]) process.stdout.write(String(r.kvs[0].mod_revision));'
}

# etcd_grant P / etcd_access P: profile P's grant document and shared
# access token (JSON), read from the cluster
etcd_grant() { etcd_get "${ETCD_PREFIX}$1/grant"; }
etcd_access() { etcd_get "${ETCD_PREFIX}$1/access"; }

# gateway_range ENDPOINT KEY [CURL ARGS...]: POST /v3/kv/range to the JSON
# gateway; sets GW_STATUS and GW_BODY
gateway_range() {
    local ep=$1 key=$2; shift 2
    GW_STATUS=$(curl -sS -o "$SPK_TMP/gw.body" -w '%{http_code}' --max-time 10 "$@" \
        -X POST "$ep/v3/kv/range" -d "{\"key\":\"$(b64 "$key")\"}" 2>"$SPK_TMP/gw.err")
    GW_BODY=$(cat "$SPK_TMP/gw.body" "$SPK_TMP/gw.err" 2>/dev/null)
}

# gateway_token ENDPOINT USER PWFILE [CURL ARGS...]: /v3/auth/authenticate;
# prints the token ("" when refused); the request body goes through a file
gateway_token() {
    local ep=$1 user=$2 pwfile=$3; shift 3
    (umask 077; node -e 'const fs = require("fs");
        process.stdout.write(JSON.stringify({ name: process.argv[1],
            password: fs.readFileSync(process.argv[2], "utf8").replace(/\n$/, "") }));' \
        "$user" "$pwfile" >"$SPK_TMP/gw.auth")
    curl -sS --max-time 10 "$@" -X POST "$ep/v3/auth/authenticate" --data-binary @"$SPK_TMP/gw.auth" \
        2>/dev/null | json_get token
    rm -f "$SPK_TMP/gw.auth"
}

# ---------------------------------------------------------------- auth

# pwfile PATH PASSWORD: a 0600 file holding PASSWORD and a newline
pwfile() { (umask 077; printf '%s\n' "$2" >"$1"); chmod 600 "$1"; }

# etcd_auth_setup PROFILE...: users and roles, then auth enable. These are
# the commands sparekey.conf(5) gives (PREFIX is $ETCD_PREFIX):
#   etcdctl user add root
#   etcdctl role add sparekey-P-refresher
#   etcdctl role grant-permission sparekey-P-refresher readwrite PREFIXP/ --prefix=true
#   etcdctl role add sparekey-P-reader
#   etcdctl role grant-permission sparekey-P-reader read PREFIXP/access
#   etcdctl user add refresher; etcdctl user grant-role refresher sparekey-P-refresher
#   etcdctl user add reader;    etcdctl user grant-role reader sparekey-P-reader
#   etcdctl auth enable
etcd_auth_setup() {
    local pw p d=$ETCD_DIR/auth
    mkdir -p "$d"; chmod 700 "$d"
    ETCD_REFRESHER=refresher ETCD_READER=reader
    ETCD_REFRESHER_PWFILE=$d/refresher.password ETCD_READER_PWFILE=$d/reader.password
    pwfile "$ETCD_REFRESHER_PWFILE" "refresher-$(head -c 9 /dev/urandom | base64 | tr '/+' '_-')"
    pwfile "$ETCD_READER_PWFILE" "reader-$(head -c 9 /dev/urandom | base64 | tr '/+' '_-')"
    pw="root-$(head -c 9 /dev/urandom | base64 | tr '/+' '_-')"
    (
        set -e
        exec >>"$d/etcdctl.log" 2>&1
        printf '%s\n' "$pw" | ectl user add root --interactive=false
        for p in "$@"; do
            ectl role add "sparekey-$p-refresher"
            ectl role grant-permission "sparekey-$p-refresher" readwrite "${ETCD_PREFIX}$p/" --prefix=true
            ectl role add "sparekey-$p-reader"
            ectl role grant-permission "sparekey-$p-reader" read "${ETCD_PREFIX}$p/access"
        done
        head -n 1 "$ETCD_REFRESHER_PWFILE" | ectl user add refresher --interactive=false
        head -n 1 "$ETCD_READER_PWFILE" | ectl user add reader --interactive=false
        for p in "$@"; do
            ectl user grant-role refresher "sparekey-$p-refresher"
            ectl user grant-role reader "sparekey-$p-reader"
        done
        ectl auth enable
    ) || { cat "$d/etcdctl.log" >&2; return 1; }
    ETCD_ROOT_PASSWORD=$pw
}

# ectl_as USER PWFILE ARGS...: etcdctl as USER (password from PWFILE)
ectl_as() {
    local user=$1 f=$2; shift 2
    ETCD_ROOT_PASSWORD='' ETCDCTL_USER="$user:$(head -n 1 "$f")" ectl "$@"
}

# ---------------------------------------------------------------- machines

# etcd_machine NAME PROFILE [KEY=VALUE...]: a machine below $SPK_TMP/NAME:
# its own HOME, XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_CACHE_HOME,
# XDG_DATA_HOME, XDG_RUNTIME_DIR (0700) and TMPDIR, and no session bus (no
# keyring: nothing but the cluster holds the grant). Its config has the
# group [PROFILE] with store = etcd, etcd_endpoints = $ETCD_ENDPOINTS,
# etcd_prefix = $ETCD_PREFIX, on a TLS cluster etcd_cacert, etcd_cert,
# etcd_key, and any KEY=VALUE given (e.g. etcd_user=refresher
# etcd_password_file=PATH). Shares the provider, the browser and the
# cluster with the other machines.
etcd_machine() {
    local name=$1 p=$2 root=$SPK_TMP/$1 kv; shift 2
    mkdir -p "$root/home/.config/sparekey" "$root/home/.local/state" "$root/home/.cache" \
        "$root/home/.local/share" "$root/tmp"
    [ -d "$root/run" ] || mkdir -m 700 "$root/run"
    on "$name" cfg_set "$p" store etcd
    on "$name" cfg_set "$p" etcd_endpoints "$ETCD_ENDPOINTS"
    on "$name" cfg_set "$p" etcd_prefix "$ETCD_PREFIX"
    if [ "$ETCD_SCHEME" = https ]; then
        on "$name" cfg_set "$p" etcd_cacert "$ETCD_CACERT"
        on "$name" cfg_set "$p" etcd_cert "$ETCD_CLIENT_CERT"
        on "$name" cfg_set "$p" etcd_key "$ETCD_CLIENT_KEY"
    fi
    for kv in "$@"; do on "$name" cfg_set "$p" "${kv%%=*}" "${kv#*=}"; done
}

# on NAME CMD [ARG...]: run CMD (a shell function too: sk, cfg_get, ...) in
# machine NAME's environment; the caller's comes back afterwards
on() {
    local root=$SPK_TMP/$1; shift
    local -x HOME=$root/home
    local -x XDG_CONFIG_HOME=$root/home/.config XDG_STATE_HOME=$root/home/.local/state
    local -x XDG_CACHE_HOME=$root/home/.cache XDG_DATA_HOME=$root/home/.local/share
    local -x XDG_RUNTIME_DIR=$root/run TMPDIR=$root/tmp
    local -x SPK_CONFIG=$root/home/.config/sparekey/config
    local -x DBUS_SESSION_BUS_ADDRESS=unix:path=$root/no-session-bus
    "$@"
}

# machine_copy_profile FROM TO PROFILE: TO's config gets FROM's [PROFILE]
# group as it is (what a person copies to another machine: no secret)
machine_copy_profile() {
    local from=$SPK_TMP/$1/home/.config/sparekey/config to=$SPK_TMP/$2/home/.config/sparekey/config
    awk -v g="[$3]" '/^[ \t]*\[/ { in_g = ($0 == g) } in_g' "$from" >"$SPK_TMP/.group"
    [ -s "$SPK_TMP/.group" ] || return 1
    if [ -f "$to" ]; then
        awk -v g="[$3]" '/^[ \t]*\[/ { in_g = ($0 == g) } !in_g' "$to" >"$SPK_TMP/.rest"
        cat "$SPK_TMP/.rest" "$SPK_TMP/.group" >"$to"
    else
        cp "$SPK_TMP/.group" "$to"
    fi
}

# etcd_login MACHINE PROFILE [LOGIN ARGS...]: sign in through the browser
# on MACHINE as $SPK_BROWSER_USER; checks exit 0 and a grant with a refresh
# token in the cluster. Returns 1 otherwise.
etcd_login() {
    local m=$1 p=$2; shift 2
    browser_reset
    on "$m" sk --timeout 90 login "$p" --timeout 60 "$@"
    assert_rc 0 "login $p on $m: exits 0" || return 1
    browser_wait 30 || true
    if [ -n "$(etcd_grant "$p" | json_get refresh_token)" ]; then
        ok "login $p on $m: ${ETCD_PREFIX}$p/grant in the cluster has a refresh token"
    else
        not_ok "login $p on $m: ${ETCD_PREFIX}$p/grant in the cluster has a refresh token" \
            "keys: $(etcd_keys "$ETCD_PREFIX" | tr '\n' ' ')"
        return 1
    fi
}

# machine_holds MACHINE STRING: does any file of MACHINE hold STRING?
machine_holds() { grep -rqsF -- "$2" "$SPK_TMP/$1"; }

# ---------------------------------------------------------------- many callers at once

# fleet_burst N MACHINES ARGS...: N sparekey processes on each machine of
# MACHINES (a space-separated list), released together by a start file;
# $FLEET_AT_GO (a command, e.g. "sleep 0.3; etcd_kill_leader") runs in this
# shell right after the release. Results in $SPK_TMP/burst/M.I.{out,err,rc};
# FLEET_SECS is how long all took.
fleet_burst() {
    local n=$1 ms=$2 m i t0 pids=()
    shift 2
    rm -rf "$SPK_TMP/burst"; mkdir -p "$SPK_TMP/burst"
    for m in $ms; do
        for ((i = 1; i <= n; i++)); do
            (
                while [ ! -e "$SPK_TMP/burst/go" ]; do sleep 0.01; done
                on "$m" timeout --kill-after=5 120 "$SPAREKEY" "$@" </dev/null \
                    >"$SPK_TMP/burst/$m.$i.out" 2>"$SPK_TMP/burst/$m.$i.err"
                echo $? >"$SPK_TMP/burst/$m.$i.rc"
            ) &
            pids+=($!)
        done
    done
    sleep 0.5
    t0=$(date +%s.%N)
    : >"$SPK_TMP/burst/go"
    [ -z "${FLEET_AT_GO:-}" ] || eval "$FLEET_AT_GO"
    for i in "${pids[@]}"; do wait "$i"; done
    FLEET_SECS=$(elapsed_between "$t0" "$(date +%s.%N)")
}

# fleet_rcs: "RC COUNT" lines over the last burst, e.g. "0 57" and "75 3"
fleet_rcs() { cat "$SPK_TMP"/burst/*.rc | sort | uniq -c | awk '{ print $2, $1 }'; }

# fleet_bad ALLOWED_RCS: the callers whose exit status is not in the
# space-separated ALLOWED_RCS, one line each with the first line of stderr
fleet_bad() {
    local f rc base
    for f in "$SPK_TMP"/burst/*.rc; do
        base=${f%.rc}
        rc=$(cat "$f")
        case " $1 " in *" $rc "*) continue ;; esac
        printf '%s: exit %s: %s\n' "${base##*/}" "$rc" "$(head -n 1 "$base.err")"
    done
    for base in "$SPK_TMP"/burst/*.err; do
        [ -e "${base%.err}.rc" ] || printf '%s: no exit status\n' "${base##*/}"
    done
}

# fleet_tokens: the distinct lines printed by callers that exited 0
fleet_tokens() {
    local f
    for f in "$SPK_TMP"/burst/*.rc; do
        [ "$(cat "$f")" = 0 ] && cat "${f%.rc}.out"
    done | sort -u | grep .
}

# ---------------------------------------------------------------- a machine's processes

# proc_ppid PID
proc_ppid() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2; }

# sparekeys_under PID: the sparekey processes (sparekey, sparekey-cli,
# sparekey-worker, forks of them) that descend from PID (a worker's parent
# is its caller), one per line
sparekeys_under() {
    local d pid p comm
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        comm=$(cat "$d/comm" 2>/dev/null) || continue
        case $comm in sparekey*) ;; *) continue ;; esac
        p=$pid
        while [ -n "$p" ] && [ "$p" -gt 1 ]; do
            if [ "$p" = "$1" ]; then echo "$pid"; break; fi
            p=$(proc_ppid "$p")
        done
    done
}

# ---------------------------------------------------------------- checks

# assert_machine_clean WHAT MACHINE RT: no file of MACHINE holds the
# refresh token RT, and no rescue file is left there
assert_machine_clean() {
    if machine_holds "$2" "$3"; then not_ok "$1: no file of $2 holds the refresh token"
    else ok "$1: no file of $2 holds the refresh token"; fi
    assert_eq "$(find "$SPK_TMP/$2" -name '*.rescue' | wc -l)" 0 "$1: no rescue file is left on $2"
}

# assert_shared_token WHAT PROFILE TOKEN OLD_TOKEN OLD_RT: TOKEN is new, the
# provider accepts it, and the cluster holds it (grant and access key)
# with a refresh token rotated from OLD_RT
assert_shared_token() {
    local what=$1 p=$2 t=$3 g
    assert_new "$t" "$4" "$what: the token is a new one"
    me "$t"
    assert_eq "$ME_STATUS" 200 "$what: the provider accepts it (GET /me)"
    g=$(etcd_grant "$p")
    assert_eq "$(json_get access_token <<<"$g")" "$t" "$what: the cluster's grant holds it"
    assert_new "$(json_get refresh_token <<<"$g")" "$5" "$what: ... with the rotated refresh token"
    assert_eq "$(etcd_access "$p" | json_get access_token)" "$t" "$what: the access key holds it"
}
