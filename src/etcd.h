/*
 * An etcd v3 client over its JSON gateway (/v3/kv/range, /v3/kv/txn,
 * /v3/lease/..., /v3/watch, /v3/auth/authenticate), through http.c and
 * json.c: no other dependency. Keys and values travel base64-encoded;
 * 64-bit numbers are JSON strings, as the gateway writes them.
 *
 * A connection (struct spk_etcd) is a profile's endpoints, TLS files and
 * credentials. Each call tries the endpoints in order, starting from the
 * one that answered last; an endpoint that refuses or cannot be reached
 * moves it to the next. The errors a call sets:
 *   none reachable                         SPK_ERR_UNAVAILABLE (69)
 *   a TLS failure (verification, …)        SPK_ERR_UNAVAILABLE, with curl's
 * reason no leader or quorum, no answer in time SPK_ERR_TEMPFAIL (75) bad
 * credentials, permission denied     SPK_ERR_CONFIG (78), naming user and key
 *   plain http to a non-loopback address   SPK_ERR_CONFIG, before any
 * connection Permission denied is also -EACCES, so a caller can tell a reader.
 *
 * The request builders and answer parsers (etcd-wire.c) are pure
 * functions, for the unit tests.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "profile.h"

#define SPK_ETCD_DEFAULT_PREFIX "/sparekey/"

struct spk_etcd;

/*
 * A connection for p's etcd_* keys (no request is sent): the endpoints
 * checked (https, or http to loopback), the password read from
 * etcd_password_file (yours, 0600, one line). SPK_ERR_CONFIG otherwise.
 */
int spk_etcd_open(const struct spk_profile *p, struct spk_etcd **ret, struct spk_error *err);
void spk_etcd_free(struct spk_etcd *e);
/* The endpoint that answered the last request, or NULL before any did. */
const char *spk_etcd_answered(const struct spk_etcd *e);
size_t spk_etcd_n_endpoints(const struct spk_etcd *e);
const char *spk_etcd_endpoint(const struct spk_etcd *e, size_t i);
/* Send the following requests to endpoint i only (doctor); SIZE_MAX for all. */
void spk_etcd_pin(struct spk_etcd *e, size_t i);

/* p's key KIND: PREFIX PROFILE/KIND, a new string (NULL on out-of-memory). */
char *spk_etcd_key(const struct spk_profile *p, const char *kind);

/* One key's value and revisions. */
struct spk_etcd_kv {
	char *value; /* NUL-terminated (a secret: spk_etcd_kv_done wipes it) */
	size_t len;
	int64_t mod_revision, create_revision, lease;
};
void spk_etcd_kv_done(struct spk_etcd_kv *kv);

/* A linearizable read of key: 0, or -ENOENT when it does not exist. */
int spk_etcd_get(struct spk_etcd *e, const char *key, struct spk_etcd_kv *ret,
		 struct spk_error *err);

/* A transaction: if every compare holds, the success ops, else the failure ops.
 */
enum spk_etcd_target { SPK_ETCD_MOD, SPK_ETCD_CREATE, SPK_ETCD_LEASE };
struct spk_etcd_cmp {
	const char *key;
	enum spk_etcd_target target;
	int64_t value; /* the revision (0: the key does not exist) or lease id */
};
struct spk_etcd_op {
	const char *key;
	const char *value; /* put; NULL: delete */
	int64_t lease;     /* put: its lease, or 0 */
};
/* *ret_succeeded: whether the compares held. */
int spk_etcd_txn(struct spk_etcd *e, const struct spk_etcd_cmp *cmps, size_t n_cmps,
		 const struct spk_etcd_op *ops, size_t n_ops, const struct spk_etcd_op *fail_ops,
		 size_t n_fail_ops, bool *ret_succeeded, struct spk_error *err);

/*
 * Put key = value on lease (0: none) only if key does not exist: 1 with
 * the revision of the put in *ret_revision, 0 when it exists.
 */
int spk_etcd_create(struct spk_etcd *e, const char *key, const char *value, int64_t lease,
		    int64_t *ret_revision, struct spk_error *err);
/* Delete key only if it is still at revision (its mod_revision): 1 if it went, else 0. */
int spk_etcd_delete_at(struct spk_etcd *e, const char *key, int64_t revision,
		       struct spk_error *err);

/* Leases: grant one of ttl seconds, renew it (-ENOENT when it is gone), revoke
 * it. */
int spk_etcd_lease_grant(struct spk_etcd *e, int64_t ttl, int64_t *ret_id, struct spk_error *err);
int spk_etcd_lease_keepalive(struct spk_etcd *e, int64_t id, struct spk_error *err);
int spk_etcd_lease_revoke(struct spk_etcd *e, int64_t id, struct spk_error *err);
/* Is lease id alive (its TTL > 0)? 1, 0, or negative on failure. */
int spk_etcd_lease_alive(struct spk_etcd *e, int64_t id, struct spk_error *err);

/*
 * Wait at most timeout_ms for a change (a put or a delete) of a key in
 * [key, range_end) (key alone: NULL) at start_revision or later: 0 when
 * one came (or had already), -ETIMEDOUT (no error set) when none did.
 */
int spk_etcd_watch(struct spk_etcd *e, const char *key, const char *range_end,
		   int64_t start_revision, long timeout_ms, struct spk_error *err);

/* Authenticate now (doctor): 0 also when no etcd_user is set. */
int spk_etcd_authenticate(struct spk_etcd *e, struct spk_error *err);
/* The answering member's view (doctor): 0 with *ret_leader nonzero when it has a leader. */
int spk_etcd_status(struct spk_etcd *e, int64_t *ret_leader, struct spk_error *err);

/* Pure: the JSON bodies. NULL on out-of-memory. */
char *spk_etcd_range_body(const char *key);
char *spk_etcd_txn_body(const struct spk_etcd_cmp *cmps, size_t n_cmps,
			const struct spk_etcd_op *ops, size_t n_ops,
			const struct spk_etcd_op *fail_ops, size_t n_fail_ops);
char *spk_etcd_auth_body(const char *user, const char *password);
/* A watch of [key, range_end) (of key alone when range_end is NULL) from start_revision on. */
char *spk_etcd_watch_body(const char *key, const char *range_end, int64_t start_revision);
/* {"MEMBER": value} (leases). */
char *spk_etcd_number_body(const char *member, int64_t value);

/* Pure: read answers. -EBADMSG when the answer is not etcd's. */
int spk_etcd_parse_range(const char *body, struct spk_etcd_kv *ret); /* -ENOENT: no key */
/* ret_revision (or NULL): the cluster's revision after it, the revision of its puts. */
int spk_etcd_parse_txn(const char *body, bool *ret_succeeded, int64_t *ret_revision);
int spk_etcd_parse_lease(const char *body, int64_t *ret_id, int64_t *ret_ttl);
int spk_etcd_parse_string(const char *body, const char *member, bool base64, char **ret);
/*
 * An error answer (HTTP status, body) as the error the header promises;
 * user and key only name things in the message.
 */
int spk_etcd_answer_error(long status, const char *body, const char *user, const char *key,
			  struct spk_error *err);
