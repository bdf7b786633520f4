/*
 * heartbeat_url: a dead-man's switch in the healthchecks.io style. After
 * `refresh`, a GET to the profile's URL when the refresh succeeded, to
 * URL/fail when it failed; a monitor that stops hearing from the timer
 * raises the alarm. The pings of one run go out together (refresh --all:
 * after all its refreshes), bounded in all by SPK_HEARTBEAT_TIMEOUT_MS.
 * A ping carries no token, no query of ours and no Authorization; its
 * failure changes nothing about the refresh (the caller may mention it).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

/* The bound of one run's pings, connect included. */
#define SPK_HEARTBEAT_TIMEOUT_MS 3000L

struct spk_heartbeat {
	const struct spk_profile *profile; /* borrowed; its heartbeat_url is pinged */
	bool failed;                       /* the refresh failed: ping URL/fail */
	/* Set by spk_heartbeat_send: */
	long status; /* the HTTP status, or a negative errno (see spk_http_ping) */
	bool sent;   /* a 2xx answer came back */
};

/*
 * The URL to ping: url on success; on failure url with "/fail" appended
 * to its path (before any query or fragment, one slash between). NULL on
 * out-of-memory.
 */
char *spk_heartbeat_url(const char *url, bool failed);

/*
 * Ping each of beats[0..n) whose profile has a heartbeat_url, all at
 * once; returns within SPK_HEARTBEAT_TIMEOUT_MS. Logs each outcome at
 * DEBUG (host and status, never the path).
 */
void spk_heartbeat_send(struct spk_heartbeat *beats, size_t n);
