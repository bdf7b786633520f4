#include "profile.h"

#include <errno.h>
#include <stddef.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct spk_config {
	GKeyFile *kf;
	char *path;
};

/* Key names of the endpoint overrides, in struct spk_endpoints order. */
static const struct {
	const char *key;
	size_t offset;
} endpoint_keys[] = {
	{ "issuer", offsetof(struct spk_endpoints, issuer) },
	{ "authorization_endpoint", offsetof(struct spk_endpoints, authorization) },
	{ "token_endpoint", offsetof(struct spk_endpoints, token) },
	{ "revocation_endpoint", offsetof(struct spk_endpoints, revocation) },
	{ "device_authorization_endpoint", offsetof(struct spk_endpoints, device_authorization) },
	{ "userinfo_endpoint", offsetof(struct spk_endpoints, userinfo) },
	{ "connections_endpoint", offsetof(struct spk_endpoints, connections) },
};

static char **endpoint_field(struct spk_endpoints *e, size_t i)
{
	return (char **)((char *)e + endpoint_keys[i].offset);
}

int spk_config_open(const char *path, struct spk_config **ret, struct spk_error *err)
{
	g_autoptr(GError) gerr = NULL;
	struct spk_config *cfg = g_new0(struct spk_config, 1);

	cfg->kf = g_key_file_new();
	cfg->path = path ? strdup(path) : spk_path_config_file();
	if (!cfg->path) {
		spk_config_free(cfg);
		return spk_error_set(err, SPK_ERR_CONFIG, -ENOENT,
				     "cannot find the config directory: set HOME or XDG_CONFIG_HOME");
	}
	if (!g_key_file_load_from_file(cfg->kf, cfg->path, G_KEY_FILE_KEEP_COMMENTS, &gerr)) {
		if (!g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			int r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL, "cannot read %s: %s",
					      cfg->path, gerr->message);
			spk_config_free(cfg);
			return r;
		}
		spk_log("config %s: not there yet", cfg->path);
	}
	*ret = cfg;
	return 0;
}

void spk_config_free(struct spk_config *cfg)
{
	if (!cfg) {
		return;
	}
	g_key_file_free(cfg->kf);
	free(cfg->path);
	g_free(cfg);
}

const char *spk_config_path(const struct spk_config *cfg)
{
	return cfg->path;
}

static const char *const client_auth_names[] = {
	[SPK_CLIENT_AUTH_DEFAULT] = NULL,
	[SPK_CLIENT_AUTH_NONE] = "none",
	[SPK_CLIENT_AUTH_POST] = "post",
	[SPK_CLIENT_AUTH_BASIC] = "basic",
};

