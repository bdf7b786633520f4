#!/usr/bin/env bash
# sparekey without an account: a whole login -> token -> refresh -> status
# -> logout round against a local OpenID Connect provider (the test peer,
# tests/peers/provider.mjs), with a private keyring and private config and
# state directories, so that neither your sparekey config nor your keyring
# is touched. Everything it starts is stopped and deleted at the end.
#
# Usage: ./run demo [--headless]     (or: tests/demo/demo.sh [--headless])
#
# The sign-in page opens in your own browser ($BROWSER, else xdg-open, with
# your own environment); sign in with any name and password and press
# Continue. Without a display, or with --headless, a headless Chromium
# (tests/peers/browser) signs in instead.
#
# Needs: node with tests/peers/node_modules (npm ci), dbus-daemon,
# gnome-keyring-daemon; for --headless, chromium. ./run demo sees to all.
# Environment: SPAREKEY, the program (default: build/sparekey).
# Narration goes to stderr; what sparekey prints on stdout stays on stdout.
set -uo pipefail

top=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
peers=$top/tests/peers
sparekey=${SPAREKEY:-$top/build/sparekey}
profile=demo

headless=
case ${1:-} in
--headless) headless=1 ;;
'') ;;
-h | --help)
	sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	printf 'demo: unknown argument %s (see --help)\n' "$1" >&2
	exit 64
	;;
esac
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
	headless=${headless:-nodisplay}
fi

bold= off=
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
	bold=$'\033[1m' off=$'\033[0m'
fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$off" >&2; }
info() { printf '    %s\n' "$@" >&2; }
die() {
	printf '%sdemo: %s%s\n' "$bold" "$*" "$off" >&2
	exit 1
}
# sk ARGS...: show the command line, then run it. Ctrl-C ends the demo.
sk() {
	local rc=0
	printf '%s$ sparekey %s%s\n' "$bold" "$*" "$off" >&2
	"$sparekey" "$@" || rc=$?
	[ "$rc" -eq 130 ] && exit 130
	return "$rc"
}

[ -x "$sparekey" ] || die "no sparekey at $sparekey (./run build, or set SPAREKEY)"
command -v node >/dev/null || die "node is not installed (./run demo installs it)"
[ -f "$peers/node_modules/oidc-provider/package.json" ] ||
	die "tests/peers/node_modules is missing (./run demo runs npm ci there)"
for c in dbus-daemon dbus-send gnome-keyring-daemon setsid; do
	command -v "$c" >/dev/null || die "$c is not installed (./run demo installs it)"
done
if [ -n "$headless" ]; then
	[ -x "${SPK_CHROMIUM:-/usr/bin/chromium}" ] || die "no chromium for the headless browser (apt-get install chromium)"
	[ -f "$peers/node_modules/playwright-core/package.json" ] ||
		die "playwright-core is missing from tests/peers/node_modules (npm ci)"
fi

# ---------------------------------------------------------------- cleanup

