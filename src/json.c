#include "json.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One pointer type, two names: json-c's inside this file, ours outside it. */
static json_object *jo(const struct spk_json *j)
{
	return (json_object *)j;
}

static struct spk_json *sj(json_object *o)
{
	return (struct spk_json *)o;
}

/* Overwrite the string values of a tree (json-c's own copies of tokens). */
static void wipe_tree(json_object *o, int depth)
{
	/* Parsed trees are SPK_JSON_MAX_DEPTH deep at most, built ones shallower. */
	if (!o || depth > SPK_JSON_MAX_DEPTH + 1) {
		return;
	}
	switch (json_object_get_type(o)) {
	case json_type_string:
		explicit_bzero((char *)json_object_get_string(o),
			       (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			wipe_tree(json_object_array_get_idx(o, i), depth + 1);
		}
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, value)
		{
			(void)key;
			wipe_tree(value, depth + 1);
		}
		break;
	}
	default:
		break;
	}
}

void spk_json_free(struct spk_json *j)
{
	if (j) {
		wipe_tree(jo(j), 0);
		json_object_put(jo(j));
	}
}

int spk_json_parse(const char *text, size_t len, struct spk_json **ret)
{
	if (len > INT_MAX) {
		return -E2BIG;
	}
	json_tokener *tok = json_tokener_new_ex(SPK_JSON_MAX_DEPTH);
	if (!tok) {
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	/* The tokener's buffer holds the last string it read: maybe a token. */
	if (tok->pb && tok->pb->buf) {
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	}
	json_tokener_free(tok);
	if (!obj || jerr != json_tokener_success) {
		spk_json_free(sj(obj));
		return -EBADMSG;
	}
	/* Allow trailing whitespace only. */
	for (size_t i = used; i < len; i++) {
		if (!strchr(" \t\r\n", text[i])) {
			spk_json_free(sj(obj));
			return -EBADMSG;
		}
	}
	*ret = sj(obj);
	return 0;
}

int spk_json_parse_object(const char *text, size_t len, struct spk_json **ret)
{
	struct spk_json *j = NULL;
	int r = spk_json_parse(text, len, &j);

	if (r < 0) {
		return r;
	}
	if (!spk_json_is_object(j)) {
		spk_json_free(j);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

bool spk_json_is_object(const struct spk_json *j)
{
	return json_object_is_type(jo(j), json_type_object);
}

bool spk_json_is_array(const struct spk_json *j)
{
	return json_object_is_type(jo(j), json_type_array);
}

size_t spk_json_len(const struct spk_json *j)
{
	if (spk_json_is_object(j)) {
		return (size_t)json_object_object_length(jo(j));
	}
	return spk_json_is_array(j) ? json_object_array_length(jo(j)) : 0;
}

struct spk_json *spk_json_at(const struct spk_json *array, size_t i)
{
	if (!spk_json_is_array(array) || i >= json_object_array_length(jo(array))) {
		return NULL;
	}
	return sj(json_object_array_get_idx(jo(array), i));
}

const char *spk_json_string(const struct spk_json *j)
{
	return json_object_is_type(jo(j), json_type_string) ? json_object_get_string(jo(j)) : NULL;
}

bool spk_json_next(const struct spk_json *obj, void **pos, const char **ret_key,
		   struct spk_json **ret_value)
{
	if (!spk_json_is_object(obj)) {
		return false;
	}
	struct lh_entry *e = *pos ? lh_entry_next((struct lh_entry *)*pos)
				  : lh_table_head(json_object_get_object(jo(obj)));
	if (!e) {
		return false;
	}
	*pos = e;
	*ret_key = (const char *)lh_entry_k(e);
	*ret_value = sj((json_object *)lh_entry_v(e));
	return true;
}

bool spk_json_has(const struct spk_json *obj, const char *key)
{
	return spk_json_is_object(obj) && json_object_object_get_ex(jo(obj), key, NULL);
}

/* obj's member key, or NULL when obj is no object or the member is absent or null. */
static json_object *member(const struct spk_json *obj, const char *key)
{
	json_object *v;

	if (!spk_json_is_object(obj) || !json_object_object_get_ex(jo(obj), key, &v) ||
	    json_object_is_type(v, json_type_null)) {
		return NULL;
	}
	return v;
}

int spk_json_get_string(const struct spk_json *obj, const char *key, char **ret)
{
	json_object *v = member(obj, key);

	if (!v) {
		return -ENOENT;
	}
	if (!json_object_is_type(v, json_type_string)) {
		return -EINVAL;
	}
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (strlen(s) != n) {
		return -EINVAL; /* embedded NUL */
	}
	char *copy = strdup(s);
	if (!copy) {
		return -ENOMEM;
	}
	*ret = copy;
	return 0;
}

int spk_json_get_int64(const struct spk_json *obj, const char *key, int64_t *ret)
{
	json_object *v = member(obj, key);

	if (!v) {
		return -ENOENT;
	}
	if (json_object_is_type(v, json_type_int)) {
		errno = 0;
		int64_t n = json_object_get_int64(v);
		if (errno != 0) {
			return -ERANGE;
		}
		*ret = n;
		return 0;
	}
	/* Some providers send numbers as strings ("expires_in": "1800"). */
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0') {
			return -EINVAL;
		}
		*ret = n;
		return 0;
	}
	return -EINVAL;
}

int spk_json_get_bool(const struct spk_json *obj, const char *key, bool *ret)
{
	json_object *v = member(obj, key);

	if (!v) {
		return -ENOENT;
	}
	if (!json_object_is_type(v, json_type_boolean)) {
		return -EINVAL;
	}
	*ret = json_object_get_boolean(v);
	return 0;
}

/* "3600" or "3599.5": the whole seconds; -EINVAL for anything else. */
static int seconds_of_string(const char *s, int64_t *ret)
{
	int64_t n = 0;
	const char *p = s;

	if (*p == '-') {
		return -ERANGE;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10) {
			return -ERANGE;
		}
		n = n * 10 + (*p - '0');
	}
	if (p == s) {
		return -EINVAL;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
		}
	}
	if (*p != '\0') {
		return -EINVAL;
	}
	*ret = n;
	return 0;
}

