#include "loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dl.h"
#include "log.h"
#include "page.h"
#include "secret.h"

/* Room for a browser's many speculative sockets and a few stuck ones. */
#define MAX_CONNECTIONS 128
#define CONNECTION_TIMEOUT_S 10
/* Request line plus headers; a real redirect needs a few KiB. */
#define CONNECTION_MEMORY 32768

/*
 * libmicrohttpd, opened by the first spk_loopback_start() (see dl.h).
 * Each function used is named once; the struct and the table are made
 * from the list.
 */
#define LIBMHD_FUNCTIONS(X) \
	X(add_response_header) \
	X(create_response_from_buffer) \
	X(destroy_response) \
	X(get_connection_values) \
	X(lookup_connection_value) \
	X(queue_response) \
	X(start_daemon) \
	X(stop_daemon)
#define LIBMHD_FIELD(name) __typeof__(MHD_##name) *name;
#define LIBMHD_ROW(name) SPK_DL_SYMBOL(mhd, MHD_, name),
static struct {
	LIBMHD_FUNCTIONS(LIBMHD_FIELD)
} mhd;
static const struct spk_dl_symbol mhd_symbols[] = { LIBMHD_FUNCTIONS(LIBMHD_ROW) };
static struct spk_dl_library libmhd = { "libmicrohttpd.so.12", "libmicrohttpd12", mhd_symbols,
					ARRAY_SIZE(mhd_symbols), false };

enum outcome {
	WAITING,
	GOT_CODE,
	GOT_ERROR,
};

struct spk_loopback {
	struct MHD_Daemon *daemons[2];
	int fds[2];
	int wake[2]; /* pipe: written once the answer to the winning redirect is sent */
	unsigned port;
	char *redirect_uri;
	char *host_header; /* expected Host: "HOST:PORT" */
	char *path;
	char *state;
	char *issuer;
	char *profile;

	pthread_mutex_t lock; /* guards outcome, result, result_err */
	enum outcome outcome;
	struct spk_callback result;
	struct spk_error result_err;
};

/* The connection that carried the winning redirect, marked via con_cls. */
static int winner_mark;

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	spk_log("loopback: %s", line);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *title,
			      const char *body_html)
{
	char *page = spk_page_render(title, body_html);

	if (!page) {
		return MHD_NO;
	}
	struct MHD_Response *resp =
		mhd.create_response_from_buffer(strlen(page), page, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(page);
		return MHD_NO;
	}
	mhd.add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
	mhd.add_response_header(resp, "Cache-Control", "no-store");
	mhd.add_response_header(resp, "Referrer-Policy", "no-referrer");
	mhd.add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'");
	mhd.add_response_header(resp, "X-Frame-Options", "DENY");
	mhd.add_response_header(resp, "Connection", "close");
	enum MHD_Result ret = mhd.queue_response(conn, status, resp);
	mhd.destroy_response(resp);
	return ret;
}

static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, const char *why)
{
	char body[512];
	snprintf(body, sizeof(body),
		 "<p>%s</p><p>This page is sparekey's login helper; it is still waiting for "
		 "the provider's redirect.</p>",
		 why);
	return answer(conn, status, "Not accepted", body);
}

struct arg_walk {
	struct spk_callback cb;
	bool bad;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct arg_walk *w = cls;
	(void)kind;
	if (spk_callback_set(&w->cb, key, value) < 0) {
		w->bad = true;
	}
	return MHD_YES;
}

