/*
 * The caller's side of the detached exchange (worker.h): starting a
 * worker, or handing the job to the shared one, and waiting for its answer.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "paths.h"
#include "secret.h"
#include "worker-wire.h"

struct spk_worker {
	pid_t pid;
	int sock;
};

static char *job_to_json(const struct spk_profile *p, const struct spk_worker_job *job)
{
	const struct spk_client *c = job->client;
	_cleanup_json_ struct spk_json *o = spk_json_new_object();
	struct spk_json *client = spk_json_new_object();
	int r = o && client ? 0 : -ENOMEM;

	if (r == 0) {
		/* First, then filled: the job names its client before the rest. */
		r |= spk_json_add(o, "client", client);
		r |= spk_json_add_string(o, "op", spk_wire_op_name(job->op));
		r |= spk_json_add_string(o, "profile", p->name);
		r |= spk_json_add_string(o, "config", p->config_path);
		r |= spk_json_add(o, "grant", spk_grant_to_object(job->grant));
		r |= spk_json_add_string(o, "revocation_endpoint", job->revocation_endpoint);
		r |= spk_json_add_string(client, "token_endpoint", c->token_endpoint);
		r |= spk_json_add_string(client, "id", c->id);
		r |= spk_json_add_string(client, "secret", c->secret);
		r |= spk_json_add_int64(client, "auth", c->auth);
		r |= spk_json_add_string(client, "cacert", c->cacert);
	} else {
		spk_json_free(client);
	}
	return r == 0 ? spk_json_dump(o) : NULL;
}

/* lock_fd < 0: the shared worker, whose locks come with each job; else on SPK_WIRE_LOCK_FD. */
static int spawn_worker(int sock, int lock_fd, pid_t *ret_pid)
{
	char *argv[] = { (char *)"sparekey-worker", lock_fd < 0 ? (char *)"--many" : NULL, NULL };
	return spk_wire_spawn(argv, sock, &lock_fd, lock_fd >= 0 ? 1 : 0, ret_pid);
}

/*
 * The one line for a worker that could not be started: nothing was sent,
 * so the grant is as it was. A program that will not start is a broken
 * install; a socketpair that cannot be had is the system's limits.
 */
static int start_failed(struct spk_error *err, const char *profile, int r, bool spawning)
{
	return spk_error_set(err, SPK_ERR_INTERNAL, r, "%s%scannot start sparekey-worker (%s)%s",
			     profile ? profile : "", profile ? ": " : "", strerror(-r),
			     spawning ? "; nothing was sent. Reinstall sparekey" : "");
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

int spk_worker_share_begin(struct spk_error *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		return start_failed(err, NULL, -errno, false);
	}
	int r = spawn_worker(sv[1], -1, &shared.pid);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return start_failed(err, NULL, r, true);
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

int spk_worker_exchange(const struct spk_profile *p, const struct spk_worker_job *job, int lock_fd,
			struct spk_worker **ret_w, struct spk_grant *ret, struct spk_error *err)
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
		return start_failed(err, p->name, r, false);
	}
	/* Should the shared worker be gone, a worker of its own still carries the job. */
	int r = shared.control >= 0 ? spk_wire_send_job_fds(shared.control, sv[1], lock_fd) : -1;
	if (r < 0) {
		r = spawn_worker(sv[1], lock_fd, &w->pid);
	}
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		free(w);
		return start_failed(err, p->name, r, true);
	}
	w->sock = sv[0];
	spk_log("worker %s: %s started, pid %d", p->name, spk_wire_op_name(job->op), (int)w->pid);

	_cleanup_secret_ char *answer = NULL;
	r = spk_wire_send(w->sock, text);
	if (r == 0) {
		r = spk_wire_receive(w->sock, -1, &answer);
	}
	if (r < 0) {
		spk_worker_finish(w, true);
		return spk_error_set(err, SPK_ERR_TEMPFAIL, SPK_WORKER_CUT_OFF,
				     "%s: the %s ended before it answered (sparekey-worker: %s)",
				     p->name, spk_wire_op_name(job->op), strerror(-r));
	}
	*ret_w = w;
	return spk_wire_answer_from_json(answer, ret, err);
}

void spk_worker_finish(struct spk_worker *w, bool settled)
{
	if (!w) {
		return;
	}
	if (settled) {
		char b = SPK_WIRE_SETTLED;
		(void)spk_wire_write_all(w->sock, &b, 1);
	}
	close(w->sock);
	/* A job of the shared worker has no process of its own to wait for. */
	while (w->pid > 0 && waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) {
	}
	free(w);
}
