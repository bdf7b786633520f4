/*
 * Where grants and client secrets live, and what guards them while a
 * refresh token is spent. The interface hides the backend a profile uses:
 * "secret" (the Secret Service, via libsecret) by default, or "file" (0600
 * files in the state directory) where there is no keyring. Items are named
 * by profile and kind ("grant", "client_secret"); a grant is stored as its
 * JSON text (see grant.h).
 *
 * Each backend also owns, through its guard, the three things that keep a
 * refresh safe: the profile's refresh lock, the rescue journal (a
 * refreshed grant kept until the store has it) and the in-flight record
 * (a request sent whose answer is not yet safe). The refresh flow reaches
 * them only through the spk_store_lock/journal/inflight calls below, so a
 * backend whose lock lives elsewhere is one new file with a guard of its
 * own. Both backends here use the local guard (store-local.c): flock(2)
 * on RUNTIME_DIR/PROFILE.lock (else STATE_DIR's), STATE_DIR/PROFILE.rescue
 * and STATE_DIR/PROFILE.inflight — the files the front checks (paths.h).
 *
 * MUST (of every guard): the lock is held by one process at a time and
 * dies with its holder; a journal write is durable before it returns
 * success; an in-flight record is durable before the request is sent.
 */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "grant.h"
#include "inflight.h"
#include "lock.h"
#include "profile.h"

/* How long a caller waits for a profile's lock: the front waits as long (lock.h). */
#define SPK_STORE_LOCK_WAIT_MS SPK_LOCK_TIMEOUT_MS

/*
 * A lock's flag: while another holds it (another machine's refresh),
 * wait for its outcome rather than for the lock. The guard then returns
 * SPK_STORE_YIELDED once p's items changed or the lock was let go, with
 * *ret_lock holding only what keeps this machine's other callers waiting
 * (to unlock after reading again). A guard whose lock is this machine's
 * alone may ignore it: the front's queue does as much.
 */
#define SPK_STORE_LOCK_YIELD 1u
#define SPK_STORE_YIELDED 1

struct spk_store_guard {
	/*
	 * Take p's refresh lock, waiting at most timeout_ms: 0 with the
	 * lock's handle in *ret_lock. -ETIMEDOUT (SPK_ERR_TEMPFAIL, naming
	 * what holds it) after the wait; -ENOENT with SPK_ERR_CONFIG when
	 * there is nowhere to keep a lock; SPK_STORE_YIELDED (flags).
	 */
	int (*lock)(const struct spk_profile *p, int timeout_ms, unsigned flags, int *ret_lock,
		    struct spk_error *err);
	/*
	 * Adopt p's lock the front took and handed over: 0, or -ENOENT when
	 * there is none (err untouched). A guard whose lock has more than the
	 * front's half (a cluster's) takes the rest here, waiting at most
	 * timeout_ms, with lock's other results.
	 */
	int (*lock_adopt)(const struct spk_profile *p, int timeout_ms, unsigned flags,
			  int *ret_lock, struct spk_error *err);
	/* Did the front hand a lock over (not adopted yet)? */
	bool (*lock_handed_over)(const struct spk_profile *p);
	/* Release a lock; accepts -1. */
	void (*unlock)(int lock);
	/*
	 * The handover to the detached worker (worker.h): true when the
	 * handle is an fd that holds the lock for as long as any copy of it
	 * is open. The caller passes a copy to sparekey-worker (on fd 3, or
	 * by SCM_RIGHTS to the shared worker), so the lock outlives a caller
	 * killed in the middle of a refresh, and ends with the worker.
	 *
	 * A lock that lives elsewhere (a lease in a cluster) is no such fd.
	 * Its guard would set this false and give the worker what stands for
	 * it instead: e.g. one end of a pipe to a keeper that renews the
	 * lease until every copy is closed, then releases it — the same
	 * "held while an fd is open" the worker relies on. The refresh flow
	 * hands every lock it takes to a worker, so a guard must set this
	 * (or give such an fd) before it is used; the local one does.
	 */
	bool lock_is_fd;

	/*
	 * The rescue journal, under the lock: g written (durably) before the
	 * store; 1/0 from complete whether a leftover one was stored (then
	 * removed); remove is harmless when there is none.
	 */
	int (*journal_write)(const struct spk_profile *p, const struct spk_grant *g,
			     struct spk_error *err);
	int (*journal_complete)(const struct spk_profile *p, struct spk_error *err);
	int (*journal_remove)(const struct spk_profile *p, struct spk_error *err);
	bool (*journal_pending)(const struct spk_profile *p);
	/* Where the journal is, for messages; NULL when it cannot be said. */
	char *(*journal_where)(const struct spk_profile *p);

