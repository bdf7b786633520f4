#include "flow.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "fault.h"
#include "flow-internal.h"
#include "inflight.h"
#include "lock.h"
#include "log.h"
#include "loopback.h"
#include "oauth.h"
#include "provider.h"
#include "secret.h"
#include "store.h"
#include "tenants.h"
#include "transfer.h"
#include "worker.h"

/* The lifetime assumed for g's access token when its expiry is unknown; 0: none. */
static int64_t assumed_lifetime(const struct spk_profile *p, const struct spk_grant *g)
{
	if (!g->refresh_token && p->grant != SPK_GRANT_CLIENT_CREDENTIALS) {
		return 0; /* nothing can renew it: it is used for as long as it works */
	}
	return p->assume_lifetime > 0 ? p->assume_lifetime : SPK_DEFAULT_ASSUME_LIFETIME;
}

/*
 * How long g must stay valid: what the caller or the profile asked for, or
 * the built-in default capped at half the token's lifetime (so that
 * 60-second tokens are not refreshed on every call).
 */
int64_t spk_flow_margin(const struct spk_profile *p, const struct spk_grant *g, int64_t min_valid)
{
	if (min_valid >= 0) {
		return min_valid;
	}
	return p->min_valid >= 0 ? p->min_valid
				 : spk_grant_margin(g, assumed_lifetime(p, g), SPK_DEFAULT_MIN_VALID);
}

int64_t spk_flow_valid_for(const struct spk_profile *p, const struct spk_grant *g, int64_t now)
{
	return spk_grant_valid_for(g, assumed_lifetime(p, g), now);
}

/* Drop p's runtime cache entry (after logout, export, or with cache = none). */
void spk_flow_cache_drop(const struct spk_profile *p)
{
	_cleanup_free_ char *dir = spk_path_runtime_dir();
	if (dir) {
		(void)spk_cache_remove(dir, p->name);
	}
}

/*
 * Let the next `token` answer from the runtime cache. Best effort: without
 * a runtime dir, or on any error, the keyring path simply stays the way.
 */
void spk_flow_cache_put(const struct spk_profile *p, const struct spk_grant *g)
{
	_cleanup_free_ char *dir = spk_path_runtime_dir();

	if (p->cache_none || g->expires_at == 0) {
		spk_flow_cache_drop(p);
		return;
	}
	if (!dir) {
		return;
	}
	struct spk_cache_entry e = {
		.expires_at = g->expires_at,
		.min_valid = spk_flow_margin(p, g, -1),
		.access_token = g->access_token,
	};
	spk_config_stamp_of(p->config_path, &e.config);
	int r = spk_cache_write(dir, p->name, &e);
	if (r < 0) {
		spk_log("cache %s: not written (%s)", p->name, strerror(-r));
	}
}

char *spk_flow_lock_dir(void)
{
	/* The runtime dir is per session and on tmpfs; the state dir serves cron without one. */
	char *dir = spk_path_runtime_dir();
	return dir ? dir : spk_path_state_dir();
}

/*
 * A new login replaces the grant; a rescue journal from the old one must
 * not overwrite it later, and a cut-off refresh of the old one is moot:
 * both go, under the lock.
 */
static int store_login(const struct spk_profile *p, const struct spk_grant *g,
		       const char *client_secret, struct spk_error *err)
{
	_cleanup_free_ char *dir = spk_flow_lock_dir();
	int fd = -1;
	int r = dir ? spk_lock_take(dir, p->name, SPK_LOCK_TIMEOUT_MS, &fd, err) : 0;

	if (r < 0) {
		return r;
	}
	r = spk_store_rescue_remove(p, err);
	if (r == 0) {
		(void)spk_inflight_remove(p);
	}
	if (r == 0 && client_secret) {
		r = spk_store_save_client_secret(p, client_secret, err);
	}
	if (r == 0) {
		r = spk_store_save(p, g, err);
	}
	if (r == 0) {
		spk_flow_cache_put(p, g);
	}
	spk_lock_release(fd);
	return r;
}

/*
 * The client for p's token endpoint. secret: the one to use (NULL: the
 * stored one, if any). *ret_owned holds a loaded secret for the caller to free.
 */
