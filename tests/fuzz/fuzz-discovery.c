/*
 * An issuer's discovery document (OpenID Connect Discovery §3, RFC 8414):
 * spk_oauth_parse_discovery() for an issuer with and without a trailing
 * slash (first input byte).
 */
#include "fuzz.h"
#include "oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *issuer = size > 0 && (data[0] & 1) ? "https://id.example.com/realms/main/"
						       : "https://id.example.com/realms/main";
	char *body;
	struct spk_endpoints e = { 0 };
	struct spk_error err = { 0 };

	if (size > 0) {
		data++;
		size--;
	}
	body = fuzz_str(data, size);
	if (spk_oauth_parse_discovery(issuer, body, size, &e, &err) == 0) {
		FUZZ_ASSERT(e.issuer && e.authorization && e.token);
		spk_endpoints_done(&e);
	} else {
		FUZZ_ASSERT(err.msg[0] != '\0');
	}
	free(body);
	return 0;
}
