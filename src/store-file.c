/*
 * The file backend, for hosts without a keyring: one file per item,
 * STATE_DIR/PROFILE.KIND (0600, in a 0700 directory), replaced atomically.
 * A file that is not ours or that others may read is refused, not used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "secret.h"
#include "store.h"
#include "store-check.h"

#define ITEM_MAX (256 * 1024)

/* STATE_DIR, PROFILE.KIND and the two joined: all the caller's. */
static int item_path(const char *profile, const char *kind, char **ret_dir, char **ret_name,
		     char **ret_path, struct spk_error *err)
{
	char *dir = spk_path_state_dir(), *name = NULL, *path = NULL;

	if (!dir) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, -ENOENT,
			"%s: no directory for the file store: set HOME or XDG_STATE_HOME", profile);
	}
	if (asprintf(&name, "%s.%s", profile, kind) < 0 ||
	    asprintf(&path, "%s/%s", dir, name) < 0) {
		free(dir);
		free(name);
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	*ret_dir = dir;
	*ret_name = name;
	*ret_path = path;
	return 0;
}

/* "grant", "client secret": what a refused file holds, in words. */
static const char *kind_label(const char *kind)
{
	return strcmp(kind, "client_secret") == 0 ? "client secret" : kind;
}

/* What the login that replaces a refused file needs besides the profile. */
static const char *login_args(const char *kind)
{
	return strcmp(kind, "client_secret") == 0 ? " --client-secret-file FILE" : "";
}

static int file_load(const struct spk_profile *p, const char *kind, char **ret_value,
		     struct spk_error *err)
{
	const char *profile = p->name;
	_cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL;
	int r = item_path(profile, kind, &dir, &name, &path, err);

	if (r < 0) {
		return r;
	}
	r = spk_file_read_private(path, ITEM_MAX, ret_value);
	if (r == -ENOENT) {
		return r;
	}
	if (r == -EPERM) {
		uid_t owner;
		if (spk_file_owner(path, &owner) < 0) {
			return spk_error_set(
				err, SPK_ERR_CONFIG, r,
				"%s: refusing %s: it is not owned by you (uid %u); it "
				"must be yours. Move it away, then run: sparekey login %s%s",
				profile, path, (unsigned)geteuid(), profile, login_args(kind));
		}
		return spk_error_set(
			err, SPK_ERR_CONFIG, r,
			"%s: the %s file %s is owned by uid %u, not by you (uid %u); it "
			"must be yours. Move it away, then run: sparekey login %s%s",
			profile, kind_label(kind), path, (unsigned)owner, (unsigned)geteuid(),
			profile, login_args(kind));
	}
	if (r == -EACCES) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, r,
			"%s: refusing %s: it must be a regular file of yours with mode "
			"0600 (chmod 600 it if it is yours)",
			profile, path);
	}
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, r, "%s: cannot read %s (%s)", profile,
				     path, strerror(-r));
	}
	return 0;
}

static int file_save(const struct spk_profile *p, const char *kind, const char *value,
		     struct spk_error *err)
{
	const char *profile = p->name;
	_cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL;
	int r = item_path(profile, kind, &dir, &name, &path, err);

	if (r < 0) {
		return r;
	}
	r = spk_file_write_private(dir, name, value, strlen(value));
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, r, "%s: cannot write %s/%s (%s)",
				     profile, dir, name, strerror(-r));
	}
	spk_log("file store: wrote the %s of %s", kind, profile);
	return 0;
}

static int file_remove(const struct spk_profile *p, const char *kind, struct spk_error *err)
{
	const char *profile = p->name;
	_cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL;
	int r = item_path(profile, kind, &dir, &name, &path, err);

	if (r < 0) {
		return r;
	}
	bool existed = access(path, F_OK) == 0;
	r = spk_file_remove(dir, name);
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, r, "%s: cannot remove %s (%s)", profile,
				     path, strerror(-r));
	}
	return existed ? 0 : -ENOENT;
}

int spk_store_file_check(const char *profile, struct spk_error *err)
{
	_cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL;

	/* The directory is made by the first write, not here: a check writes nothing. */
	return item_path(profile, "grant", &dir, &name, &path, err);
}

const struct spk_store_backend spk_store_file = {
	.name = "file",
	.load = file_load,
	.save = file_save,
	.remove = file_remove,
	.guard = &spk_store_local_guard,
};
