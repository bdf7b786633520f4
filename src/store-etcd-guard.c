/*
 * The etcd backend's guard (store.h): the refresh lock and the in-flight
 * record live in the cluster; the rescue journal stays on this machine
 * (store-local.c's), and comes first.
 *
 * The lock: this machine's flock (store-local.c's, so the machine's own
 * callers queue there, not in the cluster), then the holder record
 * PROFILE/holder, created only where there is none, on this process's
 * lease (a waiter watches it go). The lease's keeper (store-etcd-keeper.c,
 * a fresh program, never a fork) renews it and takes the flock over, for
 * as long as any copy of the lock's handle, one end of a socket pair, is
 * open: the caller's, and the worker's it is handed to (store.h,
 * lock_is_fd).
 * Unlock deletes the record at once; when the machine dies or is cut off,
 * etcd lets the lease expire, and the record with it.
 *
 * The in-flight record PROFILE/inflight names this machine (its holder id)
 * and outlives the lease: a machine cut off after its request was sent
 * finds it still its own when it comes back, and stores its answer (the
 * store's transaction checks that); any other machine that meets it does
 * not spend the token (refresh.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inflight.h"
#include "json.h"
#include "lock.h"
#include "log.h"
#include "paths.h"
#include "secret.h"
#include "store-etcd.h"
#include "store.h"

static char *lock_dir(void)
{
	char *dir = spk_path_runtime_dir();
	return dir ? dir : spk_path_state_dir();
}

static long remaining_ms(const struct timespec *t0, int timeout_ms)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long spent = (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
	return timeout_ms - spent;
}

/* "HOST (pid N) since TIME" of the holder record, for messages; "another machine" if none. */
static void holder_words(struct spk_etcd *e, const struct spk_profile *p, char *buf, size_t n)
{
	_cleanup_free_ char *key = spk_etcd_key(p, "holder"), *host = NULL;
	_cleanup_json_ struct spk_json *j = NULL;
	struct spk_etcd_kv kv = { 0 };
	int64_t pid = 0, since = 0;

	snprintf(buf, n, "another machine");
	if (!key || spk_etcd_get(e, key, &kv, NULL) < 0) {
		return;
	}
	if (spk_json_parse_object(kv.value, kv.len, &j) == 0 &&
	    spk_json_get_string(j, "host", &host) == 0) {
		(void)spk_json_get_int64(j, "pid", &pid);
		(void)spk_json_get_int64(j, "since", &since);
		time_t t = (time_t)since;
		struct tm tm;
		char when[32] = "?";
		if (localtime_r(&t, &tm)) {
			strftime(when, sizeof(when), "%H:%M:%S", &tm);
		}
		snprintf(buf, n, "%s (pid %lld, since %s)", host, (long long)pid, when);
	}
	spk_etcd_kv_done(&kv);
}

static int held_too_long(struct spk_etcd *e, const struct spk_profile *p, int timeout_ms,
			 struct spk_error *err)
{
	char who[160];

	holder_words(e, p, who, sizeof(who));
	return spk_error_set(err, SPK_ERR_TEMPFAIL, -ETIMEDOUT,
			     "%s: %s holds the refresh lock in etcd and did not let go within %d "
			     "s. Try again later",
			     p->name, who, timeout_ms / 1000);
}

static int reader_stale(const struct spk_profile *p, struct spk_error *err)
{
	return spk_error_set(err, SPK_ERR_TEMPFAIL, -EACCES,
			     "%s: the shared access token is too old and no machine with refresh "
			     "rights has refreshed it (this etcd user may read it only). Try again "
			     "later, or run sparekey refresh %s on a machine that may",
			     p->name, p->name);
}

