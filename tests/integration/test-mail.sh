#!/bin/bash
# Mail clients (issue 17): Debian's msmtp sends through a local SMTP server
# that accepts AUTH XOAUTH2 only with an access token the test provider
# accepts, configured as the documentation says: auth xoauth2 and
# passwordeval "sparekey token PROFILE" (the token never in msmtp's argv or
# configuration file).
#  - a mail is sent and arrives;
#  - after the access token expired, the next mail goes too (one refresh);
#  - with the grant revoked, msmtp fails with sparekey's one line and no
#    mail is sent.
#
# Env: SPAREKEY (default build/sparekey). Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib-consumers.sh"
trap peers_stop EXIT

# The second mail finds its access token expired.
export SPK_ACCESS_TTL=${SPK_ACCESS_TTL:-8}
peers_start
consumers_check_prereqs msmtp
smtp_server_start

P=mail
consumer_login "$P" "openid offline_access email"
cfg_set "$P" min_valid 2
RC=$SPK_TMP/msmtprc
msmtprc_write "$RC" "$SPAREKEY token $P"
if grep -qF -- "$(grant_field "$P" access_token)" "$RC"; then not_ok "the msmtp configuration holds no token"
else ok "the msmtp configuration holds no token"; fi

mails() { grep -c "^Subject: $1\$" "$SMTP_MAILBOX"; }

msmtp_send "$RC" "first"
assert_eq "$MS_RC" 0 "msmtp with passwordeval sparekey token: exits 0"
assert_eq "$(mails first)" 1 "the mail arrived"
assert_eq "$(peer_count "$SMTP_LOG" event=auth auth=accepted user=alice@example.test)" 1 \
    "the server accepted alice's XOAUTH2 token"

sleep_until "$(($(grant_field "$P" expires_at) + 1))"
mark=$(events_mark)
msmtp_send "$RC" "second"
assert_eq "$MS_RC" 0 "msmtp after the access token expired: exits 0"
assert_eq "$(mails second)" 1 "the second mail arrived"
assert_eq "$(refresh_ok_since "$mark")" 1 "one refresh at the provider"

grant_revoke "$P"
sleep_until "$(($(grant_field "$P" expires_at) + 1))"
msmtp_send "$RC" "third"
assert_ne "$MS_RC" 0 "msmtp with the grant revoked: fails"
assert_contains "$MS_ERR" "sparekey login $P" "msmtp with the grant revoked: shows sparekey's line"
assert_eq "$(mails third)" 0 "msmtp with the grant revoked: no mail"

spk_done
