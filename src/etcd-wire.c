/*
 * etcd's JSON gateway on the wire (etcd.h): the request bodies and the
 * answers, pure functions for the unit tests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "json.h"
#include "secret.h"

char *spk_etcd_key(const struct spk_profile *p, const char *kind)
{
	const char *prefix = p->etcd_prefix ? p->etcd_prefix : SPK_ETCD_DEFAULT_PREFIX;
	char *key = NULL;

	return asprintf(&key, "%s%s/%s", prefix, p->name, kind) < 0 ? NULL : key;
}

void spk_etcd_kv_done(struct spk_etcd_kv *kv)
{
	if (kv->value) {
		spk_wipe(kv->value, kv->len);
		free(kv->value);
	}
	*kv = (struct spk_etcd_kv){ 0 };
}

/* Standard base64 (the gateway's), padding optional: a new NUL-terminated
 * buffer. */
static int base64_decode(const char *in, char **ret, size_t *ret_len)
{
	size_t len = strlen(in);
	_cleanup_secret_ char *url = malloc(len + 1);

	if (!url) {
		return -ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < len && in[i] != '='; i++) {
		url[n++] = in[i] == '+' ? '-' : in[i] == '/' ? '_' : in[i];
	}
	url[n] = '\0';
	return spk_base64url_decode(url, ret, ret_len);
}

static int add_b64(struct spk_json *obj, const char *member, const char *value)
{
	_cleanup_secret_ char *b = spk_base64(value, strlen(value));
	return b ? spk_json_add_string(obj, member, b) : -ENOMEM;
}

/* Render obj (taken) as text holding secrets; NULL on out-of-memory. */
static char *dump(struct spk_json *obj, int r)
{
	char *text = r >= 0 && obj ? spk_json_dump(obj) : NULL;
	spk_json_free(obj);
	return text;
}

char *spk_etcd_range_body(const char *key)
{
	struct spk_json *o = spk_json_new_object();
	return dump(o, o ? add_b64(o, "key", key) : -ENOMEM);
}

char *spk_etcd_auth_body(const char *user, const char *password)
{
	struct spk_json *o = spk_json_new_object();
	int r = o ? spk_json_add_string(o, "name", user) : -ENOMEM;
	if (r >= 0) {
		r = spk_json_add_string(o, "password", password);
	}
	return dump(o, r);
}

static const char *const target_names[] = { "MOD", "CREATE", "LEASE" };
static const char *const target_members[] = { "mod_revision", "create_revision", "lease" };

static struct spk_json *compares(const struct spk_etcd_cmp *cmps, size_t n)
{
	struct spk_json *a = spk_json_new_array();

	for (size_t i = 0; a && i < n; i++) {
		struct spk_json *c = spk_json_new_object();
		int r = c ? add_b64(c, "key", cmps[i].key) : -ENOMEM;
		if (r >= 0) {
			r = spk_json_add_string(c, "result", "EQUAL");
		}
		if (r >= 0) {
			r = spk_json_add_string(c, "target", target_names[cmps[i].target]);
		}
		if (r >= 0) {
			r = spk_json_add_int64(c, target_members[cmps[i].target], cmps[i].value);
		}
		if (r < 0 || spk_json_append(a, c) < 0) {
			spk_json_free(r < 0 ? c : NULL);
			spk_json_free(a);
			return NULL;
		}
	}
	return a;
}

static struct spk_json *request_ops(const struct spk_etcd_op *ops, size_t n)
{
	struct spk_json *a = spk_json_new_array();

	for (size_t i = 0; a && i < n; i++) {
		struct spk_json *req = spk_json_new_object(), *op = spk_json_new_object();
		int r = req && op ? add_b64(req, "key", ops[i].key) : -ENOMEM;
		if (r >= 0 && ops[i].value) {
			r = add_b64(req, "value", ops[i].value);
			if (r >= 0 && ops[i].lease) {
				r = spk_json_add_int64(req, "lease", ops[i].lease);
			}
		}
		if (r >= 0) {
			r = spk_json_add(op, ops[i].value ? "request_put" : "request_delete_range",
					 TAKE_PTR(req));
		}
		if (r < 0 || spk_json_append(a, TAKE_PTR(op)) < 0) {
			spk_json_free(req);
			spk_json_free(op);
			spk_json_free(a);
			return NULL;
		}
	}
	return a;
}

char *spk_etcd_txn_body(const struct spk_etcd_cmp *cmps, size_t n_cmps,
			const struct spk_etcd_op *ops, size_t n_ops,
			const struct spk_etcd_op *fail_ops, size_t n_fail_ops)
{
	struct spk_json *o = spk_json_new_object();
	int r = o ? spk_json_add(o, "compare", compares(cmps, n_cmps)) : -ENOMEM;

	if (r >= 0) {
		r = spk_json_add(o, "success", request_ops(ops, n_ops));
	}
	if (r >= 0) {
		r = spk_json_add(o, "failure", request_ops(fail_ops, n_fail_ops));
	}
	return dump(o, r);
}

static int parse(const char *body, struct spk_json **ret)
{
	return spk_json_parse_object(body, strlen(body), ret);
}

