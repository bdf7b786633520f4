# fish completion for sparekey(1)
#
# Completes the commands, each command's options (the same lists as
# 'sparekey help COMMAND'; tests/cli/test-completions.sh checks that they
# match), the values of --provider, --store and --client-auth, and profile
# names: the [groups] of the config file named by --config earlier on the
# line, else $XDG_CONFIG_HOME/sparekey/config, else ~/.config/sparekey/config.

# The words before the cursor that are not options or option values, from
# the command on ("token alpha"); empty before the command.
function __sparekey_args
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    set -l out
    for w in $words
        if test $skip = 1
            set skip 0
            continue
        end
        if test (count $out) -gt 0; and contains -- -- $out
            set -a out $w
            continue
        end
        switch $w
            case --config --provider --issuer --client-id --client-secret-file --client-auth \
                --scope --port --tenant --cacert --store --timeout --min-valid --older-than --every
                set skip 1
            case --
                test (count $out) -gt 0; and set -a out --
            case '-*'
            case '*'
                set -a out $w
        end
    end
    string join \n -- $out
end

function __sparekey_needs_command
    test (count (__sparekey_args)) -eq 0
end

# __sparekey_using CMD...: the command is one of CMD.
function __sparekey_using
    set -l args (__sparekey_args)
    test (count $args) -gt 0; and contains -- $args[1] $argv
end

# True where a profile name goes: the first argument of most commands, any
# argument of check and refresh (without --all).
function __sparekey_wants_profile
    set -l args (__sparekey_args)
    test (count $args) -gt 0; or return 1
    switch $args[1]
        case check refresh
            not contains -- --all (commandline -opc)
        case doctor exec export import login logout status tenants token
            test (count $args) -eq 1
        case git-credential
            test (count $args) -eq 1
        case '*'
            return 1
    end
end

function __sparekey_config_file
    set -l words (commandline -opc)
    set -e words[1]
    set -l cfg
    while test (count $words) -gt 0
        switch $words[1]
            case --config
                set -q words[2]; and set cfg $words[2]
                set -e words[1]
            case '--config=*'
                set cfg (string replace -- --config= '' $words[1])
            case '-*'
            case '*'
                break
        end
        set -e words[1]
    end
    if test -n "$cfg"
        string replace -r -- '^~/' "$HOME/" $cfg
    else if string match -q -- '/*' "$XDG_CONFIG_HOME"
        echo $XDG_CONFIG_HOME/sparekey/config
    else
        echo $HOME/.config/sparekey/config
    end
end

function __sparekey_profiles
    set -l cfg (__sparekey_config_file)
    test -r "$cfg"; or return 0
    string replace -rf -- '^\s*\[([A-Za-z0-9_][A-Za-z0-9._-]*)\]\s*$' '$1' <$cfg
end

# exec PROFILE -- COMMAND...: complete COMMAND... as its own command line.
function __sparekey_complete_command
    set -l tokens (commandline -opc)
    set -l i (contains -i -- -- $tokens)
    set -l rest $tokens[(math $i + 1)..-1]
    complete -C (string join ' ' -- (string escape -- $rest) (commandline -ct))
end

complete -c sparekey -f

# Before the command.
complete -c sparekey -n __sparekey_needs_command -s v -l verbose -d 'Diagnostics on stderr (never a secret)'
complete -c sparekey -n __sparekey_needs_command -l config -r -F -d 'Use this config file'
complete -c sparekey -n __sparekey_needs_command -s h -l help -d 'Show the help'
complete -c sparekey -n __sparekey_needs_command -l version -d 'Show the version'
complete -c sparekey -n __sparekey_needs_command -a check -d 'Will a person be needed? (a monitoring plugin)'
complete -c sparekey -n __sparekey_needs_command -a doctor -d 'Check config, store, lock, clock and tokens'
complete -c sparekey -n __sparekey_needs_command -a exec -d 'Run a command with the token in its environment'
complete -c sparekey -n __sparekey_needs_command -a export -d 'Move a grant to another machine (to stdout)'
complete -c sparekey -n __sparekey_needs_command -a git-credential -d 'Answer git as its credential helper'
complete -c sparekey -n __sparekey_needs_command -a help -d 'Show the help of a command'
complete -c sparekey -n __sparekey_needs_command -a import -d 'Store a grant exported on another machine'
complete -c sparekey -n __sparekey_needs_command -a login -d 'Sign in through the browser and store the grant'
complete -c sparekey -n __sparekey_needs_command -a logout -d 'Revoke the grant and delete it here'
complete -c sparekey -n __sparekey_needs_command -a refresh -d 'Refresh a grant now (keeps it alive)'
complete -c sparekey -n __sparekey_needs_command -a status -d 'Show profiles and the state of their grants'
complete -c sparekey -n __sparekey_needs_command -a tenants -d 'List the organisations (Xero tenants) of a grant'
complete -c sparekey -n __sparekey_needs_command -a timer -d 'Install or remove the systemd timer'
complete -c sparekey -n __sparekey_needs_command -a token -d 'Print a valid access token'

