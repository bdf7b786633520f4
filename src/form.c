#include "form.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"

static void form_append(struct spk_form *f, const char *s, size_t n)
{
	if (!f->failed && spk_secret_append(&f->buf, &f->len, &f->cap, s, n) < 0) {
		f->failed = true;
	}
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static void form_append_encoded(struct spk_form *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p)) {
			form_append(f, (const char *)p, 1);
		} else {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			form_append(f, esc, 3);
		}
	}
}

void spk_form_init(struct spk_form *f, const char *prefix)
{
	*f = (struct spk_form){ 0 };
	form_append(f, "", 0);
	if (prefix) {
		form_append(f, prefix, strlen(prefix));
		f->sep = strchr(prefix, '?') ? '&' : '?';
	}
}

void spk_form_add(struct spk_form *f, const char *name, const char *value)
{
	if (f->sep) {
		form_append(f, &f->sep, 1);
	}
	f->sep = '&';
	form_append_encoded(f, name);
	form_append(f, "=", 1);
	form_append_encoded(f, value ? value : "");
}

int spk_form_get(const struct spk_form *f, const char **ret)
{
	if (f->failed || !f->buf) {
		return -ENOMEM;
	}
	*ret = f->buf;
	return 0;
}

void spk_form_done(struct spk_form *f)
{
	if (f->buf) {
		spk_wipe(f->buf, f->cap);
		free(f->buf);
	}
	*f = (struct spk_form){ 0 };
}

char *spk_url_encode(const char *s)
{
	struct spk_form f;
	const char *out;

	spk_form_init(&f, NULL);
	form_append_encoded(&f, s);
	char *r = spk_form_get(&f, &out) == 0 ? strdup(out) : NULL;
	spk_form_done(&f);
	return r;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static int url_decode(const char *s, size_t n, char **ret)
{
	char *out = malloc(n + 1);
	size_t o = 0;

	if (!out) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			/* A NUL byte would silently cut the value short: refuse it. */
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				spk_wipe(out, n + 1);
				free(out);
				return -EINVAL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	*ret = out;
	return 0;
}

int spk_query_next(const char **cursor, char **ret_name, char **ret_value)
{
	const char *p = *cursor;

	while (*p == '&') {
		p++;
	}
	if (*p == '\0' || *p == '#') {
		*cursor = p;
		return 0;
	}
	size_t n = strcspn(p, "&#");
	const char *eq = memchr(p, '=', n);
	size_t nlen = eq ? (size_t)(eq - p) : n;
	char *name = NULL, *value = NULL;
	int r = url_decode(p, nlen, &name);
	if (r < 0) {
		return r;
	}
	r = eq ? url_decode(eq + 1, n - nlen - 1, &value) : url_decode("", 0, &value);
	if (r < 0) {
		free(name);
		return r;
	}
	*cursor = p + n;
	*ret_name = name;
	*ret_value = value;
	return 1;
}
