#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fault.h"
#include "flow-internal.h"
#include "http.h"
#include "inflight.h"
#include "json.h"
#include "log.h"
#include "paths.h"
#include "secret.h"
#include "store.h"

#define MESSAGE_MAX (1024 * 1024)
#define WORKER_LOCK_FD 3
/* The caller writes the job at once; a worker never waits long for it. */
#define JOB_WAIT_MS 10000
/*
 * How long the worker waits for the caller to store the answer before it
 * stores it itself. The caller's store write is bounded by the keyring's
 * timeouts; this is only a backstop for a caller that hangs.
 */
#define SETTLE_WAIT_MS 120000
/* The one byte that says: the answer is stored, nothing left to do. */
#define SETTLED 'S'

extern char **environ;

/* What neither the caller's terminal nor a stop meant for the caller may end. */
static const int shielded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP,
					SIGTTIN, SIGTTOU, SIGPIPE };

struct spk_worker {
	pid_t pid;
	int sock;
};

/* ---- framing: a 4-byte length, then the JSON text */

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -EPIPE;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* timeout_ms < 0: no limit. -EPIPE at end of input. */
static int read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;
	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return r < 0 ? -errno : -ETIMEDOUT;
		}
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -EPIPE;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_message(int fd, const char *text)
{
	uint32_t len = (uint32_t)strlen(text);
	int r = write_all(fd, &len, sizeof(len));
	return r < 0 ? r : write_all(fd, text, len);
}

/* *ret: the message, NUL-terminated (a secret). */
static int receive_message(int fd, int timeout_ms, char **ret)
{
	uint32_t len;
	int r = read_all(fd, &len, sizeof(len), timeout_ms);
	if (r < 0) {
		return r;
	}
	if (len > MESSAGE_MAX) {
		return -EMSGSIZE;
	}
	char *text = malloc((size_t)len + 1);
	if (!text) {
		return -ENOMEM;
	}
	r = read_all(fd, text, len, timeout_ms);
	if (r < 0) {
		spk_wipe(text, len);
		free(text);
		return r;
	}
	text[len] = '\0';
	*ret = text;
	return 0;
}

/* ---- the job and the answer, as JSON */

static const char *op_name(enum spk_worker_op op)
{
	return op == SPK_WORKER_REVOKE ? "revoke" : "refresh";
}

static char *job_to_json(const struct spk_profile *p, const struct spk_worker_job *job)
{
	const struct spk_client *c = job->client;
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *client = json_object_new_object();
	int r = o && client ? 0 : -ENOMEM;

	if (r == 0) {
		r |= spk_json_add_object(o, "client", client);
		r |= spk_json_add_string(o, "op", op_name(job->op));
		r |= spk_json_add_string(o, "profile", p->name);
		r |= spk_json_add_string(o, "config", p->config_path);
		r |= spk_json_add_object(o, "grant", spk_grant_to_object(job->grant));
		r |= spk_json_add_string(o, "revocation_endpoint", job->revocation_endpoint);
		r |= spk_json_add_string(client, "token_endpoint", c->token_endpoint);
		r |= spk_json_add_string(client, "id", c->id);
		r |= spk_json_add_string(client, "secret", c->secret);
		r |= spk_json_add_int64(client, "auth", c->auth);
		r |= spk_json_add_string(client, "cacert", c->cacert);
	} else {
		json_object_put(client);
	}
	return r == 0 ? spk_json_dump(o) : NULL;
}

static char *answer_to_json(const struct spk_grant *g, const struct spk_error *e)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	int r = o ? 0 : -ENOMEM;

	if (r == 0 && g) {
		r |= spk_json_add_object(o, "grant", spk_grant_to_object(g));
		/* Not part of the stored grant: what the caller is to warn about. */
		r |= spk_json_add_string(o, "warning", g->warning);
	} else if (r == 0) {
		r |= spk_json_add_int64(o, "kind", e->kind);
		r |= spk_json_add_int64(o, "code", e->code);
		r |= spk_json_add_string(o, "oauth", e->oauth);
		r |= spk_json_add_string(o, "msg", e->msg);
	}
	return r == 0 ? spk_json_dump(o) : NULL;
}

