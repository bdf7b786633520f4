#include "provider.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "discovery.h"
#include "oauth.h"

static const unsigned xero_ports[] = { 8749, 8750, 8751 };
/* Google issues a refresh token only for offline access, asked with consent. */
static const char *const google_extra[] = { "access_type", "offline", "prompt", "consent", NULL };

/*
 * From the providers' own documentation. Xero's endpoints are fixed here:
 * its discovery document names hosts other than its issuer.
 */
static const struct spk_preset presets[] = {
	{
		.name = "oidc",
		.description = "any OpenID Connect issuer (--issuer URL), via discovery",
		.discovery = true,
		.default_scopes = "openid offline_access",
		.redirect_host = "127.0.0.1",
		.client_auth_with_secret = SPK_CLIENT_AUTH_BASIC,
	},
	{
		.name = "github",
		.description = "GitHub (OAuth and GitHub Apps)",
		.endpoints = {
			.authorization = "https://github.com/login/oauth/authorize",
			.token = "https://github.com/login/oauth/access_token",
			.device_authorization = "https://github.com/login/device/code",
		},
		.redirect_host = "127.0.0.1",
		.client_auth_with_secret = SPK_CLIENT_AUTH_POST,
		/* GitHub revokes through its REST API, not RFC 7009. */
		.manage_url = "https://github.com/settings/applications",
	},
	{
		.name = "google",
		.description = "Google (desktop app clients)",
		.endpoints = {
			.authorization = "https://accounts.google.com/o/oauth2/v2/auth",
			.token = "https://oauth2.googleapis.com/token",
			.revocation = "https://oauth2.googleapis.com/revoke",
			.device_authorization = "https://oauth2.googleapis.com/device/code",
			.userinfo = "https://openidconnect.googleapis.com/v1/userinfo",
		},
		.default_scopes = "openid email",
		.redirect_host = "127.0.0.1",
		.authorize_extra = google_extra,
		.client_auth_with_secret = SPK_CLIENT_AUTH_POST,
	},
	{
		.name = "microsoft",
		.description = "Microsoft Entra ID (tenant = common by default)",
		.endpoints = {
			.authorization = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
			.token = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
			.device_authorization = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
			.userinfo = "https://graph.microsoft.com/oidc/userinfo",
		},
		.default_scopes = "openid profile offline_access",
		.redirect_host = "localhost",
		.tenant_in_url = true,
		.client_auth_with_secret = SPK_CLIENT_AUTH_POST,
	},
	{
		.name = "xero",
		.description = "Xero accounting API",
		.endpoints = {
			.authorization = "https://login.xero.com/identity/connect/authorize",
			.token = "https://identity.xero.com/connect/token",
			.revocation = "https://identity.xero.com/connect/revocation",
			.userinfo = "https://identity.xero.com/connect/userinfo",
			.connections = "https://api.xero.com/connections",
		},
		.default_scopes = "openid profile email offline_access",
		.redirect_host = "localhost",
		.ports = xero_ports,
		.n_ports = ARRAY_SIZE(xero_ports),
		.refresh_idle_days = 60,
		/* "may be retried for 30 minutes after first use" (Xero's docs) */
		.refresh_reuse_grace = 30 * 60,
		.tenant_header = "Xero-Tenant-Id",
		.tenant_env = "XERO_TENANT_ID",
		/* Custom Connections and web apps: HTTP Basic, per Xero's docs. */
		.client_auth_with_secret = SPK_CLIENT_AUTH_BASIC,
	},
};

const struct spk_preset *spk_provider_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(presets); i++) {
		if (strcmp(presets[i].name, name) == 0) {
			return &presets[i];
		}
	}
	return NULL;
}

const char *spk_provider_names(void)
{
	return "github, google, microsoft, oidc, xero";
}

/* "{tenant}" in a preset URL becomes the profile's directory tenant. */
static char *expand_tenant(const char *url, const char *tenant)
{
	const char *at = url ? strstr(url, "{tenant}") : NULL;
	char *out = NULL;

	if (!at) {
		return url ? strdup(url) : NULL;
	}
	if (asprintf(&out, "%.*s%s%s", (int)(at - url), url, tenant, at + strlen("{tenant}")) < 0) {
		return NULL;
	}
	return out;
}

