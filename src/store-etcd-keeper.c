/*
 * The etcd guard's lease and its keeper (store-etcd.h).
 *
 * A process's locks in one cluster share one lease: the first lock in a
 * process grants it and starts its keeper, `sparekey-worker --keeper` (a
 * fresh program, never a fork of its caller: the caller may run threads,
 * refresh --all, and a child forked from it could inherit a lock another
 * thread held — OpenSSL's, libcurl's, GLib's — and hang on it for ever,
 * its lease unrenewed). The keeper renews the lease every KEEPALIVE_MS.
 *
 * Each lock taken is handed to the keeper on its control socket: one end
 * of a socket pair, the machine's flock of the profile, and one end of an
 * "all done" pair. The first pair carries the lock's key and revision; its
 * other end is the lock's handle (store.h, lock_is_fd), copied to the
 * worker. The caller lets go by deleting the key itself, then writing
 * RELEASED and closing its end. When every copy of the handle is
 * closed, the keeper lets go of the flock, and first deletes the key (if
 * still at its revision) when no RELEASED came: the caller was killed, and
 * the worker it handed the lock to is done. Then it closes "all done",
 * which the caller waits for, so that the lock is free when unlock
 * returns. When the caller's last lock is let go, it closes the
 * control socket; once the keeper holds no lock either, it revokes the
 * lease and exits. When the machine dies or is cut off, etcd lets the
 * lease expire, and with it the keys on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "json.h"
#include "lock.h"
#include "log.h"
#include "macro.h"
#include "profile-keys.h"
#include "secret.h"
#include "store-etcd.h"
#include "worker-wire.h"

#define LEASE_TTL 15
#define KEEPALIVE_MS 4000
#define KEEPER_JOB_MS 5000
#define KEEPER_CONTROL_FD 3
#define KEEPER_FIRST_FREE_FD 4
#define KEEPER_MAX_LOCKS 512
#define RELEASE_WAIT_MS 2000
#define RELEASED 'R'
#define MAX_SESSIONS 8
#define MAX_HELD 512

/* ---- the job: the lease, and the etcd_* keys its connection needs */

/* The keys the keeper's connection needs: every etcd_* key (profile-keys.c). */
static bool is_etcd_key(const struct spk_profile_key *k)
{
	return k->type == KEY_STRING && strncmp(k->name, "etcd_", 5) == 0;
}

/* The cluster's settings as a job (lease 0: to tell clusters apart). */
static char *job_to_json(const struct spk_profile *p, int64_t lease)
{
	_cleanup_json_ struct spk_json *o = spk_json_new_object();
	int r = o ? spk_json_add_int64(o, "lease", lease) : -ENOMEM;

	for (size_t i = 0; r == 0 && i < spk_profile_n_keys; i++) {
		const struct spk_profile_key *k = &spk_profile_keys[i];
		if (is_etcd_key(k)) {
			r |= spk_json_add_string(o, k->name, *spk_profile_key_string(p, k));
		}
	}
	return r == 0 ? spk_json_dump(o) : NULL;
}

static int job_from_json(const char *text, struct spk_profile *p, int64_t *lease)
{
	_cleanup_json_ struct spk_json *o = NULL;

	if (spk_json_parse_object(text, strlen(text), &o) < 0 ||
	    spk_json_get_int64(o, "lease", lease) < 0) {
		return -EBADMSG;
	}
	/* Those the profile does not set are not in the job: they stay NULL. */
	for (size_t i = 0; i < spk_profile_n_keys; i++) {
		const struct spk_profile_key *k = &spk_profile_keys[i];
		if (is_etcd_key(k)) {
			(void)spk_json_get_string(o, k->name, spk_profile_key_string(p, k));
		}
	}
	p->name = strdup("(keeper)");
	p->store = strdup("etcd");
	return p->name && p->store ? 0 : -ENOMEM;
}

/* ---- the caller's side */

