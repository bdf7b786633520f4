/*
 * Profiles: the config file ($XDG_CONFIG_HOME/sparekey/config), a GLib key
 * file with one group per profile; profile.c is the only user of GLib key
 * files. Where the file is comes from paths.h, the module that reads the
 * environment. No secret is ever stored here.
 *
 * Adding a profile key: a member of struct spk_profile and one row of the
 * key table in profile-keys.c (its name, type, checks; get, put, export and free
 * all read that table).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "paths.h"

#define SPK_MAX_PORTS 16

/* How the client authenticates at the token endpoint (RFC 6749 §2.3.1). */
enum spk_client_auth {
	SPK_CLIENT_AUTH_DEFAULT = 0, /* none without a secret, else the preset's or basic */
	SPK_CLIENT_AUTH_NONE,        /* public client: client_id in the form */
	SPK_CLIENT_AUTH_POST,        /* client_id and client_secret in the form */
	SPK_CLIENT_AUTH_BASIC,       /* HTTP Basic with the form-encoded id and secret */
};

/* How a profile gets its tokens. */
enum spk_grant_kind {
	SPK_GRANT_AUTHORIZATION_CODE = 0, /* a person logs in (browser, paste or device) */
	SPK_GRANT_CLIENT_CREDENTIALS,     /* the client alone: no person, no refresh token */
};

/* "none", "post", "basic" → enum; -EINVAL otherwise. */
int spk_client_auth_from_string(const char *s, enum spk_client_auth *ret);
const char *spk_client_auth_to_string(enum spk_client_auth a);

/* Provider endpoints: overrides in a profile, or the resolved set. */
struct spk_endpoints {
	char *issuer;
	char *authorization;
	char *token;
	char *revocation;
	char *device_authorization;
	char *userinfo;
	char *connections;
};

/*
 * The endpoints one by one, in struct spk_endpoints order: the name a
 * stored grant gives each, and the key of its override in the config file.
 */
#define SPK_N_ENDPOINTS 7
struct spk_endpoint_field {
	const char *name; /* in a stored grant: "token" */
	const char *key;  /* in the config file: "token_endpoint" */
	size_t offset;
};
extern const struct spk_endpoint_field spk_endpoint_fields[SPK_N_ENDPOINTS];
/* The i-th endpoint of e, to read or to set. */
char **spk_endpoint_slot(struct spk_endpoints *e, size_t i);
const char *spk_endpoint_get(const struct spk_endpoints *e, size_t i);

struct spk_profile {
	char *name;
	char *provider; /* a preset name, or "oidc" (with issuer) */
	char *client_id;
	enum spk_client_auth client_auth;
	enum spk_grant_kind grant;
	char *scopes;         /* space separated */
	char *redirect_host;  /* "127.0.0.1" or "localhost"; NULL = the preset's */
	char *redirect_path;  /* NULL = the preset's ("/callback") */
	char *store;          /* "secret", "file" or "etcd"; NULL = default */
	char *etcd_endpoints; /* store = etcd: the cluster's URLs, separated by spaces */
	char *etcd_prefix;    /* store = etcd: where the profiles' keys are; NULL = "/sparekey/" */
	char *etcd_cacert;    /* store = etcd: CA (PEM) the endpoints are verified against */
	char *etcd_cert;      /* store = etcd: client certificate (PEM), or NULL */
	char *etcd_key;       /* store = etcd: its key (PEM), or NULL */
	char *etcd_user;      /* store = etcd: the etcd user, or NULL (no auth) */
	char *etcd_password_file; /* store = etcd: its password, one line in a 0600 file */
	unsigned ports[SPK_MAX_PORTS];
	size_t n_ports;          /* 0 = the preset's list, or ephemeral */
	bool ports_set;          /* redirect_ports present in the file (maybe empty) */
	int64_t min_valid;       /* seconds; -1 = default */
	int64_t assume_lifetime; /* seconds an access token of unknown expiry lives; -1 = default */
	int64_t refresh_idle_days;   /* refresh token dies after this long unused; -1 = preset's */
	int64_t refresh_reuse_grace; /* seconds a spent refresh token is taken again; -1 = preset's */
	char *notify_cmd;            /* shell command run on events (needs-login, ...), or NULL */
	char *heartbeat_url;         /* pinged after each refresh (heartbeat.h), or NULL */
	char *cacert;                /* CA bundle (PEM) for a provider with a private CA, or NULL */
	bool cache_none;             /* cache = none: no runtime access-token cache */
	char *config_path;           /* the file this profile was read from */
	char *tenant;         /* xero: the organisation (name or id); microsoft: the directory */
	char *exec_token_env; /* exec: variable for the access token, NULL = SPAREKEY_ACCESS_TOKEN */
	char *exec_tenant_env; /* exec: variable for the tenant id, NULL = the preset's */
	char *git_hosts; /* git-credential: hosts (host or host:port) it answers, space separated */
	char *git_username; /* git-credential: the user name sent to git, NULL = "oauth2" */
	struct spk_endpoints endpoints; /* issuer and overrides */
};

struct spk_config;

/* Open path, or the default location when path is NULL. A missing file is empty. */
int spk_config_open(const char *path, struct spk_config **ret, struct spk_error *err);
void spk_config_free(struct spk_config *cfg);
const char *spk_config_path(const struct spk_config *cfg);

/* Read profile name; -ENOENT (SPK_ERR_LOGIN) when there is no such profile. */
int spk_config_get(const struct spk_config *cfg, const char *name, struct spk_profile *ret,
		   struct spk_error *err);
/* Write every key p sets (NULL members and unset numbers are left alone). */
int spk_config_put(struct spk_config *cfg, const struct spk_profile *p, struct spk_error *err);
/* Write the file atomically, mode 0600, creating its directory 0700. */
int spk_config_save(struct spk_config *cfg, struct spk_error *err);
/*
 * A profile's settings as key/value strings, for moving it to another
 * machine: every key but the machine-local ones (store, notify_cmd,
 * heartbeat_url, ...).
 * Both lists NULL-terminated; free with spk_strv_free().
 */
int spk_config_export_settings(const struct spk_config *cfg, const char *name, char ***ret_keys,
			       char ***ret_values, struct spk_error *err);
/*
 * Replace name's settings by keys/values from another machine (keeping the
 * local store, notify_cmd and heartbeat_url), then check them as
 * spk_config_get() would.
 * Unknown or machine-local keys are refused.
 */
int spk_config_import_settings(struct spk_config *cfg, const char *name, char *const *keys,
			       char *const *values, struct spk_error *err);

/* NULL-terminated list of profile names; free with spk_strv_free(). */
char **spk_config_profiles(const struct spk_config *cfg);
void spk_strv_free(char **v);

/* Parse "8749 8750" (spaces, commas or semicolons) into p->ports. */
int spk_profile_parse_ports(struct spk_profile *p, const char *list);

void spk_profile_done(struct spk_profile *p);
/* A profile with nothing set yet. */
#define SPK_PROFILE_INIT \
	{ \
		.min_valid = -1, .assume_lifetime = -1, .refresh_idle_days = -1, \
		.refresh_reuse_grace = -1 \
	}

/* When a token answer gives no expiry, the access token is renewed after an hour. */
#define SPK_DEFAULT_ASSUME_LIFETIME 3600

void spk_endpoints_done(struct spk_endpoints *e);
/* Replace *dst with a deep copy of *src; -ENOMEM leaves dst partly filled (free it). */
int spk_endpoints_copy(const struct spk_endpoints *src, struct spk_endpoints *dst);
