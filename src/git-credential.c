#include "git-credential.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "health.h"
#include "log.h"
#include "secret.h"

void spk_git_request_done(struct spk_git_request *r)
{
	if (!r) {
		return;
	}
	free(r->protocol);
	free(r->host);
	free(r->path);
	free(r->username);
	spk_secret_free(r->password);
	*r = (struct spk_git_request){ 0 };
}

/* The member a key fills, or NULL for a key sparekey does not use. */
static char **slot_of(struct spk_git_request *r, const char *key, size_t n)
{
	static const struct {
		const char *key;
		size_t offset;
	} keys[] = {
		{ "protocol", offsetof(struct spk_git_request, protocol) },
		{ "host", offsetof(struct spk_git_request, host) },
		{ "path", offsetof(struct spk_git_request, path) },
		{ "username", offsetof(struct spk_git_request, username) },
		{ "password", offsetof(struct spk_git_request, password) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strlen(keys[i].key) == n && memcmp(keys[i].key, key, n) == 0) {
			return (char **)((char *)r + keys[i].offset);
		}
	}
	return NULL;
}

/* Set *slot to a copy of n bytes of v (a secret's slot is wiped first). */
static int set_value(char **slot, bool secret, const char *v, size_t n)
{
	/* Not strndup: v need not be NUL-terminated after n bytes. */
	char *copy = malloc(n + 1);
	if (!copy) {
		return -ENOMEM;
	}
	memcpy(copy, v, n);
	copy[n] = '\0';
	if (secret) {
		spk_secret_free(*slot);
	} else {
		free(*slot);
	}
	*slot = copy;
	return 0;
}

/*
 * url=PROTOCOL://[USER[:PASSWORD]@]HOST[/PATH]: the members the request did
 * not give. A password in the URL is never taken: git sends it on its own
 * line when it has one.
 */
static int fill_from_url(struct spk_git_request *r, const char *url)
{
	const char *sep = strstr(url, "://");
	if (!sep) {
		return 0;
	}
	const char *authority = sep + 3;
	size_t alen = strcspn(authority, "/?#");
	const char *at = memchr(authority, '@', alen);
	const char *host = at ? at + 1 : authority;
	size_t hlen = alen - (size_t)(host - authority);
	int ret = 0;

	if (!r->protocol) {
		ret = set_value(&r->protocol, false, url, (size_t)(sep - url));
	}
	if (ret == 0 && !r->host && hlen > 0) {
		ret = set_value(&r->host, false, host, hlen);
	}
	if (ret == 0 && !r->username && at) {
		size_t ulen = strcspn(authority, ":@");
		ret = set_value(&r->username, false, authority, ulen);
	}
	if (ret == 0 && !r->path && authority[alen] == '/' && authority[alen + 1]) {
		const char *path = authority + alen + 1;
		ret = set_value(&r->path, false, path, strcspn(path, "?#"));
	}
	return ret;
}

/* One line, without its end; lineno counts from 1 for messages. */
static int parse_line(struct spk_git_request *r, const char *line, size_t n, size_t lineno,
		      char **url, struct spk_error *err)
{
	if (memchr(line, '\0', n)) {
		return spk_error_set(
			err, SPK_ERR_USAGE, -EBADMSG,
			"git-credential: line %zu of the request holds a NUL byte; git "
			"sends key=value text lines",
			lineno);
	}
	if (n > SPK_GIT_LINE_MAX) {
		return spk_error_set(
			err, SPK_ERR_USAGE, -EBADMSG,
			"git-credential: line %zu of the request is over %d bytes long", lineno,
			SPK_GIT_LINE_MAX);
	}
	const char *eq = memchr(line, '=', n);
	if (!eq || eq == line) {
		return spk_error_set(err, SPK_ERR_USAGE, -EBADMSG,
				     "git-credential: line %zu of the request is not key=value, as "
				     "git sends each line",
				     lineno);
	}
	size_t klen = (size_t)(eq - line);
	const char *value = eq + 1;
	size_t vlen = n - klen - 1;
	char **slot = slot_of(r, line, klen);
	int ret = 0;
	if (slot) {
		ret = set_value(slot, slot == &r->password, value, vlen);
	} else if (klen == 3 && memcmp(line, "url", 3) == 0) {
		/* A URL may hold a password: a secret until it is parsed. */
		ret = set_value(url, true, value, vlen);
	}
	return ret < 0 ? spk_error_set(err, SPK_ERR_INTERNAL, ret, "out of memory") : 0;
}

int spk_git_request_parse(const char *buf, size_t len, struct spk_git_request *ret,
			  struct spk_error *err)
{
	struct spk_git_request r = { 0 };
	_cleanup_secret_ char *url = NULL;
	size_t pos = 0, lineno = 0;
	int rc = 0;

	while (pos < len && rc == 0) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		lineno++;
		if (n > 0 && line[n - 1] == '\r') {
			n--;
		}
		if (n == 0) {
			break; /* the empty line that ends the request */
		}
		rc = parse_line(&r, line, n, lineno, &url, err);
	}
	if (rc == 0 && url && fill_from_url(&r, url) < 0) {
		rc = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	if (rc < 0) {
		spk_git_request_done(&r);
		return rc;
	}
	*ret = r;
	return 0;
}

/* The length of buf up to and with the empty line that ends a request; 0: not yet. */
static size_t request_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && buf[i - 1] != '\n') {
			continue;
		}
		/* buf[i] starts a line: is it empty? */
		if (buf[i] == '\n') {
			return i + 1;
		}
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n') {
			return i + 2;
		}
	}
	return 0;
}

