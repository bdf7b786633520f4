/*
 * The keys a profile may have, one row each: its name, what it holds (the
 * type says how profile.c gets, puts and frees it), where in struct
 * spk_profile, whether it stays on its machine, and the check of its value
 * with the line its error says. For profile.c; libc only (the key-file
 * reading and writing is profile.c's).
 *
 * Adding a key: a member of struct spk_profile and one row of
 * spk_profile_keys in profile-keys.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

/* What a key holds, which says how get, put and free treat it. */
enum key_type {
	KEY_STRING,      /* a char * member, maybe with a check */
	KEY_NUMBER,      /* an int64_t member in [min, max]; -1 (or 0 when min > 0) is unset */
	KEY_PORTS,       /* redirect_ports: ports, n_ports, ports_set */
	KEY_CLIENT_AUTH, /* client_auth: enum spk_client_auth */
	KEY_GRANT,       /* grant: enum spk_grant_kind */
	KEY_CACHE,       /* cache: cache_none (set by hand only: put leaves it) */
	KEY_ENDPOINTS,   /* issuer and the *_endpoint overrides (spk_endpoint_fields) */
};

struct spk_profile_key {
	const char *name;
	enum key_type type;
	size_t offset;
	bool local;                       /* stays on its machine: not exported or imported */
	bool (*check)(const char *value); /* KEY_STRING: NULL accepts any value */
	const char *must;                 /* what the error says after "[profile] " */
	long long min, max;               /* KEY_NUMBER */
};

/*
 * Every key, in the order put writes them (and get reports the first bad
 * one).
 */
extern const struct spk_profile_key spk_profile_keys[];
extern const size_t spk_profile_n_keys;

/* The row for a key of the config file (the endpoints row for any endpoint key), or NULL. */
const struct spk_profile_key *spk_profile_key_find(const char *key);

/* Where k's value lives in p: its char * (KEY_STRING) or int64_t (KEY_NUMBER). */
char **spk_profile_key_string(const struct spk_profile *p, const struct spk_profile_key *k);
int64_t *spk_profile_key_number(const struct spk_profile *p, const struct spk_profile_key *k);
