/*
 * Providers: built-in presets with the providers' documented endpoints and
 * habits, and generic OpenID issuers found by discovery. A profile names
 * one; its endpoint keys override whatever the preset or discovery says.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "profile.h"

struct spk_preset {
	const char *name;
	const char *description;
	struct {
		const char *authorization, *token, *revocation, *device_authorization, *userinfo,
			*connections;
	} endpoints;
	bool discovery;             /* endpoints come from the issuer's discovery document */
	const char *default_scopes; /* requested on top of what the user names */
	const char *redirect_host;
	const unsigned *ports; /* tried in order; none: ephemeral */
	size_t n_ports;
	int refresh_idle_days;   /* refresh tokens die after this long unused; 0: unknown */
	int refresh_reuse_grace; /* seconds a spent refresh token is taken again; 0: never */
	const char *const *authorize_extra; /* always sent: NULL-terminated pairs */
	bool tenant_in_url; /* {tenant} in the endpoints is the profile's tenant (microsoft) */
	const char
		*tenant_header; /* names the organisation on API calls (token --header), or NULL */
	const char *tenant_env; /* exec sets it to the organisation too, or NULL */
	enum spk_client_auth client_auth_with_secret; /* how a client with a secret authenticates */
	const char *manage_url; /* where a person revokes an app's access by hand, or NULL */
};

/* NULL when there is no such preset. */
const struct spk_preset *spk_provider_find(const char *name);
/* "xero, oidc": for messages. */
const char *spk_provider_names(void);

/* Everything needed to talk to the provider of one profile. */
struct spk_provider {
	const struct spk_preset *preset;
	struct spk_endpoints endpoints; /* resolved: preset/discovery, then overrides */
	const char *redirect_host;      /* borrowed from the profile or preset */
	const char *redirect_path;
	const unsigned *ports;
	size_t n_ports;
	const char *cacert; /* the profile's CA bundle, or NULL */
};

/*
 * Resolve p's provider. known: endpoints discovered earlier (kept with the
 * grant), or NULL. Discovery runs only when an endpoint the caller needs
 * is not known otherwise (need_authorize: also the authorize URL). For a
 * discovered issuer, endpoints.issuer is the one its metadata names (a
 * redirect's iss must equal it, RFC 9207), the profile's only when no
 * metadata was read. The result borrows from p, which must outlive it.
 */
int spk_provider_resolve(const struct spk_profile *p, const struct spk_endpoints *known,
			 bool need_authorize, struct spk_provider *ret, struct spk_error *err);
void spk_provider_done(struct spk_provider *prov);

/* Where p's login redirect goes: the profile's settings over the preset's. */
struct spk_redirect {
	const char *host;      /* "localhost" or "127.0.0.1" */
	const char *path;      /* "/callback" unless the profile says otherwise */
	const unsigned *ports; /* tried in order; none: any free port */
	size_t n_ports;
};
/* Borrowed from p and the preset table. */
void spk_provider_redirect(const struct spk_profile *p, struct spk_redirect *ret);
/*
 * Every redirect URI p's app must register, exactly, space-separated
 * ("http://localhost:8749/callback http://localhost:8750/callback ..."):
 * the caller's to free. NULL when any port will do, or out of memory.
 */
char *spk_provider_redirect_uris(const struct spk_profile *p);

/* The header naming p's organisation on API calls (Xero-Tenant-Id), or NULL. */
const char *spk_provider_tenant_header(const struct spk_profile *p);

/* What `exec` names its environment variables, whatever the provider. */
#define SPK_EXEC_TOKEN_ENV "SPAREKEY_ACCESS_TOKEN"
#define SPK_EXEC_TENANT_ENV "SPAREKEY_TENANT_ID"

struct spk_exec_env {
	const char *token;        /* the access token: exec_token_env, else SPK_EXEC_TOKEN_ENV */
	const char *tenant;       /* the organisation: SPK_EXEC_TENANT_ENV */
	const char *tenant_alias; /* the organisation again: exec_tenant_env, else the
				   * preset's tenant_env (XERO_TENANT_ID), or NULL */
};
/* The variables exec sets for p; borrowed from p and the preset table. */
void spk_provider_exec_env(const struct spk_profile *p, struct spk_exec_env *ret);

/* Days a refresh token of p lives unused: the profile's, else the preset's; 0 = unknown. */
int64_t spk_provider_refresh_idle_days(const struct spk_profile *p);

/*
 * Seconds after its first use that p's provider still takes a spent
 * refresh token (Xero: 30 minutes): the profile's, else the preset's; 0 = never.
 */
int64_t spk_provider_refresh_reuse_grace(const struct spk_profile *p);

/*
 * Where a person revokes p's access by hand, for a provider without a
 * revocation endpoint: the preset's page, else the issuer; NULL if unknown.
 */
const char *spk_provider_manage_url(const struct spk_profile *p);

/* The scopes to request: the preset's defaults first, then the user's, no repeats. */
char *spk_provider_scopes(const struct spk_preset *preset, const char *user_scopes);

/* Extra authorize parameters for this request (NULL-terminated pairs). */
const char *const *spk_provider_authorize_extra(const struct spk_provider *prov,
						const char *scopes);
