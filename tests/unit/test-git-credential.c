/*
 * git's credential-helper protocol: reading requests (edge cases and
 * refusals), which hosts and protocols get a token, choosing the profile by
 * host (host:port, first in the file, none), and the answer's lines.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "git-credential.h"

static struct spk_git_request parse_ok(const char *text)
{
	struct spk_git_request r = { 0 };
	struct spk_error err = { 0 };

	g_assert_cmpint(spk_git_request_parse(text, strlen(text), &r, &err), ==, 0);
	return r;
}

/* A refused request: the message names the line by number and holds none of its text. */
static void parse_refused(const char *text, size_t len, const char *want)
{
	struct spk_git_request r = { 0 };
	struct spk_error err = { 0 };

	g_assert_cmpint(spk_git_request_parse(text, len, &r, &err), ==, -EBADMSG);
	g_assert_cmpint(err.kind, ==, SPK_ERR_USAGE);
	g_assert_nonnull(strstr(err.msg, want));
	g_assert_null(strstr(err.msg, "s3cret"));
	g_assert_null(r.host);
}

static void test_parse(void)
{
	struct spk_git_request r =
		parse_ok("protocol=https\nhost=git.example.com:8443\n"
			 "path=org/repo.git\nusername=bob\npassword=s3cret\n"
			 "wwwauth[]=Basic realm=\"x\"\ncapability[]=authtype\n\n");
	g_assert_cmpstr(r.protocol, ==, "https");
	g_assert_cmpstr(r.host, ==, "git.example.com:8443");
	g_assert_cmpstr(r.path, ==, "org/repo.git");
	g_assert_cmpstr(r.username, ==, "bob");
	g_assert_cmpstr(r.password, ==, "s3cret");
	spk_git_request_done(&r);

	/* The end of input ends it too; CRLF; a value holding '='; the last value wins. */
	r = parse_ok("protocol=http\r\nhost=a\r\nhost=b\npassword=x=y==");
	g_assert_cmpstr(r.protocol, ==, "http");
	g_assert_cmpstr(r.host, ==, "b");
	g_assert_cmpstr(r.password, ==, "x=y==");
	g_assert_null(r.path);
	spk_git_request_done(&r);

	/* Nothing after the empty line is read, not even a malformed line. */
	r = parse_ok("host=a\n\nnot a line\0\n");
	g_assert_cmpstr(r.host, ==, "a");
	spk_git_request_done(&r);

	/* An empty request, an empty value. */
	r = parse_ok("");
	g_assert_null(r.host);
	spk_git_request_done(&r);
	r = parse_ok("\nhost=a\n");
	g_assert_null(r.host);
	spk_git_request_done(&r);
	r = parse_ok("host=\n");
	g_assert_cmpstr(r.host, ==, "");
	spk_git_request_done(&r);

	/* url= fills what the other keys left out, never a password. */
	r = parse_ok("url=https://alice:pw@git.example.com:444/team/repo.git?x=1\n");
	g_assert_cmpstr(r.protocol, ==, "https");
	g_assert_cmpstr(r.host, ==, "git.example.com:444");
	g_assert_cmpstr(r.username, ==, "alice");
	g_assert_cmpstr(r.path, ==, "team/repo.git");
	g_assert_null(r.password);
	spk_git_request_done(&r);
	r = parse_ok("host=given\nurl=http://127.0.0.1:9/\n");
	g_assert_cmpstr(r.host, ==, "given");
	g_assert_cmpstr(r.protocol, ==, "http");
	g_assert_null(r.path);
	spk_git_request_done(&r);
}

static void test_refusals(void)
{
	parse_refused("protocol=https\nhost\n\n", 21, "line 2 of the request is not key=value");
	parse_refused("password=s3cret\n=s3cret\n", 24, "line 2 of the request is not key=value");
	parse_refused("host=a\npassword=s3\0cret\n", 24, "line 2 of the request holds a NUL");

	/* One byte over the longest line, and the longest line itself. */
	size_t n = SPK_GIT_LINE_MAX + 1;
	char *long_line = malloc(n + 2);
	memset(long_line, 'a', n);
	memcpy(long_line, "path=", 5);
	long_line[n] = '\n';
	long_line[n + 1] = '\0';
	parse_refused(long_line, n + 1, "line 1 of the request is over 65536 bytes");
	long_line[n - 1] = '\n';
	struct spk_git_request r = parse_ok(long_line);
	g_assert_cmpuint(strlen(r.path), ==, SPK_GIT_LINE_MAX - 5);
	spk_git_request_done(&r);
	free(long_line);
}

/* spk_git_request_read on a pipe holding text, the writer's end left open or closed. */
static int read_from_pipe(const char *text, size_t len, bool close_writer,
			  struct spk_git_request *r, struct spk_error *err)
{
	int fds[2];
	g_assert_cmpint(pipe(fds), ==, 0);
	g_assert_cmpint(write(fds[1], text, len), ==, (ssize_t)len);
	if (close_writer) {
		close(fds[1]);
	}
	int ret = spk_git_request_read(fds[0], r, err);
	close(fds[0]);
	if (!close_writer) {
		close(fds[1]);
	}
	return ret;
}

