/*
 * The last refresh's failure, STATE_DIR/PROFILE.failed (0600, no secret):
 * written when a refresh of the profile fails, removed when one succeeds.
 * `check` reads it without the lock or the network, to tell "the last
 * refresh failed for now" and "the provider turned the grant down" from a
 * grant that is merely stored. A record older than the stored grant (a
 * login or a refresh stored since, by any process) is stale: the reader
 * compares `at` with the grant's obtained_at. libc only.
 */
#pragma once

#include <stdint.h>

#include "error.h"

struct spk_failure {
	enum spk_error_kind kind; /* the failed refresh's error kind (SPK_ERR_LOGIN: log in) */
	int64_t at;               /* epoch seconds it failed */
	char msg[256];            /* its one-line message (never a secret) */
};

/* Record that a refresh of profile failed at at with err (its kind and message). */
int spk_failure_record(const char *profile, const struct spk_error *err, int64_t at);
/* 0 with *ret; -ENOENT when there is none; another error when it is unreadable. */
int spk_failure_read(const char *profile, struct spk_failure *ret);
/* A refresh succeeded: 0 when there is no record (any more). */
int spk_failure_clear(const char *profile);
