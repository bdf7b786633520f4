/*
 * The etcd guard's lease keeper (store-etcd.h): a fresh program,
 * `sparekey-worker --keeper`, never a fork of its caller. The caller may
 * run threads (refresh --all), and a child forked from it could inherit a
 * lock another thread held (OpenSSL's, libcurl's, GLib's) and hang on it
 * for ever, its lease unrenewed.
 *
 * It gets its job on stdin (the profile's etcd settings and the lease id,
 * never a password: it authenticates itself from etcd_password_file), the
 * read end of the lock's pipe on KEEPER_PIPE_FD and the machine's flock on
 * KEEPER_FLOCK_FD. It renews the lease every KEEPALIVE_MS until every copy
 * of the pipe's write end is closed, then revokes it and exits.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "profile-keys.h"
#include "secret.h"
#include "store-etcd.h"
#include "worker-wire.h"

#define KEEPALIVE_MS 4000
#define KEEPER_JOB_MS 5000
#define KEEPER_PIPE_FD 3
#define KEEPER_FLOCK_FD 4
#define KEEPER_FIRST_FREE_FD 5

/* The keys the keeper's connection needs: every etcd_* key (profile-keys.c). */
static bool is_etcd_key(const struct spk_profile_key *k)
{
	return k->type == KEY_STRING && strncmp(k->name, "etcd_", 5) == 0;
}

/* The job: the profile's name, the lease, and its etcd_* keys that are set. */
static char *job_to_json(const struct spk_profile *p, int64_t lease)
{
	_cleanup_json_ struct spk_json *o = spk_json_new_object();
	int r = o ? 0 : -ENOMEM;

	if (r == 0) {
		r |= spk_json_add_string(o, "profile", p->name);
		r |= spk_json_add_int64(o, "lease", lease);
	}
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
	    spk_json_get_string(o, "profile", &p->name) < 0 ||
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
	p->store = strdup("etcd");
	return p->store ? 0 : -ENOMEM;
}

int spk_store_etcd_keeper_start(const struct spk_profile *p, int pipe_r, int local_fd,
				int64_t lease, pid_t *ret_pid, struct spk_error *err)
{
	_cleanup_free_ char *text = job_to_json(p, lease);
	char *argv[] = { (char *)"sparekey-worker", (char *)"--keeper", NULL };
	/* At KEEPER_PIPE_FD and KEEPER_FLOCK_FD. */
	const int fds[] = { pipe_r, local_fd };
	int sv[2], r;

	if (!text) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
	} else {
		r = spk_wire_spawn(argv, sv[1], fds, ARRAY_SIZE(fds), ret_pid);
		/* A socket's buffer holds the job: no wait on the keeper here. */
		r = r == 0 ? spk_wire_send(sv[0], text) : r;
		close(sv[0]);
		close(sv[1]);
	}
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, r,
				     "%s: cannot start the lease keeper, sparekey-worker (%s). "
				     "Reinstall sparekey",
				     p->name, strerror(-r));
	}
	return 0;
}

bool spk_store_etcd_inflight_pending(const struct spk_profile *p)
{
	struct spk_store_etcd_inflight rec;
	/* Cannot tell: say yes, so that nothing is spent on a guess. */
	int r = spk_store_etcd_inflight_of(p, &rec, NULL);
	return r != -ENOENT;
}

int spk_store_etcd_keeper_serve(void)
{
	_cleanup_secret_ char *text = NULL;
	struct spk_profile p = SPK_PROFILE_INIT;
	int64_t lease = 0;

	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Hold nothing of the caller's (a pipe a shell waits on) but the lock. */
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
	for (;;) {
		struct pollfd pfd = { .fd = KEEPER_PIPE_FD, .events = POLLIN };
		int n = poll(&pfd, 1, KEEPALIVE_MS);
		if (n > 0 || (n < 0 && errno != EINTR)) {
			break; /* every writer closed its end: released */
		}
		/* The machine cut off with its request sent: its lease is not renewed. */
		if (n == 0 && spk_fault("stop-after-send") && spk_store_etcd_inflight_pending(&p)) {
			continue;
		}
		if (n == 0 && spk_etcd_lease_keepalive(e, lease, NULL) == -ENOENT) {
			break; /* the lease is gone: nothing left to hold */
		}
	}
	(void)spk_etcd_lease_revoke(e, lease, NULL);
	spk_profile_done(&p);
	return 0;
}
