/*
 * The json-c edge: parse untrusted text with bounded depth and size, and
 * read typed members. Strings handed out are new copies the caller owns;
 * secrets among them must be freed with spk_secret_free().
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "macro.h"

#define SPK_JSON_MAX_DEPTH 16

/* Parse exactly one JSON value of len bytes (no trailing garbage). */
int spk_json_parse(const char *text, size_t len, json_object **ret);

/* -ENOENT when absent or null, -EINVAL when of another type. */
int spk_json_get_string(json_object *obj, const char *key, char **ret);
int spk_json_get_int64(json_object *obj, const char *key, int64_t *ret);
/*
 * A number of seconds as providers write it: an integer, a fraction
 * (rounded down) or a string of digits (with an optional fraction).
 * -ENOENT when absent or null, -ERANGE when negative or beyond int64,
 * -EINVAL otherwise.
 */
int spk_json_get_seconds(json_object *obj, const char *key, int64_t *ret);
/*
 * A string or an array of strings (OpenID Connect's aud): the number of
 * entries, with *ret_found whether value is one of them; -ENOENT when
 * absent or null, -EINVAL when anything else.
 */
int spk_json_has_string(json_object *obj, const char *key, const char *value, bool *ret_found);

/*
 * Add a member to obj: a string (none when value is NULL), an int64, or an
 * object (whose reference it takes, also on failure). -ENOMEM on failure.
 */
int spk_json_add_string(json_object *obj, const char *key, const char *value);
int spk_json_add_int64(json_object *obj, const char *key, int64_t value);
int spk_json_add_object(json_object *obj, const char *key, json_object *value);

/* Render compactly as a new string (may hold secrets: free accordingly). */
char *spk_json_dump(json_object *obj);

static inline void json_object_putp(json_object **p)
{
	if (*p) {
		json_object_put(*p);
	}
}
#define _cleanup_json_ _cleanup_(json_object_putp)
