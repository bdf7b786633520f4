#include "etcd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "secret.h"

#define MAX_ENDPOINTS 16
#define PASSWORD_MAX 4096
#define CALL_TIMEOUT_MS 5000L
#define CONNECT_TIMEOUT_MS 2000L

struct spk_etcd {
	char *endpoints[MAX_ENDPOINTS];
	size_t n, current, pinned;
	bool answered;
	const char *cacert, *cert, *key; /* borrowed from the profile */
	const char *user;
	char *password;             /* a secret */
	char *token;                /* a secret: the auth token */
	struct spk_http_keep *keep; /* the members' connections, kept between calls */
};

static void endpoints_free(struct spk_etcd *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->endpoints[i]);
	}
}

void spk_etcd_free(struct spk_etcd *e)
{
	if (!e) {
		return;
	}
	endpoints_free(e);
	spk_http_keep_free(e->keep);
	spk_secret_free(e->password);
	spk_secret_free(e->token);
	free(e);
}

static int read_password(const struct spk_profile *p, char **ret, struct spk_error *err)
{
	const char *path = p->etcd_password_file;
	char *pw = NULL;
	int r = spk_file_read_private(path, PASSWORD_MAX, &pw);

	if (r == -ENOENT) {
		return spk_error_set(err, SPK_ERR_CONFIG, r,
				     "%s: etcd_password_file %s does not exist", p->name, path);
	}
	if (r == -EPERM || r == -EACCES) {
		return spk_error_set(err, SPK_ERR_CONFIG, r,
				     "%s: etcd_password_file %s must be a file of yours, mode 0600 "
				     "(chmod 600 %s)",
				     p->name, path, path);
	}
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_CONFIG, r,
				     "%s: cannot read etcd_password_file %s", p->name, path);
	}
	size_t len = strlen(pw);
	if (len > 0 && pw[len - 1] == '\n') {
		pw[--len] = '\0';
	}
	if (len > 0 && pw[len - 1] == '\r') {
		pw[--len] = '\0';
	}
	if (len == 0 || strchr(pw, '\n')) {
		spk_secret_free(pw);
		return spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				     "%s: etcd_password_file %s must hold the password on one line",
				     p->name, path);
	}
	*ret = pw;
	return 0;
}

