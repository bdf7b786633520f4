/*
 * struct spk_error: what went wrong, in one line, and what kind of remedy it
 * needs. Functions return negative errno; the detail for the user travels in
 * an optional struct spk_error. The first layer that knows the cause writes
 * the message; later calls to spk_error_set() on the same error keep it.
 * Messages never contain a secret.
 */
#pragma once

#include "macro.h"

enum spk_error_kind {
	SPK_ERR_NONE = 0,
	SPK_ERR_USAGE,       /* the command line is wrong */
	SPK_ERR_UNAVAILABLE, /* the provider could not be reached */
	SPK_ERR_TEMPFAIL,    /* try again later */
	SPK_ERR_LOGIN,       /* a person must log in again */
	SPK_ERR_CONFIG,      /* configuration must be fixed */
	SPK_ERR_INTERNAL,    /* a bug or a local failure */
};

struct spk_error {
	enum spk_error_kind kind;
	int code;       /* negative errno */
	char oauth[64]; /* RFC 6749 §5.2 "error" code, or "" */
	char msg[256];  /* one line, never a secret */
};

/* Fill err (if not NULL and still empty); returns code (negative). */
int spk_error_set(struct spk_error *err, enum spk_error_kind kind, int code, const char *fmt, ...)
	_printf_(4, 5);
/* Same, recording an RFC 6749 error code as well. */
int spk_error_set_oauth(struct spk_error *err, enum spk_error_kind kind, int code,
			const char *oauth, const char *fmt, ...) _printf_(5, 6);
void spk_error_clear(struct spk_error *err);
