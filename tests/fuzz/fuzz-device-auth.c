/*
 * A device authorization response (RFC 8628 §3.2), or its error (status
 * from the first input byte): spk_oauth_parse_device_auth().
 */
#include "fuzz.h"
#include "oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spk_http_response resp;
	struct spk_device_auth d = { 0 };
	struct spk_error err = { 0 };

	fuzz_response(data, size, &resp);
	if (spk_oauth_parse_device_auth(&resp, "id.example.com", &d, &err) == 0) {
		FUZZ_ASSERT(resp.status == 200);
		FUZZ_ASSERT(d.device_code && d.user_code && d.verification_uri);
		FUZZ_ASSERT(d.expires_in > 0 && d.interval >= 0);
		spk_device_auth_done(&d);
	} else {
		FUZZ_ASSERT(err.msg[0] != '\0');
	}
	spk_http_response_done(&resp);
	return 0;
}
