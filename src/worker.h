/*
 * The detached exchange. A request that spends a refresh token (a refresh,
 * a revocation at logout) is sent by a short-lived worker process,
 * sparekey-worker, never by the caller itself. The worker has left the
 * caller's session and process group, has nothing of its terminal, ignores
 * the stop signals and holds the profile's lock along with the caller. It
 * writes the in-flight record (inflight.h), sends, journals the answer and
 * hands it back; the caller stores it and says so. If the caller is gone by
 * then (SIGKILL to it or to its process group, a closed terminal), the
 * worker stores the answer itself. Either way it reaches the store.
 *
 * MUST: the worker sends nothing before it has the whole job and has
 * written the in-flight record; it is bounded by the transfer timeouts.
 */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "grant.h"
#include "oauth.h"
#include "profile.h"

enum spk_worker_op {
	SPK_WORKER_REFRESH, /* spend grant's refresh token: the answer is a new grant */
	SPK_WORKER_REVOKE,  /* revoke grant (RFC 7009): the answer is only whether it worked */
};

struct spk_worker_job {
	enum spk_worker_op op;
	const struct spk_grant *grant;
	const struct spk_client *client;
	const char *revocation_endpoint; /* SPK_WORKER_REVOKE */
};

/* The worker died before it answered: the request may or may not have been sent. */
#define SPK_WORKER_CUT_OFF (-ECONNRESET)

struct spk_worker;

/*
 * Start a worker for job on profile p, whose lock the caller holds in
 * lock_fd, and wait for its answer. A refresh returns the new grant,
 * merged with the old one and journaled (not yet stored), in *ret. On
 * success and on an answer with an error alike, *ret_w is the worker,
 * waiting for spk_worker_finish().
 */
int spk_worker_exchange(const struct spk_profile *p, const struct spk_worker_job *job, int lock_fd,
			struct spk_worker **ret_w, struct spk_grant *ret, struct spk_error *err);

/*
 * settled: the caller stored the answer (or, for a revocation, deleted the
 * grant); else the worker does it. Waits for the worker to end. Accepts NULL.
 */
void spk_worker_finish(struct spk_worker *w, bool settled);

/*
 * Many exchanges at once (refresh --all): between begin and end, every
 * spk_worker_exchange() hands its job and lock to one shared worker, which
 * sends each from a thread of its own, instead of starting a worker per
 * job (each would load libcurl and OpenSSL again). The guarantees are the
 * same. Call begin and end with no exchange under way; end waits for the
 * shared worker to finish.
 */
int spk_worker_share_begin(struct spk_error *err);
void spk_worker_share_end(void);

/* The worker's side: one job from stdin, the lock on fd 3. The exit status. */
int spk_worker_serve(void);
/* The shared worker's side: jobs (a socket and a lock each) from stdin, until its end. */
int spk_worker_serve_many(void);