static void test_read(void)
{
	struct spk_git_request r = { 0 };
	struct spk_error err = { 0 };

	/* git may hold the pipe open: the empty line alone ends the request. */
	const char *text = "protocol=https\nhost=h\n\n";
	g_assert_cmpint(read_from_pipe(text, strlen(text), false, &r, &err), ==, 0);
	g_assert_cmpstr(r.host, ==, "h");
	spk_git_request_done(&r);
	/* CRLF and a bare empty request. */
	text = "host=h\r\n\r\n";
	g_assert_cmpint(read_from_pipe(text, strlen(text), false, &r, &err), ==, 0);
	g_assert_cmpstr(r.host, ==, "h");
	spk_git_request_done(&r);
	g_assert_cmpint(read_from_pipe("\n", 1, false, &r, &err), ==, 0);
	g_assert_null(r.host);
	/* Or the end of input. */
	text = "host=h";
	g_assert_cmpint(read_from_pipe(text, strlen(text), true, &r, &err), ==, 0);
	g_assert_cmpstr(r.host, ==, "h");
	spk_git_request_done(&r);
	text = "host\n";
	g_assert_cmpint(read_from_pipe(text, strlen(text), true, &r, &err), ==, -EBADMSG);
}

static struct spk_git_request req(const char *protocol, const char *host)
{
	return (struct spk_git_request){ .protocol = (char *)protocol, .host = (char *)host };
}

static void test_hosts(void)
{
	g_assert_true(spk_git_host_loopback("127.0.0.1:8080"));
	g_assert_true(spk_git_host_loopback("127.1.2.3"));
	g_assert_true(spk_git_host_loopback("LocalHost:1"));
	g_assert_true(spk_git_host_loopback("[::1]:8080"));
	g_assert_true(spk_git_host_loopback("[::1]"));
	g_assert_false(spk_git_host_loopback("128.0.0.1"));
	g_assert_false(spk_git_host_loopback("127.0.0.1.example.com"));
	g_assert_false(spk_git_host_loopback("localhost.example.com"));
	g_assert_false(spk_git_host_loopback("127.0.0.256"));
	g_assert_false(spk_git_host_loopback("[::2]:80"));

	struct spk_git_request r = req("https", "git.example.com");
	g_assert_true(spk_git_protocol_ok(&r));
	r = req("http", "127.0.0.1:9418");
	g_assert_true(spk_git_protocol_ok(&r));
	/* Plain http to another machine, other protocols, none, no host: no token. */
	r = req("http", "git.example.com");
	g_assert_false(spk_git_protocol_ok(&r));
	r = req("smtp", "smtp.example.com:587");
	g_assert_false(spk_git_protocol_ok(&r));
	r = req("HTTPS", "git.example.com");
	g_assert_false(spk_git_protocol_ok(&r));
	r = req(NULL, "git.example.com");
	g_assert_false(spk_git_protocol_ok(&r));
	r = req("https", NULL);
	g_assert_false(spk_git_protocol_ok(&r));
	r = req("https", "");
	g_assert_false(spk_git_protocol_ok(&r));

	/* host as git sends it: with a port, that port only; whole words, any case. */
	const char *hosts = " git.example.com  127.0.0.1:8080\tGitLab.Example.org ";
	g_assert_true(spk_git_host_listed(hosts, "git.example.com"));
	g_assert_true(spk_git_host_listed(hosts, "127.0.0.1:8080"));
	g_assert_true(spk_git_host_listed(hosts, "gitlab.example.org"));
	g_assert_false(spk_git_host_listed(hosts, "127.0.0.1"));
	g_assert_false(spk_git_host_listed(hosts, "127.0.0.1:1"));
	g_assert_false(spk_git_host_listed(hosts, "git.example.com:443"));
	g_assert_false(spk_git_host_listed(hosts, "example.com"));
	g_assert_false(spk_git_host_listed(hosts, "git.example.co"));
	g_assert_false(spk_git_host_listed(hosts, ""));
	g_assert_false(spk_git_host_listed(NULL, "git.example.com"));
	g_assert_false(spk_git_host_listed("", "git.example.com"));

	/* Named on the command line without git_hosts: any host; with it, its hosts. */
	r = req("https", "other.example.com");
	g_assert_true(spk_git_serves(NULL, true, &r));
	g_assert_false(spk_git_serves(NULL, false, &r));
	g_assert_false(spk_git_serves("git.example.com", true, &r));
	r = req("http", "other.example.com");
	g_assert_false(spk_git_serves(NULL, true, &r));
	g_assert_false(spk_git_serves("other.example.com", false, &r));
}

