/*
 * Where an issuer's endpoints are written down: OpenID Connect Discovery
 * and OAuth 2.0 Authorization Server Metadata (RFC 8414), for the provider
 * resolution (provider.c) of a generic issuer. The document must name the
 * issuer we asked about (RFC 8414 §3.3), else it is not used.
 */
#pragma once

#include <stddef.h>

#include "error.h"
#include "profile.h"

/*
 * Fetch and read issuer's discovery document, trying the places
 * spk_discovery_url() names in their order: the first 200 answer that
 * holds a document naming this issuer wins; a 5xx ends the search.
 */
int spk_discovery_fetch(const char *issuer, const char *cacert, struct spk_endpoints *ret,
			struct spk_error *err);
/*
 * The i-th place (from 0) where issuer's metadata may be, in the order they
 * are tried, a terminating "/" of the issuer removed first:
 *   0  ISSUER/.well-known/openid-configuration (OpenID Connect Discovery §4)
 *   1  ORIGIN/.well-known/oauth-authorization-server/PATH (RFC 8414 §3.1)
 *   2  ORIGIN/.well-known/openid-configuration/PATH (RFC 8414 §5)
 *   3  ISSUER/.well-known/oauth-authorization-server (servers before RFC 8414)
 * An issuer without a path has only 0 and 1 (2 and 3 would repeat them).
 * 0 with *ret_url; -ENOENT past the last; -EINVAL for an issuer that is no
 * URL or has a query or fragment (RFC 8414 §2); -ENOMEM.
 */
int spk_discovery_url(const char *issuer, unsigned i, char **ret_url);
int spk_discovery_parse(const char *issuer, const char *body, size_t len, struct spk_endpoints *ret,
			struct spk_error *err);
