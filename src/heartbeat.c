#include "heartbeat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "macro.h"

char *spk_heartbeat_url(const char *url, bool failed)
{
	char *out = NULL;

	if (!failed) {
		return strdup(url);
	}
	/* The path ends where the query or the fragment begins. */
	size_t end = strcspn(url, "?#");
	size_t path_end = end;
	while (path_end > 0 && url[path_end - 1] == '/') {
		path_end--;
	}
	if (asprintf(&out, "%.*s/fail%s", (int)path_end, url, url + end) < 0) {
		return NULL;
	}
	return out;
}

void spk_heartbeat_send(struct spk_heartbeat *beats, size_t n)
{
	char **urls = calloc(n ? n : 1, sizeof(*urls));
	long *status = calloc(n ? n : 1, sizeof(*status));
	size_t *which = calloc(n ? n : 1, sizeof(*which));
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		beats[i].status = -ENOMEM;
		beats[i].sent = false;
	}
	if (!urls || !status || !which) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *url = beats[i].profile->heartbeat_url;
		if (!url) {
			beats[i].status = 0;
			continue;
		}
		urls[m] = spk_heartbeat_url(url, beats[i].failed);
		if (urls[m]) {
			which[m++] = i;
		}
	}
	spk_http_ping((const char *const *)urls, m, SPK_HEARTBEAT_TIMEOUT_MS, status);
	for (size_t k = 0; k < m; k++) {
		struct spk_heartbeat *b = &beats[which[k]];
		b->status = status[k];
		b->sent = status[k] >= 200 && status[k] < 300;
	}
out:
	for (size_t k = 0; urls && k < m; k++) {
		free(urls[k]);
	}
	free(urls);
	free(status);
	free(which);
}
