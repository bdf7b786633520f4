#include "oauth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "form.h"
#include "jwt.h"
#include "json.h"
#include "log.h"
#include "secret.h"

/* The longest Retry-After worth waiting for inside one command. */
#define RETRY_AFTER_MAX 5

int spk_pkce_challenge(const char *verifier, char **ret)
{
	unsigned char digest[SPK_SHA256_LEN];

	spk_sha256(verifier, strlen(verifier), digest);
	char *c = spk_base64url(digest, sizeof(digest));
	spk_wipe(digest, sizeof(digest));
	if (!c) {
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

int spk_pkce_new(struct spk_pkce *ret)
{
	struct spk_pkce p = { 0 };
	/* 32 bytes give the 43-character verifier RFC 7636 §4.1 recommends. */
	int r = spk_random_token(32, &p.verifier);
	if (r == 0) {
		r = spk_pkce_challenge(p.verifier, &p.challenge);
	}
	if (r < 0) {
		spk_pkce_done(&p);
		return r;
	}
	*ret = p;
	return 0;
}

void spk_pkce_done(struct spk_pkce *p)
{
	spk_secret_free(p->verifier);
	free(p->challenge);
	*p = (struct spk_pkce){ 0 };
}

bool spk_scope_has(const char *scopes, const char *scope)
{
	size_t n = strlen(scope);
	for (const char *p = scopes; p && *p;) {
		p += strspn(p, " ");
		size_t len = strcspn(p, " ");
		if (len == n && strncmp(p, scope, n) == 0) {
			return true;
		}
		p += len;
	}
	return false;
}

int spk_oauth_authorize_url(const struct spk_authorize_params *p, char **ret)
{
	struct spk_form f;
	const char *url;

	spk_form_init(&f, p->endpoint);
	spk_form_add(&f, "response_type", "code");
	spk_form_add(&f, "client_id", p->client_id);
	spk_form_add(&f, "redirect_uri", p->redirect_uri);
	if (p->scopes && *p->scopes) {
		spk_form_add(&f, "scope", p->scopes);
	}
	spk_form_add(&f, "state", p->state);
	if (p->nonce) {
		spk_form_add(&f, "nonce", p->nonce);
	}
	spk_form_add(&f, "code_challenge", p->code_challenge);
	spk_form_add(&f, "code_challenge_method", "S256");
	for (const char *const *e = p->extra; e && e[0]; e += 2) {
		spk_form_add(&f, e[0], e[1]);
	}
	int r = spk_form_get(&f, &url);
	if (r == 0) {
		*ret = strdup(url);
		r = *ret ? 0 : -ENOMEM;
	}
	spk_form_done(&f);
	return r;
}

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
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				     "%s sent an unreadable answer (not a JSON object). Try again later",
				     host);
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
	if (ig.names[0] && asprintf(&g.warning, "%s sent an unreadable %s; ignored, the new tokens "
				    "were kept", host, ig.names) < 0) {
		g.warning = NULL;
	}
	*ret = g;
	return 0;
fail:
	spk_grant_done(&g);
	return r;
}

/* RFC 6749 §2.3.1: Basic credentials are the form-encoded id and secret. */
static char *basic_authorization(const struct spk_client *c)
{
	_cleanup_free_ char *id = spk_url_encode(c->id);
	_cleanup_secret_ char *secret = spk_url_encode(c->secret ? c->secret : "");
	_cleanup_secret_ char *pair = NULL;
	_cleanup_secret_ char *b64 = NULL;
	char *out = NULL;

	if (!id || !secret || asprintf(&pair, "%s:%s", id, secret) < 0) {
		return NULL;
	}
	b64 = spk_base64(pair, strlen(pair));
	if (b64 && asprintf(&out, "Basic %s", b64) < 0) {
		out = NULL;
	}
	return out;
}

/* Add the client's credentials to a token endpoint form. */
static void form_add_client(struct spk_form *f, const struct spk_client *c)
{
	switch (c->auth) {
	case SPK_CLIENT_AUTH_BASIC:
		break;
	case SPK_CLIENT_AUTH_POST:
		spk_form_add(f, "client_id", c->id);
		spk_form_add(f, "client_secret", c->secret ? c->secret : "");
		break;
	default:
		spk_form_add(f, "client_id", c->id);
		break;
	}
}

/* POST f (plus the client's credentials) to url; the raw answer in *ret. */
static int client_post(const struct spk_client *c, const char *url, struct spk_form *f,
		       struct spk_http_response *ret, struct spk_error *err)
{
	_cleanup_secret_ char *authorization = NULL;
	const char *form;

	form_add_client(f, c);
	if (c->auth == SPK_CLIENT_AUTH_BASIC && !(authorization = basic_authorization(c))) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	if (spk_form_get(f, &form) < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	struct spk_http_request req = {
		.url = url, .form = form, .authorization = authorization, .cacert = c->cacert,
	};
	int r = spk_http_send(&req, ret, err);
	if (r < 0) {
		return r;
	}
	if (ret->status == 429 && ret->retry_after >= 0 && ret->retry_after <= RETRY_AFTER_MAX) {
		/* Asked to wait a moment: a 429 was not acted on, so once more. */
		unsigned wait_s = (unsigned)ret->retry_after;
		spk_log("token endpoint: HTTP 429, retrying after %u s", wait_s);
		spk_http_response_done(ret);
		sleep(wait_s);
		r = spk_http_send(&req, ret, err);
	}
	return r;
}

/* POST f to the token endpoint and read the answer as a grant. */
static int token_request(const struct spk_client *c, struct spk_form *f,
			 const struct spk_token_expect *x, int64_t now, struct spk_grant *ret,
			 struct spk_error *err)
{
	struct spk_http_response resp = { 0 };
	char host[256];

