#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "dl.h"
#include "log.h"
#include "secret.h"

#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 30000L

/*
 * libcurl, opened on first use by spk_http_open() (see dl.h).
 * Each function used is named once; the struct and the table are made
 * from the list.
 */
#define LIBCURL_FUNCTIONS(X) \
	X(global_init) \
	X(url) \
	X(url_set) \
	X(url_get) \
	X(free) \
	X(url_cleanup) \
	X(getdate) \
	X(slist_free_all) \
	X(slist_append) \
	X(easy_getinfo) \
	X(easy_strerror) \
	X(easy_init) \
	X(easy_setopt) \
	X(easy_perform) \
	X(easy_cleanup) \
	X(easy_reset) \
	X(multi_init) \
	X(multi_add_handle) \
	X(multi_remove_handle) \
	X(multi_perform) \
	X(multi_poll) \
	X(multi_info_read) \
	X(multi_cleanup)
#define LIBCURL_FIELD(name) __typeof__(curl_##name) *name;
#define LIBCURL_ROW(name) SPK_DL_SYMBOL(curl, curl_, name),
static struct {
	LIBCURL_FUNCTIONS(LIBCURL_FIELD)
} curl;
static const struct spk_dl_symbol curl_symbols[] = { LIBCURL_FUNCTIONS(LIBCURL_ROW) };
static struct spk_dl_library libcurl = { "libcurl.so.4", "libcurl4", curl_symbols,
					 ARRAY_SIZE(curl_symbols), false };
static bool curl_ready;

int spk_http_open(struct spk_error *err)
{
	if (curl_ready) {
		return 0;
	}
	int r = spk_dl_open(&libcurl, err);
	if (r < 0) {
		return r;
	}
	if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -EIO, "cannot initialise libcurl");
	}
	curl_ready = true;
	return 0;
}

static bool host_is_loopback(const char *host)
{
	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0) {
		return true;
	}
	/* 127.0.0.0/8 as a dotted quad. */
	unsigned a, b, c, d;
	char tail;
	return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
	       c < 256 && d < 256;
}

const char *spk_http_host(const char *url, char *buf, size_t size)
{
	char *host = NULL;

	snprintf(buf, size, "?");
	if (spk_http_open(NULL) < 0) {
		return buf;
	}
	CURLU *u = curl.url();
	if (u && curl.url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl.url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		snprintf(buf, size, "%s", host);
	}
	curl.free(host);
	curl.url_cleanup(u);
	return buf;
}

int spk_http_check_url(const char *what, const char *url, struct spk_error *err)
{
	char *scheme = NULL, *host = NULL;
	int r = spk_http_open(err);
	if (r < 0) {
		return r;
	}
	CURLU *u = curl.url();
	if (!u) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	if (!url || curl.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL, "%s is not a valid URL: %s", what,
				  url ? url : "(none)");
	} else if (strcasecmp(scheme, "https") == 0) {
		r = 0;
	} else if (strcasecmp(scheme, "http") == 0 && host_is_loopback(host)) {
		r = 0;
	} else {
		r = spk_error_set(err, SPK_ERR_CONFIG, -EPROTONOSUPPORT,
				  "%s must use https (plain http only to a loopback address): %s",
				  what, url);
	}
	curl.free(scheme);
	curl.free(host);
	curl.url_cleanup(u);
	return r;
}

struct sink {
	char *buf;
	size_t len, cap;
	bool too_big;
	const char *until; /* the request's */
	bool until_seen;
	long retry_after;
	long long date;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (s->len + n > SPK_HTTP_MAX_BODY) {
		s->too_big = true;
		return 0; /* abort the transfer */
	}
	/* The body may hold a token: grown by copying, the old copy wiped. */
	if (spk_secret_append(&s->buf, &s->len, &s->cap, data, n) < 0) {
		return 0;
	}
	if (s->until && memmem(s->buf, s->len, s->until, strlen(s->until))) {
		s->until_seen = true;
		return 0; /* enough of a stream: end it */
	}
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	static const char date_name[] = "date:";