/* The holder record, the lock's value: {id, host, pid, since}. NULL with err set. */
static char *holder_text(struct spk_error *err)
{
	_cleanup_json_ struct spk_json *o = spk_json_new_object();
	char me[33], host[64] = "?";
	char *text = NULL;

	(void)gethostname(host, sizeof(host) - 1);
	if (spk_store_etcd_holder_id(me, err) < 0) {
		return NULL;
	}
	if (!o || spk_json_add_string(o, "id", me) < 0 ||
	    spk_json_add_string(o, "host", host) < 0 ||
	    spk_json_add_int64(o, "pid", (int64_t)getpid()) < 0 ||
	    spk_json_add_int64(o, "since", (int64_t)time(NULL)) < 0 || !(text = spk_json_dump(o))) {
		spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	return text;
}

/*
 * Wait until the holder whose record is at revision since stores an
 * answer or lets go: a watch on P/access .. P/holder (access,
 * client_secret, grant, holder). 0, or -ETIMEDOUT (no error set).
 */
static int await_holder(struct spk_etcd *e, const struct spk_profile *p, int64_t since,
			const struct timespec *t0, int timeout_ms, struct spk_error *err)
{
	_cleanup_free_ char *access = spk_etcd_key(p, "access"), *end = spk_etcd_key(p, "holder");
	long left = remaining_ms(t0, timeout_ms);

	if (!access || !end) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	if (left <= 0) {
		return -ETIMEDOUT;
	}
	end[strlen(end) - 1]++; /* P/holdes: the range ends right after P/holder */
	spk_log("etcd %s: another holds the lock; waiting for its outcome", p->name);
	return spk_etcd_watch(e, access, end, since + 1, left, err);
}

/*
 * Create the holder record on lease, waiting while another has it: a watch
 * on the key wakes us when it goes (let go, or its lease ended); with
 * SPK_STORE_LOCK_YIELD, SPK_STORE_YIELDED once the other stored an answer
 * or let go. 0 with the revision of our put; -ETIMEDOUT (no error set)
 * past the bound.
 */
static int holder_create(struct spk_etcd *e, const struct spk_profile *p, const char *key,
			 const char *text, int64_t lease, const struct timespec *t0, int timeout_ms,
			 unsigned flags, int64_t *ret_revision, struct spk_error *err)
{
	for (;;) {
		struct spk_etcd_kv kv = { 0 };
		int r = spk_etcd_create(e, key, text, lease, ret_revision, err);
		if (r != 0) {
			return r < 0 ? r : 0;
		}
		r = spk_etcd_get(e, key, &kv, err);
		spk_etcd_kv_done(&kv);
		if (r == -ENOENT) {
			continue; /* let go meanwhile */
		}
		if (r < 0) {
			return r;
		}
		if (flags & SPK_STORE_LOCK_YIELD) {
			r = await_holder(e, p, kv.mod_revision, t0, timeout_ms, err);
			return r < 0 ? r : SPK_STORE_YIELDED;
		}
		long left = remaining_ms(t0, timeout_ms);
		if (left <= 0) {
			return -ETIMEDOUT; /* a try (timeout 0) waits for nothing */
		}
		/* The wait may outlast the lease: its keeper renews it from now on. */
		r = spk_store_etcd_session_keep(p, lease, err);
		if (r == 0) {
			r = spk_etcd_watch(e, key, NULL, kv.mod_revision + 1, left, err);
		}
		if (r < 0) {
			return r;
		}
	}
}

/*
 * The cluster's half, this machine's flock (local) already held: the
 * holder record on this process's lease, then the keeper takes the flock
 * over with it (so this machine's other callers keep queueing on it, in
 * the front). local is closed here, unless SPK_STORE_YIELDED returns it
 * in *ret_lock.
 */
static int lock_cluster(const struct spk_profile *p, int local, const struct timespec *t0,
			int timeout_ms, unsigned flags, int *ret_lock, struct spk_error *err)
{
	_cleanup_free_ char *key = spk_etcd_key(p, "holder"), *text = NULL;
	struct spk_etcd *e = spk_store_etcd_conn(p, err);
	struct spk_error lock_err = { 0 };
	struct spk_etcd_kv kv = { 0 };
	int64_t lease = 0, revision = 0;
	bool entered = false, made = false;
	int r = 0;

	if (!e || !key) {
		spk_lock_release(local);
		return e ? spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory") : -EIO;
	}
	/* Held already: no lease, no keeper, no write to wait for its outcome. */
	if ((flags & SPK_STORE_LOCK_YIELD) && spk_etcd_get(e, key, &kv, NULL) == 0) {
		r = await_holder(e, p, kv.mod_revision, t0, timeout_ms, &lock_err);
		r = r < 0 ? r : SPK_STORE_YIELDED;
	}
	spk_etcd_kv_done(&kv);
	if (r == 0 && !(text = holder_text(&lock_err))) {
		r = lock_err.code ? lock_err.code : -ENOMEM;
	}
	if (r == 0) {
		r = spk_store_etcd_session_enter(p, &lease, &lock_err);
		entered = r == 0;
	}
	if (r == 0) {
		r = holder_create(e, p, key, text, lease, t0, timeout_ms, flags, &revision,
				  &lock_err);
		made = r == 0;
	}
	if (r == 0) {
		r = spk_store_etcd_session_hold(p, lease, key, revision, local, ret_lock,
						&lock_err);
		local = -1; /* the keeper's, or closed */
	}
	if (r == 0) {
		spk_log("etcd %s: holding the cluster's refresh lock", p->name);
		return 0;
	}
	if (made) {
		(void)spk_etcd_delete_at(e, key, revision, NULL);
	}
	if (entered) {
		spk_store_etcd_session_leave(p, lease);
	}
	if (r == SPK_STORE_YIELDED) {
		*ret_lock = local; /* this machine's waiters wait for our reading */
		return r;
	}
	spk_lock_release(local);
	if (r == -ETIMEDOUT) {
		return held_too_long(e, p, timeout_ms, err);
	}
	if (r == -EACCES) {
		/* Refused the lock: a reader, if it may read the access token. */
		_cleanup_free_ char *access = spk_etcd_key(p, "access");
		if (access && spk_etcd_get(e, access, &kv, NULL) == 0) {
			spk_etcd_kv_done(&kv);
			return reader_stale(p, err);
		}
	}
	return spk_error_set(err, lock_err.kind ? lock_err.kind : SPK_ERR_INTERNAL, r, "%s: %s",
			     p->name, lock_err.msg);
}

/* Before either half of the lock: a connection, and a machine that may refresh. */
static int may_lock(const struct spk_profile *p, struct spk_error *err)
{
	if (!spk_store_etcd_conn(p, err)) {
		return -EIO;
	}
	return spk_store_etcd_is_reader(p) ? reader_stale(p, err) : 0;
}

static int lock_take(const struct spk_profile *p, int timeout_ms, unsigned flags, int *ret_lock,
		     struct spk_error *err)
{
	_cleanup_free_ char *dir = lock_dir();
	struct timespec t0;
	int local = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = may_lock(p, err);
	if (r < 0) {
		return r;
	}
	if (!dir) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, -ENOENT,
			"no directory for the refresh lock: set XDG_RUNTIME_DIR or HOME");
	}
	r = spk_lock_take(dir, p->name, timeout_ms, &local, err);
	if (r < 0) {
		return r;
	}
	return lock_cluster(p, local, &t0, timeout_ms, flags, ret_lock, err);
}

