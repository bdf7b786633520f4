#include "tenants.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json.h"
#include "secret.h"

#define MAX_TENANTS 1000

int spk_tenants_parse(const struct spk_http_response *resp, const char *host,
		      struct spk_tenant **ret, size_t *ret_n, struct spk_error *err)
{
	_cleanup_json_ struct spk_json *list = NULL;

	if (resp->status == 401 || resp->status == 403) {
		return spk_error_set(err, SPK_ERR_LOGIN, -EACCES,
				     "%s refused the access token when listing organisations "
				     "(HTTP %ld)",
				     host, resp->status);
	}
	if (resp->status != 200) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EAGAIN,
				     "%s answered HTTP %ld when listing organisations. Try again "
				     "later",
				     host, resp->status);
	}
	if (spk_json_parse(resp->body, resp->len, &list) < 0 || !spk_json_is_array(list) ||
	    spk_json_len(list) > MAX_TENANTS) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				     "%s sent an unreadable list of organisations. Try again later",
				     host);
	}
	size_t n = spk_json_len(list);
	struct spk_tenant *t = calloc(n ? n : 1, sizeof(*t));
	if (!t) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct spk_json *c = spk_json_at(list, i);
		int r1 = spk_json_get_string(c, "tenantId", &t[i].id);
		int r2 = spk_json_get_string(c, "tenantName", &t[i].name);
		int r3 = spk_json_get_string(c, "tenantType", &t[i].type);
		if (r1 < 0 || !*t[i].id || strpbrk(t[i].id, "\r\n") || r2 == -EINVAL ||
		    r3 == -EINVAL || (t[i].name && strpbrk(t[i].name, "\r\n"))) {
			spk_tenants_free(t, n);
			return spk_error_set(
				err, SPK_ERR_TEMPFAIL, -EBADMSG,
				"%s sent a malformed organisation entry. Try again later", host);
		}
	}
	*ret = t;
	*ret_n = n;
	return 0;
}

int spk_tenants_fetch(const char *url, const char *access_token, const char *cacert,
		      struct spk_tenant **ret, size_t *ret_n, struct spk_error *err)
{
	_cleanup_secret_ char *authorization = NULL;
	struct spk_http_response resp = { 0 };
	char host[256];

	if (asprintf(&authorization, "Bearer %s", access_token) < 0) {
		authorization = NULL;
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	struct spk_http_request req = { .url = url,
					.authorization = authorization,
					.cacert = cacert };
	int r = spk_http_send(&req, &resp, err);
	if (r < 0) {
		return r;
	}
	r = spk_tenants_parse(&resp, spk_http_host(url, host, sizeof(host)), ret, ret_n, err);
	spk_http_response_done(&resp);
	return r;
}

const char *spk_tenant_of(const struct spk_profile *p, const struct spk_grant *g)
{
	const struct spk_tenant *t = spk_grant_find_tenant(g, p->tenant ? p->tenant : g->tenant_id);
	return t ? t->id : NULL;
}

int spk_tenant_for_api(const struct spk_profile *p, const struct spk_grant *g, const char **ret,
		       struct spk_error *err)
{
	*ret = spk_tenant_of(p, g);
	if (*ret || (!p->tenant && g->n_tenants == 0)) {
		return 0;
	}
	/* Never quietly act on another organisation: that is someone else's books. */
	return spk_error_set(
		err, SPK_ERR_CONFIG, -ENOENT,
		"%s: the organisation %s%s%s is not connected to this grant. Run: sparekey "
		"tenants %s --refresh, then sparekey login %s --tenant NAME",
		p->name, p->tenant ? "'" : "", p->tenant ? p->tenant : "chosen at login",
		p->tenant ? "'" : "", p->name, p->name);
}
