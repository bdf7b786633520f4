/*
 * The Secret Service backend (libsecret). Attributes are public metadata:
 * only the profile name and the kind of item go there; the grant JSON is
 * the secret value. libsecret's own strings are freed with
 * secret_password_free(), which wipes them.
 */
#include <errno.h>
#include <libsecret/secret.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"

static const SecretSchema grant_schema = {
	"org.sparekey.Grant",
	SECRET_SCHEMA_NONE,
	{
		{ "profile", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
	0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

static int keyring_error(GError *gerr, const char *what, const char *profile,
			 struct spk_error *err)
{
	int r = spk_error_set(err, SPK_ERR_TEMPFAIL, -EIO,
			      "%s: cannot %s the keyring (%s). Check that a Secret Service "
			      "(gnome-keyring) runs and is unlocked in this session",
			      profile, what, gerr->message);
	g_error_free(gerr);
	return r;
}

static int secret_load(const char *profile, char **ret_json, struct spk_error *err)
{
	GError *gerr = NULL;
	char *pw = secret_password_lookup_sync(&grant_schema, NULL, &gerr, "profile", profile,
					       "kind", "grant", NULL);
	if (gerr) {
		return keyring_error(gerr, "read from", profile, err);
	}
	if (!pw) {
		spk_log("keyring: no grant for %s", profile);
		return -ENOENT;
	}
	char *copy = strdup(pw);
	secret_password_free(pw);
	if (!copy) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	*ret_json = copy;
	return 0;
}

static int secret_save(const char *profile, const char *json, struct spk_error *err)
{
	GError *gerr = NULL;
	char label[128];

	snprintf(label, sizeof(label), "sparekey grant for %s", profile);
	if (!secret_password_store_sync(&grant_schema, SECRET_COLLECTION_DEFAULT, label, json,
					NULL, &gerr, "profile", profile, "kind", "grant", NULL)) {
		if (gerr) {
			return keyring_error(gerr, "write to", profile, err);
		}
		return spk_error_set(err, SPK_ERR_TEMPFAIL, -EIO,
				     "%s: the keyring refused to store the grant", profile);
	}
	spk_log("keyring: stored grant for %s", profile);
	return 0;
}

static int secret_remove(const char *profile, struct spk_error *err)
{
	GError *gerr = NULL;
	gboolean removed = secret_password_clear_sync(&grant_schema, NULL, &gerr, "profile",
						      profile, "kind", "grant", NULL);
	if (gerr) {
		return keyring_error(gerr, "delete from", profile, err);
	}
	return removed ? 0 : -ENOENT;
}

const struct spk_store_backend spk_store_secret = {
	.name = "secret",
	.load = secret_load,
	.save = secret_save,
	.remove = secret_remove,
};
