#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int put_time(struct spk_json *o, const char *key, int64_t value)
{
	return value ? spk_json_add_int64(o, key, value) : spk_json_add_null(o, key);
}

int spk_status_to_json(const struct spk_status_row *rows, size_t n, int64_t now, char **ret)
{
	_cleanup_json_ struct spk_json *list = spk_json_new_array();

	if (!list) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct spk_status_row *r = &rows[i];
		struct spk_json *o = spk_json_new_object();
		if (!o) {
			return -ENOMEM;
		}
		int e = spk_json_add_nullable(o, "profile", r->profile);
		e |= spk_json_add_nullable(o, "provider", r->provider);
		e |= spk_json_add_nullable(o, "store", r->store);
		if (r->store_endpoint) {
			e |= spk_json_add_string(o, "store_endpoint", r->store_endpoint);
		}
		e |= spk_json_add_nullable(o, "account", r->account);
		e |= spk_json_add_nullable(o, "tenant_id", r->tenant_id);
		e |= spk_json_add_nullable(o, "tenant_name", r->tenant_name);
		e |= spk_json_add_bool(o, "has_grant", r->has_grant);
		e |= spk_json_add_bool(o, "needs_login", r->needs_login);
		e |= spk_json_add_nullable(o, "problem", r->problem);
		e |= put_time(o, "access_token_expires_at", r->expires_at);
		/* Unknown expiry: unknown validity (null), as access_token_expires_at says. */
		bool unknown = r->has_grant && r->expires_at == 0;
		e |= unknown ? spk_json_add_null(o, "access_token_valid")
			     : spk_json_add_bool(o, "access_token_valid",
						 r->has_grant && r->expires_at > now);
		e |= spk_json_add_bool(o, "has_refresh_token", r->has_refresh_token);
		e |= put_time(o, "refresh_token_obtained_at", r->refresh_obtained_at);
		e |= put_time(o, "refresh_token_expires_at", r->refresh_expires_at);
		e |= spk_json_append(list, o);
		if (e != 0) {
			return -ENOMEM;
		}
	}
	char *text = spk_json_dump(list);
	if (!text) {
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}