int spk_client_auth_from_string(const char *s, enum spk_client_auth *ret)
{
	for (size_t i = 1; s && i < G_N_ELEMENTS(client_auth_names); i++) {
		if (strcmp(s, client_auth_names[i]) == 0) {
			*ret = (enum spk_client_auth)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *spk_client_auth_to_string(enum spk_client_auth a)
{
	return (size_t)a < G_N_ELEMENTS(client_auth_names) ? client_auth_names[a] : NULL;
}

int spk_profile_parse_ports(struct spk_profile *p, const char *list)
{
	g_auto(GStrv) parts = g_strsplit_set(list, " ,;\t", -1);
	size_t n = 0;

	for (char **s = parts; *s; s++) {
		if (**s == '\0') {
			continue;
		}
		char *end;
		errno = 0;
		unsigned long v = strtoul(*s, &end, 10);
		if (errno || *end || v > 65535 || (*s)[0] == '-') {
			return -EINVAL;
		}
		if (v == 0) {
			continue; /* 0 means "ephemeral", the same as an empty list */
		}
		if (n == SPK_MAX_PORTS) {
			return -E2BIG;
		}
		p->ports[n++] = (unsigned)v;
	}
	p->n_ports = n;
	p->ports_set = true;
	return 0;
}

static char *get_key(GKeyFile *kf, const char *group, const char *key)
{
	char *v = g_key_file_get_string(kf, group, key, NULL);
	if (v) {
		g_strstrip(v);
		if (*v == '\0') {
			g_free(v);
			v = NULL;
		}
	}
	/* Hand out malloc'd memory: callers free with free(). */
	char *out = v ? strdup(v) : NULL;
	g_free(v);
	return out;
}

/* The numeric keys: where each goes, its range, and how to say it. */
static const struct {
	const char *key;
	size_t offset;
	long long min, max;
	const char *range;
} number_keys[] = {
	{ "min_valid", offsetof(struct spk_profile, min_valid), 0, 86400, "0-86400 seconds" },
	{ "assume_lifetime", offsetof(struct spk_profile, assume_lifetime), 60, 86400,
	  "60-86400 seconds" },
	{ "refresh_idle_days", offsetof(struct spk_profile, refresh_idle_days), 0, 3650,
	  "0-3650 (0: never expires)" },
	{ "refresh_reuse_grace", offsetof(struct spk_profile, refresh_reuse_grace), 0, 86400,
	  "0-86400 seconds (0: a spent refresh token is never accepted again)" },
};

static int get_numbers(const struct spk_config *cfg, const char *name, struct spk_profile *p,
		       struct spk_error *err)
{
	for (size_t i = 0; i < G_N_ELEMENTS(number_keys); i++) {
		_cleanup_free_ char *s = get_key(cfg->kf, name, number_keys[i].key);
		if (!s) {
			continue;
		}
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno || *end || v < number_keys[i].min || v > number_keys[i].max) {
			return spk_error_set(err, SPK_ERR_CONFIG, -EINVAL, "%s: [%s] %s must be %s",
					     cfg->path, name, number_keys[i].key,
					     number_keys[i].range);
		}
		*(int64_t *)((char *)p + number_keys[i].offset) = v;
	}
	return 0;
}

int spk_config_get(const struct spk_config *cfg, const char *name, struct spk_profile *ret,
		   struct spk_error *err)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	GKeyFile *kf = cfg->kf;

	if (!g_key_file_has_group(kf, name)) {
		return spk_error_set(err, SPK_ERR_LOGIN, -ENOENT,
				     "no profile named '%s' in %s. Run: sparekey login %s", name,
				     cfg->path, name);
	}
	p.name = strdup(name);
	p.provider = get_key(kf, name, "provider");
	p.client_id = get_key(kf, name, "client_id");
	p.scopes = get_key(kf, name, "scopes");
	p.redirect_host = get_key(kf, name, "redirect_host");
	p.redirect_path = get_key(kf, name, "redirect_path");
	p.store = get_key(kf, name, "store");
	p.notify_cmd = get_key(kf, name, "notify_cmd");
	p.cacert = get_key(kf, name, "cacert");
	p.config_path = strdup(cfg->path);
	p.tenant = get_key(kf, name, "tenant");
	p.exec_token_env = get_key(kf, name, "exec_token_env");
	p.exec_tenant_env = get_key(kf, name, "exec_tenant_env");
	for (size_t i = 0; i < G_N_ELEMENTS(endpoint_keys); i++) {
		*endpoint_field(&p.endpoints, i) = get_key(kf, name, endpoint_keys[i].key);
	}

	int r = 0;
	_cleanup_free_ char *ports = NULL, *auth = NULL, *grant = NULL, *cache = NULL;
	if (g_key_file_has_key(kf, name, "redirect_ports", NULL)) {
		ports = get_key(kf, name, "redirect_ports");
		r = spk_profile_parse_ports(&p, ports ? ports : "");
		if (r < 0) {
			r = spk_error_set(err, SPK_ERR_CONFIG, r,
					  "%s: [%s] redirect_ports must be port numbers 1-65535 (at most %d)",
					  cfg->path, name, SPK_MAX_PORTS);
			goto fail;
		}
	}
	r = get_numbers(cfg, name, &p, err);
	if (r < 0) {
		goto fail;
	}
	auth = get_key(kf, name, "client_auth");
	if (auth && spk_client_auth_from_string(auth, &p.client_auth) < 0) {
		r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				  "%s: [%s] client_auth must be none, post or basic", cfg->path, name);
		goto fail;
	}
	grant = get_key(kf, name, "grant");
	if (grant && strcmp(grant, "client_credentials") == 0) {
		p.grant = SPK_GRANT_CLIENT_CREDENTIALS;
	} else if (grant && strcmp(grant, "authorization_code") != 0) {
		r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				  "%s: [%s] grant must be authorization_code or client_credentials",
				  cfg->path, name);
		goto fail;
	}
	cache = get_key(kf, name, "cache");
	if (cache && strcmp(cache, "none") != 0 && strcmp(cache, "runtime") != 0) {
		r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				  "%s: [%s] cache must be runtime or none", cfg->path, name);
		goto fail;
	}
	p.cache_none = cache && strcmp(cache, "none") == 0;
	const char *env_keys[] = { p.exec_token_env, p.exec_tenant_env };
	for (size_t i = 0; i < G_N_ELEMENTS(env_keys); i++) {
		const char *v = env_keys[i];
		bool ok = v && (g_ascii_isalpha(v[0]) || v[0] == '_');
		for (const char *c = v; ok && *c; c++) {
			ok = g_ascii_isalnum(*c) || *c == '_';
		}
		if (v && !ok) {
			r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
					  "%s: [%s] exec_token_env and exec_tenant_env must be "
					  "environment variable names", cfg->path, name);
			goto fail;
		}
	}
	if (p.redirect_host && strcmp(p.redirect_host, "localhost") != 0 &&
	    strcmp(p.redirect_host, "127.0.0.1") != 0 && strcmp(p.redirect_host, "[::1]") != 0) {
		r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				  "%s: [%s] redirect_host must be localhost, 127.0.0.1 or [::1]",
				  cfg->path, name);
		goto fail;
	}
	if (p.cacert && p.cacert[0] != '/') {
		r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				  "%s: [%s] cacert must be an absolute path", cfg->path, name);
		goto fail;
	}
	if (p.redirect_path && p.redirect_path[0] != '/') {
		r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				  "%s: [%s] redirect_path must start with '/'", cfg->path, name);
		goto fail;
	}
	if (p.store && strcmp(p.store, "secret") != 0 && strcmp(p.store, "file") != 0) {
		r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
				  "%s: [%s] store must be 'secret' or 'file'", cfg->path, name);
		goto fail;
	}
	*ret = p;
	return 0;
