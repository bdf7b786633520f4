#!/bin/bash
# Build sparekey's libFuzzer targets with clang (in their own build
# directory) and run each one on its corpus for SECONDS (default 20).
#
#   tests/fuzz/run.sh [SECONDS]
#
# Prints TAP, one line per target; exits 1 if any target crashed, leaked,
# hit undefined behaviour or timed out, 77 if clang or libFuzzer is missing.
#
# Environment:
#   SPK_FUZZ_BUILD    build directory (default: build-fuzz under the project root)
#   SPK_FUZZ_JOBS     targets run at the same time (default: the number of CPUs)
#   SPK_FUZZ_TARGETS  space-separated subset, e.g. "grant config"
#
# Each target starts from tests/fuzz/corpus/TARGET (the seeds) and
# tests/fuzz/crashers/TARGET (inputs that once crashed it: they must not
# any more); what it learns is kept in BUILD/corpus/TARGET for the next run.
# A crashing input is saved as BUILD/artifacts/TARGET/crash-* and shown in
# base64. To fuzz one target longer, e.g. an hour on all CPUs:
#   tests/fuzz/run.sh 0   # builds only
#   build-fuzz/tests/fuzz/fuzz-grant -max_total_time=3600 -jobs=4 -workers=4 \
#       build-fuzz/corpus/grant tests/fuzz/corpus/grant
set -u

secs=${1:-20}
here=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${SPK_FUZZ_BUILD:-$top/build-fuzz}
jobs=${SPK_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
all_targets=(callback-query callback-pasted token-response discovery device-auth tenants grant
	config transfer)
read -r -a targets <<<"${SPK_FUZZ_TARGETS:-${all_targets[*]}}"

case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 64 ;;
esac

skip() { printf '1..0 # SKIP %s\n' "$*"; exit 77; }
command -v clang >/dev/null || skip "clang is not installed (apt-get install clang)"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; return (int)n * 0; }' \
	>"${TMPDIR:-/tmp}/spk-fuzz-probe.$$.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "${TMPDIR:-/tmp}/spk-fuzz-probe.$$" \
	"${TMPDIR:-/tmp}/spk-fuzz-probe.$$.c" 2>/dev/null; then
	rm -f "${TMPDIR:-/tmp}/spk-fuzz-probe.$$"*
	skip "clang cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"
fi
rm -f "${TMPDIR:-/tmp}/spk-fuzz-probe.$$"*

# ---------------------------------------------------------------- build
t0=$SECONDS
if [ ! -f "$build/build.ninja" ]; then
	if ! CC=clang meson setup "$build" "$top" -Dfuzz=true \
		>"${TMPDIR:-/tmp}/spk-setup.$$.log" 2>&1; then
		sed 's/^/# /' "${TMPDIR:-/tmp}/spk-setup.$$.log"
		echo "Bail out! meson setup $build failed"
		exit 1
	fi
	rm -f "${TMPDIR:-/tmp}/spk-setup.$$.log"
fi
ninja_targets=()
for t in "${targets[@]}"; do ninja_targets+=("tests/fuzz/fuzz-$t"); done
if ! ninja -C "$build" "${ninja_targets[@]}" >"$build/fuzz-build.log" 2>&1; then
	grep -E 'error|FAILED' "$build/fuzz-build.log" | head -n 40 | sed 's/^/# /'
	echo "Bail out! building the fuzz targets failed (see $build/fuzz-build.log)"
	exit 1
fi
echo "# built ${#targets[@]} targets in $((SECONDS - t0)) s ($build)"
[ "$secs" -gt 0 ] || { echo "1..0 # SKIP built only (SECONDS = 0)"; exit 0; }

# ---------------------------------------------------------------- run
# Our own sanitizer settings, whatever the caller's (a test setup may send
# reports to files): every finding goes to the log and ends the run.
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:abort_on_error=0:handle_abort=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS="suppressions=$top/tests/sanitize/lsan.supp:print_suppressions=0"
unset MALLOC_PERTURB_

run_target() {   # TARGET
	local t=$1 work=$build/corpus/$1 art=$build/artifacts/$1 dirs=()
	mkdir -p "$work" "$art" "$build/tmp/$t"
	dirs=("$work" "$here/corpus/$t")
	[ -d "$here/crashers/$t" ] && dirs+=("$here/crashers/$t")
	TMPDIR=$build/tmp/$t "$build/tests/fuzz/fuzz-$t" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
		-print_final_stats=1 -artifact_prefix="$art/" "${dirs[@]}" \
		>"$build/fuzz-$t.log" 2>&1
	echo $? >"$build/fuzz-$t.rc"
}

t0=$SECONDS
running=0
for t in "${targets[@]}"; do
	rm -f "$build/fuzz-$t.rc"
	run_target "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

n=0 failed=0
for t in "${targets[@]}"; do
	n=$((n + 1))
	log=$build/fuzz-$t.log
	rc=$(cat "$build/fuzz-$t.rc" 2>/dev/null || echo '?')
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -oE '(DONE|INITED) +cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1 |
		sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)/cov \1, ft \2, corpus \3/')
	if [ "$rc" = 0 ]; then
		echo "ok $n - fuzz-$t: ${runs:-?} inputs in $secs s, no finding (${cov:-no stats})"
		continue
	fi
	failed=$((failed + 1))
	echo "not ok $n - fuzz-$t: exit $rc after ${runs:-?} inputs"
	grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|^ +#[0-9]+ ' "$log" | head -n 40 | sed 's/^/#   /'
	for a in "$build/artifacts/$t"/*; do
		[ -f "$a" ] || continue
		echo "#   input $a ($(wc -c <"$a") bytes), base64:"
		head -c 4096 "$a" | base64 -w 76 | sed 's/^/#     /'
	done
	echo "#   full log: $log"
done
echo "1..$n"
echo "# fuzzing: $((n - failed)) of $n targets clean, $secs s each, $jobs at a time, $((SECONDS - t0)) s"
[ "$failed" -eq 0 ]
