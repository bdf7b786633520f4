#!/bin/bash
# Issuers as real servers publish them, against oidc-provider set up to
# behave that way (tests/peers/provider.mjs, "issuer shape" knobs):
#
#  1. RFC 9207: the redirect carries iss, and sparekey compares it with the
#     issuer its metadata names, not with the one typed: an issuer
#     published without a terminating "/" and typed with one (and, on a
#     second provider with SPK_ISSUER_SLASH=1, the reverse) signs in
#     through the browser, and its grant refreshes.
#  2. RFC 8414: an issuer with a path (SPK_ISSUER_PATH=/as, a third
#     provider) whose metadata is only at
#     /.well-known/oauth-authorization-server/as: login through the browser,
#     token and refresh work with --issuer http://127.0.0.1:PORT/as, typed
#     with or without a terminating "/".
#
# Peers: as lib.sh's peers_start, plus two more provider.mjs instances
# (lib.sh's provider_run, stopped in the trap). Env: SPAREKEY (default
# build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

peers_start

# Started before the first check: a skip must come before any result.
# Events of each in its own log: the tests here read only access logs.
provider_run -slash SPK_ISSUER_SLASH=1 SPK_EVENT_LOG="$SPK_TMP/events-slash.jsonl"
SLASHED=$PROVIDER_ORIGIN/
provider_run -path SPK_ISSUER_PATH=/as SPK_EVENT_LOG="$SPK_TMP/events-path.jsonl"
O=$PROVIDER_ORIGIN
PATHED=$O/as
diag "issuer published with a terminating slash: $SLASHED; issuer with a path: $PATHED"

# http_status URL: the HTTP status of a GET
http_status() { curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "$1"; }

# login_at ISSUER_TYPED PROFILE WHAT: sign in through the browser; checks
# the exit status, the redirect's iss and the stored grant.
login_at() {
    local typed=$1 p=$2 what=$3 burl
    browser_reset
    sk --timeout 90 login "$p" --issuer "$typed" --client-id sparekey-native \
        --scope "openid offline_access" --timeout 30
    assert_rc 0 "$what: login exits 0" || return 1
    if browser_wait 30; then
        burl=$(browser_field url)
        assert_eq "$(browser_field status)" 200 "$what: the callback page answered HTTP 200"
        assert_match "$burl" '[?&]iss=' "$what: the redirect carried iss (RFC 9207)"
    else
        not_ok "$what: the browser wrote its result" "$(tail -n 5 "$SPK_BROWSER_LOG" 2>/dev/null)"
    fi
    assert_ne "$(grant_field "$p" refresh_token)" "" "$what: the keyring holds a grant with a refresh token"
}

# token_refresh_ok PROFILE ME_URL WHAT: token works at the provider, and a
# refresh stores a rotated refresh token that works too.
token_refresh_ok() {
    local p=$1 me_url=$2 what=$3 rt
    sk token "$p"
    assert_rc 0 "$what: token exits 0"
    ISSUER=$me_url me "$SK_OUT"
    assert_eq "$ME_STATUS" 200 "$what: the provider accepts the token (GET /me)"
    rt=$(grant_field "$p" refresh_token)
    sk refresh "$p"
    assert_rc 0 "$what: refresh exits 0"
    assert_new "$(grant_field "$p" refresh_token)" "$rt" "$what: refresh stored a rotated refresh token"
    ISSUER=$me_url me "$(grant_field "$p" access_token)"
    assert_eq "$ME_STATUS" 200 "$what: the provider accepts the refreshed token (GET /me)"
}

# ---------------------------------------------------------------- 1a. published without "/", typed with
if login_at "$ISSUER/" typed-slash "issuer $ISSUER typed as $ISSUER/"; then
    assert_eq "$(grant_field typed-slash endpoints | json_get issuer)" "$ISSUER" \
        "typed-slash: the grant keeps the issuer its metadata names"
    assert_eq "$(cfg_get typed-slash issuer)" "$ISSUER/" "typed-slash: the profile keeps the issuer as typed"
    token_refresh_ok typed-slash "$ISSUER" "typed-slash"
fi

# ---------------------------------------------------------------- 1b. published with "/", typed without
assert_eq "$(curl -fsS --max-time 10 "$SLASHED.well-known/openid-configuration" | json_get issuer)" \
    "$SLASHED" "(harness) SPK_ISSUER_SLASH=1: the metadata names $SLASHED"
if login_at "${SLASHED%/}" typed-bare "issuer $SLASHED typed as ${SLASHED%/}"; then
    assert_eq "$(grant_field typed-bare endpoints | json_get issuer)" "$SLASHED" \
        "typed-bare: the grant keeps the issuer its metadata names"
    token_refresh_ok typed-bare "${SLASHED%/}" "typed-bare"
fi

# ---------------------------------------------------------------- 2. an issuer with a path, RFC 8414 metadata only
assert_eq "$(http_status "$O/.well-known/oauth-authorization-server/as")" 200 \
    "(harness) SPK_ISSUER_PATH=/as: metadata at /.well-known/oauth-authorization-server/as"
assert_eq "$(curl -fsS --max-time 10 "$O/.well-known/oauth-authorization-server/as" | json_get issuer)" \
    "$PATHED" "(harness) ... naming the issuer $PATHED"
for u in /as/.well-known/openid-configuration /.well-known/openid-configuration \
    /.well-known/openid-configuration/as /as/.well-known/oauth-authorization-server; do
    assert_eq "$(http_status "$O$u")" 404 "(harness) ... and nothing at $u"
done
M=$(wc -l <"$SPK_TMP/provider-path.log")
login_at "$PATHED" path "issuer with a path $PATHED"
assert_contains "$(tail -n "+$((M + 1))" "$SPK_TMP/provider-path.log")" \
    "GET /.well-known/oauth-authorization-server/as -> 200" \
    "path: sparekey read the metadata at RFC 8414's place"
if [ "$SK_RC" -eq 0 ]; then
    assert_eq "$(grant_field path endpoints | json_get token)" "$PATHED/token" \
        "path: the grant keeps the token endpoint below the path"
    token_refresh_ok path "$PATHED" "path"
fi

# Both at once: a path, typed with a terminating "/".
if login_at "$PATHED/" path-slash "issuer with a path $PATHED typed as $PATHED/"; then
    assert_eq "$(grant_field path-slash endpoints | json_get issuer)" "$PATHED" \
        "path-slash: the grant keeps the issuer its metadata names"
fi

spk_done
