/*
 * Between the two halves of the etcd backend (store-etcd.c: the items;
 * store-etcd-guard.c: the lock and the in-flight record in the cluster):
 * one connection per profile and process, what this process learnt of
 * each profile's keys, and this machine's holder id.
 *
 * The keys of profile P under the prefix (etcd_prefix, "/sparekey/"):
 *   P/grant          the grant document, as the other stores hold it
 *   P/access         the access token as `token --json` prints it (no refresh token)
 *   P/client_secret  the client secret, if any
 *   P/holder         the refresh lock: who holds it {id, host, pid, since}, on
 *                    its process's lease; taken by creating it, let go by deleting it
 *   P/inflight       a refresh sent whose answer is not stored yet
 * grant and access are always written together, in one transaction.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "etcd.h"
#include "profile.h"

/* p's connection (kept for the process), or NULL with err set. */
struct spk_etcd *spk_store_etcd_conn(const struct spk_profile *p, struct spk_error *err);

/* Did etcd refuse this process p's grant but give it p's access token (a reader)? */
bool spk_store_etcd_is_reader(const struct spk_profile *p);

/* The grant's mod_revision this process read last, or 0. */
int64_t spk_store_etcd_grant_revision(const struct spk_profile *p);

/*
 * This machine's holder id: random, made once and kept in the state
 * directory (hostnames repeat, and pids). Into ret (33 bytes).
 */
int spk_store_etcd_holder_id(char ret[33], struct spk_error *err);

/* The in-flight record as read: whose, what it spent, its key's mod_revision. */
struct spk_store_etcd_inflight {
	char holder[33];       /* a holder id; "" when unreadable */
	char token_sha256[65]; /* of the refresh token sent; "" when unreadable */
	int64_t revision;
};
/* -ENOENT when there is none. */
int spk_store_etcd_inflight_of(const struct spk_profile *p, struct spk_store_etcd_inflight *ret,
			       struct spk_error *err);

/* Save's answer when the cluster's grant moved on (another holder): the journal is moot. */
#define SPK_STORE_ETCD_MOVED_ON (-ESTALE)

/*
 * The lease and its keeper (store-etcd-session.c, store-etcd-keeper.c): a process's locks in one
 * cluster share a lease, renewed by one keeper, `sparekey-worker --keeper`.
 *
 * enter: the lease for p's cluster (granted on first use; its keeper
 * starts with the first hold or keep), counted as in use until leave, or
 * until the lock taken on it is handed over by hold and let go by
 * release.
 * hold: the keeper takes the lock just taken (key, put at revision on the
 * lease) and the machine's flock local (closed here in any case): 0 with
 * the lock's handle, an fd that holds it while any copy is open.
 * release: the key deleted (if still at revision), the keeper told; once
 * it has let go of the flock too, or after a bounded wait, it returns.
 */
int spk_store_etcd_session_enter(const struct spk_profile *p, int64_t *ret_lease,
				 struct spk_error *err);
void spk_store_etcd_session_leave(const struct spk_profile *p, int64_t lease);
/* Start the lease's keeper now (before a wait that may outlast the lease), if not yet. */
int spk_store_etcd_session_keep(const struct spk_profile *p, int64_t lease, struct spk_error *err);
int spk_store_etcd_session_hold(const struct spk_profile *p, int64_t lease, const char *key,
				int64_t revision, int local, int *ret_handle,
				struct spk_error *err);
void spk_store_etcd_session_release(int handle);
/* The keeper's job for p's cluster and lease (lease 0: to tell clusters apart); NULL on OOM. */
char *spk_store_etcd_keeper_job(const struct spk_profile *p, int64_t lease);
/* Written by the caller on a lock's handle: it deleted the key itself. */
#define SPK_STORE_ETCD_RELEASED 'R'
/* The keeper's side, in sparekey-worker --keeper: the exit status. */
int spk_store_etcd_keeper_serve(void);
/* Is an in-flight record for p pending (this machine's or another's)? Yes when unsure. */
bool spk_store_etcd_inflight_pending(const struct spk_profile *p);