int spk_flow_make_client(const struct spk_profile *p, const struct spk_provider *prov,
		       const char *secret, struct spk_client *ret, char **ret_owned,
		       struct spk_error *err)
{
	*ret_owned = NULL;
	if (!secret) {
		int r = spk_store_load_client_secret(p, ret_owned, err);
		if (r < 0 && r != -ENOENT) {
			return r;
		}
		secret = *ret_owned;
	}
	if (p->grant == SPK_GRANT_CLIENT_CREDENTIALS && !secret) {
		return spk_error_set(err, SPK_ERR_CONFIG, -ENOKEY,
				     "%s: client credentials need the client secret, and none is "
				     "stored. Run: sparekey login %s --client-credentials "
				     "--client-secret-file FILE", p->name, p->name);
	}
	enum spk_client_auth auth = p->client_auth;
	if (auth == SPK_CLIENT_AUTH_DEFAULT) {
		auth = secret ? prov->preset->client_auth_with_secret : SPK_CLIENT_AUTH_NONE;
	}
	if (auth != SPK_CLIENT_AUTH_NONE && !secret) {
		return spk_error_set(err, SPK_ERR_CONFIG, -ENOKEY,
				     "%s: the client authenticates with a secret (client_auth %s) but "
				     "none is stored. Run: sparekey login %s --client-secret-file FILE",
				     p->name, spk_client_auth_to_string(auth), p->name);
	}
	*ret = (struct spk_client){
		.token_endpoint = prov->endpoints.token,
		.id = p->client_id,
		.secret = auth == SPK_CLIENT_AUTH_NONE ? NULL : secret,
		.auth = auth,
		.cacert = prov->cacert,
	};
	return 0;
}

#define PASTE_MAX 8192

struct paste {
	int fd;
	char buf[PASTE_MAX];
	size_t len;
};

/*
 * Read what is available on the paste fd. 1 when a whole line is in
 * p->buf (NUL-terminated, without the newline); 0 for more to come; at
 * end of input with nothing read, the fd is dropped (p->fd = -1).
 */
static int paste_read(struct paste *p)
{
	ssize_t n = read(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
	if (n < 0) {
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	char *nl = strchr(p->buf, '\n');
	if (nl) {
		*nl = '\0';
		return 1;
	}
	if (n == 0) {
		if (p->len == 0) {
			p->fd = -1; /* stdin closed: only the loopback redirect can come */
			return 0;
		}
		return 1;
	}
	return p->len == sizeof(p->buf) - 1 ? -E2BIG : 0;
}

/* Authorization code with PKCE; the code comes by redirect or is pasted. */
static int login_browser(const struct spk_profile *p, const struct spk_provider *prov,
			 const struct spk_client *c, const struct spk_login_options *o,
			 const struct spk_login_ui *ui, struct spk_grant *ret,
			 struct spk_error *err)
{
	struct spk_pkce pkce = { 0 };
	struct spk_loopback *lb = NULL;
	struct spk_callback cb = { 0 };
	struct paste paste = { .fd = o->paste_fd };
	_cleanup_free_ char *state = NULL, *nonce = NULL, *url = NULL;
	int r;

	const char *scopes = p->scopes;
	if (spk_random_token(32, &state) < 0 || spk_pkce_new(&pkce) < 0 ||
	    (spk_scope_has(scopes, "openid") && spk_random_token(32, &nonce) < 0)) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -EIO, "cannot get random bytes");
		goto out;
	}
	r = spk_http_check_url("the authorization endpoint", prov->endpoints.authorization, err);
	if (r < 0) {
		goto out;
	}
	const char *issuer = prov->preset->discovery ? prov->endpoints.issuer : NULL;
	struct spk_loopback_config lc = {
		.host = prov->redirect_host,
		.path = prov->redirect_path,
		.ports = prov->ports,
		.n_ports = prov->n_ports,
		.state = state,
		.issuer = issuer,
		.profile = p->name,
	};
	r = spk_loopback_start(&lc, &lb, err);
	if (r < 0) {
		goto out;
	}
	const char *redirect_uri = spk_loopback_redirect_uri(lb);
	struct spk_authorize_params ap = {
		.endpoint = prov->endpoints.authorization,
		.client_id = p->client_id,
		.redirect_uri = redirect_uri,
		.scopes = scopes,
		.state = state,
		.nonce = nonce,
		.code_challenge = pkce.challenge,
		.extra = spk_provider_authorize_extra(prov, scopes),
	};
	r = spk_oauth_authorize_url(&ap, &url);
	if (r < 0) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
		goto out;
	}
	if (ui && ui->authorize) {
		ui->authorize(ui->userdata, redirect_uri, spk_loopback_port(lb), url);
	}

	/* Whichever comes first: the redirect, or a line pasted on paste_fd. */
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = (long)o->timeout_s * 1000 - ((now.tv_sec - start.tv_sec) * 1000 +
							  (now.tv_nsec - start.tv_nsec) / 1000000);
		if (ui && ui->tick && left > 0) {
			ui->tick(ui->userdata, (int)((left + 999) / 1000));
		}
		/* With a countdown to show, wake at each whole second left. */
		int slice = (int)left;
		if (ui && ui->tick && left > 1000) {
			slice = left % 1000 ? (int)(left % 1000) : 1000;
		}
		r = left > 0 ? spk_loopback_wait(lb, slice, paste.fd, &cb, err) : -ETIMEDOUT;
		if (r == -ETIMEDOUT && left > slice) {
			continue;
		}
		if (r != 1) {
			break;
		}
		r = paste_read(&paste);
		if (r < 0) {
			r = spk_error_set(err, SPK_ERR_LOGIN, r, "cannot read the pasted address "
					  "(too long?); nothing was exchanged");
			goto out;
		}
		if (r == 1) {
			r = spk_callback_parse_pasted(paste.buf, state, issuer, &cb, err);
			spk_wipe(paste.buf, sizeof(paste.buf));
			break;
		}
	}
	if (r == -ETIMEDOUT) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, r,
				  "no answer from the browser within %d s; nothing was stored. "
				  "Run the login again (--timeout SECS allows longer)", o->timeout_s);
		goto out;
	}
	if (r < 0) {
		goto out;
	}
	if (ui && ui->exchanging) {
		ui->exchanging(ui->userdata);
	}
	const struct spk_token_expect x = {
		.client_id = p->client_id, .issuer = issuer, .nonce = nonce, .scope = scopes,
	};
	r = spk_oauth_exchange_code(c, cb.code, pkce.verifier, redirect_uri, &x,
				    (int64_t)time(NULL), ret, err);
