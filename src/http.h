/*
 * The one place libcurl is used. Every request: TLS verified, https only
 * (plain http only to a loopback address), no redirects followed, connect
 * and total timeouts, response body capped. libcurl is loaded and
 * initialised on first use, so commands that never reach the network never
 * pay for it.
 */
#pragma once

#include <stdbool.h>
#include <errno.h>
#include <stddef.h>

#include "error.h"

#define SPK_HTTP_MAX_BODY (1024 * 1024)

/*
 * Connections kept between requests to the same servers (etcd's members):
 * a request that names one reuses its open connection instead of making
 * a new one. Used by one thread at a time. new: NULL on out-of-memory.
 */
struct spk_http_keep;
struct spk_http_keep *spk_http_keep_new(void);
void spk_http_keep_free(struct spk_http_keep *keep);

struct spk_http_request {
	const char *url;
	const char *form; /* POST application/x-www-form-urlencoded when set, else GET */
	const char *
		authorization; /* Authorization header value ("Bearer …", "Basic …"), a secret, or NULL */
	const char *cacert;      /* CA bundle for a private CA, or NULL for the system's */
	const char *json;        /* POST application/json when set (and form is not) */
	const char *cert, *key;  /* client certificate and its key (PEM paths), or NULL */
	long timeout_ms;         /* the whole request's bound; 0 = the default (30 s) */
	long connect_timeout_ms; /* 0 = the default (10 s) */
	/*
	 * A streamed answer (etcd's watch): the transfer ends, a success, as
	 * soon as the body holds this text; NULL for a whole answer.
	 */
	const char *until;
	struct spk_http_keep *keep; /* or NULL: a connection for this request alone */
};

struct spk_http_response {
	long status;
	char *body; /* NUL-terminated, may hold secrets: spk_http_response_done() wipes it */
	size_t len;
	long retry_after; /* seconds from a Retry-After header, or -1 */
	long long date;   /* the server's clock from its Date header (epoch), or 0 */
	char content_type[64];
};

/*
 * Load and initialise libcurl now. For a process about to fork workers
 * that will all use it: they then inherit it instead of each loading it.
 */
int spk_http_open(struct spk_error *err);

/* 0 if url may be used: https, or http to 127.0.0.0/8, [::1] or localhost. */
int spk_http_check_url(const char *what, const char *url, struct spk_error *err);

/* The host of url (for messages), into buf; "?" if it cannot be parsed. */
const char *spk_http_host(const char *url, char *buf, size_t size);

/*
 * Perform req. Any HTTP status is a success here (ret->status tells);
 * failures are transport errors: SPK_ERR_UNAVAILABLE for name lookup,
 * connection, TLS and connect timeouts; SPK_ERR_TEMPFAIL for an oversized
 * answer; and SPK_ERR_TEMPFAIL with code SPK_HTTP_ANSWER_LOST when the
 * request went out but no complete answer came back (the server may have
 * acted on it).
 */
#define SPK_HTTP_ANSWER_LOST (-ECONNABORTED)

int spk_http_send(const struct spk_http_request *req, struct spk_http_response *ret,
		  struct spk_error *err);

void spk_http_response_done(struct spk_http_response *resp);

/*
 * GET each of urls[0..n) (heartbeat pings), all at once, and drop the
 * answers: nothing is sent but the URL and a User-Agent (no Authorization,
 * no body), and all of them end within timeout_ms of the call, connect
 * included. ret_status[i]: the HTTP status, or -EPROTONOSUPPORT for a URL
 * spk_http_check_url refuses, -ETIMEDOUT, -ECONNREFUSED for any other
 * transport failure, -ENOMEM. Never fails as a whole.
 */
void spk_http_ping(const char *const *urls, size_t n, long timeout_ms, long *ret_status);
