/*
 * The per-profile refresh lock: flock(2) on DIR/PROFILE.lock. Whoever holds
 * it is the only process that may spend the profile's refresh token, so
 * concurrent callers refresh once and a rotated token is never reused.
 * The lock dies with its holder: a crash cannot leave it stuck.
 */
#pragma once

#include <stdbool.h>

#include "error.h"

#define SPK_LOCK_TIMEOUT_MS 30000

/* Open (creating it and dir) the lock file, without locking it. */
int spk_lock_open(const char *dir, const char *profile, int *ret_fd, struct spk_error *err);
/* Take the lock, waiting at most timeout_ms; *ret_fd holds it. */
int spk_lock_take(const char *dir, const char *profile, int timeout_ms, int *ret_fd,
		  struct spk_error *err);
/* The TEMPFAIL error for a lock another process held for timeout_ms: -ETIMEDOUT. */
int spk_lock_timed_out(const char *dir, const char *profile, int timeout_ms, struct spk_error *err);
/*
 * The front's side of the handover: keep fd open across the exec of the
 * full program and name it there. On failure fd is released (the full
 * program then takes the lock itself).
 */
int spk_lock_hand_over(int fd);
/* Take over a lock the front handed over, if any; call first thing in main(). */
void spk_lock_receive(void);

/* Whether the front handed a lock over (and it has not been adopted yet). */
bool spk_lock_handed_over(void);

/*
 * Adopt a lock the front already holds for this profile (see
 * spk_env_take_lock_fd): 0 with *ret_fd, or -ENOENT when there is none.
 */
int spk_lock_inherited(const char *dir, const char *profile, int *ret_fd);

/*
 * The lock path of profile in dir, as spk_lock_take() uses it; for the
 * front, which takes the lock itself.
 */
int spk_lock_path(const char *dir, const char *profile, char *buf, size_t size);

/* Release (close) a lock; accepts -1. */
void spk_lock_release(int fd);
