/*
 * A token endpoint's answer (RFC 6749 §5.1, §5.2, OpenID Connect id_token
 * claims): spk_oauth_parse_token_response() with the status from the first
 * input byte, so that error responses are read too.
 */
#include <errno.h>

#include "fuzz.h"
#include "oauth.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spk_http_response resp;
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	const char *nonce = size > 0 && (data[0] & 0x40) ? "n-0S6_WzA2Mj" : NULL;

	fuzz_response(data, size, &resp);
	int r = spk_oauth_parse_token_response(&resp, "id.example.com", nonce, 1700000000, &g,
					       &err);
	if (r == 0) {
		FUZZ_ASSERT(resp.status == 200);
		FUZZ_ASSERT(g.access_token && *g.access_token && g.token_type);
		/* What a login stores must read back. */
		char *json = NULL;
		FUZZ_ASSERT(spk_grant_to_json(&g, &json) == 0);
		struct spk_grant back = { 0 };
		FUZZ_ASSERT(spk_grant_from_json(json, &back, NULL) == 0);
		FUZZ_ASSERT(strcmp(back.access_token, g.access_token) == 0);
		spk_grant_done(&back);
		spk_secret_free(json);
		spk_grant_done(&g);
	} else {
		FUZZ_ASSERT(r < 0 && err.kind != 0 && err.msg[0] != '\0');
	}
	spk_http_response_done(&resp);
	return 0;
}
