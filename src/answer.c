/*
 * Reading what the token and device authorization endpoints answer: a
 * grant, a device code, or an RFC 6749 §5.2 error mapped to what the user
 * must do. Declared in oauth.h; the requests are built in oauth.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "jwt.h"
#include "log.h"
#include "oauth.h"
#include "secret.h"

/* §5.2 error codes and what each asks of the user. */
static enum spk_error_kind token_error_kind(const char *code)
{
	static const struct {
		const char *code;
		enum spk_error_kind kind;
	} map[] = {
		{ "invalid_grant", SPK_ERR_LOGIN },
		{ "invalid_client", SPK_ERR_CONFIG },
		{ "unauthorized_client", SPK_ERR_CONFIG },
		{ "unsupported_grant_type", SPK_ERR_CONFIG },
		{ "invalid_scope", SPK_ERR_CONFIG },
		{ "invalid_request", SPK_ERR_CONFIG },
		{ "invalid_dpop_proof", SPK_ERR_CONFIG },
		{ "temporarily_unavailable", SPK_ERR_TEMPFAIL },
		{ "server_error", SPK_ERR_TEMPFAIL },
		{ "slow_down", SPK_ERR_TEMPFAIL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (strcmp(map[i].code, code) == 0) {
			return map[i].kind;
		}
	}
	return SPK_ERR_TEMPFAIL;
}

/* An error code we may repeat: ASCII letters, digits and "_.-" only. */
#define CODE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

static bool safe_code(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 48) {
		return false;
	}
	for (; *s; s++) {
		if (!strchr(CODE_CHARS, *s)) {
			return false;
		}
	}
	return true;
}

static int token_error(const struct spk_http_response *resp, const char *host,
		       const struct spk_json *body, struct spk_error *err)
{
	_cleanup_free_ char *code = NULL, *desc = NULL;

	if (resp->status >= 500) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EAGAIN,
				     "%s answered HTTP %ld (a server error). Try again later", host,
				     resp->status);
	}
	if (resp->status == 429) {
		if (resp->retry_after >= 0) {
			return spk_error_set(err, SPK_ERR_TEMPFAIL, -EAGAIN,
					     "%s is rate limiting (HTTP 429). Try again in %ld s",
					     host, resp->retry_after);
		}
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EAGAIN,
				     "%s is rate limiting (HTTP 429). Try again later", host);
	}
	if (!body || spk_json_get_string(body, "error", &code) < 0 || !safe_code(code)) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				     "%s answered HTTP %ld without an OAuth error. Try again later",
				     host, resp->status);
	}
	(void)spk_json_get_string(body, "error_description", &desc);
	enum spk_error_kind kind = token_error_kind(code);
	const char *what;
	switch (kind) {
	case SPK_ERR_LOGIN:
		what = "the provider no longer accepts this grant";
		break;
	case SPK_ERR_CONFIG:
		what = strcmp(code, "invalid_client") == 0
			       ? "the provider does not accept this client's credentials (check "
				 "client_id, client_auth and the client secret)"
			       : "the provider refused the request (check the profile)";
		break;
	default:
		what = "the provider could not answer. Try again later";
		break;
	}
	if (desc && *desc) {
		return spk_error_set_oauth(err, kind, -EPERM, code, "%s (%s: %.100s)", what, code,
					   desc);
	}
	return spk_error_set_oauth(err, kind, -EPERM, code, "%s (%s)", what, code);
}

/* Names of the fields an answer was stored without, for one warning. */
struct ignored {
	char names[96];
};

static void ignore(struct ignored *ig, const char *name)
{
	size_t n = strlen(ig->names);
	snprintf(ig->names + n, sizeof(ig->names) - n, "%s%s", n ? ", " : "", name);
}

int spk_oauth_parse_error(const struct spk_http_response *resp, const char *host,
			  struct spk_error *err)
{
	_cleanup_json_ struct spk_json *body = NULL;

	/* An error answer may be no JSON at all; body stays NULL then. */
	(void)spk_json_parse_object(resp->body, resp->len, &body);
	return token_error(resp, host, body, err);
}

/* The longest expires_in taken as meant: ten years. */
#define MAX_EXPIRES_IN (10 * 365 * 86400LL)

int spk_oauth_parse_token_response(const struct spk_http_response *resp, const char *host,
				   const struct spk_token_expect *x, int64_t now,
				   struct spk_grant *ret, struct spk_error *err)
{
	static const struct spk_token_expect none = { 0 };
	_cleanup_json_ struct spk_json *body = NULL;
	_cleanup_secret_ char *id_token = NULL;
	struct spk_grant g = { 0 };
	struct ignored ig = { "" };
	int64_t expires_in = 0;
	int r;

