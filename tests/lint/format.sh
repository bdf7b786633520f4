#!/bin/sh
# The C sources are clean under the project's .clang-format (the house
# style: tabs, Linux braces, 100 columns). One "not ok" line per file that
# clang-format would change, with the first lines of its diff;
# `clang-format -i FILE` fixes it.
top=${1:?project root}
cd "$top" || exit 1
if ! command -v clang-format >/dev/null; then
	echo "not ok 1 - clang-format is not installed (apt-get install clang-format)"
	echo "1..1"
	exit 1
fi
status=0
n=0
for f in cmd/*.[ch] src/*.[ch] tests/unit/*.c tests/fuzz/*.[ch] tests/bench/*.c; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	if out=$(clang-format --style=file "$f" | diff -u "$f" - 2>&1); then
		echo "ok $n - $f"
	else
		echo "not ok $n - $f is not clang-format clean"
		printf '%s\n' "$out" | head -20 | sed 's/^/# /'
		status=1
	fi
done
echo "1..$n"
exit $status
