#!/usr/bin/env bash
# 'meson install --destdir' from this build lays out what a package needs:
# the front in bindir with git-credential-sparekey linked to it (git's name
# for the helper `sparekey`), sparekey-cli and sparekey-worker in
# libexecdir/sparekey (where the front and sparekey-cli look for them), both
# man pages, the three shell completions and the systemd user units, whose
# ExecStart names the installed front. Nothing lands outside the prefix.
#
# Usage: test-install.sh BUILD_DIR SOURCE_DIR
# Environment (from tests/meson.build): SPK_PREFIX, SPK_BINDIR,
# SPK_LIBEXECDIR, SPK_MANDIR, SPK_DATADIR, SPK_BASH_COMPLETIONSDIR,
# SPK_SYSTEMD_USERUNITDIR (absolute paths); MESON (default: meson).
set -u
. "$(dirname "$0")/../integration/lib.sh"
build=${1:?usage: test-install.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: test-install.sh BUILD_DIR SOURCE_DIR}
for v in SPK_PREFIX SPK_BINDIR SPK_LIBEXECDIR SPK_MANDIR SPK_DATADIR SPK_BASH_COMPLETIONSDIR \
	SPK_SYSTEMD_USERUNITDIR; do
	[ -n "${!v:-}" ] || bail "$v is not set (run this test through meson test)"
done
meson=${MESON:-meson}
command -v "$meson" >/dev/null || spk_skip "meson is not on PATH"
SPK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/spk-install.XXXXXX") || bail "mktemp failed"
trap 'rm -rf -- "$SPK_TMP"' EXIT
dest=$SPK_TMP/dest

"$meson" install -C "$build" --destdir "$dest" --no-rebuild >"$SPK_TMP/install.log" 2>&1
rc=$?
assert_eq "$rc" 0 "meson install --destdir exits 0" || diag_file "$SPK_TMP/install.log"

# installed REL_PATH DESC [-x]: DESTDIR/PATH is a non-empty file (executable with -x).
installed() {
	local f=$dest$1
	if [ -f "$f" ] && [ -s "$f" ] && { [ "${3:-}" != -x ] || [ -x "$f" ]; }; then ok "$2: $1"
	else not_ok "$2: $1" "$(ls -l "$f" 2>&1)"; fi
}
installed "$SPK_BINDIR/sparekey" "the front" -x
installed "$SPK_BINDIR/git-credential-sparekey" "git's credential helper (credential.helper sparekey)" -x
assert_eq "$(readlink "$dest$SPK_BINDIR/git-credential-sparekey")" sparekey \
	"git-credential-sparekey is a link to the front beside it"
installed "$SPK_LIBEXECDIR/sparekey/sparekey-cli" "sparekey-cli" -x
installed "$SPK_LIBEXECDIR/sparekey/sparekey-worker" "sparekey-worker (carries refreshes through)" -x
installed "$SPK_MANDIR/man1/sparekey.1" "sparekey(1)"
installed "$SPK_MANDIR/man5/sparekey.conf.5" "sparekey.conf(5)"
installed "$SPK_BASH_COMPLETIONSDIR/sparekey" "bash completion"
installed "$SPK_DATADIR/zsh/site-functions/_sparekey" "zsh completion"
installed "$SPK_DATADIR/fish/vendor_completions.d/sparekey.fish" "fish completion"
installed "$SPK_SYSTEMD_USERUNITDIR/sparekey-refresh.service" "systemd user service"
installed "$SPK_SYSTEMD_USERUNITDIR/sparekey-refresh.timer" "systemd user timer"

same() { # INSTALLED SOURCE DESC
	if cmp -s "$dest$1" "$2"; then ok "$3"; else not_ok "$3" "$dest$1 differs from $2"; fi
}
same "$SPK_BASH_COMPLETIONSDIR/sparekey" "$src/completions/sparekey.bash" "the bash completion is completions/sparekey.bash"
same "$SPK_DATADIR/zsh/site-functions/_sparekey" "$src/completions/_sparekey" "the zsh completion is completions/_sparekey"
same "$SPK_DATADIR/fish/vendor_completions.d/sparekey.fish" "$src/completions/sparekey.fish" "the fish completion is completions/sparekey.fish"

service=$(cat "$dest$SPK_SYSTEMD_USERUNITDIR/sparekey-refresh.service" 2>/dev/null)
assert_eq "$(grep '^ExecStart=' <<<"$service")" "ExecStart=$SPK_BINDIR/sparekey refresh --all" \
	"the service runs the installed front: ExecStart=$SPK_BINDIR/sparekey refresh --all"
assert_not_contains "$service" "@" "the service has no unsubstituted @VARIABLE@"
assert_eq "$(grep '^KillMode=' <<<"$service")" "KillMode=mixed" \
	"the service stops gracefully: KillMode=mixed (SIGTERM to sparekey alone)"
assert_eq "$(grep '^TimeoutStopSec=' <<<"$service")" "TimeoutStopSec=90" "the service has TimeoutStopSec=90"
timer=$(cat "$dest$SPK_SYSTEMD_USERUNITDIR/sparekey-refresh.timer" 2>/dev/null)
assert_contains "$timer" "WantedBy=timers.target" "the timer can be enabled (WantedBy=timers.target)"

# The front finds sparekey-cli where it was installed.
if grep -qaF -- "$SPK_LIBEXECDIR/sparekey" "$dest$SPK_BINDIR/sparekey"; then
	ok "the front execs sparekey-cli from $SPK_LIBEXECDIR/sparekey"
else
	not_ok "the front execs sparekey-cli from $SPK_LIBEXECDIR/sparekey" "that path is not in $SPK_BINDIR/sparekey"
fi

# sparekey-cli starts sparekey-worker from where it was installed.
if grep -qaF -- "$SPK_LIBEXECDIR/sparekey" "$dest$SPK_LIBEXECDIR/sparekey/sparekey-cli"; then
	ok "sparekey-cli starts sparekey-worker from $SPK_LIBEXECDIR/sparekey"
else
	not_ok "sparekey-cli starts sparekey-worker from $SPK_LIBEXECDIR/sparekey" "that path is not in sparekey-cli"
fi

outside=$(cd "$dest" && find . -type f ! -path ".$SPK_PREFIX/*")
assert_eq "$outside" "" "every installed file is under the prefix $SPK_PREFIX"

# systemd's own check of the units, with ExecStart pointed into DESTDIR.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$SPK_TMP/units" "$SPK_TMP/run" && chmod 700 "$SPK_TMP/run"
	sed "s|^ExecStart=$SPK_BINDIR/|ExecStart=$dest$SPK_BINDIR/|" "$dest$SPK_SYSTEMD_USERUNITDIR/sparekey-refresh.service" \
		>"$SPK_TMP/units/sparekey-refresh.service"
	cp "$dest$SPK_SYSTEMD_USERUNITDIR/sparekey-refresh.timer" "$SPK_TMP/units/"
	(cd "$SPK_TMP/units" && HOME=$SPK_TMP XDG_RUNTIME_DIR=$SPK_TMP/run \
		systemd-analyze verify --user --man=no ./sparekey-refresh.timer ./sparekey-refresh.service) \
		>"$SPK_TMP/verify.log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$SPK_TMP/verify.log" ]; then ok "systemd-analyze verify finds nothing wrong with the units"
	else not_ok "systemd-analyze verify finds nothing wrong with the units" "exit $rc"; diag_file "$SPK_TMP/verify.log"; fi
else
	skip_one "systemd-analyze verify" "systemd-analyze is not installed"
fi

spk_done
