#!/usr/bin/env bash
# The keyring as cron, systemd and SSH sessions see it: found through
# $XDG_RUNTIME_DIR/bus when DBUS_SESSION_BUS_ADDRESS is unset; "no bus",
# "no Secret Service", "collection locked" and "keyring hangs" each give
# exit 75 with their own one-line message, quickly and without a prompt;
# login, which cannot help by retrying there, stops at "no bus" and "no
# Secret Service" with exit 78 before it writes anything, and over SSH
# offers the login command with --store file.
# Then doctor, with and without --cron.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-headless.sh"
KR_STOPPED=
# A stopped keyring is woken up whatever happens (peers_stop sees the exit status).
trap 'rc=$?; [ -n "$KR_STOPPED" ] && kill -CONT "$KR_STOPPED" 2>/dev/null; (exit $rc); peers_stop' EXIT
export SPK_ACCESS_TTL=6
peers_start

RUN_USER_BUS=/run/user/$(id -u)/bus
if [ -e "$RUN_USER_BUS" ]; then
    diag "$RUN_USER_BUS exists on this machine: a cron-like sparekey may reach it"
fi
CRON_ENV=(--env-i HOME="$HOME" PATH=/usr/bin:/bin LOGNAME="${LOGNAME:-$(id -un)}" SHELL=/bin/sh)

spk_login kr --issuer "$ISSUER" --client-id sparekey-native || bail "the first login failed"
# These checks are about reaching the keyring: no runtime token cache may
# answer in its place.
cfg_set kr cache none
G0=$(keyring_item kr grant)

# ================================================================ env -i, the bus at $XDG_RUNTIME_DIR/bus
ln -s "$SPK_TMP/bus" "$XDG_RUNTIME_DIR/bus"
# The answer must come from the keyring, not from the runtime token cache
# that login wrote (as after a reboot, which empties $XDG_RUNTIME_DIR).
rm -f "$XDG_RUNTIME_DIR/sparekey/kr.token"
skx "${CRON_ENV[@]}" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" -- token kr --min-valid 1
assert_rc 0 "env -i HOME PATH XDG_RUNTIME_DIR sparekey token kr (no DBUS_SESSION_BUS_ADDRESS): exits 0"
assert_eq "$SK_OUT" "$(json_get access_token <<<"$G0")" "... and prints the access token from the keyring behind \$XDG_RUNTIME_DIR/bus"
EXP=$(json_get expires_at <<<"$G0")
sleep_until "$((${EXP%.*} + 1))"
M=$(events_mark)
skx "${CRON_ENV[@]}" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" -- token kr --min-valid 1
assert_rc 0 "... after expiry, the same cron-like token kr refreshes: exits 0"
assert_eq "$(refresh_ok_since "$M")" 1 "... with one refresh_token grant"
G1=$(keyring_item kr grant)
assert_eq "$SK_OUT" "$(json_get access_token <<<"$G1")" "... and the refreshed grant went to the keyring"
assert_new "$(json_get refresh_token <<<"$G1")" "$(json_get refresh_token <<<"$G0")" "... with the rotated refresh token"
me "$SK_OUT"
assert_eq "$ME_STATUS" 200 "the provider accepts the token the cron-like run printed (GET /me)"
rm -f "$XDG_RUNTIME_DIR/bus"