int spk_etcd_open(const struct spk_profile *p, struct spk_etcd **ret, struct spk_error *err)
{
	struct spk_etcd *e = calloc(1, sizeof(*e));
	int r = 0;

	if (!e) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	e->pinned = SIZE_MAX;
	if (!(e->keep = spk_http_keep_new())) {
		free(e);
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	e->cacert = p->etcd_cacert;
	e->cert = p->etcd_cert;
	e->key = p->etcd_key;
	e->user = p->etcd_user;
	const char *list = p->etcd_endpoints ? p->etcd_endpoints : "";
	while (*list) {
		size_t skip = strspn(list, " \t,"), len;
		list += skip;
		len = strcspn(list, " \t,");
		if (len == 0) {
			break;
		}
		if (e->n == MAX_ENDPOINTS) {
			r = spk_error_set(err, SPK_ERR_CONFIG, -E2BIG,
					  "%s: etcd_endpoints lists more than %d URLs", p->name,
					  MAX_ENDPOINTS);
			goto out;
		}
		/* Without a trailing slash: the paths are appended. */
		while (len > 0 && list[len - 1] == '/') {
			len--;
		}
		if (!(e->endpoints[e->n] = strndup(list, len))) {
			r = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
			goto out;
		}
		r = spk_http_check_url("etcd_endpoints", e->endpoints[e->n++], err);
		if (r < 0) {
			goto out;
		}
		list += strcspn(list, " \t,");
	}
	if (e->n == 0) {
		r = spk_error_set(
			err, SPK_ERR_CONFIG, -EINVAL,
			"%s: store = etcd needs etcd_endpoints (URLs separated by spaces)",
			p->name);
		goto out;
	}
	if (!!p->etcd_user != !!p->etcd_password_file) {
		r = spk_error_set(
			err, SPK_ERR_CONFIG, -EINVAL,
			"%s: etcd_user and etcd_password_file go together: set both or neither",
			p->name);
		goto out;
	}
	if (p->etcd_password_file) {
		r = read_password(p, &e->password, err);
	}
out:
	if (r < 0) {
		spk_etcd_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

const char *spk_etcd_answered(const struct spk_etcd *e)
{
	return e->answered ? e->endpoints[e->current] : NULL;
}

size_t spk_etcd_n_endpoints(const struct spk_etcd *e)
{
	return e->n;
}

const char *spk_etcd_endpoint(const struct spk_etcd *e, size_t i)
{
	return i < e->n ? e->endpoints[i] : NULL;
}

void spk_etcd_pin(struct spk_etcd *e, size_t i)
{
	e->pinned = i < e->n ? i : SIZE_MAX;
	e->answered = false;
	spk_secret_free(e->token);
	e->token = NULL;
}

static int send_one(struct spk_etcd *e, size_t i, const char *path, const char *body,
		    long timeout_ms, const char *until, bool auth, struct spk_http_response *resp,
		    struct spk_error *err)
{
	_cleanup_free_ char *url = NULL;

	if (asprintf(&url, "%s%s", e->endpoints[i], path) < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	struct spk_http_request req = {
		.url = url,
		.json = body,
		.authorization = auth ? e->token : NULL,
		.cacert = e->cacert,
		.cert = e->cert,
		.key = e->key,
		.timeout_ms = timeout_ms > 0 ? timeout_ms : CALL_TIMEOUT_MS,
		.connect_timeout_ms = CONNECT_TIMEOUT_MS,
		.until = until,
		.keep = e->keep,
	};
	return spk_http_send(&req, resp, err);
}

/* The gateway's answer to an auth token it no longer knows (a restart, a new
 * leader). */
static bool token_refused(const struct spk_http_response *resp)
{
	return resp->status != 200 && resp->body && strstr(resp->body, "invalid auth token");
}

static int call_until(struct spk_etcd *e, const char *path, const char *body, long timeout_ms,
		      const char *until, const char *key, char **ret_body, struct spk_error *err);

static int call(struct spk_etcd *e, const char *path, const char *body, long timeout_ms,
		const char *key, char **ret_body, struct spk_error *err)
{
	return call_until(e, path, body, timeout_ms, NULL, key, ret_body, err);
}

static int authenticate(struct spk_etcd *e, struct spk_error *err)
{
	_cleanup_secret_ char *body = spk_etcd_auth_body(e->user, e->password), *answer = NULL;

	if (!body) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	int r = call(e, "/v3/auth/authenticate", body, 0, NULL, &answer, err);
	if (r < 0) {
		return r;
	}
	if (spk_etcd_parse_string(answer, "token", false, &e->token) < 0) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				     "etcd's answer to authentication is not understood");
	}
	return 0;
}

/*
 * POST body to path on the first endpoint that answers: 0 with the answer
 * of an HTTP 200 in *ret_body (of a stream, as far as until: http.h),
 * else the error the header promises.
 */
static int call_until(struct spk_etcd *e, const char *path, const char *body, long timeout_ms,
		      const char *until, const char *key, char **ret_body, struct spk_error *err)
{
	bool auth = strcmp(path, "/v3/auth/authenticate") != 0 && e->user;
	struct spk_error last = { 0 };
	size_t tries = e->pinned == SIZE_MAX ? e->n : 1;

	if (auth && !e->token) {
		int r = authenticate(e, err);
		if (r < 0) {
			return r;
		}
	}
	for (size_t t = 0; t < tries; t++) {
		size_t i = e->pinned == SIZE_MAX ? (e->current + t) % e->n : e->pinned;
		struct spk_http_response resp = { .retry_after = -1 };
		struct spk_error one = { 0 };
		int r = send_one(e, i, path, body, timeout_ms, until, auth, &resp, &one);
		if (r < 0) {
			if (one.kind != SPK_ERR_UNAVAILABLE) {
				/* Sent, and no answer in time: the cluster may be electing. */
				return spk_error_set(err, one.kind, r, "%s", one.msg);
			}
			spk_log("etcd %s: %s", e->endpoints[i], one.msg);
			if ((one.code == -ECONNRESET || strstr(one.msg, "certificate required")) &&
			    !e->cert && strncasecmp(e->endpoints[i], "https:", 6) == 0) {
				/* A TLS server that wants a client certificate hangs up so. */
				char was[sizeof(one.msg)];
				snprintf(was, sizeof(was), "%s", one.msg);
				snprintf(one.msg, sizeof(one.msg),
					 "%.120s: the TLS handshake was cut off; the cluster may "
					 "want a "
					 "client certificate (set etcd_cert and etcd_key)",
					 was);
				one.code = -EPROTO;
			}
			if (last.kind == SPK_ERR_NONE || one.code == -EPROTO) {
				last = one;
			}
			continue;
		}
		e->current = i;
		e->answered = true;
		if (auth && token_refused(&resp)) {
			spk_http_response_done(&resp);
			spk_secret_free(e->token);
			e->token = NULL;
			r = authenticate(e, err);
			if (r < 0) {
				return r;
			}
			r = send_one(e, i, path, body, timeout_ms, until, auth, &resp, err);
			if (r < 0) {
				return r;
			}
		}
		if (resp.status == 200) {
			*ret_body = TAKE_PTR(resp.body);
			spk_http_response_done(&resp);
			return 0;
		}
		r = spk_etcd_answer_error(resp.status, resp.body, e->user, key, &one);
		spk_http_response_done(&resp);
		if (one.kind == SPK_ERR_TEMPFAIL && t + 1 < tries) {
			/* This member has no leader: another may. */
			last = one;
			continue;
		}
		return spk_error_set(err, one.kind, r, "%s", one.msg);
	}
	if (e->pinned != SIZE_MAX) {
		return spk_error_set(err, last.kind, last.code, "%s: %s", e->endpoints[e->pinned],
				     last.msg);
	}
	if (last.kind == SPK_ERR_TEMPFAIL) {
		return spk_error_set(err, last.kind, last.code, "%s", last.msg);
	}
	if (last.code == -EPROTO) {
		return spk_error_set(err, SPK_ERR_UNAVAILABLE, last.code, "etcd: %s", last.msg);
	}
	return spk_error_set(err, SPK_ERR_UNAVAILABLE, last.code ? last.code : -ECONNREFUSED,
			     "no etcd endpoint could be reached (%s). Check etcd_endpoints and "
			     "that the cluster runs",
			     last.msg[0] ? last.msg : "none listed");
}

int spk_etcd_get(struct spk_etcd *e, const char *key, struct spk_etcd_kv *ret,
		 struct spk_error *err)
{
	_cleanup_secret_ char *body = spk_etcd_range_body(key), *answer = NULL;

	if (!body) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	int r = call(e, "/v3/kv/range", body, 0, key, &answer, err);
	if (r < 0) {
		return r;
	}
	r = spk_etcd_parse_range(answer, ret);
	if (r == -EBADMSG) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, r,
				     "etcd's answer for %s is not understood", key);
	}
	return r;
}