	if (n > sizeof(date_name) && n < 128 &&
	    strncasecmp(data, date_name, sizeof(date_name) - 1) == 0) {
		char value[128];
		memcpy(value, data + sizeof(date_name) - 1, n - (sizeof(date_name) - 1));
		value[n - (sizeof(date_name) - 1)] = '\0';
		time_t t = curl.getdate(value, NULL);
		s->date = t > 0 ? (long long)t : 0;
	}

	if (n > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		char value[32];
		size_t vlen = n - (sizeof(name) - 1);
		if (vlen >= sizeof(value)) {
			vlen = sizeof(value) - 1;
		}
		memcpy(value, data + sizeof(name) - 1, vlen);
		value[vlen] = '\0';
		char *end;
		long v = strtol(value, &end, 10);
		/* Only the delta-seconds form; an HTTP date is treated as unknown. */
		if (end != value && v >= 0) {
			s->retry_after = v;
		}
	}
	return n;
}

static void slist_wipe_free(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next) {
		spk_wipe(p->data, strlen(p->data));
	}
	curl.slist_free_all(l);
}

static int transport_error(CURL *c, CURLcode cc, const char *host, const char *detail,
			   struct spk_error *err)
{
	long sent = 0;

	/* A TLS alert (e.g. "certificate required"): the server refused us before any request. */
	if (strstr(detail, " alert ")) {
		return spk_error_set(err, SPK_ERR_UNAVAILABLE, -EPROTO,
				     "TLS with %s failed (%.120s)", host, detail);
	}
	(void)curl.easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
	if (sent > 0 && (cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_GOT_NOTHING ||
			 cc == CURLE_RECV_ERROR || cc == CURLE_PARTIAL_FILE)) {
		return spk_error_set(err, SPK_ERR_TEMPFAIL, SPK_HTTP_ANSWER_LOST,
				     "%s took the request but its answer was lost (%s). Try again "
				     "later",
				     host, curl.easy_strerror(cc));
	}
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return spk_error_set(err, SPK_ERR_UNAVAILABLE, -EHOSTUNREACH,
				     "cannot resolve %s (%s)", host, curl.easy_strerror(cc));
	case CURLE_OPERATION_TIMEDOUT:
		return spk_error_set(err, SPK_ERR_UNAVAILABLE, -ETIMEDOUT,
				     "%s did not answer in time", host);
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		/* Nothing sent yet: the peer hung up during the connection or its TLS handshake. */
		return spk_error_set(err, SPK_ERR_UNAVAILABLE, -ECONNRESET, "cannot reach %s (%s)",
				     host, curl.easy_strerror(cc));
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return spk_error_set(err, SPK_ERR_UNAVAILABLE, -EPROTO, "TLS with %s failed (%s)",
				     host, curl.easy_strerror(cc));
	default:
		return spk_error_set(err, SPK_ERR_UNAVAILABLE, -ECONNREFUSED,
				     "cannot reach %s (%s)", host, curl.easy_strerror(cc));
	}
}

/*
 * What every request keeps to: https, or http where spk_http_check_url
 * allowed it; no redirects; TLS verified (against cacert when set); the
 * timeouts; no signals; our User-Agent.
 */
static void set_rules(CURL *c, const char *url, const char *cacert, long connect_ms, long total_ms)
{
	curl.easy_setopt(c, CURLOPT_URL, url);
	curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cacert) {
		curl.easy_setopt(c, CURLOPT_CAINFO, cacert);
	}
	curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl.easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
	curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(c, CURLOPT_USERAGENT, "sparekey/" SPK_VERSION);
}

struct spk_http_keep {
	CURL *handle; /* its connection cache is what is kept; NULL until the first request */
};

struct spk_http_keep *spk_http_keep_new(void)
{
	return calloc(1, sizeof(struct spk_http_keep));
}

void spk_http_keep_free(struct spk_http_keep *keep)
{
	if (keep && keep->handle) {
		curl.easy_cleanup(keep->handle);
	}
	free(keep);
}

