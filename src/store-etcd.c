/*
 * The etcd backend (store = etcd): a profile's items in an etcd v3 cluster
 * that many machines share (the key layout is in store-etcd.h). Its guard
 * is in store-etcd-guard.c.
 */
#include "store-etcd.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "file.h"
#include "grant.h"
#include "json.h"
#include "log.h"
#include "paths.h"
#include "secret.h"
#include "store-check.h"
#include "store.h"

#define MAX_PROFILES 256
#define HOLDER_ID_FILE "etcd-holder-id"

/* What this process knows of each profile it used. */
static struct known {
	char *name;
	struct spk_etcd *conn;
	bool reader;
	int64_t grant_revision;
} known[MAX_PROFILES];

/* refresh --all runs a thread per profile: the table is shared, each row is its profile's. */
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;

static struct known *known_of(const struct spk_profile *p)
{
	struct known *k = NULL;

	pthread_mutex_lock(&known_lock);
	for (size_t i = 0; i < MAX_PROFILES && !k; i++) {
		if (!known[i].name) {
			known[i].name = strdup(p->name);
			k = known[i].name ? &known[i] : NULL;
			break;
		}
		if (strcmp(known[i].name, p->name) == 0) {
			k = &known[i];
		}
	}
	pthread_mutex_unlock(&known_lock);
	return k;
}

struct spk_etcd *spk_store_etcd_conn(const struct spk_profile *p, struct spk_error *err)
{
	struct known *k = known_of(p);

	if (!k) {
		spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
		return NULL;
	}
	if (!k->conn && spk_etcd_open(p, &k->conn, err) < 0) {
		return NULL;
	}
	return k->conn;
}

bool spk_store_etcd_is_reader(const struct spk_profile *p)
{
	struct known *k = known_of(p);
	return k && k->reader;
}

int64_t spk_store_etcd_grant_revision(const struct spk_profile *p)
{
	struct known *k = known_of(p);
	return k ? k->grant_revision : 0;
}

int spk_store_etcd_holder_id(char ret[33], struct spk_error *err)
{
	_cleanup_free_ char *dir = spk_path_state_dir(), *path = NULL;
	_cleanup_free_ char *id = NULL;

	if (!dir || asprintf(&path, "%s/%s", dir, HOLDER_ID_FILE) < 0) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, -ENOENT,
			"no state directory for this machine's etcd holder id: set HOME");
	}
	int r = spk_file_read_private(path, 64, &id);
	if (r == -ENOENT) {
		_cleanup_free_ char *made = NULL;
		r = spk_random_token(16, &made);
		if (r == 0) {
			r = spk_file_mkdir_private(dir);
		}
		if (r == 0) {
			r = spk_file_publish_private(dir, HOLDER_ID_FILE, made, strlen(made));
		}
		if (r == 0) {
			/* Whoever published first wins: read it back. */
			r = spk_file_read_private(path, 64, &id);
		}
	}
	if (r < 0 || strlen(id) == 0 || strlen(id) > 32) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, r < 0 ? r : -EINVAL,
			"cannot read this machine's etcd holder id %s: it must be yours, "
			"mode 0600 (remove it to make a new one)",
			path);
	}
	snprintf(ret, 33, "%s", id);
	return 0;
}

int spk_store_etcd_inflight_of(const struct spk_profile *p, struct spk_store_etcd_inflight *ret,
			       struct spk_error *err)
{
	_cleanup_free_ char *key = spk_etcd_key(p, "inflight"), *holder = NULL, *sha = NULL;
	_cleanup_json_ struct spk_json *j = NULL;
	struct spk_etcd_kv kv = { 0 };
	struct spk_etcd *e = spk_store_etcd_conn(p, err);

	if (!e) {
		return -EIO;
	}
	int r = key ? spk_etcd_get(e, key, &kv, err) : -ENOMEM;
	if (r < 0) {
		return r;
	}
	if (spk_json_parse_object(kv.value, kv.len, &j) == 0) {
		(void)spk_json_get_string(j, "holder", &holder);
		(void)spk_json_get_string(j, "token_sha256", &sha);
	}
	snprintf(ret->holder, sizeof(ret->holder), "%s", holder ? holder : "");
	snprintf(ret->token_sha256, sizeof(ret->token_sha256), "%s", sha ? sha : "");
	ret->revision = kv.mod_revision;
	spk_etcd_kv_done(&kv);
	return 0;
}

