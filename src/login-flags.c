#include "login-flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

/* *field = a copy of value, when value was given. */
static int replace(char **field, const char *value)
{
	if (!value) {
		return 0;
	}
	char *copy = strdup(value);
	if (!copy) {
		return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

static int apply_scopes(struct spk_profile *p, const char *scope_arg)
{
	/* The client's own token: exactly the scopes asked for, no OpenID defaults. */
	const struct spk_preset *preset =
		p->grant == SPK_GRANT_CLIENT_CREDENTIALS ? NULL : spk_provider_find(p->provider);
	if (scope_arg || !p->scopes) {
		char *s = spk_provider_scopes(preset, scope_arg ? scope_arg : p->scopes);
		if (!s) {
			return -ENOMEM;
		}
		free(p->scopes);
		p->scopes = s;
	}
	return 0;
}

int spk_login_flags_apply(struct spk_profile *p, const struct spk_login_flags *f,
			  struct spk_error *err)
{
	const char *provider = f->provider;

	if (f->n_ports > SPK_MAX_PORTS) {
		return spk_error_set(err, SPK_ERR_USAGE, -E2BIG, "at most %d --port options",
				     SPK_MAX_PORTS);
	}
	if (f->issuer && !provider) {
		provider = "oidc";
	}
	if (provider && p->provider && strcmp(provider, p->provider) != 0) {
		/* Another provider: the old one's scopes and ports mean nothing there. */
		free(p->scopes);
		p->scopes = NULL;
		p->ports_set = false;
		p->n_ports = 0;
	}
	int r = replace(&p->provider, provider);
	r = r < 0 ? r : replace(&p->endpoints.issuer, f->issuer);
	r = r < 0 ? r : replace(&p->client_id, f->client_id);
	r = r < 0 ? r : replace(&p->store, f->store);
	r = r < 0 ? r : replace(&p->tenant, f->tenant);
	r = r < 0 ? r : replace(&p->cacert, f->cacert);
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
	}
	if (f->client_auth != SPK_CLIENT_AUTH_DEFAULT) {
		p->client_auth = f->client_auth;
	}
	if (f->client_credentials) {
		p->grant = SPK_GRANT_CLIENT_CREDENTIALS;
	} else if (p->grant == SPK_GRANT_CLIENT_CREDENTIALS) {
		return spk_error_set(err, SPK_ERR_USAGE, -EINVAL,
				     "%s gets client-credentials tokens; log it in with "
				     "--client-credentials",
				     p->name);
	}
	if (!p->provider) {
		return spk_error_set(
			err, SPK_ERR_USAGE, -EINVAL,
			"%s is a new profile: name its provider with --provider xero or "
			"--issuer URL",
			p->name);
	}
	if (!p->client_id) {
		return spk_error_set(err, SPK_ERR_USAGE, -EINVAL,
				     "%s has no client id yet: add --client-id ID (from the "
				     "provider's developer portal)",
				     p->name);
	}
	if (strcmp(p->provider, "oidc") == 0 && !p->endpoints.issuer) {
		return spk_error_set(err, SPK_ERR_USAGE, -EINVAL,
				     "provider oidc needs --issuer URL");
	}
	if (apply_scopes(p, f->scope) < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	if (f->n_ports > 0) {
		memcpy(p->ports, f->ports, f->n_ports * sizeof(f->ports[0]));
		p->n_ports = f->n_ports;
		p->ports_set = true;
	}
	return 0;
}
