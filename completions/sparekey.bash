# bash completion for sparekey(1)                          -*- shell-script -*-
#
# Completes the commands, each command's options (the same lists as
# 'sparekey help COMMAND'; tests/cli/test-completions.sh checks that they
# match), the values of --provider, --store and --client-auth, and profile
# names: the [groups] of the config file named by --config earlier on the
# line, else $XDG_CONFIG_HOME/sparekey/config, else ~/.config/sparekey/config.
# Needs nothing from the bash-completion package.

_sparekey_commands='check doctor exec export git-credential help import login logout refresh status tenants timer token'

# _sparekey_options COMMAND: its long options, as 'sparekey help COMMAND' lists them.
_sparekey_options()
{
	case $1 in
	check) echo --all --within --json --help ;;
	doctor) echo --cron --help ;;
	exec) echo --min-valid --keep-fresh --help ;;
	export) echo --copy --help ;;
	git-credential) echo --help ;;
	import) echo --store --help ;;
	login)
		echo --provider --issuer --client-id --client-secret-file --client-auth \
			--scope --port --tenant --cacert --store --no-browser --paste --device \
			--client-credentials --timeout --help
		;;
	logout) echo --keep-remote --help ;;
	refresh) echo --all --older-than --help ;;
	status) echo --json --help ;;
	tenants) echo --refresh --help ;;
	timer) echo --every --help ;;
	token) echo --min-valid --header --json --exec-credential --help ;;
	esac
}

# _sparekey_takes_arg OPTION: true when OPTION is followed by a value.
_sparekey_takes_arg()
{
	case $1 in
	--config | --provider | --issuer | --client-id | --client-secret-file | --client-auth | \
		--scope | --port | --tenant | --cacert | --store | --timeout | --min-valid | \
		--older-than | --every | --within)
		return 0
		;;
	esac
	return 1
}

# _sparekey_profiles CONFIG: the profile names (group headers) of a GLib key file.
_sparekey_profiles()
{
	[ -r "$1" ] || return 0
	sed -n 's/^[[:space:]]*\[\([A-Za-z0-9_][A-Za-z0-9._-]*\)\][[:space:]]*$/\1/p' -- "$1" 2>/dev/null
}

# _sparekey_values OPTION CUR: complete the value of OPTION into COMPREPLY.
_sparekey_values()
{
	local IFS=$' \t\n'
	case $1 in
	--provider) COMPREPLY=($(compgen -W 'xero google microsoft github oidc' -- "$2")) ;;
	--store) COMPREPLY=($(compgen -W 'secret file etcd' -- "$2")) ;;
	--client-auth) COMPREPLY=($(compgen -W 'none post basic' -- "$2")) ;;
	--config | --client-secret-file | --cacert)
		compopt -o filenames 2>/dev/null
		IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$2"))
		;;
	*) COMPREPLY=() ;; # a number, a URL, an id: nothing to offer
	esac
}

