#!/usr/bin/env zsh
# complete.zsh FPATH_DIR 'COMMAND LINE'...: what zsh's completion system
# offers at the end of each line, as "N<TAB>WORD" lines (N counts the
# lines from 1). Runs one interactive zsh -f on a pseudo-terminal
# (zsh/zpty) with compinit and FPATH_DIR first in $fpath, types each line
# and a Tab, records what reaches compadd, and clears the line.
# Exit status: 0, 2 without zsh/zpty, 3 if the shell stops answering.
emulate -L zsh
zmodload zsh/zpty 2>/dev/null || exit 2
dir=$1
shift
zpty z zsh -f -i
zpty -w z "PS1='' RPS1=''; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z '_spk_done() { print -r -- "<<END>>" }'
zpty -w z '_spk_tab() { comppostfuncs=(_spk_done); zle complete-word }; zle -N _spk_tab; bindkey "^I" _spk_tab'
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a __hits; builtin compadd -A __hits "$@"; local h; for h in $__hits; do print -r -- "<<M>>$h"; done; builtin compadd "$@"; }'
zpty -w z 'zstyle ":completion:*" list-prompt ""; zstyle ":completion:*" menu no; unsetopt beep'
zpty -w z "print -r -- '<<READY>>'"
zpty -r -m z out '*<<READY>>*' || { zpty -d z; exit 3; }
while zpty -r -t z chunk; do :; done
integer n=0 t
for line; do
  (( n++ ))
  zpty -n -w z "$line"$'\t'
  res= t=0
  while (( t++ < 600 )); do
    zpty -r -t z chunk && res+=$chunk
    [[ $res == *'<<END>>'* ]] && break
    sleep 0.05
  done
  [[ $res == *'<<END>>'* ]] || { zpty -d z; exit 3; }
  res=${res//$'\r'/}
  res=${res//<<M>>/$'\n'<<M>>}
  for m in ${${(M)${(f)res}:#<<M>>*}#<<M>>}; do
    print -r -- "$n"$'\t'"$m"
  done
  # ^U: kill the line, for the next one
  zpty -n -w z $'\C-u'
  sleep 0.05
  while zpty -r -t z chunk; do :; done
done
zpty -d z
