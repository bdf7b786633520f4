#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 5, 0))) static int error_setv(struct spk_error *err,
							    enum spk_error_kind kind, int code,
							    const char *oauth, const char *fmt,
							    va_list ap)
{
	if (!err || err->kind != SPK_ERR_NONE) {
		return code;
	}
	err->kind = kind;
	err->code = code;
	snprintf(err->oauth, sizeof(err->oauth), "%s", oauth ? oauth : "");
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	/* One line: a provider's text must not smuggle a newline into stderr. */
	for (char *p = err->msg; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*p = ' ';
		}
	}
	return code;
}

int spk_error_set(struct spk_error *err, enum spk_error_kind kind, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_setv(err, kind, code, NULL, fmt, ap);
	va_end(ap);
	return r;
}

int spk_error_set_oauth(struct spk_error *err, enum spk_error_kind kind, int code,
			const char *oauth, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_setv(err, kind, code, oauth, fmt, ap);
	va_end(ap);
	return r;
}

void spk_error_clear(struct spk_error *err)
{
	if (err) {
		memset(err, 0, sizeof(*err));
	}
}
