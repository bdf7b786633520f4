/*
 * heartbeat_url: the URL pinged on success and failure, and the pings
 * themselves against servers on 127.0.0.1 in this process: one that
 * answers (what it was sent), one that accepts and never answers (the
 * bound), and a port where nothing listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "heartbeat.h"

static void test_url(void)
{
	static const struct {
		const char *url;
		const char *fail;
	} cases[] = {
		{ "https://hc-ping.com/5f0c", "https://hc-ping.com/5f0c/fail" },
		{ "https://hc-ping.com/5f0c/", "https://hc-ping.com/5f0c/fail" },
		{ "https://hc.example/ping/k/job?rid=1",
		  "https://hc.example/ping/k/job/fail?rid=1" },
		{ "https://hc.example/p#x", "https://hc.example/p/fail#x" },
		{ "http://127.0.0.1:8000", "http://127.0.0.1:8000/fail" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *ok = spk_heartbeat_url(cases[i].url, false);
		g_autofree char *fail = spk_heartbeat_url(cases[i].url, true);
		g_assert_cmpstr(ok, ==, cases[i].url);
		g_assert_cmpstr(fail, ==, cases[i].fail);
	}
}

/* A server on 127.0.0.1: accepts one connection, keeps the request, answers unless mute. */
struct server {
	int fd;
	unsigned port;
	bool mute;
	char request[2048];
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	size_t len = 0;

	if (c < 0) {
		return NULL;
	}
	while (len < sizeof(s->request) - 1 && !strstr(s->request, "\r\n\r\n")) {
		ssize_t n = read(c, s->request + len, sizeof(s->request) - 1 - len);
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
		s->request[len] = '\0';
	}
	if (s->mute) {
		/* Hold the connection until the client gives up. */
		char b;
		while (read(c, &b, 1) > 0) {
		}
	} else {
		static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
					     "Connection: close\r\n\r\nOK";
		(void)!write(c, answer, sizeof(answer) - 1);
	}
	close(c);
	return NULL;
}

static void server_start(struct server *s, bool mute)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	*s = (struct server){ .mute = mute };
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(s->fd, >=, 0);
	g_assert_cmpint(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(listen(s->fd, 4), ==, 0);
	g_assert_cmpint(getsockname(s->fd, (struct sockaddr *)&a, &alen), ==, 0);
	s->port = ntohs(a.sin_port);
	g_assert_cmpint(pthread_create(&s->thread, NULL, serve, s), ==, 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_ping(void)
{
	struct server up, mute;
	struct spk_profile ok = SPK_PROFILE_INIT, failed = SPK_PROFILE_INIT,
			   none = SPK_PROFILE_INIT, plain = SPK_PROFILE_INIT,
			   closed = SPK_PROFILE_INIT;
	struct timespec t0;

	server_start(&up, false);
	server_start(&mute, true);
	/* A port that was free a moment ago: nothing listens there. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &alen), ==, 0);
	close(fd);

	failed.heartbeat_url = g_strdup_printf("http://127.0.0.1:%u/ping/job", up.port);
	ok.heartbeat_url = g_strdup_printf("http://127.0.0.1:%u/ping/job", mute.port);
	plain.heartbeat_url = g_strdup("http://hc.example/ping/job");
	closed.heartbeat_url = g_strdup_printf("http://127.0.0.1:%u/x", ntohs(a.sin_port));
	struct spk_heartbeat beats[] = {
		{ .profile = &failed, .failed = true },
		{ .profile = &ok },
		{ .profile = &none },
		{ .profile = &plain },
		{ .profile = &closed },
	};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	spk_heartbeat_send(beats, G_N_ELEMENTS(beats));
	double took = seconds_since(&t0);

	/* The answering server got URL/fail, a plain GET with nothing of ours but the URL. */
	g_assert_true(g_str_has_prefix(up.request, "GET /ping/job/fail HTTP/1.1\r\n"));
	g_assert_null(strcasestr(up.request, "authorization:"));
	g_assert_null(strcasestr(up.request, "cookie:"));
	g_assert_cmpint(beats[0].status, ==, 200);
	g_assert_true(beats[0].sent);
	/* The mute one got the success ping, then was given up on at the bound. */
	g_assert_true(g_str_has_prefix(mute.request, "GET /ping/job HTTP/1.1\r\n"));
	g_assert_cmpint(beats[1].status, ==, -ETIMEDOUT);
	g_assert_false(beats[1].sent);
	g_assert_cmpfloat(took, >=, SPK_HEARTBEAT_TIMEOUT_MS / 1000.0 - 0.2);
	g_assert_cmpfloat(took, <, SPK_HEARTBEAT_TIMEOUT_MS / 1000.0 + 2);
	/* No URL: nothing sent. Plain http to another host: refused, nothing sent. */
	g_assert_cmpint(beats[2].status, ==, 0);
	g_assert_false(beats[2].sent);
	g_assert_cmpint(beats[3].status, ==, -EPROTONOSUPPORT);
	g_assert_false(beats[3].sent);
	g_assert_cmpint(beats[4].status, ==, -ECONNREFUSED);
	g_assert_false(beats[4].sent);

	server_stop(&up);
	server_stop(&mute);
	g_free(ok.heartbeat_url);
	g_free(failed.heartbeat_url);
	g_free(plain.heartbeat_url);
	g_free(closed.heartbeat_url);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/heartbeat/url", test_url);
	g_test_add_func("/heartbeat/ping", test_ping);
	return g_test_run();
}
