#include "jwt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "macro.h"
#include "secret.h"

/* A JWT's claims (the payload, not verified): 0, or -EBADMSG. */
static int jwt_claims(const char *jwt, struct spk_json **ret)
{
	const char *dot1 = strchr(jwt, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	_cleanup_free_ char *payload_b64 = NULL;
	_cleanup_secret_ char *payload = NULL;
	size_t len;

	if (!dot2 || strchr(dot2 + 1, '.')) {
		return -EBADMSG;
	}
	payload_b64 = strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!payload_b64 || spk_base64url_decode(payload_b64, &payload, &len) < 0 ||
	    spk_json_parse_object(payload, len, ret) < 0) {
		return -EBADMSG;
	}
	return 0;
}

/* 9999-12-31T23:59:59Z: a later exp is no time sparekey can store. */
#define MAX_EXP 253402300799LL

/*
 * OpenID Connect Core §3.1.3.7, for a token that came straight from the
 * token endpoint over TLS: the signature is not checked (§3.1.3.7 item 6),
 * the claims are. An id_token for another client or from another issuer
 * is a mix-up; an expired one is stale.
 */
static int check_id_token(const struct spk_json *claims, const struct spk_token_expect *x,
			  int64_t now, struct spk_error *err)
{
	_cleanup_free_ char *tok_nonce = NULL, *iss = NULL, *azp = NULL;
	int64_t exp;
	bool found = false;

	if (x->nonce && (spk_json_get_string(claims, "nonce", &tok_nonce) < 0 ||
			 !spk_memeq_ct(tok_nonce, strlen(tok_nonce), x->nonce, strlen(x->nonce)))) {
		return spk_error_set(err, SPK_ERR_LOGIN, -EACCES,
				     "the id_token does not belong to this login (nonce)");
	}
	if (x->client_id) {
		int n = spk_json_has_string(claims, "aud", x->client_id, &found);
		if (n < 0 || !found) {
			return spk_error_set(err, SPK_ERR_CONFIG, -EACCES,
					     "the id_token is not for this client (aud does not "
					     "name %.64s); nothing was stored. Check client_id",
					     x->client_id);
		}
		int r = spk_json_get_string(claims, "azp", &azp);
		if ((r == -EINVAL || (r == 0 && n > 1)) &&
		    (!azp || strcmp(azp, x->client_id) != 0)) {
			return spk_error_set(err, SPK_ERR_CONFIG, -EACCES,
					     "the id_token was issued to another client (azp); "
					     "nothing was stored. Check client_id");
		}
	}
	if (x->issuer &&
	    (spk_json_get_string(claims, "iss", &iss) < 0 || strcmp(iss, x->issuer) != 0)) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EACCES,
				     "the id_token comes from another issuer than %.100s (iss); "
				     "nothing was stored. Check the issuer URL",
				     x->issuer);
	}
	if (spk_json_get_seconds(claims, "exp", &exp) < 0 || exp > MAX_EXP) {
		return spk_error_set(
			err, SPK_ERR_LOGIN, -EBADMSG,
			"the id_token has no readable expiry (exp); nothing was stored");
	}
	if (exp + SPK_ID_TOKEN_SKEW <= now) {
		return spk_error_set(err, SPK_ERR_LOGIN, -EACCES,
				     "the id_token expired before it arrived (exp); nothing was "
				     "stored. Check this machine's clock, then log in again");
	}
	return 0;
}

int spk_jwt_read_id_token(const char *id_token, const struct spk_token_expect *x, int64_t now,
			  char **ret_account, struct spk_error *err)
{
	_cleanup_json_ struct spk_json *claims = NULL;

	if (jwt_claims(id_token, &claims) < 0) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				     "the provider sent a malformed id_token");
	}
	int r = check_id_token(claims, x, now, err);
	if (r < 0) {
		return r;
	}
	static const char *const claims_by_preference[] = { "email", "preferred_username", "name",
							    "sub" };
	for (size_t i = 0; i < ARRAY_SIZE(claims_by_preference); i++) {
		char *v = NULL;
		if (spk_json_get_string(claims, claims_by_preference[i], &v) == 0 && *v) {
			*ret_account = v;
			return 0;
		}
		free(v);
	}
	return 0;
}

int64_t spk_jwt_exp(const char *access_token)
{
	_cleanup_json_ struct spk_json *claims = NULL;
	int64_t exp = 0;

	if (jwt_claims(access_token, &claims) < 0 ||
	    spk_json_get_seconds(claims, "exp", &exp) < 0 || exp > MAX_EXP) {
		return 0;
	}
	return exp;
}
