/*
 * The per-profile refresh lock: flock(2) on DIR/PROFILE.lock. Whoever holds
 * it is the only process that may spend the profile's refresh token, so
 * concurrent callers refresh once and a rotated token is never reused.
 * The lock dies with its holder: a crash cannot leave it stuck.
 */
#pragma once

#include "error.h"

#define SPK_LOCK_TIMEOUT_MS 30000

/* Take the lock, waiting at most timeout_ms; *ret_fd holds it. */
int spk_lock_take(const char *dir, const char *profile, int timeout_ms, int *ret_fd,
		  struct spk_error *err);
/* Release (close) a lock; accepts -1. */
void spk_lock_release(int fd);
