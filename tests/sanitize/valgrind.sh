#!/bin/bash
# sparekey under valgrind: a plain build (no sanitizers: they and valgrind
# exclude each other) in build-valgrind/, then
#   - every unit test program, and
#   - one end-to-end round against the real peers (tests/integration/lib.sh):
#     `login` through the browser, `token` (which refreshes: the provider's
#     access tokens live 10 s here, and it waits for expiry) through the
#     front program and sparekey-cli, `refresh`, `token` from the cache, `exec`, and a
#     `token` that fails,
# each under memcheck with --leak-check=full. Passing means 0 errors and 0
# bytes definitely lost in every process (--errors-for-leak-kinds=definite,
# --error-exitcode=99), with GLib's own suppressions and
# tests/sanitize/valgrind.supp for one-time library allocations.
#
#   tests/sanitize/valgrind.sh
#
# Env: SPK_VALGRIND_BUILD (default: build-valgrind under the project root).
# TAP on stdout; exit 0 pass, 1 fail, 77 skip (no valgrind or a peer).
set -u
here=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
vbuild=${SPK_VALGRIND_BUILD:-$top/build-valgrind}

command -v valgrind >/dev/null || { echo "1..0 # SKIP valgrind is not installed (apt-get install valgrind)"; exit 77; }

# ---------------------------------------------------------------- build
t0=$SECONDS
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS MALLOC_PERTURB_
if [ ! -f "$vbuild/build.ninja" ]; then
    if ! meson setup "$vbuild" "$top" >"${TMPDIR:-/tmp}/spk-setup.$$.log" 2>&1; then
        sed 's/^/# /' "${TMPDIR:-/tmp}/spk-setup.$$.log"; echo "Bail out! meson setup $vbuild failed"; exit 1
    fi
    rm -f "${TMPDIR:-/tmp}/spk-setup.$$.log"
fi
if ! ninja -C "$vbuild" >"$vbuild/valgrind-build.log" 2>&1; then
    grep -E 'error|FAILED' "$vbuild/valgrind-build.log" | head -n 40 | sed 's/^/# /'
    echo "Bail out! building $vbuild failed"; exit 1
fi
echo "# built $vbuild in $((SECONDS - t0)) s"

export SPAREKEY=$vbuild/sparekey
# shellcheck source-path=SCRIPTDIR
. "$top/tests/integration/lib.sh"
trap peers_stop EXIT

VG_LOGS=$vbuild/valgrind-logs   # kept for a look after a run
rm -rf -- "$VG_LOGS"
mkdir -p "$VG_LOGS"
SUPP=(--suppressions="$here/valgrind.supp")
[ -f /usr/share/glib-2.0/valgrind/glib.supp ] && SUPP+=(--suppressions=/usr/share/glib-2.0/valgrind/glib.supp)
VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --num-callers=30 "${SUPP[@]}")
# GLib: plain malloc for its slices, and pointers cleared when freed.
export G_SLICE=always-malloc G_DEBUG=gc-friendly

# vg_check NAME RC WANT LOG: ok when RC is WANT and the valgrind LOG (one
# per command, through --log-fd, so that a program that execs another --
# the front program execs sparekey-cli -- leaves both parts in it) shows no
# error, and every ERROR SUMMARY in it says 0 errors and 0 bytes definitely
# lost.
vg_check() {
    local name=$1 rc=$2 want=$3 log=$4 n bad=
    n=$(grep -c 'ERROR SUMMARY:' "$log" 2>/dev/null)
    if grep -qE '^==[0-9]+== (Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination overlap|Argument|Process terminating)' "$log" ||
        grep 'ERROR SUMMARY:' "$log" | grep -qv 'ERROR SUMMARY: 0 errors' ||
        grep 'definitely lost:' "$log" | grep -qv 'definitely lost: 0 bytes'; then
        bad=1
    fi
    if [ "$rc" = "$want" ] && [ "${n:-0}" -gt 0 ] && [ -z "$bad" ]; then
        ok "$name: 0 errors, 0 bytes definitely lost ($n process(es) under memcheck)"
        return 0
    fi
    not_ok "$name: 0 errors, 0 bytes definitely lost (${n:-0} process(es) under memcheck)" \
        "exit $rc (want $want); log $log"
    grep -E '^==[0-9]+== ' "$log" 2>/dev/null |
        sed -n '/Command:\|Invalid\|uninitialised\|definitely lost in\|Mismatched\|overlap\|Syscall param\|Process terminating\|ERROR SUMMARY/,+25p' |
        head -n 120 >"$VG_LOGS/.excerpt"
    diag_file "$VG_LOGS/.excerpt"
    return 1
}