/* The answer: 0 with a grant (refresh) or none (revoke), else the worker's error. */
static int answer_from_json(const char *text, struct spk_grant *ret, struct spk_error *err)
{
	_cleanup_json_ json_object *o = NULL;
	_cleanup_free_ char *oauth = NULL, *msg = NULL;
	int64_t kind = SPK_ERR_INTERNAL, code = -EIO;

	if (spk_json_parse(text, strlen(text), &o) < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -EBADMSG,
				     "sparekey-worker gave an unreadable answer");
	}
	json_object *g = NULL;
	if (json_object_object_get_ex(o, "grant", &g)) {
		int r = ret ? spk_grant_from_object(g, ret, err) : 0;
		if (r == 0 && ret) {
			(void)spk_json_get_string(o, "warning", &ret->warning);
		}
		return r;
	}
	(void)spk_json_get_int64(o, "kind", &kind);
	(void)spk_json_get_int64(o, "code", &code);
	(void)spk_json_get_string(o, "oauth", &oauth);
	(void)spk_json_get_string(o, "msg", &msg);
	if (kind == SPK_ERR_NONE) {
		return 0;
	}
	/* The worker's own failures never read as its death (SPK_WORKER_CUT_OFF). */
	bool plain = code < 0 && code != SPK_WORKER_CUT_OFF;
	return spk_error_set_oauth(err, (enum spk_error_kind)kind, plain ? (int)code : -EIO,
				   oauth ? oauth : "", "%s", msg ? msg : "sparekey-worker failed");
}

/* ---- the caller's side */

/* lock_fd < 0: the shared worker, whose locks come with each job. */
static int spawn_worker(int sock, int lock_fd, pid_t *ret_pid)
{
	char path[4096];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t shielded, all;
	char *argv[] = { (char *)"sparekey-worker", lock_fd < 0 ? (char *)"--many" : NULL, NULL };

	spk_path_program("sparekey-worker", SPK_LIBEXECDIR, path, sizeof(path));
	sigemptyset(&shielded);
	for (size_t i = 0; i < ARRAY_SIZE(shielded_signals); i++) {
		sigaddset(&shielded, shielded_signals[i]);
	}
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* The job arrives on stdin; the lock stays held on fd 3; no terminal. */
	posix_spawn_file_actions_adddup2(&fa, sock, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (lock_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, lock_fd, WORKER_LOCK_FD);
	}
	/*
	 * A session and process group of its own, so that a kill of the
	 * caller's group or the hangup of its terminal does not reach it; the
	 * stop signals blocked until it ignores them.
	 */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &shielded);
	posix_spawnattr_setsigdefault(&attr, &all);
	int r = -posix_spawn(ret_pid, path, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r < 0) {
		spk_log("worker: cannot start %s (%s)", path, strerror(-r));
	}
	return r;
}

/*
 * The shared worker of refresh --all (spk_worker_share_begin): a
 * SOCK_SEQPACKET to it, each message one job's socket and lock. Set and
 * cleared only while no exchange runs; read by the exchanges' threads.
 */
static struct {
	int control;
	pid_t pid;
} shared = { -1, 0 };

/* Give a job's socket and the lock to the shared worker. */
static int hand_over(int sock, int lock_fd)
{
	int fds[2] = { sock, lock_fd };
	char cbuf[CMSG_SPACE(sizeof(fds))] = { 0 };
	char one = 'J';
	struct iovec iov = { .iov_base = &one, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	return sendmsg(shared.control, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

int spk_worker_share_begin(struct spk_error *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int r = -errno;
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "cannot start sparekey-worker (%s)",
				     strerror(-r));
	}
	int r = spawn_worker(sv[1], -1, &shared.pid);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return spk_error_set(err, SPK_ERR_INTERNAL, r,
				     "cannot start sparekey-worker (%s); nothing was sent. Reinstall "
				     "sparekey", strerror(-r));
	}
	shared.control = sv[0];
	spk_log("worker: shared, pid %d", (int)shared.pid);
	return 0;
}