fail:
	spk_profile_done(&p);
	return r;
}

static void put_key(GKeyFile *kf, const char *group, const char *key, const char *value)
{
	if (value) {
		g_key_file_set_string(kf, group, key, value);
	}
}

int spk_config_put(struct spk_config *cfg, const struct spk_profile *p, struct spk_error *err)
{
	GKeyFile *kf = cfg->kf;
	const char *g = p->name;

	if (!spk_profile_name_valid(g)) {
		return spk_error_set(err, SPK_ERR_USAGE, -EINVAL,
				     "'%s' is not a valid profile name (letters, digits, '.', '_', '-')",
				     g ? g : "");
	}
	put_key(kf, g, "provider", p->provider);
	put_key(kf, g, "client_id", p->client_id);
	put_key(kf, g, "scopes", p->scopes);
	put_key(kf, g, "redirect_host", p->redirect_host);
	put_key(kf, g, "redirect_path", p->redirect_path);
	put_key(kf, g, "store", p->store);
	for (size_t i = 0; i < G_N_ELEMENTS(endpoint_keys); i++) {
		put_key(kf, g, endpoint_keys[i].key,
			*endpoint_field((struct spk_endpoints *)&p->endpoints, i));
	}
	if (p->ports_set) {
		GString *s = g_string_new(NULL);
		for (size_t i = 0; i < p->n_ports; i++) {
			g_string_append_printf(s, "%s%u", i ? " " : "", p->ports[i]);
		}
		g_key_file_set_string(kf, g, "redirect_ports", s->str);
		g_string_free(s, TRUE);
	}
	put_key(kf, g, "notify_cmd", p->notify_cmd);
	put_key(kf, g, "cacert", p->cacert);
	put_key(kf, g, "tenant", p->tenant);
	put_key(kf, g, "exec_token_env", p->exec_token_env);
	put_key(kf, g, "exec_tenant_env", p->exec_tenant_env);
	put_key(kf, g, "client_auth", spk_client_auth_to_string(p->client_auth));
	if (p->grant == SPK_GRANT_CLIENT_CREDENTIALS) {
		g_key_file_set_string(kf, g, "grant", "client_credentials");
	}
	if (p->min_valid >= 0) {
		g_key_file_set_int64(kf, g, "min_valid", p->min_valid);
	}
	if (p->assume_lifetime > 0) {
		g_key_file_set_int64(kf, g, "assume_lifetime", p->assume_lifetime);
	}
	if (p->refresh_idle_days >= 0) {
		g_key_file_set_int64(kf, g, "refresh_idle_days", p->refresh_idle_days);
	}
	if (p->refresh_reuse_grace >= 0) {
		g_key_file_set_int64(kf, g, "refresh_reuse_grace", p->refresh_reuse_grace);
	}
	return 0;
}

