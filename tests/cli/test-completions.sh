#!/usr/bin/env bash
# The shell completions in completions/: they load (bash), parse (zsh -n,
# fish -n), and in all three shells complete the commands and each
# command's options exactly as 'sparekey --help' and 'sparekey help CMD'
# list them, the values of --provider, --store and --client-auth, and the
# profile names of the config file ($XDG_CONFIG_HOME/sparekey/config,
# ~/.config/sparekey/config, or --config FILE earlier on the line).
#
# Usage: test-completions.sh COMPLETIONS_DIR     (environment: SPAREKEY)
set -u
. "$(dirname "$0")/../integration/lib.sh"
dir=$(CDPATH='' cd -- "${1:?usage: test-completions.sh COMPLETIONS_DIR}" && pwd)
zcap=$(dirname "$0")/complete.zsh
[ -x "$SPAREKEY" ] || bail "no sparekey binary at $SPAREKEY"
SPK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/spk-completions.XXXXXX") || bail "mktemp failed"
trap 'rm -rf -- "$SPK_TMP"' EXIT

# A home with two profiles (and things that are not profiles), and another
# config file for --config.
export HOME=$SPK_TMP/home XDG_CONFIG_HOME=$SPK_TMP/home/.config
mkdir -p "$XDG_CONFIG_HOME/sparekey" "$HOME/elsewhere"
cat >"$XDG_CONFIG_HOME/sparekey/config" <<'EOF'
# sparekey profiles
# [commented-out]
[alpha]
provider=xero
client_id=A

  [beta]
provider=oidc
issuer=http://127.0.0.1:1
scopes=openid [not-a-group]
EOF
printf '[gamma]\nprovider=oidc\n' >"$HOME/elsewhere/config"
profiles=$'alpha\nbeta'

# lines WORDS...: sorted, one per line, no empty lines
lines() { printf '%s\n' "$@" | grep -v '^$' | sort -u; }

# What sparekey itself says: the commands and each command's long options.
commands=$("$SPAREKEY" --help | awk '/^Commands:/ { c = 1; next } /^$/ { c = 0 } c { print $1 }' | sort)
help_options() { # CMD: as in test-help.sh, plus --help
	{
		"$SPAREKEY" help "$1" | awk '/^Usage:/ || /^       sparekey / { print; next }
		     /^Options:/ { o = 1; next }
		     o && /^[^ ]/ { o = 0 }
		     o && /^ +-/ { sub(/^ +(-[A-Za-z], )?/, ""); sub(/[ =].*/, ""); print }' |
			grep -oE -- '--[a-z][a-z-]*'
		echo --help
	} | sort -u
}
assert_ne "$commands" "" "sparekey --help lists the commands"

# What each test line asks for.
declare -A want_opts
for c in $commands; do
	[ "$c" = help ] && continue
	want_opts[$c]=$(help_options "$c")
done
# "sparekey CMD --" completes CMD's options; timer's come after "install".
optline() { if [ "$1" = timer ]; then echo "sparekey timer install --"; else echo "sparekey $1 --"; fi; }

# ---------------------------------------------------------------- bash

out=$(bash --norc --noprofile -c 'source "$1" && complete -p sparekey' bash "$dir/sparekey.bash" 2>&1)
assert_eq "$?:$out" "0:complete -F _sparekey sparekey" "bash: sourcing sparekey.bash registers complete -F _sparekey"

