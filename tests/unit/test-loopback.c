/*
 * The callback server, driven over real sockets on 127.0.0.1: wrong
 * requests are refused and the wait goes on; the right one ends it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loopback.h"

/* Send a raw request; return the status code of the answer (0 on failure). */
static int http_raw(int family, unsigned port, const char *request)
{
	int fd = socket(family, SOCK_STREAM, 0);
	g_assert_cmpint(fd, >=, 0);
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons((uint16_t)port),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int r = family == AF_INET ? connect(fd, (struct sockaddr *)&in4, sizeof(in4))
				  : connect(fd, (struct sockaddr *)&in6, sizeof(in6));
	if (r < 0) {
		close(fd);
		return 0;
	}
	g_assert_cmpint(write(fd, request, strlen(request)), ==, (ssize_t)strlen(request));
	char buf[4096] = { 0 };
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += (size_t)n;
	}
	close(fd);
	int status = 0;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

static char *get(const char *host, const char *target)
{
	return g_strdup_printf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target,
			       host);
}

static void test_refuses_then_accepts(void)
{
	struct spk_loopback *lb = NULL;
	struct spk_error err = { 0 };
	struct spk_loopback_config cfg = {
		.host = "127.0.0.1",
		.path = "/callback",
		.state = "S-good",
		.profile = "t",
	};
	g_assert_cmpint(spk_loopback_start(&cfg, &lb, &err), ==, 0);
	unsigned port = spk_loopback_port(lb);
	g_autofree char *host = g_strdup_printf("127.0.0.1:%u", port);
	g_autofree char *uri = g_strdup_printf("http://127.0.0.1:%u/callback", port);
	g_assert_cmpstr(spk_loopback_redirect_uri(lb), ==, uri);

	struct {
		const char *req;
		int status;
	} bad[] = {
		{ get(host, "/other?code=C&state=S-good"), 404 },
		{ get("evil.example:80", "/callback?code=C&state=S-good"), 421 },
		{ get(host, "/callback?code=C&state=S-bad"), 400 },
		{ get(host, "/callback?code=C"), 400 },
		{ get(host, "/callback?error=access_denied&state=S-bad"), 400 },
		{ get(host, "/callback?code=C&code=D&state=S-good"), 400 },
		{ g_strdup_printf("POST /callback?code=C&state=S-good HTTP/1.1\r\nHost: %s\r\n"
				  "Content-Length: 0\r\nConnection: close\r\n\r\n",
				  host),
		  405 },
		{ g_strdup_printf("GET /callback?code=C&state=S-good HTTP/1.1\r\nHost: %s\r\n"
				  "Host: evil.example\r\nConnection: close\r\n\r\n",
				  host),
		  421 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_message("bad request %zu", i);
		g_assert_cmpint(http_raw(AF_INET, port, bad[i].req), ==, bad[i].status);
		g_free((char *)bad[i].req);
	}
	/* None of them ended the wait. */
	struct spk_callback cb = { 0 };
	g_assert_cmpint(spk_loopback_wait(lb, 200, -1, &cb, &err), ==, -ETIMEDOUT);

	g_autofree char *good = get(host, "/callback?code=the-code&state=S-good");
	g_assert_cmpint(http_raw(AF_INET, port, good), ==, 200);
	g_assert_cmpint(spk_loopback_wait(lb, 2000, -1, &cb, &err), ==, 0);
	g_assert_cmpstr(cb.code, ==, "the-code");
	/* The first valid redirect wins; a replay is refused. */
	g_assert_cmpint(http_raw(AF_INET, port, good), ==, 409);
	spk_callback_done(&cb);
	spk_loopback_free(lb);
}

static void test_provider_error(void)
{
	struct spk_loopback *lb = NULL;
	struct spk_error err = { 0 };
	struct spk_loopback_config cfg = {
		.host = "127.0.0.1",
		.path = "/cb",
		.state = "S",
		.profile = "<b>x</b>",
	};
	g_assert_cmpint(spk_loopback_start(&cfg, &lb, &err), ==, 0);
	unsigned port = spk_loopback_port(lb);
	g_autofree char *host = g_strdup_printf("127.0.0.1:%u", port);
	g_autofree char *req =
		get(host, "/cb?error=access_denied&error_description=%3Cscript%3E&state=S");
	g_assert_cmpint(http_raw(AF_INET, port, req), ==, 200);
	struct spk_callback cb = { 0 };
	g_assert_cmpint(spk_loopback_wait(lb, 2000, -1, &cb, &err), ==, -ECANCELED);
	g_assert_cmpint(err.kind, ==, SPK_ERR_LOGIN);
	g_assert_cmpstr(err.oauth, ==, "access_denied");
	spk_loopback_free(lb);
}

static void test_fixed_port_reuse_and_localhost(void)
{
	struct spk_loopback *lb = NULL;
	struct spk_error err = { 0 };
	struct spk_loopback_config cfg = {
		.host = "localhost",
		.path = "/callback",
		.state = "S",
		.profile = "t",
	};
	/* Find a free port, then use it as a fixed one twice in a row. */
	g_assert_cmpint(spk_loopback_start(&cfg, &lb, &err), ==, 0);
	unsigned port = spk_loopback_port(lb);
	g_autofree char *host = g_strdup_printf("localhost:%u", port);
	g_autofree char *good = get(host, "/callback?code=C&state=S");
	g_assert_cmpint(http_raw(AF_INET, port, good), ==, 200);
	spk_loopback_free(lb);

	unsigned ports[] = { port };
	cfg.ports = ports;
	cfg.n_ports = 1;
	for (int round = 0; round < 2; round++) {
		g_assert_cmpint(spk_loopback_start(&cfg, &lb, &err), ==, 0);
		g_assert_cmpuint(spk_loopback_port(lb), ==, port);
		/* localhost: both families answer, where the host has IPv6. */
		int v6 = http_raw(AF_INET6, port, good);
		g_assert_true(v6 == 200 || v6 == 0);
		g_assert_cmpint(http_raw(AF_INET, port, good), ==, v6 == 200 ? 409 : 200);
		spk_loopback_free(lb);
	}

	/* A busy fixed port: the next one in the list is used. */
	struct spk_loopback *holder = NULL;
	g_assert_cmpint(spk_loopback_start(&cfg, &holder, &err), ==, 0);
	unsigned two[] = { port, 0 };
	struct spk_loopback *probe = NULL;
	cfg.n_ports = 0;
	g_assert_cmpint(spk_loopback_start(&cfg, &probe, &err), ==, 0);
	two[1] = spk_loopback_port(probe);
	spk_loopback_free(probe);
	cfg.ports = two;
	cfg.n_ports = 2;
	g_assert_cmpint(spk_loopback_start(&cfg, &lb, &err), ==, 0);
	g_assert_cmpuint(spk_loopback_port(lb), ==, two[1]);
	spk_loopback_free(lb);

	/* Only busy ports: a clear error naming them. */
	cfg.ports = ports;
	cfg.n_ports = 1;
	g_assert_cmpint(spk_loopback_start(&cfg, &lb, &err), ==, -EADDRINUSE);
	g_assert_cmpint(err.kind, ==, SPK_ERR_TEMPFAIL);
	g_autofree char *port_s = g_strdup_printf("%u", port);
	g_assert_nonnull(strstr(err.msg, port_s));
	spk_loopback_free(holder);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/loopback/refuses-then-accepts", test_refuses_then_accepts);
	g_test_add_func("/loopback/provider-error", test_provider_error);
	g_test_add_func("/loopback/fixed-port-reuse-and-localhost",
			test_fixed_port_reuse_and_localhost);
	return g_test_run();
}