# ================================================================ two matching items: the newest wins
# Something other than sparekey (a restore, another tool) left a second
# grant item for kr, with one attribute more; a search matches both. The
# newer one is read, and removing it leaves the first untouched.
DUP=$(python3 -c 'import json, sys, time
g = json.load(sys.stdin)
g["access_token"] = "dup-" + str(int(time.time()))
g["expires_at"] = int(time.time()) + 3600
print(json.dumps(g))' <<<"$G1")
sleep 1.1   # gnome-keyring's modification times count whole seconds
printf '%s' "$DUP" | secret-tool store --label "kr, second copy" xdg:schema org.sparekey.Grant \
    profile kr kind grant copy second || bail "(harness) secret-tool could not store a second item"
sk token kr --min-valid 1
assert_rc 0 "two grant items match: token kr exits 0"
assert_eq "$SK_OUT" "$(json_get access_token <<<"$DUP")" "... and prints the access token of the newer item"
secret-tool clear copy second
sk token kr --min-valid 1
assert_rc 0 "the newer item removed: token kr exits 0"
assert_ne "$SK_OUT" "$(json_get access_token <<<"$DUP")" "... and no longer prints its token"

# ================================================================ (a) no bus at all
if [ -e "$RUN_USER_BUS" ]; then
    skip_one "env -i without any session bus: exit 75" "$RUN_USER_BUS exists here, so there is a bus"
    LINE_A="(skipped)"
else
    skx "${CRON_ENV[@]}" -- token kr
    assert_failure 75 "env -i (no DBUS_SESSION_BUS_ADDRESS, no XDG_RUNTIME_DIR) token kr"
    assert_icontains "$SK_ERR" "session bus" "... the line says there is no session bus"
    assert_contains "$SK_ERR" "--store file" "... and suggests --store file"
    LINE_A=$SK_ERR
    skx "${CRON_ENV[@]}" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" -- token kr
    assert_failure 75 "env -i with XDG_RUNTIME_DIR but no bus socket in it: token kr"
    assert_icontains "$SK_ERR" "session bus" "... the line says there is no session bus"
fi
skx DBUS_SESSION_BUS_ADDRESS="unix:path=$SPK_TMP/no-such-bus" -- token kr
assert_failure 75 "DBUS_SESSION_BUS_ADDRESS naming a missing socket: token kr"
assert_contains "$SK_ERR" DBUS_SESSION_BUS_ADDRESS "... the line says DBUS_SESSION_BUS_ADDRESS does not work"
assert_contains "$SK_ERR" "--store file" "... and suggests --store file"

# ================================================================ (b) a bus without a Secret Service
bus_start "$SPK_TMP/bus-empty" || bail "a second dbus-daemon did not start"
ln -s "$SPK_TMP/bus-empty" "$XDG_RUNTIME_DIR/bus"
skx "${CRON_ENV[@]}" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" -- token kr
assert_failure 75 "env -i with \$XDG_RUNTIME_DIR/bus a bus without a Secret Service: token kr"
assert_icontains "$SK_ERR" "no Secret Service" "... the line says no Secret Service runs"
assert_contains "$SK_ERR" "--store file" "... and suggests --store file"
LINE_B=$SK_ERR
rm -f "$XDG_RUNTIME_DIR/bus"
skx DBUS_SESSION_BUS_ADDRESS="unix:path=$SPK_TMP/bus-empty" -- token kr
assert_failure 75 "DBUS_SESSION_BUS_ADDRESS a bus without a Secret Service: token kr"
assert_icontains "$SK_ERR" "no Secret Service" "... the line says no Secret Service runs"

# ================================================================ login where the keyring cannot be reached
# Retrying cannot help there: login says so as a configuration error (78)
# in one line, before it writes the profile or starts a sign-in; from an
# SSH session the line offers the file store as the exact command to run.
NOBUS=(DBUS_SESSION_BUS_ADDRESS="unix:path=$SPK_TMP/no-such-bus")
NOSSH=(SSH_CONNECTION= SSH_TTY=)
SSH_ENV=(SSH_CONNECTION="192.0.2.10 50022 192.0.2.20 22" SSH_TTY=)
cfg_sum() { if [ -e "$1" ]; then sha256sum <"$1"; else echo absent; fi; }
C0=$(cfg_sum "$SPK_CONFIG")
skx "${NOBUS[@]}" "${NOSSH[@]}" -- login nb --issuer "$ISSUER" --client-id sparekey-native --no-browser --timeout 30
assert_failure 78 "login nb (a new profile) with a session bus that does not work"
assert_icontains "$SK_ERR" "session bus" "... the line says there is no session bus"
assert_contains "$SK_ERR" "--store file" "... and offers --store file"
if in_range "$SK_SECS" 0 4; then ok "... at once, without starting a sign-in (${SK_SECS}s)"
else not_ok "... at once, without starting a sign-in" "took ${SK_SECS}s"; fi
assert_eq "$(cfg_sum "$SPK_CONFIG")" "$C0" "... the config file is unchanged"
assert_eq "$(cfg_get nb provider)" "" "... it has no [nb]"
skx "${NOBUS[@]}" "${NOSSH[@]}" -- login kr --no-browser --timeout 30
assert_failure 78 "login kr (an existing profile) with a session bus that does not work"
assert_eq "$(cfg_sum "$SPK_CONFIG")" "$C0" "... the config file is unchanged"
skx DBUS_SESSION_BUS_ADDRESS="unix:path=$SPK_TMP/bus-empty" "${NOSSH[@]}" -- login nb --issuer "$ISSUER" --client-id sparekey-native --no-browser --timeout 30
assert_failure 78 "login nb on a bus without a Secret Service"
assert_icontains "$SK_ERR" "no Secret Service" "... the line says no Secret Service runs"
assert_contains "$SK_ERR" "--store file" "... and offers --store file"
assert_eq "$(cfg_sum "$SPK_CONFIG")" "$C0" "... the config file is unchanged"
if [ -e "$RUN_USER_BUS" ]; then
    skip_one "env -i login without any session bus: exit 78" "$RUN_USER_BUS exists here, so there is a bus"
else
    skx "${CRON_ENV[@]}" -- login kr --no-browser --timeout 30
    assert_failure 78 "env -i (no bus at all) login kr"
    assert_eq "$(cfg_sum "$SPK_CONFIG")" "$C0" "... the config file is unchanged"
fi

# Over SSH: the user's own command line, with --store file in place of
# --store secret, and the --config it named; a config file that was not
# there is still not there.
NEWCFG=$SPK_TMP/ssh-login/config
skx "${NOBUS[@]}" "${SSH_ENV[@]}" -- --config "$NEWCFG" login nb --no-browser --issuer "$ISSUER" \
    --client-id sparekey-native --scope "profile email" --store secret --timeout 60
assert_failure 78 "login nb --no-browser in an SSH session without a session bus"
assert_contains "$SK_ERR" "Run: sparekey --config $NEWCFG login nb --store file --no-browser --issuer $ISSUER --client-id sparekey-native --scope 'profile email' --timeout 60" \
    "... the line gives the command to run: the same login with --store file"
assert_not_contains "$SK_ERR" "--store secret" "... without the --store secret it replaces"
if [ ! -e "$NEWCFG" ] && [ ! -e "$(dirname "$NEWCFG")" ]; then ok "... and the config file $NEWCFG was not created"
else not_ok "... and the config file $NEWCFG was not created" "$(ls -la "$(dirname "$NEWCFG")" 2>&1)"; fi

# The command it offers works as given, still without a bus.
skx "${NOBUS[@]}" "${SSH_ENV[@]}" -- --config "$NEWCFG" login nb --issuer "$ISSUER" \
    --client-id sparekey-native --scope "profile email" --timeout 60
assert_failure 78 "login nb (browser) in an SSH session without a session bus"
case $SK_ERR in
    *"Run: sparekey "*) CMD=${SK_ERR#*Run: sparekey } ;;
    *) CMD= ;;
