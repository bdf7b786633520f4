#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *opt_config;
bool opt_verbose;

int exit_status_of(enum spk_error_kind kind)
{
	switch (kind) {
	case SPK_ERR_NONE:
		return EXIT_OK;
	case SPK_ERR_USAGE:
		return EXIT_USAGE;
	case SPK_ERR_UNAVAILABLE:
		return EXIT_UNAVAILABLE;
	case SPK_ERR_TEMPFAIL:
		return EXIT_TEMPFAIL;
	case SPK_ERR_LOGIN:
		return EXIT_LOGIN;
	case SPK_ERR_CONFIG:
		return EXIT_CONFIG;
	case SPK_ERR_INTERNAL:
		break;
	}
	return EXIT_INTERNAL;
}

static const char *remedy(const char *profile, const struct spk_error *err, char *buf, size_t size)
{
	switch (err->kind) {
	case SPK_ERR_LOGIN:
		if (profile && !strstr(err->msg, "sparekey login")) {
			snprintf(buf, size, ". Run: sparekey login %s", profile);
			return buf;
		}
		break;
	case SPK_ERR_UNAVAILABLE:
		return ". Check the network and the endpoint, then try again";
	default:
		break;
	}
	return "";
}

/*
 * One write per line: stderr is unbuffered, and refresh --all's children
 * write at once; pieces of their lines must not interleave.
 */
static void put_line(const char *line)
{
	fflush(stderr);
	ssize_t n = write(STDERR_FILENO, line, strlen(line));
	(void)n;
}

int fail(const char *profile, const struct spk_error *err)
{
	return fail_hint(profile, err, NULL);
}

int fail_hint(const char *profile, const struct spk_error *err, const char *hint)
{
	char buf[128];
	const char *msg = err->msg[0] ? err->msg : "failed";
	/* Messages from src/ may already name the profile. */
	bool named = profile && strncmp(msg, profile, strlen(profile)) == 0 &&
		     msg[strlen(profile)] == ':';
	const char *tail = hint ? hint : remedy(profile, err, buf, sizeof(buf));

	/* The hint may hold a whole command line: sized to fit, never cut. */
	char *line = NULL;
	if (asprintf(&line, "%ssparekey:%s %s%s%s%s\n", style_bad(), style_off(),
		     profile && !named ? profile : "", profile && !named ? ": " : "", msg,
		     tail) < 0) {
		line = NULL;
	}
	put_line(line ? line : "sparekey: out of memory\n");
	free(line);
	return exit_status_of(err->kind);
}

int usage_error(const char *command, const char *fmt, ...)
{
	char what[512], line[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "sparekey: %s. See: sparekey %s--help\n", what,
		 command ? command : "");
	put_line(line);
	return EXIT_USAGE;
}

void note(const char *fmt, ...)
{
	char what[600], line[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "sparekey: %s\n", what);
	put_line(line);
}

void warning(const char *profile, const char *what)
{
	if (what) {
		note("%s: warning: %s", profile, what);
	}
}

const char *format_duration(int64_t s, char *buf, size_t size)
{
	if (s < 0) {
		s = -s;
	}
	if (s < 120) {
		snprintf(buf, size, "%lld s", (long long)s);
	} else if (s < 3600) {
		snprintf(buf, size, "%lld min", (long long)(s / 60));
	} else if (s < 2 * 86400) {
		snprintf(buf, size, "%lld h %lld min", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	} else {
		snprintf(buf, size, "%lld days", (long long)(s / 86400));
	}
	return buf;
}

const char *format_time(int64_t epoch, char *buf, size_t size)
{
	time_t t = (time_t)epoch;
	struct tm tm;
	if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M", &tm) == 0) {
		snprintf(buf, size, "@%lld", (long long)epoch);
	}
	return buf;
}

bool stderr_is_terminal(void)
{
	return isatty(STDERR_FILENO);
}

bool stderr_colour(void)
{
	static int colour = -1;
	if (colour < 0) {
		const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
		colour = stderr_is_terminal() && !(no && *no) &&
			 !(term && strcmp(term, "dumb") == 0);
	}
	return colour;
}

const char *style_bold(void)
{
	return stderr_colour() ? "\033[1m" : "";
}

const char *style_good(void)
{
	return stderr_colour() ? "\033[1;32m" : "";
}

const char *style_bad(void)
{
	return stderr_colour() ? "\033[1;31m" : "";
}

const char *style_off(void)
{
	return stderr_colour() ? "\033[0m" : "";
}

void log_to_stderr(const char *line)
{
	fprintf(stderr, "sparekey: debug: %s\n", line);
}

int finish_stdout(int status)
{
	/* A command that failed has said why already: one line per failure. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && status == EXIT_OK) {
		fprintf(stderr, "sparekey: cannot write the result to standard output (%s)\n",
			strerror(errno));
		return status == EXIT_OK ? EXIT_IOERR : status;
	}
	return status;
}

long long parse_seconds(const char *s, long long max)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max) {
		return -1;
	}
	return v;
}

int getopt_exact(int argc, char **argv, const char *optstring, const struct option *options)
{
	int index = -1;
	int before = optind ? optind : 1;
	int c = getopt_long(argc, argv, optstring, options, &index);

	if (c == -1 || c == '?' || index < 0) {
		return c;
	}
	/* The word that named the option: the first of those just consumed. */
	for (int i = before; i < optind && i < argc; i++) {
		const char *w = argv[i];
		if (strncmp(w, "--", 2) != 0) {
			continue;
		}
		size_t n = strcspn(w + 2, "=");
		if (n != strlen(options[index].name) ||
		    strncmp(w + 2, options[index].name, n) != 0) {
			optind = i + 1; /* for bad_option(): point at the abbreviation */
			return '?';
		}
		break;
	}
	return c;
}

const char *bad_option(char **argv, char *buf, size_t size)
{
	const char *w = optind > 0 ? argv[optind - 1] : "";
	snprintf(buf, size, "%.*s", (int)strcspn(w, "="), w);
	return buf;
}

long long parse_age(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0 || s[0] == '-') {
		return -1;
	}
	long long unit = 1;
	if (*end) {
		switch (*end) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		default:
			return -1;
		}
		if (end[1] != '\0') {
			return -1;
		}
	}
	if (v > 3650LL * 86400 / unit) {
		return -1;
	}
	return v * unit;
}
