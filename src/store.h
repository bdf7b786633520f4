/*
 * Where grants and client secrets live. The interface hides the backend a
 * profile uses: "secret" (the Secret Service, via libsecret) by default,
 * or "file" (0600 files in the state directory) where there is no keyring.
 * Items are named by profile and kind ("grant", "client_secret"); a grant
 * is stored as its JSON text (see grant.h).
 */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "grant.h"
#include "profile.h"

struct spk_store_backend {
	const char *name;
	/* The item's value (a secret, free with spk_secret_free), or -ENOENT. */
	int (*load)(const char *profile, const char *kind, char **ret_value, struct spk_error *err);
	int (*save)(const char *profile, const char *kind, const char *value, struct spk_error *err);
	/* -ENOENT when there was nothing to delete. */
	int (*remove)(const char *profile, const char *kind, struct spk_error *err);
};

extern const struct spk_store_backend spk_store_secret;
extern const struct spk_store_backend spk_store_file;

/* The client secret of p: -ENOENT (no error set) when none is stored. */
int spk_store_load_client_secret(const struct spk_profile *p, char **ret, struct spk_error *err);
int spk_store_save_client_secret(const struct spk_profile *p, const char *secret,
				 struct spk_error *err);
int spk_store_remove_client_secret(const struct spk_profile *p, struct spk_error *err);

/*
 * Load the grant of profile p. No grant: -ENOENT, SPK_ERR_LOGIN with
 * "Run: sparekey login NAME".
 */
int spk_store_load(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err);
int spk_store_save(const struct spk_profile *p, const struct spk_grant *g, struct spk_error *err);
int spk_store_remove(const struct spk_profile *p, struct spk_error *err);

/*
 * The rescue journal, STATE_DIR/PROFILE.rescue (0600): a refreshed grant is
 * written here, fsync'd, before the store; removed once the store has it.
 * A journal left by a crash or a failed store write is completed by the
 * next run, under the profile's lock.
 */
int spk_store_rescue_write(const struct spk_profile *p, const struct spk_grant *g,
			   struct spk_error *err);
bool spk_store_rescue_pending(const struct spk_profile *p);
/* Store a leftover journal and remove it: 1 if there was one, 0 if not. */
int spk_store_rescue_complete(const struct spk_profile *p, struct spk_error *err);
int spk_store_rescue_remove(const struct spk_profile *p, struct spk_error *err);
/* The journal's path, for messages; NULL without a state directory. */
char *spk_store_rescue_path(const struct spk_profile *p);