/* A lease and its keeper, for one cluster's settings. */
static struct session {
	char *cluster; /* job_to_json(p, 0); NULL: a free row */
	int control;   /* our end of the keeper's control socket; -1: no keeper yet */
	int64_t lease;
	pid_t pid;
	size_t users; /* locks held or being taken on it */
} sessions[MAX_SESSIONS];

/* A lock handed to a keeper, by its handle. */
static struct held {
	struct session *session; /* NULL: a free row */
	int handle;              /* our end of the lock's pair */
	struct spk_etcd *conn;
	char *key;
	int64_t revision;
	int done; /* the read end of "all done" */
} held[MAX_HELD];

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;

/* The keeper: renews lease for this session until the control socket's other end closes. */
static int keeper_start(const struct spk_profile *p, int64_t lease, int *ret_control,
			pid_t *ret_pid, struct spk_error *err)
{
	_cleanup_free_ char *text = job_to_json(p, lease);
	char *argv[] = { (char *)"sparekey-worker", (char *)"--keeper", NULL };
	int job[2] = { -1, -1 }, control[2] = { -1, -1 }, r;

	if (!text) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, job) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, control) < 0) {
		r = -errno;
	} else {
		/* At KEEPER_CONTROL_FD. */
		r = spk_wire_spawn(argv, job[1], &control[1], 1, ret_pid);
		/* A socket's buffer holds the job: no wait on the keeper here. */
		r = r == 0 ? spk_wire_send(job[0], text) : r;
	}
	for (size_t i = 0; i < 2; i++) {
		if (job[i] >= 0) {
			close(job[i]);
		}
	}
	if (control[1] >= 0) {
		close(control[1]);
	}
	if (r < 0) {
		if (control[0] >= 0) {
			close(control[0]);
		}
		return spk_error_set(err, SPK_ERR_INTERNAL, r,
				     "%s: cannot start the lease keeper, sparekey-worker (%s). "
				     "Reinstall sparekey",
				     p->name, strerror(-r));
	}
	*ret_control = control[0];
	return 0;
}

/*
 * A session's last user is gone: its keeper revokes the lease once it
 * holds no lock either; its pid then, to reap. A session that never
 * needed its keeper leaves the lease to revoke in *ret_revoke.
 */
static pid_t session_leave_locked(struct session *s, int64_t *ret_revoke)
{
	pid_t pid = s->pid;

	if (--s->users > 0) {
		return 0;
	}
	if (s->control >= 0) {
		close(s->control);
	} else {
		*ret_revoke = s->lease;
	}
	free(s->cluster);
	*s = (struct session){ 0 };
	return pid;
}

/* Under sessions_lock: s's keeper, started if it is not yet. */
static int session_keep_locked(const struct spk_profile *p, struct session *s,
			       struct spk_error *err)
{
	return s->control >= 0 ? 0 : keeper_start(p, s->lease, &s->control, &s->pid, err);
}

/*
 * Keepers that are ending (each revokes its lease, then exits): reaped
 * when they have, at the next call, so that no caller waits for them.
 */
static pid_t keepers_ending[MAX_SESSIONS];
static pthread_mutex_t ending_lock = PTHREAD_MUTEX_INITIALIZER;

