#!/bin/sh
# The libc-only tier (src/meson.build: libc_tier) and the front that links
# it alone: the built front needs no shared object but libc (and the
# dynamic loader, and in a sanitizer build the sanitizer runtimes), and no
# file of the tier includes a library's header or a src/ header outside
# the tier, which is what would bring one in.
#
# Usage: tier.sh FRONT_BINARY SANITIZE TIER_SOURCE.c...
# (SANITIZE: meson's b_sanitize, "none" when there is none.)
front=${1:?built front binary}
sanitize=${2:?b_sanitize}
shift 2
status=0
n=0
check() { # description, what is wrong (empty: nothing)
	n=$((n + 1))
	[ -z "$2" ] && echo "ok - $1" && return
	printf 'not ok - %s\n%s\n' "$1" "$2"
	status=1
}

libc='libc\.so\.[0-9]+|ld-linux[-a-z0-9_.]*\.so\.[0-9]+'
allowed="^($libc)\$"
if [ "$sanitize" != none ]; then
	allowed="^($libc|lib(a|ub|l|t|hwa)san\.so\.[0-9]+)\$"
fi
if needed=$(readelf -d "$front" 2>&1); then
	needed=$(printf '%s\n' "$needed" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
	check "the front ($front) needs shared objects: $(echo $needed)" \
		"$(printf '%s\n' "$needed" | grep -vE "$allowed")"
	check "the front needs libc" \
		"$(printf '%s\n' "$needed" | grep -qE '^libc\.so' || echo 'no libc.so in NEEDED')"
else
	check "readelf -d $front" "$needed"
fi

# The tier's files: its .c files and their headers.
files=
tier_headers=" macro.h config.h "
for c in "$@"; do
	h=${c%.c}.h
	files="$files $c"
	[ -f "$h" ] && files="$files $h" && tier_headers="$tier_headers$(basename "$h") "
done
lib_headers=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' $files |
	grep -E '<(glib|gio|gobject|json|curl|microhttpd|libsecret|openssl|systemd|dbus)[-/._]')
lib_headers="$lib_headers$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<[^>]*/' $files |
	grep -vE '<(sys|bits|linux|arpa|netinet|asm)/')"
check "the tier includes no library headers" "$lib_headers"
outside=
for f in $files; do
	incs=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	for inc in $incs; do
		case "$tier_headers" in
		*" $inc "*) ;;
		*) outside="$outside$f: #include \"$inc\" (not in the tier)
" ;;
		esac
	done
done
check "the tier includes only its own headers" "$outside"
echo "1..$n"
exit $status
