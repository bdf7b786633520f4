/*
 * The worker's side of the detached exchange (worker.h): one job on stdin
 * with the lock on fd 3, or, for refresh --all, many jobs handed over with
 * their sockets and locks, a thread each. Each job: the in-flight record,
 * the request, the journal, the answer; and the store, if the caller is gone.
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "flow-internal.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "secret.h"
#include "store.h"
#include "worker-wire.h"

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
	_cleanup_json_ struct spk_json *o = NULL;
	_cleanup_free_ char *op = NULL, *name = NULL, *config_path = NULL;
	struct spk_config *cfg = NULL;
	struct spk_json *grant = NULL, *client = NULL;
	int64_t auth = SPK_CLIENT_AUTH_NONE;

	if (spk_json_parse(text, strlen(text), &o) < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -EBADMSG, "sparekey-worker: a bad job");
	}
	/* Either may be of another type: then it reads as none, and the job is refused below. */
	(void)spk_json_get_object(o, "grant", &grant);
	(void)spk_json_get_object(o, "client", &client);
	if (spk_json_get_string(o, "op", &op) < 0 || spk_json_get_string(o, "profile", &name) < 0 ||
	    !spk_json_has(o, "grant") || !spk_json_has(o, "client") ||
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
	int r = spk_store_inflight_write(p, j->grant.refresh_token, err);
	if (r < 0) {
		return r;
	}
	r = call_refresh(j, &fresh, err);
	spk_fault_kill("kill-worker-after-send");
	spk_fault_stop("stop-after-send");
	if (r == 0) {
		r = spk_flow_merge_journal(p, &j->grant, &fresh, &merged, err);
	}
	/*
	 * No answer came (or was lost twice), or it is in the journal now:
	 * nothing cut off on this machine. Not journaled, the record stays
	 * until it is stored; a record other machines see (and not this
	 * journal) stays until then too.
	 */
	if (r < 0 || (r > 0 && !spk_store_inflight_shared(p))) {
		(void)spk_store_inflight_remove(p);
	}
	if (r > 0) {
		spk_fault_stop("stop-after-journal");
	}
	if (r < 0) {
		return r;
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
		(void)spk_store_journal_remove(p, NULL);
		(void)spk_store_inflight_remove(p);
		return;
	}
	if (spk_store_save(p, merged, NULL) == 0) {
		(void)spk_store_journal_remove(p, NULL);
		(void)spk_store_inflight_remove(p);
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

	int r = spk_wire_receive(sock, SPK_WIRE_JOB_WAIT_MS, &text);
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
	answer = spk_wire_answer_to_json(r == 0 && j.op == SPK_WORKER_REFRESH ? &merged : NULL,
					 r == 0 ? &(struct spk_error){ 0 } : &err);
	int sent = answer ? spk_wire_send(sock, answer) : -ENOMEM;
	if (stored_later) {
		char b = 0;
		if (sent < 0 || spk_wire_read_all(sock, &b, 1, SPK_WIRE_SETTLE_WAIT_MS) < 0 ||
		    b != SPK_WIRE_SETTLED) {
			spk_log("worker %s: the caller is gone; storing the answer",
				j.profile.name);
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
	for (size_t i = 0; i < spk_wire_n_shielded; i++) {
		signal(spk_wire_shielded_signals[i], SIG_IGN);
		sigaddset(&shielded, spk_wire_shielded_signals[i]);
	}
	sigprocmask(SIG_UNBLOCK, &shielded, NULL);
}

int spk_worker_serve(void)
{
	shield();
	/* Only stdin (the caller), stdout, stderr and the lock. */
	(void)close_range(SPK_WIRE_LOCK_FD + 1, ~0U, 0);
	return serve_job(0, SPK_WIRE_LOCK_FD);
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
	int r = spk_wire_receive_job_fds(control, &ret->sock, &ret->lock_fd);
	return r == -EPIPE ? 0 : r < 0 ? r : 1;
}

int spk_worker_serve_many(void)
{
	pthread_t *threads = NULL;
	size_t n = 0;
	struct job_fds f;
	int r;

	shield();
	(void)close_range(STDERR_FILENO + 1, ~0U, 0);
	/*
	 * libcurl's loading and global init are not thread-safe: done once,
	 * here, before any job's thread. Should it fail, the jobs run one
	 * after another, each reporting the failure to its caller.
	 */
	struct spk_error curl_err = { 0 };
	bool threaded = spk_http_open(&curl_err) == 0;
	while ((r = next_job(0, &f)) != 0) {
		if (r < 0) {
			continue;
		}
		struct job_fds *arg = malloc(sizeof(*arg));
		if (arg && !threaded) {
			*arg = f;
			job_thread(arg);
			continue;
		}
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
