/*
 * Everything the program says. stdout carries only the result asked for;
 * every message goes to stderr as "sparekey: [PROFILE: ]what happened.
 * What to do." Exit statuses follow sysexits(3).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 64,
	EXIT_UNAVAILABLE = 69,
	EXIT_INTERNAL = 70,
	EXIT_IOERR = 74,
	EXIT_TEMPFAIL = 75,
	EXIT_LOGIN = 77,
	EXIT_CONFIG = 78,
};

/* Global options, set by main(). */
extern const char *opt_config;
extern bool opt_verbose;

int exit_status_of(enum spk_error_kind kind);
/* Print err as one line and return its exit status. */
int fail(const char *profile, const struct spk_error *err);
/* The same with hint (". Run: ...") in place of the usual remedy; any length. */
int fail_hint(const char *profile, const struct spk_error *err, const char *hint);
/* Print a usage problem and return 64. */
int usage_error(const char *command, const char *fmt, ...) _printf_(2, 3);
/* An informational line on stderr. */
void note(const char *fmt, ...) _printf_(1, 2);
/* "sparekey: PROFILE: warning: WHAT." on stderr (a grant's warning, once). */
void warning(const char *profile, const char *what);
/* Human durations: "45 s", "59 min", "2 h 5 min", "3 days". */
const char *format_duration(int64_t seconds, char *buf, size_t size);
/* Local time of an epoch, "2026-11-29 08:10". */
const char *format_time(int64_t epoch, char *buf, size_t size);
void log_to_stderr(const char *line);

/* Is stderr a terminal that takes colour (not with NO_COLOR or TERM=dumb)? */
bool stderr_is_terminal(void);
bool stderr_colour(void);
/* An escape sequence when colour is on, else "". */
const char *style_bold(void);
const char *style_good(void);
const char *style_bad(void);
const char *style_off(void);
/* Flush stdout; 0, or 74 with a message when the result could not be written. */
int finish_stdout(int status);

/* "90", "90s", "30m", "12h", "2d" into seconds; -1 if invalid. */
long long parse_age(const char *s);
#include <getopt.h>

/*
 * getopt_long without abbreviations: "--client-secret" must not be taken
 * for "--client-secret-file" (a secret in argv would then be read as a
 * path and echoed). An abbreviated long option comes back as '?'.
 */
int getopt_exact(int argc, char **argv, const char *optstring, const struct option *options);
/* The option argv[optind - 1] named, without any "=value" (never echo a value). */
const char *bad_option(char **argv, char *buf, size_t size);

/* Parse a non-negative integer option; -1 if invalid. */
long long parse_seconds(const char *s, long long max);