/* The access document as a grant with no refresh token: what a reader may see. */
static int grant_of_access(const struct spk_etcd_kv *kv, char **ret)
{
	_cleanup_json_ struct spk_json *j = NULL;
	struct spk_grant g = { 0 };

	if (spk_json_parse_object(kv->value, kv->len, &j) < 0 ||
	    spk_json_get_string(j, "access_token", &g.access_token) < 0) {
		return -EBADMSG;
	}
	(void)spk_json_get_int64(j, "expires_at", &g.expires_at);
	(void)spk_json_get_string(j, "token_type", &g.token_type);
	(void)spk_json_get_string(j, "scope", &g.scope);
	(void)spk_json_get_string(j, "tenant_id", &g.tenant_id);
	int r = spk_grant_to_json(&g, ret);
	spk_grant_done(&g);
	return r;
}

static int etcd_load(const struct spk_profile *p, const char *kind, char **ret_value,
		     struct spk_error *err)
{
	_cleanup_free_ char *key = spk_etcd_key(p, kind);
	struct spk_etcd *e = spk_store_etcd_conn(p, err);
	struct spk_etcd_kv kv = { 0 };
	struct spk_error get_err = { 0 };
	struct known *k = known_of(p);

	if (!e) {
		return -EIO;
	}
	if (!key || !k) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	int r = spk_etcd_get(e, key, &kv, &get_err);
	if (r == -EACCES && strcmp(kind, "grant") == 0) {
		/* A reader: its machine may read the access token only. */
		_cleanup_free_ char *access = spk_etcd_key(p, "access");
		int ra = access ? spk_etcd_get(e, access, &kv, NULL) : -ENOMEM;
		if (ra == 0) {
			r = grant_of_access(&kv, ret_value);
			spk_etcd_kv_done(&kv);
			k->reader = r == 0;
			spk_log("etcd %s: a reader (the grant is refused); the shared access token",
				p->name);
			return r == 0 ? 0
				      : spk_error_set(err, SPK_ERR_TEMPFAIL, r,
						      "%s: the access token in etcd is unreadable",
						      p->name);
		}
		if (ra == -ENOENT) {
			return ra;
		}
	}
	if (r == -ENOENT) {
		return r;
	}
	if (r < 0) {
		return spk_error_set(err, get_err.kind, r, "%s: %s", p->name, get_err.msg);
	}
	if (strcmp(kind, "grant") == 0) {
		k->grant_revision = kv.mod_revision;
		k->reader = false;
	}
	*ret_value = TAKE_PTR(kv.value);
	kv.len = 0;
	spk_etcd_kv_done(&kv);
	return 0;
}

/*
 * Grant and access in one transaction. A refresh's (this machine holds
 * the in-flight record) is stored only while the record is still its own
 * and the grant is the one it read (the answered record goes in the same
 * transaction); another machine's record stops it.
 */
static int save_grant(const struct spk_profile *p, struct spk_etcd *e, const char *value,
		      struct spk_error *err)
{
	_cleanup_free_ char *gkey = spk_etcd_key(p, "grant"), *akey = spk_etcd_key(p, "access");
	_cleanup_free_ char *ikey = spk_etcd_key(p, "inflight");
	_cleanup_secret_ char *access = NULL;
	struct spk_grant g = { 0 };
	struct spk_store_etcd_inflight rec = { 0 };
	char me[33], spent[65] = "";
	struct spk_error in_err = { 0 };

