#include "probe.h"

#include <errno.h>
#include <stdio.h>

#include "http.h"

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

int spk_probe_provider(const struct spk_provider *prov, int64_t now, struct spk_probe *ret,
		       struct spk_error *err)
{
	struct spk_http_request req = { .url = prov->endpoints.token, .cacert = prov->cacert };
	struct spk_http_response resp = { .retry_after = -1 };
	struct spk_probe probe = { 0 };

	int r = spk_http_send(&req, &resp, err);
	if (r < 0) {
		return r;
	}
	spk_http_host(prov->endpoints.token, probe.host, sizeof(probe.host));
	probe.has_date = resp.date != 0;
	probe.skew = probe.has_date ? now - (int64_t)resp.date : 0;
	spk_http_response_done(&resp);
	*ret = probe;
	if (abs64(probe.skew) > SPK_PROBE_SKEW_MAX) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -ERANGE,
				     "this clock is %lld s %s %s's; token lifetimes will be wrong. "
				     "Synchronise the clock (timedatectl)",
				     (long long)abs64(probe.skew),
				     probe.skew > 0 ? "ahead of" : "behind", probe.host);
	}
	return 0;
}
