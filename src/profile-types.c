/*
 * The value types of profile.h that need no config file: the endpoint
 * table, client authentication names, string lists. Kept apart from
 * profile.c (the GLib key file side) so that file stays one job.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "profile.h"

const struct spk_endpoint_field spk_endpoint_fields[SPK_N_ENDPOINTS] = {
	{ "issuer", "issuer", offsetof(struct spk_endpoints, issuer) },
	{ "authorization", "authorization_endpoint",
	  offsetof(struct spk_endpoints, authorization) },
	{ "token", "token_endpoint", offsetof(struct spk_endpoints, token) },
	{ "revocation", "revocation_endpoint", offsetof(struct spk_endpoints, revocation) },
	{ "device_authorization", "device_authorization_endpoint",
	  offsetof(struct spk_endpoints, device_authorization) },
	{ "userinfo", "userinfo_endpoint", offsetof(struct spk_endpoints, userinfo) },
	{ "connections", "connections_endpoint", offsetof(struct spk_endpoints, connections) },
};

char **spk_endpoint_slot(struct spk_endpoints *e, size_t i)
{
	return (char **)((char *)e + spk_endpoint_fields[i].offset);
}

const char *spk_endpoint_get(const struct spk_endpoints *e, size_t i)
{
	return *spk_endpoint_slot((struct spk_endpoints *)e, i);
}

static const char *const client_auth_names[] = {
	[SPK_CLIENT_AUTH_DEFAULT] = NULL,
	[SPK_CLIENT_AUTH_NONE] = "none",
	[SPK_CLIENT_AUTH_POST] = "post",
	[SPK_CLIENT_AUTH_BASIC] = "basic",
};

int spk_client_auth_from_string(const char *s, enum spk_client_auth *ret)
{
	for (size_t i = 1; s && i < ARRAY_SIZE(client_auth_names); i++) {
		if (strcmp(s, client_auth_names[i]) == 0) {
			*ret = (enum spk_client_auth)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *spk_client_auth_to_string(enum spk_client_auth a)
{
	return (size_t)a < ARRAY_SIZE(client_auth_names) ? client_auth_names[a] : NULL;
}

void spk_strv_free(char **v)
{
	if (!v) {
		return;
	}
	for (char **p = v; *p; p++) {
		free(*p);
	}
	free(v);
}

void spk_endpoints_done(struct spk_endpoints *e)
{
	for (size_t i = 0; i < SPK_N_ENDPOINTS; i++) {
		free(*spk_endpoint_slot(e, i));
	}
	*e = (struct spk_endpoints){ 0 };
}

int spk_endpoints_copy(const struct spk_endpoints *src, struct spk_endpoints *dst)
{
	spk_endpoints_done(dst);
	for (size_t i = 0; i < SPK_N_ENDPOINTS; i++) {
		const char *v = spk_endpoint_get(src, i);
		*spk_endpoint_slot(dst, i) = v ? strdup(v) : NULL;
		if (v && !*spk_endpoint_slot(dst, i)) {
			return -ENOMEM;
		}
	}
	return 0;
}
