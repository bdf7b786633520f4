#!/bin/sh
# The last test of a sanitizer build: every process the other tests ran
# (unit tests, and each sparekey an integration script started) wrote any
# AddressSanitizer or LeakSanitizer report to DIR (ASAN_OPTIONS log_path,
# set by the test setup in tests/meson.build), even one whose exit status
# and stderr no test looked at. Fails, showing each report, if there is
# any; shown reports move to DIR/seen/ so that the next run starts clean.
# A file with warnings only (LeakSanitizer's "Unable to get registers from
# thread" when a test SIGKILLs a process during its exit-time leak check)
# is shown but is no finding.
dir=${1:?usage: reports.sh DIR}
mkdir -p "$dir/seen"
n=0
notes=0
for f in "$dir"/asan.* "$dir"/ubsan.*; do
	[ -f "$f" ] || continue
	if grep -qE 'ERROR: |SUMMARY: |runtime error' "$f"; then
		n=$((n + 1))
		echo "# ---- report $f"
	else
		notes=$((notes + 1))
		echo "# ---- warnings only, no finding: $f"
	fi
	sed 's/^/# /' "$f"
	mv -f -- "$f" "$dir/seen/"
done
if [ "$n" -eq 0 ]; then
	echo "ok 1 - no sanitizer report from any test's processes ($notes with warnings only)"
else
	echo "not ok 1 - no sanitizer report from any test's processes ($n reports, above; kept in $dir/seen)"
fi
echo "1..1"
[ "$n" -eq 0 ]