void spk_worker_share_end(void)
{
	if (shared.control < 0) {
		return;
	}
	/* Its jobs are all settled: it ends once it sees no more will come. */
	close(shared.control);
	shared.control = -1;
	while (waitpid(shared.pid, NULL, 0) < 0 && errno == EINTR) {
	}
	shared.pid = 0;
}

int spk_worker_exchange(const struct spk_profile *p, const struct spk_worker_job *job,
			int lock_fd, struct spk_worker **ret_w, struct spk_grant *ret,
			struct spk_error *err)
{
	int sv[2];
	struct spk_worker *w = calloc(1, sizeof(*w));
	_cleanup_secret_ char *text = w ? job_to_json(p, job) : NULL;

	if (!text) {
		free(w);
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		int r = -errno;
		free(w);
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "cannot start sparekey-worker (%s)",
				     strerror(-r));
	}
	/* Should the shared worker be gone, a worker of its own still carries the job. */
	int r = shared.control >= 0 ? hand_over(sv[1], lock_fd) : -1;
	if (r < 0) {
		r = spawn_worker(sv[1], lock_fd, &w->pid);
	}
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		free(w);
		return spk_error_set(err, SPK_ERR_INTERNAL, r,
				     "%s: cannot start sparekey-worker (%s); nothing was sent. "
				     "Reinstall sparekey", p->name, strerror(-r));
	}
	w->sock = sv[0];
	spk_log("worker %s: %s started, pid %d", p->name, op_name(job->op), (int)w->pid);

	_cleanup_secret_ char *answer = NULL;
	r = send_message(w->sock, text);
	if (r == 0) {
		r = receive_message(w->sock, -1, &answer);
	}
	if (r < 0) {
		spk_worker_finish(w, true);
		return spk_error_set(err, SPK_ERR_TEMPFAIL, SPK_WORKER_CUT_OFF,
				     "%s: the %s ended before it answered (sparekey-worker: %s)",
				     p->name, op_name(job->op), strerror(-r));
	}
	*ret_w = w;
	return answer_from_json(answer, ret, err);
}

void spk_worker_finish(struct spk_worker *w, bool settled)
{
	if (!w) {
		return;
	}
	if (settled) {
		char b = SETTLED;
		(void)write_all(w->sock, &b, 1);
	}
	close(w->sock);
	/* A job of the shared worker has no process of its own to wait for. */
	while (w->pid > 0 && waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) {
	}
	free(w);
}

/* ---- the worker's side */

struct job {
	enum spk_worker_op op;
	struct spk_profile profile;
	struct spk_grant grant;
	struct spk_client client;
	char *token_endpoint, *id, *secret, *cacert, *revocation_endpoint;
};

static void job_done(struct job *j)
{
	spk_profile_done(&j->profile);
	spk_grant_done(&j->grant);
	free(j->token_endpoint);
	free(j->id);
	spk_secret_free(j->secret);
	free(j->cacert);
	free(j->revocation_endpoint);
}

static int job_from_json(const char *text, struct job *j, struct spk_error *err)
{
	_cleanup_json_ json_object *o = NULL;
	_cleanup_free_ char *op = NULL, *name = NULL, *config_path = NULL;
	struct spk_config *cfg = NULL;
	json_object *grant = NULL, *client = NULL;
	int64_t auth = SPK_CLIENT_AUTH_NONE;

	if (spk_json_parse(text, strlen(text), &o) < 0 || spk_json_get_string(o, "op", &op) < 0 ||
	    spk_json_get_string(o, "profile", &name) < 0 ||
	    !json_object_object_get_ex(o, "grant", &grant) ||
	    !json_object_object_get_ex(o, "client", &client) ||
	    spk_json_get_string(client, "token_endpoint", &j->token_endpoint) < 0 ||
	    spk_json_get_string(client, "id", &j->id) < 0 ||
	    spk_json_get_int64(client, "auth", &auth) < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -EBADMSG, "sparekey-worker: a bad job");
	}
	(void)spk_json_get_string(o, "config", &config_path);
	(void)spk_json_get_string(o, "revocation_endpoint", &j->revocation_endpoint);
	(void)spk_json_get_string(client, "secret", &j->secret);
	(void)spk_json_get_string(client, "cacert", &j->cacert);
	j->op = strcmp(op, "revoke") == 0 ? SPK_WORKER_REVOKE : SPK_WORKER_REFRESH;
	j->client = (struct spk_client){
		.token_endpoint = j->token_endpoint,
		.id = j->id,
		.secret = j->secret,
		.auth = (enum spk_client_auth)auth,
		.cacert = j->cacert,
	};
	int r = spk_grant_from_object(grant, &j->grant, err);
	if (r == 0) {
		/* For the store and the cache, should the caller be gone. */
		r = spk_config_open(config_path, &cfg, err);
	}
	if (r == 0) {
		r = spk_config_get(cfg, name, &j->profile, err);
	}
	spk_config_free(cfg);
	return r;
}