_sparekey()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= i w
	local cmd= config= ddash= npos=0 nafter=0 seen=' '
	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# "--opt=value": bash splits it at '=' when '=' is in COMP_WORDBREAKS.
	if [ "$cur" = = ] && _sparekey_takes_arg "$prev"; then
		_sparekey_values "$prev" ''
		return 0
	fi
	if [ "$prev" = = ] && ((COMP_CWORD > 1)) && _sparekey_takes_arg "${COMP_WORDS[COMP_CWORD - 2]}"; then
		_sparekey_values "${COMP_WORDS[COMP_CWORD - 2]}" "$cur"
		return 0
	fi
	if [[ $cur == --*=* ]] && _sparekey_takes_arg "${cur%%=*}"; then
		_sparekey_values "${cur%%=*}" "${cur#*=}"
		COMPREPLY=("${COMPREPLY[@]/#/${cur%%=*}=}")
		return 0
	fi

	# Walk the words before the cursor: global options, the command, its
	# options (and the values they take), its positional arguments.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [ -n "$ddash" ]; then
			nafter=$((nafter + 1))
			continue
		fi
		case $w in
		--config)
			[ -z "$cmd" ] && config=${COMP_WORDS[i + 1]}
			i=$((i + 1))
			;;
		--config=*) [ -z "$cmd" ] && config=${w#--config=} ;;
		--) [ -n "$cmd" ] && ddash=$i ;;
		=) ;;
		-*)
			seen+="${w%%=*} "
			if [[ $w != *=* ]] && _sparekey_takes_arg "$w" && [ "${COMP_WORDS[i + 1]}" != = ]; then
				i=$((i + 1))
			elif [ "${COMP_WORDS[i + 1]}" = = ]; then
				i=$((i + 2))
			fi
			;;
		*)
			if [ -z "$cmd" ]; then cmd=$w; else npos=$((npos + 1)); fi
			;;
		esac
	done

	if [ -z "$cmd" ]; then
		case $prev in
		--config)
			_sparekey_values --config "$cur"
			return 0
			;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-v --verbose --config --help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_sparekey_commands" -- "$cur"))
		fi
		return 0
	fi

	# exec PROFILE -- COMMAND [ARG...]
	if [ -n "$ddash" ]; then
		if ((nafter == 0)); then
			compopt -o filenames 2>/dev/null
			local IFS=$'\n'
			COMPREPLY=($(compgen -c -- "$cur" | sort -u))
		else
			compopt -o default 2>/dev/null
			COMPREPLY=()
		fi
		return 0
	fi

	if _sparekey_takes_arg "$prev"; then
		_sparekey_values "$prev" "$cur"
		return 0
	fi

	if [[ $cur == -* ]]; then
		local o opts=()
		for o in $(_sparekey_options "$cmd"); do
			# Offered once, except --port, which makes a list.
			[[ $seen == *" $o "* && $o != --port ]] || opts+=("$o")
		done
		COMPREPLY=($(compgen -W "${opts[*]}" -- "$cur"))
		return 0
	fi

	if [ -z "$config" ]; then
		if [[ ${XDG_CONFIG_HOME:-} == /* ]]; then
			config=$XDG_CONFIG_HOME/sparekey/config
		else
			config=$HOME/.config/sparekey/config
		fi
	elif [[ $config == '~/'* ]]; then
		config=$HOME/${config#'~/'}
	fi

	local IFS=$'\n'
	case $cmd in
	help)
		local c=" $_sparekey_commands "
		c=${c/ help / }
		((npos == 0)) && COMPREPLY=($(compgen -W "${c// /$'\n'}" -- "$cur"))
		;;
	timer)
		((npos == 0)) && COMPREPLY=($(compgen -W $'install\nremove' -- "$cur"))
		;;
	git-credential)
		# [PROFILE] get|store|erase
		local ops=$'get\nstore\nerase'
		if ((npos == 0)); then
			COMPREPLY=($(compgen -W "$(_sparekey_profiles "$config")"$'\n'"$ops" -- "$cur"))
		elif ((npos == 1)); then
			COMPREPLY=($(compgen -W "$ops" -- "$cur"))
		fi
		;;
	check | refresh)
		# Any number of profiles, unless --all.
		[[ $seen == *' --all '* ]] ||
			COMPREPLY=($(compgen -W "$(_sparekey_profiles "$config")" -- "$cur"))
		;;
	doctor | exec | export | import | login | logout | status | tenants | token)
		((npos == 0)) && COMPREPLY=($(compgen -W "$(_sparekey_profiles "$config")" -- "$cur"))
		;;
	esac
	# exec PROFILE: what follows is "--".
	if [ "$cmd" = exec ] && ((npos == 1)) && [[ -- == "$cur"* ]]; then
		COMPREPLY=(--)
	fi
	return 0
}

complete -F _sparekey sparekey
