#!/usr/bin/env bash
# ./run demo's script, tests/demo/demo.sh, as this headless machine runs
# it: no display, so the headless browser signs in. It must exit 0, narrate
# each step on stderr, print only sparekey's results on stdout, and leave
# nothing behind (no temp dir, no process). Twice: it is idempotent.
set -u
. "$(dirname "$0")/lib.sh"
peers_check_prereqs
demo=$SPK_ROOT/tests/demo/demo.sh
SPK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/spk-test-demo.XXXXXX") || bail "mktemp failed"
trap 'rm -rf -- "$SPK_TMP"' EXIT

# demo_pids: live processes whose command line or environment names a
# demo temp dir (gnome-keyring's command line does not).
demo_pids() {
	local d pid
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = $$ ] && continue
		if grep -qaF -- "$SPK_TMP/tmp/sparekey-demo." "$d/cmdline" "$d/environ" 2>/dev/null; then
			proc_alive "$pid" && tr '\0' ' ' <"$d/cmdline" && echo
		fi
	done
}

# The demo's temp dirs go here, so that leftovers can be seen.
mkdir -m 700 "$SPK_TMP/tmp"
for round in 1 2; do
	t0=$SECONDS
	env -u DISPLAY -u WAYLAND_DISPLAY TMPDIR="$SPK_TMP/tmp" NO_COLOR=1 \
		timeout --kill-after=5 240 "$demo" </dev/null >"$SPK_TMP/out" 2>"$SPK_TMP/err"
	rc=$?
	out=$(cat "$SPK_TMP/out")
	err=$(cat "$SPK_TMP/err")
	assert_eq "$rc" 0 "round $round: the demo exits 0 ($((SECONDS - t0)) s)" || diag_file "$SPK_TMP/err" 'stderr: '
	assert_contains "$err" "No display" "round $round: it says that the headless browser signs in, and why"
	for step in 'sparekey login demo --issuer http://127.0.0.1:' 'logged in as demo' \
		'$ sparekey token demo' '$ sparekey refresh demo' '$ sparekey status' '$ sparekey logout demo' \
		'logged out' 'Done:'; do
		assert_contains "$err" "$step" "round $round: stderr narrates: $step"
	done
	# stdout: two tokens, the JSON, two status tables; no narration.
	assert_match "$(head -n 1 <<<"$out")" '^[A-Za-z0-9_-]{20,}$' "round $round: stdout starts with the bare access token"
	assert_contains "$out" '"access_token":' "round $round: stdout has token --json"
	assert_not_contains "$out" "refresh_token" "round $round: the refresh token is never printed"
	assert_not_contains "$out" "==>" "round $round: no narration on stdout"
	left=$(find "$SPK_TMP/tmp" -mindepth 1 -maxdepth 1 -name 'sparekey-demo.*')
	assert_eq "$left" "" "round $round: the demo's temp dir is gone"
	stray=$(demo_pids)
	assert_eq "$stray" "" "round $round: no process of the demo is left"
done
spk_done
