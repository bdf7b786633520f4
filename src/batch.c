#include "batch.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include "flow.h"
#include "log.h"

/*
 * Against a provider 200 ms away, 100 profiles took 3.3 x one refresh in
 * 64 threads (two waves) and 2.6 x in 128 (one): hence SPK_BATCH_PARALLEL.
 *
 * A profile in flight holds its lock and the socket to its worker, and
 * briefly the other end of it and /dev/null (while the worker starts), the
 * journal, the cache file and a GLib wakeup fd. Out of fds, a thread could
 * spend a refresh token and then fail to store its successor (GLib aborts
 * when it cannot make a wakeup fd): so no more threads than RLIMIT_NOFILE
 * has room for, after what the process itself holds (the D-Bus
 * connection, GLib's and libcurl's own).
 */
#define FDS_PER_PROFILE 7
#define FDS_RESERVED 32

/*
 * How the watcher is told the jobs are done: this signal, sent to its
 * thread alone with finished set. Not pthread_cancel: unwinding a thread
 * out of sigwait is what sanitizers (and some libcs) handle worst.
 */
#define WATCHER_WAKE SIGUSR2

struct run {
	struct spk_batch *b;
	sigset_t stop_signals;
	pthread_mutex_t lock;
	size_t next;    /* the next job to take, under lock */
	int stopped_by; /* under lock */
	bool finished;  /* every job is done: the watcher may go, under lock */
};

/* How many threads for n jobs; 0: none, one by one in the caller's. */
static size_t threads_for(size_t n)
{
	struct rlimit fds;
	size_t max = SPK_BATCH_PARALLEL;

	if (getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur != RLIM_INFINITY) {
		size_t room = fds.rlim_cur > FDS_RESERVED
				      ? (fds.rlim_cur - FDS_RESERVED) / FDS_PER_PROFILE
				      : 0;
		max = room < max ? room : max;
	}
	return n < max ? n : max;
}

static void *job_thread(void *arg)
{
	struct run *r = arg;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		size_t i = r->next < r->b->n && !r->stopped_by ? r->next++ : r->b->n;
		pthread_mutex_unlock(&r->lock);
		if (i == r->b->n) {
			return NULL;
		}
		(void)r->b->run(i, r->b->ctx);
	}
}

static void *stop_watcher(void *arg)
{
	struct run *r = arg;
	sigset_t wait_for = r->stop_signals;
	int sig;

	sigaddset(&wait_for, WATCHER_WAKE);
	while (sigwait(&wait_for, &sig) == 0) {
		pthread_mutex_lock(&r->lock);
		bool finished = r->finished;
		if (sig != WATCHER_WAKE) {
			r->stopped_by = sig;
		}
		pthread_mutex_unlock(&r->lock);
		if (sig != WATCHER_WAKE) {
			if (r->b->on_stop) {
				r->b->on_stop(sig, r->b->ctx);
			}
			return NULL;
		}
		if (finished) {
			return NULL;
		}
	}
	return NULL;
}

int spk_batch_run(struct spk_batch *b, struct spk_error *err)
{
	struct run r = { .b = b };
	pthread_t workers[SPK_BATCH_PARALLEL];
	size_t started = 0;

	b->started = 0;
	b->stopped_by = 0;
	int ret = spk_flow_open_network(err);
	if (ret < 0) {
		return ret;
	}
	/* One worker for them all; without it, each starts its own (slower, as safe). */
	struct spk_error share_err = { 0 };
	bool shared = b->n > 1 && spk_flow_refresh_many_begin(&share_err) == 0;
	if (b->n > 1 && !shared) {
		spk_log("refresh --all: %s; one worker per profile instead", share_err.msg);
	}
	pthread_mutex_init(&r.lock, NULL);
	sigset_t old_mask;
	sigemptyset(&r.stop_signals);
	sigaddset(&r.stop_signals, SIGINT);
	sigaddset(&r.stop_signals, SIGTERM);
	sigaddset(&r.stop_signals, SIGHUP);
	sigset_t blocked = r.stop_signals;
	sigaddset(&blocked, WATCHER_WAKE);
	/* Before any thread exists: they all inherit it. */
	pthread_sigmask(SIG_BLOCK, &blocked, &old_mask);
	pthread_t watcher;
	bool watching = pthread_create(&watcher, NULL, stop_watcher, &r) == 0;
	size_t threads = threads_for(b->n);
	for (; started < threads; started++) {
		if (pthread_create(&workers[started], NULL, job_thread, &r) != 0) {
			break;
		}
	}
	if (started == 0) {
		job_thread(&r); /* no threads to be had: one after another, here */
	}
	for (size_t i = 0; i < started; i++) {
		pthread_join(workers[i], NULL);
	}
	if (shared) {
		spk_flow_refresh_many_end();
	}
	if (watching) {
		pthread_mutex_lock(&r.lock);
		r.finished = true;
		pthread_mutex_unlock(&r.lock);
		pthread_kill(watcher, WATCHER_WAKE);
		pthread_join(watcher, NULL);
	}
	pthread_mutex_destroy(&r.lock);
	b->started = r.next;
	b->stopped_by = r.stopped_by;
	/*
	 * A stop that came is only noted; the caller raises it. Unblocking
	 * would deliver nothing: sigwait took it.
	 */
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	return 0;
}
