#include "cache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file.h"
#include "macro.h"
#include "secret.h"

/*
 * Format, one field per line:
 *   sparekey-cache-2
 *   EXPIRES_AT MIN_VALID MTIME_NS SIZE INO
 *   CONFIG_PATH
 *   ACCESS_TOKEN
 */
static const char magic[] = "sparekey-cache-2";

void spk_config_stamp_of(const char *path, struct spk_config_stamp *ret)
{
	struct stat st;

	*ret = (struct spk_config_stamp){ .size = -1 };
	snprintf(ret->path, sizeof(ret->path), "%s", path ? path : "");
	if (path && stat(path, &st) == 0) {
		ret->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		ret->size = (int64_t)st.st_size;
		ret->ino = (uint64_t)st.st_ino;
	}
}

int spk_config_stamp_equal(const struct spk_config_stamp *a, const struct spk_config_stamp *b)
{
	return strcmp(a->path, b->path) == 0 && a->mtime_ns == b->mtime_ns && a->size == b->size &&
	       a->ino == b->ino;
}

static char *cache_name(const char *profile)
{
	char *name = NULL;
	return asprintf(&name, "%s.token", profile) < 0 ? NULL : name;
}

int spk_cache_write(const char *dir, const char *profile, const struct spk_cache_entry *e)
{
	_cleanup_free_ char *name = cache_name(profile);
	char *text = NULL;

	if (!name || strpbrk(e->access_token, "\r\n") || strchr(e->config.path, '\n')) {
		return -EINVAL;
	}
	int n = asprintf(
		&text, "%s\n%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRIu64 "\n%s\n%s\n",
		magic, e->expires_at, e->min_valid, e->config.mtime_ns, e->config.size,
		e->config.ino, e->config.path, e->access_token);
	if (n < 0) {
		return -ENOMEM;
	}
	/* A cache: no fsync, as the reader rejects an entry cut short (see below). */
	int r = spk_file_replace_private(dir, name, text, (size_t)n);
	spk_wipe(text, (size_t)n);
	free(text);
	return r;
}

int spk_cache_read(const char *dir, const char *profile, struct spk_cache_entry *ret)
{
	_cleanup_free_ char *name = cache_name(profile), *path = NULL;
	char *text = NULL;
	struct spk_cache_entry e = { 0 };

	if (!name || asprintf(&path, "%s/%s", dir, name) < 0) {
		return -ENOMEM;
	}
	int r = spk_file_read_private(path, SPK_CACHE_MAX, &text);
	if (r < 0) {
		return r;
	}
	/* Whole only if it ends in the newline after the token. */
	size_t len = strlen(text);
	bool whole = len > 0 && text[len - 1] == '\n';
	char *line[4] = { 0 }, *save = NULL, *p = text;
	for (int i = 0; i < 4; i++) {
		line[i] = strtok_r(p, "\n", &save);
		p = NULL;
	}
	r = -EBADMSG;
	if (whole && line[3] && strcmp(line[0], magic) == 0 &&
	    sscanf(line[1], "%" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNu64,
		   &e.expires_at, &e.min_valid, &e.config.mtime_ns, &e.config.size,
		   &e.config.ino) == 5 &&
	    strlen(line[2]) < sizeof(e.config.path) && *line[3]) {
		strcpy(e.config.path, line[2]);
		e.access_token = strdup(line[3]);
		r = e.access_token ? 0 : -ENOMEM;
	}
	spk_wipe(text, len);
	/* strtok_r put NULs in: wipe past them too. */
	for (int i = 0; i < 4 && line[i]; i++) {
		spk_wipe(line[i], strlen(line[i]));
	}
	free(text);
	if (r == 0) {
		*ret = e;
	}
	return r;
}

int spk_cache_remove(const char *dir, const char *profile)
{
	_cleanup_free_ char *name = cache_name(profile);
	return name ? spk_file_remove(dir, name) : -ENOMEM;
}

void spk_cache_entry_done(struct spk_cache_entry *e)
{
	spk_secret_free(e->access_token);
	*e = (struct spk_cache_entry){ 0 };
}
