#!/usr/bin/env bash
# export/import: a grant moves between two machines (here: two HOMEs, each
# with its own session bus and gnome-keyring). export writes one JSON
# document and drops the local grant (--copy keeps it); import creates the
# profile and stores the grant (keyring or --store file); garbage is refused.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-headless.sh"
trap peers_stop EXIT
export SPK_ACCESS_TTL=8
peers_start
machine_start m2 || bail "the second machine (HOME, D-Bus, gnome-keyring) did not start"
M2_CONFIG=$MACHINE_HOME/.config/sparekey/config

# doc_get FILE EXPR: a value from the export document (JS expression on d)
doc_get() {
    node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const v = eval(process.argv[2]); process.stdout.write(v === undefined ? "(undefined)" : typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$2"
}
m2_item() { on_machine secret-tool lookup profile "$1" kind "$2" 2>/dev/null; }
m2_cfg() { SPK_CONFIG=$M2_CONFIG cfg_get "$@"; }
sk2() { skx "${MACHINE_ENV[@]}" -- "$@"; }

spk_login tx --issuer "$ISSUER" --client-id sparekey-native --scope profile || bail "login tx failed"
G=$(keyring_item tx grant)

# ================================================================ export --copy
sk export tx --copy
assert_rc 0 "export tx --copy: exits 0"
assert_eq "$(json_get format <<<"$SK_OUT")" sparekey-export-1 "export tx --copy writes a sparekey-export-1 document"
assert_icontains "$SK_ERR" "copy" "export --copy warns on stderr that this is a copy"
assert_icontains "$SK_ERR" "break" "... and that the two copies will break each other"
assert_eq "$(keyring_item tx grant)" "$G" "after export --copy the grant is still in the keyring"
sk token tx --min-valid 1
assert_rc 0 "token tx still works after export --copy"

# ================================================================ export (move)
sk export tx
assert_rc 0 "export tx: exits 0"
EXPORT=$SPK_TMP/tx.export
cp "$SPK_TMP/sk.out" "$EXPORT"
assert_eq "$(doc_get "$EXPORT" d.format)" sparekey-export-1 'the document has format "sparekey-export-1"'
assert_eq "$(doc_get "$EXPORT" d.profile)" tx "... profile tx"
assert_eq "$(doc_get "$EXPORT" d.settings.provider)" oidc "... settings.provider oidc"
assert_eq "$(doc_get "$EXPORT" d.settings.issuer)" "$ISSUER" "... settings.issuer"
assert_eq "$(doc_get "$EXPORT" d.settings.client_id)" sparekey-native "... settings.client_id"
assert_eq "$(doc_get "$EXPORT" d.grant.access_token)" "$(json_get access_token <<<"$G")" "... grant.access_token is the stored one"
assert_eq "$(doc_get "$EXPORT" d.grant.refresh_token)" "$(json_get refresh_token <<<"$G")" "... grant.refresh_token is the stored one"
assert_eq "$(doc_get "$EXPORT" d.grant.expires_at)" "$(json_get expires_at <<<"$G")" "... grant.expires_at is the stored expiry"
assert_eq "$(doc_get "$EXPORT" 'typeof d.grant.expires_at')" number "... as a number"
assert_match "$(doc_get "$EXPORT" d.grant.scope)" '(^| )openid( |$)' "... grant.scope holds the granted scopes"
assert_eq "$(doc_get "$EXPORT" d.grant.token_type)" Bearer "... grant.token_type Bearer"
assert_eq "$(doc_get "$EXPORT" d.client_secret)" "(undefined)" "... no client_secret for a public client"
assert_icontains "$SK_ERR" "no longer stored here" "export says the grant was moved away"
assert_eq "$(keyring_item tx grant)" "" "after export the grant is gone from the keyring"
sk token tx --min-valid 1
assert_failure 77 "token tx after export"
assert_eq "$(cfg_get tx client_id)" sparekey-native "the profile's settings stay in the config"
sk export tx
assert_failure 77 "export tx again (nothing left to export)"

# ================================================================ import on the second machine
skx --stdin "$EXPORT" "${MACHINE_ENV[@]}" -- import tx
assert_rc 0 "machine 2: import tx < export: exits 0"
assert_stdout_empty "machine 2: import prints nothing on stdout"
assert_eq "$(m2_cfg tx provider)" oidc "machine 2: config [tx] provider = oidc"
assert_eq "$(m2_cfg tx issuer)" "$ISSUER" "machine 2: config [tx] issuer"
assert_eq "$(m2_cfg tx client_id)" sparekey-native "machine 2: config [tx] client_id = sparekey-native"
assert_eq "$(m2_item tx grant | json_get refresh_token)" "$(doc_get "$EXPORT" d.grant.refresh_token)" \
    "machine 2: its keyring holds the exported grant"
assert_eq "$(keyring_item tx grant)" "" "machine 1's keyring still has no grant for tx"
sk2 token tx --min-valid 1
assert_rc 0 "machine 2: token tx exits 0"
assert_eq "$SK_OUT" "$(doc_get "$EXPORT" d.grant.access_token)" "machine 2: token tx prints the exported access token"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "the provider accepts machine 2's token (GET /me)"
assert_contains "$ME_BODY" '"sub":"alice"' "... alice's"

EXP=$(doc_get "$EXPORT" d.grant.expires_at)
sleep_until "$((${EXP%.*} + 1))"
M=$(events_mark)
sk2 token tx --min-valid 1
assert_rc 0 "machine 2: token tx after expiry: exits 0"
assert_new "$SK_OUT" "$(doc_get "$EXPORT" d.grant.access_token)" "machine 2: ... prints a new access token"
assert_eq "$(refresh_ok_since "$M")" 1 "machine 2 refreshed the imported grant (one refresh_token grant)"
assert_new "$(m2_item tx grant | json_get refresh_token)" "$(doc_get "$EXPORT" d.grant.refresh_token)" \
    "machine 2's keyring holds the rotated refresh token"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "the provider accepts machine 2's refreshed token"
sk token tx
assert_failure 77 "machine 1: token tx still fails after the grant moved"

# ================================================================ garbage
SUM=$(sha256sum "$M2_CONFIG" | cut -d' ' -f1)
i=0
for doc in 'not an export at all' '' '[1,2,3]' '{}' '{"format":"sparekey-export-2","profile":"junk","settings":{},"grant":{"access_token":"x"}}' \
    '{"format":"sparekey-export-1","profile":"junk","settings":{"provider":"oidc"},"grant":{"token_type":"Bearer"}}'; do
    i=$((i + 1))
    printf '%s' "$doc" >"$SPK_TMP/junk.$i"
    skx --stdin "$SPK_TMP/junk.$i" "${MACHINE_ENV[@]}" -- import junk
    assert_failure 64 "machine 2: import junk < garbage #$i ($(head -c 40 "$SPK_TMP/junk.$i"))"
done
assert_eq "$(sha256sum "$M2_CONFIG" | cut -d' ' -f1)" "$SUM" "machine 2: the garbage changed nothing in the config file"
assert_eq "$(m2_item junk grant)" "" "machine 2: nothing was stored for junk"

# ================================================================ back to machine 1, into a file
sk2 export tx
assert_rc 0 "machine 2: export tx: exits 0"
cp "$SPK_TMP/sk.out" "$SPK_TMP/tx.export2"
assert_eq "$(m2_item tx grant)" "" "machine 2: the grant left its keyring"
skx --stdin "$SPK_TMP/tx.export2" -- import tx --store file
assert_rc 0 "machine 1: import tx --store file: exits 0"
assert_eq "$(cfg_get tx store)" file "machine 1: config [tx] store = file"
GF=$XDG_STATE_HOME/sparekey/tx.grant
assert_eq "$(file_mode "$GF")" 600 "machine 1: the grant is in $GF, mode 0600"
assert_eq "$(json_get refresh_token <"$GF")" "$(doc_get "$SPK_TMP/tx.export2" d.grant.refresh_token)" "... holding the grant machine 2 exported"
assert_eq "$(keyring_item tx grant)" "" "machine 1: nothing for tx in the keyring"
M=$(events_mark)
sk refresh tx
assert_rc 0 "machine 1: refresh tx (file store) works"
assert_eq "$(refresh_ok_since "$M")" 1 "... one refresh_token grant"
sk token tx
assert_rc 0 "machine 1: token tx works"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "the provider accepts machine 1's token again"
sk2 token tx --min-valid 1
assert_failure 77 "machine 2: token tx fails once the grant moved back"

# export must not drop a grant it could not write out
RTF=$(json_get refresh_token <"$GF")
timeout 30 "$SPAREKEY" export tx >/dev/full 2>"$SPK_TMP/full.err"
rc=$?
diag "\$ sparekey export tx >/dev/full  -> exit $rc"; diag_file "$SPK_TMP/full.err" 'stderr: '
assert_eq "$rc" 74 "export tx >/dev/full (the document cannot be written): exits 74"
assert_eq "$(json_get refresh_token <"$GF" 2>/dev/null)" "$RTF" "... and the grant stays here, unchanged"
assert_eq "$(nlines "$SPK_TMP/full.err")" 1 "... with one line on stderr"
sk token tx
assert_rc 0 "token tx still works after the failed export"

# ================================================================ a client secret travels too
SF=$SPK_TMP/client-secret
(umask 077; printf 'sparekey-test-secret\n' >"$SF")
sk login tcc --issuer "$ISSUER" --client-id sparekey-basic --client-credentials --client-secret-file "$SF"
assert_rc 0 "machine 1: login tcc --client-credentials: exits 0"
sk export tcc
assert_rc 0 "machine 1: export tcc: exits 0"
cp "$SPK_TMP/sk.out" "$SPK_TMP/tcc.export"
assert_eq "$(doc_get "$SPK_TMP/tcc.export" d.client_secret)" sparekey-test-secret "the document holds the client secret"
assert_eq "$(doc_get "$SPK_TMP/tcc.export" d.settings.grant)" client_credentials "... and the profile's grant type"
assert_eq "$(keyring_item tcc client_secret)$(keyring_item tcc grant)" "" "machine 1: the client secret and grant left the keyring"
skx --stdin "$SPK_TMP/tcc.export" "${MACHINE_ENV[@]}" -- import tcc
assert_rc 0 "machine 2: import tcc: exits 0"
assert_eq "$(m2_item tcc client_secret)" sparekey-test-secret "machine 2: the client secret is in its keyring"
if grep -qF sparekey-test-secret "$M2_CONFIG"; then not_ok "machine 2: the config file does not contain the secret"
else ok "machine 2: the config file does not contain the secret"; fi
EXP=$(m2_item tcc grant | json_get expires_at)
sleep_until "$((${EXP%.*} + 1))"
M=$(events_mark)
sk2 token tcc --min-valid 1
assert_rc 0 "machine 2: token tcc after expiry: exits 0"
assert_eq "$(grant_count_since "$M" client_credentials)" 1 "machine 2 got a new client token with the imported secret"
introspect "$SK_OUT"
assert_eq "$IS_ACTIVE" true "the provider says machine 2's client token is active"

spk_done
