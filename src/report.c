#include "report.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static void put_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

static void put_time(json_object *o, const char *key, int64_t value)
{
	json_object_object_add(o, key, value ? json_object_new_int64(value) : NULL);
}

int spk_status_to_json(const struct spk_status_row *rows, size_t n, int64_t now, char **ret)
{
	_cleanup_json_ json_object *list = json_object_new_array();

	if (!list) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct spk_status_row *r = &rows[i];
		json_object *o = json_object_new_object();
		if (!o) {
			return -ENOMEM;
		}
		put_string(o, "profile", r->profile);
		put_string(o, "provider", r->provider);
		put_string(o, "store", r->store);
		put_string(o, "account", r->account);
		put_string(o, "tenant_id", r->tenant_id);
		put_string(o, "tenant_name", r->tenant_name);
		json_object_object_add(o, "has_grant", json_object_new_boolean(r->has_grant));
		json_object_object_add(o, "needs_login", json_object_new_boolean(r->needs_login));
		put_string(o, "problem", r->problem);
		put_time(o, "access_token_expires_at", r->expires_at);
		/* Unknown expiry: unknown validity (null), as access_token_expires_at says. */
		bool unknown = r->has_grant && r->expires_at == 0;
		json_object_object_add(o, "access_token_valid",
				       unknown ? NULL
					       : json_object_new_boolean(r->has_grant &&
									 r->expires_at > now));
		json_object_object_add(o, "has_refresh_token",
				       json_object_new_boolean(r->has_refresh_token));
		put_time(o, "refresh_token_obtained_at", r->refresh_obtained_at);
		put_time(o, "refresh_token_expires_at", r->refresh_expires_at);
		json_object_array_add(list, o);
	}
	char *text = spk_json_dump(list);
	if (!text) {
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}
