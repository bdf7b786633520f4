/*
 * Private files: created 0600 in 0700 directories, written through a temp
 * file that is fsync'd and renamed over the target (then the directory is
 * fsync'd), read only when we own them and nobody else may read them.
 * MUST: never follow a symlink at the final component; never leave a
 * half-written file under the final name.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with mode 0700 for the directories it creates. */
int spk_file_mkdir_private(const char *dir);

/* Atomically replace dir/name with data: written, fsync'd, then renamed into place. */
int spk_file_write_private(const char *dir, const char *name, const char *data, size_t len);
/*
 * The same, but renamed into place before the fsync: the file survives the
 * process being killed a few milliseconds sooner, at the price of a short
 * window in which a power cut may leave it empty. For the rescue journal,
 * where every millisecond after the provider's answer counts.
 */
int spk_file_publish_private(const char *dir, const char *name, const char *data, size_t len);

/*
 * The same without any fsync, for what may be lost but is cheap to make
 * again (the runtime cache): a crash may leave the old file, none, or an
 * empty or cut one, so its reader must check that it is whole.
 */
int spk_file_replace_private(const char *dir, const char *name, const char *data, size_t len);

/*
 * Read path into a NUL-terminated buffer (free with spk_secret_free when it
 * holds secrets). -ENOENT when absent; -EPERM when another user owns it;
 * -EACCES when it is ours but others may read it, or it is a symlink or not
 * a regular file; -EFBIG over max bytes.
 */
int spk_file_read_private(const char *path, size_t max, char **ret);

/* Who owns path (a symlink itself, not its target): for messages about a refused file. */
int spk_file_owner(const char *path, uid_t *ret_uid);

/* Remove dir/name and fsync dir; 0 when it is gone (or was never there). */
int spk_file_remove(const char *dir, const char *name);
