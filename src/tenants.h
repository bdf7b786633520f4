/*
 * Xero's connections endpoint: the organisations (tenants) a grant may act
 * on. API calls name one in the Xero-Tenant-Id header.
 */
#pragma once

#include <stddef.h>

#include "error.h"
#include "grant.h"
#include "http.h"

/* GET url with the access token; the tenants in *ret (free with spk_tenants_free). */
int spk_tenants_fetch(const char *url, const char *access_token, const char *cacert,
		      struct spk_tenant **ret, size_t *ret_n, struct spk_error *err);
/* Read a connections answer (a JSON array of {tenantId, tenantName, tenantType}). */
int spk_tenants_parse(const struct spk_http_response *resp, const char *host,
		      struct spk_tenant **ret, size_t *ret_n, struct spk_error *err);
