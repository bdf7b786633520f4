/*
 * The json-c edge, and the only file that names json-c: parse untrusted
 * text with bounded depth and size, read typed members, build documents
 * and render them compactly (key order as added, json-c's spacing).
 *
 * MUST:
 * - A struct spk_json is one JSON value; a tree has one owner, who frees
 *   it with spk_json_free(). Members and elements handed out are borrowed
 *   from their tree and die with it.
 * - spk_json_free() overwrites every string value in the tree before
 *   freeing it: json-c keeps its own copies of tokens, and provider
 *   answers, grants, jobs and export documents hold them. It is the only
 *   way to free a tree.
 * - Strings handed out are new copies the caller owns; secrets among them
 *   are freed with spk_secret_free(), and so is text from spk_json_dump()
 *   of a tree that holds one.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "macro.h"

#define SPK_JSON_MAX_DEPTH 16

struct spk_json;

/* Parse exactly one JSON value of len bytes (no trailing garbage): -EBADMSG otherwise. */
int spk_json_parse(const char *text, size_t len, struct spk_json **ret);
/* The same, refusing any value but an object (-EBADMSG). */
int spk_json_parse_object(const char *text, size_t len, struct spk_json **ret);

/* Wipe every string value of the tree, then free it; accepts NULL. */
void spk_json_free(struct spk_json *j);
static inline void spk_json_freep(struct spk_json **p)
{
	spk_json_free(*p);
	*p = NULL;
}
#define _cleanup_json_ _cleanup_(spk_json_freep)

/* What a value is; NULL (JSON null) is neither. */
bool spk_json_is_object(const struct spk_json *j);
bool spk_json_is_array(const struct spk_json *j);
/* The members of an object or the elements of an array; 0 for anything else. */
size_t spk_json_len(const struct spk_json *j);
/* Element i of an array (borrowed), or NULL (out of range, JSON null, no array). */
struct spk_json *spk_json_at(const struct spk_json *array, size_t i);
/* A string value (borrowed), or NULL when j is no string. */
const char *spk_json_string(const struct spk_json *j);
/*
 * Step through an object's members in their order: *pos NULL at first;
 * false after the last. Key and value are borrowed; a null value is NULL.
 */
bool spk_json_next(const struct spk_json *obj, void **pos, const char **ret_key,
		   struct spk_json **ret_value);

/* Is key a member of obj at all (JSON null included)? */
bool spk_json_has(const struct spk_json *obj, const char *key);
/* The getters: -ENOENT when absent or null (or obj is no object), -EINVAL when of another type. */
int spk_json_get_string(const struct spk_json *obj, const char *key, char **ret);
int spk_json_get_int64(const struct spk_json *obj, const char *key, int64_t *ret);
int spk_json_get_bool(const struct spk_json *obj, const char *key, bool *ret);
/* An object or array member, borrowed. */
int spk_json_get_object(const struct spk_json *obj, const char *key, struct spk_json **ret);
int spk_json_get_array(const struct spk_json *obj, const char *key, struct spk_json **ret);
/*
 * A number of seconds as providers write it: an integer, a fraction
 * (rounded down) or a string of digits (with an optional fraction).
 * -ENOENT when absent or null, -ERANGE when negative or beyond int64,
 * -EINVAL otherwise.
 */
int spk_json_get_seconds(const struct spk_json *obj, const char *key, int64_t *ret);
/*
 * A string or an array of strings (OpenID Connect's aud): the number of
 * entries, with *ret_found whether value is one of them; -ENOENT when
 * absent or null, -EINVAL when anything else.
 */
int spk_json_has_string(const struct spk_json *obj, const char *key, const char *value,
			bool *ret_found);

/* A new empty object or array; NULL on out-of-memory. */
struct spk_json *spk_json_new_object(void);
struct spk_json *spk_json_new_array(void);
/*
 * Add a member to obj: a string (none when value is NULL), a string or
 * null (spk_json_add_nullable), an int64, a boolean, null, or a tree
 * (which it takes, also on failure; NULL adds null). -ENOMEM on failure.
 */
int spk_json_add_string(struct spk_json *obj, const char *key, const char *value);
int spk_json_add_nullable(struct spk_json *obj, const char *key, const char *value);
int spk_json_add_int64(struct spk_json *obj, const char *key, int64_t value);
int spk_json_add_bool(struct spk_json *obj, const char *key, bool value);
int spk_json_add_null(struct spk_json *obj, const char *key);
int spk_json_add(struct spk_json *obj, const char *key, struct spk_json *value);
/* Append value (taken, also on failure) to array. -ENOMEM on failure. */
int spk_json_append(struct spk_json *array, struct spk_json *value);
/* Remove (and free, wiped) obj's member key, if there is one. */
void spk_json_remove(struct spk_json *obj, const char *key);

/*
 * Render compactly as a new string (may hold secrets: free accordingly).
 * json-c's own rendering buffer is wiped once copied.
 */
char *spk_json_dump(const struct spk_json *j);
