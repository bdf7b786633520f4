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
	_cleanup_json_ struct spk_json *doc = spk_json_new_object();
	struct spk_json *settings = spk_json_new_object();
	struct spk_json *grant = spk_grant_to_object(&t->grant);

	if (!doc || !settings || !grant) {
		spk_json_free(settings);
		spk_json_free(grant);
		return -ENOMEM;
	}
	int r = spk_json_add_string(doc, "format", format_name);
	r |= spk_json_add_string(doc, "profile", t->profile);
	for (size_t i = 0; t->keys && t->keys[i]; i++) {
		r |= spk_json_add_string(settings, t->keys[i], t->values[i]);
	}
	r |= spk_json_add(doc, "settings", settings);
	/* The stored record's own format marker means nothing to a reader. */
	spk_json_remove(grant, "format");
	r |= spk_json_add(doc, "grant", grant);
	r |= spk_json_add_string(doc, "client_secret", t->client_secret);
	char *text = r == 0 ? spk_json_dump(doc) : NULL;
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
			     "'sparekey export PROFILE'",
			     what);
}

int spk_transfer_from_json(const char *text, size_t len, struct spk_transfer *ret,
			   struct spk_error *err)
{
	_cleanup_json_ struct spk_json *doc = NULL;
	_cleanup_free_ char *format = NULL;
	struct spk_transfer t = { 0 };
	struct spk_json *settings = NULL, *grant = NULL, *val;
	const char *key;
	void *pos = NULL;
	int r;

	if (spk_json_parse_object(text, len, &doc) < 0) {
		return bad(err, "no JSON object");
	}
	if (spk_json_get_string(doc, "format", &format) < 0 || strcmp(format, format_name) != 0) {
		return bad(err, "unknown format");
	}
	if (spk_json_get_string(doc, "profile", &t.profile) < 0 ||
	    !spk_profile_name_valid(t.profile)) {
		r = bad(err, "no valid profile name");
		goto fail;
	}
	if (spk_json_get_object(doc, "settings", &settings) < 0) {
		r = bad(err, "no settings");
		goto fail;
	}
	size_t n = spk_json_len(settings), i = 0;
	t.keys = calloc(n + 1, sizeof(char *));
	t.values = calloc(n + 1, sizeof(char *));
	if (!t.keys || !t.values) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto fail;
	}
	while (spk_json_next(settings, &pos, &key, &val)) {
		if (!spk_json_string(val)) {
			r = bad(err, "a setting is not a string");
			goto fail;
		}
		t.keys[i] = strdup(key);
		t.values[i++] = strdup(spk_json_string(val));
	}
	if (spk_json_get_object(doc, "grant", &grant) < 0) {
		r = bad(err, "no grant");
		goto fail;
	}
	/* Exports name the fields as RFC 6749 does; the stored format is one. */
	r = spk_json_add_int64(grant, "format", SPK_GRANT_FORMAT);
	r = r < 0 ? r : spk_grant_from_object(grant, &t.grant, NULL);
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