int spk_config_save(struct spk_config *cfg, struct spk_error *err)
{
	g_autoptr(GError) gerr = NULL;
	g_autofree char *dir = g_path_get_dirname(cfg->path);
	gsize len;

	if (g_mkdir_with_parents(dir, 0700) < 0) {
		return spk_error_set(err, SPK_ERR_CONFIG, -errno, "cannot create %s: %s", dir,
				     g_strerror(errno));
	}
	g_autofree char *data = g_key_file_to_data(cfg->kf, &len, NULL);
	if (!g_file_set_contents_full(cfg->path, data, (gssize)len,
				      G_FILE_SET_CONTENTS_CONSISTENT, 0600, &gerr)) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EIO, "cannot write %s: %s", cfg->path,
				     gerr->message);
	}
	spk_log("config %s: written", cfg->path);
	return 0;
}

/* Every key a profile may have; the local ones stay on their machine. */
static const struct {
	const char *key;
	bool local;
} known_keys[] = {
	{ "provider", false },
	{ "issuer", false },
	{ "client_id", false },
	{ "client_auth", false },
	{ "grant", false },
	{ "scopes", false },
	{ "redirect_host", false },
	{ "redirect_ports", false },
	{ "redirect_path", false },
	{ "min_valid", false },
	{ "assume_lifetime", false },
	{ "refresh_idle_days", false },
	{ "refresh_reuse_grace", false },
	{ "tenant", false },
	{ "exec_token_env", true },
	{ "exec_tenant_env", true },
	{ "authorization_endpoint", false },
	{ "token_endpoint", false },
	{ "revocation_endpoint", false },
	{ "device_authorization_endpoint", false },
	{ "userinfo_endpoint", false },
	{ "connections_endpoint", false },
	{ "store", true },
	{ "notify_cmd", true },
	{ "cacert", true },
	{ "cache", true },
};

static int key_index(const char *key)
{
	for (size_t i = 0; i < G_N_ELEMENTS(known_keys); i++) {
		if (strcmp(known_keys[i].key, key) == 0) {
			return (int)i;
		}
	}
	return -1;
}

