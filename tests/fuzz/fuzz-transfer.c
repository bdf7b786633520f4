/*
 * An export document fed to sparekey import: spk_transfer_from_json();
 * what it accepts must serialise and read back.
 */
#include "fuzz.h"
#include "secret.h"
#include "transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct spk_transfer t = { 0 };
	struct spk_error err = { 0 };

	if (spk_transfer_from_json(text, size, &t, &err) == 0) {
		char *json = NULL;
		FUZZ_ASSERT(t.profile && t.keys && t.values);
		FUZZ_ASSERT(spk_transfer_to_json(&t, &json) == 0);
		struct spk_transfer back = { 0 };
		FUZZ_ASSERT(spk_transfer_from_json(json, strlen(json), &back, NULL) == 0);
		FUZZ_ASSERT(strcmp(back.profile, t.profile) == 0);
		spk_transfer_done(&back);
		spk_secret_free(json);
		spk_transfer_done(&t);
	} else {
		FUZZ_ASSERT(err.msg[0] != '\0');
	}
	free(text);
	return 0;
}
