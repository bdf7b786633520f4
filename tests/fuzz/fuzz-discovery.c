/*
 * An issuer's discovery document (OpenID Connect Discovery §3, RFC 8414):
 * spk_discovery_parse() for an issuer with and without a trailing
 * slash (first input byte). The same bytes as an issuer: the places
 * spk_discovery_url() names are at most four, each a well-known URL.
 */
#include "fuzz.h"
#include "discovery.h"

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
	if (spk_discovery_parse(issuer, body, size, &e, &err) == 0) {
		FUZZ_ASSERT(e.issuer && e.authorization && e.token);
		spk_endpoints_done(&e);
	} else {
		FUZZ_ASSERT(err.msg[0] != '\0');
	}

	unsigned i = 0;
	char *url = NULL;
	while (spk_discovery_url(body, i, &url) == 0) {
		FUZZ_ASSERT(strstr(url, "/.well-known/") != NULL);
		free(url);
		i++;
	}
	FUZZ_ASSERT(i <= 4);
	free(body);
	return 0;
}