out:
	spk_loopback_free(lb);
	spk_callback_done(&cb);
	spk_pkce_done(&pkce);
	return r;
}

/* RFC 8628: show a code, poll until the person has approved it elsewhere. */
static int login_device(const struct spk_profile *p, const struct spk_provider *prov,
			const struct spk_client *c, const struct spk_login_options *o,
			const struct spk_login_ui *ui, struct spk_grant *ret,
			struct spk_error *err)
{
	struct spk_device_auth d = { 0 };

	if (!prov->endpoints.device_authorization) {
		return spk_error_set(err, SPK_ERR_CONFIG, -ENOTSUP,
				     "%s: the provider has no device authorization endpoint; sign in "
				     "with the browser instead (--no-browser or --paste on a remote "
				     "machine)", p->name);
	}
	int r = spk_oauth_device_authorize(c, prov->endpoints.device_authorization, p->scopes, &d, err);
	if (r < 0) {
		return r;
	}
	if (ui && ui->device) {
		ui->device(ui->userdata, d.user_code, d.verification_uri, d.verification_uri_complete,
			   d.expires_in);
	}
	int64_t deadline = (int64_t)time(NULL) + (d.expires_in < o->timeout_s ? d.expires_in : o->timeout_s);
	int64_t interval = d.interval;
	const struct spk_token_expect x = {
		.client_id = p->client_id,
		.issuer = prov->preset->discovery ? prov->endpoints.issuer : NULL,
		.scope = p->scopes,
	};
	for (;;) {
		int64_t left = deadline - (int64_t)time(NULL);
		if (left <= 0) {
			r = spk_error_set(err, SPK_ERR_TEMPFAIL, -ETIMEDOUT,
					  "the sign-in was not completed in time; nothing was stored. "
					  "Run the login again");
			break;
		}
		/* The last poll comes at the deadline, not after it. */
		sleep((unsigned)(interval < left ? interval : left));
		if (ui && ui->tick) {
			ui->tick(ui->userdata, (int)(deadline - (int64_t)time(NULL)));
		}
		r = spk_oauth_device_poll(c, d.device_code, &x, (int64_t)time(NULL), ret, err);
		if (r == -EAGAIN) {
			continue;
		}
		if (r == -EBUSY) {
			interval += 5; /* RFC 8628 §3.5 */
			spk_log("device: slow_down, polling every %lld s", (long long)interval);
			continue;
		}
		break;
	}
	spk_device_auth_done(&d);
	return r;
}