static void reap(pid_t pid)
{
	pthread_mutex_lock(&ending_lock);
	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		if (keepers_ending[i] > 0 && waitpid(keepers_ending[i], NULL, WNOHANG) != 0) {
			keepers_ending[i] = 0;
		}
		if (pid > 0 && keepers_ending[i] == 0) {
			keepers_ending[i] = pid;
			pid = 0;
		}
	}
	pthread_mutex_unlock(&ending_lock);
	/* No room: wait for it (a moment: it revokes the lease and exits). */
	for (int waited = 0; pid > 0 && waited < RELEASE_WAIT_MS; waited += 2) {
		if (waitpid(pid, NULL, WNOHANG) != 0) {
			return;
		}
		struct timespec ts = { 0, 2 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int spk_store_etcd_session_enter(const struct spk_profile *p, int64_t *ret_lease,
				 struct spk_error *err)
{
	_cleanup_free_ char *cluster = job_to_json(p, 0);
	struct spk_etcd *e = spk_store_etcd_conn(p, err);
	struct session *s = NULL, *free_row = NULL;
	int r = 0;

	if (!e) {
		return -EIO;
	}
	if (!cluster) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	reap(0);
	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < MAX_SESSIONS && !s; i++) {
		if (sessions[i].cluster && strcmp(sessions[i].cluster, cluster) == 0) {
			s = &sessions[i];
		} else if (!sessions[i].cluster && !free_row) {
			free_row = &sessions[i];
		}
	}
	if (!s && !free_row) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -EMFILE,
				  "%s: too many etcd clusters in one run", p->name);
	} else if (!s) {
		/*
		 * Granted under the mutex: one session per cluster. Its keeper
		 * starts with its first lock (hold) or wait (keep): a lock lost
		 * to another machine at once needs none.
		 */
		s = free_row;
		s->control = -1;
		r = spk_etcd_lease_grant(e, LEASE_TTL, &s->lease, err);
		if (r == 0) {
			s->cluster = TAKE_PTR(cluster);
		} else {
			*s = (struct session){ 0 };
			s = NULL;
		}
	}
	if (s) {
		s->users++;
		*ret_lease = s->lease;
	}
	pthread_mutex_unlock(&sessions_lock);
	return r;
}

static struct session *session_of_lease(int64_t lease)
{
	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		if (sessions[i].cluster && sessions[i].lease == lease) {
			return &sessions[i];
		}
	}
	return NULL;
}

int spk_store_etcd_session_keep(const struct spk_profile *p, int64_t lease, struct spk_error *err)
{
	pthread_mutex_lock(&sessions_lock);
	struct session *s = session_of_lease(lease);
	int r = s ? session_keep_locked(p, s, err) : -ENOENT;
	pthread_mutex_unlock(&sessions_lock);
	return r;
}

void spk_store_etcd_session_leave(const struct spk_profile *p, int64_t lease)
{
	struct spk_etcd *e = spk_store_etcd_conn(p, NULL);
	int64_t revoke = 0;
	pid_t ending = 0;

	pthread_mutex_lock(&sessions_lock);
	struct session *s = session_of_lease(lease);
	if (s) {
		ending = session_leave_locked(s, &revoke);
	}
	pthread_mutex_unlock(&sessions_lock);
	if (revoke && e) {
		(void)spk_etcd_lease_revoke(e, revoke, NULL);
	}
	reap(ending);
}

int spk_store_etcd_session_hold(const struct spk_profile *p, int64_t lease, const char *key,
				int64_t revision, int local, int *ret_handle, struct spk_error *err)
{
	_cleanup_json_ struct spk_json *o = spk_json_new_object();
	_cleanup_free_ char *text = NULL;
	struct held *h = NULL;
	int fds[2] = { -1, -1 }, done[2] = { -1, -1 };
	int r = 0;

	if (!o || spk_json_add_string(o, "profile", p->name) < 0 ||
	    spk_json_add_string(o, "key", key) < 0 ||
	    spk_json_add_int64(o, "revision", revision) < 0 || !(text = spk_json_dump(o))) {
		r = -ENOMEM;
	} else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ||
		   socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, done) < 0) {
		r = -errno;
	} else {
		/* A socket's buffer holds it: written before the keeper can read. */
		r = spk_wire_send(fds[1], text);
	}
	pthread_mutex_lock(&sessions_lock);
	struct session *s = session_of_lease(lease);
	for (size_t i = 0; r == 0 && i < MAX_HELD && !h; i++) {
		h = held[i].session ? NULL : &held[i];
	}
	if (r == 0 && (!s || !h)) {
		r = -EMFILE;
	}
	if (r == 0) {
		struct spk_error keep_err = { 0 };
		r = session_keep_locked(p, s, &keep_err);
	}
	if (r == 0) {
		const int kept[] = { fds[0], local, done[1] };
		r = spk_wire_send_fds(s->control, kept, ARRAY_SIZE(kept));
	}
	if (r == 0) {
		*h = (struct held){
			.handle = fds[1],
			.session = s,
			.conn = spk_store_etcd_conn(p, NULL),
			.key = strdup(key),
			.revision = revision,
			.done = done[0],
		};
		*ret_handle = fds[1];
	}
	pthread_mutex_unlock(&sessions_lock);
	/* The keeper's now, or nobody's. */
	if (fds[0] >= 0) {
		close(fds[0]);
	}
	if (done[1] >= 0) {
		close(done[1]);
	}
	spk_lock_release(local);
	if (r < 0) {
		if (fds[1] >= 0) {
			close(fds[1]);
		}
		if (done[0] >= 0) {
			close(done[0]);
		}
		return spk_error_set(err, SPK_ERR_INTERNAL, r,
				     "%s: cannot hand the lock to its keeper (%s)", p->name,
				     strerror(-r));
	}
	return 0;
}

