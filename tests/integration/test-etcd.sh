#!/usr/bin/env bash
# store = etcd (issue 16): one grant in an etcd cluster, many machines.
#   1. A 3-member cluster; machines m1, m2, m3 (own HOME, XDG dirs and
#      runtime dir, no keyring) with the same [fleet] group. A browser
#      login on m1 puts PREFIX fleet/grant and PREFIX fleet/access (the
#      JSON `token --json` prints, never the refresh token) in the cluster;
#      m2 and m3 get the token with no login and no copy of the refresh
#      token on their disks; token --header, token --json, exec.
#   2. The stampede: 20 concurrent `token` on each machine on an expired
#      grant: all 60 exit 0 with the same new token, the provider saw
#      exactly one refresh and no reuse, the grant keeps working.
#   3. refresh and refresh --all from another machine; a machine whose
#      token is stale during another's refresh waits for its answer (a
#      watch), not the lock; status shows the
#      store as etcd and the endpoint that answered; doctor checks each
#      endpoint, the leader, and read/write on the profile's keys.
#   4. Moves: export from a laptop's keyring | import --store etcd;
#      export out of etcd (keys gone); logout (keys gone, grant revoked).
#
# Peers: provider.mjs, browser, gnome-keyring (the laptop of 4), etcd.
# Env: SPAREKEY. Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-headless.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-etcd.sh"
etcd_begin
export SPK_ACCESS_TTL=10
peers_start
etcd_start 3

P=fleet
MACHINES="m1 m2 m3"
for m in $MACHINES; do etcd_machine "$m" "$P"; done

# doctor_has WORD ERE DESC: a line of the last sk's stdout matches ERE and
# has WORD (ok, FAIL) as a word
doctor_has() {
    if grep -E -- "$2" "$SPK_TMP/sk.out" | grep -qw -- "$1"; then ok "$3"
    else not_ok "$3" "no line with '$1' matching /$2/ in:" "$SK_OUT"; fi
}

# ================================================================ 1. login on m1, tokens everywhere
etcd_login m1 "$P" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login on m1 failed; nothing else can be checked"
assert_eq "$(on m1 cfg_get "$P" store)" etcd "login kept store = etcd in m1's group"
assert_eq "$(on m1 cfg_get "$P" etcd_endpoints)" "$ETCD_ENDPOINTS" "login kept etcd_endpoints"
assert_eq "$(on m1 cfg_get "$P" etcd_prefix)" "$ETCD_PREFIX" "login kept etcd_prefix"
assert_eq "$(keyring_item "$P" grant)" "" "nothing for $P in the (laptop's) keyring"
machine_copy_profile m1 m2 "$P" && machine_copy_profile m1 m3 "$P" \
    || bail "(harness) m1's [$P] group could not be copied"

G0=$(etcd_grant "$P")
AT0=$(json_get access_token <<<"$G0")
RT0=$(json_get refresh_token <<<"$G0")
EXP0=$(json_get expires_at <<<"$G0")
A0=$(etcd_access "$P")
assert_eq "$(json_get access_token <<<"$A0")" "$AT0" "${ETCD_PREFIX}$P/access holds the grant's access token"
assert_eq "$(json_get expires_at <<<"$A0")" "$EXP0" "... its expires_at"
assert_eq "$(json_type expires_at <<<"$A0")" number "... as a number"
assert_eq "$(json_get token_type <<<"$A0")" Bearer "... token_type Bearer"
assert_eq "$(json_type refresh_token <<<"$A0")" undefined "... and no refresh token"
assert_not_contains "$A0" "$RT0" "the access key does not hold the refresh token anywhere"
assert_not_contains "$(cat "$SPK_TMP/m1/home/.config/sparekey/config")" "$RT0" "m1's config holds no refresh token"

for m in m2 m3; do
    M=$(events_mark)
    on "$m" sk token "$P" --min-valid 1
    assert_rc 0 "$m (no login there): token exits 0"
    assert_eq "$SK_OUT" "$AT0" "$m: token prints the access token m1's login stored"
    assert_eq "$(refresh_grants_since "$M")" 0 "$m: no refresh was needed"
    assert_machine_clean "$m" "$m" "$RT0"
done
on m2 sk token "$P" --json
assert_rc 0 "m2: token --json exits 0"
A1=$(etcd_access "$P")
for f in access_token expires_at token_type scope; do
    assert_eq "$(json_get "$f" <<<"$SK_OUT")" "$(json_get "$f" <<<"$A1")" \
        "m2: token --json's $f is the access key's"
done
on m3 sk token "$P" --header
assert_rc 0 "m3: token --header exits 0"
assert_eq "$SK_OUT" "Authorization: Bearer $AT0" "m3: token --header prints the Authorization header"
on m3 sk exec "$P" -- sh -c 'test -n "$SPAREKEY_ACCESS_TOKEN" && echo has-token'
assert_rc 0 "m3: exec runs a command with the token"
assert_eq "$SK_OUT" has-token "m3: ... which sees it in SPAREKEY_ACCESS_TOKEN"