/*
 * Which organisation a fresh grant acts on: the profile's tenant (by name
 * or id), the only one, the person's pick, or the first.
 */
static int choose_tenant(const struct spk_profile *p, const struct spk_provider *prov,
			 const struct spk_login_ui *ui, struct spk_grant *g, struct spk_error *err)
{
	struct spk_tenant *tenants = NULL;
	size_t n = 0;
	int r = spk_tenants_fetch(prov->endpoints.connections, g->access_token, prov->cacert,
				  &tenants, &n, err);

	if (r < 0) {
		return r;
	}
	spk_grant_set_tenants(g, tenants, n);
	free(g->tenant_id);
	g->tenant_id = NULL;
	if (n == 0) {
		return 0;
	}
	const struct spk_tenant *pick = &g->tenants[0];
	if (p->tenant) {
		pick = spk_grant_find_tenant(g, p->tenant);
		if (!pick) {
			return spk_error_set(err, SPK_ERR_CONFIG, -ENOENT,
					     "%s: no connected organisation is called '%s'; nothing was "
					     "stored. Connect it when consenting, or choose another "
					     "(--tenant NAME|ID)", p->name, p->tenant);
		}
	} else if (n > 1 && ui && ui->pick_tenant) {
		int i = ui->pick_tenant(ui->userdata, g->tenants, n);
		pick = &g->tenants[i >= 0 && (size_t)i < n ? (size_t)i : 0];
	}
	g->tenant_id = strdup(pick->id);
	return g->tenant_id ? 0 : -ENOMEM;
}

int spk_flow_login(const struct spk_profile *p, const struct spk_login_options *o,
		   const struct spk_login_ui *ui, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_provider prov = { 0 };
	struct spk_client c;
	struct spk_grant g = { 0 };
	_cleanup_secret_ char *stored_secret = NULL;
	int r;

	r = spk_provider_resolve(p, NULL, o->mode == SPK_LOGIN_BROWSER, &prov, err);
	if (r < 0) {
		return r;
	}
	r = spk_http_check_url("the token endpoint", prov.endpoints.token, err);
	if (r == 0) {
		r = spk_flow_make_client(p, &prov, o->client_secret, &c, &stored_secret, err);
	}
	if (r < 0) {
		goto out;
	}
	switch (o->mode) {
	case SPK_LOGIN_BROWSER:
		r = login_browser(p, &prov, &c, o, ui, &g, err);
		break;
	case SPK_LOGIN_DEVICE:
		r = login_device(p, &prov, &c, o, ui, &g, err);
		break;
	case SPK_LOGIN_CLIENT_CREDENTIALS:
		r = spk_oauth_client_credentials(&c, p->scopes, (int64_t)time(NULL), &g, err);
		break;
	}
	if (r < 0) {
		goto out;
	}
	if (prov.preset->discovery) {
		/* Kept with the grant: refreshes need no discovery round trip. */
		r = spk_endpoints_copy(&prov.endpoints, &g.endpoints);
	}
	if (r == 0 && prov.endpoints.connections) {
		r = choose_tenant(p, &prov, ui, &g, err);
	}
	if (r < 0 && err && err->kind == SPK_ERR_NONE) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
	}
	if (r < 0) {
		goto out;
	}
	r = store_login(p, &g, o->client_secret, err);
	if (r < 0) {
		goto out;
	}
	*ret = g;
	g = (struct spk_grant){ 0 };
out:
	spk_grant_done(&g);
	spk_provider_done(&prov);
	return r;
}

int spk_flow_lock_profile(const struct spk_profile *p, int *ret_fd, struct spk_error *err)
{
	_cleanup_free_ char *dir = spk_flow_lock_dir();

	if (!dir) {
		return spk_error_set(err, SPK_ERR_CONFIG, -ENOENT,
				     "no directory for the refresh lock: set XDG_RUNTIME_DIR or HOME");
	}
	/* The front may have taken the lock already and handed it over. */
	int r = spk_lock_inherited(dir, p->name, ret_fd);
	if (r < 0) {
		r = spk_lock_take(dir, p->name, SPK_LOCK_TIMEOUT_MS, ret_fd, err);
	}
	if (r < 0) {
		return r;
	}
	/* A refreshed grant left by a crash or a failed store write comes first. */
	r = spk_store_rescue_complete(p, err);
	if (r < 0) {
		spk_lock_release(*ret_fd);
		*ret_fd = -1;
		return r;
	}
	return 0;
}


