/*
 * The stored record of a grant and its JSON form (the store's secret).
 * Tokens are secrets: spk_grant_done() wipes them, and the JSON text made
 * by spk_grant_to_json() must be freed with spk_secret_free().
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "profile.h"

#define SPK_GRANT_FORMAT 1

struct spk_json;

/* An organisation the grant gives access to (Xero's "connections"). */
struct spk_tenant {
	char *id;
	char *name;
	char *type;
};

struct spk_grant {
	char *access_token;  /* secret */
	char *refresh_token; /* secret; NULL when the provider issued none */
	char *token_type;    /* "Bearer" */
	char *scope;         /* granted (or, when not told, requested) scopes, or NULL */
	char *account;       /* who logged in (from the id_token), for display, or NULL */
	int64_t expires_at;  /* epoch seconds; 0: unknown (JSON null; see spk_grant_valid_for) */
	int64_t obtained_at; /* epoch seconds the access token was issued */
	int64_t refresh_obtained_at; /* epoch seconds the refresh token was issued */
	struct spk_tenant *tenants;  /* Xero organisations, or NULL */
	size_t n_tenants;
	char *tenant_id;                /* the default tenant, or NULL */
	struct spk_endpoints endpoints; /* discovered at login, so refreshes skip discovery */
	/*
	 * What was wrong with the answer this grant was just read from (a
	 * field ignored), for the caller to show once, or NULL. Never stored.
	 */
	char *warning;
};

void spk_grant_done(struct spk_grant *g);
/* A deep copy of src. */
int spk_grant_copy(const struct spk_grant *src, struct spk_grant *ret);

/* As a JSON tree (holds secrets: spk_json_free() wipes them). NULL on out-of-memory. */
struct spk_json *spk_grant_to_object(const struct spk_grant *g);
/* From a JSON object (borrowed; NULL is none); rejects records without an access token. */
int spk_grant_from_object(const struct spk_json *o, struct spk_grant *ret, struct spk_error *err);

/* Serialise; *ret is a secret. */
int spk_grant_to_json(const struct spk_grant *g, char **ret);
/* Parse a stored grant; rejects records without an access token. */
int spk_grant_from_json(const char *text, struct spk_grant *ret, struct spk_error *err);

/*
 * Fold a fresh token response into the stored grant: new tokens replace
 * old ones; what the response left out (a refresh token, the scope, the
 * account, tenants, endpoints) is kept. Takes ownership of fresh's members.
 */
void spk_grant_update(struct spk_grant *g, struct spk_grant *fresh);

/*
 * Seconds the access token stays valid after now (negative if expired).
 * When its expiry is unknown, it is taken to live assume_lifetime seconds
 * from obtained_at; assume_lifetime <= 0: as long as anyone likes
 * (INT64_MAX), for a token nothing can renew.
 */
int64_t spk_grant_valid_for(const struct spk_grant *g, int64_t assume_lifetime, int64_t now);

/*
 * The margin a token must keep, capped at half its lifetime (or of
 * assume_lifetime when that is unknown): asking a 60-second token to stay
 * valid for 60 seconds would refresh on every call.
 */
int64_t spk_grant_margin(const struct spk_grant *g, int64_t assume_lifetime, int64_t min_valid);

/* The token type to write in an Authorization header: "Bearer" for any spelling of it. */
const char *spk_grant_token_type(const struct spk_grant *g);

/*
 * What a script may see of a grant, as JSON: access_token, expires_at,
 * token_type, scope, tenant_id, always all five (null when unknown).
 * Never the refresh token. *ret is a secret.
 */
int spk_grant_public_json(const struct spk_grant *g, const char *tenant_id, char **ret);

/* The tenant whose id or name is key (case-insensitive name), or NULL. */
const struct spk_tenant *spk_grant_find_tenant(const struct spk_grant *g, const char *key);
/* Replace the tenant list (takes ownership of tenants). */
void spk_grant_set_tenants(struct spk_grant *g, struct spk_tenant *tenants, size_t n);
void spk_tenants_free(struct spk_tenant *tenants, size_t n);
