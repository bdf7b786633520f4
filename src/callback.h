/*
 * The authorization response (RFC 6749 §4.1.2, RFC 9207): parsing a
 * redirect's query and deciding whether it is the one we wait for. Shared
 * by the loopback server and any other way a redirect reaches us.
 */
#pragma once

#include "error.h"

struct spk_callback {
	char *code; /* secret */
	char *state;
	char *iss;
	char *error;
	char *error_description;
};

/*
 * Parse "code=…&state=…". Unknown parameters are ignored; a repeated
 * parameter we use, or a malformed escape, is -EINVAL.
 */
int spk_callback_parse_query(const char *query, struct spk_callback *ret);

/*
 * Set one parameter (decoded), as a server that parsed the query itself
 * hands them over. -EINVAL when a parameter we use is repeated.
 */
int spk_callback_set(struct spk_callback *cb, const char *name, const char *value);

/*
 * Check cb against what the request carried: state must match (constant
 * time), iss must match when expected_iss is set and the provider sent one.
 * Returns:
 *   0            a valid code: the login may go on;
 *   -EACCES      not ours (no or wrong state, wrong iss, no code): refuse it, keep waiting;
 *   -ECANCELED   the provider answered with error=… for our request: the login ends
 *                (err says why).
 */
int spk_callback_check(const struct spk_callback *cb, const char *expected_state,
		       const char *expected_iss, struct spk_error *err);

/*
 * A pasted line (login --paste): the address the browser ended on, whose
 * query holds code and state, or the bare code. The address is checked as
 * spk_callback_check() does, but here a mismatch ends the login: 0 with
 * *ret, or an error (SPK_ERR_LOGIN) saying nothing was exchanged. A bare
 * code carries no state; PKCE ties it to the login. line is modified.
 */
int spk_callback_parse_pasted(char *line, const char *expected_state, const char *expected_iss,
			      struct spk_callback *ret, struct spk_error *err);

void spk_callback_done(struct spk_callback *cb);
