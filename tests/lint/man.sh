#!/bin/sh
# The man pages render without a single groff warning (groff exits 0 even
# when it warns, so stderr is what counts).
status=0
n=0
for page in "$@"; do
	warnings=$(groff -mdoc -ww -z "$page" 2>&1 >/dev/null)
	n=$((n + 1))
	if [ -n "$warnings" ]; then
		printf 'not ok - %s\n%s\n' "$page" "$warnings"
		status=1
	else
		printf 'ok - %s\n' "$page"
	fi
done
echo "1..$n"
exit $status
