/*
 * The etcd guard's lease keeper (store-etcd.h): its job, and its side of
 * the protocol (the caller's is store-etcd-session.c).
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
 * SPK_STORE_ETCD_RELEASED and closing its end. When every copy of the
 * handle is closed, the keeper lets go of the flock, and first deletes the
 * key (if still at its revision) when no SPK_STORE_ETCD_RELEASED came: the
 * caller was killed, and the worker it handed the lock to is done. Then it closes "all done",
 * which the caller waits for, so that the lock is free when unlock
 * returns. When the caller's last lock is let go, it closes the
 * control socket; once the keeper holds no lock either, it revokes the
 * lease and exits. When the machine dies or is cut off, etcd lets the
 * lease expire, and with it the keys on it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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
#define KEEPER_CONTROL_FD 3 /* where spk_store_etcd_session (store-etcd-session.c) puts it */
#define KEEPER_FIRST_FREE_FD 4
#define KEEPER_MAX_LOCKS 512

/* ---- the job: the lease, and the etcd_* keys its connection needs */

/* The keys the keeper's connection needs: every etcd_* key (profile-keys.c). */
static bool is_etcd_key(const struct spk_profile_key *k)
{
	return k->type == KEY_STRING && strncmp(k->name, "etcd_", 5) == 0;
}

/* The cluster's settings as a job (store-etcd.h). */
char *spk_store_etcd_keeper_job(const struct spk_profile *p, int64_t lease)
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
				kept[i].released =
					kept[i].released || byte == SPK_STORE_ETCD_RELEASED;
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