int spk_etcd_parse_range(const char *body, struct spk_etcd_kv *ret)
{
	_cleanup_json_ struct spk_json *j = NULL;
	struct spk_json *kvs = NULL;
	_cleanup_free_ char *b64 = NULL;
	struct spk_etcd_kv kv = { 0 };

	if (parse(body, &j) < 0 || !spk_json_has(j, "header")) {
		return -EBADMSG;
	}
	int r = spk_json_get_array(j, "kvs", &kvs);
	if (r == -ENOENT || (r == 0 && spk_json_len(kvs) == 0)) {
		return -ENOENT;
	}
	struct spk_json *first = r == 0 ? spk_json_at(kvs, 0) : NULL;
	if (!first) {
		return -EBADMSG;
	}
	r = spk_json_get_string(first, "value", &b64);
	if (r == -ENOENT) {
		b64 = strdup("");
	} else if (r < 0) {
		return -EBADMSG;
	}
	if (!b64) {
		return -ENOMEM;
	}
	r = base64_decode(b64, &kv.value, &kv.len);
	spk_wipe(b64, strlen(b64));
	if (r < 0) {
		return r == -ENOMEM ? r : -EBADMSG;
	}
	(void)spk_json_get_int64(first, "mod_revision", &kv.mod_revision);
	(void)spk_json_get_int64(first, "create_revision", &kv.create_revision);
	(void)spk_json_get_int64(first, "lease", &kv.lease);
	*ret = kv;
	return 0;
}

int spk_etcd_parse_txn(const char *body, bool *ret_succeeded, int64_t *ret_revision)
{
	_cleanup_json_ struct spk_json *j = NULL;
	struct spk_json *header = NULL;
	bool ok = false;

	if (parse(body, &j) < 0 || spk_json_get_object(j, "header", &header) < 0) {
		return -EBADMSG;
	}
	if (ret_revision && spk_json_get_int64(header, "revision", ret_revision) < 0) {
		return -EBADMSG;
	}
	/* The gateway leaves out a false "succeeded". */
	int r = spk_json_get_bool(j, "succeeded", &ok);
	if (r < 0 && r != -ENOENT) {
		return -EBADMSG;
	}
	*ret_succeeded = ok;
	return 0;
}

int spk_etcd_parse_lease(const char *body, int64_t *ret_id, int64_t *ret_ttl)
{
	_cleanup_json_ struct spk_json *j = NULL;
	struct spk_json *result = NULL;
	int64_t id = 0, ttl = 0;

	if (parse(body, &j) < 0) {
		return -EBADMSG;
	}
	/* keepalive is a stream: its one answer comes as {"result": {...}}. */
	struct spk_json *o = spk_json_get_object(j, "result", &result) == 0 ? result : j;
	if (!spk_json_has(o, "header")) {
		return -EBADMSG;
	}
	if (spk_json_get_int64(o, "ID", &id) < 0) {
		return -EBADMSG;
	}
	(void)spk_json_get_int64(o, "TTL", &ttl);
	*ret_id = id;
	*ret_ttl = ttl;
	return 0;
}

int spk_etcd_parse_string(const char *body, const char *member, bool base64, char **ret)
{
	_cleanup_json_ struct spk_json *j = NULL;
	_cleanup_secret_ char *s = NULL;
	size_t len;

	if (parse(body, &j) < 0 || spk_json_get_string(j, member, &s) < 0) {
		return -EBADMSG;
	}
	if (!base64) {
		*ret = TAKE_PTR(s);
		return 0;
	}
	return base64_decode(s, ret, &len) < 0 ? -EBADMSG : 0;
}

static bool has(const char *s, const char *part)
{
	return s && strstr(s, part);
}

int spk_etcd_answer_error(long status, const char *body, const char *user, const char *key,
			  struct spk_error *err)
{
	_cleanup_json_ struct spk_json *j = NULL;
	_cleanup_free_ char *msg = NULL;
	int64_t code = -1;
	const char *who = user ? user : "(no etcd_user)";

	if (body && parse(body, &j) == 0) {
		(void)spk_json_get_int64(j, "code", &code);
		if (spk_json_get_string(j, "message", &msg) < 0) {
			(void)spk_json_get_string(j, "error", &msg);
		}
	}
	const char *m = msg ? msg : "";
	if (has(m, "CommonName") || has(body, "CommonName")) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, -EACCES,
			"etcd refused the client certificate because it has a CommonName: "
			"use a certificate without a CommonName (etcd_cert)");
	}
	if (code == 7 || has(m, "permission denied")) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, -EACCES,
			"etcd user %s may not access %s (permission denied): grant its "
			"role that key",
			who, key ? key : "the key");
	}
	if (has(m, "authentication failed") || has(m, "invalid user") ||
	    has(m, "user name is empty") || has(m, "invalid auth token") || code == 16) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EACCES,
				     "etcd refused user %s (%.80s): check etcd_user and "
				     "etcd_password_file",
				     who, m);
	}
	if (code == 14 || code == 4 || has(m, "no leader") || has(m, "leader changed") ||
	    has(m, "timed out") || has(m, "too many requests") || status >= 500) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EAGAIN,
				     "the etcd cluster cannot answer now (%.80s). Try again later",
				     *m ? m : "no leader");
	}
	return spk_error_set(err, SPK_ERR_TEMPFAIL, -EPROTO, "etcd answered HTTP %ld (%.80s)",
			     status, *m ? m : "no message");
}
char *spk_etcd_watch_body(const char *key, const char *range_end, int64_t start_revision)
{
	struct spk_json *o = spk_json_new_object(), *c = spk_json_new_object();
	int r = o && c ? add_b64(c, "key", key) : -ENOMEM;
	if (r >= 0 && range_end) {
		r = add_b64(c, "range_end", range_end);
	}
	if (r >= 0) {
		r = spk_json_add_int64(c, "start_revision", start_revision);
	}
	if (r >= 0) {
		r = spk_json_add(o, "create_request", c);
		c = NULL;
	}
	spk_json_free(c);
	return dump(o, r);
}

char *spk_etcd_number_body(const char *member, int64_t value)
{
	struct spk_json *o = spk_json_new_object();
	return dump(o, o ? spk_json_add_int64(o, member, value) : -ENOMEM);
}
