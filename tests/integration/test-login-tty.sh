#!/usr/bin/env bash
# login on a real terminal: a tmux pane, the command typed at a shell
# prompt, against the real peers, with a browser that takes a few seconds
# to come back. The pane must show the numbered steps, a live countdown
# while waiting (gone once the browser is back), the success line, colour
# on a terminal and none with NO_COLOR=1. The browser leaves a screenshot
# of the callback page in $SPK_ARTIFACTS (the meson build dir's
# tests/artifacts; not committed).
set -u
. "$(dirname "$0")/lib.sh"
trap peers_stop EXIT

command -v tmux >/dev/null || spk_skip "tmux is not installed"
peers_start
artifacts=${SPK_ARTIFACTS:-$SPK_TMP/artifacts}
mkdir -p "$artifacts"

# $BROWSER that returns at once, like xdg-open, and starts the headless
# browser only 4 s later: long enough to watch the countdown.
cat >"$SPK_TMP/slow-browser" <<EOF
#!/bin/sh
( sleep 4; exec '$SPK_PEERS/browser' "\$1" ) </dev/null >/dev/null 2>&1 &
exit 0
EOF
chmod 700 "$SPK_TMP/slow-browser"

tmux_sock=$SPK_TMP/tmux.sock
tm() { tmux -S "$tmux_sock" -f /dev/null "$@"; }
stop_tmux() {
	local rc=$?
	tm kill-server 2>/dev/null
	(exit "$rc") # peers_stop reports by the test's exit status
	peers_stop
}
trap stop_tmux EXIT

# pane_login NAME ENVSPEC: type "env ENVSPEC sparekey login NAME ..." at a
# shell prompt in a new 200x50 pane, watch it until the command ends.
# Sets PANE (plain text, wrapped lines joined), PANE_E (with escapes),
# COUNTDOWN (a countdown line seen while waiting), LOGIN_RC.
pane_login() {
	local name=$1 envspec=$2 rcfile=$SPK_TMP/rc-$1 i snap
	rm -f -- "$rcfile"
	browser_reset
	tm new-session -d -s "$name" -x 200 -y 50 "env PS1='$ ' bash --noprofile --norc -i" ||
		bail "tmux new-session failed"
	tm send-keys -t "$name" -l "env $envspec BROWSER='$SPK_TMP/slow-browser' '$SPAREKEY' login $name --issuer $ISSUER --client-id sparekey-native --timeout 60; echo \$? >'$rcfile'"
	tm send-keys -t "$name" Enter
	COUNTDOWN=
	for ((i = 0; i < 600; i++)); do
		snap=$(tm capture-pane -p -J -t "$name" -S - 2>/dev/null)
		if [ -z "$COUNTDOWN" ]; then
			COUNTDOWN=$(grep -oE 'waiting [0-9]+:[0-9]{2} more[^[:cntrl:]]*' <<<"$snap" | head -n 1)
		fi
		[ -s "$rcfile" ] && break
		sleep 0.1
	done
	LOGIN_RC=$(cat "$rcfile" 2>/dev/null)
	PANE=$(tm capture-pane -p -J -t "$name" -S -)
	PANE_E=$(tm capture-pane -p -e -J -t "$name" -S -)
	tm kill-session -t "$name" 2>/dev/null
	diag "pane of $name:"
	diag "$PANE"
}

shot=$artifacts/login-tty-success.png
rm -f -- "$shot"
pane_login tty "-u NO_COLOR SPK_BROWSER_SCREENSHOT='$shot'"
assert_eq "$LOGIN_RC" 0 "login on a terminal exits 0"
assert_contains "$PANE" "[1/3] tty: opening the browser" "step 1/3 is shown"
assert_contains "$PANE" "[2/3] tty: waiting for you to sign in" "step 2/3 is shown"
assert_match "$COUNTDOWN" '^waiting [0-9]+:[0-5][0-9] more' "a countdown 'waiting M:SS more' is shown while waiting"
assert_not_contains "$PANE" "more (Ctrl-C to cancel)" "the countdown line is cleared once the browser is back"
assert_contains "$PANE" "[3/3] tty: the browser came back" "step 3/3 is shown"
assert_match "$PANE" 'sparekey: tty: logged in as alice; access token valid until' "the success line is shown"
assert_not_contains "$PANE" "waiting up to" "on a terminal the countdown replaces the 'waiting up to N s' note"
esc=$'\033'
assert_contains "$PANE_E" "$esc[" "without NO_COLOR, the pane has colour/attribute escapes"
if grep -qE $'\033\\[[0-9;]*1[;m].*\\[1/3\\]' <<<"$PANE_E"; then ok "the step numbers are bold"
else not_ok "the step numbers are bold" "$(grep -F '[1/3]' <<<"$PANE_E" | od -c | head -n 5)"; fi
if grep -qE $'\033\\[[0-9;]*32m.*logged in as alice' <<<"$PANE_E"; then ok "the success line is green"
else not_ok "the success line is green" "$(grep -F 'logged in' <<<"$PANE_E" | od -c | head -n 8)"; fi
if [ -n "$(grant_field tty refresh_token)" ]; then ok "the keyring holds the grant"
else not_ok "the keyring holds the grant"; fi

# The browser's screenshot of the page sparekey answered the callback with.
browser_wait 10 || true
if [ -s "$shot" ] && [ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
	ok "the browser saved a PNG screenshot of the success page ($(wc -c <"$shot") bytes, $shot)"
else
	not_ok "the browser saved a PNG screenshot of the success page" "no PNG at $shot"
	diag_file "$SPK_BROWSER_LOG" 'browser: '
fi
assert_eq "$(browser_field ok)" true "the browser landed on the callback page"

pane_login tty-plain "NO_COLOR=1"
browser_wait 10 || true
assert_eq "$LOGIN_RC" 0 "NO_COLOR=1: login exits 0"
assert_match "$PANE" 'sparekey: tty-plain: logged in as alice' "NO_COLOR=1: the success line is shown"
assert_match "$COUNTDOWN" '^waiting [0-9]+:[0-5][0-9] more' "NO_COLOR=1: the countdown is still shown"
if [[ $PANE_E != *"$esc"* ]]; then ok "NO_COLOR=1: no escape codes in the pane"
else not_ok "NO_COLOR=1: no escape codes in the pane" "$(grep -n "$esc" <<<"$PANE_E" | head -n 5 | od -c | head -n 10)"; fi

spk_done
