/*
 * The in-flight record, STATE_DIR/PROFILE.inflight (0600, fsync'd): the
 * worker writes it right before it sends a request that spends the
 * profile's refresh token, and removes it once the answer is safe (in the
 * rescue journal or the store). Found later while the store still holds
 * that same refresh token, it means the exchange was cut off where no
 * process could carry it through (power loss, a kernel crash, a
 * machine-wide kill): the provider may have spent the token, and its
 * answer is lost. It holds no secret, only the token's SHA-256.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "profile.h"

struct spk_inflight {
	int64_t sent_at;       /* epoch seconds, just before the request went out */
	char token_sha256[65]; /* hex SHA-256 of the refresh token it spends */
	/*
	 * Another machine's record (a store shared by many: store = etcd),
	 * whose holder is gone; its host and pid, for messages. "" and 0 for
	 * this machine's.
	 */
	char elsewhere[64];
	long pid;
};

/* Record that a request spending token is about to be sent. */
int spk_inflight_write(const struct spk_profile *p, const char *token, struct spk_error *err);
/* 0 with *ret; -ENOENT when there is none; another error when it is unreadable. */
int spk_inflight_read(const struct spk_profile *p, struct spk_inflight *ret);
bool spk_inflight_pending(const struct spk_profile *p);
/* 0 when it is gone (or was never there); not synced to disk (see inflight.c). */
int spk_inflight_remove(const struct spk_profile *p);
/* Is the record about token (NULL: none)? */
bool spk_inflight_about(const struct spk_inflight *rec, const char *token);
