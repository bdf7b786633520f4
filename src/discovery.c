/*
 * Discovery (OpenID Connect Discovery, RFC 8414): where an issuer's
 * metadata is, fetching it, and reading the endpoints out of it. Declared
 * in oauth.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "secret.h"

static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && s[n - 1] == '/' ? n - 1 : n;
}

int spk_discovery_parse(const char *issuer, const char *body, size_t len, struct spk_endpoints *ret,
			struct spk_error *err)
{
	_cleanup_json_ struct spk_json *doc = NULL;
	_cleanup_free_ char *doc_issuer = NULL;
	struct spk_endpoints e = { 0 };

	if (spk_json_parse_object(body, len, &doc) < 0) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EBADMSG,
				     "%s has no readable discovery document", issuer);
	}
	/* OpenID Connect Discovery §4.3: the document must name this very issuer. */
	if (spk_json_get_string(doc, "issuer", &doc_issuer) < 0 ||
	    trimmed_len(doc_issuer) != trimmed_len(issuer) ||
	    strncmp(doc_issuer, issuer, trimmed_len(issuer)) != 0) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EBADMSG,
				     "the discovery document of %s names another issuer", issuer);
	}
	e.issuer = TAKE_PTR(doc_issuer);
	const struct {
		const char *key;
		char **field;
	} keys[] = {
		{ "authorization_endpoint", &e.authorization },
		{ "token_endpoint", &e.token },
		{ "revocation_endpoint", &e.revocation },
		{ "device_authorization_endpoint", &e.device_authorization },
		{ "userinfo_endpoint", &e.userinfo },
	};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (spk_json_get_string(doc, keys[i].key, keys[i].field) == -EINVAL) {
			spk_endpoints_done(&e);
			return spk_error_set(err, SPK_ERR_CONFIG, -EBADMSG,
					     "the discovery document of %s has a malformed %s",
					     issuer, keys[i].key);
		}
	}
	if (!e.authorization || !e.token) {
		spk_endpoints_done(&e);
		return spk_error_set(err, SPK_ERR_CONFIG, -EBADMSG,
				     "the discovery document of %s lacks the authorization or "
				     "token endpoint",
				     issuer);
	}
	*ret = e;
	return 0;
}

int spk_discovery_url(const char *issuer, unsigned i, char **ret_url)
{
	const char *host = strstr(issuer, "://");
	if (!host || strpbrk(issuer, "?#")) {
		return -EINVAL;
	}
	host += strlen("://");
	/* Both specifications: a terminating "/" is removed first. */
	size_t end = trimmed_len(issuer);
	size_t origin = (size_t)(host - issuer) + strcspn(host, "/");
	if (origin > end) {
		origin = end;
	}
	bool has_path = origin < end;
	const char *path = issuer + origin;
	int pathlen = (int)(end - origin);
	char *url;
	int r;

	/* Without a path, the inserted forms are the appended ones: not asked twice. */
	if (i >= (has_path ? 4U : 2U)) {
		return -ENOENT;
	}
	switch (i) {
	case 0: /* OpenID Connect Discovery §4.1: appended to the issuer */
		r = asprintf(&url, "%.*s/.well-known/openid-configuration", (int)end, issuer);
		break;
	case 1: /* RFC 8414 §3.1: inserted between the host and the path */
		r = asprintf(&url, "%.*s/.well-known/oauth-authorization-server%.*s", (int)origin,
			     issuer, pathlen, path);
		break;
	case 2: /* RFC 8414 §5: OpenID's name, inserted the same way */
		r = asprintf(&url, "%.*s/.well-known/openid-configuration%.*s", (int)origin, issuer,
			     pathlen, path);
		break;
	default: /* RFC 8414's name appended, as servers published before RFC 8414 */
		r = asprintf(&url, "%.*s/.well-known/oauth-authorization-server", (int)end, issuer);
		break;
	}
	if (r < 0) {
		return -ENOMEM;
	}
	*ret_url = url;
	return 0;
}

int spk_discovery_fetch(const char *issuer, const char *cacert, struct spk_endpoints *ret,
			struct spk_error *err)
{
	struct spk_error first = { 0 };
	int r = spk_http_check_url("issuer", issuer, err);
	if (r < 0) {
		return r;
	}
	for (unsigned i = 0;; i++) {
		_cleanup_free_ char *url = NULL;
		struct spk_http_response resp = { 0 };
		r = spk_discovery_url(issuer, i, &url);
		if (r == -ENOENT) {
			break;
		}
		if (r == -EINVAL) {
			return spk_error_set(err, SPK_ERR_CONFIG, r,
					     "the issuer %s has a query or fragment; an issuer URL "
					     "has neither (RFC 8414 §2). Check the issuer URL",
					     issuer);
		}
		if (r < 0) {
			return spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
		}
		struct spk_http_request req = { .url = url, .cacert = cacert };
		r = spk_http_send(&req, &resp, err);
		if (r < 0) {
			return r;
		}
		long status = resp.status;
		if (status == 200) {
			/*
			 * A server may answer 200 with something else (a web
			 * page) at one of the places: the next may hold the
			 * document. The first such refusal is the one reported.
			 */
			struct spk_error e = { 0 };
			r = spk_discovery_parse(issuer, resp.body, resp.len, ret, &e);
			spk_http_response_done(&resp);
			if (r == 0) {
				return 0;
			}
			if (first.code == 0) {
				first = e;
			}
			continue;
		}
		spk_http_response_done(&resp);
		if (status >= 500) {
			return spk_error_set(
				err, SPK_ERR_TEMPFAIL, -EAGAIN,
				"discovery at %s failed with HTTP %ld. Try again later", issuer,
				status);
		}
	}
	if (first.code != 0) {
		return spk_error_set(err, first.kind, first.code, "%s", first.msg);
	}
	return spk_error_set(err, SPK_ERR_CONFIG, -ENOENT,
			     "%s publishes no discovery document; check the issuer URL", issuer);
}
