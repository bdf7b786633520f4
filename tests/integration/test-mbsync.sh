#!/bin/bash
# Mail clients (issue 17): Debian's isync (mbsync), with Debian's Cyrus SASL
# XOAUTH2 module (libsasl2-modules-kdexoauth2), pulls INBOX from a local IMAP
# server that opens it only after AUTHENTICATE XOAUTH2 with an access token
# the test provider accepts, configured as the documentation says:
# AuthMechs XOAUTH2 and PassCmd "sparekey token PROFILE" (the token never in
# mbsync's argv or configuration file).
#  - the server itself: a token the provider does not accept is refused
#    (mbsync fails, nothing synced);
#  - the message arrives in the local Maildir;
#  - after the access token expired, the next sync works too (one refresh);
#  - with the grant revoked, mbsync fails with sparekey's one line.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-consumers.sh"
trap peers_stop EXIT

consumers_check_prereqs mbsync
# The second sync finds its access token expired.
export SPK_ACCESS_TTL=${SPK_ACCESS_TTL:-8}
peers_start
imap_server_start

P=mail
consumer_login "$P" "openid offline_access email"
cfg_set "$P" min_valid 2
RC=$SPK_TMP/mbsyncrc
MAILDIR=$SPK_TMP/Mail
mbsyncrc_write "$RC" "$MAILDIR" "$SPAREKEY token $P"
if grep -qF -- "$(grant_field "$P" access_token)" "$RC"; then
    not_ok "the mbsync configuration holds no token"
else ok "the mbsync configuration holds no token"; fi

# synced [MAILDIR]: how many messages of the Maildir's INBOX carry the test's
# subject.
synced() {
    grep -lx 'Subject: sparekey imap test' "${1:-$MAILDIR}"/INBOX/{cur,new}/* 2>/dev/null | wc -l
}

mbsyncrc_write "$SPK_TMP/mbsyncrc-bad" "$SPK_TMP/Mail-bad" "echo not-a-token-$RANDOM$RANDOM"
mbsync_run "$SPK_TMP/mbsyncrc-bad"
assert_ne "$MB_RC" 0 "mbsync with a token the provider does not accept: fails"
assert_eq "$(synced "$SPK_TMP/Mail-bad")" 0 "mbsync with a bad token: nothing synced"
assert_eq "$(peer_count "$IMAP_LOG" event=auth auth=refused)" 1 \
    "the IMAP server refused the bad token"

mbsync_run "$RC"
assert_eq "$MB_RC" 0 "mbsync with PassCmd sparekey token: exits 0"
assert_eq "$(synced)" 1 "the message arrived in the Maildir"
assert_eq "$(peer_count "$IMAP_LOG" event=auth auth=accepted user=alice@example.test)" 1 \
    "the server accepted alice's XOAUTH2 token"

sleep_until "$(($(grant_field "$P" expires_at) + 1))"
mark=$(events_mark)
mbsync_run "$RC"
assert_eq "$MB_RC" 0 "mbsync after the access token expired: exits 0"
assert_eq "$(peer_count "$IMAP_LOG" event=auth auth=accepted user=alice@example.test)" 2 \
    "the server accepted the refreshed token"
assert_eq "$(refresh_ok_since "$mark")" 1 "one refresh at the provider"
assert_eq "$(synced)" 1 "the Maildir still holds the message once"
assert_eq "$(peer_count "$IMAP_LOG" event=fetch body=true)" 1 \
    "the server sent the message's text once (the second sync found it synced)"

grant_revoke "$P"
sleep_until "$(($(grant_field "$P" expires_at) + 1))"
mbsync_run "$RC"
assert_ne "$MB_RC" 0 "mbsync with the grant revoked: fails"
assert_contains "$MB_ERR" "sparekey login $P" "mbsync with the grant revoked: shows sparekey's line"

spk_done
