#include "grant.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "secret.h"

/* 9999-12-31T23:59:59Z: a stored timestamp beyond it is corrupt. */
#define MAX_TIMESTAMP 253402300799LL

void spk_tenants_free(struct spk_tenant *tenants, size_t n)
{
	for (size_t i = 0; tenants && i < n; i++) {
		free(tenants[i].id);
		free(tenants[i].name);
		free(tenants[i].type);
	}
	free(tenants);
}

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
	spk_tenants_free(g->tenants, g->n_tenants);
	free(g->tenant_id);
	spk_endpoints_done(&g->endpoints);
	free(g->warning);
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
	int r = 0;
	r |= dup_field(src->access_token, &g.access_token);
	r |= dup_field(src->refresh_token, &g.refresh_token);
	r |= dup_field(src->token_type, &g.token_type);
	r |= dup_field(src->scope, &g.scope);
	r |= dup_field(src->account, &g.account);
	r |= dup_field(src->tenant_id, &g.tenant_id);
	r |= dup_field(src->warning, &g.warning);
	r |= spk_endpoints_copy(&src->endpoints, &g.endpoints);
	if (src->n_tenants > 0) {
		g.tenants = calloc(src->n_tenants, sizeof(*g.tenants));
		r |= g.tenants ? 0 : -ENOMEM;
		for (size_t i = 0; g.tenants && i < src->n_tenants; i++) {
			r |= dup_field(src->tenants[i].id, &g.tenants[i].id);
			r |= dup_field(src->tenants[i].name, &g.tenants[i].name);
			r |= dup_field(src->tenants[i].type, &g.tenants[i].type);
		}
		g.n_tenants = g.tenants ? src->n_tenants : 0;
	}
	if (r != 0) {
		spk_grant_done(&g);
		return -ENOMEM;
	}
	*ret = g;
	return 0;
}

/* A timestamp, or null when it is unknown (0). */
static int add_time(struct spk_json *o, const char *key, int64_t t)
{
	return t ? spk_json_add_int64(o, key, t) : spk_json_add_null(o, key);
}

struct spk_json *spk_grant_to_object(const struct spk_grant *g)
{
	struct spk_json *o = spk_json_new_object();
	int r = o ? 0 : -ENOMEM;

	if (!o) {
		return NULL;
	}
	r |= spk_json_add_int64(o, "format", SPK_GRANT_FORMAT);
	r |= spk_json_add_string(o, "access_token", g->access_token);
	r |= spk_json_add_string(o, "refresh_token", g->refresh_token);
	r |= spk_json_add_string(o, "token_type", g->token_type);
	r |= spk_json_add_string(o, "scope", g->scope);
	r |= spk_json_add_string(o, "account", g->account);
	r |= add_time(o, "expires_at", g->expires_at);
	r |= spk_json_add_int64(o, "obtained_at", g->obtained_at);
	r |= spk_json_add_int64(o, "refresh_obtained_at", g->refresh_obtained_at);
	if (g->n_tenants > 0) {
		struct spk_json *list = spk_json_new_array();
		for (size_t i = 0; list && i < g->n_tenants; i++) {
			struct spk_json *t = spk_json_new_object();
			if (t) {
				r |= spk_json_add_string(t, "id", g->tenants[i].id);
				r |= spk_json_add_string(t, "name", g->tenants[i].name);
				r |= spk_json_add_string(t, "type", g->tenants[i].type);
			}
			r |= spk_json_append(list, t);
		}
		r |= spk_json_add(o, "tenants", list);
	}
	r |= spk_json_add_string(o, "tenant_id", g->tenant_id);
	struct spk_json *ep = spk_json_new_object();
	for (size_t i = 0; ep && i < SPK_N_ENDPOINTS; i++) {
		r |= spk_json_add_string(ep, spk_endpoint_fields[i].name,
					 spk_endpoint_get(&g->endpoints, i));
	}
	if (ep && spk_json_len(ep) == 0) {
		spk_json_free(ep);
	} else {
		r |= spk_json_add(o, "endpoints", ep);
	}
	if (r != 0) {
		spk_json_free(o);
		return NULL;
	}
	return o;
}

int spk_grant_to_json(const struct spk_grant *g, char **ret)
{
	_cleanup_json_ struct spk_json *o = spk_grant_to_object(g);
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

int spk_grant_public_json(const struct spk_grant *g, const char *tenant_id, char **ret)
{
	_cleanup_json_ struct spk_json *o = spk_json_new_object();
	int r = o ? 0 : -ENOMEM;

	if (r == 0) {
		r |= spk_json_add_string(o, "access_token", g->access_token);
		r |= add_time(o, "expires_at", g->expires_at);
		r |= spk_json_add_string(o, "token_type", spk_grant_token_type(g));
		r |= spk_json_add_nullable(o, "scope", g->scope);
		r |= spk_json_add_nullable(o, "tenant_id", tenant_id);
	}
	if (r != 0) {
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
	_cleanup_json_ struct spk_json *o = NULL;

	int r = spk_json_parse_object(text, strlen(text), &o);
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_LOGIN, r < 0 ? r : -EBADMSG,
				     "the stored grant is unreadable");
	}
	return spk_grant_from_object(o, ret, err);
}