/* A transaction; ret_revision (or NULL): the cluster's revision after it, that of its puts. */
static int txn_at(struct spk_etcd *e, const struct spk_etcd_cmp *cmps, size_t n_cmps,
		  const struct spk_etcd_op *ops, size_t n_ops, const struct spk_etcd_op *fail_ops,
		  size_t n_fail_ops, bool *ret_succeeded, int64_t *ret_revision,
		  struct spk_error *err)
{
	_cleanup_secret_ char *body =
		spk_etcd_txn_body(cmps, n_cmps, ops, n_ops, fail_ops, n_fail_ops);
	_cleanup_secret_ char *answer = NULL;

	if (!body) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	int r = call(e, "/v3/kv/txn", body, 0, n_ops ? ops[0].key : NULL, &answer, err);
	if (r < 0) {
		return r;
	}
	if (spk_etcd_parse_txn(answer, ret_succeeded, ret_revision) < 0) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				     "etcd's answer to a transaction is not understood");
	}
	return 0;
}

int spk_etcd_txn(struct spk_etcd *e, const struct spk_etcd_cmp *cmps, size_t n_cmps,
		 const struct spk_etcd_op *ops, size_t n_ops, const struct spk_etcd_op *fail_ops,
		 size_t n_fail_ops, bool *ret_succeeded, struct spk_error *err)
{
	return txn_at(e, cmps, n_cmps, ops, n_ops, fail_ops, n_fail_ops, ret_succeeded, NULL, err);
}

int spk_etcd_create(struct spk_etcd *e, const char *key, const char *value, int64_t lease,
		    int64_t *ret_revision, struct spk_error *err)
{
	struct spk_etcd_cmp absent = { key, SPK_ETCD_CREATE, 0 };
	struct spk_etcd_op put = { key, value, lease };
	bool made = false;
	int r = txn_at(e, &absent, 1, &put, 1, NULL, 0, &made, ret_revision, err);

	return r < 0 ? r : made ? 1 : 0;
}

