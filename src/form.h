/*
 * application/x-www-form-urlencoded and URL query building and parsing.
 * A struct spk_form is a growable buffer that may hold secrets (codes,
 * verifiers, refresh tokens): spk_form_done() wipes it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct spk_form {
	char *buf;
	size_t len, cap;
	char sep;    /* what goes before the next pair: '?', '&' or nothing */
	bool failed; /* an allocation failed; checked once at the end */
};

/* Start with an optional prefix (a URL, for a query string). */
void spk_form_init(struct spk_form *f, const char *prefix);
/* Append name=value, percent-encoded, with '&' (or '?' after a URL). */
void spk_form_add(struct spk_form *f, const char *name, const char *value);
/* The string, or -ENOMEM if any append failed. Still owned by f. */
int spk_form_get(const struct spk_form *f, const char **ret);
void spk_form_done(struct spk_form *f);

/* Percent-encode everything but RFC 3986 unreserved characters. */
char *spk_url_encode(const char *s);

/*
 * Iterate over "a=b&c=d": on each call return the next decoded pair as new
 * strings in *ret_name, *ret_value. Returns 1 for a pair, 0 at the end,
 * negative errno for a malformed escape or out-of-memory.
 */
int spk_query_next(const char **cursor, char **ret_name, char **ret_value);
