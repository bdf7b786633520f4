/*
 * The one-shot callback server (RFC 8252 §7.3). It listens on 127.0.0.1
 * (and [::1] when the redirect host is "localhost") only, on the first free
 * port of a list or an ephemeral port, and waits for the one redirect that
 * carries our state. Anything else — another path, method or Host, a wrong
 * state — gets an error page and the wait goes on. The first valid
 * redirect wins; later ones are refused.
 */
#pragma once

#include <stddef.h>

#include "callback.h"
#include "error.h"

struct spk_loopback_config {
	const char *host;      /* "127.0.0.1", "localhost" or "[::1]" */
	const char *path;      /* "/callback" */
	const unsigned *ports; /* tried in order; n_ports == 0: ephemeral */
	size_t n_ports;
	const char *state;   /* expected state (copied) */
	const char *issuer;  /* expected iss (RFC 9207), or NULL */
	const char *profile; /* named on the success page */
};

struct spk_loopback;

int spk_loopback_start(const struct spk_loopback_config *cfg, struct spk_loopback **ret,
		       struct spk_error *err);
/* "http://HOST:PORT/PATH", the redirect_uri to send. */
const char *spk_loopback_redirect_uri(const struct spk_loopback *lb);
unsigned spk_loopback_port(const struct spk_loopback *lb);

/*
 * Wait up to timeout_ms for the redirect, or for other_fd (when >= 0) to
 * become readable. 0 with the callback in *ret; 1 when other_fd is
 * readable (the caller reads it and may wait again); -ETIMEDOUT;
 * -ECANCELED when the provider sent error=… (err says which).
 */
int spk_loopback_wait(struct spk_loopback *lb, int timeout_ms, int other_fd,
		      struct spk_callback *ret, struct spk_error *err);

/* Stop serving and free; accepts NULL. */
void spk_loopback_free(struct spk_loopback *lb);
