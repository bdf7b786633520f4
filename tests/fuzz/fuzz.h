/*
 * Shared by the libFuzzer targets: each fuzz-*.c feeds outside input to
 * one parser through its public function, the way sparekey receives it
 * (a NUL-terminated body, a query string, a file). A target only checks
 * what the contract promises; the sanitizers find the rest.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as a NUL-terminated heap string (embedded NULs end it early). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s) {
		abort();
	}
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * An HTTP answer as spk_http_send() hands it over: the first input byte
 * picks the status (and whether a Retry-After came), the rest is the body,
 * NUL-terminated. Free with spk_http_response_done().
 */
static inline void fuzz_response(const uint8_t *data, size_t size, struct spk_http_response *ret)
{
	static const long statuses[] = { 200, 200, 200, 200, 400, 401, 403, 404,
					 429, 500, 502, 503, 201, 204, 302, 0 };
	uint8_t b = size > 0 ? data[0] : 0;

	if (size > 0) {
		data++;
		size--;
	}
	*ret = (struct spk_http_response){
		.status = statuses[b % (sizeof(statuses) / sizeof(statuses[0]))],
		.body = fuzz_str(data, size),
		.len = size,
		.retry_after = (b & 0x80) ? (long)(b & 0x3f) : -1,
	};
	strcpy(ret->content_type, "application/json");
}

/* A contract broke: crash so that libFuzzer keeps the input. */
#define FUZZ_ASSERT(x) \
	do { \
		if (!(x)) { \
			__builtin_trap(); \
		} \
	} while (0)
