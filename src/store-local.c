/*
 * The local guard (store.h), which both backends use: the refresh lock is
 * flock(2) on PROFILE.lock in the runtime directory, else the state
 * directory (lock.h); the rescue journal and the in-flight record
 * (inflight.h) are 0600 files in the state directory, named in paths.h,
 * where the front looks for them before it answers from the cache.
 */
#include "store.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "inflight.h"
#include "lock.h"
#include "log.h"
#include "paths.h"
#include "secret.h"

#define JOURNAL_MAX (256 * 1024)

/* The runtime dir is per session and on tmpfs; the state dir serves cron without one. */
static char *lock_dir(void)
{
	char *dir = spk_path_runtime_dir();
	return dir ? dir : spk_path_state_dir();
}

/* flags: SPK_STORE_LOCK_YIELD is the front's queue's job here. */
static int lock_take(const struct spk_profile *p, int timeout_ms, unsigned flags, int *ret_lock,
		     struct spk_error *err)
{
	_cleanup_free_ char *dir = lock_dir();

	(void)flags;
	if (!dir) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, -ENOENT,
			"no directory for the refresh lock: set XDG_RUNTIME_DIR or HOME");
	}
	return spk_lock_take(dir, p->name, timeout_ms, ret_lock, err);
}

static int lock_adopt(const struct spk_profile *p, int timeout_ms, unsigned flags, int *ret_lock,
		      struct spk_error *err)
{
	_cleanup_free_ char *dir = lock_dir();

	(void)timeout_ms; /* the front's flock is the whole lock */
	(void)flags;
	(void)err;
	return dir ? spk_lock_inherited(dir, p->name, ret_lock) : -ENOENT;
}

static bool lock_handed_over(const struct spk_profile *p)
{
	(void)p;
	return spk_lock_handed_over();
}

bool spk_store_local_refresh_pending(const struct spk_profile *p)
{
	return spk_path_refresh_pending(p->name);
}

char *spk_store_local_journal_where(const struct spk_profile *p)
{
	return spk_path_state_file(p->name, SPK_STATE_JOURNAL);
}

int spk_store_local_journal_write(const struct spk_profile *p, const struct spk_grant *g,
				  struct spk_error *err)
{
	_cleanup_free_ char *dir = spk_path_state_dir();
	_cleanup_free_ char *name = spk_path_state_name(p->name, SPK_STATE_JOURNAL);
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
		return spk_error_set(err, SPK_ERR_INTERNAL, r,
				     "cannot write the rescue file in %s (%s)", dir, strerror(-r));
	}
	spk_log("rescue %s: written", p->name);
	return 0;
}

bool spk_store_local_journal_pending(const struct spk_profile *p)
{
	_cleanup_free_ char *path = spk_store_local_journal_where(p);
	return path && access(path, F_OK) == 0;
}

int spk_store_local_journal_remove(const struct spk_profile *p, struct spk_error *err)
{
	_cleanup_free_ char *dir = spk_path_state_dir();
	_cleanup_free_ char *name = spk_path_state_name(p->name, SPK_STATE_JOURNAL);
	int r = dir && name ? spk_file_remove(dir, name) : -ENOMEM;

	if (r < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, r,
				     "cannot remove the rescue file %s/%s (%s)", dir ? dir : "",
				     name ? name : "", strerror(-r));
	}
	return 0;
}

static int journal_complete(const struct spk_profile *p, struct spk_error *err)
{
	_cleanup_free_ char *path = spk_store_local_journal_where(p);
	_cleanup_secret_ char *json = NULL;
	struct spk_grant g = { 0 };

	if (!path) {
		return 0;
	}
	int r = spk_file_read_private(path, JOURNAL_MAX, &json);
	if (r == -ENOENT) {
		return 0;
	}
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_CONFIG, r,
				     "%s: cannot read the rescue file %s (%s). It must be yours, "
				     "mode 0600",
				     p->name, path, strerror(-r));
	}
	r = spk_grant_from_json(json, &g, NULL);
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_CONFIG, r,
				     "%s: the rescue file %s is unreadable. Move it away, then "
				     "run: sparekey login %s",
				     p->name, path, p->name);
	}
	struct spk_error store_err = { 0 };
	r = spk_store_save(p, &g, &store_err);
	spk_grant_done(&g);
	if (r < 0) {
		return spk_error_set(
			err, SPK_ERR_TEMPFAIL, r,
			"%s: the refreshed grant kept in %s cannot be stored yet (%s); "
			"it stays there and the next run stores it",
			p->name, path, store_err.msg);
	}
	spk_log("rescue %s: stored and removed", p->name);
	r = spk_store_local_journal_remove(p, err);
	return r < 0 ? r : 1;
}

const struct spk_store_guard spk_store_local_guard = {
	.lock = lock_take,
	.lock_adopt = lock_adopt,
	.lock_handed_over = lock_handed_over,
	.unlock = spk_lock_release,
	.lock_is_fd = true,
	.journal_write = spk_store_local_journal_write,
	.journal_complete = journal_complete,
	.journal_remove = spk_store_local_journal_remove,
	.journal_pending = spk_store_local_journal_pending,
	.journal_where = spk_store_local_journal_where,
	.inflight_write = spk_inflight_write,
	.inflight_read = spk_inflight_read,
	.inflight_remove = spk_inflight_remove,
	.inflight_pending = spk_inflight_pending,
	.refresh_pending = spk_store_local_refresh_pending,
};
