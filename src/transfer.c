#include "transfer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "profile.h"
#include "secret.h"

static const char format_name[] = "sparekey-export-1";

int spk_transfer_to_json(const struct spk_transfer *t, char **ret)
{
	_cleanup_json_ json_object *doc = json_object_new_object();
	json_object *settings = json_object_new_object();
	json_object *grant = spk_grant_to_object(&t->grant);

	if (!doc || !settings || !grant) {
		json_object_put(settings);
		json_object_put(grant);
		return -ENOMEM;
	}
	json_object_object_add(doc, "format", json_object_new_string(format_name));
	json_object_object_add(doc, "profile", json_object_new_string(t->profile));
	for (size_t i = 0; t->keys && t->keys[i]; i++) {
		json_object_object_add(settings, t->keys[i], json_object_new_string(t->values[i]));
	}
	json_object_object_add(doc, "settings", settings);
	/* The stored record's own format marker means nothing to a reader. */
	json_object_object_del(grant, "format");
	json_object_object_add(doc, "grant", grant);
	if (t->client_secret) {
		json_object_object_add(doc, "client_secret", json_object_new_string(t->client_secret));
	}
	char *text = spk_json_dump(doc);
	if (!text) {
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}

static int bad(struct spk_error *err, const char *what)
{
	return spk_error_set(err, SPK_ERR_USAGE, -EBADMSG,
			     "the input is not a sparekey export (%s). Pipe in the output of "
			     "'sparekey export PROFILE'", what);
}

int spk_transfer_from_json(const char *text, size_t len, struct spk_transfer *ret,
			   struct spk_error *err)
{
	_cleanup_json_ json_object *doc = NULL;
	_cleanup_free_ char *format = NULL;
	struct spk_transfer t = { 0 };
	json_object *settings, *grant;
	int r;

	if (spk_json_parse(text, len, &doc) < 0 || !json_object_is_type(doc, json_type_object)) {
		return bad(err, "no JSON object");
	}
	if (spk_json_get_string(doc, "format", &format) < 0 || strcmp(format, format_name) != 0) {
		return bad(err, "unknown format");
	}
	if (spk_json_get_string(doc, "profile", &t.profile) < 0 || !spk_profile_name_valid(t.profile)) {
		r = bad(err, "no valid profile name");
		goto fail;
	}
	if (!json_object_object_get_ex(doc, "settings", &settings) ||
	    !json_object_is_type(settings, json_type_object)) {
		r = bad(err, "no settings");
		goto fail;
	}
	size_t n = (size_t)json_object_object_length(settings), i = 0;
	t.keys = calloc(n + 1, sizeof(char *));
	t.values = calloc(n + 1, sizeof(char *));
	if (!t.keys || !t.values) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto fail;
	}
	json_object_object_foreach(settings, key, val) {
		if (!json_object_is_type(val, json_type_string)) {
			r = bad(err, "a setting is not a string");
			goto fail;
		}
		t.keys[i] = strdup(key);
		t.values[i++] = strdup(json_object_get_string(val));
	}
	if (!json_object_object_get_ex(doc, "grant", &grant) ||
	    !json_object_is_type(grant, json_type_object)) {
		r = bad(err, "no grant");
		goto fail;
	}
	/* Exports name the fields as RFC 6749 does; the stored format is one. */
	json_object_object_add(grant, "format", json_object_new_int(SPK_GRANT_FORMAT));
	r = spk_grant_from_object(grant, &t.grant, NULL);
	if (r < 0) {
		r = bad(err, "the grant lacks an access_token or has malformed fields");
		goto fail;
	}
	r = spk_json_get_string(doc, "client_secret", &t.client_secret);
	if (r == -EINVAL || (r == 0 && !*t.client_secret)) {
		r = bad(err, "malformed client_secret");
		goto fail;
	}
	*ret = t;
	return 0;
fail:
	spk_transfer_done(&t);
	return r;
}

void spk_transfer_done(struct spk_transfer *t)
{
	free(t->profile);
	spk_strv_free(t->keys);
	spk_strv_free(t->values);
	spk_grant_done(&t->grant);
	spk_secret_free(t->client_secret);
	*t = (struct spk_transfer){ 0 };
}
