#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static spk_log_handler log_handler;

void spk_log_set_handler(spk_log_handler handler)
{
	log_handler = handler;
}

void spk_log(const char *fmt, ...)
{
	if (!log_handler) {
		return;
	}
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_handler(line);
}
