#include "grant.h"

#include <errno.h>
#include <string.h>

#include "json.h"
#include "secret.h"

void spk_grant_done(struct spk_grant *g)
{
	if (!g) {
		return;
	}
	spk_secret_free(g->access_token);
	spk_secret_free(g->refresh_token);
	free(g->token_type);
	free(g->scope);
	free(g->account);
	*g = (struct spk_grant){ 0 };
}

static int dup_field(const char *src, char **dst)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

int spk_grant_copy(const struct spk_grant *src, struct spk_grant *ret)
{
	struct spk_grant g = {
		.expires_at = src->expires_at,
		.obtained_at = src->obtained_at,
		.refresh_obtained_at = src->refresh_obtained_at,
	};
	if (dup_field(src->access_token, &g.access_token) < 0 ||
	    dup_field(src->refresh_token, &g.refresh_token) < 0 ||
	    dup_field(src->token_type, &g.token_type) < 0 || dup_field(src->scope, &g.scope) < 0 ||
	    dup_field(src->account, &g.account) < 0) {
		spk_grant_done(&g);
		return -ENOMEM;
	}
	*ret = g;
	return 0;
}

static int add_string(json_object *o, const char *key, const char *value)
{
	if (!value) {
		return 0;
	}
	json_object *v = json_object_new_string(value);
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_int(json_object *o, const char *key, int64_t value)
{
	json_object *v = json_object_new_int64(value);
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

json_object *spk_grant_to_object(const struct spk_grant *g)
{
	json_object *o = json_object_new_object();
	int r = o ? 0 : -ENOMEM;

	if (r == 0) {
		r = add_int(o, "format", SPK_GRANT_FORMAT);
	}
	if (r == 0) {
		r = add_string(o, "access_token", g->access_token);
	}
	if (r == 0) {
		r = add_string(o, "refresh_token", g->refresh_token);
	}
	if (r == 0) {
		r = add_string(o, "token_type", g->token_type);
	}
	if (r == 0) {
		r = add_string(o, "scope", g->scope);
	}
	if (r == 0) {
		r = add_string(o, "account", g->account);
	}
	if (r == 0) {
		r = add_int(o, "expires_at", g->expires_at);
	}
	if (r == 0) {
		r = add_int(o, "obtained_at", g->obtained_at);
	}
	if (r == 0) {
		r = add_int(o, "refresh_obtained_at", g->refresh_obtained_at);
	}
	if (r < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int spk_grant_to_json(const struct spk_grant *g, char **ret)
{
	_cleanup_json_ json_object *o = spk_grant_to_object(g);
	if (!o) {
		return -ENOMEM;
	}
	char *text = spk_json_dump(o);
	if (!text) {
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}

int spk_grant_from_json(const char *text, struct spk_grant *ret, struct spk_error *err)
{
	_cleanup_json_ json_object *o = NULL;

	int r = spk_json_parse(text, strlen(text), &o);
	if (r < 0 || !json_object_is_type(o, json_type_object)) {
		return spk_error_set(err, SPK_ERR_LOGIN, r < 0 ? r : -EBADMSG,
				     "the stored grant is unreadable");
	}
	return spk_grant_from_object(o, ret, err);
}

int spk_grant_from_object(json_object *o, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int64_t format = 0;
	int r;

	if (!json_object_is_type(o, json_type_object)) {
		return spk_error_set(err, SPK_ERR_LOGIN, -EBADMSG, "the grant is not a JSON object");
	}
	if (spk_json_get_int64(o, "format", &format) < 0 || format != SPK_GRANT_FORMAT) {
		return spk_error_set(err, SPK_ERR_LOGIN, -EPROTO,
				     "the stored grant has an unknown format");
	}
	r = spk_json_get_string(o, "access_token", &g.access_token);
	if (r < 0) {
		goto bad;
	}
	const struct {
		const char *key;
		char **field;
	} optional[] = {
		{ "refresh_token", &g.refresh_token },
		{ "token_type", &g.token_type },
		{ "scope", &g.scope },
		{ "account", &g.account },
	};
	for (size_t i = 0; i < ARRAY_SIZE(optional); i++) {
		r = spk_json_get_string(o, optional[i].key, optional[i].field);
		if (r < 0 && r != -ENOENT) {
			goto bad;
		}
	}
	const struct {
		const char *key;
		int64_t *field;
	} times[] = {
		{ "expires_at", &g.expires_at },
		{ "obtained_at", &g.obtained_at },
		{ "refresh_obtained_at", &g.refresh_obtained_at },
	};
	for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
		r = spk_json_get_int64(o, times[i].key, times[i].field);
		if (r < 0 && r != -ENOENT) {
			goto bad;
		}
	}
	*ret = g;
	return 0;
bad:
	spk_grant_done(&g);
	return spk_error_set(err, SPK_ERR_LOGIN, r < 0 ? r : -EBADMSG,
			     "the stored grant is incomplete or malformed");
}

static void replace_str(char **dst, char **src, void (*release)(char *))
{
	if (*src) {
		release(*dst);
		*dst = TAKE_PTR(*src);
	}
}

static void plain_free(char *s)
{
	free(s);
}

void spk_grant_update(struct spk_grant *g, struct spk_grant *fresh)
{
	replace_str(&g->access_token, &fresh->access_token, spk_secret_free);
	if (fresh->refresh_token) {
		replace_str(&g->refresh_token, &fresh->refresh_token, spk_secret_free);
		g->refresh_obtained_at = fresh->refresh_obtained_at;
	}
	replace_str(&g->token_type, &fresh->token_type, plain_free);
	replace_str(&g->scope, &fresh->scope, plain_free);
	replace_str(&g->account, &fresh->account, plain_free);
	g->expires_at = fresh->expires_at;
	g->obtained_at = fresh->obtained_at;
	spk_grant_done(fresh);
}

int64_t spk_grant_valid_for(const struct spk_grant *g, int64_t now)
{
	if (g->expires_at == 0) {
		/* Unknown lifetime: treat as valid; the API will say otherwise. */
		return INT64_MAX;
	}
	return g->expires_at - now;
}