/* Ask the provider; a request whose answer was lost is sent once more. */
static int call_refresh(const struct job *j, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_error first = { 0 };
	int r = spk_oauth_refresh(&j->client, j->grant.refresh_token, (int64_t)time(NULL), ret,
				  &first);
	if (r == SPK_HTTP_ANSWER_LOST) {
		/*
		 * The provider may have rotated the token already. Lenient
		 * providers (Xero: 30 minutes) accept the same token again;
		 * strict ones refuse it, and the grant was lost either way.
		 */
		spk_log("refresh %s: answer lost, retrying once with the same token",
			j->profile.name);
		spk_error_clear(&first);
		r = spk_oauth_refresh(&j->client, j->grant.refresh_token, (int64_t)time(NULL), ret,
				      &first);
	}
	if (r < 0 && err && err->kind == SPK_ERR_NONE) {
		*err = first;
	}
	return r;
}

/* Spend the refresh token: 0 with the merged grant, journaled, in *ret. */
static int do_refresh(struct job *j, struct spk_grant *ret, struct spk_error *err)
{
	const struct spk_profile *p = &j->profile;
	struct spk_grant fresh = { 0 }, merged = { 0 };

	int r = spk_inflight_write(p, j->grant.refresh_token, err);
	if (r < 0) {
		return r;
	}
	r = call_refresh(j, &fresh, err);
	spk_fault_kill("kill-worker-after-send");
	if (r == 0) {
		r = spk_grant_copy(&j->grant, &merged);
		if (r < 0) {
			spk_grant_done(&fresh);
			r = spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
		}
	}
	if (r < 0) {
		/* An answer came (or was lost twice): nothing to keep, nothing cut off. */
		(void)spk_inflight_remove(p);
		return r;
	}
	spk_grant_update(&merged, &fresh);
	struct spk_error journal_err = { 0 };
	if (spk_store_rescue_write(p, &merged, &journal_err) == 0) {
		(void)spk_inflight_remove(p);
	} else {
		/* Not fatal: the store write is the durable home anyway. */
		spk_log("refresh %s: %s", p->name, journal_err.msg);
	}
	*ret = merged;
	return 0;
}

/* The caller is gone or could not: carry the answer into the store. */
static void settle(const struct job *j, const struct spk_grant *merged)
{
	const struct spk_profile *p = &j->profile;

	if (j->op == SPK_WORKER_REVOKE) {
		/* The logout the caller began: the grant goes, revoked or not. */
		spk_flow_cache_drop(p);
		(void)spk_store_remove(p, NULL);
		(void)spk_store_remove_client_secret(p, NULL);
		(void)spk_store_rescue_remove(p, NULL);
		(void)spk_inflight_remove(p);
		return;
	}
	if (spk_store_save(p, merged, NULL) == 0) {
		(void)spk_store_rescue_remove(p, NULL);
		(void)spk_inflight_remove(p);
		spk_flow_cache_put(p, merged);
	}
	/* Else the journal keeps it, and the next run stores it. */
}

