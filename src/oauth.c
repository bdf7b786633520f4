#include "oauth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "form.h"
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
		.url = url,
		.form = form,
		.authorization = authorization,
		.cacert = c->cacert,
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
			    const char *redirect_uri, const struct spk_token_expect *x, int64_t now,
			    struct spk_grant *ret, struct spk_error *err)
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

int spk_oauth_device_authorize(const struct spk_client *c, const char *endpoint, const char *scopes,
			       struct spk_device_auth *ret, struct spk_error *err)
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
			return spk_error_set_oauth(
				err, SPK_ERR_LOGIN, -EACCES, "access_denied",
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
		r = spk_oauth_parse_error(&resp, host, err);
	}
	spk_http_response_done(&resp);
	return r;
}
