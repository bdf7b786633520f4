/*
 * Debug logging for src/: silent unless cmd/ installs a handler (-v).
 * Log methods, hosts, paths, statuses, sizes and timings; never bodies,
 * headers, query strings, tokens or codes.
 */
#pragma once

#include "macro.h"

typedef void (*spk_log_handler)(const char *line);

void spk_log_set_handler(spk_log_handler handler);
void spk_log(const char *fmt, ...) _printf_(1, 2);
