/*
 * Xero's connections list (a JSON array of tenants), status from the
 * first input byte: spk_tenants_parse().
 */
#include "fuzz.h"
#include "tenants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spk_http_response resp;
	struct spk_tenant *t = NULL;
	size_t n = 0;
	struct spk_error err = { 0 };

	fuzz_response(data, size, &resp);
	if (spk_tenants_parse(&resp, "api.xero.com", &t, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++) {
			FUZZ_ASSERT(t[i].id && *t[i].id);
		}
		spk_tenants_free(t, n);
	} else {
		FUZZ_ASSERT(err.msg[0] != '\0');
	}
	spk_http_response_done(&resp);
	return 0;
}