	if (!gkey || !akey || !ikey) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	int r = spk_grant_from_json(value, &g, NULL);
	if (r == 0) {
		r = spk_grant_public_json(&g, g.tenant_id, &access);
	}
	if (r == 0 && g.refresh_token) {
		spk_sha256_hex(g.refresh_token, spent);
	}
	spk_grant_done(&g);
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, r,
				     "%s: cannot make the access document", p->name);
	}
	r = spk_store_etcd_holder_id(me, err);
	if (r < 0) {
		return r;
	}
	r = spk_store_etcd_inflight_of(p, &rec, &in_err);
	if (r < 0 && r != -ENOENT) {
		return spk_error_set(err, in_err.kind, r, "%s", in_err.msg);
	}
	if (r == 0 && strcmp(rec.holder, me) != 0) {
		return spk_error_set(
			err, SPK_ERR_TEMPFAIL, SPK_STORE_ETCD_MOVED_ON,
			"%s: another machine's refresh is in flight in etcd; this grant "
			"was not stored",
			p->name);
	}
	struct spk_etcd_cmp cmps[2] = {
		{ ikey, r == 0 ? SPK_ETCD_MOD : SPK_ETCD_CREATE, r == 0 ? rec.revision : 0 },
	};
	size_t n_cmps = 1;
	int64_t grev = spk_store_etcd_grant_revision(p);
	if (grev > 0) {
		cmps[n_cmps++] = (struct spk_etcd_cmp){ gkey, SPK_ETCD_MOD, grev };
	}
	/*
	 * This machine's record is answered when the grant no longer holds
	 * the token it spent (a rotation): it goes in the same transaction.
	 */
	bool answered = r == 0 && strcmp(rec.token_sha256, spent) != 0;
	struct spk_etcd_op ops[] = { { gkey, value, 0 }, { akey, access, 0 }, { ikey, NULL, 0 } };
	bool ok = false;
	r = spk_etcd_txn(e, cmps, n_cmps, ops, answered ? 3 : 2, NULL, 0, &ok, err);
	if (r < 0) {
		return r;
	}
	if (!ok) {
		return spk_error_set(
			err, SPK_ERR_TEMPFAIL, SPK_STORE_ETCD_MOVED_ON,
			"%s: the grant in etcd changed meanwhile (another machine); this "
			"one was not stored",
			p->name);
	}
	known_of(p)->grant_revision = 0; /* the next save without a read compares nothing */
	spk_log("etcd %s: stored the grant and the access token", p->name);
	return 0;
}

static int etcd_save(const struct spk_profile *p, const char *kind, const char *value,
		     struct spk_error *err)
{
	_cleanup_free_ char *key = spk_etcd_key(p, kind);
	struct spk_etcd *e = spk_store_etcd_conn(p, err);
	bool ok;

	if (!e) {
		return -EIO;
	}
	if (!key || !known_of(p)) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	if (strcmp(kind, "grant") == 0) {
		return save_grant(p, e, value, err);
	}
	struct spk_etcd_op op = { key, value, 0 };
	return spk_etcd_txn(e, NULL, 0, &op, 1, NULL, 0, &ok, err);
}

static int etcd_remove(const struct spk_profile *p, const char *kind, struct spk_error *err)
{
	_cleanup_free_ char *key = spk_etcd_key(p, kind), *akey = spk_etcd_key(p, "access");
	struct spk_etcd *e = spk_store_etcd_conn(p, err);
	struct spk_etcd_kv kv = { 0 };
	bool ok;

	if (!e) {
		return -EIO;
	}
	if (!key || !akey) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	int r = spk_etcd_get(e, key, &kv, err);
	spk_etcd_kv_done(&kv);
	if (r < 0) {
		return r;
	}
	/* The grant goes with its access token: one transaction. */
	struct spk_etcd_op ops[] = { { key, NULL, 0 }, { akey, NULL, 0 } };
	return spk_etcd_txn(e, NULL, 0, ops, strcmp(kind, "grant") == 0 ? 2 : 1, NULL, 0, &ok, err);
}

int spk_store_etcd_check(const struct spk_profile *p, struct spk_error *err)
{
	_cleanup_free_ char *key = spk_etcd_key(p, "grant");
	struct spk_etcd *e = spk_store_etcd_conn(p, err);
	struct spk_etcd_kv kv = { 0 };

	if (!e) {
		return -EIO;
	}
	int r = key ? spk_etcd_get(e, key, &kv, err) : -ENOMEM;
	spk_etcd_kv_done(&kv);
	return r == -ENOENT ? 0 : r;
}

const struct spk_store_backend spk_store_etcd = {
	.name = "etcd",
	.load = etcd_load,
	.save = etcd_save,
	.remove = etcd_remove,
	.guard = &spk_store_etcd_guard,
};
