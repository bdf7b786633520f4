/*
 * kubectl's ExecCredential: the apiVersion chosen from KUBERNETES_EXEC_INFO
 * and the document printed in it.
 */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "json.h"
#include "kube.h"
#include "secret.h"

static const char *version_of(const char *info, int want_r)
{
	struct spk_error err = { 0 };
	const char *v = NULL;
	int r = spk_kube_api_version(info, &v, &err);

	g_assert_cmpint(r, ==, want_r);
	if (r < 0) {
		g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
		g_assert_cmpstr(err.msg, !=, "");
		g_assert_null(v);
	}
	return v;
}

static void test_version(void)
{
	/* Unset (a person at the shell, or kubectl with v1beta1 before 1.22): v1. */
	g_assert_cmpstr(version_of(NULL, 0), ==, SPK_KUBE_API_V1);
	/* As kubectl sets it. */
	g_assert_cmpstr(version_of("{\"kind\":\"ExecCredential\",\"apiVersion\":"
				   "\"client.authentication.k8s.io/v1\","
				   "\"spec\":{\"interactive\":false}}",
				   0),
			==, SPK_KUBE_API_V1);
	g_assert_cmpstr(version_of("{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
				   "\"kind\":\"ExecCredential\",\"spec\":{}}",
				   0),
			==, SPK_KUBE_API_V1BETA1);
}

static void test_version_refused(void)
{
	struct spk_error err = { 0 };
	const char *v = NULL;

	/* A version sparekey does not speak: the message names it and the ones it does. */
	const char *alpha = "{\"apiVersion\":\"client.authentication.k8s.io/v1alpha1\"}";
	g_assert_cmpint(spk_kube_api_version(alpha, &v, &err), ==, -EPROTONOSUPPORT);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	g_assert_nonnull(strstr(err.msg, "client.authentication.k8s.io/v1alpha1"));
	g_assert_nonnull(strstr(err.msg, SPK_KUBE_API_V1BETA1));
	g_assert_null(strchr(err.msg, '\n'));
	/* Near misses are not accepted. */
	version_of("{\"apiVersion\":\"client.authentication.k8s.io/v1 \"}", -EPROTONOSUPPORT);
	version_of("{\"apiVersion\":\"v1\"}", -EPROTONOSUPPORT);
	/* Not an ExecCredential: no apiVersion, another type, not JSON, not an object. */
	version_of("{\"kind\":\"ExecCredential\"}", -EBADMSG);
	version_of("{\"apiVersion\":1}", -EBADMSG);
	version_of("{\"apiVersion\":null}", -EBADMSG);
	version_of("client.authentication.k8s.io/v1", -EBADMSG);
	version_of("[\"client.authentication.k8s.io/v1\"]", -EBADMSG);
	version_of("{\"apiVersion\":\"client.authentication.k8s.io/v1\"} x", -EBADMSG);
}

static void test_rfc3339(void)
{
	char buf[32];

	g_assert_cmpint(spk_kube_rfc3339(1796425800, buf, sizeof(buf)), ==, 0);
	g_assert_cmpstr(buf, ==, "2026-12-04T23:10:00Z");
	g_assert_cmpint(spk_kube_rfc3339(951782400, buf, sizeof(buf)), ==, 0);
	g_assert_cmpstr(buf, ==, "2000-02-29T00:00:00Z");
	g_assert_cmpint(spk_kube_rfc3339(0, buf, sizeof(buf)), ==, -EINVAL);
	g_assert_cmpint(spk_kube_rfc3339(1796425800, buf, 8), ==, -EINVAL);
}

static void test_document(void)
{
	char *text = NULL;
	struct spk_json *doc = NULL, *status = NULL;
	char *s = NULL;

	g_assert_cmpint(spk_kube_exec_credential(SPK_KUBE_API_V1BETA1, "AT-1", 1796425800, &text),
			==, 0);
	g_assert_cmpstr(text, ==,
			"{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
			"\"kind\":\"ExecCredential\",\"status\":{\"token\":\"AT-1\","
			"\"expirationTimestamp\":\"2026-12-04T23:10:00Z\"}}");
	g_assert_cmpint(spk_json_parse_object(text, strlen(text), &doc), ==, 0);
	spk_secret_free(text);
	g_assert_cmpint(spk_json_get_string(doc, "apiVersion", &s), ==, 0);
	g_assert_cmpstr(s, ==, SPK_KUBE_API_V1BETA1);
	free(s);
	g_assert_cmpint(spk_json_get_object(doc, "status", &status), ==, 0);
	g_assert_cmpint(spk_json_len(status), ==, 2);
	g_assert_cmpint(spk_json_len(doc), ==, 3);
	spk_json_free(doc);

	/* Unknown expiry: no expirationTimestamp at all (not null: kubectl would refuse it). */
	g_assert_cmpint(spk_kube_exec_credential(SPK_KUBE_API_V1, "AT-2", 0, &text), ==, 0);
	g_assert_cmpint(spk_json_parse_object(text, strlen(text), &doc), ==, 0);
	spk_secret_free(text);
	g_assert_cmpint(spk_json_get_object(doc, "status", &status), ==, 0);
	g_assert_false(spk_json_has(status, "expirationTimestamp"));
	g_assert_cmpint(spk_json_get_string(status, "token", &s), ==, 0);
	g_assert_cmpstr(s, ==, "AT-2");
	spk_secret_free(s);
	g_assert_cmpint(spk_json_get_string(doc, "apiVersion", &s), ==, 0);
	g_assert_cmpstr(s, ==, SPK_KUBE_API_V1);
	free(s);
	spk_json_free(doc);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/kube/version", test_version);
	g_test_add_func("/kube/version-refused", test_version_refused);
	g_test_add_func("/kube/rfc3339", test_rfc3339);
	g_test_add_func("/kube/document", test_document);
	return g_test_run();
}