/*
 * The front's flock is this machine's half: keep it (its other callers
 * wait for our answer in the front, not in the cluster) and take the
 * cluster's half.
 */
static int lock_adopt(const struct spk_profile *p, int timeout_ms, unsigned flags, int *ret_lock,
		      struct spk_error *err)
{
	_cleanup_free_ char *dir = lock_dir();
	struct timespec t0;
	int local = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!dir || spk_lock_inherited(dir, p->name, &local) < 0) {
		return -ENOENT;
	}
	int r = may_lock(p, err);
	if (r < 0) {
		spk_lock_release(local);
		return r;
	}
	return lock_cluster(p, local, &t0, timeout_ms, flags, ret_lock, err);
}

/*
 * No: the front's flock is not the cluster's lock, so `token` reads the
 * cluster first (another machine, or for a reader the only way, may have
 * a fresh token there); lock_adopt then takes the cluster's half.
 */
static bool lock_handed_over(const struct spk_profile *p)
{
	(void)p;
	return false;
}

static void unlock(int lock)
{
	if (lock >= 0) {
		spk_store_etcd_session_release(lock);
	}
}

static int inflight_write(const struct spk_profile *p, const char *token, struct spk_error *err)
{
	_cleanup_free_ char *key = spk_etcd_key(p, "inflight"), *text = NULL;
	_cleanup_json_ struct spk_json *o = spk_json_new_object();
	struct spk_etcd *e = spk_store_etcd_conn(p, err);
	char me[33], host[64] = "?", hex[65];
	bool ok;

	if (!e) {
		return -EIO;
	}
	int r = spk_store_etcd_holder_id(me, err);
	if (r < 0) {
		return r;
	}
	(void)gethostname(host, sizeof(host) - 1);
	spk_sha256_hex(token, hex);
	if (!key || !o || spk_json_add_string(o, "holder", me) < 0 ||
	    spk_json_add_string(o, "host", host) < 0 ||
	    spk_json_add_int64(o, "pid", (int64_t)getpid()) < 0 ||
	    spk_json_add_int64(o, "sent_at", (int64_t)time(NULL)) < 0 ||
	    spk_json_add_string(o, "token_sha256", hex) < 0 || !(text = spk_json_dump(o))) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	/* No lease: the record outlives its holder's, until its answer is stored. */
	struct spk_etcd_op op = { key, text, 0 };
	r = spk_etcd_txn(e, NULL, 0, &op, 1, NULL, 0, &ok, err);
	if (r == 0) {
		spk_log("etcd %s: in-flight record written", p->name);
	}
	return r;
}

