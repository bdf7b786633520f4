#include "profile-keys.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "macro.h"

/* Whatever the locale: config values are ASCII words. */
static bool is_ascii_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_loopback_host(const char *v)
{
	return strcmp(v, "localhost") == 0 || strcmp(v, "127.0.0.1") == 0 ||
	       strcmp(v, "[::1]") == 0;
}

static bool is_absolute(const char *v)
{
	return v[0] == '/';
}

/*
 * The shape of a URL sparekey sends to: https, or plain http (which the
 * HTTP layer then allows to a loopback address only, as for every URL).
 */
static bool is_web_url(const char *v)
{
	return strncasecmp(v, "https://", 8) == 0 || strncasecmp(v, "http://", 7) == 0;
}

static bool is_one_line(const char *v);

static bool is_store(const char *v)
{
	return strcmp(v, "secret") == 0 || strcmp(v, "file") == 0 || strcmp(v, "etcd") == 0;
}

/* etcd_prefix: a key prefix of one line that starts and ends with '/'. */
static bool is_key_prefix(const char *v)
{
	size_t len = strlen(v);
	return v[0] == '/' && v[len - 1] == '/' && is_one_line(v);
}

/* etcd_endpoints: URLs (checked again, with the loopback rule, when used). */
static bool is_url_list(const char *v)
{
	bool any = false;

	for (const char *w = v + strspn(v, " \t"); *w; w += strspn(w, " \t")) {
		size_t n = strcspn(w, " \t");
		char url[9] = "";
		memcpy(url, w, n < sizeof(url) - 1 ? n : sizeof(url) - 1);
		if (!is_web_url(url)) {
			return false;
		}
		any = true;
		w += n;
	}
	return any;
}

static bool is_env_name(const char *v)
{
	bool ok = is_ascii_letter(v[0]) || v[0] == '_';
	for (const char *c = v; ok && *c; c++) {
		ok = is_ascii_letter(*c) || is_ascii_digit(*c) || *c == '_';
	}
	return ok;
}

/* git_hosts: host or host:port words (git's "host" value), no URL or user. */
static bool is_host_list(const char *v)
{
	for (const char *c = v; *c; c++) {
		if (!is_ascii_letter(*c) && !is_ascii_digit(*c) && !strchr(" \t.-_:[]", *c)) {
			return false;
		}
	}
	return true;
}

static bool is_one_line(const char *v)
{
	return !strpbrk(v, "\r\n");
}

#define STRING(key, member, is_local, fn, text) \
	{ \
		.name = key, .type = KEY_STRING, .offset = offsetof(struct spk_profile, member), \
		.local = is_local, .check = fn, .must = text \
	}
#define NUMBER(key, member, lo, hi, text) \
	{ \
		.name = key, .type = KEY_NUMBER, .offset = offsetof(struct spk_profile, member), \
		.min = lo, .max = hi, .must = key " must be " text \
	}
#define ENV_MUST "exec_token_env and exec_tenant_env must be environment variable names"

/*
 * Every key a profile may have, in the order put writes them (and get
 * reports the first bad one).
 */
const struct spk_profile_key spk_profile_keys[] = {
	STRING("provider", provider, false, NULL, NULL),
	STRING("client_id", client_id, false, NULL, NULL),
	STRING("scopes", scopes, false, NULL, NULL),
	STRING("redirect_host", redirect_host, false, is_loopback_host,
	       "redirect_host must be localhost, 127.0.0.1 or [::1]"),
	STRING("redirect_path", redirect_path, false, is_absolute,
	       "redirect_path must start with '/'"),
	STRING("store", store, true, is_store, "store must be 'secret', 'file' or 'etcd'"),
	STRING("etcd_endpoints", etcd_endpoints, true, is_url_list,
	       "etcd_endpoints must be https:// URLs separated by spaces"),
	STRING("etcd_prefix", etcd_prefix, true, is_key_prefix,
	       "etcd_prefix must start and end with '/'"),
	STRING("etcd_cacert", etcd_cacert, true, is_absolute,
	       "etcd_cacert must be an absolute path"),
	STRING("etcd_cert", etcd_cert, true, is_absolute, "etcd_cert must be an absolute path"),
	STRING("etcd_key", etcd_key, true, is_absolute, "etcd_key must be an absolute path"),
	STRING("etcd_user", etcd_user, true, is_one_line, "etcd_user must be one line"),
	STRING("etcd_password_file", etcd_password_file, true, is_absolute,
	       "etcd_password_file must be an absolute path"),
	{ .name = "endpoints", .type = KEY_ENDPOINTS },
	{ .name = "redirect_ports", .type = KEY_PORTS },
	STRING("notify_cmd", notify_cmd, true, NULL, NULL),
	STRING("heartbeat_url", heartbeat_url, true, is_web_url,
	       "heartbeat_url must be an https:// URL (http:// only to a loopback address)"),
	STRING("cacert", cacert, true, is_absolute, "cacert must be an absolute path"),
	STRING("tenant", tenant, false, NULL, NULL),
	STRING("exec_token_env", exec_token_env, true, is_env_name, ENV_MUST),
	STRING("exec_tenant_env", exec_tenant_env, true, is_env_name, ENV_MUST),
	STRING("git_hosts", git_hosts, false, is_host_list,
	       "git_hosts must be host names or host:port, separated by spaces (no URL)"),
	STRING("git_username", git_username, false, is_one_line, "git_username must be one line"),
	{ .name = "client_auth",
	  .type = KEY_CLIENT_AUTH,
	  .must = "client_auth must be none, post or basic" },
	{ .name = "grant",
	  .type = KEY_GRANT,
	  .must = "grant must be authorization_code or client_credentials" },
	NUMBER("min_valid", min_valid, 0, 86400, "0-86400 seconds"),
	NUMBER("assume_lifetime", assume_lifetime, 60, 86400, "60-86400 seconds"),
	NUMBER("refresh_idle_days", refresh_idle_days, 0, 3650, "0-3650 (0: never expires)"),
	NUMBER("refresh_reuse_grace", refresh_reuse_grace, 0, 86400,
	       "0-86400 seconds (0: a spent refresh token is never accepted again)"),
	{ .name = "cache",
	  .type = KEY_CACHE,
	  .local = true,
	  .must = "cache must be runtime or none" },
};

const size_t spk_profile_n_keys = ARRAY_SIZE(spk_profile_keys);

char **spk_profile_key_string(const struct spk_profile *p, const struct spk_profile_key *k)
{
	return (char **)((char *)p + k->offset);
}

int64_t *spk_profile_key_number(const struct spk_profile *p, const struct spk_profile_key *k)
{
	return (int64_t *)((char *)p + k->offset);
}

/* The row for a key of the config file (the endpoints row for any endpoint key), or NULL. */
const struct spk_profile_key *spk_profile_key_find(const char *key)
{
	for (size_t i = 0; i < spk_profile_n_keys; i++) {
		const struct spk_profile_key *k = &spk_profile_keys[i];
		if (k->type != KEY_ENDPOINTS && strcmp(k->name, key) == 0) {
			return k;
		}
		for (size_t e = 0; k->type == KEY_ENDPOINTS && e < SPK_N_ENDPOINTS; e++) {
			if (strcmp(spk_endpoint_fields[e].key, key) == 0) {
				return k;
			}
		}
	}
	return NULL;
}