pids=()
tmp=
is_alive() { # not gone, not a zombie
	[ -r "/proc/$1/stat" ] && ! sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^[ZX]'
}
cleanup() {
	local rc=$? pid i
	trap - EXIT INT TERM HUP
	if [ -n "$tmp" ] && [ -s "$tmp/browser.pids" ]; then
		while read -r pid; do
			is_alive "$pid" && grep -qF browser.mjs "/proc/$pid/cmdline" 2>/dev/null &&
				kill -TERM "$pid" 2>/dev/null
		done <"$tmp/browser.pids"
	fi
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null
	done
	for ((i = 0; i < 30; i++)); do
		local any=
		for pid in "${pids[@]}"; do is_alive "$pid" && any=1; done
		[ -z "$any" ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		is_alive "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "$tmp" ] && [ -d "$tmp" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$rc" -ne 143 ] && [ "$rc" -ne 129 ]; then
			for f in provider.log keyring.log dbus.log browser.log; do
				[ -s "$tmp/$f" ] || continue
				printf -- '--- last lines of %s ---\n' "$f" >&2
				tail -n 15 "$tmp/$f" >&2
			done
		fi
		rm -rf -- "$tmp"
	fi
	[ "$rc" -eq 0 ] && say "Done: the provider, the keyring and the temporary directory are gone."
	[ "$rc" -eq 130 ] && say "Interrupted: the provider, the keyring and the temporary directory are gone."
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# waitfor SECS PID CMD...: until CMD succeeds; fails if PID dies first.
waitfor() {
	local n=$(($1 * 10)) pid=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" 2>/dev/null && return 0
		is_alive "$pid" || return 1
		sleep 0.1
	done
	return 1
}

base=${TMPDIR:-/tmp}
[[ $base == /* && $base != *[[:space:]]* ]] || base=/tmp
tmp=$(mktemp -d "$base/sparekey-demo.XXXXXX") || die "mktemp failed"
chmod 700 "$tmp"

# Your environment, as it is now, for your browser only.
env -0 >"$tmp/user.env"

say "sparekey demo: a local OpenID Connect provider, a private keyring"
info "Everything lives in $tmp and is deleted at the end:" \
	"your own config (~/.config/sparekey) and keyring are not touched."

export HOME=$tmp/home
export XDG_CONFIG_HOME=$HOME/.config XDG_STATE_HOME=$HOME/.local/state
export XDG_CACHE_HOME=$HOME/.cache XDG_DATA_HOME=$HOME/.local/share
export XDG_RUNTIME_DIR=$tmp/run
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SSH_AUTH_SOCK \
	SSH_CONNECTION XDG_SESSION_TYPE XDG_CURRENT_DESKTOP DESKTOP_SESSION
export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1

# ---------------------------------------------------------------- peers

say "Starting a private D-Bus session and gnome-keyring"
dbus-daemon --nofork --config-file="$top/tests/integration/dbus.conf" \
	--address="unix:path=$tmp/bus" >"$tmp/dbus.log" 2>&1 &
pids+=($!)
export DBUS_SESSION_BUS_ADDRESS=unix:path=$tmp/bus
waitfor 10 "${pids[-1]}" dbus-send --session --print-reply --dest=org.freedesktop.DBus \
	/org/freedesktop/DBus org.freedesktop.DBus.GetId >/dev/null ||
	die "the private dbus-daemon did not start"

# A keyring unlocked with a throwaway password (printf: no newline in it).
printf %s "sparekey-demo-$$" | gnome-keyring-daemon --foreground --unlock --components=secrets \
	>"$tmp/keyring.log" 2>&1 &
pids+=($!)
keyring_up() {
	dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q 'boolean true'
}
waitfor 10 "${pids[-1]}" keyring_up || die "gnome-keyring-daemon did not start"
info "keyring: gnome-keyring on $DBUS_SESSION_BUS_ADDRESS"

say "Starting the provider (oidc-provider, tests/peers/provider.mjs)"
SPK_PROVIDER_QUIET=1 node "$peers/provider.mjs" --port 0 --port-file "$tmp/provider.port" \
	>"$tmp/provider.out" 2>"$tmp/provider.log" </dev/null &
pids+=($!)
waitfor 30 "${pids[-1]}" test -s "$tmp/provider.port" || die "the provider did not start"
issuer=http://127.0.0.1:$(cat "$tmp/provider.port")
info "issuer: $issuer" "client:  sparekey-native (a public client with PKCE, like a desktop app)"

# ---------------------------------------------------------------- login

if [ -n "$headless" ]; then
	if [ "$headless" = nodisplay ]; then
		say "No display (DISPLAY and WAYLAND_DISPLAY are unset): a headless Chromium signs in for you"
		info "On a desktop, this step opens your own browser instead."
	else
		say "--headless: a headless Chromium signs in for you"
	fi
	export BROWSER=$peers/browser
	export SPK_BROWSER_USER=demo SPK_BROWSER_LOG=$tmp/browser.log SPK_BROWSER_PIDS=$tmp/browser.pids
	export SPK_BROWSER_RESULT=$tmp/browser-result.json
	: >"$SPK_BROWSER_PIDS"
	timeout=90
else
	# sparekey runs $BROWSER URL: this opens it as you would, with your
	# DISPLAY, HOME, session bus and $BROWSER (else xdg-open).
	cat >"$tmp/your-browser" <<-EOF
		#!/usr/bin/env bash
		mapfile -d '' vars <'$tmp/user.env'
		exec env -i "\${vars[@]}" sh -c 'if [ -n "\$BROWSER" ]; then exec \$BROWSER "\$1"; else exec xdg-open "\$1"; fi' sh "\$1"
	EOF
	chmod 700 "$tmp/your-browser"
	export BROWSER=$tmp/your-browser
	say "Signing in: your browser opens at the provider's sign-in page"
	info "Sign in with any name and password (it is a throwaway test server)," \
		"then press Continue to let sparekey in. You have 5 minutes."
	timeout=300
fi
sk login "$profile" --issuer "$issuer" --client-id sparekey-native --timeout "$timeout" </dev/null ||
	die "login failed"

# ---------------------------------------------------------------- use it

say "A script asks for a token: it is printed alone on stdout"
sk token "$profile" || die "token failed"

say "The same token, as JSON (the refresh token is never printed)"
sk token "$profile" --json || die "token --json failed"

say "Refresh now: a new access token and a rotated refresh token, stored in the keyring"
sk refresh "$profile" || die "refresh failed"
sk token "$profile" || die "token failed"

say "What sparekey knows about its profiles"
sk status || die "status failed"

say "Log out: revoke the grant at the provider and delete it here"
sk logout "$profile" || die "logout failed"
sk status || die "status failed"

say "After logout, a script gets exit status 77 (a person must log in again)"
rc=0
sk token "$profile" || rc=$?
[ "$rc" -eq 77 ] || die "token after logout: expected exit 77, got $rc"
info "(exit $rc)"

say "Try it with a real provider:"
info "sparekey login xero --provider xero --client-id YOUR_CLIENT_ID --scope accounting.invoices" \
	"man sparekey, and the README, have the rest."
exit 0
