#include "callback.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "secret.h"

static char **field(struct spk_callback *cb, const char *name)
{
	if (strcmp(name, "code") == 0) {
		return &cb->code;
	}
	if (strcmp(name, "state") == 0) {
		return &cb->state;
	}
	if (strcmp(name, "iss") == 0) {
		return &cb->iss;
	}
	if (strcmp(name, "error") == 0) {
		return &cb->error;
	}
	if (strcmp(name, "error_description") == 0) {
		return &cb->error_description;
	}
	return NULL;
}

int spk_callback_set(struct spk_callback *cb, const char *name, const char *value)
{
	char **f = field(cb, name);

	if (!f) {
		return 0;
	}
	if (*f) {
		return -EINVAL; /* a second code or state: ambiguous, refuse it all */
	}
	*f = strdup(value ? value : "");
	return *f ? 0 : -ENOMEM;
}

int spk_callback_parse_query(const char *query, struct spk_callback *ret)
{
	struct spk_callback cb = { 0 };
	const char *cursor = query;
	int r;

	for (;;) {
		_cleanup_secret_ char *name = NULL, *value = NULL;
		r = spk_query_next(&cursor, &name, &value);
		if (r <= 0) {
			break;
		}
		r = spk_callback_set(&cb, name, value);
		if (r < 0) {
			break;
		}
	}
	if (r < 0) {
		spk_callback_done(&cb);
		return r;
	}
	*ret = cb;
	return 0;
}

static bool streq_ct(const char *a, const char *b)
{
	return spk_memeq_ct(a, strlen(a), b, strlen(b));
}

/* RFC 6749 §4.1.2.1 error codes, mapped to what the user must do. */
static enum spk_error_kind authorize_error_kind(const char *error)
{
	if (strcmp(error, "access_denied") == 0) {
		return SPK_ERR_LOGIN;
	}
	if (strcmp(error, "server_error") == 0 || strcmp(error, "temporarily_unavailable") == 0) {
		return SPK_ERR_TEMPFAIL;
	}
	return SPK_ERR_CONFIG;
}

static bool printable_code(const char *s)
{
	if (!*s || strlen(s) > 48) {
		return false;
	}
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_')) {
			return false;
		}
	}
	return true;
}

int spk_callback_check(const struct spk_callback *cb, const char *expected_state,
		       const char *expected_iss, struct spk_error *err)
{
	if (!cb->state || !streq_ct(cb->state, expected_state)) {
		return -EACCES;
	}
	if (expected_iss && cb->iss && strcmp(cb->iss, expected_iss) != 0) {
		return -EACCES; /* RFC 9207: a mix-up attempt */
	}
	if (cb->error) {
		const char *code = printable_code(cb->error) ? cb->error : "invalid error code";
		spk_error_set_oauth(err, authorize_error_kind(code), -ECANCELED, code,
				    "the provider refused the authorization (%s%s%.120s)", code,
				    cb->error_description ? ": " : "",
				    cb->error_description ? cb->error_description : "");
		return -ECANCELED;
	}
	if (!cb->code || !*cb->code) {
		return -EACCES;
	}
	return 0;
}

int spk_callback_parse_pasted(char *line, const char *expected_state, const char *expected_iss,
			      struct spk_callback *ret, struct spk_error *err)
{
	char *s = line;
	while (*s == ' ' || *s == '\t') {
		s++;
	}
	size_t n = strlen(s);
	while (n > 0 && strchr(" \t\r", s[n - 1])) {
		s[--n] = '\0';
	}
	char *q = strchr(s, '?');
	if (q || strstr(s, "://")) {
		if (!q) {
			return spk_error_set(
				err, SPK_ERR_LOGIN, -EINVAL,
				"the pasted address holds no code (no '?…' part); nothing "
				"was exchanged");
		}
		s = q + 1;
		s[strcspn(s, "#")] = '\0';
		struct spk_callback cb = { 0 };
		int r = spk_callback_parse_query(s, &cb);
		if (r < 0) {
			return spk_error_set(
				err, SPK_ERR_LOGIN, r,
				"the pasted address is malformed; nothing was exchanged");
		}
		r = spk_callback_check(&cb, expected_state, expected_iss, err);
		if (r == -EACCES) {
			r = spk_error_set(err, SPK_ERR_LOGIN, r,
					  "the pasted address does not belong to this login (wrong "
					  "state, issuer or no code); nothing was exchanged");
		}
		if (r < 0) {
			spk_callback_done(&cb);
			return r;
		}
		*ret = cb;
		return 0;
	}
	if (n == 0 || n > 2048 || strpbrk(s, " &=\"'<>\\")) {
		return spk_error_set(
			err, SPK_ERR_LOGIN, -EINVAL,
			"the pasted text is neither the address from the browser nor a "
			"code; nothing was exchanged");
	}
	*ret = (struct spk_callback){ .code = strdup(s) };
	return ret->code ? 0 : spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
}

void spk_callback_done(struct spk_callback *cb)
{
	if (!cb) {
		return;
	}
	spk_secret_free(cb->code);
	free(cb->state);
	free(cb->iss);
	free(cb->error);
	free(cb->error_description);
	*cb = (struct spk_callback){ 0 };
}