int spk_json_get_seconds(const struct spk_json *obj, const char *key, int64_t *ret)
{
	json_object *v = member(obj, key);

	if (!v) {
		return -ENOENT;
	}
	switch (json_object_get_type(v)) {
	case json_type_int: {
		errno = 0;
		int64_t n = json_object_get_int64(v);
		if (errno != 0 || n < 0) {
			return -ERANGE;
		}
		*ret = n;
		return 0;
	}
	case json_type_double: {
		double d = json_object_get_double(v);
		/* 2^63 as a double: anything from there on does not fit. */
		if (!isfinite(d) || d < 0 || d >= 9223372036854775808.0) {
			return isnan(d) ? -EINVAL : -ERANGE;
		}
		*ret = (int64_t)d; /* d >= 0: truncation rounds down */
		return 0;
	}
	case json_type_string:
		return seconds_of_string(json_object_get_string(v), ret);
	default:
		return -EINVAL;
	}
}

int spk_json_has_string(const struct spk_json *obj, const char *key, const char *value,
			bool *ret_found)
{
	json_object *v = member(obj, key);

	if (!v) {
		return -ENOENT;
	}
	if (json_object_is_type(v, json_type_string)) {
		*ret_found = strcmp(json_object_get_string(v), value) == 0;
		return 1;
	}
	if (!json_object_is_type(v, json_type_array)) {
		return -EINVAL;
	}
	size_t n = json_object_array_length(v);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			return -EINVAL;
		}
		found = found || strcmp(json_object_get_string(e), value) == 0;
	}
	*ret_found = found;
	return n > INT_MAX ? INT_MAX : (int)n;
}

static int get_typed(const struct spk_json *obj, const char *key, json_type type,
		     struct spk_json **ret)
{
	json_object *v = member(obj, key);

	if (!v) {
		return -ENOENT;
	}
	if (!json_object_is_type(v, type)) {
		return -EINVAL;
	}
	*ret = sj(v);
	return 0;
}

int spk_json_get_object(const struct spk_json *obj, const char *key, struct spk_json **ret)
{
	return get_typed(obj, key, json_type_object, ret);
}

int spk_json_get_array(const struct spk_json *obj, const char *key, struct spk_json **ret)
{
	return get_typed(obj, key, json_type_array, ret);
}

char *spk_json_dump(const struct spk_json *j)
{
	size_t len = 0;
	/* json-c renders into a buffer of j's own, kept until j is freed. */
	char *s = (char *)json_object_to_json_string_length(
		jo(j), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s) {
		return NULL;
	}
	char *copy = strdup(s);
	explicit_bzero(s, len);
	return copy;
}

struct spk_json *spk_json_new_object(void)
{
	return sj(json_object_new_object());
}

struct spk_json *spk_json_new_array(void)
{
	return sj(json_object_new_array());
}

int spk_json_add(struct spk_json *obj, const char *key, struct spk_json *value)
{
	/* A null member is a NULL value in json-c. */
	if (json_object_object_add(jo(obj), key, jo(value)) < 0) {
		spk_json_free(value);
		return -ENOMEM;
	}
	return 0;
}

/* Add a new value made by json-c (NULL: it could not be made). */
static int add_new(struct spk_json *obj, const char *key, json_object *value)
{
	return value ? spk_json_add(obj, key, sj(value)) : -ENOMEM;
}

int spk_json_add_string(struct spk_json *obj, const char *key, const char *value)
{
	return value ? add_new(obj, key, json_object_new_string(value)) : 0;
}

int spk_json_add_nullable(struct spk_json *obj, const char *key, const char *value)
{
	return value ? add_new(obj, key, json_object_new_string(value))
		     : spk_json_add_null(obj, key);
}

int spk_json_add_int64(struct spk_json *obj, const char *key, int64_t value)
{
	return add_new(obj, key, json_object_new_int64(value));
}

int spk_json_add_bool(struct spk_json *obj, const char *key, bool value)
{
	return add_new(obj, key, json_object_new_boolean(value));
}

int spk_json_add_null(struct spk_json *obj, const char *key)
{
	return spk_json_add(obj, key, NULL);
}

int spk_json_append(struct spk_json *array, struct spk_json *value)
{
	if (!value || json_object_array_add(jo(array), jo(value)) < 0) {
		spk_json_free(value);
		return -ENOMEM;
	}
	return 0;
}

void spk_json_remove(struct spk_json *obj, const char *key)
{
	json_object *v;

	if (spk_json_is_object(obj) && json_object_object_get_ex(jo(obj), key, &v)) {
		wipe_tree(v, 0);
		json_object_object_del(jo(obj), key);
	}
}
