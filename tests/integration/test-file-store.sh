#!/usr/bin/env bash
# store = file (login --store file): the grant in
# $XDG_STATE_HOME/sparekey/PROFILE.grant (0600, directory 0700), nothing
# in the keyring; token and refresh work without any keyring; a file
# others may read, a symlink or another user's file is refused; and a
# refresh killed at any moment never leaves a broken grant file.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-headless.sh"
trap peers_stop EXIT
export SPK_ACCESS_TTL=5
peers_start

SD=$XDG_STATE_HOME/sparekey
GF=$SD/fs.grant

# grant_file_ok DESC: the grant file is a complete grant: JSON with a
# non-empty access and refresh token and a numeric expiry, mode 0600.
grant_file_ok() {
    local why
    why=$(node -e '
        const fs = require("fs");
        let g;
        try { g = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch (e) { console.log("not JSON: " + e.message); process.exit(0); }
        if (typeof g.access_token !== "string" || !g.access_token) console.log("no access_token");
        else if (typeof g.refresh_token !== "string" || !g.refresh_token) console.log("no refresh_token");
        else if (typeof g.expires_at !== "number") console.log("no numeric expires_at");' "$GF" 2>&1)
    if [ -z "$why" ] && [ "$(file_mode "$GF")" = 600 ] && [ -f "$GF" ] && [ ! -L "$GF" ]; then ok "$1"
    else not_ok "$1" "${why:-mode $(file_mode "$GF")}"; fi
}
file_field() { json_get "$1" <"$GF"; }
tmp_files() { find "$SD" -maxdepth 1 -name '.fs.grant.*' | wc -l; }

# ================================================================ login --store file
browser_reset
sk --timeout 90 login fs --issuer "$ISSUER" --client-id sparekey-native --store file --timeout 60
assert_rc 0 "login fs --store file: exits 0"
assert_icontains "$SK_ERR" "0600 file" "login fs says the grant went to a 0600 file"
# The store is under test here, not the runtime token cache.
cfg_set fs cache none
assert_eq "$(cfg_get fs store)" file "config [fs] store = file"
assert_eq "$(file_mode "$SD")" 700 "$SD is mode 0700"
assert_eq "$(file_mode "$GF")" 600 "the grant is in $GF, mode 0600"
assert_eq "$(stat -c %u "$GF")" "$(id -u)" "... owned by this user"
grant_file_ok "... a complete grant (JSON with access and refresh token and expiry)"
assert_eq "$(keyring_item fs grant)" "" "nothing for fs is in the keyring"
assert_eq "$(secret-tool search --all profile fs 2>&1)" "" "(secret-tool search --all profile fs finds nothing)"
AT0=$(file_field access_token); RT0=$(file_field refresh_token); EXP0=$(file_field expires_at)
me "$AT0"
assert_eq "$ME_STATUS" 200 "the provider accepts the access token in the file (GET /me)"

sk token fs --min-valid 1
assert_rc 0 "token fs --min-valid 1: exits 0"
assert_eq "$SK_OUT" "$AT0" "token fs prints the access token from the file"

# ---------------------------------------------------------------- refresh through the file
sleep_until "$((${EXP0%.*} + 1))"
M=$(events_mark)
sk token fs
assert_rc 0 "token fs after expiry: exits 0"
assert_new "$SK_OUT" "$AT0" "token fs after expiry prints a new access token"
assert_eq "$(refresh_grants_since "$M")" 1 "... after one refresh_token grant"
assert_eq "$(file_field access_token)" "$SK_OUT" "the file now holds the printed access token"
assert_new "$(file_field refresh_token)" "$RT0" "... and the rotated refresh token"
assert_eq "$(file_mode "$GF")" 600 "... still mode 0600"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "the provider accepts the refreshed token"
RT1=$(file_field refresh_token)
sk refresh fs
assert_rc 0 "refresh fs: exits 0"
assert_new "$(file_field refresh_token)" "$RT1" "refresh fs rotated the refresh token in the file"
assert_eq "$(tmp_files)" 0 "no temporary files are left next to the grant after normal refreshes"
assert_eq "$(keyring_item fs grant)" "" "still nothing for fs in the keyring"

# ---------------------------------------------------------------- no keyring needed
skx --env-i HOME="$HOME" PATH=/usr/bin:/bin -- token fs
assert_rc 0 "env -i HOME PATH sparekey token fs (no bus at all): exits 0"
assert_eq "$SK_OUT" "$(file_field access_token)" "... and prints the token now in the file"
skx DBUS_SESSION_BUS_ADDRESS="unix:path=$SPK_TMP/no-such-bus" -- refresh fs
assert_rc 0 "refresh fs with a session bus that does not work: exits 0"

# ---------------------------------------------------------------- files sparekey refuses
refused() {   # DESC: token and refresh refuse the grant file
    local t
    for t in token refresh; do
        sk "$t" fs
        assert_failure 78 "$t fs, $1"
        assert_contains "$SK_ERR" "$GF" "$t fs, $1: the line names the file"
    done
}
GOOD=$(cat "$GF")
chmod 644 "$GF"
refused "the grant file mode 0644"
assert_contains "$SK_ERR" "chmod 600" "... and says chmod 600"
chmod 640 "$GF"
refused "the grant file mode 0640 (group-readable)"
chmod 600 "$GF"
assert_eq "$(cat "$GF")" "$GOOD" "the refused file was left as it was"
sk token fs
assert_rc 0 "token fs works again after chmod 600"

mv "$GF" "$SPK_TMP/elsewhere.grant"
ln -s "$SPK_TMP/elsewhere.grant" "$GF"
GOOD=$(cat "$SPK_TMP/elsewhere.grant")
refused "the grant file a symlink (to a 0600 file of ours)"
assert_eq "$(cat "$SPK_TMP/elsewhere.grant")" "$GOOD" "the symlink's target was not changed"
if [ -L "$GF" ]; then ok "the symlink was not replaced"; else not_ok "the symlink was not replaced"; fi
rm -f "$GF"; mv "$SPK_TMP/elsewhere.grant" "$GF"

if [ "$(id -u)" = 0 ]; then
    # Another user's file: the line names its owner and says it must be
    # ours; chmod is no remedy there, so it is not offered.
    GOOD=$(cat "$GF")
    chown 1001 "$GF"
    STAT0=$(stat -c '%u %a %s %Y' "$GF")
    refused "the grant file owned by another user (uid 1001)"
    assert_contains "$SK_ERR" "owned by uid 1001, not by you (uid 0); it must be yours" \
        "... the line names the owner's uid and says the file must be yours"
    assert_not_contains "$SK_ERR" "chmod" "... and does not say chmod"
    assert_eq "$(stat -c '%u %a %s %Y' "$GF")" "$STAT0" "the other user's file was left as it was (owner, mode, size, mtime)"
    assert_eq "$(cat "$GF")" "$GOOD" "... and so was its content"
    chmod 644 "$GF"
    refused "the grant file owned by uid 1001 and mode 0644"
    assert_contains "$SK_ERR" "owned by uid 1001" "... the line is about the owner, not the mode"
    chmod 600 "$GF"
    chown 0 "$GF"
else
    skip_one "the grant file owned by another user" "needs root to chown"
fi
sk refresh fs
assert_rc 0 "refresh fs works again with the file restored"

# ---------------------------------------------------------------- SIGKILL during refresh
# Kill "sparekey refresh fs" at random moments: every third round anywhere
# in its run, the others while it stores the answer (once its rescue
# journal is there). After each kill the grant file must be whole; a kill in the
# second kind must never lose the grant.
D=0
for i in 1 2 3; do
    t0=$(date +%s.%N); "$SPAREKEY" refresh fs >/dev/null 2>&1; t1=$(date +%s.%N)
    D=$(awk -v d="$D" -v a="$t0" -v b="$t1" 'BEGIN { x = b - a; print (x > d ? x : d) }')
done
diag "a refresh takes up to ${D}s here"

# kill_while_storing PID: wait until the refresh has written its rescue
# journal (the provider's answer is safe from then on), then a random
# 0-3 ms more. Sets HOW.
kill_while_storing() {
    local pid=$1 st d deadline
    d=$(awk -v r="$RANDOM" 'BEGIN { printf "%.4f", r / 32768 * 0.003 }')
    deadline=$(( ${EPOCHREALTIME%.*} + 10 ))
    HOW="(the journal never appeared)"
    while (( ${EPOCHREALTIME%.*} < deadline )); do
        if [ -e "$SD/fs.rescue" ]; then HOW="once the journal was written"; break; fi
        # (bash may reap the finished job at once: then /proc/PID is gone)
        st=Z; read -r st <"/proc/$pid/stat" 2>/dev/null
        st=${st##*) }; [ "${st%% *}" = Z ] && { HOW="(it exited before the journal was seen)"; break; }
    done
    [ "${d#0.00}" != "$d" ] || sleep "$d"   # under 1 ms: no sleep at all
    HOW="$HOW + ${d}s"
}

KILLED=0 LOST=0 BAD=0
for i in $(seq 20); do
    "$SPAREKEY" refresh fs >/dev/null 2>"$SPK_TMP/kill.err" &
    pid=$!
    if ((i % 3 == 1)); then
        how="after $(awk -v r="$RANDOM" -v d="$D" 'BEGIN { printf "%.3f", r / 32768 * d * 1.1 }')s"
        sleep "${how#after }"; how=${how%s}s
    else
        kill_while_storing "$pid"
        how=$HOW
    fi
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    [ "$rc" -eq 137 ] && KILLED=$((KILLED + 1))
    if ! node -e '
        const g = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        if (typeof g.access_token !== "string" || !g.access_token || typeof g.refresh_token !== "string"
            || !g.refresh_token || typeof g.expires_at !== "number") process.exit(1);' "$GF" 2>/dev/null \
        || [ "$(file_mode "$GF")" != 600 ]; then
        BAD=$((BAD + 1))
        diag "kill $i $how (exit $rc): the grant file is not a complete grant (mode $(file_mode "$GF")): $(head -c 120 "$GF" | tr -c '[:print:]' '?')"
    fi
    # Is the grant still alive? (A kill after the provider rotated the token
    # but before its answer was written anywhere loses it: that is the
    # nature of single-use refresh tokens, not a broken file.)
    "$SPAREKEY" refresh fs >/dev/null 2>"$SPK_TMP/after.err"
    arc=$?
    diag "kill $i $how: exit $rc; next refresh: exit $arc; temp files: $(tmp_files)"
    if [ "$arc" -eq 77 ]; then
        LOST=$((LOST + 1))
        if [[ $how == "once the journal"* ]]; then
            BAD=$((BAD + 1))
            diag "kill $i: the grant was lost although the provider's answer was already in the rescue journal"
        fi
        diag "the grant was lost in flight: $(cat "$SPK_TMP/after.err"); logging in again"
        browser_reset
        sk --timeout 90 login fs --timeout 60
        [ "$SK_RC" -eq 0 ] || bail "login fs again failed"
    elif [ "$arc" -ne 0 ]; then
        BAD=$((BAD + 1))
        diag "refresh after kill $i failed: $(cat "$SPK_TMP/after.err")"
    fi
done
diag "$KILLED of 20 refreshes were killed while running; $LOST grants lost in flight"
assert_eq "$BAD" 0 "after each of 20 SIGKILLs of refresh fs, the grant file was a complete 0600 grant and the next refresh worked (or, killed before its journal was written, the grant was lost in flight and says so)"
if [ "$KILLED" -ge 5 ]; then ok "at least 5 of the refreshes were killed while running ($KILLED)"
else not_ok "at least 5 of the refreshes were killed while running" "only $KILLED were"; fi
assert_eq "$(find "$SD" -maxdepth 1 -name 'fs.rescue' | wc -l)" 0 "no rescue journal is left after the last refresh"
N=$(tmp_files)
diag "temporary files left by the kills: $N"
sk refresh fs
assert_rc 0 "refresh fs after the kills: exits 0"
assert_eq "$(tmp_files)" "$N" "a normal refresh adds no temporary file"
me "$(file_field access_token)"
assert_eq "$ME_STATUS" 200 "the provider accepts the access token in the file after it all"

spk_done
