/*
 * Where grants live. The interface hides the backend a profile uses:
 * "secret" (the Secret Service, via libsecret) is the default and, for
 * now, the only one. A grant is stored as its JSON text (see grant.h).
 */
#pragma once

#include "error.h"
#include "grant.h"
#include "profile.h"

struct spk_store_backend {
	const char *name;
	/* Return the JSON text (a secret, free with spk_secret_free) or -ENOENT. */
	int (*load)(const char *profile, char **ret_json, struct spk_error *err);
	int (*save)(const char *profile, const char *json, struct spk_error *err);
	/* -ENOENT when there was nothing to delete. */
	int (*remove)(const char *profile, struct spk_error *err);
};

extern const struct spk_store_backend spk_store_secret;

/*
 * Load the grant of profile p. No grant: -ENOENT, SPK_ERR_LOGIN with
 * "Run: sparekey login NAME".
 */
int spk_store_load(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err);
int spk_store_save(const struct spk_profile *p, const struct spk_grant *g, struct spk_error *err);
int spk_store_remove(const struct spk_profile *p, struct spk_error *err);
