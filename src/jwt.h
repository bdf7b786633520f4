/*
 * JWTs as they come from the token endpoint, over TLS: their claims are
 * read, their signatures are not checked (OpenID Connect Core §3.1.3.7
 * item 6). The id_token's checks, and an access token's exp.
 */
#pragma once

#include <stdint.h>

#include "error.h"
#include "oauth.h"

/*
 * Check id_token against x (nonce, aud and azp, iss, exp; see struct
 * spk_token_expect) and say who logged in (from its claims, for display
 * only: *ret_account, or left alone when it names nobody).
 */
int spk_jwt_read_id_token(const char *id_token, const struct spk_token_expect *x, int64_t now,
			  char **ret_account, struct spk_error *err);

/*
 * No (readable) expires_in: a JWT access token's exp is all there is to
 * go by; an opaque token's lifetime stays unknown (0).
 */
int64_t spk_jwt_exp(const char *jwt);