/* One job on sock, holding the lock lock_fd (closed at the end). */
static int serve_job(int sock, int lock_fd)
{
	struct job j = { 0 };
	struct spk_grant merged = { 0 };
	struct spk_error err = { 0 };
	_cleanup_secret_ char *text = NULL, *answer = NULL;

	int r = receive_message(sock, JOB_WAIT_MS, &text);
	if (r < 0) {
		close(lock_fd);
		return 1; /* the caller died before the job was whole: nothing was sent */
	}
	r = job_from_json(text, &j, &err);
	if (r == 0 && j.op == SPK_WORKER_REFRESH) {
		r = do_refresh(&j, &merged, &err);
	} else if (r == 0) {
		bool rt = j.grant.refresh_token != NULL;
		r = spk_oauth_revoke(&j.client, j.revocation_endpoint,
				     rt ? j.grant.refresh_token : j.grant.access_token,
				     rt ? "refresh_token" : "access_token", &err);
	}
	bool stored_later = (r == 0 && j.op == SPK_WORKER_REFRESH) ||
			    (j.op == SPK_WORKER_REVOKE && j.profile.name);
	answer = answer_to_json(r == 0 && j.op == SPK_WORKER_REFRESH ? &merged : NULL,
				r == 0 ? &(struct spk_error){ 0 } : &err);
	int sent = answer ? send_message(sock, answer) : -ENOMEM;
	if (stored_later) {
		char b = 0;
		if (sent < 0 || read_all(sock, &b, 1, SETTLE_WAIT_MS) < 0 || b != SETTLED) {
			spk_log("worker %s: the caller is gone; storing the answer", j.profile.name);
			settle(&j, &merged);
		}
	}
	spk_grant_done(&merged);
	job_done(&j);
	close(lock_fd);
	return r < 0 ? 1 : 0;
}

/* Neither the caller's terminal nor a stop meant for the caller ends a worker. */
static void shield(void)
{
	sigset_t shielded;

	sigemptyset(&shielded);
	for (size_t i = 0; i < ARRAY_SIZE(shielded_signals); i++) {
		signal(shielded_signals[i], SIG_IGN);
		sigaddset(&shielded, shielded_signals[i]);
	}
	sigprocmask(SIG_UNBLOCK, &shielded, NULL);
}

int spk_worker_serve(void)
{
	shield();
	/* Only stdin (the caller), stdout, stderr and the lock. */
	(void)close_range(WORKER_LOCK_FD + 1, ~0U, 0);
	return serve_job(0, WORKER_LOCK_FD);
}

struct job_fds {
	int sock, lock_fd;
};

static void *job_thread(void *arg)
{
	struct job_fds *f = arg;
	(void)serve_job(f->sock, f->lock_fd);
	close(f->sock);
	free(f);
	return NULL;
}

/* The next job's socket and lock from the control socket: 1, or 0 at its end. */
static int next_job(int control, struct job_fds *ret)
{
	int fds[2];
	char cbuf[CMSG_SPACE(sizeof(fds))];
	char one;
	struct iovec iov = { .iov_base = &one, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	ssize_t n;

	while ((n = recvmsg(control, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
	}
	if (n <= 0) {
		return 0;
	}
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(fds))) {
		return -EBADMSG;
	}
	memcpy(fds, CMSG_DATA(c), sizeof(fds));
	*ret = (struct job_fds){ .sock = fds[0], .lock_fd = fds[1] };
	return 1;
}

int spk_worker_serve_many(void)
{
	pthread_t *threads = NULL;
	size_t n = 0;
	struct job_fds f;
	int r;

	shield();
	(void)close_range(STDERR_FILENO + 1, ~0U, 0);
	while ((r = next_job(0, &f)) != 0) {
		if (r < 0) {
			continue;
		}
		struct job_fds *arg = malloc(sizeof(*arg));
		pthread_t *more = arg ? realloc(threads, (n + 1) * sizeof(*threads)) : NULL;
		if (more) {
			threads = more;
		}
		if (arg) {
			*arg = f;
		}
		if (!arg || !more || pthread_create(&threads[n], NULL, job_thread, arg) != 0) {
			/* Its caller sees the job end unanswered: nothing was sent. */
			close(f.sock);
			close(f.lock_fd);
			free(arg);
			continue;
		}
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		pthread_join(threads[i], NULL);
	}
	free(threads);
	return 0;
}