/* An optional string member: absent is fine, another type is not. */
static int opt_string(const struct spk_json *o, const char *key, char **field)
{
	int r = spk_json_get_string(o, key, field);
	return r == -ENOENT ? 0 : r;
}

static int read_tenants(const struct spk_json *o, struct spk_grant *g)
{
	struct spk_json *list = NULL;
	if (!spk_json_has(o, "tenants")) {
		return 0;
	}
	/* Present: an array, not even null. */
	if (spk_json_get_array(o, "tenants", &list) < 0) {
		return -EINVAL;
	}
	size_t n = spk_json_len(list);
	if (n == 0) {
		return 0;
	}
	g->tenants = calloc(n, sizeof(*g->tenants));
	if (!g->tenants) {
		return -ENOMEM;
	}
	g->n_tenants = n;
	for (size_t i = 0; i < n; i++) {
		struct spk_json *t = spk_json_at(list, i);
		if (spk_json_get_string(t, "id", &g->tenants[i].id) < 0 ||
		    opt_string(t, "name", &g->tenants[i].name) < 0 ||
		    opt_string(t, "type", &g->tenants[i].type) < 0) {
			return -EINVAL;
		}
	}
	return 0;
}

int spk_grant_from_object(const struct spk_json *o, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int64_t format = 0;
	int r;

	if (!spk_json_is_object(o)) {
		return spk_error_set(err, SPK_ERR_LOGIN, -EBADMSG,
				     "the grant is not a JSON object");
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
		{ "tenant_id", &g.tenant_id },
	};
	for (size_t i = 0; i < ARRAY_SIZE(optional); i++) {
		r = opt_string(o, optional[i].key, optional[i].field);
		if (r < 0) {
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
		/* Epoch seconds up to the year 9999: every sum and difference of them fits. */
		if (*times[i].field < 0 || *times[i].field > MAX_TIMESTAMP) {
			r = -ERANGE;
			goto bad;
		}
	}
	r = read_tenants(o, &g);
	if (r < 0) {
		goto bad;
	}
	struct spk_json *ep = NULL;
	/* Anything but an object there holds no endpoint. */
	if (spk_json_get_object(o, "endpoints", &ep) == 0) {
		for (size_t i = 0; i < SPK_N_ENDPOINTS; i++) {
			r = opt_string(ep, spk_endpoint_fields[i].name,
				       spk_endpoint_slot(&g.endpoints, i));
			if (r < 0) {
				goto bad;
			}
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
	free(g->warning);
	g->warning = TAKE_PTR(fresh->warning);
	g->expires_at = fresh->expires_at;
	g->obtained_at = fresh->obtained_at;
	spk_grant_done(fresh);
}

int64_t spk_grant_valid_for(const struct spk_grant *g, int64_t assume_lifetime, int64_t now)
{
	if (g->expires_at != 0) {
		return g->expires_at - now;
	}
	if (assume_lifetime <= 0) {
		return INT64_MAX;
	}
	/* Both are bounded (stored timestamps, profile keys): the sum fits. */
	return g->obtained_at + assume_lifetime - now;
}

int64_t spk_grant_margin(const struct spk_grant *g, int64_t assume_lifetime, int64_t min_valid)
{
	int64_t lifetime = g->expires_at && g->obtained_at ? g->expires_at - g->obtained_at
			   : g->expires_at                 ? 0
							   : assume_lifetime;
	if (lifetime > 0 && min_valid > lifetime / 2) {
		return lifetime / 2;
	}
	return min_valid;
}

const char *spk_grant_token_type(const struct spk_grant *g)
{
	/* RFC 6750 spells it so; some providers send "bearer", no server minds "Bearer". */
	if (!g->token_type || strcasecmp(g->token_type, "Bearer") == 0) {
		return "Bearer";
	}
	return g->token_type;
}

const struct spk_tenant *spk_grant_find_tenant(const struct spk_grant *g, const char *key)
{
	for (size_t i = 0; key && i < g->n_tenants; i++) {
		if (strcmp(g->tenants[i].id, key) == 0 ||
		    (g->tenants[i].name && strcasecmp(g->tenants[i].name, key) == 0)) {
			return &g->tenants[i];
		}
	}
	return NULL;
}

void spk_grant_set_tenants(struct spk_grant *g, struct spk_tenant *tenants, size_t n)
{
	spk_tenants_free(g->tenants, g->n_tenants);
	g->tenants = tenants;
	g->n_tenants = n;
}