	int r = client_post(c, c->token_endpoint, f, &resp, err);
	spk_form_done(f);
	if (r < 0) {
		return r;
	}
	spk_http_host(c->token_endpoint, host, sizeof(host));
	r = spk_oauth_parse_token_response(&resp, host, x, now, ret, err);
	spk_http_response_done(&resp);
	return r;
}

int spk_oauth_exchange_code(const struct spk_client *c, const char *code, const char *verifier,
			    const char *redirect_uri, const struct spk_token_expect *x,
			    int64_t now, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_form f;

	spk_form_init(&f, NULL);
	spk_form_add(&f, "grant_type", "authorization_code");
	spk_form_add(&f, "code", code);
	spk_form_add(&f, "redirect_uri", redirect_uri);
	spk_form_add(&f, "code_verifier", verifier);
	return token_request(c, &f, x, now, ret, err);
}

int spk_oauth_refresh(const struct spk_client *c, const char *refresh_token, int64_t now,
		      struct spk_grant *ret, struct spk_error *err)
{
	struct spk_form f;

	spk_form_init(&f, NULL);
	spk_form_add(&f, "grant_type", "refresh_token");
	spk_form_add(&f, "refresh_token", refresh_token);
	const struct spk_token_expect x = { .client_id = c->id, .refresh = true };
	return token_request(c, &f, &x, now, ret, err);
}

int spk_oauth_client_credentials(const struct spk_client *c, const char *scopes, int64_t now,
				 struct spk_grant *ret, struct spk_error *err)
{
	struct spk_form f;

	spk_form_init(&f, NULL);
	spk_form_add(&f, "grant_type", "client_credentials");
	if (scopes && *scopes) {
		spk_form_add(&f, "scope", scopes);
	}
	const struct spk_token_expect x = { .client_id = c->id, .scope = scopes };
	return token_request(c, &f, &x, now, ret, err);
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
				  "%s sent an unreadable device authorization. Try again later", host);
		goto fail;
	}
	r = spk_json_get_string(body, "verification_uri_complete", &d.verification_uri_complete);
	int r2 = spk_json_get_int64(body, "interval", &d.interval);
	if (r == -EINVAL || r2 == -EINVAL || d.interval < 0 || d.interval > 600 ||
	    strpbrk(d.verification_uri, " \t\r\n") || strncmp(d.verification_uri, "http", 4) != 0 ||
	    (d.verification_uri_complete && (strpbrk(d.verification_uri_complete, " \t\r\n") ||
					     strncmp(d.verification_uri_complete, "http", 4) != 0)) ||
	    strpbrk(d.user_code, "\r\n\033")) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				  "%s sent a malformed device authorization. Try again later", host);
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

int spk_oauth_device_authorize(const struct spk_client *c, const char *endpoint,
			       const char *scopes, struct spk_device_auth *ret,
			       struct spk_error *err)
{
	struct spk_form f;
	struct spk_http_response resp = { 0 };
	char host[256];

	spk_form_init(&f, NULL);
	if (scopes && *scopes) {
		spk_form_add(&f, "scope", scopes);
	}
	int r = client_post(c, endpoint, &f, &resp, err);
	spk_form_done(&f);
	if (r < 0) {
		return r;
	}
	spk_http_host(endpoint, host, sizeof(host));
	r = spk_oauth_parse_device_auth(&resp, host, ret, err);
	spk_http_response_done(&resp);
	return r;
}

int spk_oauth_device_poll(const struct spk_client *c, const char *device_code,
			  const struct spk_token_expect *x, int64_t now, struct spk_grant *ret,
			  struct spk_error *err)
{
	struct spk_form f;
	struct spk_error e = { 0 };

	spk_form_init(&f, NULL);
	spk_form_add(&f, "grant_type", "urn:ietf:params:oauth:grant-type:device_code");
	spk_form_add(&f, "device_code", device_code);
	int r = token_request(c, &f, x, now, ret, &e);
	if (r < 0) {
		if (strcmp(e.oauth, "authorization_pending") == 0) {
			return -EAGAIN;
		}
		if (strcmp(e.oauth, "slow_down") == 0) {
			return -EBUSY;
		}
		if (strcmp(e.oauth, "expired_token") == 0) {
			return spk_error_set_oauth(err, SPK_ERR_LOGIN, -ETIMEDOUT, "expired_token",
						   "the device code expired before the sign-in was "
						   "completed; nothing was stored");
		}
		if (strcmp(e.oauth, "access_denied") == 0) {
			return spk_error_set_oauth(err, SPK_ERR_LOGIN, -EACCES, "access_denied",
						   "the sign-in was denied (access_denied); nothing "
						   "was stored");
		}
		if (err && err->kind == SPK_ERR_NONE) {
			*err = e;
		}
	}
	return r;
}

int spk_oauth_revoke(const struct spk_client *c, const char *endpoint, const char *token,
		     const char *hint, struct spk_error *err)
{
	struct spk_form f;
	struct spk_http_response resp = { 0 };
	char host[256];

	spk_form_init(&f, NULL);
	spk_form_add(&f, "token", token);
	spk_form_add(&f, "token_type_hint", hint);
	int r = client_post(c, endpoint, &f, &resp, err);
	spk_form_done(&f);
	if (r < 0) {
		return r;
	}
	spk_http_host(endpoint, host, sizeof(host));
	/* RFC 7009 §2.2: 200 whether or not the token was still valid. */
	if (resp.status != 200) {
		_cleanup_json_ struct spk_json *body = NULL;
		(void)spk_json_parse_object(resp.body, resp.len, &body);
		r = token_error(&resp, host, body, err);
	}
	spk_http_response_done(&resp);
	return r;
}
