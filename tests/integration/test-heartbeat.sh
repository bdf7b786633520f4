#!/bin/bash
# The profile key heartbeat_url (issue 17): after each refresh (and each
# profile of refresh --all) sparekey sends a GET to the URL on success and
# to URL/fail on failure, before refresh exits; bounded to a few seconds,
# never with a token in it, never failing the refresh.
#  - a local heartbeat server counts the pings on each path;
#  - a server that accepts and hangs, and a port where nothing listens:
#    the refresh still succeeds (the rotated token stored) within the
#    bound.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-consumers.sh"
trap peers_stop EXIT

peers_start
badpeer_start
heartbeat_start

# The bound: a heartbeat may add at most this many seconds to a refresh.
BOUND=10
ARGS=(--issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access")
spk_login hb1 "${ARGS[@]}" || bail "login hb1 failed"
spk_login hb2 "${ARGS[@]}" || bail "login hb2 failed"
cfg_set hb1 heartbeat_url "$HEARTBEAT/ping/hb1"
cfg_set hb2 heartbeat_url "$HEARTBEAT/ping/hb2"

# ---------------------------------------------------------------- success and failure
sk refresh hb1
assert_rc 0 "refresh hb1: exits 0"
assert_eq "$(heartbeat_count /ping/hb1)" 1 "refresh hb1: one success ping, sent before refresh exited"
assert_eq "$(heartbeat_count /ping/hb1/fail)" 0 "refresh hb1: no failure ping"
assert_eq "$(heartbeat_count /ping/hb2)" 0 "refresh hb1: no ping for hb2"

cfg_set hb2 token_endpoint "$BADPEER/503"
sk refresh hb2
assert_rc 75 "refresh hb2 against a 503: exits 75, as without a heartbeat"
assert_eq "$(heartbeat_count /ping/hb2/fail)" 1 "refresh hb2 failing: one ping to URL/fail"
assert_eq "$(heartbeat_count /ping/hb2)" 0 "refresh hb2 failing: no success ping"
cfg_unset hb2 token_endpoint

sleep 1.1
sk refresh --all --older-than 1s
assert_rc 0 "refresh --all: exits 0"
assert_eq "$(heartbeat_count /ping/hb1)" 2 "refresh --all: a success ping for hb1"
assert_eq "$(heartbeat_count /ping/hb2)" 1 "refresh --all: a success ping for hb2"

# Nothing secret in a ping: no Authorization header, no query, and no token
# anywhere in what the server logged.
assert_eq "$(peer_count "$HEARTBEAT_LOG" authorization=true)" 0 "no ping carried an Authorization header"
assert_eq "$(peer_count "$HEARTBEAT_LOG" query=)" "$(nlines "$HEARTBEAT_LOG")" "no ping had a query string"
LEAK=
for p in hb1 hb2; do
    for f in access_token refresh_token; do
        v=$(grant_field "$p" "$f")
        [ -n "$v" ] && grep -qF -- "$v" "$HEARTBEAT_LOG" && LEAK+="$p $f; "
    done
done
assert_eq "$LEAK" "" "no token reached the heartbeat server"

# ---------------------------------------------------------------- a server that hangs
touch "$HEARTBEAT_HANG"
RT=$(grant_field hb1 refresh_token)
n0=$(heartbeat_count /ping/hb1)
sk --timeout 60 refresh hb1
assert_rc 0 "refresh hb1, heartbeat server hangs: exits 0"
assert_new "$(grant_field hb1 refresh_token)" "$RT" "refresh hb1, heartbeat server hangs: the rotated refresh token is stored"
if in_range "$SK_SECS" 0 "$BOUND"; then ok "refresh hb1, heartbeat server hangs: done within ${BOUND}s (${SK_SECS}s)"
else not_ok "refresh hb1, heartbeat server hangs: done within ${BOUND}s" "took ${SK_SECS}s"; fi
rm -f -- "$HEARTBEAT_HANG"
assert_eq "$(heartbeat_count /ping/hb1)" $((n0 + 1)) "refresh hb1, heartbeat server hangs: the ping was sent"
assert_stderr_one_line "refresh hb1, heartbeat server hangs: stderr is the refresh's one line (a failed ping is quiet, for cron)"

# ---------------------------------------------------------------- nothing listens
cfg_set hb1 heartbeat_url "http://127.0.0.1:$(free_port)/ping/hb1"
RT=$(grant_field hb1 refresh_token)
sk --timeout 60 refresh hb1
assert_rc 0 "refresh hb1, nothing listens at heartbeat_url: exits 0"
assert_new "$(grant_field hb1 refresh_token)" "$RT" "refresh hb1, nothing listens: the rotated refresh token is stored"
if in_range "$SK_SECS" 0 3; then ok "refresh hb1, nothing listens: no wait (${SK_SECS}s)"
else not_ok "refresh hb1, nothing listens: no wait" "took ${SK_SECS}s"; fi
sk -v refresh hb1
assert_rc 0 "refresh -v hb1, nothing listens: exits 0"
assert_contains "$SK_ERR" "hb1: the heartbeat ping failed" "refresh -v hb1, nothing listens: -v says the ping failed"

spk_done