int spk_git_request_read(int fd, struct spk_git_request *ret, struct spk_error *err)
{
	size_t cap = 4096, len = 0, end = 0;
	char *buf = malloc(cap);
	int r = 0;

	if (!buf) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	while (end == 0) {
		if (len == cap) {
			if (cap >= SPK_GIT_REQUEST_MAX) {
				r = spk_error_set(
					err, SPK_ERR_USAGE, -E2BIG,
					"git-credential: the request is over %d bytes long",
					SPK_GIT_REQUEST_MAX);
				break;
			}
			/* Grown by copying, so that no copy of a password is freed unwiped. */
			char *bigger = malloc(cap * 2);
			if (!bigger) {
				r = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
				break;
			}
			memcpy(bigger, buf, len);
			spk_wipe(buf, cap);
			free(buf);
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			r = spk_error_set(err, SPK_ERR_INTERNAL, -errno,
					  "git-credential: cannot read the request (%s)",
					  strerror(errno));
			break;
		}
		if (n == 0) {
			end = len;
			break;
		}
		/* Search from the start of the line the last read ended in. */
		size_t from = len;
		while (from > 0 && buf[from - 1] != '\n') {
			from--;
		}
		len += (size_t)n;
		size_t e = request_end(buf + from, len - from);
		end = e ? from + e : 0;
	}
	if (r == 0) {
		r = spk_git_request_parse(buf, end, ret, err);
	}
	spk_wipe(buf, cap);
	free(buf);
	return r;
}

/* The name part of a host: without ":port", and without the brackets of an IPv6 address. */
static size_t host_name(const char *host, const char **ret_name)
{
	if (host[0] == '[') {
		const char *close = strchr(host, ']');
		*ret_name = host + 1;
		return close ? (size_t)(close - host - 1) : strlen(host + 1);
	}
	*ret_name = host;
	return strcspn(host, ":");
}

static bool is_ipv4_loopback(const char *name, size_t n)
{
	char buf[16];
	unsigned a, b, c, d;
	char extra;

	if (n >= sizeof(buf)) {
		return false;
	}
	memcpy(buf, name, n);
	buf[n] = '\0';
	return sscanf(buf, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 &&
	       b < 256 && c < 256 && d < 256 && strspn(buf, "0123456789.") == n;
}

bool spk_git_host_loopback(const char *host)
{
	const char *name;
	size_t n = host_name(host, &name);

	return (n == 9 && strncasecmp(name, "localhost", 9) == 0) ||
	       (n == 3 && memcmp(name, "::1", 3) == 0) || is_ipv4_loopback(name, n);
}

bool spk_git_protocol_ok(const struct spk_git_request *req)
{
	if (!req->protocol || !req->host || !req->host[0]) {
		return false;
	}
	return strcmp(req->protocol, "https") == 0 ||
	       (strcmp(req->protocol, "http") == 0 && spk_git_host_loopback(req->host));
}

bool spk_git_host_listed(const char *git_hosts, const char *host)
{
	size_t hlen = strlen(host);

	if (!git_hosts || hlen == 0) {
		return false;
	}
	for (const char *s = git_hosts; *s;) {
		s += strspn(s, " \t");
		size_t n = strcspn(s, " \t");
		if (n == hlen && strncasecmp(s, host, n) == 0) {
			return true;
		}
		s += n;
	}
	return false;
}

bool spk_git_serves(const char *git_hosts, bool named, const struct spk_git_request *req)
{
	if (!spk_git_protocol_ok(req)) {
		return false;
	}
	if (named && !git_hosts) {
		return true;
	}
	return spk_git_host_listed(git_hosts, req->host);
}

int spk_git_pick_profile(const struct spk_config *cfg, const struct spk_git_request *req,
			 char **ret_name)
{
	char **names = spk_config_profiles(cfg);
	int r = -ENOENT;

	if (!names) {
		return -ENOMEM;
	}
	for (size_t i = 0; names[i] && r == -ENOENT; i++) {
		struct spk_profile p = SPK_PROFILE_INIT;
		struct spk_error e = { 0 };
		if (spk_config_get(cfg, names[i], &p, &e) < 0) {
			spk_log("git-credential: profile %s passed over: %s", names[i], e.msg);
			continue;
		}
		if (p.git_hosts && spk_git_serves(p.git_hosts, false, req)) {
			*ret_name = strdup(names[i]);
			r = *ret_name ? 0 : -ENOMEM;
		}
		spk_profile_done(&p);
	}
	spk_strv_free(names);
	return r;
}

int64_t spk_git_expiry(const struct spk_profile *p, const struct spk_grant *g, int64_t now)
{
	int64_t left = spk_health_valid_for(p, g, now);
	return left == INT64_MAX ? 0 : now + left;
}

static bool one_line(const char *s)
{
	return !strpbrk(s, "\r\n");
}

int spk_git_answer(const char *username, const char *password, int64_t expiry_utc, char **ret,
		   struct spk_error *err)
{
	char *out = NULL;
	int n;

	if (!one_line(username)) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				     "git_username must be one line (it is sent to git as one)");
	}
	if (!one_line(password)) {
		return spk_error_set(err, SPK_ERR_UNAVAILABLE, -EINVAL,
				     "the access token holds a line break; git's protocol cannot "
				     "carry it");
	}
	if (expiry_utc > 0) {
		n = asprintf(&out, "username=%s\npassword=%s\npassword_expiry_utc=%lld\n", username,
			     password, (long long)expiry_utc);
	} else {
		n = asprintf(&out, "username=%s\npassword=%s\n", username, password);
	}
	if (n < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	*ret = out;
	return 0;
}