# ---------------------------------------------------------------- unit tests
for exe in "$vbuild"/tests/test-*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    name=$(basename "$exe")
    t=$SECONDS
    "${VG[@]}" --log-fd=3 "$exe" >"$VG_LOGS/out-$name" 2>&1 3>"$VG_LOGS/$name.log"
    rc=$?
    vg_check "$name ($((SECONDS - t)) s)" "$rc" 0 "$VG_LOGS/$name.log"
done

# ---------------------------------------------------------------- end to end
export SPK_ACCESS_TTL=10
peers_start
CLI=$vbuild/sparekey-cli
[ -x "$CLI" ] || CLI=$vbuild/sparekey

# login, directly in sparekey-cli (the browser it starts is not traced)
browser_reset
M=$(events_mark)
t=$SECONDS
timeout 240 "${VG[@]}" --log-fd=3 "$CLI" login vg --issuer "$ISSUER" \
    --client-id sparekey-native --scope "openid offline_access" --timeout 180 \
    </dev/null >"$SPK_TMP/login.out" 2>"$SPK_TMP/login.err" 3>"$VG_LOGS/login.log"
rc=$?
diag_file "$SPK_TMP/login.err" 'stderr: '
vg_check "login through the browser ($((SECONDS - t)) s)" "$rc" 0 "$VG_LOGS/login.log"
assert_eq "$(logins_since "$M")" 1 "(the login reached the provider: one authorization_code grant)"
AT0=$(grant_field vg access_token)

# token through the front program, following its exec of sparekey-cli,
# once the access token (10 s) has expired: it refreshes
EXP=$(grant_field vg expires_at)
[ -n "$EXP" ] && sleep_until "$((EXP + 1))"
M=$(events_mark)
t=$SECONDS
timeout 120 "${VG[@]}" --trace-children=yes --log-fd=3 "$SPAREKEY" token vg \
    </dev/null >"$SPK_TMP/token.out" 2>"$SPK_TMP/token.err" 3>"$VG_LOGS/token.log"
rc=$?
diag_file "$SPK_TMP/token.err" 'stderr: '
vg_check "token (front + sparekey-cli, refreshes) ($((SECONDS - t)) s)" "$rc" 0 "$VG_LOGS/token.log"
assert_eq "$(refresh_ok_since "$M")" 1 "(token refreshed at the provider)"
assert_new "$(cat "$SPK_TMP/token.out")" "$AT0" "(token printed a new access token)"

# refresh
M=$(events_mark)
t=$SECONDS
timeout 120 "${VG[@]}" --log-fd=3 "$CLI" refresh vg \
    </dev/null >"$SPK_TMP/refresh.out" 2>"$SPK_TMP/refresh.err" 3>"$VG_LOGS/refresh.log"
rc=$?
diag_file "$SPK_TMP/refresh.err" 'stderr: '
vg_check "refresh ($((SECONDS - t)) s)" "$rc" 0 "$VG_LOGS/refresh.log"
assert_eq "$(refresh_ok_since "$M")" 1 "(refresh reached the provider)"

# token again at once: the access token is fresh, so the front program may
# answer from the runtime cache without sparekey-cli
t=$SECONDS
timeout 120 "${VG[@]}" --trace-children=yes --log-fd=3 "$SPAREKEY" token vg --min-valid 5 \
    </dev/null >"$SPK_TMP/cached.out" 2>"$SPK_TMP/cached.err" 3>"$VG_LOGS/cached.log"
rc=$?
diag_file "$SPK_TMP/cached.err" 'stderr: '
vg_check "token --min-valid 5 right after a refresh ($((SECONDS - t)) s)" "$rc" 0 "$VG_LOGS/cached.log"

# exec: sparekey-cli execs the command (traced too: /bin/true)
t=$SECONDS
timeout 120 "${VG[@]}" --trace-children=yes --log-fd=3 "$CLI" exec vg -- true \
    </dev/null >"$SPK_TMP/exec.out" 2>"$SPK_TMP/exec.err" 3>"$VG_LOGS/exec.log"
rc=$?
diag_file "$SPK_TMP/exec.err" 'stderr: '
vg_check "exec vg -- true ($((SECONDS - t)) s)" "$rc" 0 "$VG_LOGS/exec.log"

# a failing command: a profile without a grant (error paths free too)
t=$SECONDS
timeout 120 "${VG[@]}" --log-fd=3 "$CLI" token nosuch \
    </dev/null >"$SPK_TMP/nogrant.out" 2>"$SPK_TMP/nogrant.err" 3>"$VG_LOGS/nogrant.log"
rc=$?
vg_check "token for a missing profile, exit 77 or 78 ($((SECONDS - t)) s)" \
    "$([ "$rc" = 77 ] || [ "$rc" = 78 ] && echo ok || echo "$rc")" ok "$VG_LOGS/nogrant.log"

spk_done