esac
if [ -n "$CMD" ]; then
    eval "set -- $CMD"
    browser_reset
    skx --timeout 90 "${NOBUS[@]}" "${SSH_ENV[@]}" -- "$@"
    assert_rc 0 "the offered command (sparekey $CMD) logs nb in without a session bus: exits 0"
    browser_wait 30 || true
    assert_eq "$(file_mode "$XDG_STATE_HOME/sparekey/nb.grant")" 600 "... the grant is in the file store"
    assert_eq "$(awk '/^\[nb\]/ { g = 1; next } /^\[/ { g = 0 } g && /^store *=/ { sub(/^store *= */, ""); print }' "$NEWCFG")" file \
        "... and $NEWCFG has store = file for nb"
else
    not_ok "the line offers a command to run" "$SK_ERR"
fi
assert_eq "$(cfg_sum "$SPK_CONFIG")" "$C0" "the default config file was never touched by these logins"

# ================================================================ (c) the collection is locked
GL=$(keyring_item kr grant)
assert_eq "$(keyring_lock)" true "(harness) the login collection is now locked"
C0=$(cfg_sum "$SPK_CONFIG")
sk --timeout 30 login kr --no-browser --timeout 30
assert_failure 75 "login kr with the keyring collection locked"
assert_icontains "$SK_ERR" locked "... the line says the collection is locked"
assert_eq "$(cfg_sum "$SPK_CONFIG")" "$C0" "... the config file is unchanged"
M=$(events_mark)
sk --timeout 30 token kr
assert_failure 75 "token kr with the keyring collection locked"
assert_icontains "$SK_ERR" locked "... the line says the collection is locked"
if in_range "$SK_SECS" 0 4; then ok "... at once, without waiting for a prompt (${SK_SECS}s)"
else not_ok "... at once, without waiting for a prompt" "took ${SK_SECS}s"; fi
LINE_C=$SK_ERR
sk --timeout 30 refresh kr
assert_failure 75 "refresh kr with the collection locked"
assert_icontains "$SK_ERR" locked "... the line says the collection is locked"
assert_eq "$(any_grant_since "$M" refresh_token)" 0 "no refresh was attempted while the keyring was locked"
assert_eq "$(keyring_unlock)" false "(harness) the login collection is unlocked again"
assert_eq "$(keyring_item kr grant)" "$GL" "the stored grant is unchanged by the locked runs"
sk token kr
assert_rc 0 "token kr works again once the collection is unlocked"

