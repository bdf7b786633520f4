/*
 * The caller's side of the etcd guard's lease and its keeper
 * (store-etcd.h; the protocol is described in store-etcd-keeper.c).
 *
 * A process's locks in one cluster share one session: a lease, granted on
 * first use, and its keeper, started with the first lock won (or before a
 * wait that may outlast the lease). Each lock is handed to the keeper
 * with the machine's flock; its handle is our end of a socket pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "lock.h"
#include "macro.h"
#include "store-etcd.h"
#include "worker-wire.h"

#define LEASE_TTL 15
#define RELEASE_WAIT_MS 2000
#define MAX_SESSIONS 8
#define MAX_HELD 512

/* A lease and its keeper, for one cluster's settings. */
static struct session {
	char *cluster; /* spk_store_etcd_keeper_job(p, 0); NULL: a free row */
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
	_cleanup_free_ char *text = spk_store_etcd_keeper_job(p, lease);
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
	_cleanup_free_ char *cluster = spk_store_etcd_keeper_job(p, 0);
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
	char released = SPK_STORE_ETCD_RELEASED;

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