# ================================================================ 2. the stampede
diag "waiting for the access token to expire (expires_at $EXP0)"
sleep_until "$((${EXP0%.*} + 1))"
me "$AT0"
assert_eq "$ME_STATUS" 401 "(harness) the stored access token has expired at the provider"
M=$(events_mark)
N=20
fleet_burst "$N" "$MACHINES" token "$P" --min-valid 1
diag "3 x $N concurrent token calls took ${FLEET_SECS}s; exit statuses: $(fleet_rcs | tr '\n' ' ')"
BAD=$(fleet_bad 0)
assert_eq "$BAD" "" "stampede: all $((3 * N)) token calls on 3 machines exit 0"
assert_eq "$(cat "$SPK_TMP"/burst/*.out | grep -c .)" "$((3 * N))" "stampede: one line each on stdout"
assert_eq "$(fleet_tokens | grep -c .)" 1 "stampede: all print the same token"
AT1=$(fleet_tokens | head -n 1)
assert_eq "$(cat "$SPK_TMP"/burst/*.err | grep -c .)" 0 "stampede: nothing on stderr"
assert_eq "$(refresh_grants_since "$M")" 1 "stampede: the provider saw exactly one refresh_token grant"
assert_eq "$(trouble_since "$M")" "" "stampede: no reuse, grant error or revocation at the provider"
assert_shared_token stampede "$P" "$AT1" "$AT0" "$RT0"
RT1=$(etcd_grant "$P" | json_get refresh_token)
for m in $MACHINES; do assert_machine_clean stampede "$m" "$RT1"; done

# ================================================================ 3. refresh, status, doctor
M=$(events_mark)
on m3 sk refresh "$P"
assert_rc 0 "m3: refresh exits 0 (the grant keeps working)"
assert_eq "$(refresh_ok_since "$M")" 1 "m3: refresh made one successful refresh"
RT2=$(etcd_grant "$P" | json_get refresh_token)
assert_new "$RT2" "$RT1" "m3: the cluster holds the newly rotated refresh token"
AT2=$(etcd_grant "$P" | json_get access_token)
rm -f "$SPK_TMP/m2/run/sparekey/$P.token"
on m1 sk token "$P" --min-valid 1
assert_rc 0 "m1: token after m3's refresh exits 0"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "m1: ... with a token the provider accepts (its cache, or m3's token)"
on m2 sk token "$P" --min-valid 1 --json
assert_eq "$(json_get access_token <<<"$SK_OUT")" "$AT2" \
    "m2 (whose cache is empty): token prints the token m3's refresh stored"
M=$(events_mark)
on m2 sk refresh --all --older-than 0s
assert_rc 0 "m2: refresh --all --older-than 0s exits 0"
assert_eq "$(refresh_ok_since "$M")" 1 "m2: refresh --all refreshed the one profile once"
assert_eq "$(trouble_since "$M")" "" "refresh, refresh --all: no trouble at the provider"

# A machine whose token is stale while another machine refreshes waits for
# that answer (a watch on the profile's keys), not for the lock: m1's
# refresh is held 3 s at the provider; m2 asks meanwhile and prints m1's
# token, with no refresh of its own and no place in the lock's queue.
EXPN=$(etcd_access "$P" | json_get expires_at)
sleep_until "$((${EXPN%.*} - 4))"
echo 3000 >"$SPK_TOKEN_DELAY_FILE"
M=$(events_mark)
(on m1 "$SPAREKEY" refresh "$P" >/dev/null 2>&1; echo $? >"$SPK_TMP/slow.rc") &
SLOW=$!
for ((i = 0; i < 200; i++)); do [ -n "$(etcd_get "${ETCD_PREFIX}$P/holder")" ] && break; sleep 0.02; done
rm -f "$SPK_TMP/m2/run/sparekey/$P.token"
on m2 sk -v token "$P" --min-valid 5
wait "$SLOW"
rm -f "$SPK_TOKEN_DELAY_FILE"
assert_eq "$(cat "$SPK_TMP/slow.rc")" 0 "slow refresh on m1: exits 0"
assert_rc 0 "m2, during m1's slow refresh: token exits 0"
assert_eq "$SK_OUT" "$(etcd_access "$P" | json_get access_token)" "m2: ... and prints the token m1's refresh stored"
assert_contains "$SK_ERR" "another holds the lock; waiting for its outcome" "m2: ... having watched for m1's answer"
assert_not_contains "$SK_ERR" "holding the cluster's refresh lock" "m2: ... without taking the lock"
assert_eq "$(refresh_grants_since "$M")" 1 "m1's slow refresh: the provider saw one refresh, m1's"

on m2 sk status "$P"
assert_rc 0 "m2: status exits 0"
assert_contains "$SK_OUT" etcd "m2: status shows the store as etcd"
assert_match "$SK_OUT" "127\.0\.0\.1:(${ETCD_CLIENT_PORTS[1]}|${ETCD_CLIENT_PORTS[2]}|${ETCD_CLIENT_PORTS[3]})" \
    "m2: status shows the endpoint that answered"
