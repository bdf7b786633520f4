#include "flow.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "fault.h"
#include "lock.h"
#include "log.h"
#include "loopback.h"
#include "oauth.h"
#include "provider.h"
#include "secret.h"
#include "store.h"

int64_t spk_flow_min_valid(const struct spk_profile *p)
{
	return p->min_valid >= 0 ? p->min_valid : SPK_DEFAULT_MIN_VALID;
}

static char *lock_dir(void)
{
	/* The runtime dir is per session and on tmpfs; the state dir serves cron without one. */
	char *dir = spk_path_runtime_dir();
	return dir ? dir : spk_path_state_dir();
}

/*
 * A new login replaces the grant; a rescue journal from the old one must
 * not overwrite it later, so it goes, under the lock.
 */
static int store_login(const struct spk_profile *p, const struct spk_grant *g,
		       struct spk_error *err)
{
	_cleanup_free_ char *dir = lock_dir();
	int fd = -1;
	int r = dir ? spk_lock_take(dir, p->name, SPK_LOCK_TIMEOUT_MS, &fd, err) : 0;

	if (r < 0) {
		return r;
	}
	r = spk_store_rescue_remove(p, err);
	if (r == 0) {
		r = spk_store_save(p, g, err);
	}
	spk_lock_release(fd);
	return r;
}

int spk_flow_login(const struct spk_profile *p, int timeout_s, const struct spk_login_ui *ui,
		   struct spk_grant *ret, struct spk_error *err)
{
	struct spk_provider prov = { 0 };
	struct spk_pkce pkce = { 0 };
	struct spk_loopback *lb = NULL;
	struct spk_callback cb = { 0 };
	struct spk_grant g = { 0 };
	_cleanup_free_ char *state = NULL, *nonce = NULL, *url = NULL;
	int r;

	r = spk_provider_resolve(p, true, &prov, err);
	if (r < 0) {
		return r;
	}
	const char *scopes = p->scopes;
	if (spk_random_token(32, &state) < 0 || spk_pkce_new(&pkce) < 0 ||
	    (spk_scope_has(scopes, "openid") && spk_random_token(32, &nonce) < 0)) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -EIO, "cannot get random bytes");
		goto out;
	}
	r = spk_http_check_url("the authorization endpoint", prov.endpoints.authorization, err);
	if (r < 0) {
		goto out;
	}
	r = spk_http_check_url("the token endpoint", prov.endpoints.token, err);
	if (r < 0) {
		goto out;
	}

	struct spk_loopback_config lc = {
		.host = prov.redirect_host,
		.path = prov.redirect_path,
		.ports = prov.ports,
		.n_ports = prov.n_ports,
		.state = state,
		.issuer = prov.preset->discovery ? prov.endpoints.issuer : NULL,
		.profile = p->name,
	};
	r = spk_loopback_start(&lc, &lb, err);
	if (r < 0) {
		goto out;
	}
	const char *redirect_uri = spk_loopback_redirect_uri(lb);
	struct spk_authorize_params ap = {
		.endpoint = prov.endpoints.authorization,
		.client_id = p->client_id,
		.redirect_uri = redirect_uri,
		.scopes = scopes,
		.state = state,
		.nonce = nonce,
		.code_challenge = pkce.challenge,
		.extra = spk_provider_authorize_extra(&prov, scopes),
	};
	r = spk_oauth_authorize_url(&ap, &url);
	if (r < 0) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
		goto out;
	}
	if (ui && ui->authorize) {
		ui->authorize(ui->userdata, redirect_uri, url);
	}

	r = spk_loopback_wait(lb, timeout_s * 1000, &cb, err);
	if (r == -ETIMEDOUT) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, r,
				  "no answer from the browser within %d s; nothing was stored. "
				  "Run the login again (--timeout SECS allows longer)", timeout_s);
		goto out;
	}
	if (r < 0) {
		goto out;
	}
	r = spk_oauth_exchange_code(prov.endpoints.token, p->client_id, cb.code, pkce.verifier,
				    redirect_uri, nonce, (int64_t)time(NULL), &g, err);
	if (r < 0) {
		goto out;
	}
	r = store_login(p, &g, err);
	if (r < 0) {
		goto out;
	}
	*ret = g;
	g = (struct spk_grant){ 0 };
