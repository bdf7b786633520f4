#!/bin/bash
# Keeping refresh tokens alive:
#   - `status` shows "refresh token expires in N days unless used" for a
#     profile with an idle lifetime (refresh_idle_days, or the xero preset's
#     60), and nothing like it for an oidc profile without one;
#   - `refresh --all [--older-than AGE]` refreshes the old profiles, skips
#     the fresh ones (a stderr line each) and warns about any within 14 days
#     of idle expiry that it did not refresh; exit 0, or the first failure's;
#   - `timer install [--every INTERVAL]` writes the systemd user units (and,
#     with no systemd --user here, exits 69 with a linger hint and a crontab
#     line); `timer remove` removes them;
#   - notify_cmd runs on needs-login, refresh-failed and expires-soon, with
#     the profile, the event and a message, never a secret.
#
# Peers: provider.mjs, badpeer.mjs, browser (headless Chromium),
# gnome-keyring; see lib.sh. Env: SPAREKEY. Exit 0 pass, 1 fail, 77 skip.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
trap peers_stop EXIT

peers_start
badpeer_start

NLOG=$SPK_TMP/notify.log
: >"$NLOG"
# In the key file `\\` stands for one backslash: the command sparekey runs
# is   printf '%s|%s|%s\n' >> NLOG "$@"
NOTIFY="printf '%s|%s|%s\\\\n' >> $NLOG"

# status_row PROFILE: the row of the last `sk status` output for PROFILE
status_row() { grep -E "^$1[[:space:]]" <<<"$SK_OUT" || true; }

# stderr_line_for PROFILE: the stderr lines of the last sk that name PROFILE
stderr_line_for() { grep -E "(^|[ :])$1:" "$SPK_TMP/sk.err" || true; }