static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	unsigned *n = cls;
	(void)kind;
	(void)value;
	if (strcasecmp(key, "Host") == 0) {
		(*n)++;
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct spk_loopback *lb = cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;

	if (strcmp(method, "GET") != 0) {
		spk_log("loopback: %s refused (method)", method);
		return refuse(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Only GET is accepted here.");
	}
	const char *host = mhd.lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
	unsigned hosts = 0;
	mhd.get_connection_values(conn, MHD_HEADER_KIND, count_host, &hosts);
	if (!host || hosts != 1 || strcasecmp(host, lb->host_header) != 0) {
		spk_log("loopback: request refused (Host header)");
		return refuse(conn, MHD_HTTP_MISDIRECTED_REQUEST, "Wrong Host header.");
	}
	if (strcmp(url, lb->path) != 0) {
		spk_log("loopback: request refused (path)");
		return refuse(conn, MHD_HTTP_NOT_FOUND, "Nothing here.");
	}

	struct arg_walk w = { 0 };
	mhd.get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &w);

	_cleanup_free_ char *profile = NULL;
	pthread_mutex_lock(&lb->lock);
	enum MHD_Result ret;
	int r = -EACCES;
	struct spk_error e = { 0 };
	if (lb->outcome != WAITING) {
		ret = refuse(conn, MHD_HTTP_CONFLICT,
			     "This login has already been completed; this request was ignored.");
		goto out;
	}
	if (!w.bad) {
		r = spk_callback_check(&w.cb, lb->state, lb->issuer, &e);
	}
	if (r == -EACCES) {
		spk_log("loopback: redirect refused (state, iss or code)");
		ret = refuse(conn, MHD_HTTP_BAD_REQUEST,
			     "This redirect does not belong to the login in progress.");
		goto out;
	}
	char body[1024];
	profile = spk_page_escape(lb->profile);
	if (r == 0) {
		lb->outcome = GOT_CODE;
		lb->result = w.cb;
		w.cb = (struct spk_callback){ 0 };
		snprintf(body, sizeof(body),
			 "<p>sparekey received the authorization for profile <code>%s</code> and "
			 "is storing it now.</p><p>You can close this tab and return to the "
			 "terminal.</p>",
			 profile ? profile : "");
		ret = answer(conn, MHD_HTTP_OK, "Signed in", body);
	} else {
		lb->outcome = GOT_ERROR;
		lb->result_err = e;
		_cleanup_free_ char *msg = spk_page_escape(e.msg);
		snprintf(body, sizeof(body),
			 "<p>The provider did not grant access for profile <code>%s</code>:</p>"
			 "<p><code>%s</code></p><p>Nothing was stored. You can close this tab; "
			 "the terminal says what to do next.</p>",
			 profile ? profile : "", msg ? msg : "");
		ret = answer(conn, MHD_HTTP_OK, "Sign-in failed", body);
	}
	*con_cls = &winner_mark;
	spk_log("loopback: redirect accepted");
out:
	pthread_mutex_unlock(&lb->lock);
	spk_callback_done(&w.cb);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct spk_loopback *lb = cls;
	(void)conn;
	(void)toe;
	if (*con_cls == &winner_mark) {
		/* The page is out (or the browser left): let the waiter go on. */
		ssize_t n = write(lb->wake[1], "x", 1);
		(void)n;
		*con_cls = NULL;
	}
}

static int listen_on(int family, unsigned port, int *ret_fd, unsigned *ret_port)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr = { 0 };
	socklen_t len;
	int one = 1;

	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return -errno;
	}
	/* A second login right after the first must get the same fixed port. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_addr = in6addr_loopback;
		addr.in6.sin6_port = htons((uint16_t)port);
		len = sizeof(addr.in6);
	} else {
		addr.in4.sin_family = AF_INET;
		addr.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addr.in4.sin_port = htons((uint16_t)port);
		len = sizeof(addr.in4);
	}
	if (bind(fd, &addr.sa, len) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, &addr.sa, &len) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	*ret_port = ntohs(family == AF_INET6 ? addr.in6.sin6_port : addr.in4.sin_port);
	return 0;
}

/*
 * Bind the sockets the host needs on one port. For "localhost" both
 * families share the port; a host without IPv6 gets IPv4 only.
 */
static int bind_port(struct spk_loopback *lb, const char *host, unsigned port)
{
	bool want4 = strcmp(host, "[::1]") != 0;
	bool want6 = strcmp(host, "127.0.0.1") != 0;
	unsigned got = port;
	int r;

	lb->fds[0] = lb->fds[1] = -1;
	if (want4) {
		r = listen_on(AF_INET, port, &lb->fds[0], &got);
		if (r < 0) {
			return r;
		}
	}
	if (want6) {
		r = listen_on(AF_INET6, got, &lb->fds[1], &got);
		if (r < 0 && want4 && (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL)) {
			r = 0; /* no IPv6 on this host: 127.0.0.1 alone serves localhost */
		}
		if (r < 0) {
			if (lb->fds[0] >= 0) {
				close(lb->fds[0]);
				lb->fds[0] = -1;
			}
			return r;
		}
	}
	lb->port = got;
	return 0;
}