static char *write_config(const char *dir, const char *text)
{
	char *path = g_build_filename(dir, "config", NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static char *pick(const char *path, const char *protocol, const char *host)
{
	struct spk_config *cfg = NULL;
	struct spk_error err = { 0 };
	struct spk_git_request r = req(protocol, host);
	char *name = NULL;

	g_assert_cmpint(spk_config_open(path, &cfg, &err), ==, 0);
	int ret = spk_git_pick_profile(cfg, &r, &name);
	spk_config_free(cfg);
	g_assert_true(ret == 0 || ret == -ENOENT);
	g_assert_true((ret == 0) == (name != NULL));
	return name;
}

static void test_pick(void)
{
	g_autofree char *dir = g_dir_make_tmp("spk-git-XXXXXX", NULL);
	g_autofree char *path = write_config(
		dir, "[nohosts]\nprovider=oidc\nclient_id=c\n\n"
		     "[broken]\nprovider=oidc\nmin_valid=x\ngit_hosts=git.example.com\n\n"
		     "[second]\nprovider=oidc\nclient_id=c\ngit_hosts=git.example.com:8443 "
		     "127.0.0.1:8080\n\n"
		     "[first]\nprovider=oidc\nclient_id=c\ngit_hosts=git.example.com\n\n"
		     "[also]\nprovider=oidc\nclient_id=c\ngit_hosts=git.example.com\n");
	char *name;

	/* A broken profile is passed over; of two, the first in the file. */
	name = pick(path, "https", "git.example.com");
	g_assert_cmpstr(name, ==, "first");
	free(name);
	name = pick(path, "https", "git.example.com:8443");
	g_assert_cmpstr(name, ==, "second");
	free(name);
	name = pick(path, "http", "127.0.0.1:8080");
	g_assert_cmpstr(name, ==, "second");
	free(name);
	/* No match: another port, no port, plain http to another machine, unknown host. */
	g_assert_null(pick(path, "https", "127.0.0.1:8081"));
	g_assert_null(pick(path, "https", "127.0.0.1"));
	g_assert_null(pick(path, "http", "git.example.com"));
	g_assert_null(pick(path, "https", "unlisted.example.com"));

	/* git_hosts and git_username are read and checked as profile keys. */
	g_autofree char *bad = write_config(dir, "[x]\nprovider=oidc\ngit_hosts=https://h/\n");
	struct spk_config *cfg = NULL;
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_error err = { 0 };
	g_assert_cmpint(spk_config_open(bad, &cfg, &err), ==, 0);
	g_assert_cmpint(spk_config_get(cfg, "x", &p, &err), ==, -EINVAL);
	g_assert_nonnull(strstr(err.msg, "git_hosts must be host names or host:port"));
	spk_config_free(cfg);
	g_autofree char *good = write_config(dir, "[x]\nprovider=oidc\ngit_hosts=a b:1 [::1]:2\n"
						  "git_username=x-access-token\n");
	g_assert_cmpint(spk_config_open(good, &cfg, &err), ==, 0);
	g_assert_cmpint(spk_config_get(cfg, "x", &p, &err), ==, 0);
	g_assert_cmpstr(p.git_hosts, ==, "a b:1 [::1]:2");
	g_assert_cmpstr(p.git_username, ==, "x-access-token");
	spk_profile_done(&p);
	spk_config_free(cfg);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_answer(void)
{
	struct spk_error err = { 0 };
	char *out = NULL;

	g_assert_cmpint(spk_git_answer("oauth2", "tok.en=", 1700000000, &out, &err), ==, 0);
	g_assert_cmpstr(out, ==,
			"username=oauth2\npassword=tok.en=\npassword_expiry_utc=1700000000\n");
	free(out);
	g_assert_cmpint(spk_git_answer("oauth2", "t", 0, &out, &err), ==, 0);
	g_assert_cmpstr(out, ==, "username=oauth2\npassword=t\n");
	free(out);
	/* No line smuggled in through a value. */
	out = NULL;
	g_assert_cmpint(spk_git_answer("a\nquit=1", "t", 0, &out, &err), ==, -EINVAL);
	g_assert_cmpint(spk_git_answer("a", "t\r\nusername=x", 0, &out, &err), ==, -EINVAL);
	g_assert_null(out);
	g_assert_null(strstr(err.msg, "username=x"));

	/* The expiry: the token's, or the assumed lifetime's end when the provider gave none. */
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { .expires_at = 2000, .obtained_at = 1000, .refresh_token = "r" };
	g_assert_cmpint(spk_git_expiry(&p, &g, 1500), ==, 2000);
	g.expires_at = 0;
	g_assert_cmpint(spk_git_expiry(&p, &g, 1500), ==, 1000 + SPK_DEFAULT_ASSUME_LIFETIME);
	g.refresh_token = NULL;
	g_assert_cmpint(spk_git_expiry(&p, &g, 1500), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/git-credential/parse", test_parse);
	g_test_add_func("/git-credential/refusals", test_refusals);
	g_test_add_func("/git-credential/read", test_read);
	g_test_add_func("/git-credential/hosts", test_hosts);
	g_test_add_func("/git-credential/pick", test_pick);
	g_test_add_func("/git-credential/answer", test_answer);
	return g_test_run();
}
