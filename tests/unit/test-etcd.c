/*
 * etcd's JSON gateway: the request bodies sparekey sends and the answers
 * it reads (as Debian's etcd 3.4 writes them), and the errors they map to.
 */
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "secret.h"

#define HEADER \
	"\"header\":{\"cluster_id\":\"3249\",\"member_id\":\"3319\",\"revision\":" \
	"\"7\"}"

static void test_bodies(void)
{
	char *s = spk_etcd_range_body("/sparekey/xero/access");
	g_assert_cmpstr(s, ==, "{\"key\":\"L3NwYXJla2V5L3hlcm8vYWNjZXNz\"}");
	free(s);

	s = spk_etcd_auth_body("refresher", "pw");
	g_assert_cmpstr(s, ==, "{\"name\":\"refresher\",\"password\":\"pw\"}");
	spk_secret_free(s);

	s = spk_etcd_watch_body("/a/access", "/a/holdes", 9);
	g_assert_cmpstr(s, ==,
			"{\"create_request\":{\"key\":\"L2EvYWNjZXNz\",\"range_end\":"
			"\"L2EvaG9sZGVz\",\"start_revision\":9}}");
	free(s);
	s = spk_etcd_number_body("TTL", 15);
	g_assert_cmpstr(s, ==, "{\"TTL\":15}");
	free(s);

	struct spk_etcd_cmp cmps[] = { { "k", SPK_ETCD_MOD, 5 }, { "i", SPK_ETCD_CREATE, 0 } };
	struct spk_etcd_op ops[] = { { "k", "v", 0 }, { "i", NULL, 0 }, { "l", "w", 42 } };
	s = spk_etcd_txn_body(cmps, 2, ops, 3, NULL, 0);
	g_assert_cmpstr(s, ==,
			"{\"compare\":[{\"key\":\"aw==\",\"result\":\"EQUAL\",\"target\":\"MOD\","
			"\"mod_revision\":5},{\"key\":\"aQ==\",\"result\":\"EQUAL\",\"target\":"
			"\"CREATE\",\"create_revision\":0}],\"success\":[{\"request_put\":{"
			"\"key\":"
			"\"aw==\",\"value\":\"dg==\"}},{\"request_delete_range\":{\"key\":\"aQ=="
			"\"}},"
			"{\"request_put\":{\"key\":\"bA==\",\"value\":\"dw==\",\"lease\":42}}],"
			"\"failure\":[]}");
	spk_secret_free(s);
}

static void test_range(void)
{
	struct spk_etcd_kv kv;

	/* "{\"a\":1}" in base64, with the revisions as strings. */
	g_assert_cmpint(spk_etcd_parse_range("{" HEADER ",\"kvs\":[{\"key\":\"aw==\","
					     "\"create_revision\":\"3\",\"mod_revision\":\"6\","
					     "\"version\":\"2\",\"value\":\"eyJhIjoxfQ==\","
					     "\"lease\":\"99\"}],\"count\":\"1\"}",
					     &kv),
			==, 0);
	g_assert_cmpstr(kv.value, ==, "{\"a\":1}");
	g_assert_cmpint(kv.len, ==, 7);
	g_assert_cmpint(kv.mod_revision, ==, 6);
	g_assert_cmpint(kv.create_revision, ==, 3);
	g_assert_cmpint(kv.lease, ==, 99);
	spk_etcd_kv_done(&kv);

	/* No key: no "kvs" at all. */
	g_assert_cmpint(spk_etcd_parse_range("{" HEADER "}", &kv), ==, -ENOENT);
	/* Not etcd's answer. */
	g_assert_cmpint(spk_etcd_parse_range("{\"kvs\":[]}", &kv), ==, -EBADMSG);
	g_assert_cmpint(spk_etcd_parse_range("<html>", &kv), ==, -EBADMSG);
}