# bash_complete 'LINE': what _sparekey puts in COMPREPLY for the line (a
# trailing space starts a new, empty word), in a clean bash. Extra
# environment assignments go before: VAR=x bash_complete ...
bash_complete() {
	bash --norc --noprofile -c '
		source "$1"
		read -ra COMP_WORDS <<<"$2"
		[[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$2 COMP_POINT=${#2}
		_sparekey sparekey "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' bash "$dir/sparekey.bash" "$1" 2>"$SPK_TMP/bash.err" |
		grep -v '^$' | sort -u
}

assert_eq "$(bash_complete 'sparekey token ')" "$profiles" "bash: 'sparekey token <TAB>' offers the profiles alpha and beta"
assert_eq "$(bash_complete 'sparekey token al')" alpha "bash: 'sparekey token al<TAB>' offers alpha"
assert_eq "$(unset XDG_CONFIG_HOME; bash_complete 'sparekey token ')" "$profiles" \
	"bash: without XDG_CONFIG_HOME, profiles come from ~/.config/sparekey/config"
assert_eq "$(bash_complete "sparekey --config $HOME/elsewhere/config token ")" gamma "bash: --config FILE earlier on the line names the config file"
assert_eq "$(bash_complete "sparekey --config=$HOME/elsewhere/config status ")" gamma "bash: so does --config=FILE"
assert_eq "$(bash_complete 'sparekey refresh alpha ')" "$profiles" "bash: refresh takes several profiles"
assert_eq "$(bash_complete 'sparekey refresh --all ')" "" "bash: refresh --all takes no profile"
assert_eq "$(bash_complete 'sparekey ')" "$commands" "bash: 'sparekey <TAB>' offers the commands of --help"
assert_eq "$(bash_complete 'sparekey help ')" "$(grep -vx help <<<"$commands")" "bash: 'sparekey help <TAB>' offers the commands"
assert_eq "$(bash_complete 'sparekey timer ')" $'install\nremove' "bash: 'sparekey timer <TAB>' offers install and remove"
assert_eq "$(bash_complete 'sparekey login x --provider ')" "$(lines xero google microsoft github oidc)" "bash: --provider values"
assert_eq "$(bash_complete 'sparekey login x --store ')" "$(lines secret file etcd)" "bash: --store values"
assert_eq "$(bash_complete 'sparekey import x --store f')" file "bash: import --store values"
assert_eq "$(bash_complete 'sparekey login x --client-auth ')" "$(lines none post basic)" "bash: --client-auth values"
assert_eq "$(bash_complete 'sparekey login x --provider=mi')" --provider=microsoft "bash: --provider=VALUE in one word"
assert_eq "$(bash_complete 'sparekey login x --provider = mi')" microsoft "bash: --provider=VALUE split at '=' by COMP_WORDBREAKS"
assert_eq "$(bash_complete 'sparekey exec alpha ')" -- "bash: 'sparekey exec PROFILE <TAB>' offers --"
assert_contains "$(bash_complete 'sparekey exec alpha -- ech')" echo "bash: after exec PROFILE --, commands are completed"
assert_eq "$(bash_complete 'sparekey -')" "$(lines -v --verbose --config --help --version)" "bash: the global options"
for c in "${!want_opts[@]}"; do
	assert_eq "$(bash_complete "$(optline "$c")")" "${want_opts[$c]}" "bash: '$(optline "$c")<TAB>' offers exactly the options of 'sparekey help $c'"
done
assert_eq "$(cat "$SPK_TMP/bash.err")" "" "bash: the completion function prints nothing on stderr"

# ---------------------------------------------------------------- zsh

if command -v zsh >/dev/null; then
	zsh -n "$dir/_sparekey" 2>"$SPK_TMP/zsh.err"
	assert_eq "$?:$(cat "$SPK_TMP/zsh.err")" "0:" "zsh -n _sparekey: no syntax errors"
	# One zsh on a pseudo-terminal completes every line; zline N is what it
	# offered for the Nth.
	zlines=('sparekey token ' "sparekey --config $HOME/elsewhere/config token " 'sparekey '
		'sparekey help ' 'sparekey login x --provider ' 'sparekey login x --store '
		'sparekey login x --client-auth ' 'sparekey refresh --all ' 'sparekey timer ')
	zcmds=("${!want_opts[@]}")
	for c in "${zcmds[@]}"; do zlines+=("$(optline "$c")"); done
	zsh -f "$zcap" "$dir" "${zlines[@]}" >"$SPK_TMP/zsh.out" 2>"$SPK_TMP/zsh.err"
	zrc=$?
	zline() { awk -F '\t' -v n="$1" '$1 == n { print $2 }' "$SPK_TMP/zsh.out" | sort -u; }
	if [ "$zrc" -eq 0 ]; then
		assert_eq "$(zline 1)" "$profiles" "zsh: 'sparekey token <TAB>' offers the profiles alpha and beta"
		assert_eq "$(zline 2)" gamma "zsh: --config FILE earlier on the line names the config file"
		assert_eq "$(zline 3)" "$commands" "zsh: 'sparekey <TAB>' offers the commands of --help"
		assert_eq "$(zline 4)" "$(grep -vx help <<<"$commands")" "zsh: 'sparekey help <TAB>' offers the commands"
		assert_eq "$(zline 5)" "$(lines xero google microsoft github oidc)" "zsh: --provider values"
		assert_eq "$(zline 6)" "$(lines secret file etcd)" "zsh: --store values"
		assert_eq "$(zline 7)" "$(lines none post basic)" "zsh: --client-auth values"
		assert_not_contains "$(zline 8)" alpha "zsh: refresh --all takes no profile"
		assert_eq "$(zline 9)" $'install\nremove' "zsh: 'sparekey timer <TAB>' offers install and remove"
		n=9
		for c in "${zcmds[@]}"; do
			n=$((n + 1))
			assert_eq "$(zline $n)" "${want_opts[$c]}" "zsh: '$(optline "$c")<TAB>' offers exactly the options of 'sparekey help $c'"
		done
	else
		not_ok "zsh: completions on a pseudo-terminal (complete.zsh exit $zrc)" "$(cat "$SPK_TMP/zsh.err")"
	fi
else
	skip_one "zsh -n _sparekey" "zsh is not installed"
fi

# ---------------------------------------------------------------- fish

if command -v fish >/dev/null; then
	fish -n "$dir/sparekey.fish" 2>"$SPK_TMP/fish.err"
	assert_eq "$?:$(cat "$SPK_TMP/fish.err")" "0:" "fish -n sparekey.fish: no syntax errors"
	# fish_complete 'LINE': the candidates of 'complete -C', descriptions cut.
	fish_complete() {
		fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$dir/sparekey.fish" "$1" 2>>"$SPK_TMP/fish.err" |
			cut -f1 | grep -v '^$' | sort -u
	}
	assert_eq "$(fish_complete 'sparekey token ')" "$profiles" "fish: 'sparekey token ' offers the profiles alpha and beta"
	assert_eq "$(fish_complete "sparekey --config $HOME/elsewhere/config token ")" gamma "fish: --config FILE earlier on the line names the config file"
	assert_eq "$(fish_complete 'sparekey ')" "$commands" "fish: 'sparekey ' offers the commands of --help"
	assert_eq "$(fish_complete 'sparekey help ')" "$(grep -vx help <<<"$commands")" "fish: 'sparekey help ' offers the commands"
	assert_eq "$(fish_complete 'sparekey login x --provider ')" "$(lines xero google microsoft github oidc)" "fish: --provider values"
	assert_eq "$(fish_complete 'sparekey login x --store ')" "$(lines secret file etcd)" "fish: --store values"
	assert_eq "$(fish_complete 'sparekey login x --client-auth ')" "$(lines none post basic)" "fish: --client-auth values"
	for c in "${!want_opts[@]}"; do
		assert_eq "$(fish_complete "$(optline "$c")")" "${want_opts[$c]}" "fish: '$(optline "$c")' offers exactly the options of 'sparekey help $c'"
	done
	assert_eq "$(cat "$SPK_TMP/fish.err")" "" "fish: the completions print nothing on stderr"
else
	skip_one "fish -n sparekey.fish" "fish is not installed"
fi

spk_done