# notify_wait N: until the notify log has N lines (up to 5 s)
notify_wait() {
    local i
    for ((i = 0; i < 50; i++)); do
        [ "$(grep -c . "$NLOG")" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# notify_check WHAT PROFILE EVENT: the notify log got exactly one new line
# PROFILE|EVENT|MESSAGE (MESSAGE non-empty) since it had NBEFORE lines
notify_check() {
    local what=$1 p=$2 ev=$3 line
    notify_wait $((NBEFORE + 1)) || true
    sleep 0.3
    assert_eq "$(grep -c . "$NLOG")" $((NBEFORE + 1)) "$what: notify_cmd ran once" || diag_file "$NLOG" 'notify: '
    line=$(tail -n 1 "$NLOG")
    assert_eq "$(cut -d'|' -f1 <<<"$line")" "$p" "$what: notify_cmd's first argument is the profile $p"
    assert_eq "$(cut -d'|' -f2 <<<"$line")" "$ev" "$what: notify_cmd's second argument is the event $ev"
    assert_ne "$(cut -d'|' -f3- <<<"$line")" "" "$what: notify_cmd's third argument is a message"
    NBEFORE=$(grep -c . "$NLOG")
}

ISSUER_ARGS=(--issuer "$ISSUER" --client-id sparekey-native --scope "openid offline_access")

# ---------------------------------------------------------------- status with an idle lifetime
spk_login ka "${ISSUER_ARGS[@]}" || bail "login ka failed"
spk_login kb "${ISSUER_ARGS[@]}" || bail "login kb failed"
cfg_set ka refresh_idle_days 60
sk status ka
assert_rc 0 "status ka: exits 0"
assert_match "$(status_row ka)" 'expires in (59|60) days unless used' \
    "status ka (refresh_idle_days = 60): its row says the refresh token expires in 59 or 60 days unless used"
sk status kb
assert_rc 0 "status kb: exits 0"
assert_ne "$(status_row kb)" "" "status kb: there is a row for kb"
assert_not_contains "$SK_OUT$SK_ERR" "unless used" "status kb (oidc, no refresh_idle_days): no idle expiry shown"

# ---------------------------------------------------------------- refresh --all --older-than
GA=$(grant_lookup ka); GB=$(grant_lookup kb)
M=$(events_mark)
sk refresh --all
assert_rc 0 "refresh --all (default 1d), both fresh: exits 0"
assert_eq "$(refresh_grants_since "$M")" 0 "refresh --all (default 1d), both fresh: no refresh reached the provider"
assert_match "$(stderr_line_for ka)" 'skip' "refresh --all (default 1d): a stderr line says ka was skipped"
assert_match "$(stderr_line_for kb)" 'skip' "refresh --all (default 1d): a stderr line says kb was skipped"
assert_eq "$(grant_lookup ka)" "$GA" "refresh --all (default 1d): ka's grant is unchanged"
assert_eq "$(grant_lookup kb)" "$GB" "refresh --all (default 1d): kb's grant is unchanged"

sleep 3
sk refresh kb
assert_rc 0 "refresh kb: exits 0"
GA=$(grant_lookup ka); GB=$(grant_lookup kb)
M=$(events_mark)
sk refresh --all --older-than 2s
assert_rc 0 "refresh --all --older-than 2s (ka 3 s old, kb fresh): exits 0"
assert_new "$(grant_field ka refresh_token)" "$(json_get refresh_token <<<"$GA")" "refresh --all --older-than 2s: ka (old) was refreshed"
assert_eq "$(grant_lookup kb)" "$GB" "refresh --all --older-than 2s: kb (fresh) was left alone"
assert_eq "$(refresh_grants_since "$M")" 1 "refresh --all --older-than 2s: exactly one refresh reached the provider"
assert_match "$(stderr_line_for kb)" 'skip' "refresh --all --older-than 2s: a stderr line says kb was skipped"
assert_not_contains "$SK_ERR" "unless used" "refresh --all --older-than 2s: no expiry warning (ka has 60 days, kb no idle lifetime)"
me "$(grant_field ka access_token)"
assert_eq "$ME_STATUS" 200 "refresh --all --older-than 2s: the provider accepts ka's new access token"

sleep 3
GA=$(grant_lookup ka); GB=$(grant_lookup kb)
M=$(events_mark)
sk refresh --all --older-than 2
assert_rc 0 "refresh --all --older-than 2 (bare seconds), both 3 s old: exits 0"
assert_eq "$(refresh_grants_since "$M")" 2 "refresh --all --older-than 2: both were refreshed"
assert_new "$(grant_field kb refresh_token)" "$(json_get refresh_token <<<"$GB")" "refresh --all --older-than 2: kb's refresh token was rotated"
M=$(events_mark)
sk refresh --all --older-than 1m
assert_rc 0 "refresh --all --older-than 1m, both fresh: exits 0"
assert_eq "$(refresh_grants_since "$M")" 0 "refresh --all --older-than 1m: nothing refreshed"
sk refresh --all --older-than banana
assert_failure 64 "refresh --all --older-than banana"

# ---------------------------------------------------------------- SIGTERM while refreshes are in flight
# The provider holds each token answer back 2 s after it has rotated the
# refresh token. SIGTERM (systemd stopping the timer's unit) arrives while
# both answers are on their way: killing the refreshes there would leave
# spent refresh tokens in the store. They must finish and be stored first.
#
# The children are started with the signals at their default disposition:
# under nohup (or any launcher that ignores HUP) they would inherit an
# ignored SIGHUP, and sparekey rightly keeps it ignored; and bash starts
# background jobs of a script with SIGINT ignored.
DEFAULT_SIGNALS=(env --default-signal=HUP,INT,TERM)
GA=$(grant_lookup ka); GB=$(grant_lookup kb)
echo 2000 >"$SPK_TOKEN_DELAY_FILE"
M=$(events_mark)
"${DEFAULT_SIGNALS[@]}" "$SPAREKEY" refresh --all --older-than 0 >"$SPK_TMP/term.out" 2>"$SPK_TMP/term.err" &
TERM_PID=$!
for ((i = 0; i < 100 && $(refresh_ok_since "$M") < 2; i++)); do sleep 0.05; done
kill -TERM "$TERM_PID"
T0=$SECONDS
wait "$TERM_PID"
TERM_RC=$?
rm -f "$SPK_TOKEN_DELAY_FILE"
assert_eq "$(refresh_ok_since "$M")" 2 "SIGTERM during refresh --all: the provider had rotated both refresh tokens when it came"
assert_eq "$TERM_RC" 143 "SIGTERM during refresh --all: it still ends by SIGTERM (143)"
assert_contains "$(cat "$SPK_TMP/term.err")" "stopping" "... after one line saying it finishes the refreshes in flight"
if ((SECONDS - T0 >= 1)); then ok "... it waited for the held-back answers ($((SECONDS - T0)) s)"
else not_ok "... it waited for the held-back answers" "exited $((SECONDS - T0)) s after SIGTERM"; fi
assert_new "$(grant_field ka refresh_token)" "$(json_get refresh_token <<<"$GA")" "... ka's rotated refresh token was stored"
assert_new "$(grant_field kb refresh_token)" "$(json_get refresh_token <<<"$GB")" "... kb's rotated refresh token was stored"
M=$(events_mark)
sk refresh ka kb
assert_rc 0 "after the SIGTERM: refresh ka kb exits 0 (the stored tokens are the live ones)"
assert_eq "$(trouble_since "$M")" "" "... and the provider saw no reuse, error or revocation"

# The same for one profile: `refresh ka` gets SIGTERM (a cron job's
# `timeout`), `token kb` a SIGHUP (its terminal closed), each while the
# provider holds back the answer that carries the rotated token. Each
# dies by its signal only once the new grant is stored (and no rescue
# journal is left); the next run goes on with the live token.
stop_during() { # SIGNAL CMD...: run CMD, send SIGNAL once the provider rotated; sets STOP_RC
    local sig=$1 m i pid; shift
    m=$(events_mark)
    echo 2000 >"$SPK_TOKEN_DELAY_FILE"
    "${DEFAULT_SIGNALS[@]}" "$SPAREKEY" "$@" >"$SPK_TMP/stop.out" 2>"$SPK_TMP/stop.err" &
    pid=$!
    for ((i = 0; i < 100 && $(refresh_ok_since "$m") < 1; i++)); do sleep 0.05; done
    kill "-$sig" "$pid"
    wait "$pid"
    STOP_RC=$?
    rm -f "$SPK_TOKEN_DELAY_FILE"
}
for run in "TERM refresh ka" "HUP token kb --min-valid 86400"; do
    read -r sig cmd p rest <<<"$run"
    RT_BEFORE=$(grant_field "$p" refresh_token)
    M=$(events_mark)
    # shellcheck disable=SC2086
    stop_during "$sig" $cmd "$p" $rest
    code=$((128 + $(kill -l "$sig")))
    assert_eq "$STOP_RC" "$code" "SIG$sig during '$cmd $p': it still ends by SIG$sig ($code)"
    assert_eq "$(refresh_ok_since "$M")" 1 "... after the provider had rotated $p's refresh token"
    assert_new "$(grant_field "$p" refresh_token)" "$RT_BEFORE" "... with $p's rotated refresh token stored"
    if [ ! -e "$XDG_STATE_HOME/sparekey/$p.rescue" ]; then ok "... and no rescue journal left"
    else not_ok "... and no rescue journal left" "$XDG_STATE_HOME/sparekey/$p.rescue exists"; fi
    M=$(events_mark)
    sk refresh "$p"
    assert_rc 0 "... the next 'refresh $p' exits 0"
    assert_eq "$(trouble_since "$M")" "" "... and the provider saw no reuse, error or revocation"
    assert_eq "$(refresh_ok_since "$M")" 1 "... with one refresh, by the token that was stored"
done

# ---------------------------------------------------------------- the xero preset knows 60 days
cat >>"$SPK_CONFIG" <<EOF

[kx]
provider = xero
client_id = sparekey-exact
authorization_endpoint = $ISSUER/auth
token_endpoint = $ISSUER/token
connections_endpoint = $ISSUER/connections
EOF
spk_login kx || bail "login kx (xero preset) failed"
sk status kx
assert_rc 0 "status kx: exits 0"
assert_match "$(status_row kx)" 'expires in (59|60) days unless used' \
    "status kx (xero preset, no refresh_idle_days key): its row says the refresh token expires in 59 or 60 days unless used"

# ---------------------------------------------------------------- the 14-day warning
cfg_set kb refresh_idle_days 10
cfg_set kb notify_cmd "$NOTIFY"
NBEFORE=0
sk status kb
assert_match "$(status_row kb)" 'expires in (9|10) days unless used' "status kb (refresh_idle_days = 10): its row says expires in 9 or 10 days unless used"
GB=$(grant_lookup kb)
M=$(events_mark)
sk refresh --all --older-than 1d
assert_rc 0 "refresh --all --older-than 1d with kb 10 days from idle expiry: exits 0 (a warning is no failure)"
assert_eq "$(refresh_grants_since "$M")" 0 "refresh --all --older-than 1d: nothing refreshed"
assert_match "$(stderr_line_for kb)" 'expires in (9|10) days unless used' "refresh --all: kb's stderr line warns: expires in 9 or 10 days unless used"
assert_not_contains "$(stderr_line_for ka)$(stderr_line_for kx)" "unless used" "refresh --all: no warning for ka and kx (60 days)"
assert_eq "$(grant_lookup kb)" "$GB" "refresh --all: kb's grant is unchanged"
notify_check "expires-soon" kb expires-soon

sleep 2
M=$(events_mark)
sk refresh --all --older-than 1s
assert_rc 0 "refresh --all --older-than 1s (all old): exits 0"
assert_eq "$(refresh_grants_since "$M")" 3 "refresh --all --older-than 1s: ka, kb and kx were refreshed"
assert_not_contains "$SK_ERR" "unless used" "refresh --all --older-than 1s: no warning once kb was refreshed"
sleep 0.5
assert_eq "$(grep -c . "$NLOG")" "$NBEFORE" "refresh --all --older-than 1s: notify_cmd did not run (nothing went wrong)"

# ---------------------------------------------------------------- timer install / remove
UNITS=$XDG_CONFIG_HOME/systemd/user
SVC=$UNITS/sparekey-refresh.service
TMR=$UNITS/sparekey-refresh.timer
ABS=$(readlink -f -- "$SPAREKEY")
mkdir -p "$UNITS"
printf '[Timer]\nOnCalendar=weekly\n' >"$UNITS/someone-else.timer"
sk timer install
assert_rc 69 "timer install without a systemd user manager: exits 69"
assert_stdout_empty "timer install: nothing on stdout"
assert_contains "$SK_ERR" "loginctl enable-linger" "timer install: stderr has a loginctl enable-linger hint"
assert_match "$SK_ERR" '^[[:space:]]*([0-9*][0-9*/,-]*[[:space:]]+){5}[^[:space:]]*sparekey refresh --all' \
    "timer install: stderr has a crontab line that runs sparekey refresh --all"
if [ -f "$SVC" ] && [ -f "$TMR" ]; then ok "timer install: both unit files were written under \$XDG_CONFIG_HOME/systemd/user"
else not_ok "timer install: both unit files were written under \$XDG_CONFIG_HOME/systemd/user" "$(ls -la "$UNITS" 2>&1)"; fi
assert_eq "$(grep -E '^ExecStart=' "$SVC" 2>/dev/null)" "ExecStart=$ABS refresh --all" \
    "sparekey-refresh.service: ExecStart is the absolute path of sparekey + refresh --all"
assert_eq "$(grep -E '^KillMode=' "$SVC" 2>/dev/null)" "KillMode=mixed" \
    "sparekey-refresh.service: KillMode=mixed (SIGTERM to sparekey alone, so refreshes in flight are stored)"
assert_eq "$(grep -E '^TimeoutStopSec=' "$SVC" 2>/dev/null)" "TimeoutStopSec=90" \
    "sparekey-refresh.service: TimeoutStopSec=90"
TIMER=$(cat "$TMR" 2>/dev/null)
assert_match "$TIMER" '^Persistent=true$' "sparekey-refresh.timer: Persistent=true"
assert_match "$TIMER" '^(OnUnitActiveSec=(1d|24h|86400s?|1 ?day)|OnCalendar=(daily|\*-\*-\* [0-9]+:[0-9]+(:[0-9]+)?))$' \
    "sparekey-refresh.timer: runs once a day by default"
assert_match "$TIMER" '^WantedBy=timers\.target$' "sparekey-refresh.timer: WantedBy=timers.target (so enable works)"
if command -v systemd-analyze >/dev/null; then
    if (cd "$UNITS" && timeout 30 systemd-analyze verify --man=no sparekey-refresh.service sparekey-refresh.timer) >"$SPK_TMP/verify.out" 2>&1; then
        ok "systemd-analyze verify accepts both unit files"
    else
        not_ok "systemd-analyze verify accepts both unit files"; diag_file "$SPK_TMP/verify.out" 'verify: '
    fi
else
    not_ok "systemd-analyze verify accepts both unit files" "systemd-analyze is not installed"
fi

sk timer install --every 6h
assert_rc 69 "timer install --every 6h: exits 69 (no systemd user manager)"
assert_match "$(cat "$TMR" 2>/dev/null)" '^(OnUnitActiveSec=(6h|21600s?|6 ?hours?)|OnCalendar=.*/6:.*)$' \
    "timer install --every 6h: the timer runs every 6 hours"
assert_eq "$(grep -E '^ExecStart=' "$SVC" 2>/dev/null)" "ExecStart=$ABS refresh --all" \
    "timer install --every 6h: ExecStart unchanged"
assert_eq "$(grep -E '^KillMode=' "$SVC" 2>/dev/null)" "KillMode=mixed" "timer install --every 6h: KillMode=mixed"
sk timer install --every banana
assert_failure 64 "timer install --every banana"

sk timer remove
assert_rc 0 "timer remove: exits 0"
if [ ! -e "$SVC" ] && [ ! -e "$TMR" ]; then ok "timer remove: both unit files are gone"
else not_ok "timer remove: both unit files are gone" "$(ls -la "$UNITS" 2>&1)"; fi
if [ -f "$UNITS/someone-else.timer" ]; then ok "timer remove: another unit in the directory is left alone"
else not_ok "timer remove: another unit in the directory is left alone"; fi
sk timer remove
assert_rc 0 "timer remove again (nothing installed): exits 0"

# ---------------------------------------------------------------- notify_cmd: needs-login, refresh-failed
spk_login kn "${ISSUER_ARGS[@]}" || bail "login kn failed"
cfg_set kn notify_cmd "$NOTIFY"
RTA=$(grant_field kn refresh_token)
sk refresh kn
assert_rc 0 "refresh kn (before the reuse): exits 0"
sleep 0.5
assert_eq "$(grep -c . "$NLOG")" "$NBEFORE" "a successful refresh does not run notify_cmd"
token_post "grant_type=refresh_token&client_id=sparekey-native&refresh_token=$(urlencode "$RTA")"
assert_eq "$(json_get error <<<"$TP_BODY")" invalid_grant "(harness) reusing kn's spent refresh token revokes the grant"
sk refresh kn
assert_failure 77 "refresh kn after revocation"
notify_check "needs-login from refresh" kn needs-login
sk token kn --min-valid 7200
assert_failure 77 "token kn --min-valid 7200 after revocation"
notify_check "needs-login from token" kn needs-login

spk_login kp "${ISSUER_ARGS[@]}" || bail "login kp failed"
cfg_set kp notify_cmd "$NOTIFY"
cfg_set kp token_endpoint "$BADPEER/503"
sk refresh kp
assert_failure 75 "refresh kp (token endpoint answers 503)"
notify_check "refresh-failed from refresh" kp refresh-failed
sk token kp --min-valid 7200
assert_failure 75 "token kp --min-valid 7200 (token endpoint answers 503)"
notify_check "refresh-failed from token" kp refresh-failed

sleep 2
GA=$(grant_lookup ka); GKX=$(grant_lookup kx)
M=$(events_mark)
sk refresh --all --older-than 1s
assert_rc 77 "refresh --all with kn revoked and kp failing: exits 77 (kn, the first failure)"
assert_new "$(grant_field ka refresh_token)" "$(json_get refresh_token <<<"$GA")" "refresh --all with failures: ka was still refreshed"
assert_new "$(grant_field kx refresh_token)" "$(json_get refresh_token <<<"$GKX")" "refresh --all with failures: kx was still refreshed"
assert_match "$(stderr_line_for kn)" 'sparekey login kn' "refresh --all: kn's line says to log in again"
assert_ne "$(stderr_line_for kp)" "" "refresh --all: kp's failure has a stderr line"
notify_wait $((NBEFORE + 2)) || true
sleep 0.3
NEW=$(tail -n "+$((NBEFORE + 1))" "$NLOG")
assert_eq "$(grep -c . <<<"$NEW")" 2 "refresh --all: notify_cmd ran twice (kn and kp)"
assert_contains "$NEW" "kn|needs-login|" "refresh --all: notify_cmd got kn needs-login"
assert_contains "$NEW" "kp|refresh-failed|" "refresh --all: notify_cmd got kp refresh-failed"

# ---------------------------------------------------------------- the warning after a failed refresh
# A refresh that fails for now still says how long the grant has left;
# a grant the provider turned down gets no such warning.
spk_login kw "${ISSUER_ARGS[@]}" || bail "login kw failed"
cfg_set kw refresh_idle_days 10
cfg_set kw token_endpoint "$BADPEER/503"
GW=$(grant_lookup kw)
sk refresh kw
assert_rc 75 "refresh kw (token endpoint answers 503, 10 days from idle expiry): exits 75"
assert_match "$(stderr_line_for kw)" 'HTTP 503|503' "refresh kw: one stderr line says the token endpoint answered 503"
assert_match "$(stderr_line_for kw)" 'expires in (9|10) days unless used' \
    "refresh kw: another stderr line warns the refresh token expires in 9 or 10 days unless used"
assert_eq "$(grant_lookup kw)" "$GW" "refresh kw failing: the stored grant is unchanged"
cfg_set kn refresh_idle_days 10
sk refresh kn
assert_failure 77 "refresh kn (revoked, 10 days from idle expiry)"
assert_not_contains "$SK_ERR" "unless used" "refresh kn (revoked): no idle-expiry warning"

# ---------------------------------------------------------------- many profiles, few fds
# Each profile in flight needs a few fds; out of them, a thread could spend
# a refresh token and fail to store its successor. With a low limit --all
# runs fewer at once instead. (12 profiles at once need more than 40 fds:
# without the limit, some fail or the process aborts.)
MANY=$SPK_TMP/many.conf
for i in $(seq -w 1 12); do
    browser_reset
    sk --timeout 90 --config "$MANY" login "m$i" --timeout 60 "${ISSUER_ARGS[@]}"
    assert_rc 0 "login m$i (config many.conf): exits 0" || bail "login m$i failed"
    browser_wait 30 || true
done
M=$(events_mark)
SK_CMD="sparekey --config many.conf refresh --all --older-than 0 (ulimit -n 40)"
(ulimit -n 40 && exec "$SPAREKEY" --config "$MANY" refresh --all --older-than 0) \
    </dev/null >"$SPK_TMP/sk.out" 2>"$SPK_TMP/sk.err"
SK_RC=$?; SK_ERR=$(cat "$SPK_TMP/sk.err")
diag "\$ $SK_CMD  -> exit $SK_RC"; diag_file "$SPK_TMP/sk.err" 'stderr: '
assert_rc 0 "refresh --all of 12 profiles with only 40 fds: exits 0"
assert_eq "$(grep -c ': refreshed' "$SPK_TMP/sk.err")" 12 "... all 12 say refreshed"
assert_eq "$(refresh_grants_since "$M")" 12 "... and the provider saw 12 refreshes, one each"
M=$(events_mark)
sk --config "$MANY" refresh --all --older-than 0
assert_rc 0 "refresh --all of the 12 again (no fd limit): exits 0, so each had its newest refresh token stored"
assert_eq "$(events_since "$M" | grep -c '"event":"grant.revoked"')" 0 "... and no grant was revoked (no spent refresh token was sent)"

# No secret ever reached notify_cmd's arguments.
LEAK=
for p in ka kb kx kn kp; do
    for f in access_token refresh_token; do
        v=$(grant_field "$p" "$f")
        [ -n "$v" ] && grep -qF -- "$v" "$NLOG" && LEAK+="$p $f; "
    done
done
grep -qF -- "$RTA" "$NLOG" && LEAK+="kn's spent refresh token; "
assert_eq "$LEAK" "" "no token appears in notify_cmd's arguments"
diag_file "$NLOG" 'notify: '

spk_done