static void test_txn_lease_lock(void)
{
	bool ok = true;
	int64_t id, ttl, rev = 0;
	char *key;

	g_assert_cmpint(
		spk_etcd_parse_txn("{" HEADER ",\"succeeded\":true,\"responses\":[]}", &ok, &rev),
		==, 0);
	g_assert_true(ok);
	g_assert_cmpint(rev, ==, 7); /* the header's */
	/* The gateway leaves out a false "succeeded". */
	g_assert_cmpint(spk_etcd_parse_txn("{" HEADER ",\"responses\":[]}", &ok, NULL), ==, 0);
	g_assert_false(ok);

	g_assert_cmpint(spk_etcd_parse_lease("{" HEADER ",\"ID\":\"2324035818532113414\","
					     "\"TTL\":\"15\"}",
					     &id, &ttl),
			==, 0);
	g_assert_cmpint(id, ==, 2324035818532113414LL);
	g_assert_cmpint(ttl, ==, 15);
	/* keepalive's streamed answer; a lease gone has no TTL (or -1). */
	g_assert_cmpint(spk_etcd_parse_lease("{\"result\":{" HEADER ",\"ID\":\"5\"}}", &id, &ttl),
			==, 0);
	g_assert_cmpint(id, ==, 5);
	g_assert_cmpint(ttl, ==, 0);
	g_assert_cmpint(spk_etcd_parse_lease("{" HEADER ",\"ID\":\"5\",\"TTL\":\"-1\"}", &id, &ttl),
			==, 0);
	g_assert_cmpint(ttl, ==, -1);

	g_assert_cmpint(
		spk_etcd_parse_string("{" HEADER ",\"key\":\"bG9jay8yMA==\"}", "key", true, &key),
		==, 0);
	g_assert_cmpstr(key, ==, "lock/20");
	spk_secret_free(key);
	g_assert_cmpint(
		spk_etcd_parse_string("{" HEADER ",\"token\":\"abc.1\"}", "token", false, &key), ==,
		0);
	g_assert_cmpstr(key, ==, "abc.1");
	spk_secret_free(key);
}

static void test_errors(void)
{
	struct spk_error err = { 0 };

	spk_etcd_answer_error(403,
			      "{\"error\":\"etcdserver: permission denied\",\"code\":7,"
			      "\"message\":\"etcdserver: permission denied\"}",
			      "reader", "/sparekey/xero/grant", &err);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	g_assert_cmpint(err.code, ==, -EACCES);
	g_assert_nonnull(strstr(err.msg, "reader"));
	g_assert_nonnull(strstr(err.msg, "/sparekey/xero/grant"));

	spk_error_clear(&err);
	spk_etcd_answer_error(400,
			      "{\"error\":\"etcdserver: authentication failed, invalid user "
			      "ID or password\",\"code\":3}",
			      "refresher", NULL, &err);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	g_assert_nonnull(strstr(err.msg, "refresher"));

	spk_error_clear(&err);
	spk_etcd_answer_error(503, "{\"error\":\"etcdserver: no leader\",\"code\":14}", NULL, NULL,
			      &err);
	g_assert_cmpint(err.kind, ==, SPK_ERR_TEMPFAIL);

	spk_error_clear(&err);
	spk_etcd_answer_error(503, "{\"error\":\"etcdserver: request timed out\",\"code\":4}", NULL,
			      NULL, &err);
	g_assert_cmpint(err.kind, ==, SPK_ERR_TEMPFAIL);

	spk_error_clear(&err);
	spk_etcd_answer_error(401,
			      "{\"error\":\"CommonName of client sending a request against "
			      "gateway will be ignored\",\"code\":16}",
			      NULL, NULL, &err);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	g_assert_nonnull(strstr(err.msg, "without a CommonName"));
}

static void test_key(void)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	p.name = "xero";
	char *k = spk_etcd_key(&p, "grant");
	g_assert_cmpstr(k, ==, "/sparekey/xero/grant");
	free(k);
	p.etcd_prefix = "/team/a/";
	k = spk_etcd_key(&p, "access");
	g_assert_cmpstr(k, ==, "/team/a/xero/access");
	free(k);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/etcd/bodies", test_bodies);
	g_test_add_func("/etcd/range", test_range);
	g_test_add_func("/etcd/txn-lease-lock", test_txn_lease_lock);
	g_test_add_func("/etcd/errors", test_errors);
	g_test_add_func("/etcd/key", test_key);
	return g_test_run();
}