static int inflight_read(const struct spk_profile *p, struct spk_inflight *ret)
{
	_cleanup_free_ char *key = spk_etcd_key(p, "inflight"), *holder = NULL, *host = NULL;
	_cleanup_free_ char *sha = NULL;
	_cleanup_json_ struct spk_json *j = NULL;
	struct spk_etcd *e = spk_store_etcd_conn(p, NULL);
	struct spk_etcd_kv kv = { 0 };
	struct spk_inflight rec = { 0 };
	char me[33];
	int64_t pid = 0;

	if (!e || !key) {
		return -EIO;
	}
	int r = spk_etcd_get(e, key, &kv, NULL);
	if (r < 0) {
		return r;
	}
	r = spk_json_parse_object(kv.value, kv.len, &j);
	spk_etcd_kv_done(&kv);
	if (r < 0 || spk_json_get_int64(j, "sent_at", &rec.sent_at) < 0 ||
	    spk_json_get_string(j, "token_sha256", &sha) < 0 || strlen(sha) != 64 ||
	    spk_json_get_string(j, "holder", &holder) < 0) {
		return -EBADMSG;
	}
	snprintf(rec.token_sha256, sizeof(rec.token_sha256), "%s", sha);
	if (spk_store_etcd_holder_id(me, NULL) < 0 || strcmp(me, holder) != 0) {
		(void)spk_json_get_string(j, "host", &host);
		(void)spk_json_get_int64(j, "pid", &pid);
		snprintf(rec.elsewhere, sizeof(rec.elsewhere), "%s",
			 host ? host : "another machine");
		rec.pid = (long)pid;
	}
	*ret = rec;
	return 0;
}

/* Remove the record if it is this machine's: another's is not ours to drop. */
static int inflight_remove(const struct spk_profile *p)
{
	_cleanup_free_ char *key = spk_etcd_key(p, "inflight");
	struct spk_etcd *e = spk_store_etcd_conn(p, NULL);
	struct spk_store_etcd_inflight rec;
	char me[33];

	if (!e || !key || spk_store_etcd_holder_id(me, NULL) < 0) {
		return -EIO;
	}
	int r = spk_store_etcd_inflight_of(p, &rec, NULL);
	if (r == -ENOENT) {
		return 0;
	}
	if (r < 0 || strcmp(rec.holder, me) != 0) {
		return r < 0 ? r : 0;
	}
	r = spk_etcd_delete_at(e, key, rec.revision, NULL);
	return r < 0 ? r : 0;
}

/*
 * The local journal, stored into the cluster. One that the cluster moved
 * past (another machine refreshed after this one's record was overtaken
 * within the provider's grace) can never be stored: it goes.
 */
static int journal_complete(const struct spk_profile *p, struct spk_error *err)
{
	struct spk_error e = { 0 };
	int r = spk_store_local_guard.journal_complete(p, &e);

	if (r == SPK_STORE_ETCD_MOVED_ON) {
		spk_log("etcd %s: the cluster moved past the rescued grant; dropped", p->name);
		return spk_store_local_guard.journal_remove(p, err);
	}
	if (r < 0) {
		return spk_error_set(err, e.kind, r, "%s", e.msg);
	}
	return r;
}

const struct spk_store_guard spk_store_etcd_guard = {
	.lock = lock_take,
	.lock_adopt = lock_adopt,
	.lock_handed_over = lock_handed_over,
	.unlock = unlock,
	.lock_is_fd = true,
	/* In the cluster: */
	.inflight_shared = true,
	.inflight_write = inflight_write,
	.inflight_read = inflight_read,
	.inflight_remove = inflight_remove,
	.inflight_pending = spk_store_etcd_inflight_pending,
	/* On this machine, stored into the cluster: */
	.journal_complete = journal_complete,
	.journal_write = spk_store_local_journal_write,
	.journal_remove = spk_store_local_journal_remove,
	.journal_pending = spk_store_local_journal_pending,
	.journal_where = spk_store_local_journal_where,
	.refresh_pending = spk_store_local_refresh_pending,
};
