/*
 * Holding back stop signals (SIGINT, SIGTERM, SIGHUP) over a short
 * section that must not be cut: from the request that spends a refresh
 * token until its successor is stored. A stop that comes meanwhile is only
 * noted, and raised again when the section ends; then the caller's own
 * disposition (default, ignore, handler) applies. SIGKILL cannot be held:
 * the detached worker (worker.h) is what carries a refresh through it.
 *
 * Where the calling thread blocks these signals already (refresh --all,
 * whose watcher thread takes them), nothing is changed.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>

struct spk_stop_hold {
	struct sigaction old[3];
	bool active;
};

void spk_stop_hold(struct spk_stop_hold *h);
/* Ends the section; a stop noted during it is raised now. Idempotent. */
void spk_stop_release(struct spk_stop_hold *h);