int spk_loopback_start(const struct spk_loopback_config *cfg, struct spk_loopback **ret,
		       struct spk_error *err)
{
	int r = spk_dl_open(&libmhd, err);
	if (r < 0) {
		return r;
	}
	struct spk_loopback *lb = calloc(1, sizeof(*lb));
	r = -EADDRINUSE;
	if (!lb) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	pthread_mutex_init(&lb->lock, NULL);
	lb->fds[0] = lb->fds[1] = lb->wake[0] = lb->wake[1] = -1;
	lb->path = strdup(cfg->path);
	lb->state = strdup(cfg->state);
	lb->issuer = cfg->issuer ? strdup(cfg->issuer) : NULL;
	lb->profile = strdup(cfg->profile ? cfg->profile : "");
	if (!lb->path || !lb->state || !lb->profile || (cfg->issuer && !lb->issuer) ||
	    pipe2(lb->wake, O_CLOEXEC) < 0) {
		spk_loopback_free(lb);
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM,
				     "cannot set up the callback server");
	}

	if (cfg->n_ports == 0) {
		/* Ephemeral; for localhost the v6 half may collide, so retry a little. */
		for (int attempt = 0; attempt < 8 && r < 0; attempt++) {
			r = bind_port(lb, cfg->host, 0);
		}
	} else {
		for (size_t i = 0; i < cfg->n_ports && r < 0; i++) {
			r = bind_port(lb, cfg->host, cfg->ports[i]);
			if (r < 0) {
				spk_log("loopback: port %u: %s", cfg->ports[i], strerror(-r));
			}
		}
	}
	if (r < 0) {
		char list[128] = "";
		for (size_t i = 0, o = 0; i < cfg->n_ports && o < sizeof(list) - 8; i++) {
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%u", i ? " " : "",
					      cfg->ports[i]);
		}
		spk_loopback_free(lb);
		if (cfg->n_ports > 0) {
			return spk_error_set(err, SPK_ERR_TEMPFAIL, r,
					     "cannot listen on %s port %s (%s). Close what uses it "
					     "or add a port with --port",
					     cfg->host, list, strerror(-r));
		}
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "cannot listen on %s (%s)",
				     cfg->host, strerror(-r));
	}

	for (int i = 0; i < 2; i++) {
		if (lb->fds[i] < 0) {
			continue;
		}
		lb->daemons[i] = mhd.start_daemon(
			MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request,
			/* First, or MHD's own logger writes to stderr until it is set. */
			lb, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
			lb->fds[i], MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, 0u, MHD_OPTION_CONNECTION_TIMEOUT,
			(unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			(size_t)CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, lb,
			MHD_OPTION_END);
		if (!lb->daemons[i]) {
			spk_loopback_free(lb);
			return spk_error_set(err, SPK_ERR_INTERNAL, -EIO,
					     "cannot start the callback server");
		}
		lb->fds[i] = -1; /* the daemon owns it now */
	}

	const char *h = cfg->host;
	if (asprintf(&lb->host_header, "%s:%u", h, lb->port) < 0) {
		lb->host_header = NULL;
	}
	if (asprintf(&lb->redirect_uri, "http://%s:%u%s", h, lb->port, cfg->path) < 0) {
		lb->redirect_uri = NULL;
	}
	if (!lb->host_header || !lb->redirect_uri) {
		spk_loopback_free(lb);
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	spk_log("loopback: listening on %s port %u", h, lb->port);
	*ret = lb;
	return 0;
}

const char *spk_loopback_redirect_uri(const struct spk_loopback *lb)
{
	return lb->redirect_uri;
}

unsigned spk_loopback_port(const struct spk_loopback *lb)
{
	return lb->port;
}

int spk_loopback_wait(struct spk_loopback *lb, int timeout_ms, int other_fd,
		      struct spk_callback *ret, struct spk_error *err)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 +
			       (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= timeout_ms) {
			return -ETIMEDOUT;
		}
		struct pollfd pfd[2] = {
			{ .fd = lb->wake[0], .events = POLLIN },
			{ .fd = other_fd, .events = POLLIN },
		};
		int n = poll(pfd, other_fd >= 0 ? 2 : 1, (int)(timeout_ms - elapsed));
		if (n < 0 && errno != EINTR) {
			return spk_error_set(err, SPK_ERR_INTERNAL, -errno, "poll failed");
		}
		if (n > 0 && pfd[0].revents) {
			break;
		}
		if (n > 0 && other_fd >= 0 && pfd[1].revents) {
			return 1;
		}
	}

	pthread_mutex_lock(&lb->lock);
	int r = 0;
	if (lb->outcome == GOT_CODE) {
		*ret = lb->result;
		lb->result = (struct spk_callback){ 0 };
	} else {
		if (err && err->kind == SPK_ERR_NONE) {
			*err = lb->result_err;
		}
		r = -ECANCELED;
	}
	pthread_mutex_unlock(&lb->lock);
	return r;
}

void spk_loopback_free(struct spk_loopback *lb)
{
	if (!lb) {
		return;
	}
	for (int i = 0; i < 2; i++) {
		if (lb->daemons[i]) {
			mhd.stop_daemon(lb->daemons[i]);
		}
		if (lb->fds[i] >= 0) {
			close(lb->fds[i]);
		}
	}
	for (int i = 0; i < 2; i++) {
		if (lb->wake[i] >= 0) {
			close(lb->wake[i]);
		}
	}
	spk_callback_done(&lb->result);
	pthread_mutex_destroy(&lb->lock);
	free(lb->redirect_uri);
	free(lb->host_header);
	free(lb->path);
	free(lb->state);
	free(lb->issuer);
	free(lb->profile);
	free(lb);
}
