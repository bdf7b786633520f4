/*
 * refresh --all's engine: one job per profile, up to SPK_BATCH_PARALLEL
 * at once in threads of this process (fewer when the fd limit is low),
 * their requests sent by one shared sparekey-worker. A refresher of many
 * profiles then costs about one round trip, not one per profile, and opens
 * the keyring once.
 *
 * SIGINT, SIGTERM and SIGHUP (Ctrl-C, systemd stopping the timer's unit)
 * must not cut refreshes in flight: while the batch runs they are blocked
 * in every thread and taken by a watcher thread. A stop starts no new job;
 * the ones under way finish (bounded by their own timeouts); the caller
 * learns which signal came and raises it again once it has said what it
 * must.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Profiles refreshed at once (see batch.c for the measurement behind it). */
#define SPK_BATCH_PARALLEL 128

struct spk_batch {
	size_t n;
	/* Job i (0 <= i < n): its exit status. Runs in several threads at once. */
	int (*run)(size_t i, void *ctx);
	/* A stop signal came (once, from the watcher thread); may be NULL. */
	void (*on_stop)(int sig, void *ctx);
	void *ctx;

	/* Filled by spk_batch_run(). */
	size_t started; /* jobs 0 .. started-1 ran; those after were kept back by a stop */
	int stopped_by; /* the stop signal that came, or 0 */
};

/*
 * Run b's jobs and return when all that started have ended: 0, or an error
 * (the HTTP client could not be loaded) before any job ran. The stop
 * signals are blocked again as they were when it returns; a stop that
 * came is in b->stopped_by, for the caller to raise.
 */
int spk_batch_run(struct spk_batch *b, struct spk_error *err);
