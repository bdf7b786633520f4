#include "inflight.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "macro.h"
#include "paths.h"
#include "secret.h"

#define RECORD_MAX 256

int spk_inflight_write(const struct spk_profile *p, const char *token, struct spk_error *err)
{
	_cleanup_free_ char *dir = spk_path_state_dir();
	_cleanup_free_ char *name = spk_path_state_name(p->name, SPK_STATE_INFLIGHT);
	char hex[65], text[RECORD_MAX];

	if (!dir || !name) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOENT,
				     "no state directory for the in-flight record: set HOME");
	}
	spk_sha256_hex(token, hex);
	int n = snprintf(text, sizeof(text),
			 "sparekey-inflight 1\nsent_at %" PRId64 "\ntoken_sha256 %s\n",
			 (int64_t)time(NULL), hex);
	/* Durable before the request leaves: it must survive a power cut. */
	int r = spk_file_write_private(dir, name, text, (size_t)n);
	if (r < 0) {
		return spk_error_set(
			err, SPK_ERR_INTERNAL, r,
			"cannot write the in-flight record in %s (%s); nothing was sent", dir,
			strerror(-r));
	}
	return 0;
}

int spk_inflight_read(const struct spk_profile *p, struct spk_inflight *ret)
{
	_cleanup_free_ char *path = spk_path_state_file(p->name, SPK_STATE_INFLIGHT);
	_cleanup_free_ char *text = NULL;
	struct spk_inflight rec = { 0 };

	if (!path) {
		return -ENOENT;
	}
	int r = spk_file_read_private(path, RECORD_MAX, &text);
	if (r < 0) {
		return r;
	}
	if (sscanf(text, "sparekey-inflight 1\nsent_at %" SCNd64 "\ntoken_sha256 %64[0-9a-f]",
		   &rec.sent_at, rec.token_sha256) != 2 ||
	    strlen(rec.token_sha256) != 64) {
		return -EBADMSG;
	}
	*ret = rec;
	return 0;
}

bool spk_inflight_pending(const struct spk_profile *p)
{
	_cleanup_free_ char *path = spk_path_state_file(p->name, SPK_STATE_INFLIGHT);
	return path && access(path, F_OK) == 0;
}

int spk_inflight_remove(const struct spk_profile *p)
{
	_cleanup_free_ char *path = spk_path_state_file(p->name, SPK_STATE_INFLIGHT);

	/*
	 * No fsync of the directory: a record that comes back after a power
	 * cut is about a refresh token the store no longer holds (stale, and
	 * removed then), unless the answer was lost with it, when it is right.
	 */
	if (!path) {
		return -ENOMEM;
	}
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

bool spk_inflight_about(const struct spk_inflight *rec, const char *token)
{
	char hex[65];

	if (!token) {
		return false;
	}
	spk_sha256_hex(token, hex);
	return strcmp(hex, rec->token_sha256) == 0;
}
