#include "store-probe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "etcd.h"
#include "store-etcd.h"

static bool is_etcd(const struct spk_profile *p)
{
	return p->store && strcmp(p->store, "etcd") == 0;
}

const char *spk_store_endpoint(const struct spk_profile *p)
{
	struct spk_etcd *e = is_etcd(p) ? spk_store_etcd_conn(p, NULL) : NULL;
	return e ? spk_etcd_answered(e) : NULL;
}

static struct spk_store_probe *line(struct spk_store_probe *ret, size_t max, size_t *n,
				    const char *what)
{
	static struct spk_store_probe spare;
	struct spk_store_probe *l = *n < max ? &ret[(*n)++] : &spare;

	*l = (struct spk_store_probe){ 0 };
	snprintf(l->what, sizeof(l->what), "%s", what);
	return l;
}

/* May this user write p's keys? A transaction whose compare never holds writes nothing. */
static void probe_write(struct spk_etcd *e, const char *key, struct spk_store_probe *l)
{
	struct spk_etcd_cmp cmp = { key, SPK_ETCD_MOD, INT64_MAX };
	struct spk_etcd_op op = { key, "", 0 };
	bool ok;

	if (spk_etcd_txn(e, &cmp, 1, &op, 1, NULL, 0, &ok, &l->err) == 0) {
		snprintf(l->detail, sizeof(l->detail), "may write %s", key);
	}
}

size_t spk_store_probe(const struct spk_profile *p, struct spk_store_probe *ret, size_t max)
{
	_cleanup_free_ char *grant = spk_etcd_key(p, "grant"), *access = spk_etcd_key(p, "access");
	struct spk_store_probe *l;
	struct spk_etcd *e;
	struct spk_etcd_kv kv = { 0 };
	size_t n = 0;

	if (!is_etcd(p)) {
		return 0;
	}
	l = line(ret, max, &n, "etcd");
	if (!(e = spk_store_etcd_conn(p, &l->err)) || !grant || !access) {
		spk_error_set(&l->err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
		return n;
	}
	n--;
	for (size_t i = 0; i < spk_etcd_n_endpoints(e); i++) {
		int64_t leader = 0;
		l = line(ret, max, &n, "etcd endpoint");
		spk_etcd_pin(e, i);
		if (spk_etcd_status(e, &leader, &l->err) == 0) {
			if (leader == 0) {
				spk_error_set(&l->err, SPK_ERR_TEMPFAIL, -EAGAIN,
					      "%s answers but has no leader (no quorum?)",
					      spk_etcd_endpoint(e, i));
			} else {
				snprintf(l->detail, sizeof(l->detail),
					 "%s answers; it has a leader", spk_etcd_endpoint(e, i));
			}
		}
	}
	spk_etcd_pin(e, SIZE_MAX);
	l = line(ret, max, &n, "etcd auth");
	if (spk_etcd_authenticate(e, &l->err) == 0) {
		if (p->etcd_user) {
			snprintf(l->detail, sizeof(l->detail), "user %s authenticated",
				 p->etcd_user);
		} else {
			snprintf(l->detail, sizeof(l->detail),
				 "no etcd_user: the cluster lets anyone in");
		}
	}
	l = line(ret, max, &n, "etcd read");
	int r = spk_etcd_get(e, grant, &kv, &l->err);
	spk_etcd_kv_done(&kv);
	if (r == 0 || r == -ENOENT) {
		snprintf(l->detail, sizeof(l->detail), "may read %s%s", grant,
			 r == -ENOENT ? " (not there yet)" : "");
	} else if (r == -EACCES && spk_etcd_get(e, access, &kv, NULL) == 0) {
		spk_etcd_kv_done(&kv);
		spk_error_clear(&l->err);
		snprintf(l->detail, sizeof(l->detail), "may read %s only: a reader", access);
		return n;
	}
	l = line(ret, max, &n, "etcd write");
	probe_write(e, grant, l);
	return n;
}