out:
	spk_loopback_free(lb);
	spk_callback_done(&cb);
	spk_pkce_done(&pkce);
	spk_grant_done(&g);
	spk_provider_done(&prov);
	return r;
}

static int lock_profile(const struct spk_profile *p, int *ret_fd, struct spk_error *err)
{
	_cleanup_free_ char *dir = lock_dir();

	if (!dir) {
		return spk_error_set(err, SPK_ERR_CONFIG, -ENOENT,
				     "no directory for the refresh lock: set XDG_RUNTIME_DIR or HOME");
	}
	int r = spk_lock_take(dir, p->name, SPK_LOCK_TIMEOUT_MS, ret_fd, err);
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

static bool is_invalid_grant(const struct spk_error *err)
{
	return err && strcmp(err->oauth, "invalid_grant") == 0;
}

/* Ask the provider; a request whose answer was lost is sent once more. */
static int call_refresh(const struct spk_profile *p, const struct spk_provider *prov,
			const char *refresh_token, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_error first = { 0 };
	int r = spk_oauth_refresh(prov->endpoints.token, p->client_id, refresh_token,
				  (int64_t)time(NULL), ret, &first);
	if (r == SPK_HTTP_ANSWER_LOST) {
		/*
		 * The provider may have rotated the token already. Lenient
		 * providers (Xero: 30 minutes) accept the same token again;
		 * strict ones refuse it, and the grant was lost either way.
		 */
		spk_log("refresh %s: answer lost, retrying once with the same token", p->name);
		spk_error_clear(&first);
		r = spk_oauth_refresh(prov->endpoints.token, p->client_id, refresh_token,
				      (int64_t)time(NULL), ret, &first);
	}
	if (r < 0 && err && err->kind == SPK_ERR_NONE) {
		*err = first;
	}
	return r;
}

/*
 * Refresh g and store the result, holding the profile's lock. The answer
 * goes to the rescue journal before the store, so a crash or a store
 * failure cannot lose a rotated refresh token. On failure g and the store
 * are unchanged.
 */
static int refresh_locked(const struct spk_profile *p, struct spk_grant *g, struct spk_error *err)
{
	struct spk_provider prov = { 0 };
	struct spk_grant fresh = { 0 }, merged = { 0 };
	int r;

	if (!g->refresh_token) {
		return spk_error_set(err, SPK_ERR_LOGIN, -ENOKEY,
				     "%s: the access token expired and the provider gave no "
				     "refresh token", p->name);
	}
	r = spk_provider_resolve(p, false, &prov, err);
	if (r < 0) {
		return r;
	}
	struct spk_error call_err = { 0 };
	r = call_refresh(p, &prov, g->refresh_token, &fresh, &call_err);
	spk_provider_done(&prov);
	if (r < 0) {
		if (is_invalid_grant(&call_err)) {
			return spk_error_set_oauth(err, SPK_ERR_LOGIN, r, "invalid_grant",
						   "%s: the provider no longer accepts this grant "
						   "(invalid_grant). Run: sparekey login %s",
						   p->name, p->name);
		}
		if (err && err->kind == SPK_ERR_NONE) {
			*err = call_err;
		}
		return r;
	}
	r = spk_grant_copy(g, &merged);
	if (r < 0) {
		spk_grant_done(&fresh);
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
	}
	spk_grant_update(&merged, &fresh);

	struct spk_error journal_err = { 0 };
	bool journaled = spk_store_rescue_write(p, &merged, &journal_err) == 0;
	if (!journaled) {
		/* Not fatal: the store write below is the durable home anyway. */
		spk_log("refresh %s: %s", p->name, journal_err.msg);
	}
	spk_fault_kill("kill-after-journal");

	struct spk_error store_err = { 0 };
	r = spk_store_save(p, &merged, &store_err);
	if (r < 0) {
		_cleanup_free_ char *path = spk_store_rescue_path(p);
		spk_grant_done(&merged);
		if (journaled) {
			return spk_error_set(err, SPK_ERR_TEMPFAIL, r,
					     "%s: the refreshed grant could not be stored (%s); it is "
					     "kept in %s and the next run stores it",
					     p->name, store_err.msg, path ? path : "the rescue file");
		}
		return spk_error_set(err, SPK_ERR_TEMPFAIL, r,
				     "%s: the refreshed grant could not be stored (%s) nor kept in "
				     "a rescue file; a new login may be needed", p->name,
				     store_err.msg);
	}
	spk_fault_kill("kill-after-store");
	if (journaled) {
		/* Harmless if it fails: the next run stores the same grant again. */
		(void)spk_store_rescue_remove(p, NULL);
	}
	spk_grant_done(g);
	*g = merged;
	return 0;
}

/*
 * After invalid_grant: another process (or machine) may have rotated the
 * token in the meantime. If the store now holds another refresh token, use
 * that grant instead of giving up.
 */
static int refresh_or_reread(const struct spk_profile *p, struct spk_grant *g,
			     int64_t min_valid, bool force, struct spk_error *err)
{
	struct spk_error e = { 0 };
	int r = refresh_locked(p, g, &e);
	if (r == 0 || !is_invalid_grant(&e)) {
		if (r < 0 && err && err->kind == SPK_ERR_NONE) {
			*err = e;
		}
		return r;
	}
	struct spk_grant stored = { 0 };
	if (spk_store_load(p, &stored, NULL) == 0 && stored.refresh_token && g->refresh_token &&
	    strcmp(stored.refresh_token, g->refresh_token) != 0) {
		spk_log("refresh %s: the store holds a newer grant, using it", p->name);
		spk_grant_done(g);
		*g = stored;
		if (!force && spk_grant_valid_for(g, (int64_t)time(NULL)) > min_valid) {
			return 0;
		}
		return refresh_locked(p, g, err);
	}
	spk_grant_done(&stored);
	if (err && err->kind == SPK_ERR_NONE) {
		*err = e;
	}
	return r;
}

int spk_flow_token(const struct spk_profile *p, int64_t min_valid, struct spk_grant *ret,
		   struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int fd = -1;
	int r;

	/* The common case: a valid token, no lock, no network. */
	if (!spk_store_rescue_pending(p)) {
		r = spk_store_load(p, &g, err);
		if (r < 0) {
			return r;
		}
		if (spk_grant_valid_for(&g, (int64_t)time(NULL)) > min_valid) {
			*ret = g;
			return 0;
		}
		spk_grant_done(&g);
	}

	r = lock_profile(p, &fd, err);
	if (r < 0) {
		return r;
	}
	/* Whoever held the lock before us may have refreshed already. */
	r = spk_store_load(p, &g, err);
	if (r == 0 && spk_grant_valid_for(&g, (int64_t)time(NULL)) <= min_valid) {
		r = refresh_or_reread(p, &g, min_valid, false, err);
	}
	spk_lock_release(fd);
	if (r < 0) {
		spk_grant_done(&g);
		return r;
	}
	*ret = g;
	return 0;
}

int spk_flow_refresh(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int fd = -1;
	int r = lock_profile(p, &fd, err);

	if (r < 0) {
		return r;
	}
	r = spk_store_load(p, &g, err);
	if (r == 0) {
		r = refresh_or_reread(p, &g, 0, true, err);
	}
	spk_lock_release(fd);
	if (r < 0) {
		spk_grant_done(&g);
		return r;
	}
	*ret = g;
	return 0;
}
