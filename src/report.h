/*
 * What `sparekey status --json` tells scripts about each profile. Never a
 * token: only names, times and whether a person must log in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spk_status_row {
	const char *profile;
	const char *provider;
	const char *store;          /* "secret", "file" or "etcd" */
	const char *store_endpoint; /* etcd: the endpoint that answered, or NULL */
	const char *account;        /* or NULL */
	const char *tenant_id;      /* or NULL */
	const char *tenant_name;    /* or NULL */
	bool has_grant;
	bool needs_login;    /* no usable grant: a person must run login */
	const char *problem; /* one line when has_grant is false or a refresh
				      * was cut off (see spk_flow_cut_off), else NULL */
	int64_t expires_at;  /* access token; 0 unknown */
	bool has_refresh_token;
	int64_t refresh_obtained_at;
	int64_t refresh_expires_at; /* when it dies unused; 0 unknown */
};

/* A JSON array of objects, one per row; *ret is the caller's. */
int spk_status_to_json(const struct spk_status_row *rows, size_t n, int64_t now, char **ret);
