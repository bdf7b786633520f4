/*
 * The OAuth 2.0 / OpenID Connect protocol: PKCE (RFC 7636), the authorize
 * URL (RFC 6749 §4.1.1), the token endpoint for code exchange and refresh
 * (§4.1.3, §6) with its error responses mapped to what the user must do
 * (§5.2). Requests are built in oauth.c, answers read in answer.c;
 * discovery is discovery.h.
 */
#pragma once

#include <stdint.h>

#include "error.h"
#include "grant.h"
#include "http.h"
#include "profile.h"

struct spk_pkce {
	char *verifier;  /* secret: 43 characters from 32 random bytes */
	char *challenge; /* S256 of the verifier */
};

int spk_pkce_new(struct spk_pkce *ret);
/* BASE64URL(SHA256(verifier)), RFC 7636 §4.2. */
int spk_pkce_challenge(const char *verifier, char **ret);
void spk_pkce_done(struct spk_pkce *p);

struct spk_authorize_params {
	const char *endpoint;
	const char *client_id;
	const char *redirect_uri;
	const char *scopes; /* may be NULL */
	const char *state;
	const char *nonce; /* NULL: not an OpenID request */
	const char *code_challenge;
	const char *const *extra; /* NULL-terminated name, value pairs, or NULL */
};

int spk_oauth_authorize_url(const struct spk_authorize_params *p, char **ret);

/* Does the space-separated list hold scope? */
bool spk_scope_has(const char *scopes, const char *scope);

/* The client as the token endpoint sees it. */
struct spk_client {
	const char *token_endpoint;
	const char *id;
	const char *secret;        /* a secret; NULL for public clients */
	enum spk_client_auth auth; /* resolved: never SPK_CLIENT_AUTH_DEFAULT */
	const char *cacert;        /* CA bundle for a private CA, or NULL */
};

/*
 * What a token answer is read against. A new grant (login) is refused when
 * its id_token is not for this client (aud, azp), not from this issuer
 * (iss), expired (exp) or not for this login (nonce). A refreshed one is
 * not: the rotated refresh token it may carry would be lost, so a bad
 * id_token is ignored (the account stays) and said in the grant's warning.
 */
struct spk_token_expect {
	const char *client_id; /* aud must name it; NULL: not checked */
	const char *issuer;    /* iss must equal it (discovery's issuer); NULL: not checked */
	const char *nonce;     /* the id_token's nonce; NULL: not checked */
	const char *scope;     /* requested: the granted scope when the answer names none */
	bool refresh;          /* the answer updates a stored grant (spk_grant_update) */
};

/* The clock skew allowed for an id_token's exp. */
#define SPK_ID_TOKEN_SKEW 120

/* Exchange an authorization code; *ret is a complete new grant. */
int spk_oauth_exchange_code(const struct spk_client *c, const char *code, const char *verifier,
			    const char *redirect_uri, const struct spk_token_expect *x, int64_t now,
			    struct spk_grant *ret, struct spk_error *err);

/* Use a refresh token; *ret holds what the provider sent (see spk_grant_update). */
int spk_oauth_refresh(const struct spk_client *c, const char *refresh_token, int64_t now,
		      struct spk_grant *ret, struct spk_error *err);

/* RFC 6749 §4.4: a token for the client itself. */
int spk_oauth_client_credentials(const struct spk_client *c, const char *scopes, int64_t now,
				 struct spk_grant *ret, struct spk_error *err);

/* RFC 8628 device authorization response. */
struct spk_device_auth {
	char *device_code; /* secret */
	char *user_code;
	char *verification_uri;
	char *verification_uri_complete; /* may be NULL */
	int64_t expires_in;
	int64_t interval; /* seconds between polls (default 5) */
};

int spk_oauth_device_authorize(const struct spk_client *c, const char *endpoint, const char *scopes,
			       struct spk_device_auth *ret, struct spk_error *err);
int spk_oauth_parse_device_auth(const struct spk_http_response *resp, const char *host,
				struct spk_device_auth *ret, struct spk_error *err);
/*
 * Poll once. 0 with a grant; -EAGAIN: authorization_pending; -EBUSY:
 * slow_down (add 5 s to the interval); other errors are final (err).
 */
int spk_oauth_device_poll(const struct spk_client *c, const char *device_code,
			  const struct spk_token_expect *x, int64_t now, struct spk_grant *ret,
			  struct spk_error *err);
void spk_device_auth_done(struct spk_device_auth *d);

/* RFC 7009: revoke token (hint: "refresh_token" or "access_token") at endpoint. */
int spk_oauth_revoke(const struct spk_client *c, const char *endpoint, const char *token,
		     const char *hint, struct spk_error *err);

/*
 * Read a token endpoint answer: a grant on success, else an error whose kind
 * says what the user must do (invalid_grant: log in again; invalid_client:
 * fix the configuration; 5xx, 429, unreadable: try again later). x may be
 * NULL (a new grant, no claims checked but exp).
 *
 * Only a missing or malformed access_token or refresh_token refuses an
 * answer; an unreadable secondary field (expires_in, token_type, scope; at a
 * refresh, the id_token) is ignored and named in ret->warning. No scope
 * means the one requested (RFC 6749 §5.1). expires_in may be fractional
 * (rounded down) or a string of digits; without it, a JWT access token's
 * exp is used, else expires_at is 0 (unknown).
 */
int spk_oauth_parse_token_response(const struct spk_http_response *resp, const char *host,
				   const struct spk_token_expect *x, int64_t now,
				   struct spk_grant *ret, struct spk_error *err);
/* Read a refusal (any status but 200) from an OAuth endpoint as the error above. */
int spk_oauth_parse_error(const struct spk_http_response *resp, const char *host,
			  struct spk_error *err);
