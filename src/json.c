#include "json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int spk_json_parse(const char *text, size_t len, json_object **ret)
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
	json_tokener_free(tok);
	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		return -EBADMSG;
	}
	/* Allow trailing whitespace only. */
	for (size_t i = used; i < len; i++) {
		if (!strchr(" \t\r\n", text[i])) {
			json_object_put(obj);
			return -EBADMSG;
		}
	}
	*ret = obj;
	return 0;
}

/* obj's member key, or NULL when obj is no object or the member is absent or null. */
static json_object *member(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v) ||
	    json_object_is_type(v, json_type_null)) {
		return NULL;
	}
	return v;
}

int spk_json_get_string(json_object *obj, const char *key, char **ret)
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

int spk_json_get_int64(json_object *obj, const char *key, int64_t *ret)
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

int spk_json_get_seconds(json_object *obj, const char *key, int64_t *ret)
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

int spk_json_has_string(json_object *obj, const char *key, const char *value, bool *ret_found)
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

char *spk_json_dump(json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	return s ? strdup(s) : NULL;
}

int spk_json_add_string(json_object *obj, const char *key, const char *value)
{
	if (!value) {
		return 0;
	}
	json_object *v = json_object_new_string(value);
	return v ? spk_json_add_object(obj, key, v) : -ENOMEM;
}

int spk_json_add_int64(json_object *obj, const char *key, int64_t value)
{
	json_object *v = json_object_new_int64(value);
	return v ? spk_json_add_object(obj, key, v) : -ENOMEM;
}

int spk_json_add_object(json_object *obj, const char *key, json_object *value)
{
	/* json_object_new_null() is NULL in json-c: a null member is NULL too. */
	if (json_object_object_add(obj, key, value) < 0) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}