/* A handle for req: its keep's, reset (the connections stay), or a new one. */
static CURL *handle_for(const struct spk_http_request *req)
{
	if (!req->keep) {
		return curl.easy_init();
	}
	if (req->keep->handle) {
		curl.easy_reset(req->keep->handle);
	} else {
		req->keep->handle = curl.easy_init();
	}
	return req->keep->handle;
}

int spk_http_send(const struct spk_http_request *req, struct spk_http_response *ret,
		  struct spk_error *err)
{
	char host[256];
	struct sink sink = { .retry_after = -1 };
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	_cleanup_secret_ char *auth_header = NULL;
	CURL *c = NULL;
	int r;

	spk_http_host(req->url, host, sizeof(host));
	r = spk_http_check_url("endpoint", req->url, err);
	if (r < 0) {
		return r;
	}
	r = spk_http_open(err);
	if (r < 0) {
		return r;
	}
	if (!(c = handle_for(req))) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "cannot initialise libcurl");
	}

	headers = curl.slist_append(headers, "Accept: application/json");
	if (req->json && !req->form) {
		headers = curl.slist_append(headers, "Content-Type: application/json");
	}
	if (req->authorization) {
		if (asprintf(&auth_header, "Authorization: %s", req->authorization) < 0) {
			auth_header = NULL;
			r = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
			goto out;
		}
		headers = curl.slist_append(headers, auth_header);
	}
	if (!headers) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto out;
	}

	set_rules(c, req->url, req->cacert,
		  req->connect_timeout_ms > 0 ? req->connect_timeout_ms : CONNECT_TIMEOUT_MS,
		  req->timeout_ms > 0 ? req->timeout_ms : TOTAL_TIMEOUT_MS);
	if (req->cert) {
		curl.easy_setopt(c, CURLOPT_SSLCERT, req->cert);
		curl.easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (req->key) {
		curl.easy_setopt(c, CURLOPT_SSLKEY, req->key);
		curl.easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	curl.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	sink.until = req->until;
	curl.easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl.easy_setopt(c, CURLOPT_HEADERDATA, &sink);
	const char *body = req->form ? req->form : req->json;
	if (body) {
		curl.easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl.easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CURLcode cc = curl.easy_perform(c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;

	if (sink.too_big) {
		spk_log("%s %s: answer over %d bytes, dropped", body ? "POST" : "GET", host,
			SPK_HTTP_MAX_BODY);
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, -EFBIG,
				  "%s sent an answer larger than %d bytes", host,
				  SPK_HTTP_MAX_BODY);
		goto out;
	}
	if (cc != CURLE_OK && !sink.until_seen) {
		spk_log("%s %s: %s after %ld ms", body ? "POST" : "GET", host,
			curl.easy_strerror(cc), ms);
		r = transport_error(c, cc, host, errbuf, err);
		goto out;
	}

	*ret = (struct spk_http_response){ .retry_after = sink.retry_after, .date = sink.date };
	curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
	char *ctype = NULL;
	if (curl.easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype) {
		snprintf(ret->content_type, sizeof(ret->content_type), "%s", ctype);
	}
	if (!sink.buf) {
		sink.buf = calloc(1, 1);
		if (!sink.buf) {
			r = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
			goto out;
		}
	}
	ret->body = TAKE_PTR(sink.buf);
	ret->len = sink.len;
	spk_log("%s %s: HTTP %ld, %zu bytes, %ld ms", body ? "POST" : "GET", host, ret->status,
		ret->len, ms);
	r = 0;
out:
	if (sink.buf) {
		spk_wipe(sink.buf, sink.cap);
		free(sink.buf);
	}
	slist_wipe_free(headers);
	if (!req->keep) {
		curl.easy_cleanup(c);
	}
	return r;
}

void spk_http_response_done(struct spk_http_response *resp)
{
	if (resp->body) {
		spk_wipe(resp->body, resp->len);
		free(resp->body);
	}
	*resp = (struct spk_http_response){ .retry_after = -1 };
}

/* A ping's answer is read and dropped; one this large is not a ping's. */
#define PING_MAX_BODY (64 * 1024)

static size_t drop_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	size_t *seen = userdata;
	size_t n = size * nmemb;

	(void)data;
	*seen += n;
	return *seen > PING_MAX_BODY ? 0 : n;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* One ping's easy handle: a plain GET, nothing sent but the URL and the User-Agent. */
static CURL *ping_handle(const char *url, long timeout_ms, size_t *seen)
{
	CURL *c = curl.easy_init();

	if (!c) {
		return NULL;
	}
	set_rules(c, url, NULL, timeout_ms, timeout_ms);
	curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_body);
	curl.easy_setopt(c, CURLOPT_WRITEDATA, seen);
	return c;
}

void spk_http_ping(const char *const *urls, size_t n, long timeout_ms, long *ret_status)
{
	CURL **handles = calloc(n ? n : 1, sizeof(*handles));
	size_t *seen = calloc(n ? n : 1, sizeof(*seen));
	bool *done = calloc(n ? n : 1, sizeof(*done));
	CURLM *m = NULL;
	struct timespec t0;
	char host[256];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++) {
		ret_status[i] = -ECONNREFUSED;
	}
	if (!handles || !seen || !done || spk_http_open(NULL) < 0 || !(m = curl.multi_init())) {
		for (size_t i = 0; i < n; i++) {
			ret_status[i] = -ENOMEM;
		}
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (spk_http_check_url("heartbeat_url", urls[i], NULL) < 0) {
			ret_status[i] = -EPROTONOSUPPORT;
			continue;
		}
		handles[i] = ping_handle(urls[i], timeout_ms, &seen[i]);
		if (!handles[i] || curl.multi_add_handle(m, handles[i]) != CURLM_OK) {
			ret_status[i] = -ENOMEM;
			curl.easy_cleanup(handles[i]);
			handles[i] = NULL;
		}
	}
	/* All at once, under one bound: each handle's own timeout is the same. */
	int running = 1;
	while (running > 0 && curl.multi_perform(m, &running) == CURLM_OK && running > 0) {
		long left = timeout_ms - elapsed_ms(&t0);
		if (left <= 0 || curl.multi_poll(m, NULL, 0, (int)left, NULL) != CURLM_OK) {
			break;
		}
	}
	CURLMsg *msg;
	int queued;
	while ((msg = curl.multi_info_read(m, &queued))) {
		for (size_t i = 0; msg->msg == CURLMSG_DONE && i < n; i++) {
			if (handles[i] != msg->easy_handle) {
				continue;
			}
			done[i] = true;
			if (msg->data.result == CURLE_OK) {
				curl.easy_getinfo(handles[i], CURLINFO_RESPONSE_CODE,
						  &ret_status[i]);
			} else {
				ret_status[i] = msg->data.result == CURLE_OPERATION_TIMEDOUT
							? -ETIMEDOUT
							: -ECONNREFUSED;
				spk_log("GET %s: %s after %ld ms",
					spk_http_host(urls[i], host, sizeof(host)),
					curl.easy_strerror(msg->data.result), elapsed_ms(&t0));
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!handles[i]) {
			continue;
		}
		if (!done[i]) {
			ret_status[i] = -ETIMEDOUT; /* still under way when the bound came */
			spk_log("GET %s: no answer within %ld ms",
				spk_http_host(urls[i], host, sizeof(host)), timeout_ms);
		} else if (ret_status[i] > 0) {
			spk_log("GET %s: HTTP %ld, %ld ms",
				spk_http_host(urls[i], host, sizeof(host)), ret_status[i],
				elapsed_ms(&t0));
		}
		curl.multi_remove_handle(m, handles[i]);
		curl.easy_cleanup(handles[i]);
	}
out:
	if (m) {
		curl.multi_cleanup(m);
	}
	free(handles);
	free(seen);
	free(done);
}
