#include "failure.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "macro.h"
#include "paths.h"

#define RECORD_MAX 512
#define EXT ".failed"

/* The record's file name in the state directory; NULL on out-of-memory. */
static char *record_name(const char *profile)
{
	char *out = NULL;
	return asprintf(&out, "%s" EXT, profile) < 0 ? NULL : out;
}

int spk_failure_record(const char *profile, const struct spk_error *err, int64_t at)
{
	_cleanup_free_ char *dir = spk_path_state_dir();
	_cleanup_free_ char *name = record_name(profile);
	char text[RECORD_MAX];
	char msg[sizeof(err->msg)];

	if (!dir || !name) {
		return -ENOMEM;
	}
	/* One line: a message never spans two, but the record must not trust that. */
	snprintf(msg, sizeof(msg), "%s", err->msg);
	msg[strcspn(msg, "\r\n")] = '\0';
	int n = snprintf(text, sizeof(text), "sparekey-failed 1\nkind %d\nat %" PRId64 "\nmsg %s\n",
			 (int)err->kind, at, msg);
	/* Not synced: lost to a power cut, the next refresh says it again. */
	return spk_file_replace_private(dir, name, text, (size_t)n);
}

int spk_failure_read(const char *profile, struct spk_failure *ret)
{
	_cleanup_free_ char *dir = spk_path_state_dir();
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *text = NULL;
	struct spk_failure f = { 0 };
	int kind, used = 0;

	if (!dir || asprintf(&path, "%s/%s" EXT, dir, profile) < 0) {
		path = NULL;
		return -ENOENT;
	}
	int r = spk_file_read_private(path, RECORD_MAX, &text);
	if (r < 0) {
		return r;
	}
	if (sscanf(text, "sparekey-failed 1\nkind %d\nat %" SCNd64 "\nmsg %n", &kind, &f.at,
		   &used) != 2 ||
	    used == 0 || kind <= SPK_ERR_NONE || kind > SPK_ERR_INTERNAL) {
		return -EBADMSG;
	}
	f.kind = (enum spk_error_kind)kind;
	snprintf(f.msg, sizeof(f.msg), "%s", text + used);
	f.msg[strcspn(f.msg, "\r\n")] = '\0';
	*ret = f;
	return 0;
}

int spk_failure_clear(const char *profile)
{
	_cleanup_free_ char *dir = spk_path_state_dir();
	_cleanup_free_ char *path = NULL;

	if (!dir || asprintf(&path, "%s/%s" EXT, dir, profile) < 0) {
		return -ENOMEM;
	}
	/* No fsync: a record that comes back after a power cut is older than the grant. */
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
