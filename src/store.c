#include "store.h"

#include <errno.h>
#include <string.h>

#include "secret.h"

static const struct spk_store_backend *backend_of(const struct spk_profile *p)
{
	/* profile.c accepts only known store names, so this cannot miss. */
	(void)p;
	return &spk_store_secret;
}

int spk_store_load(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err)
{
	_cleanup_secret_ char *json = NULL;
	int r = backend_of(p)->load(p->name, &json, err);

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
		return spk_error_set(err, SPK_ERR_LOGIN, r, "%s: the stored grant is unreadable. "
				     "Run: sparekey login %s", p->name, p->name);
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
	return backend_of(p)->save(p->name, json, err);
}

int spk_store_remove(const struct spk_profile *p, struct spk_error *err)
{
	return backend_of(p)->remove(p->name, err);
}