int spk_config_export_settings(const struct spk_config *cfg, const char *name, char ***ret_keys,
			       char ***ret_values, struct spk_error *err)
{
	gsize n = 0;
	g_auto(GStrv) keys = g_key_file_get_keys(cfg->kf, name, &n, NULL);
	char **out_keys = calloc(n + 1, sizeof(char *)), **out_values = calloc(n + 1, sizeof(char *));
	size_t o = 0;

	if (!keys || !out_keys || !out_values) {
		free(out_keys);
		free(out_values);
		return spk_error_set(err, SPK_ERR_LOGIN, -ENOENT, "no profile named '%s' in %s",
				     name, cfg->path);
	}
	for (gsize i = 0; i < n; i++) {
		int k = key_index(keys[i]);
		if (k < 0 || known_keys[k].local) {
			continue;
		}
		char *v = get_key(cfg->kf, name, keys[i]);
		if (!v) {
			continue;
		}
		out_keys[o] = strdup(keys[i]);
		out_values[o++] = v;
	}
	*ret_keys = out_keys;
	*ret_values = out_values;
	return 0;
}

int spk_config_import_settings(struct spk_config *cfg, const char *name, char *const *keys,
			       char *const *values, struct spk_error *err)
{
	if (!spk_profile_name_valid(name)) {
		return spk_error_set(err, SPK_ERR_USAGE, -EINVAL, "'%s' is not a valid profile name",
				     name);
	}
	for (size_t i = 0; keys[i]; i++) {
		int k = key_index(keys[i]);
		if (k < 0 || known_keys[k].local || !values[i] || strpbrk(values[i], "\r\n")) {
			return spk_error_set(err, SPK_ERR_CONFIG, -EINVAL,
					     "the imported settings hold an unknown or invalid key '%.40s'",
					     keys[i]);
		}
	}
	/* Start from the local-only keys, then take everything else from the import. */
	g_autofree char *store = g_key_file_get_string(cfg->kf, name, "store", NULL);
	g_autofree char *notify = g_key_file_get_string(cfg->kf, name, "notify_cmd", NULL);
	(void)g_key_file_remove_group(cfg->kf, name, NULL);
	if (store) {
		g_key_file_set_string(cfg->kf, name, "store", store);
	}
	if (notify) {
		g_key_file_set_string(cfg->kf, name, "notify_cmd", notify);
	}
	for (size_t i = 0; keys[i]; i++) {
		g_key_file_set_string(cfg->kf, name, keys[i], values[i]);
	}
	struct spk_profile check = SPK_PROFILE_INIT;
	int r = spk_config_get(cfg, name, &check, err);
	spk_profile_done(&check);
	return r;
}

char **spk_config_profiles(const struct spk_config *cfg)
{
	gsize n;
	char **groups = g_key_file_get_groups(cfg->kf, &n);
	char **out = calloc(n + 1, sizeof(char *));

	for (gsize i = 0, o = 0; out && i < n; i++) {
		if (spk_profile_name_valid(groups[i])) {
			out[o++] = strdup(groups[i]);
		}
	}
	g_strfreev(groups);
	return out;
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
	for (size_t i = 0; i < G_N_ELEMENTS(endpoint_keys); i++) {
		free(*endpoint_field(e, i));
	}
	*e = (struct spk_endpoints){ 0 };
}

int spk_endpoints_copy(const struct spk_endpoints *src, struct spk_endpoints *dst)
{
	spk_endpoints_done(dst);
	for (size_t i = 0; i < G_N_ELEMENTS(endpoint_keys); i++) {
		const char *v = *endpoint_field((struct spk_endpoints *)src, i);
		*endpoint_field(dst, i) = v ? strdup(v) : NULL;
		if (v && !*endpoint_field(dst, i)) {
			return -ENOMEM;
		}
	}
	return 0;
}

void spk_profile_done(struct spk_profile *p)
{
	if (!p) {
		return;
	}
	free(p->name);
	free(p->provider);
	free(p->client_id);
	free(p->scopes);
	free(p->redirect_host);
	free(p->redirect_path);
	free(p->store);
	free(p->notify_cmd);
	free(p->cacert);
	free(p->config_path);
	free(p->tenant);
	free(p->exec_token_env);
	free(p->exec_tenant_env);
	spk_endpoints_done(&p->endpoints);
	*p = (struct spk_profile)SPK_PROFILE_INIT;
}