int spk_provider_resolve(const struct spk_profile *p, const struct spk_endpoints *known,
			 bool need_authorize, struct spk_provider *ret, struct spk_error *err)
{
	struct spk_provider prov = { 0 };
	struct spk_endpoints discovered = { 0 };
	const struct spk_endpoints *o = &p->endpoints;
	int r = 0;

	prov.preset = spk_provider_find(p->provider);
	if (!prov.preset) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				     "%s: unknown provider '%s' (known: %s)", p->name,
				     p->provider ? p->provider : "", spk_provider_names());
	}
	if (!p->client_id) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				     "%s: the profile has no client_id. Run: sparekey login %s "
				     "--client-id ID",
				     p->name, p->name);
	}
	const struct spk_preset *ps = prov.preset;
	/* Where each endpoint comes from, first match wins: override, known, preset. */
	struct spk_endpoints base = {
		.authorization = (char *)ps->endpoints.authorization,
		.token = (char *)ps->endpoints.token,
		.revocation = (char *)ps->endpoints.revocation,
		.device_authorization = (char *)ps->endpoints.device_authorization,
		.userinfo = (char *)ps->endpoints.userinfo,
		.connections = (char *)ps->endpoints.connections,
	};
	if (!ps->discovery && (o->authorization || o->token)) {
		/*
		 * Pointed at another server (a sandbox, a test peer): the preset's
		 * other endpoints belong to the real provider, which must never see
		 * that server's tokens. Only endpoints set explicitly are used.
		 */
		base = (struct spk_endpoints){ 0 };
	}
	if (ps->discovery) {
		if (!o->issuer) {
			return spk_error_set(
				err, SPK_ERR_CONFIG, -EINVAL,
				"%s: provider oidc needs an issuer. Run: sparekey login %s "
				"--issuer URL",
				p->name, p->name);
		}
		bool known_enough =
			known && known->token && (!need_authorize || known->authorization);
		bool overridden = o->token && (!need_authorize || o->authorization);
		if (known_enough && !need_authorize) {
			base = *known;
		} else if (!overridden) {
			r = spk_discovery_fetch(o->issuer, p->cacert, &discovered, err);
			if (r < 0) {
				return r;
			}
			base = discovered;
		}
	}
	const char *tenant = p->tenant ? p->tenant : "common";
	/*
	 * The issuer is the metadata's (RFC 9207 §2.4, RFC 8414 §3.3): it may
	 * differ from the one typed by a terminating "/", and the redirect's
	 * iss is compared with it exactly. Typed only where no metadata was read.
	 */
	const char *issuer = ps->discovery && base.issuer ? base.issuer : o->issuer;
	const struct {
		char **dst;
		const char *override, *fallback;
	} fields[] = {
		{ &prov.endpoints.issuer, issuer, NULL },
		{ &prov.endpoints.authorization, o->authorization, base.authorization },
		{ &prov.endpoints.token, o->token, base.token },
		{ &prov.endpoints.revocation, o->revocation, base.revocation },
		{ &prov.endpoints.device_authorization, o->device_authorization,
		  base.device_authorization },
		{ &prov.endpoints.userinfo, o->userinfo, base.userinfo },
		{ &prov.endpoints.connections, o->connections, base.connections },
	};
	for (size_t i = 0; i < ARRAY_SIZE(fields) && r == 0; i++) {
		const char *v = fields[i].override ? fields[i].override : fields[i].fallback;
		*fields[i].dst =
			ps->tenant_in_url ? expand_tenant(v, tenant) : (v ? strdup(v) : NULL);
		r = v && !*fields[i].dst ? -ENOMEM : 0;
	}
	spk_endpoints_done(&discovered);
	if (r < 0) {
		spk_provider_done(&prov);
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
	}

	prov.cacert = p->cacert;
	struct spk_redirect redirect;
	spk_provider_redirect(p, &redirect);
	prov.redirect_host = redirect.host;
	prov.redirect_path = redirect.path;
	prov.ports = redirect.ports;
	prov.n_ports = redirect.n_ports;
	*ret = prov;
	return 0;
}

int64_t spk_provider_refresh_idle_days(const struct spk_profile *p)
{
	if (p->refresh_idle_days >= 0) {
		return p->refresh_idle_days;
	}
	const struct spk_preset *preset = spk_provider_find(p->provider);
	return preset ? preset->refresh_idle_days : 0;
}

