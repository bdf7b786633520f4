/*
 * The loopback redirect's query string (RFC 6749 §4.1.2, RFC 9207), as any
 * local process or web page may send it: spk_callback_parse_query(), then
 * spk_callback_check() against a login's state, with and without an issuer.
 */
#include "callback.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char state[] = "Fq2sX0aC3nWkZ7yQe1L9pV4tUo8mBr6d";
	char *query = fuzz_str(data, size);
	struct spk_callback cb = { 0 };

	if (spk_callback_parse_query(query, &cb) == 0) {
		for (int i = 0; i < 2; i++) {
			struct spk_error err = { 0 };
			int r = spk_callback_check(&cb, state, i ? "https://id.example.com" : NULL,
						   &err);
			FUZZ_ASSERT(r == 0 || r == -EACCES || r == -ECANCELED);
			/* 0 only for a code that carries our state. */
			FUZZ_ASSERT(r != 0 || (cb.code && *cb.code && cb.state &&
					       strcmp(cb.state, state) == 0));
			FUZZ_ASSERT(memchr(err.msg, '\0', sizeof(err.msg)));
		}
		spk_callback_done(&cb);
	}
	free(query);
	return 0;
}