int spk_flow_export_begin(const struct spk_config *cfg, const struct spk_profile *p,
			  char **ret_json, int *ret_lock, struct spk_error *err)
{
	struct spk_transfer t = { 0 };
	int fd = -1;
	int r = spk_flow_lock_profile(p, &fd, err);

	if (r < 0) {
		return r;
	}
	t.profile = strdup(p->name);
	r = t.profile ? spk_config_export_settings(cfg, p->name, &t.keys, &t.values, err)
		      : spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	if (r == 0) {
		r = spk_store_load(p, &t.grant, err);
	}
	if (r == 0) {
		r = spk_store_load_client_secret(p, &t.client_secret, err);
		r = r == -ENOENT ? 0 : r;
	}
	if (r == 0 && spk_transfer_to_json(&t, ret_json) < 0) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	spk_transfer_done(&t);
	if (r < 0) {
		spk_lock_release(fd);
		return r;
	}
	*ret_lock = fd;
	return 0;
}

int spk_flow_export_end(const struct spk_profile *p, int lock, bool remove,
			struct spk_error *err)
{
	int r = 0;

	if (remove) {
		spk_flow_cache_drop(p);
		r = spk_store_remove(p, err);
		if (r == 0 || r == -ENOENT) {
			r = spk_store_remove_client_secret(p, err);
			r = r == -ENOENT ? 0 : r;
		}
	}
	spk_lock_release(lock);
	return r;
}

int spk_flow_import(struct spk_config *cfg, const char *name, const char *store,
		    const char *json, size_t len, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_transfer t = { 0 };
	struct spk_profile p = SPK_PROFILE_INIT;
	int r = spk_transfer_from_json(json, len, &t, err);

	if (r < 0) {
		return r;
	}
	r = spk_config_import_settings(cfg, name, t.keys, t.values, err);
	if (r == 0 && store) {
		struct spk_profile s = SPK_PROFILE_INIT;
		s.name = (char *)name;
		s.store = (char *)store;
		r = spk_config_put(cfg, &s, err);
	}
	if (r == 0) {
		r = spk_config_get(cfg, name, &p, err);
	}
	if (r == 0) {
		r = spk_config_save(cfg, err);
	}
	if (r == 0) {
		r = store_login(&p, &t.grant, t.client_secret, err);
	}
	if (r == 0 && !t.client_secret) {
		/* A secret left from an earlier client would be used with the new one. */
		r = spk_store_remove_client_secret(&p, err);
		r = r == -ENOENT ? 0 : r;
	}
	if (r == 0) {
		*ret = t.grant;
		t.grant = (struct spk_grant){ 0 };
	}
	spk_profile_done(&p);
	spk_transfer_done(&t);
	return r;
}

int spk_flow_probe_lock(const struct spk_profile *p, struct spk_error *err)
{
	_cleanup_free_ char *dir = spk_flow_lock_dir();
	struct spk_error e = { 0 };
	int fd = -1;

	if (!dir) {
		return spk_error_set(err, SPK_ERR_CONFIG, -ENOENT,
				     "no directory for the refresh lock: set XDG_RUNTIME_DIR or HOME");
	}
	int r = spk_lock_take(dir, p->name, 0, &fd, &e);
	spk_lock_release(fd);
	if (r == -ETIMEDOUT) {
		return 0; /* held: someone is refreshing right now, which is fine */
	}
	if (r < 0 && err && err->kind == SPK_ERR_NONE) {
		*err = e;
	}
	return r;
}

int spk_flow_tenants_refresh(const struct spk_profile *p, struct spk_grant *ret,
			     struct spk_error *err)
{
	struct spk_provider prov = { 0 };
	struct spk_grant g = { 0 };
	struct spk_tenant *tenants = NULL;
	size_t n = 0;
	int fd = -1;