/* Wait a moment for the keeper to let go of the flock, so that the lock is free on return. */
static void wait_done(int done)
{
	struct pollfd pfd = { .fd = done, .events = POLLIN };
	char byte;

	while (poll(&pfd, 1, RELEASE_WAIT_MS) > 0 && read(done, &byte, 1) > 0) {
	}
	close(done);
}

void spk_store_etcd_session_release(int handle)
{
	struct held h = { 0 };
	char released = RELEASED;

	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < MAX_HELD; i++) {
		if (held[i].session && held[i].handle == handle) {
			h = held[i];
			held[i] = (struct held){ 0 };
			break;
		}
	}
	pthread_mutex_unlock(&sessions_lock);
	if (!h.session) {
		close(handle); /* not handed to a keeper: a yielded lock's flock */
		return;
	}
	/* The key first: etcd's other waiters need not wait for this machine's flock. */
	if (!h.conn || !h.key || spk_etcd_delete_at(h.conn, h.key, h.revision, NULL) < 0) {
		released = 0; /* the keeper tries */
	}
	if (released) {
		(void)spk_wire_write_all(handle, &released, 1);
	}
	close(handle);
	int64_t unused = 0; /* a held lock's session has its keeper, which revokes */
	pthread_mutex_lock(&sessions_lock);
	pid_t ending = session_leave_locked(h.session, &unused);
	pthread_mutex_unlock(&sessions_lock);
	wait_done(h.done);
	reap(ending);
	free(h.key);
}

/* ---- the keeper's side */

struct kept {
	int sock, flock, done; /* sock: the keeper's end of the lock's pair */
	char *profile, *key;   /* NULL until its first message is read */
	int64_t revision;
	bool released;
};

static void kept_drop(struct spk_etcd *e, struct kept *k)
{
	if (k->key && !k->released) {
		/* Every holder is gone without letting go: the key goes, if still this lock's. */
		(void)spk_etcd_delete_at(e, k->key, k->revision, NULL);
	}
	close(k->sock);
	close(k->flock);
	close(k->done); /* after the flock: the caller's unlock returns */
	free(k->profile);
	free(k->key);
}

/* The lock pair's first message: whose lock, which key at which revision. */
static int kept_learn(struct kept *k)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ struct spk_json *o = NULL;

	int r = spk_wire_receive(k->sock, KEEPER_JOB_MS, &text);
	if (r < 0 || spk_json_parse_object(text, strlen(text), &o) < 0 ||
	    spk_json_get_string(o, "profile", &k->profile) < 0 ||
	    spk_json_get_string(o, "key", &k->key) < 0 ||
	    spk_json_get_int64(o, "revision", &k->revision) < 0) {
		return -EBADMSG;
	}
	return 0;
}

/* Under the fault point stop-after-send: a machine cut off with a request sent renews nothing. */
static bool cut_off(const struct spk_profile *job, const struct kept *kept, size_t n)
{
	if (!spk_fault("stop-after-send")) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		struct spk_profile p = *job;
		p.name = kept[i].profile;
		if (p.name && spk_store_etcd_inflight_pending(&p)) {
			return true;
		}
	}
	return false;
}

