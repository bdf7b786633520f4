# shellcheck shell=bash
# Xero-shaped peers for sparekey's integration tests, on top of lib.sh:
# source it after lib.sh and call xero_peer_start after peers_start.
#
#   xero_peer_start          tests/peers/xero-connections.mjs (GET /connections
#                            checking the bearer token against $ISSUER/me)
#   xero_profile NAME        write [NAME] by hand: provider = xero, client_id =
#                            sparekey-exact, every endpoint pointed at the peers
#   xero_peer_restart [JSON] the peer again on its port, serving other tenants
#   xero_mark, xero_requests_since MARK [PATH]   count the peer's requests
#   json_js EXPR <<<JSON     a JavaScript expression over parsed JSON (as r)
#   hold_port PORT ADDR      another program listening on ADDR:PORT
#   wait_ports_free SECS PORT...
#   grant_lookup NAME        (replaces lib.sh's) the kind=grant item only
#
# Set by xero_peer_start (exported): XERO_PEER (http://127.0.0.1:PORT),
# SPK_XERO_LOG (its JSON-lines request log), XERO_T1_ID/XERO_T1_NAME and
# XERO_T2_ID/XERO_T2_NAME (the two tenants it serves, in its order).

XERO_T1_ID=1f9b6c4e-2d3a-4b5c-8d7e-6f5a4b3c2d1e
XERO_T1_NAME='Demo Company (AU)'
XERO_T2_ID=a7c3e5d1-9b8f-4e6a-b2c4-d6e8f0a1b3c5
XERO_T2_NAME='Demo Company (NZ)'

xero_peer_start() {
    local pid
    export SPK_XERO_LOG=$SPK_TMP/xero-requests.jsonl
    : >"$SPK_XERO_LOG"
    node "$SPK_PEERS/xero-connections.mjs" --issuer "$ISSUER" --port 0 --port-file "$SPK_TMP/xero.port" \
        >"$SPK_TMP/xero.out" 2>"$SPK_TMP/xero.log" </dev/null &
    pid=$!; SPK_PIDS+=("$pid"); XERO_PEER_PID=$pid
    wait_for_file "$SPK_TMP/xero.port" 30 "$pid" \
        || { cat "$SPK_TMP/xero.log" >&2; spk_skip "xero-connections.mjs did not start"; }
    XERO_PEER=http://127.0.0.1:$(cat "$SPK_TMP/xero.port")
    export XERO_PEER XERO_T1_ID XERO_T1_NAME XERO_T2_ID XERO_T2_NAME
    diag "xero peer: $XERO_PEER"
}

# xero_profile NAME: the [NAME] group a user pointing the xero preset at a
# sandbox would write, endpoints taken from the provider's discovery document.
xero_profile() {
    local d
    d=$(curl -fsS --max-time 10 "$ISSUER/.well-known/openid-configuration") \
        || bail "cannot read $ISSUER/.well-known/openid-configuration"
    cfg_set "$1" provider xero
    cfg_set "$1" client_id sparekey-exact
    cfg_set "$1" authorization_endpoint "$(json_get authorization_endpoint <<<"$d")"
    cfg_set "$1" token_endpoint "$(json_get token_endpoint <<<"$d")"
    cfg_set "$1" revocation_endpoint "$(json_get revocation_endpoint <<<"$d")"
    cfg_set "$1" userinfo_endpoint "$(json_get userinfo_endpoint <<<"$d")"
    cfg_set "$1" connections_endpoint "$XERO_PEER/connections"
}

xero_mark() { wc -l <"$SPK_XERO_LOG" | tr -d ' '; }

# xero_requests_since MARK [PATH]: requests the peer answered since MARK
# (all, or only those for PATH)
xero_requests_since() {
    tail -n "+$(($1 + 1))" "$SPK_XERO_LOG" | grep -cF "\"path\":\"${2:-}" || true
}

# xero_peer_restart [TENANTS_JSON]: stop the peer and start it again on the
# same port, serving TENANTS_JSON (SPK_XERO_TENANTS format) or the defaults.
xero_peer_restart() {
    local port=${XERO_PEER##*:} pid
    stop_pid "$XERO_PEER_PID"
    rm -f "$SPK_TMP/xero.port"
    SPK_XERO_TENANTS=${1:-} node "$SPK_PEERS/xero-connections.mjs" --issuer "$ISSUER" --port "$port" \
        --port-file "$SPK_TMP/xero.port" >>"$SPK_TMP/xero.out" 2>>"$SPK_TMP/xero.log" </dev/null &
    pid=$!; SPK_PIDS+=("$pid"); XERO_PEER_PID=$pid
    wait_for_file "$SPK_TMP/xero.port" 30 "$pid" || bail "xero-connections.mjs did not restart on port $port"
}

# json_js EXPR <<<JSON: the value of the JavaScript expression EXPR, with
# the parsed JSON as r ("" when undefined/null or not JSON; objects as JSON).
json_js() {
    # shellcheck disable=SC2016
    node -e 'let r; try { r = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { process.exit(0); }
             let v; try { v = new Function("r", `return (${process.argv[1]});`)(r); } catch { process.exit(0); }
             if (v === undefined || v === null) process.exit(0);
             process.stdout.write(typeof v === "object" ? JSON.stringify(v) : String(v));' "$1"
}

# hold_port PORT ADDR: start a listener on ADDR:PORT (another program using
# the port); sets HOLD_PID. Fails when the port cannot be taken.
hold_port() {
    local f=$SPK_TMP/hold-$1-${2//[^0-9a-z]/_}.ready
    rm -f "$f"
    node -e 'const [port, host, ready] = process.argv.slice(1);
             const s = require("net").createServer((c) => c.destroy());
             s.on("error", (e) => { console.error(e.message); process.exit(1); });
             s.listen(+port, host, () => require("fs").writeFileSync(ready, "ok\n"));
             process.on("SIGTERM", () => process.exit(0));' "$1" "$2" "$f" 2>>"$SPK_TMP/hold.log" &
    HOLD_PID=$!; SPK_PIDS+=("$HOLD_PID")
    wait_for_file "$f" 10 "$HOLD_PID"
}

# wait_ports_free SECS PORT...: until nothing listens on any PORT (127.0.0.1
# and [::1]); another test on this machine may be using them for a moment.
wait_ports_free() {
    local n=$(($1 * 2)) i p busy; shift
    for ((i = 0; i <= n; i++)); do
        busy=
        for p in "$@"; do
            port_free "$p" && port_free6 "$p" || busy="$busy $p"
        done
        [ -z "$busy" ] && return 0
        ((i == 0)) && diag "waiting for port(s)$busy to be free"
        sleep 0.5
    done
    return 1
}

# port_free6 PORT: nothing listens on [::1]:PORT (true when there is no IPv6)
port_free6() {
    node -e 'const net = require("net"); const s = net.createServer();
             s.once("error", (e) => process.exit(e.code === "EADDRINUSE" ? 1 : 0));
             s.listen(+process.argv[1], "::1", () => s.close(() => process.exit(0)));' "$1"
}

# lib.sh's grant_lookup asks for "profile NAME" alone, which may return the
# kind=client_secret item of a profile with a client secret; here the grant
# is always looked up by kind as well (grant_field and spk_login use this).
grant_lookup() { secret-tool lookup profile "$1" kind grant 2>/dev/null; }
