/*
 * A line pasted at login --paste: the address the browser ended on, or a
 * bare code. spk_callback_parse_pasted() modifies the line in place.
 */
#include "callback.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char state[] = "Fq2sX0aC3nWkZ7yQe1L9pV4tUo8mBr6d";
	char *line = fuzz_str(data, size);
	struct spk_callback cb = { 0 };
	struct spk_error err = { 0 };
	const char *iss = size > 0 && (data[0] & 1) ? "https://id.example.com" : NULL;

	if (spk_callback_parse_pasted(line, state, iss, &cb, &err) == 0) {
		FUZZ_ASSERT(cb.code && *cb.code);
		/* An address must carry our state; a bare code carries none. */
		FUZZ_ASSERT(!cb.state || strcmp(cb.state, state) == 0);
		spk_callback_done(&cb);
	} else {
		FUZZ_ASSERT(err.msg[0] != '\0');
	}
	free(line);
	return 0;
}
