/*
 * The export document that moves a profile and its grant between machines:
 *   {"format": "sparekey-export-1", "profile": NAME,
 *    "settings": {KEY: VALUE, ...},            config keys, as strings
 *    "grant": {"access_token": …, "refresh_token": …, "expires_at": …,
 *              "scope": …, "token_type": …, …},   RFC 6749 names
 *    "client_secret": "…"}                      when the client has one
 * It holds secrets: its text is freed with spk_secret_free().
 */
#pragma once

#include <stddef.h>

#include "error.h"
#include "grant.h"

#define SPK_TRANSFER_MAX (1024 * 1024)

struct spk_transfer {
	char *profile;         /* the name it had where it was exported */
	char **keys, **values; /* NULL-terminated settings */
	struct spk_grant grant;
	char *client_secret; /* secret, or NULL */
};

int spk_transfer_to_json(const struct spk_transfer *t, char **ret);
int spk_transfer_from_json(const char *text, size_t len, struct spk_transfer *ret,
			   struct spk_error *err);
void spk_transfer_done(struct spk_transfer *t);
