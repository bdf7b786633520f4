/*
 * A stored grant (the keyring's secret, a grant file, a rescue journal):
 * spk_grant_from_json(); what it accepts must survive a round trip and
 * give a public view.
 */
#include "fuzz.h"
#include "grant.h"
#include "json.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };

	if (spk_grant_from_json(text, &g, &err) == 0) {
		char *json = NULL, *pub = NULL;
		FUZZ_ASSERT(g.access_token);
		FUZZ_ASSERT(spk_grant_to_json(&g, &json) == 0);
		struct spk_grant back = { 0 };
		FUZZ_ASSERT(spk_grant_from_json(json, &back, NULL) == 0);
		FUZZ_ASSERT(strcmp(back.access_token, g.access_token) == 0);
		FUZZ_ASSERT(back.n_tenants == g.n_tenants);
		FUZZ_ASSERT(spk_grant_public_json(&g, g.tenant_id, &pub) == 0);
		/* The public view is JSON without the refresh token. */
		struct spk_json *o = NULL;
		FUZZ_ASSERT(spk_json_parse_object(pub, strlen(pub), &o) == 0);
		FUZZ_ASSERT(!spk_json_has(o, "refresh_token"));
		spk_json_free(o);
		(void)spk_grant_valid_for(&g, 3600, 1700000000);
		(void)spk_grant_margin(&g, 3600, 60);
		if (g.n_tenants > 0) {
			(void)spk_grant_find_tenant(&g, g.tenants[0].id);
		}
		spk_secret_free(pub);
		spk_secret_free(json);
		spk_grant_done(&back);
		spk_grant_done(&g);
	} else {
		FUZZ_ASSERT(err.msg[0] != '\0');
	}
	free(text);
	return 0;
}
