/*
 * What happens to a grant besides its refresh: moved to another machine
 * (export, import), its organisations fetched again (tenants), and ended
 * (logout: revoked through the worker, deleted here).
 */
#include "flow.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "failure.h"
#include "fault.h"
#include "flow-internal.h"
#include "oauth.h"
#include "provider.h"
#include "secret.h"
#include "store.h"
#include "tenants.h"
#include "transfer.h"
#include "worker.h"

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
		spk_store_unlock(p, fd);
		return r;
	}
	*ret_lock = fd;
	return 0;
}

int spk_flow_export_end(const struct spk_profile *p, int lock, bool remove, struct spk_error *err)
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
	spk_store_unlock(p, lock);
	return r;
}

int spk_flow_import(struct spk_config *cfg, const char *name, const char *store, const char *json,
		    size_t len, struct spk_grant *ret, struct spk_error *err)
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
		r = spk_flow_store_login(&p, &t.grant, t.client_secret, err);
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
				  "connections_endpoint)",
				  p->name, p->provider);
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
		char *id = keep             ? strdup(keep->id)
			   : !want && n > 0 ? strdup(g.tenants[0].id)
					    : NULL;
		free(g.tenant_id);
		g.tenant_id = id;
		r = spk_store_save(p, &g, err);
	}
	spk_store_unlock(p, fd);
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
		spk_store_unlock(p, fd);
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
	(void)spk_store_journal_remove(p, NULL);
	(void)spk_store_inflight_remove(p);
	(void)spk_failure_clear(p->name);
	spk_worker_finish(w, true);
	spk_store_unlock(p, fd);
	if (rg < 0 && rg != -ENOENT) {
		return rg;
	}
	if (rs < 0 && rs != -ENOENT) {
		return rs;
	}
	if (remote.kind != SPK_ERR_NONE) {
		return spk_error_set_oauth(err, remote.kind, remote.code, remote.oauth,
					   "%s: the grant was deleted here, but revoking it at the "
					   "provider failed: %s",
					   p->name, remote.msg);
	}
	if (!have_grant && rs != 0) {
		return -ENOENT;
	}
	return unrevocable ? SPK_LOGOUT_NOT_REVOKED : 0;
}
