/*
 * The clock of `exec --keep-fresh`: when the parent replaces the token in
 * its file, and when it tries again after a refresh failed. Pure: the
 * caller brings "now" and the grant whose token the file holds; the rules
 * of validity and margin are health.h's.
 */
#pragma once

#include <stdint.h>

#include "grant.h"
#include "profile.h"

/* The first retry after a failed refresh, doubling up to the second. */
#define SPK_FRESH_RETRY_FIRST 5
#define SPK_FRESH_RETRY_MAX 300
/*
 * The longest single sleep: timers stop while a laptop sleeps, the wall
 * clock (expires_at) does not, so the parent looks at the clock this often.
 */
#define SPK_FRESH_RECHECK 30

/*
 * When the file holding g's token must be rewritten (epoch seconds): when
 * the token comes within the margin (spk_health_margin with min_valid) of
 * its end, which is when spk_flow_token() refreshes it. A token that lives
 * less than the margin is rewritten when half of its life is left (never
 * sooner than 1 s), not in a loop. INT64_MAX when it never expires.
 */
int64_t spk_fresh_due(const struct spk_profile *p, const struct spk_grant *g, int64_t min_valid,
		      int64_t now);

/*
 * After the failures-th failed refresh in a row (>= 1) at now, with g's
 * token still in the file: when to try again. The backoff doubles from
 * SPK_FRESH_RETRY_FIRST to SPK_FRESH_RETRY_MAX, but while g's token is
 * still valid, the next try comes before half of what is left of it has
 * passed (at least 1 s later), so that a passing failure costs no expiry.
 */
int64_t spk_fresh_retry(const struct spk_profile *p, const struct spk_grant *g, int failures,
			int64_t now);

/* Seconds to sleep at now before due: 0 when due, at most SPK_FRESH_RECHECK. */
int64_t spk_fresh_wait(int64_t due, int64_t now);