assert_ne "$LINE_B" "$LINE_A" "'no bus' and 'no Secret Service' are different lines"
assert_ne "$LINE_C" "$LINE_A" "'no bus' and 'locked' are different lines"
assert_ne "$LINE_C" "$LINE_B" "'no Secret Service' and 'locked' are different lines"

# ================================================================ (d) a keyring that does not answer
KP=$(keyring_pid) || bail "(harness) cannot find our gnome-keyring-daemon"
GS=$(keyring_item kr grant)
# refresh too waits once, not once more for its expiry warning.
for c in token refresh; do
    kill -STOP "$KP"; KR_STOPPED=$KP
    sk --timeout 30 "$c" kr
    kill -CONT "$KP"; KR_STOPPED=
    assert_failure 75 "$c kr with the keyring daemon stopped (SIGSTOP)"
    if in_range "$SK_SECS" 4 9; then ok "... gives up after about 5 s (${SK_SECS}s)"
    else not_ok "... gives up after about 5 s" "took ${SK_SECS}s"; fi
    assert_icontains "$SK_ERR" "did not answer" "... the line says the keyring did not answer"
done
sleep 0.5
assert_eq "$(keyring_item kr grant)" "$GS" "the stored grant is unchanged after the keyring woke up"
sk token kr
assert_rc 0 "token kr works again once the keyring answers"

# ================================================================ doctor
sk doctor kr
assert_rc 0 "doctor kr: exits 0"
assert_eq "$(grep -c ' FAIL ' "$SPK_TMP/sk.out")" 0 "doctor kr: no FAIL line"
assert_match "$SK_OUT" '^kr: +store +ok .*keyring' "doctor kr: an ok line for the store (the keyring)"
if [ "$(grep -cvE '^kr: +[a-z ]+ +ok ' "$SPK_TMP/sk.out")" -eq 0 ] && [ "$(nlines "$SPK_TMP/sk.out")" -ge 5 ]; then
    ok "doctor kr: every line is 'kr: CHECK ok ...' ($(nlines "$SPK_TMP/sk.out") checks)"
else
    not_ok "doctor kr: every line is 'kr: CHECK ok ...'" "$SK_OUT"
fi

cfg_set nogrant provider oidc
cfg_set nogrant issuer "$ISSUER"
cfg_set nogrant client_id sparekey-native
sk doctor nogrant
assert_rc 77 "doctor for a profile without a grant: exits 77"
assert_match "$SK_OUT" '^nogrant: +store +FAIL .*sparekey login nogrant' "... with a FAIL line for the store that says to log in"

sk doctor kr --cron
CRON_PART=$(sed -n '/^-- the same checks as cron/,$p' "$SPK_TMP/sk.out")
MAIN_PART=$(sed '/^-- the same checks as cron/,$d' "$SPK_TMP/sk.out")
assert_ne "$CRON_PART" "" "doctor kr --cron prints a section for the cron-like run"
assert_eq "$(grep -c ' FAIL ' <<<"$MAIN_PART")" 0 "doctor kr --cron: the first section has no FAIL"
assert_rc 75 "doctor kr --cron: exits 75 (the keyring is out of cron's reach)"
assert_match "$CRON_PART" '^kr: +store +FAIL ' "... the cron section has a FAIL line for the store"
if [ -e "$RUN_USER_BUS" ]; then
    skip_one "... saying there is no session bus" "$RUN_USER_BUS exists here"
else
    assert_match "$CRON_PART" '^kr: +store +FAIL .*session bus.*--store file' "... saying there is no session bus and suggesting --store file"
fi

browser_reset
sk --timeout 90 login fsd --issuer "$ISSUER" --client-id sparekey-native --store file --timeout 60
assert_rc 0 "login fsd --store file: exits 0"
sk doctor fsd --cron
assert_rc 0 "doctor fsd --cron (a file store): exits 0"
CRON_PART=$(sed -n '/^-- the same checks as cron/,$p' "$SPK_TMP/sk.out")
assert_eq "$(grep -c ' FAIL ' "$SPK_TMP/sk.out")" 0 "doctor fsd --cron: no FAIL line in either section"
assert_match "$CRON_PART" '^fsd: +store +ok .*file' "... the cron section finds the grant in the file store"

sk doctor
assert_rc 77 "doctor (every profile): exits 77, the status of the first failed check (nogrant)"
for p in kr nogrant fsd; do
    assert_match "$SK_OUT" "^$p: +store " "doctor (every profile) checks $p"
done

spk_done
