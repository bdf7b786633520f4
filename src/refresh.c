/*
 * `token` and `refresh`: the grant's refresh token is spent under the
 * profile's lock, by a detached worker (worker.h), and its answer goes to
 * the rescue journal, then the store, then the runtime cache. What a
 * refresh cut off by a power loss left behind (inflight.h) is settled here.
 */
#include "flow.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "failure.h"
#include "fault.h"
#include "flow-internal.h"
#include "health.h"
#include "inflight.h"
#include "log.h"
#include "provider.h"
#include "secret.h"
#include "stop.h"
#include "store.h"
#include "worker.h"

/* How often token waits for another machine's refresh before it queues for the lock. */
#define MAX_YIELDS 3

/* Must g's access token be renewed before `token` hands it out? */
static bool renew_due(const struct spk_profile *p, const struct spk_grant *g, int64_t min_valid)
{
	struct spk_health h;

	spk_health_of(p, g, (int64_t)time(NULL), min_valid, &h);
	return h.renew_due;
}

static bool is_invalid_grant(const struct spk_error *err)
{
	return err && strcmp(err->oauth, "invalid_grant") == 0;
}

/* epoch seconds as local time, for messages */
static void local_time(int64_t epoch, char ret[64])
{
	time_t t = (time_t)epoch;
	struct tm tm;
	if (!localtime_r(&t, &tm) || strftime(ret, 64, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0) {
		snprintf(ret, 64, "@%lld", (long long)epoch);
	}
}

/*
 * A grant without a refresh token cannot be refreshed: it ends with its
 * access token. Say so, and when.
 */
static int not_refreshable(const struct spk_profile *p, const struct spk_grant *g,
			   struct spk_error *err)
{
	char when[64];

	if (g->expires_at == 0) {
		return spk_error_set(
			err, SPK_ERR_LOGIN, -ENOKEY,
			"%s: this grant cannot be refreshed (the provider gave no refresh "
			"token); it ends when its access token does. Then run: sparekey "
			"login %s",
			p->name, p->name);
	}
	local_time(g->expires_at, when);
	if (g->expires_at > (int64_t)time(NULL)) {
		return spk_error_set(
			err, SPK_ERR_LOGIN, -ENOKEY,
			"%s: this grant cannot be refreshed (the provider gave no refresh "
			"token); it ends when its access token expires, at %s. Then run: "
			"sparekey login %s",
			p->name, when, p->name);
	}
	return spk_error_set(
		err, SPK_ERR_LOGIN, -ENOKEY,
		"%s: the access token expired at %s and this grant cannot be refreshed "
		"(the provider gave no refresh token). Run: sparekey login %s",
		p->name, when, p->name);
}

enum inflight_state {
	INFLIGHT_NONE,      /* no refresh of this grant was cut off */
	INFLIGHT_RETRY,     /* one was, and the provider takes its refresh token again */
	INFLIGHT_LOST,      /* one was, and the provider takes no token twice: log in */
	INFLIGHT_ELSEWHERE, /* another machine sent it and stores its answer when back */
};

/*
 * What an in-flight record means for g, the stored grant. A record about
 * another refresh token is stale (its answer was stored); under the lock
 * (tidy), it goes.
 */
static enum inflight_state inflight_state(const struct spk_profile *p, const struct spk_grant *g,
					  bool tidy, struct spk_error *err)
{
	struct spk_inflight rec;
	int r = spk_store_inflight_read(p, &rec);

	if (r == -ENOENT) {
		return INFLIGHT_NONE;
	}
	if (r < 0 || !spk_inflight_about(&rec, g->refresh_token)) {
		if (tidy) {
			spk_log("refresh %s: a stale in-flight record, removed", p->name);
			(void)spk_store_inflight_remove(p);
		}
		return INFLIGHT_NONE;
	}
	int64_t grace = spk_provider_refresh_reuse_grace(p);
	int64_t age = (int64_t)time(NULL) - rec.sent_at;
	if (grace > 0 && age < grace) {
		spk_log("refresh %s: the refresh sent %lld s ago was cut off; within the "
			"provider's grace of %lld s, its refresh token is sent again",
			p->name, (long long)age, (long long)grace);
		return INFLIGHT_RETRY;
	}
	char when[64];
	local_time(rec.sent_at, when);
	if (rec.elsewhere[0]) {
		/* Another machine sharing the store sent it and may yet store its answer. */
		spk_error_set(
			err, SPK_ERR_TEMPFAIL, -EINPROGRESS,
			"%s: %s (pid %ld) sent a refresh at %s and has not stored its answer; "
			"it does when it is back. If that machine is gone for good, run: "
			"sparekey login %s",
			p->name, rec.elsewhere, rec.pid, when, p->name);
		return INFLIGHT_ELSEWHERE;
	}
	if (grace > 0) {
		spk_error_set(err, SPK_ERR_LOGIN, -ESTALE,
			      "%s: a refresh sent at %s was cut off before its answer was stored, "
			      "and the provider's %lld s grace for its refresh token has passed. "
			      "Run: sparekey login %s",
			      p->name, when, (long long)grace, p->name);
	} else {
		spk_error_set(err, SPK_ERR_LOGIN, -ESTALE,
			      "%s: a refresh sent at %s was cut off before its answer was stored; "
			      "the provider may have spent the refresh token and takes none twice. "
			      "Run: sparekey login %s",
			      p->name, when, p->name);
	}
	return INFLIGHT_LOST;
}

/*
 * The worker ended without an answer. Whatever it left is settled now,
 * under the lock it held: a journaled answer is stored (0, the grant in
 * *g); a request it sent is reported as the next run would find it.
 */
static int after_cut_off(const struct spk_profile *p, struct spk_grant *g, struct spk_error *err)
{
	struct spk_grant stored = { 0 };
	int r = spk_store_journal_complete(p, err);

	if (r == 1 && spk_store_load(p, &stored, err) == 0) {
		spk_grant_done(g);
		*g = stored;
		return 0;
	}
	if (r < 0) {
		return r;
	}
	switch (inflight_state(p, g, true, err)) {
	case INFLIGHT_LOST:
	case INFLIGHT_ELSEWHERE:
		return err ? err->code : -ESTALE;
	case INFLIGHT_RETRY:
		return spk_error_set(
			err, SPK_ERR_TEMPFAIL, SPK_WORKER_CUT_OFF,
			"%s: the refresh was cut off before its answer was stored; the "
			"provider takes the same refresh token again for a while. Run "
			"sparekey again now",
			p->name);
	case INFLIGHT_NONE:
		break;
	}
	return spk_error_set(err, SPK_ERR_TEMPFAIL, SPK_WORKER_CUT_OFF,
			     "%s: the refresh stopped before it was sent; the grant is unchanged. "
			     "Try again",
			     p->name);
}

/* Client credentials spend nothing: a new access token, journaled like a refresh. */
static int renew_client_only(const struct spk_profile *p, const struct spk_client *c,
			     const struct spk_grant *g, struct spk_grant *ret,
			     struct spk_error *err)
{
	struct spk_grant fresh = { 0 };
	int r = spk_oauth_client_credentials(c, p->scopes, (int64_t)time(NULL), &fresh, err);

	if (r == 0) {
		r = spk_flow_merge_journal(p, g, &fresh, ret, err);
	}
	return r < 0 ? r : 0;
}

/*
 * Refresh g and store the result, holding the profile's lock (lock_fd).
 * The worker sends the request and journals the answer; this process
 * stores it, then lets the worker go. If this process dies on the way,
 * the worker stores it. On failure g and the store are unchanged.
 */
static int refresh_locked(const struct spk_profile *p, int lock_fd, struct spk_grant *g,
			  struct spk_error *err)
{
	struct spk_provider prov = { 0 };
	struct spk_grant merged = { 0 };
	struct spk_client c;
	struct spk_worker *w = NULL;
	_cleanup_secret_ char *secret = NULL;
	bool client_only = p->grant == SPK_GRANT_CLIENT_CREDENTIALS;
	int r;

	if (!g->refresh_token && !client_only) {
		return not_refreshable(p, g, err);
	}
	enum inflight_state in = client_only ? INFLIGHT_NONE : inflight_state(p, g, true, err);
	if (in == INFLIGHT_LOST || in == INFLIGHT_ELSEWHERE) {
		return err ? err->code : -ESTALE;
	}
	r = spk_provider_resolve(p, &g->endpoints, false, &prov, err);
	if (r == 0) {
		r = spk_flow_make_client(p, &prov, NULL, &c, &secret, err);
	}
	if (r < 0) {
		spk_provider_done(&prov);
		return r;
	}
	/* A stop from here on waits until the new grant is stored and the worker gone. */
	_cleanup_(spk_stop_release) struct spk_stop_hold hold;
	spk_stop_hold(&hold);
	struct spk_error call_err = { 0 };
	if (client_only) {
		r = renew_client_only(p, &c, g, &merged, &call_err);
	} else {
		struct spk_worker_job job = { .op = SPK_WORKER_REFRESH, .grant = g, .client = &c };
		r = spk_worker_exchange(p, &job, lock_fd, &w, &merged, &call_err);
	}
	spk_provider_done(&prov);
	if (r < 0) {
		spk_worker_finish(w, true);
		if (r == SPK_WORKER_CUT_OFF) {
			spk_log("refresh %s: %s", p->name, call_err.msg);
			return after_cut_off(p, g, err);
		}
		if (is_invalid_grant(&call_err)) {
			return spk_error_set_oauth(err, SPK_ERR_LOGIN, r, "invalid_grant",
						   "%s: the provider no longer accepts this grant "
						   "(invalid_grant). Run: sparekey login %s",
						   p->name, p->name);
		}
		if (err && err->kind == SPK_ERR_NONE) {
			*err = call_err;
		}
		return r;
	}
	spk_fault_kill("kill-after-journal");

	struct spk_error store_err = { 0 };
	r = spk_store_save(p, &merged, &store_err);
	if (r < 0) {
		/* The worker tries once more, then the journal keeps it for the next run. */
		spk_worker_finish(w, false);
		_cleanup_free_ char *path = spk_store_journal_where(p);
		spk_grant_done(&merged);
		if (spk_store_journal_pending(p)) {
			return spk_error_set(
				err, SPK_ERR_TEMPFAIL, r,
				"%s: the refreshed grant could not be stored (%s); it is "
				"kept in %s and the next run stores it",
				p->name, store_err.msg, path ? path : "the rescue file");
		}
		return spk_error_set(err, SPK_ERR_TEMPFAIL, r,
				     "%s: the refreshed grant could not be stored (%s) nor kept in "
				     "a rescue file; a new login may be needed",
				     p->name, store_err.msg);
	}
	spk_fault_kill("kill-after-store");
	/* Harmless if it fails: the next run stores the same grant again. */
	(void)spk_store_journal_remove(p, NULL);
	(void)spk_store_inflight_remove(p);
	spk_worker_finish(w, true);
	spk_grant_done(g);
	*g = merged;
	return 0;
}

/*
 * Keep the outcome of a refresh that was tried for `check` (failure.h):
 * a failure is recorded, a success clears the record. Best effort: the
 * refresh's own result is what counts.
 */
static void note_outcome(const struct spk_profile *p, int r, const struct spk_error *err)
{
	if (r >= 0) {
		(void)spk_failure_clear(p->name);
		return;
	}
	struct spk_error e = { .kind = SPK_ERR_INTERNAL };
	if (err && err->kind != SPK_ERR_NONE) {
		e = *err;
	} else {
		snprintf(e.msg, sizeof(e.msg), "%s: the refresh failed (%s)", p->name,
			 strerror(r < -4095 ? EIO : -r));
	}
	if (spk_failure_record(p->name, &e, (int64_t)time(NULL)) < 0) {
		spk_log("refresh %s: could not record the failure for check", p->name);
	}
}

/*
 * After invalid_grant: another process (or machine) may have rotated the
 * token in the meantime. If the store now holds another refresh token, use
 * that grant instead of giving up.
 */
static int refresh_or_reread(const struct spk_profile *p, int lock_fd, struct spk_grant *g,
			     int64_t min_valid, bool force, struct spk_error *err)
{
	struct spk_error e = { 0 };
	int r = refresh_locked(p, lock_fd, g, &e);
	if (r == 0 || !is_invalid_grant(&e)) {
		if (r < 0 && err && err->kind == SPK_ERR_NONE) {
			*err = e;
		}
		return r;
	}
	struct spk_grant stored = { 0 };
	if (spk_store_load(p, &stored, NULL) == 0 && stored.refresh_token && g->refresh_token &&
	    strcmp(stored.refresh_token, g->refresh_token) != 0) {
		spk_log("refresh %s: the store holds a newer grant, using it", p->name);
		spk_grant_done(g);
		*g = stored;
		if (!force && !renew_due(p, g, min_valid)) {
			return 0;
		}
		return refresh_locked(p, lock_fd, g, err);
	}
	spk_grant_done(&stored);
	if (err && err->kind == SPK_ERR_NONE) {
		*err = e;
	}
	return r;
}

/*
 * Under the lock: is g to be refreshed? When its access token is about to
 * expire, or a refresh of it was cut off that the provider's grace lets us
 * send again (a valid token is still handed out when it does not).
 */
static bool refresh_due(const struct spk_profile *p, const struct spk_grant *g, int64_t min_valid)
{
	if (renew_due(p, g, min_valid)) {
		return true;
	}
	return spk_store_inflight_pending(p) && inflight_state(p, g, true, NULL) == INFLIGHT_RETRY;
}

/* For status and check: "refresh under way on HOST since TIME (pid N). …" in err. */
static void under_way_elsewhere(const struct spk_profile *p, struct spk_error *err)
{
	struct spk_inflight rec;
	char when[64];

	if (spk_store_inflight_read(p, &rec) < 0 || !rec.elsewhere[0]) {
		return; /* gone since: inflight_state's words stand */
	}
	local_time(rec.sent_at, when);
	spk_error_clear(err); /* inflight_state's longer words, for token */
	spk_error_set(err, SPK_ERR_TEMPFAIL, -EINPROGRESS,
		      "%s: refresh under way on %s since %s (pid %ld). That machine stores the "
		      "new grant when it is back; if it is gone for good, run: sparekey login %s",
		      p->name, rec.elsewhere, when, rec.pid, p->name);
}

int spk_flow_cut_off(const struct spk_profile *p, const struct spk_grant *g, struct spk_error *err)
{
	int lock = -1;

	/* A record while the lock is held is a refresh under way right now. */
	if (!spk_store_inflight_pending(p) || spk_store_lock(p, 0, 0, &lock, NULL) < 0) {
		return 0;
	}
	spk_store_unlock(p, lock);
	switch (inflight_state(p, g, false, err)) {
	case INFLIGHT_LOST:
		return -ESTALE;
	case INFLIGHT_ELSEWHERE:
		under_way_elsewhere(p, err);
		return SPK_CUT_OFF_ELSEWHERE;
	case INFLIGHT_RETRY:
		return 1;
	case INFLIGHT_NONE:
		break;
	}
	return 0;
}

/* The stored grant if its token is valid for min_valid: 1 with it in *ret (cached), else 0. */
static int stored_if_fresh(const struct spk_profile *p, int64_t min_valid, struct spk_grant *ret,
			   struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int r = spk_store_load(p, &g, err);

	if (r < 0) {
		return r;
	}
	if (renew_due(p, &g, min_valid)) {
		spk_grant_done(&g);
		return 0;
	}
	/* After a reboot the cache is gone: the keyring answer refills it. */
	spk_flow_cache_put(p, &g);
	*ret = g;
	return 1;
}

int spk_flow_token(const struct spk_profile *p, int64_t min_valid, struct spk_grant *ret,
		   struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int fd = -1;
	int r;

	/*
	 * The common case: a valid token, no lock, no network. Not when the
	 * front handed its lock over: it found the cache stale and waited for
	 * the lock already, so the grant is read once, under it.
	 */
	if (!spk_store_lock_handed_over(p) && !spk_store_refresh_pending(p)) {
		r = stored_if_fresh(p, min_valid, ret, err);
		if (r != 0) {
			return r < 0 ? r : 0;
		}
	}

	/*
	 * Another machine refreshing it now: wait for its answer, not in its
	 * lock's queue. A few times at most: then queue, so that the wait stays
	 * bounded even when others keep taking the lock and failing.
	 */
	for (int yields = 0;; yields++) {
		unsigned flags = yields < MAX_YIELDS ? SPK_STORE_LOCK_YIELD : 0;
		r = spk_flow_lock_profile_flags(p, flags, &fd, err);
		if (r != SPK_STORE_YIELDED) {
			break;
		}
		r = stored_if_fresh(p, min_valid, ret, err);
		spk_store_unlock(p, fd); /* this machine's waiters then find it cached */
		if (r != 0) {
			return r < 0 ? r : 0;
		}
	}
	if (r < 0) {
		return r;
	}
	/* Whoever held the lock before us may have refreshed already. */
	r = spk_store_load(p, &g, err);
	if (r == 0 && refresh_due(p, &g, min_valid)) {
		r = refresh_or_reread(p, fd, &g, min_valid, false, err);
		note_outcome(p, r, err);
	}
	if (r == 0) {
		/* Before the lock goes: waiters then find the new token in the cache. */
		spk_flow_cache_put(p, &g);
	}
	spk_store_unlock(p, fd);
	if (r < 0) {
		spk_grant_done(&g);
		return r;
	}
	*ret = g;
	return 0;
}

int spk_flow_refresh(const struct spk_profile *p, int64_t older_than, struct spk_grant *ret,
		     struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int fd = -1;
	int r = spk_flow_lock_profile(p, &fd, err);

	if (r < 0) {
		*ret = g;
		return r;
	}
	r = spk_store_load(p, &g, err);
	/* Judged under the lock, on the grant that would be spent: one read, not two. */
	if (r == 0 && older_than >= 0 &&
	    (!g.refresh_token || (int64_t)time(NULL) - g.refresh_obtained_at < older_than)) {
		spk_store_unlock(p, fd);
		*ret = g;
		return 1;
	}
	if (r == 0) {
		r = refresh_or_reread(p, fd, &g, 0, true, err);
		note_outcome(p, r, err);
	}
	if (r == 0) {
		spk_flow_cache_put(p, &g);
	}
	spk_store_unlock(p, fd);
	*ret = g;
	return r < 0 ? r : 0;
}
int spk_flow_refresh_many_begin(struct spk_error *err)
{
	return spk_worker_share_begin(err);
}

void spk_flow_refresh_many_end(void)
{
	spk_worker_share_end();
}
