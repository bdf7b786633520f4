/*
 * What passes between sparekey-cli and sparekey-worker (worker.h): a job
 * and its answer as JSON, each framed by a 4-byte length, and the one
 * byte that says the answer is stored.
 */
#include "worker-wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "macro.h"
#include "paths.h"
#include "secret.h"

const int spk_wire_shielded_signals[] = { SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
					  SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE };
const size_t spk_wire_n_shielded = ARRAY_SIZE(spk_wire_shielded_signals);

/* ---- framing: a 4-byte length, then the JSON text */

extern char **environ;

#define SPAWN_MAX_FDS 4

int spk_wire_spawn(char *const argv[], int in, const int *fds, size_t n_fds, pid_t *ret_pid)
{
	char path[4096];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t shielded, all;
	int high[1 + SPAWN_MAX_FDS], n = 0, r = 0;

	/* Each above the numbers they get in the child first, so that no dup2 overwrites another. */
	for (size_t i = 0; i <= n_fds && i <= SPAWN_MAX_FDS && r == 0; i++) {
		high[n] = fcntl(i == 0 ? in : fds[i - 1], F_DUPFD_CLOEXEC, 10);
		r = high[n] < 0 ? -errno : 0;
		n += r == 0;
	}
	if (r == 0 && n_fds > SPAWN_MAX_FDS) {
		r = -EINVAL;
	}
	spk_path_worker(path, sizeof(path));
	sigemptyset(&shielded);
	for (size_t i = 0; i < spk_wire_n_shielded; i++) {
		sigaddset(&shielded, spk_wire_shielded_signals[i]);
	}
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_adddup2(&fa, high[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	for (int i = 1; i < n; i++) {
		posix_spawn_file_actions_adddup2(&fa, high[i], 2 + i);
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
	if (r == 0) {
		r = -posix_spawn(ret_pid, path, &fa, &attr, argv, environ);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	for (int i = 0; i < n; i++) {
		close(high[i]);
	}
	if (r < 0) {
		spk_log("worker: cannot start %s %s (%s)", path, argv[1] ? argv[1] : "",
			strerror(-r));
	}
	return r;
}

int spk_wire_write_all(int fd, const void *buf, size_t len)
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
int spk_wire_read_all(int fd, void *buf, size_t len, int timeout_ms)
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

int spk_wire_send(int fd, const char *text)
{
	uint32_t len = (uint32_t)strlen(text);
	int r = spk_wire_write_all(fd, &len, sizeof(len));
	return r < 0 ? r : spk_wire_write_all(fd, text, len);
}

/* *ret: the message, NUL-terminated (a secret). */
int spk_wire_receive(int fd, int timeout_ms, char **ret)
{
	uint32_t len;
	int r = spk_wire_read_all(fd, &len, sizeof(len), timeout_ms);
	if (r < 0) {
		return r;
	}
	if (len > SPK_WIRE_MESSAGE_MAX) {
		return -EMSGSIZE;
	}
	char *text = malloc((size_t)len + 1);
	if (!text) {
		return -ENOMEM;
	}
	r = spk_wire_read_all(fd, text, len, timeout_ms);
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

const char *spk_wire_op_name(enum spk_worker_op op)
{
	return op == SPK_WORKER_REVOKE ? "revoke" : "refresh";
}

char *spk_wire_answer_to_json(const struct spk_grant *g, const struct spk_error *e)
{
	_cleanup_json_ struct spk_json *o = spk_json_new_object();
	int r = o ? 0 : -ENOMEM;

	if (r == 0 && g) {
		r |= spk_json_add(o, "grant", spk_grant_to_object(g));
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
int spk_wire_answer_from_json(const char *text, struct spk_grant *ret, struct spk_error *err)
{
	_cleanup_json_ struct spk_json *o = NULL;
	_cleanup_free_ char *oauth = NULL, *msg = NULL;
	int64_t kind = SPK_ERR_INTERNAL, code = -EIO;

	if (spk_json_parse(text, strlen(text), &o) < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -EBADMSG,
				     "sparekey-worker gave an unreadable answer");
	}
	if (spk_json_has(o, "grant")) {
		/* Of another type, it reads as none: the grant is refused. */
		struct spk_json *g = NULL;
		(void)spk_json_get_object(o, "grant", &g);
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

/* ---- fds by SCM_RIGHTS: the shared worker's jobs, the etcd keeper's locks */

/* One byte, and room for SPK_WIRE_MAX_FDS fds beside it. */
struct fds_message {
	struct msghdr msg;
	struct iovec iov;
	char byte;
	union { /* CMSG_FIRSTHDR's header must be aligned as one */
		char buf[CMSG_SPACE(SPK_WIRE_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
};

static void fds_message_init(struct fds_message *m, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->byte = 'J';
	m->iov = (struct iovec){ .iov_base = &m->byte, .iov_len = 1 };
	m->msg = (struct msghdr){
		.msg_iov = &m->iov,
		.msg_iovlen = 1,
		.msg_control = m->cbuf.buf,
		.msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
}

int spk_wire_send_fds(int control, const int *fds, size_t n)
{
	struct fds_message m;

	if (n == 0 || n > SPK_WIRE_MAX_FDS) {
		return -EINVAL;
	}
	fds_message_init(&m, n);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	return sendmsg(control, &m.msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

int spk_wire_receive_fds(int control, int *ret_fds, size_t n)
{
	struct fds_message m;
	ssize_t got;

	if (n == 0 || n > SPK_WIRE_MAX_FDS) {
		return -EINVAL;
	}
	fds_message_init(&m, n);
	while ((got = recvmsg(control, &m.msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
	}
	if (got <= 0) {
		return -EPIPE; /* the end, or a socket that cannot be read: no more */
	}
	struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
	if (!c || c->cmsg_type != SCM_RIGHTS) {
		return -EBADMSG;
	}
	if (c->cmsg_len != CMSG_LEN(n * sizeof(int))) {
		/* Not ours to keep: close what came. */
		size_t came = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[SPK_WIRE_MAX_FDS];
		memcpy(fds, CMSG_DATA(c),
		       (came < SPK_WIRE_MAX_FDS ? came : SPK_WIRE_MAX_FDS) * sizeof(int));
		for (size_t i = 0; i < came && i < SPK_WIRE_MAX_FDS; i++) {
			close(fds[i]);
		}
		return -EBADMSG;
	}
	memcpy(ret_fds, CMSG_DATA(c), n * sizeof(int));
	return 0;
}

int spk_wire_send_job_fds(int control, int sock, int lock_fd)
{
	const int fds[2] = { sock, lock_fd };
	return spk_wire_send_fds(control, fds, 2);
}

int spk_wire_receive_job_fds(int control, int *ret_sock, int *ret_lock_fd)
{
	int fds[2];
	int r = spk_wire_receive_fds(control, fds, 2);

	if (r == 0) {
		*ret_sock = fds[0];
		*ret_lock_fd = fds[1];
	}
	return r;
}
