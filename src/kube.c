#include "kube.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "secret.h"

static const char *const versions[] = { SPK_KUBE_API_V1, SPK_KUBE_API_V1BETA1 };

int spk_kube_api_version(const char *exec_info, const char **ret, struct spk_error *err)
{
	_cleanup_json_ struct spk_json *doc = NULL;
	_cleanup_free_ char *v = NULL;

	if (!exec_info) {
		*ret = SPK_KUBE_API_V1;
		return 0;
	}
	if (spk_json_parse_object(exec_info, strlen(exec_info), &doc) < 0 ||
	    spk_json_get_string(doc, "apiVersion", &v) < 0) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EBADMSG,
				     "KUBERNETES_EXEC_INFO is no ExecCredential with an "
				     "apiVersion; run sparekey from kubectl, or unset it");
	}
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		if (strcmp(v, versions[i]) == 0) {
			*ret = versions[i];
			return 0;
		}
	}
	return spk_error_set(err, SPK_ERR_CONFIG, -EPROTONOSUPPORT,
			     "kubectl asks for an ExecCredential in '%.80s', which sparekey does "
			     "not speak. Set the kubeconfig's exec apiVersion to %s or %s",
			     v, SPK_KUBE_API_V1, SPK_KUBE_API_V1BETA1);
}

int spk_kube_rfc3339(int64_t epoch, char *buf, size_t size)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	if (epoch <= 0 || !gmtime_r(&t, &tm) ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		return -EINVAL;
	}
	return 0;
}

int spk_kube_exec_credential(const char *api_version, const char *token, int64_t expires_at,
			     char **ret)
{
	_cleanup_json_ struct spk_json *doc = spk_json_new_object();
	struct spk_json *status = spk_json_new_object();
	char when[32];

	if (!doc || !status) {
		spk_json_free(status);
		return -ENOMEM;
	}
	int r = spk_json_add_string(status, "token", token);
	if (r == 0 && expires_at > 0) {
		r = spk_kube_rfc3339(expires_at, when, sizeof(when));
		if (r == 0) {
			r = spk_json_add_string(status, "expirationTimestamp", when);
		}
	}
	if (r < 0) {
		spk_json_free(status);
		return r;
	}
	if (spk_json_add_string(doc, "apiVersion", api_version) < 0 ||
	    spk_json_add_string(doc, "kind", "ExecCredential") < 0 ||
	    spk_json_add(doc, "status", status) < 0) {
		return -ENOMEM;
	}
	char *text = spk_json_dump(doc);
	if (!text) {
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}
