/*
 * Xero's connections endpoint: the organisations (tenants) a grant may act
 * on, and which of them a profile acts on. API calls name it in the
 * preset's tenant header (Xero-Tenant-Id).
 */
#pragma once

#include <stddef.h>

#include "error.h"
#include "grant.h"
#include "profile.h"

struct spk_http_response;

/* GET url with the access token; the tenants in *ret (free with spk_tenants_free). */
int spk_tenants_fetch(const char *url, const char *access_token, const char *cacert,
		      struct spk_tenant **ret, size_t *ret_n, struct spk_error *err);
/* Read a connections answer (a JSON array of {tenantId, tenantName, tenantType}). */
int spk_tenants_parse(const struct spk_http_response *resp, const char *host,
		      struct spk_tenant **ret, size_t *ret_n, struct spk_error *err);

/*
 * The organisation p's grant g acts on: the profile's choice (tenant, a
 * name or an id), else the grant's default; NULL when that one is not (or
 * no longer) connected.
 */
const char *spk_tenant_of(const struct spk_profile *p, const struct spk_grant *g);
/*
 * The same for an API call (token --header/--json, exec, tenants): 0 with
 * *ret (NULL when the grant has no organisations and none was chosen), or
 * SPK_ERR_CONFIG when a chosen one is gone: never quietly another's books.
 */
int spk_tenant_for_api(const struct spk_profile *p, const struct spk_grant *g, const char **ret,
		       struct spk_error *err);
