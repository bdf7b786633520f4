/*
 * A token endpoint's answer (RFC 6749 §5.1, §5.2, OpenID Connect id_token
 * claims): spk_oauth_parse_token_response() with the status from the first
 * input byte, so that error responses are read too. Its bit 0x40 asks for
 * a nonce, 0x20 reads the answer as a refresh's, 0x10 checks the id_token's
 * aud and iss.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "oauth.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spk_http_response resp;
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	uint8_t b = size > 0 ? data[0] : 0;
	const struct spk_token_expect x = {
		.nonce = (b & 0x40) ? "n-0S6_WzA2Mj" : NULL,
		.refresh = (b & 0x20) != 0,
		.client_id = (b & 0x10) ? "cid" : NULL,
		.issuer = (b & 0x10) ? "https://id.example.com" : NULL,
		.scope = (b & 0x20) ? NULL : "openid offline_access",
	};

	fuzz_response(data, size, &resp);
	int r = spk_oauth_parse_token_response(&resp, "id.example.com", &x, 1700000000, &g, &err);
	if (r == 0) {
		FUZZ_ASSERT(resp.status == 200);
		FUZZ_ASSERT(g.access_token && *g.access_token && g.token_type);
		/* Bearer in RFC 6750's spelling; a login always knows its scope. */
		FUZZ_ASSERT(strcasecmp(g.token_type, "Bearer") != 0 ||
			    strcmp(g.token_type, "Bearer") == 0);
		FUZZ_ASSERT(x.refresh || g.scope);
		FUZZ_ASSERT(!g.warning || !strchr(g.warning, '\n'));
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
