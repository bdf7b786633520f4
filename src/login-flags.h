/*
 * What `login`'s command-line flags make of a profile: each flag given
 * wins over the profile's key, which wins over the preset's default (the
 * scopes add the preset's defaults). A new profile must end up with a
 * provider and a client id. Pure: nothing is read or written here; the
 * caller stores the result (spk_config_put).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "profile.h"

struct spk_login_flags {
	const char *provider; /* --provider; NULL: not given (or, with issuer, "oidc") */
	const char *issuer;   /* --issuer */
	const char *client_id;
	const char *scope; /* --scope: the user's scopes, on top of the preset's */
	const char *store; /* "secret" or "file" */
	const char *tenant;
	const char *cacert;               /* an absolute path */
	enum spk_client_auth client_auth; /* SPK_CLIENT_AUTH_DEFAULT: not given */
	bool client_credentials;
	const unsigned *ports; /* --port, in order */
	size_t n_ports;
};

/*
 * Merge f into p (its profile as read, or one holding only its name and
 * config path). Another provider than the profile's drops the old one's
 * scopes and ports. Errors: SPK_ERR_USAGE with a message for a usage line
 * (a new profile without provider or client id, oidc without issuer, a
 * client-credentials profile logged in otherwise), SPK_ERR_INTERNAL when
 * out of memory. p is changed even then: the caller discards it.
 */
int spk_login_flags_apply(struct spk_profile *p, const struct spk_login_flags *f,
			  struct spk_error *err);
