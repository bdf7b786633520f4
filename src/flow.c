/*
 * What login, refresh and the grant moves share: the runtime cache, taking
 * the refresh lock from the store (with a leftover journal completed under
 * it), storing a new grant, and the client for the token endpoint. And what
 * cmd/ reads of a grant without refreshing it: the stored record and its
 * health. And marking an access token spent when a server refused it.
 */
#include "flow.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "failure.h"
#include "flow-internal.h"
#include "health.h"
#include "http.h"
#include "lock.h"
#include "log.h"
#include "oauth.h"
#include "provider.h"
#include "secret.h"
#include "store.h"

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
		.min_valid = spk_health_margin(p, g, -1),
		.access_token = g->access_token,
	};
	spk_config_stamp_of(p->config_path, &e.config);
	int r = spk_cache_write(dir, p->name, &e);
	if (r < 0) {
		spk_log("cache %s: not written (%s)", p->name, strerror(-r));
	}
}

int spk_flow_merge_journal(const struct spk_profile *p, const struct spk_grant *g,
			   struct spk_grant *fresh, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_grant merged = { 0 };
	struct spk_error journal_err = { 0 };

	if (spk_grant_copy(g, &merged) < 0) {
		spk_grant_done(&merged);
		spk_grant_done(fresh);
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	spk_grant_update(&merged, fresh);
	int r = spk_store_journal_write(p, &merged, &journal_err);
	if (r < 0) {
		/* Not fatal: the store write is the durable home anyway. */
		spk_log("refresh %s: %s", p->name, journal_err.msg);
	}
	*ret = merged;
	return r < 0 ? 0 : 1;
}

/*
 * A new login replaces the grant; a rescue journal from the old one must
 * not overwrite it later, and a cut-off refresh of the old one is moot:
 * both go, under the lock.
 */
int spk_flow_store_login(const struct spk_profile *p, const struct spk_grant *g,
			 const char *client_secret, struct spk_error *err)
{
	struct spk_error lock_err = { 0 };
	int lock = -1;
	int r = spk_store_lock(p, SPK_STORE_LOCK_WAIT_MS, 0, &lock, &lock_err);

	if (r == -ENOENT && lock_err.kind == SPK_ERR_CONFIG) {
		r = 0; /* nowhere to keep a lock: the grant is stored without one */
	}
	if (r < 0) {
		if (err && err->kind == SPK_ERR_NONE) {
			*err = lock_err;
		}
		return r;
	}
	r = spk_store_journal_remove(p, err);
	if (r == 0) {
		(void)spk_store_inflight_remove(p);
	}
	if (r == 0 && client_secret) {
		r = spk_store_save_client_secret(p, client_secret, err);
	}
	if (r == 0) {
		r = spk_store_save(p, g, err);
	}
	if (r == 0) {
		spk_flow_cache_put(p, g);
		(void)spk_failure_clear(p->name);
	}
	spk_store_unlock(p, lock);
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
				     "--client-secret-file FILE",
				     p->name, p->name);
	}
	enum spk_client_auth auth = p->client_auth;
	if (auth == SPK_CLIENT_AUTH_DEFAULT) {
		auth = secret ? prov->preset->client_auth_with_secret : SPK_CLIENT_AUTH_NONE;
	}
	if (auth != SPK_CLIENT_AUTH_NONE && !secret) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, -ENOKEY,
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

int spk_flow_lock_profile_flags(const struct spk_profile *p, unsigned flags, int *ret_lock,
				struct spk_error *err)
{
	/* The front may have taken the lock already and handed it over. */
	int r = spk_store_lock_adopt(p, SPK_STORE_LOCK_WAIT_MS, flags, ret_lock, err);
	if (r == -ENOENT) {
		r = spk_store_lock(p, SPK_STORE_LOCK_WAIT_MS, flags, ret_lock, err);
	}
	if (r != 0) {
		return r; /* an error, or SPK_STORE_YIELDED */
	}
	/* A refreshed grant left by a crash or a failed store write comes first. */
	r = spk_store_journal_complete(p, err);
	if (r < 0) {
		spk_store_unlock(p, *ret_lock);
		*ret_lock = -1;
		return r;
	}
	return 0;
}

int spk_flow_lock_profile(const struct spk_profile *p, int *ret_lock, struct spk_error *err)
{
	return spk_flow_lock_profile_flags(p, 0, ret_lock, err);
}

int spk_flow_token_spent(const struct spk_profile *p, const char *token, struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int lock = -1;
	int r = spk_flow_lock_profile(p, &lock, err);

	if (r < 0) {
		return r;
	}
	r = spk_store_load(p, &g, err);
	bool same = r == 0 && (!token || spk_memeq_ct(token, strlen(token), g.access_token,
						      strlen(g.access_token)));
	bool renewable = g.refresh_token || p->grant == SPK_GRANT_CLIENT_CREDENTIALS;
	int64_t now = (int64_t)time(NULL);
	if (same && renewable) {
		/* Expired as of now: the next token call renews it, and status says when. */
		if (g.expires_at == 0 || g.expires_at > now) {
			g.expires_at = now;
			r = spk_store_save(p, &g, err);
		}
		if (r == 0) {
			spk_flow_cache_drop(p);
		}
	}
	spk_store_unlock(p, lock);
	spk_grant_done(&g);
	return r < 0 ? r : same && renewable ? 0 : 1;
}

int spk_flow_load(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err)
{
	return spk_store_load(p, ret, err);
}

void spk_flow_health(const struct spk_profile *p, const struct spk_grant *g, int64_t now,
		     struct spk_health *ret, struct spk_error *err)
{
	spk_health_of(p, g, now, -1, ret);
	spk_health_cut_off(ret, spk_flow_cut_off(p, g, err));
}

void spk_flow_receive_handover(void)
{
	spk_lock_receive();
}

int spk_flow_open_network(struct spk_error *err)
{
	return spk_http_open(err);
}

int spk_flow_probe_lock(const struct spk_profile *p, struct spk_error *err)
{
	struct spk_error e = { 0 };
	int lock = -1;
	int r = spk_store_lock(p, 0, 0, &lock, &e);

	spk_store_unlock(p, lock);
	if (r == -ETIMEDOUT) {
		return 0; /* held: someone is refreshing right now, which is fine */
	}
	if (r < 0 && err && err->kind == SPK_ERR_NONE) {
		*err = e;
	}
	return r;
}