	if (!x) {
		x = &none;
	}
	/* An error answer may be no JSON at all; body stays NULL then. */
	(void)spk_json_parse_object(resp->body, resp->len, &body);
	if (resp->status != 200) {
		return token_error(resp, host, body, err);
	}
	if (!body) {
		return spk_error_set(
			err, SPK_ERR_TEMPFAIL, -EBADMSG,
			"%s sent an unreadable answer (not a JSON object). Try again later", host);
	}
	if (spk_json_get_string(body, "access_token", &g.access_token) < 0 || !*g.access_token) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				  "%s sent no access_token. Try again later", host);
		goto fail;
	}
	r = spk_json_get_string(body, "refresh_token", &g.refresh_token);
	if (r == -EINVAL || (r == 0 && !*g.refresh_token)) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				  "%s sent a malformed refresh_token. Try again later", host);
		goto fail;
	}
	/*
	 * From here on nothing refuses the answer but a bad id_token at a
	 * login: a rotated refresh token in it may be the only one left.
	 */
	r = spk_json_get_string(body, "token_type", &g.token_type);
	if (r == -EINVAL) {
		ignore(&ig, "token_type");
	}
	if (!g.token_type || strcasecmp(g.token_type, "Bearer") == 0) {
		/* RFC 6750's spelling, which every server expects in the header. */
		free(g.token_type);
		g.token_type = strdup("Bearer");
	}
	r = spk_json_get_string(body, "scope", &g.scope);
	if (r == -EINVAL) {
		ignore(&ig, "scope");
	}
	if (!g.scope && x->scope && *x->scope) {
		/* RFC 6749 §5.1: no scope means the scope requested. */
		g.scope = strdup(x->scope);
	}
	r = spk_json_get_seconds(body, "expires_in", &expires_in);
	if (r == 0 && expires_in > MAX_EXPIRES_IN) {
		r = -ERANGE;
	}
	if (r < 0 && r != -ENOENT) {
		ignore(&ig, "expires_in");
	}
	g.expires_at = r == 0 ? now + expires_in : spk_jwt_exp(g.access_token);
	g.obtained_at = now;
	g.refresh_obtained_at = g.refresh_token ? now : 0;
	struct spk_error id_err = { 0 };
	r = spk_json_get_string(body, "id_token", &id_token);
	if (r == -EINVAL) {
		r = spk_error_set(&id_err, SPK_ERR_TEMPFAIL, -EBADMSG,
				  "the provider sent a malformed id_token");
	} else if (r == 0) {
		r = spk_jwt_read_id_token(id_token, x, now, &g.account, &id_err);
	} else {
		r = 0;
	}
	if (r < 0 && x->refresh) {
		/* The account shown stays the one from the login. */
		spk_log("token answer from %s: id_token ignored (%s)", host, id_err.msg);
		ignore(&ig, "id_token");
	} else if (r < 0) {
		if (err && err->kind == SPK_ERR_NONE) {
			*err = id_err;
		}
		goto fail;
	}
	if (!g.token_type || (x->scope && *x->scope && !g.scope)) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto fail;
	}
	if (ig.names[0] && asprintf(&g.warning,
				    "%s sent an unreadable %s; ignored, the new tokens "
				    "were kept",
				    host, ig.names) < 0) {
		g.warning = NULL;
	}
	*ret = g;
	return 0;
fail:
	spk_grant_done(&g);
	return r;
}

void spk_device_auth_done(struct spk_device_auth *d)
{
	spk_secret_free(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->verification_uri_complete);
	*d = (struct spk_device_auth){ 0 };
}

int spk_oauth_parse_device_auth(const struct spk_http_response *resp, const char *host,
				struct spk_device_auth *ret, struct spk_error *err)
{
	_cleanup_json_ struct spk_json *body = NULL;
	struct spk_device_auth d = { .interval = 5 };
	int r;

	/* An error answer may be no JSON at all; body stays NULL then. */
	(void)spk_json_parse_object(resp->body, resp->len, &body);
	if (resp->status != 200) {
		return token_error(resp, host, body, err);
	}
	if (!body || spk_json_get_string(body, "device_code", &d.device_code) < 0 ||
	    spk_json_get_string(body, "user_code", &d.user_code) < 0 ||
	    spk_json_get_string(body, "verification_uri", &d.verification_uri) < 0 ||
	    spk_json_get_int64(body, "expires_in", &d.expires_in) < 0 || d.expires_in <= 0 ||
	    !*d.device_code || !*d.user_code) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				  "%s sent an unreadable device authorization. Try again later",
				  host);
		goto fail;
	}
	r = spk_json_get_string(body, "verification_uri_complete", &d.verification_uri_complete);
	int r2 = spk_json_get_int64(body, "interval", &d.interval);
	if (r == -EINVAL || r2 == -EINVAL || d.interval < 0 || d.interval > 600 ||
	    strpbrk(d.verification_uri, " \t\r\n") || strncmp(d.verification_uri, "http", 4) != 0 ||
	    (d.verification_uri_complete &&
	     (strpbrk(d.verification_uri_complete, " \t\r\n") ||
	      strncmp(d.verification_uri_complete, "http", 4) != 0)) ||
	    strpbrk(d.user_code, "\r\n\033")) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				  "%s sent a malformed device authorization. Try again later",
				  host);
		goto fail;
	}
	if (d.interval == 0) {
		d.interval = 5;
	}
	*ret = d;
	return 0;
fail:
	spk_device_auth_done(&d);
	return r;
}