int spk_store_etcd_keeper_serve(void)
{
	_cleanup_secret_ char *text = NULL;
	struct spk_profile p = SPK_PROFILE_INIT;
	static struct kept kept[KEEPER_MAX_LOCKS];
	static struct pollfd pfds[1 + KEEPER_MAX_LOCKS];
	int control = KEEPER_CONTROL_FD;
	size_t n = 0;
	int64_t lease = 0;

	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Hold nothing of the caller's (a pipe a shell waits on) but the control socket. */
	for (int fd = KEEPER_FIRST_FREE_FD; fd < 1024; fd++) {
		(void)close(fd);
	}
	int r = spk_wire_receive(STDIN_FILENO, KEEPER_JOB_MS, &text);
	if (r == 0) {
		r = job_from_json(text, &p, &lease);
	}
	struct spk_etcd *e = r == 0 ? spk_store_etcd_conn(&p, NULL) : NULL;
	if (!e) {
		/* Nothing to renew with: etcd lets the lease expire. */
		spk_log("etcd keeper: no job or no connection (%s)", strerror(r < 0 ? -r : EIO));
		spk_profile_done(&p);
		return 70;
	}
	while (control >= 0 || n > 0) {
		size_t m = 0;
		if (control >= 0) {
			pfds[m++] = (struct pollfd){ .fd = control, .events = POLLIN };
		}
		for (size_t i = 0; i < n; i++) {
			pfds[m++] = (struct pollfd){ .fd = kept[i].sock, .events = POLLIN };
		}
		int ready = poll(pfds, m, KEEPALIVE_MS);
		if (ready < 0 && errno != EINTR) {
			break;
		}
		if (ready == 0) {
			if (!cut_off(&p, kept, n) &&
			    spk_etcd_lease_keepalive(e, lease, NULL) == -ENOENT) {
				break; /* the lease is gone, and every key on it: nothing left to hold */
			}
			continue;
		}
		if (ready < 0) {
			continue;
		}
		/* The locks first: pfds[] is in their order after the control socket. */
		size_t base = control >= 0 ? 1 : 0;
		for (size_t i = n; i-- > 0;) {
			if (!pfds[base + i].revents) {
				continue;
			}
			char byte;
			ssize_t got;
			if (!kept[i].key) {
				got = kept_learn(&kept[i]) == 0 ? 1 : 0;
			} else if ((got = read(kept[i].sock, &byte, 1)) == 1) {
				kept[i].released = kept[i].released || byte == RELEASED;
			}
			if (got <= 0 && !(got < 0 && errno == EINTR)) {
				/* Every copy of the handle is closed: let go. */
				kept_drop(e, &kept[i]);
				kept[i] = kept[--n];
			}
		}
		if (control >= 0 && pfds[0].revents) {
			int fds[3];
			r = spk_wire_receive_fds(control, fds, ARRAY_SIZE(fds));
			if (r == -EPIPE) {
				close(control); /* the caller has no lock left, or is gone */
				control = -1;
			} else if (r == 0 && n < KEEPER_MAX_LOCKS) {
				kept[n++] = (struct kept){ .sock = fds[0],
							   .flock = fds[1],
							   .done = fds[2] };
			} else if (r == 0) {
				for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
					close(fds[i]);
				}
			}
		}
	}
	/* The lease's end takes the keys on it; then this machine's flocks go. */
	(void)spk_etcd_lease_revoke(e, lease, NULL);
	for (size_t i = 0; i < n; i++) {
		kept[i].released = true;
		kept_drop(e, &kept[i]);
	}
	spk_profile_done(&p);
	return 0;
}

bool spk_store_etcd_inflight_pending(const struct spk_profile *p)
{
	struct spk_store_etcd_inflight rec;
	/* Cannot tell: say yes, so that nothing is spent on a guess. */
	int r = spk_store_etcd_inflight_of(p, &rec, NULL);
	return r != -ENOENT;
}
