#!/bin/sh
# Module boundaries from the house style: cmd/ reaches libraries only through
# src/; src/ never prints or exits; each library has exactly one user.
top=${1:?project root}
status=0
n=0
check() { # description, command that must print nothing
	desc=$1; shift
	out=$("$@" 2>/dev/null)
	n=$((n + 1))
	if [ -n "$out" ]; then
		printf 'not ok - %s\n%s\n' "$desc" "$out"
		status=1
	else
		printf 'ok - %s\n' "$desc"
	fi
}
# A child forked from a threaded process may inherit a lock another thread
# held (OpenSSL's, libcurl's, GLib's) and hang on it: start programs with
# posix_spawn instead.
check "no fork( in src/ or cmd/" \
	grep -nE '\bv?fork\(' "$top"/src/*.[ch] "$top"/cmd/*.[ch]
check "cmd/ includes no library headers" \
	grep -nE '#include <(curl|json-c|microhttpd|libsecret|glib)' "$top"/cmd/*.c "$top"/cmd/*.h
# Product rules live in src/ behind flow, health, probe and the like. The
# front (front.c) is the exception: it answers from the libc-only tier
# (paths, cache, lock) and never reaches flow (lint-tier checks it).
check "cmd/ includes no http.h, store.h, lock.h or oauth.h (but the front, front.c)" \
	sh -c "grep -lE '#include \"(http|store|lock|oauth)\.h\"' '$top'/cmd/*.c '$top'/cmd/*.h |
		grep -vE '/front\.c\$'"
check "src/ never prints or exits" \
	grep -nE '\b(printf|fprintf|puts|fputs|perror|exit|abort|g_error|err|errx)\(' "$top"/src/*.c
check "only http.c uses libcurl" \
	sh -c "grep -ln 'curl_easy_' '$top'/src/*.c | grep -v '/http.c$'"
check "only loopback.c uses libmicrohttpd" \
	sh -c "grep -ln 'MHD_' '$top'/src/*.c | grep -v '/loopback.c$'"
check "only store-secret.c uses libsecret" \
	sh -c "grep -ln 'secret_password_\|SecretSchema' '$top'/src/*.c | grep -v '/store-secret.c$'"
check "only paths.c (and the test-only fault.c) reads the environment" \
	sh -c "grep -ln 'getenv' '$top'/src/*.c | grep -v '/paths.c$' | grep -v '/fault.c$'"
check "only json.c uses json-c" \
	sh -c "grep -lnE '#include <json-c/|json_object|json_tokener_' '$top'/src/*.[ch] '$top'/cmd/*.[ch] | grep -v '/src/json.c$'"
# GLib comes with GKeyFile (profile.c) and libsecret (store-secret.c); nothing
# else in src/ or cmd/ uses it, so the fast program's files stay libc only.
check "GLib only in profile.c and store-secret.c" \
	sh -c "grep -lnE '#include <(glib|gio|libsecret)|\\bg_[a-z_]+\\(|\\bG(Error|String|Checksum|KeyFile|Strv|Cancellable)\\b' '$top'/src/*.[ch] '$top'/cmd/*.[ch] | grep -vE '/src/(profile|store-secret)\\.c$'"
# A token in a command's argv is readable by every user (ps, /proc): no
# example may show one there, e.g. curl -H "Authorization: Bearer $(sparekey token P)".
check "no example puts a token in argv" \
	grep -nE '\$\((sparekey|\S*/sparekey) token' "$top"/README.md "$top"/man/*.[0-9] \
		"$top"/cmd/*.c
echo "1..$n"
exit $status