int spk_etcd_delete_at(struct spk_etcd *e, const char *key, int64_t revision, struct spk_error *err)
{
	struct spk_etcd_cmp still = { key, SPK_ETCD_MOD, revision };
	struct spk_etcd_op drop = { key, NULL, 0 };
	bool gone = false;
	int r = txn_at(e, &still, 1, &drop, 1, NULL, 0, &gone, NULL, err);

	return r < 0 ? r : gone ? 1 : 0;
}

static int lease_call(struct spk_etcd *e, const char *path, const char *member, int64_t value,
		      int64_t *ret_id, int64_t *ret_ttl, struct spk_error *err)
{
	_cleanup_free_ char *body = spk_etcd_number_body(member, value), *answer = NULL;
	int64_t id = 0, ttl = 0;

	if (!body) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	int r = call(e, path, body, 0, NULL, &answer, err);
	if (r < 0) {
		return r;
	}
	if (ret_id && spk_etcd_parse_lease(answer, &id, &ttl) < 0) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				     "etcd's answer about a lease is not understood");
	}
	if (ret_id) {
		*ret_id = id;
		*ret_ttl = ttl;
	}
	return 0;
}

int spk_etcd_lease_grant(struct spk_etcd *e, int64_t ttl, int64_t *ret_id, struct spk_error *err)
{
	int64_t got_ttl;
	return lease_call(e, "/v3/lease/grant", "TTL", ttl, ret_id, &got_ttl, err);
}

int spk_etcd_lease_keepalive(struct spk_etcd *e, int64_t id, struct spk_error *err)
{
	int64_t got_id = 0, ttl = 0;
	int r = lease_call(e, "/v3/lease/keepalive", "ID", id, &got_id, &ttl, err);
	return r < 0 ? r : ttl > 0 ? 0 : -ENOENT;
}

int spk_etcd_lease_revoke(struct spk_etcd *e, int64_t id, struct spk_error *err)
{
	return lease_call(e, "/v3/lease/revoke", "ID", id, NULL, NULL, err);
}

int spk_etcd_lease_alive(struct spk_etcd *e, int64_t id, struct spk_error *err)
{
	int64_t got_id = 0, ttl = 0;
	int r = lease_call(e, "/v3/lease/timetolive", "ID", id, &got_id, &ttl, err);
	return r < 0 ? r : ttl > 0;
}

int spk_etcd_watch(struct spk_etcd *e, const char *key, const char *range_end,
		   int64_t start_revision, long timeout_ms, struct spk_error *err)
{
	_cleanup_free_ char *body = spk_etcd_watch_body(key, range_end, start_revision);
	_cleanup_secret_ char *answer = NULL; /* the events hold the values */
	struct spk_error one = { 0 };

	if (!body) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	/* The first message says the watch was made; a change comes as "events". */
	int r = call_until(e, "/v3/watch", body, timeout_ms, "\"events\"", key, &answer, &one);
	if (r == SPK_HTTP_ANSWER_LOST) {
		return -ETIMEDOUT; /* no change when the bound came */
	}
	if (r < 0) {
		return spk_error_set(err, one.kind, r, "%s", one.msg);
	}
	return strstr(answer, "\"events\"") ? 0 : -ETIMEDOUT;
}

int spk_etcd_authenticate(struct spk_etcd *e, struct spk_error *err)
{
	if (!e->user) {
		return 0;
	}
	spk_secret_free(e->token);
	e->token = NULL;
	return authenticate(e, err);
}

int spk_etcd_status(struct spk_etcd *e, int64_t *ret_leader, struct spk_error *err)
{
	_cleanup_free_ char *answer = NULL;
	_cleanup_json_ struct spk_json *j = NULL;
	int64_t leader = 0;
	int r = call(e, "/v3/maintenance/status", "{}", 0, NULL, &answer, err);

	if (r < 0) {
		return r;
	}
	if (spk_json_parse_object(answer, strlen(answer), &j) < 0 || !spk_json_has(j, "header")) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EBADMSG,
				     "etcd's answer about its status is not understood");
	}
	/* A uint64 member id, as a decimal string: "0" (or none) is no leader. */
	_cleanup_free_ char *id = NULL;
	if (spk_json_get_string(j, "leader", &id) == 0) {
		leader = strcmp(id, "0") != 0;
	} else {
		(void)spk_json_get_int64(j, "leader", &leader);
	}
	*ret_leader = leader;
	return 0;
}
