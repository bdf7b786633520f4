/*
 * Can this machine talk to a provider, and do the clocks agree? For
 * `doctor`: one request to the token endpoint (any HTTP answer counts: it
 * was reached), its Date header against our clock. The result is a value;
 * the words are the caller's, except the error's one line.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "provider.h"

/* Beyond this many seconds apart, "expires in" and "valid for" mean little. */
#define SPK_PROBE_SKEW_MAX 60

struct spk_probe {
	char host[256]; /* the token endpoint's host, for messages */
	bool has_date;  /* the provider sent a Date header */
	int64_t skew;   /* now minus the provider's clock, seconds; 0 without a Date */
};

/*
 * Reach prov's token endpoint at now. 0 with *ret when it answered and the
 * clocks agree (or it sent no Date); -ERANGE (SPK_ERR_TEMPFAIL, *ret
 * filled) when they differ by more than SPK_PROBE_SKEW_MAX; the transport
 * error when it could not be reached.
 */
int spk_probe_provider(const struct spk_provider *prov, int64_t now, struct spk_probe *ret,
		       struct spk_error *err);