	/* A token valid for the call, then the lock so no rotation races the write. */
	int r = spk_flow_token(p, -1, &g, err);
	if (r == 0) {
		r = spk_provider_resolve(p, &g.endpoints, false, &prov, err);
	}
	if (r == 0 && !prov.endpoints.connections) {
		r = spk_error_set(err, SPK_ERR_CONFIG, -ENOTSUP,
				  "%s: provider %s has no organisations to list (no "
				  "connections_endpoint)", p->name, p->provider);
	}
	if (r == 0) {
		r = spk_tenants_fetch(prov.endpoints.connections, g.access_token, prov.cacert,
				      &tenants, &n, err);
	}
	spk_grant_done(&g);
	spk_provider_done(&prov);
	if (r == 0) {
		r = spk_flow_lock_profile(p, &fd, err);
	}
	if (r == 0) {
		r = spk_store_load(p, &g, err);
	}
	if (r == 0) {
		spk_grant_set_tenants(&g, TAKE_PTR(tenants), n);
		/* The chosen organisation stays chosen; if it is gone, none is. */
		const char *want = p->tenant ? p->tenant : g.tenant_id;
		const struct spk_tenant *keep = spk_grant_find_tenant(&g, want);
		char *id = keep ? strdup(keep->id) : !want && n > 0 ? strdup(g.tenants[0].id) : NULL;
		free(g.tenant_id);
		g.tenant_id = id;
		r = spk_store_save(p, &g, err);
	}
	spk_lock_release(fd);
	spk_tenants_free(tenants, n);
	if (r < 0) {
		spk_grant_done(&g);
		return r;
	}
	*ret = g;
	return 0;
}

int spk_flow_logout(const struct spk_profile *p, bool keep_remote, struct spk_error *err)
{
	struct spk_grant g = { 0 };
	struct spk_error remote = { 0 };
	struct spk_worker *w = NULL;
	int fd = -1;
	int r = spk_flow_lock_profile(p, &fd, err);

	if (r < 0) {
		return r;
	}
	struct spk_error load_err = { 0 };
	bool have_grant = spk_store_load(p, &g, &load_err) == 0;
	if (!have_grant && load_err.kind != SPK_ERR_LOGIN) {
		/* The store is unreachable: nothing can be done now. */
		spk_lock_release(fd);
		if (err && err->kind == SPK_ERR_NONE) {
			*err = load_err;
		}
		return load_err.code;
	}
	bool unrevocable = false;
	if (have_grant && !keep_remote) {
		struct spk_provider prov = { 0 };
		struct spk_client c;
		_cleanup_secret_ char *secret = NULL;
		r = spk_provider_resolve(p, &g.endpoints, false, &prov, &remote);
		/* Nothing to send then: a person revokes it by hand (the caller says where). */
		unrevocable = r == 0 && !prov.endpoints.revocation;
		if (r == 0 && !unrevocable) {
			r = spk_flow_make_client(p, &prov, NULL, &c, &secret, &remote);
		}
		if (r == 0 && !unrevocable) {
			/*
			 * Revoking the refresh token ends the grant (and, at Xero,
			 * its connections). The worker sends it; if this process
			 * dies, the worker deletes the grant here too.
			 */
			struct spk_worker_job job = {
				.op = SPK_WORKER_REVOKE,
				.grant = &g,
				.client = &c,
				.revocation_endpoint = prov.endpoints.revocation,
			};
			r = spk_worker_exchange(p, &job, fd, &w, NULL, &remote);
			spk_fault_kill("kill-after-revoke");
		}
		spk_provider_done(&prov);
	}
	spk_grant_done(&g);

	spk_flow_cache_drop(p);
	int rg = spk_store_remove(p, err);
	int rs = spk_store_remove_client_secret(p, rg == -ENOENT || rg == 0 ? err : NULL);
	(void)spk_store_rescue_remove(p, NULL);
	(void)spk_inflight_remove(p);
	spk_worker_finish(w, true);
	spk_lock_release(fd);
	if (rg < 0 && rg != -ENOENT) {
		return rg;
	}
	if (rs < 0 && rs != -ENOENT) {
		return rs;
	}
	if (remote.kind != SPK_ERR_NONE) {
		return spk_error_set_oauth(err, remote.kind, remote.code, remote.oauth,
					   "%s: the grant was deleted here, but revoking it at the "
					   "provider failed: %s", p->name, remote.msg);
	}
	if (!have_grant && rs != 0) {
		return -ENOENT;
	}
	return unrevocable ? SPK_LOGOUT_NOT_REVOKED : 0;
}
