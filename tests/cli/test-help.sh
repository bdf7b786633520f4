#!/usr/bin/env bash
# The command line's own documentation: every command's help (through
# 'sparekey CMD --help', '-h' and 'sparekey help CMD') exits 0 on stdout,
# names every option the man page's SYNOPSIS gives that command, and every
# option it names is documented in the man page; the commands of --help,
# the man page and the completions are the same; usage errors exit 64 with
# a pointer to the usage on stderr and nothing on stdout.
#
# Usage: test-help.sh MAN_PAGE      (environment: SPAREKEY, SPK_VERSION)
set -u
. "$(dirname "$0")/../integration/lib.sh"
man=${1:?usage: test-help.sh sparekey.1}
[ -x "$SPAREKEY" ] || bail "no sparekey binary at $SPAREKEY"
SPK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/spk-help.XXXXXX") || bail "mktemp failed"
trap 'rm -rf -- "$SPK_TMP"' EXIT
# No profile may be found by accident.
export HOME=$SPK_TMP/home XDG_CONFIG_HOME=$SPK_TMP/home/.config XDG_STATE_HOME=$SPK_TMP/home/.local/state
export XDG_RUNTIME_DIR=$SPK_TMP/run
mkdir -p "$HOME" && mkdir -m 700 "$XDG_RUNTIME_DIR"

# run ARGS...: sparekey's stdout, stderr and exit status in OUT, ERR, RC.
run() {
	"$SPAREKEY" "$@" </dev/null >"$SPK_TMP/out" 2>"$SPK_TMP/err"
	RC=$?
	OUT=$(cat "$SPK_TMP/out")
	ERR=$(cat "$SPK_TMP/err")
}

# help_options: the long options a command's help offers: those in its
# Usage lines and at the start of its Options lines (not those its prose
# mentions, which may be other commands').
help_options() {
	awk '/^Usage:/ || /^       sparekey / { print; next }
	     /^Options:/ { o = 1; next }
	     o && /^[^ ]/ { o = 0 }
	     o && /^ +-/ { sub(/^ +(-[A-Za-z], )?/, ""); sub(/[ =].*/, ""); print }' |
		grep -oE -- '--[a-z][a-z-]*' | sort -u
}

# man_options SECTION CMD: the long options (Fl -x) the man page gives CMD in
# SECTION: the SYNOPSIS lines of CMD, or its entry in COMMANDS (with the
# nested lists, up to the next command).
man_options() {
	awk -v want="$1" -v cmd="$2" '
		/^\.Sh / { sec = $2; depth = 0; cur = ""; next }
		sec == "SYNOPSIS" {
			if ($1 == ".Nm") { cur = ""; next }
			if (cur == "" && $1 == ".Cm") cur = $2
		}
		sec == "COMMANDS" {
			if ($1 == ".Bl") depth++
			else if ($1 == ".El") depth--
			else if ($1 == ".It" && depth == 1 && $2 == "Cm") cur = $3
		}
		sec == want && cur == cmd {
			line = $0
			while (match(line, /Fl -[a-z][a-z-]*/)) {
				print "-" substr(line, RSTART + 3, RLENGTH - 3)
				line = substr(line, RSTART + RLENGTH)
			}
		}' "$man" | sort -u
}

# ---------------------------------------------------------------- sparekey itself

run --help
assert_eq "$RC" 0 "sparekey --help exits 0"
assert_contains "$OUT" "Usage: sparekey" "sparekey --help prints the usage on stdout"
assert_eq "$ERR" "" "sparekey --help prints nothing on stderr"
main_help=$OUT
run -h
assert_eq "$RC:$OUT" "0:$main_help" "sparekey -h is sparekey --help"
run help
assert_eq "$RC:$OUT" "0:$main_help" "sparekey help is sparekey --help"

run --version
assert_eq "$RC" 0 "sparekey --version exits 0"
assert_eq "$OUT" "sparekey ${SPK_VERSION:-${OUT#sparekey }}" "sparekey --version prints 'sparekey VERSION' on stdout"
assert_match "$OUT" '^sparekey [0-9]+\.[0-9]+\.[0-9]+' "the version is a version number"
assert_eq "$ERR" "" "sparekey --version prints nothing on stderr"

if [ -w /dev/full ]; then
	"$SPAREKEY" --help >/dev/full 2>"$SPK_TMP/err"
	assert_eq "$?" 74 "sparekey --help >/dev/full exits 74 (output error)"
fi

# Usage errors: 64, nothing on stdout, a pointer to the usage on stderr.
usage_error() { # DESC ARGS...
	local d=$1
	shift
	run "$@"
	assert_eq "$RC" 64 "$d: exits 64"
	assert_eq "$OUT" "" "$d: nothing on stdout"
	assert_match "$ERR" 'usage|--help' "$d: stderr points to the usage"
}
usage_error "no command" 
usage_error "an unknown command" frobnicate
usage_error "an unknown global option" --frobnicate
usage_error "an unknown command option" token alpha --frobnicate
usage_error "an unknown option of login" login alpha --frobnicate
usage_error "help for an unknown command" help frobnicate
usage_error "a missing option value" token alpha --min-valid
run
assert_contains "$ERR" "Usage: sparekey" "no command: the usage is on stderr"

# ---------------------------------------------------------------- the commands

commands=$(awk '/^Commands:/ { c = 1; next } /^$/ { c = 0 } c && $1 != "help" { print $1 }' <<<"$main_help")
assert_ne "$commands" "" "sparekey --help lists the commands"
man_commands=$(awk '/^\.Sh / { s = $2 } s == "SYNOPSIS" && $1 == ".Cm" && prev == ".Nm" { print $2 } s == "SYNOPSIS" { if ($1 == ".Nm") prev = ".Nm"; else if ($1 == ".Cm") prev = "" }' "$man" |
	grep -vx help | sort -u)
assert_eq "$man_commands" "$(sort <<<"$commands")" "the man page's SYNOPSIS has the commands of --help"

for cmd in $commands; do
	run "$cmd" --help
	assert_eq "$RC" 0 "$cmd --help exits 0"
	assert_eq "$ERR" "" "$cmd --help prints nothing on stderr"
	if [[ $OUT == "Usage: sparekey $cmd"* ]]; then ok "$cmd --help prints its usage on stdout"
	else not_ok "$cmd --help prints its usage on stdout" "got: $(head -n 2 <<<"$OUT")"; fi
	help=$OUT
	run help "$cmd"
	assert_eq "$RC:$OUT" "0:$help" "help $cmd is $cmd --help"
	run "$cmd" -h
	assert_eq "$RC:$OUT" "0:$help" "$cmd -h is $cmd --help"

	hopts=$(help_options <<<"$help" | grep -vx -- --help)
	synopsis=$(man_options SYNOPSIS "$cmd")
	documented=$( (man_options SYNOPSIS "$cmd"; man_options COMMANDS "$cmd") | sort -u)
	missing=$(comm -23 <(echo "$synopsis") <(echo "$hopts") | tr '\n' ' ')
	assert_eq "$missing" "" "$cmd --help names every option of its man SYNOPSIS (${synopsis//$'\n'/ })"
	undocumented=$(comm -23 <(echo "$hopts") <(echo "$documented") | tr '\n' ' ')
	assert_eq "$undocumented" "" "every option $cmd --help names is in the man page (${hopts//$'\n'/ })"
done

spk_done