void spk_provider_redirect(const struct spk_profile *p, struct spk_redirect *ret)
{
	const struct spk_preset *preset = spk_provider_find(p->provider);

	*ret = (struct spk_redirect){
		.host = p->redirect_host ? p->redirect_host
			: preset         ? preset->redirect_host
					 : "127.0.0.1",
		.path = p->redirect_path ? p->redirect_path : "/callback",
		.ports = p->ports_set ? p->ports
			 : preset     ? preset->ports
				      : NULL,
		.n_ports = p->ports_set ? p->n_ports
			   : preset     ? preset->n_ports
					: 0,
	};
}

char *spk_provider_redirect_uris(const struct spk_profile *p)
{
	struct spk_redirect r;

	spk_provider_redirect(p, &r);
	if (r.n_ports == 0) {
		return NULL;
	}
	/* "http://" HOST ":" PORT (any unsigned: 10 digits) PATH, then a space or the NUL. */
	size_t each = strlen("http://") + strlen(r.host) + 1 + 10 + strlen(r.path) + 1;
	size_t cap = r.n_ports * each, n = 0;
	char *out = malloc(cap);
	if (!out) {
		return NULL;
	}
	for (size_t i = 0; i < r.n_ports; i++) {
		n += (size_t)snprintf(out + n, cap - n, "%shttp://%s:%u%s", i ? " " : "", r.host,
				      r.ports[i], r.path);
	}
	return out;
}

const char *spk_provider_tenant_header(const struct spk_profile *p)
{
	const struct spk_preset *preset = spk_provider_find(p->provider);
	return preset ? preset->tenant_header : NULL;
}

void spk_provider_exec_env(const struct spk_profile *p, struct spk_exec_env *ret)
{
	const struct spk_preset *preset = spk_provider_find(p->provider);

	*ret = (struct spk_exec_env){
		.token = p->exec_token_env ? p->exec_token_env : SPK_EXEC_TOKEN_ENV,
		.tenant = SPK_EXEC_TENANT_ENV,
		.tenant_alias = p->exec_tenant_env ? p->exec_tenant_env
				: preset           ? preset->tenant_env
						   : NULL,
	};
}

void spk_provider_done(struct spk_provider *prov)
{
	spk_endpoints_done(&prov->endpoints);
	*prov = (struct spk_provider){ 0 };
}

char *spk_provider_scopes(const struct spk_preset *preset, const char *user_scopes)
{
	const char *lists[] = { preset ? preset->default_scopes : NULL, user_scopes };
	size_t cap = 1, n = 0;

	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		cap += lists[l] ? strlen(lists[l]) + 1 : 0;
	}
	char *out = malloc(cap);
	if (!out) {
		return NULL;
	}
	out[0] = '\0';
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		for (const char *p = lists[l]; p && *p;) {
			p += strspn(p, " \t,");
			size_t len = strcspn(p, " \t,");
			char *sc = strndup(p, len);
			if (!sc) {
				free(out);
				return NULL;
			}
			if (*sc && !spk_scope_has(out, sc)) {
				n += (size_t)sprintf(out + n, "%s%s", n ? " " : "", sc);
			}
			free(sc);
			p += len;
		}
	}
	return out;
}

const char *const *spk_provider_authorize_extra(const struct spk_provider *prov, const char *scopes)
{
	/*
	 * OpenID Connect Core §11: offline_access is granted only with
	 * prompt=consent (oidc-provider drops it otherwise).
	 */
	static const char *const consent[] = { "prompt", "consent", NULL };

	if (prov->preset->discovery && spk_scope_has(scopes, "offline_access")) {
		return consent;
	}
	return prov->preset->authorize_extra;
}

int64_t spk_provider_refresh_reuse_grace(const struct spk_profile *p)
{
	if (p->refresh_reuse_grace >= 0) {
		return p->refresh_reuse_grace;
	}
	const struct spk_preset *preset = spk_provider_find(p->provider);
	return preset ? preset->refresh_reuse_grace : 0;
}

const char *spk_provider_manage_url(const struct spk_profile *p)
{
	const struct spk_preset *preset = spk_provider_find(p->provider);
	if (preset && preset->manage_url) {
		return preset->manage_url;
	}
	return p->endpoints.issuer;
}