	/*
	 * The in-flight record (inflight.h): its calls, with the same
	 * contract. inflight_shared: other machines see it (and not this
	 * machine's journal), so a journaled answer leaves it in place until
	 * the store has the answer (the store's save removes it).
	 */
	bool inflight_shared;
	int (*inflight_write)(const struct spk_profile *p, const char *token,
			      struct spk_error *err);
	int (*inflight_read)(const struct spk_profile *p, struct spk_inflight *ret);
	int (*inflight_remove)(const struct spk_profile *p);
	bool (*inflight_pending)(const struct spk_profile *p);

	/* A journal or in-flight record waits (or it cannot be told): no fast answer. */
	bool (*refresh_pending)(const struct spk_profile *p);
};

struct spk_store_backend {
	const char *name;
	/* The item's value (a secret, free with spk_secret_free), or -ENOENT. */
	int (*load)(const struct spk_profile *p, const char *kind, char **ret_value,
		    struct spk_error *err);
	int (*save)(const struct spk_profile *p, const char *kind, const char *value,
		    struct spk_error *err);
	/* -ENOENT when there was nothing to delete. */
	int (*remove)(const struct spk_profile *p, const char *kind, struct spk_error *err);
	/* The lock, the journal and the in-flight record of its profiles. */
	const struct spk_store_guard *guard;
};

/* The lock and files of the local machine (store-local.c). */
extern const struct spk_store_guard spk_store_local_guard;
/* Its journal, for a guard whose lock lives elsewhere (the same contract as the guard's). */
int spk_store_local_journal_write(const struct spk_profile *p, const struct spk_grant *g,
				  struct spk_error *err);
int spk_store_local_journal_remove(const struct spk_profile *p, struct spk_error *err);
bool spk_store_local_journal_pending(const struct spk_profile *p);
char *spk_store_local_journal_where(const struct spk_profile *p);
bool spk_store_local_refresh_pending(const struct spk_profile *p);
extern const struct spk_store_backend spk_store_secret;
extern const struct spk_store_backend spk_store_file;
extern const struct spk_store_backend spk_store_etcd;
/* The lock and in-flight record in an etcd cluster, the journal here (store-etcd-guard.c). */
extern const struct spk_store_guard spk_store_etcd_guard;

/* The client secret of p: -ENOENT (no error set) when none is stored. */
int spk_store_load_client_secret(const struct spk_profile *p, char **ret, struct spk_error *err);
int spk_store_save_client_secret(const struct spk_profile *p, const char *secret,
				 struct spk_error *err);
int spk_store_remove_client_secret(const struct spk_profile *p, struct spk_error *err);

/*
 * Load the grant of profile p. No grant: -ENOENT, SPK_ERR_LOGIN with
 * "Run: sparekey login NAME".
 */
int spk_store_load(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err);
int spk_store_save(const struct spk_profile *p, const struct spk_grant *g, struct spk_error *err);
int spk_store_remove(const struct spk_profile *p, struct spk_error *err);

/*
 * p's refresh lock, through its backend's guard (see struct
 * spk_store_guard for the results). Whoever holds it is the only process
 * that may spend p's refresh token.
 */
int spk_store_lock(const struct spk_profile *p, int timeout_ms, unsigned flags, int *ret_lock,
		   struct spk_error *err);
int spk_store_lock_adopt(const struct spk_profile *p, int timeout_ms, unsigned flags, int *ret_lock,
			 struct spk_error *err);
bool spk_store_lock_handed_over(const struct spk_profile *p);
void spk_store_unlock(const struct spk_profile *p, int lock);

/*
 * The rescue journal: a refreshed grant is written here before the store,
 * and removed once the store has it. A journal left by a crash or a failed
 * store write is completed by the next run, under the profile's lock:
 * complete stores it and removes it, 1 if there was one, 0 if not.
 */
int spk_store_journal_write(const struct spk_profile *p, const struct spk_grant *g,
			    struct spk_error *err);
int spk_store_journal_complete(const struct spk_profile *p, struct spk_error *err);
int spk_store_journal_remove(const struct spk_profile *p, struct spk_error *err);
bool spk_store_journal_pending(const struct spk_profile *p);
/* Where the journal is, for messages; NULL when it cannot be said. */
char *spk_store_journal_where(const struct spk_profile *p);

/* The in-flight record of p (inflight.h). */
int spk_store_inflight_write(const struct spk_profile *p, const char *token, struct spk_error *err);
int spk_store_inflight_read(const struct spk_profile *p, struct spk_inflight *ret);
int spk_store_inflight_remove(const struct spk_profile *p);
bool spk_store_inflight_pending(const struct spk_profile *p);
bool spk_store_inflight_shared(const struct spk_profile *p);

/* Does a journal or an in-flight record wait for p (then the fast path is closed)? */
bool spk_store_refresh_pending(const struct spk_profile *p);
