/*
 * Composed operations, and the ordering promises they keep:
 *  - a grant from the provider is stored before it is handed to the caller
 *    (so a rotated refresh token is never only in memory);
 *  - a failed refresh never deletes or changes the stored grant.
 */
#pragma once

#include <stdint.h>

#include "error.h"
#include "grant.h"
#include "profile.h"

#define SPK_DEFAULT_MIN_VALID 60
#define SPK_DEFAULT_LOGIN_TIMEOUT 300

struct spk_login_ui {
	/* The redirect URI is known and the browser is about to be sent to url. */
	void (*authorize)(void *userdata, const char *redirect_uri, const char *url);
	void *userdata;
};

/* Browser login: loopback server, authorize URL, code exchange, store. */
int spk_flow_login(const struct spk_profile *p, int timeout_s, const struct spk_login_ui *ui,
		   struct spk_grant *ret, struct spk_error *err);

/* The stored grant, refreshed first when it expires within min_valid seconds. */
int spk_flow_token(const struct spk_profile *p, int64_t min_valid, struct spk_grant *ret,
		   struct spk_error *err);

/* Refresh now and store the result. */
int spk_flow_refresh(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err);

/* min_valid from the profile, or the default. */
int64_t spk_flow_min_valid(const struct spk_profile *p);
