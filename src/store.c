#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "file.h"
#include "log.h"
#include "secret.h"

#define RESCUE_MAX (256 * 1024)

static const struct spk_store_backend *backend_of(const struct spk_profile *p)
{
	/* profile.c accepts only known store names. */
	return p->store && strcmp(p->store, "file") == 0 ? &spk_store_file : &spk_store_secret;
}

int spk_store_load(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err)
{
	_cleanup_secret_ char *json = NULL;
	int r = backend_of(p)->load(p->name, "grant", &json, err);

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
	if (spk_fault("fail-store")) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EIO,
				     "%s: cannot write to the keyring (fault injected)", p->name);
	}
	return backend_of(p)->save(p->name, "grant", json, err);
}

int spk_store_remove(const struct spk_profile *p, struct spk_error *err)
{
	return backend_of(p)->remove(p->name, "grant", err);
}

int spk_store_load_client_secret(const struct spk_profile *p, char **ret, struct spk_error *err)
{
	return backend_of(p)->load(p->name, "client_secret", ret, err);
}

int spk_store_save_client_secret(const struct spk_profile *p, const char *secret,
				 struct spk_error *err)
{
	return backend_of(p)->save(p->name, "client_secret", secret, err);
}

int spk_store_remove_client_secret(const struct spk_profile *p, struct spk_error *err)
{
	return backend_of(p)->remove(p->name, "client_secret", err);
}

char *spk_store_rescue_path(const struct spk_profile *p)
{
	return spk_path_state_file(p->name, SPK_STATE_JOURNAL);
}

int spk_store_rescue_write(const struct spk_profile *p, const struct spk_grant *g,
			   struct spk_error *err)
{
	_cleanup_free_ char *dir = spk_path_state_dir(), *name = spk_path_state_name(p->name, SPK_STATE_JOURNAL);
	_cleanup_secret_ char *json = NULL;

	if (!dir || !name) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOENT,
				     "no state directory for the rescue file: set HOME");
	}
	int r = spk_grant_to_json(g, &json);
	if (r == 0) {
		r = spk_file_publish_private(dir, name, json, strlen(json));
	}
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "cannot write the rescue file in %s (%s)",
				     dir, strerror(-r));
	}
	spk_log("rescue %s: written", p->name);
	return 0;
}

bool spk_store_rescue_pending(const struct spk_profile *p)
{
	_cleanup_free_ char *path = spk_store_rescue_path(p);
	return path && access(path, F_OK) == 0;
}

int spk_store_rescue_remove(const struct spk_profile *p, struct spk_error *err)
{
	_cleanup_free_ char *dir = spk_path_state_dir(), *name = spk_path_state_name(p->name, SPK_STATE_JOURNAL);
	int r = dir && name ? spk_file_remove(dir, name) : -ENOMEM;

	if (r < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "cannot remove the rescue file %s/%s (%s)",
				     dir ? dir : "", name ? name : "", strerror(-r));
	}
	return 0;
}

int spk_store_rescue_complete(const struct spk_profile *p, struct spk_error *err)
{
	_cleanup_free_ char *path = spk_store_rescue_path(p);
	_cleanup_secret_ char *json = NULL;
	struct spk_grant g = { 0 };

	if (!path) {
		return 0;
	}
	int r = spk_file_read_private(path, RESCUE_MAX, &json);
	if (r == -ENOENT) {
		return 0;
	}
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_CONFIG, r,
				     "%s: cannot read the rescue file %s (%s). It must be yours, "
				     "mode 0600", p->name, path, strerror(-r));
	}
	r = spk_grant_from_json(json, &g, NULL);
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_CONFIG, r,
				     "%s: the rescue file %s is unreadable. Move it away, then "
				     "run: sparekey login %s", p->name, path, p->name);
	}
	struct spk_error store_err = { 0 };
	r = spk_store_save(p, &g, &store_err);
	spk_grant_done(&g);
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, r,
				     "%s: the refreshed grant kept in %s cannot be stored yet (%s); "
				     "it stays there and the next run stores it", p->name, path,
				     store_err.msg);
	}
	spk_log("rescue %s: stored and removed", p->name);
	r = spk_store_rescue_remove(p, err);
	return r < 0 ? r : 1;
}
