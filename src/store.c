#include "store.h"

#include <errno.h>
#include <string.h>

#include "fault.h"
#include "secret.h"

static const struct spk_store_backend *backend_of(const struct spk_profile *p)
{
	/* profile.c accepts only known store names. */
	if (p->store && strcmp(p->store, "etcd") == 0) {
		return &spk_store_etcd;
	}
	return p->store && strcmp(p->store, "file") == 0 ? &spk_store_file : &spk_store_secret;
}

int spk_store_load(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err)
{
	_cleanup_secret_ char *json = NULL;
	int r = backend_of(p)->load(p, "grant", &json, err);

	if (r == -ENOENT) {
		return spk_error_set(err, SPK_ERR_LOGIN, r,
				     "%s: no grant is stored. Run: sparekey login %s", p->name,
				     p->name);
	}
	if (r < 0) {
		return r;
	}
	r = spk_grant_from_json(json, ret, NULL);
	if (r < 0) {
		/* Name the profile and the way out; the record is left as it is. */
		return spk_error_set(err, SPK_ERR_LOGIN, r,
				     "%s: the stored grant is unreadable. "
				     "Run: sparekey login %s",
				     p->name, p->name);
	}
	return 0;
}

int spk_store_save(const struct spk_profile *p, const struct spk_grant *g, struct spk_error *err)
{
	_cleanup_secret_ char *json = NULL;
	int r = spk_grant_to_json(g, &json);

	if (r < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
	}
	if (spk_fault("fail-store")) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EIO,
				     "%s: cannot write to the keyring (fault injected)", p->name);
	}
	return backend_of(p)->save(p, "grant", json, err);
}

int spk_store_remove(const struct spk_profile *p, struct spk_error *err)
{
	return backend_of(p)->remove(p, "grant", err);
}

int spk_store_load_client_secret(const struct spk_profile *p, char **ret, struct spk_error *err)
{
	return backend_of(p)->load(p, "client_secret", ret, err);
}

int spk_store_save_client_secret(const struct spk_profile *p, const char *secret,
				 struct spk_error *err)
{
	return backend_of(p)->save(p, "client_secret", secret, err);
}

int spk_store_remove_client_secret(const struct spk_profile *p, struct spk_error *err)
{
	return backend_of(p)->remove(p, "client_secret", err);
}

int spk_store_lock(const struct spk_profile *p, int timeout_ms, unsigned flags, int *ret_lock,
		   struct spk_error *err)
{
	return backend_of(p)->guard->lock(p, timeout_ms, flags, ret_lock, err);
}

int spk_store_lock_adopt(const struct spk_profile *p, int timeout_ms, unsigned flags, int *ret_lock,
			 struct spk_error *err)
{
	return backend_of(p)->guard->lock_adopt(p, timeout_ms, flags, ret_lock, err);
}

bool spk_store_lock_handed_over(const struct spk_profile *p)
{
	return backend_of(p)->guard->lock_handed_over(p);
}

void spk_store_unlock(const struct spk_profile *p, int lock)
{
	backend_of(p)->guard->unlock(lock);
}

int spk_store_journal_write(const struct spk_profile *p, const struct spk_grant *g,
			    struct spk_error *err)
{
	return backend_of(p)->guard->journal_write(p, g, err);
}

int spk_store_journal_complete(const struct spk_profile *p, struct spk_error *err)
{
	return backend_of(p)->guard->journal_complete(p, err);
}

int spk_store_journal_remove(const struct spk_profile *p, struct spk_error *err)
{
	return backend_of(p)->guard->journal_remove(p, err);
}

bool spk_store_journal_pending(const struct spk_profile *p)
{
	return backend_of(p)->guard->journal_pending(p);
}

char *spk_store_journal_where(const struct spk_profile *p)
{
	return backend_of(p)->guard->journal_where(p);
}

int spk_store_inflight_write(const struct spk_profile *p, const char *token, struct spk_error *err)
{
	return backend_of(p)->guard->inflight_write(p, token, err);
}

int spk_store_inflight_read(const struct spk_profile *p, struct spk_inflight *ret)
{
	return backend_of(p)->guard->inflight_read(p, ret);
}

int spk_store_inflight_remove(const struct spk_profile *p)
{
	return backend_of(p)->guard->inflight_remove(p);
}

bool spk_store_inflight_pending(const struct spk_profile *p)
{
	return backend_of(p)->guard->inflight_pending(p);
}

bool spk_store_inflight_shared(const struct spk_profile *p)
{
	return backend_of(p)->guard->inflight_shared;
}

bool spk_store_refresh_pending(const struct spk_profile *p)
{
	return backend_of(p)->guard->refresh_pending(p);
}