# Every command.
complete -c sparekey -n 'not __sparekey_needs_command; and not __sparekey_using help' -s h -l help -d 'Show this help'
complete -c sparekey -n __sparekey_wants_profile -a '(__sparekey_profiles)' -d Profile

complete -c sparekey -n '__sparekey_using help; and test (count (__sparekey_args)) -eq 1' \
    -a 'check doctor exec export git-credential import login logout refresh status tenants timer token'

complete -c sparekey -n '__sparekey_using check' -l all -d 'Every profile (the default)'
complete -c sparekey -n '__sparekey_using check' -l within -x -d 'WARNING when a refresh token dies unless used within DAYS'
complete -c sparekey -n '__sparekey_using check' -l json -d 'One JSON array for scripts'

complete -c sparekey -n '__sparekey_using doctor' -l cron -d "Check again in an environment like cron's"

complete -c sparekey -n '__sparekey_using exec token' -l min-valid -x -d 'The token must stay valid this long (seconds)'
complete -c sparekey -n '__sparekey_using exec' -l keep-fresh -d 'Stay, and keep the token in a file fresh'
complete -c sparekey -n '__sparekey_using exec; and test (count (__sparekey_args)) -eq 2' -a -- -d 'Then the command'
complete -c sparekey -n '__sparekey_using exec; and contains -- -- (__sparekey_args)' -a '(__sparekey_complete_command)'

complete -c sparekey -n '__sparekey_using export' -l copy -d 'Keep the local grant too'

# git-credential [PROFILE] get|store|erase
function __sparekey_wants_git_op
    set -l args (__sparekey_args)
    test (count $args) -eq 1
    or begin
        test (count $args) -eq 2; and not contains -- $args[2] get store erase
    end
end
complete -c sparekey -n '__sparekey_using git-credential; and __sparekey_wants_git_op' -a get -d 'Answer a token'
complete -c sparekey -n '__sparekey_using git-credential; and __sparekey_wants_git_op' -a store -d 'Ignored'
complete -c sparekey -n '__sparekey_using git-credential; and __sparekey_wants_git_op' -a erase -d 'Mark the token spent'

complete -c sparekey -n '__sparekey_using import login' -l store -x -a 'secret file etcd' -d 'Where to keep the grant'

complete -c sparekey -n '__sparekey_using login' -l provider -x -a 'xero google microsoft github oidc' -d 'A preset'
complete -c sparekey -n '__sparekey_using login' -l issuer -x -d 'An OpenID Connect issuer URL'
complete -c sparekey -n '__sparekey_using login' -l client-id -x -d 'The client id registered with the provider'
complete -c sparekey -n '__sparekey_using login' -l client-secret-file -r -F -d 'Read the client secret from this file (- for stdin)'
complete -c sparekey -n '__sparekey_using login' -l client-auth -x -a 'none post basic' -d 'How the client authenticates'
complete -c sparekey -n '__sparekey_using login' -l scope -x -d 'Scopes to ask for'
complete -c sparekey -n '__sparekey_using login' -l port -x -d 'A redirect port (repeat for a list)'
complete -c sparekey -n '__sparekey_using login' -l tenant -x -d 'The organisation to act on'
complete -c sparekey -n '__sparekey_using login' -l cacert -r -F -d 'Trust this CA bundle (PEM)'
complete -c sparekey -n '__sparekey_using login' -l no-browser -d 'Do not open a browser; print the URL'
complete -c sparekey -n '__sparekey_using login' -l paste -d 'Also read the address the browser ended on from stdin'
complete -c sparekey -n '__sparekey_using login' -l device -d 'Sign in on another device with a code'
complete -c sparekey -n '__sparekey_using login' -l client-credentials -d "No person: the client's own token"
complete -c sparekey -n '__sparekey_using login' -l timeout -x -d 'How long to wait for the person (seconds)'

complete -c sparekey -n '__sparekey_using logout' -l keep-remote -d 'Do not revoke; only forget the grant here'

complete -c sparekey -n '__sparekey_using refresh' -l all -d 'Every profile whose refresh token is older than AGE'
complete -c sparekey -n '__sparekey_using refresh' -l older-than -x -d 'With --all: N, or N with s, m, h or d'

complete -c sparekey -n '__sparekey_using status' -l json -d 'One JSON array for scripts'

complete -c sparekey -n '__sparekey_using tenants' -l refresh -d 'Ask the provider again'

complete -c sparekey -n '__sparekey_using timer; and test (count (__sparekey_args)) -eq 1' -a install -d 'Write and enable the units'
complete -c sparekey -n '__sparekey_using timer; and test (count (__sparekey_args)) -eq 1' -a remove -d 'Disable and delete the units'
complete -c sparekey -n '__sparekey_using timer' -l every -x -d 'How often: N, or N with s, m, h or d'

complete -c sparekey -n '__sparekey_using token' -l header -d 'Print HTTP headers for curl -H @-'
complete -c sparekey -n '__sparekey_using token' -l json -d 'Print the token as JSON'
complete -c sparekey -n '__sparekey_using token' -l exec-credential -d 'Print a Kubernetes ExecCredential for kubectl'