on m2 sk status "$P" --json
assert_eq "$(node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0, "utf8"))[0].store))' \
    <<<"$SK_OUT" 2>/dev/null)" etcd "m2: status --json: the profile's store is etcd"

on m1 sk doctor "$P"
assert_rc 0 "m1: doctor exits 0 on a healthy cluster"
for ((i = 1; i <= 3; i++)); do
    doctor_has ok "127\.0\.0\.1:${ETCD_CLIENT_PORTS[i]}" "m1: doctor: an ok line for endpoint e$i"
done
doctor_has ok leader "m1: doctor: an ok line for the cluster's leader"
doctor_has ok "${ETCD_PREFIX}$P/" "m1: doctor: an ok line for read/write on ${ETCD_PREFIX}$P/"
etcd_member_stop 3
on m1 sk doctor "$P"
assert_ne "$SK_RC" 0 "m1: doctor with member e3 stopped: does not exit 0"
doctor_has FAIL "127\.0\.0\.1:${ETCD_CLIENT_PORTS[3]}" "m1: doctor: a FAIL line names the stopped endpoint"
doctor_has ok "127\.0\.0\.1:${ETCD_CLIENT_PORTS[1]}" "m1: doctor: ... while e1's line stays ok"
M=$(events_mark)
on m2 sk token "$P" --min-valid 1
assert_rc 0 "m2: token with e3 stopped: exits 0 (the other endpoints answer)"
etcd_start_all || bail "(harness) e3 did not come back"

# ================================================================ 4. import, export, logout
LP=moved
spk_login "$LP" --issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access" \
    || bail "login $LP on the laptop failed"
sk export "$LP"
assert_rc 0 "laptop: export $LP exits 0"
DOC=$SPK_TMP/$LP.export
cp "$SPK_TMP/sk.out" "$DOC"
RTL=$(json_get grant <<<"$(cat "$DOC")" | json_get refresh_token)
etcd_machine m1 "$LP"
on m1 skx --stdin "$DOC" -- import "$LP" --store etcd
assert_rc 0 "m1: import $LP --store etcd exits 0"
assert_eq "$(on m1 cfg_get "$LP" store)" etcd "m1: import kept store = etcd"
assert_eq "$(on m1 cfg_get "$LP" etcd_endpoints)" "$ETCD_ENDPOINTS" "m1: import kept etcd_endpoints"
assert_eq "$(etcd_grant "$LP" | json_get refresh_token)" "$RTL" "import: the cluster holds the exported refresh token"
assert_eq "$(etcd_access "$LP" | json_get access_token)" "$(etcd_grant "$LP" | json_get access_token)" \
    "import: ... and its access token in ${ETCD_PREFIX}$LP/access"
assert_machine_clean import m1 "$RTL"
machine_copy_profile m1 m2 "$LP"
M=$(events_mark)
on m2 sk refresh "$LP"
assert_rc 0 "m2: refresh $LP (imported on m1) exits 0"
assert_eq "$(trouble_since "$M")" "" "m2: no trouble at the provider"
RTL2=$(etcd_grant "$LP" | json_get refresh_token)

on m1 sk export "$LP"
assert_rc 0 "m1: export $LP out of etcd exits 0"
cp "$SPK_TMP/sk.out" "$DOC"
assert_eq "$(json_get grant <<<"$(cat "$DOC")" | json_get refresh_token)" "$RTL2" \
    "export: the document holds the cluster's current refresh token"
assert_eq "$(etcd_keys "${ETCD_PREFIX}$LP/")" "" "export: no key is left under ${ETCD_PREFIX}$LP/"
on m2 sk refresh "$LP"
assert_failure 77 "m2: refresh $LP after the export (no grant in the cluster)"
skx --stdin "$DOC" -- import "$LP"
assert_rc 0 "laptop: import $LP back into the keyring exits 0"
M=$(events_mark)
sk refresh "$LP"
assert_rc 0 "laptop: refresh $LP works"
assert_eq "$(trouble_since "$M")" "" "laptop: no trouble at the provider"

RTF=$(etcd_grant "$P" | json_get refresh_token)
M=$(events_mark)
on m2 sk logout "$P"
assert_rc 0 "m2: logout $P exits 0"
assert_eq "$(etcd_keys "${ETCD_PREFIX}$P/")" "" "logout: no key is left under ${ETCD_PREFIX}$P/"
token_post "grant_type=refresh_token&client_id=sparekey-native&refresh_token=$(urlencode "$RTF")"
assert_eq "$(json_get error <<<"$TP_BODY")" invalid_grant "logout: the provider no longer takes the refresh token"
on m1 sk refresh "$P"
assert_failure 77 "m1: refresh $P after logout on m2 (no grant in the cluster)"

spk_done
