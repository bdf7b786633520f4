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
#include "profile-keys.h"

struct spk_config {
	GKeyFile *kf;
	char *path;
};

int spk_config_open(const char *path, struct spk_config **ret, struct spk_error *err)
{
	g_autoptr(GError) gerr = NULL;
	struct spk_config *cfg = g_new0(struct spk_config, 1);

	cfg->kf = g_key_file_new();
	cfg->path = path ? strdup(path) : spk_path_config_file();
	if (!cfg->path) {
		spk_config_free(cfg);
		return spk_error_set(
			err, SPK_ERR_CONFIG, -ENOENT,
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

/* Read key k of group name into p: 0, -ENOMEM, or -EINVAL (-E2BIG) for a bad value. */
static int get_one(GKeyFile *kf, const char *name, const struct spk_profile_key *k,
		   struct spk_profile *p)
{
	_cleanup_free_ char *s = NULL;

	switch (k->type) {
	case KEY_STRING:
		*spk_profile_key_string(p, k) = get_key(kf, name, k->name);
		return *spk_profile_key_string(p, k) && k->check &&
				       !k->check(*spk_profile_key_string(p, k))
			       ? -EINVAL
			       : 0;
	case KEY_ENDPOINTS:
		for (size_t i = 0; i < SPK_N_ENDPOINTS; i++) {
			*spk_endpoint_slot(&p->endpoints, i) =
				get_key(kf, name, spk_endpoint_fields[i].key);
		}
		return 0;
	case KEY_PORTS:
		if (!g_key_file_has_key(kf, name, k->name, NULL)) {
			return 0;
		}
		s = get_key(kf, name, k->name);
		return spk_profile_parse_ports(p, s ? s : "");
	default:
		break;
	}
	s = get_key(kf, name, k->name);
	if (!s) {
		return 0;
	}
	switch (k->type) {
	case KEY_NUMBER: {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno || *end || v < k->min || v > k->max) {
			return -EINVAL;
		}
		*spk_profile_key_number(p, k) = v;
		return 0;
	}
	case KEY_CLIENT_AUTH:
		return spk_client_auth_from_string(s, &p->client_auth);
	case KEY_GRANT:
		if (strcmp(s, "client_credentials") == 0) {
			p->grant = SPK_GRANT_CLIENT_CREDENTIALS;
		}
		return p->grant == SPK_GRANT_CLIENT_CREDENTIALS ||
				       strcmp(s, "authorization_code") == 0
			       ? 0
			       : -EINVAL;
	case KEY_CACHE:
		p->cache_none = strcmp(s, "none") == 0;
		return p->cache_none || strcmp(s, "runtime") == 0 ? 0 : -EINVAL;
	default:
		return 0;
	}
}

int spk_config_get(const struct spk_config *cfg, const char *name, struct spk_profile *ret,
		   struct spk_error *err)
{
	struct spk_profile p = SPK_PROFILE_INIT;

	if (!g_key_file_has_group(cfg->kf, name)) {
		return spk_error_set(err, SPK_ERR_LOGIN, -ENOENT,
				     "no profile named '%s' in %s. Run: sparekey login %s", name,
				     cfg->path, name);
	}
	p.name = strdup(name);
	p.config_path = strdup(cfg->path);
	for (size_t i = 0; i < spk_profile_n_keys; i++) {
		const struct spk_profile_key *k = &spk_profile_keys[i];
		int r = get_one(cfg->kf, name, k, &p);
		if (r < 0 && k->type == KEY_PORTS) {
			r = spk_error_set(
				err, SPK_ERR_CONFIG, r,
				"%s: [%s] redirect_ports must be port numbers 1-65535 (at most %d)",
				cfg->path, name, SPK_MAX_PORTS);
		} else if (r < 0) {
			r = spk_error_set(err, SPK_ERR_CONFIG, -EINVAL, "%s: [%s] %s", cfg->path,
					  name, k->must);
		}
		if (r < 0) {
			spk_profile_done(&p);
			return r;
		}
	}
	*ret = p;
	return 0;
}

static void put_key(GKeyFile *kf, const char *group, const char *key, const char *value)
{
	if (value) {
		g_key_file_set_string(kf, group, key, value);
	}
}

/* Write p's value for key k, if it has one. */
static void put_one(GKeyFile *kf, const char *g, const struct spk_profile_key *k,
		    const struct spk_profile *p)
{
	switch (k->type) {
	case KEY_STRING:
		put_key(kf, g, k->name, *spk_profile_key_string(p, k));
		break;
	case KEY_ENDPOINTS:
		for (size_t i = 0; i < SPK_N_ENDPOINTS; i++) {
			put_key(kf, g, spk_endpoint_fields[i].key,
				spk_endpoint_get(&p->endpoints, i));
		}
		break;
	case KEY_PORTS:
		if (p->ports_set) {
			GString *s = g_string_new(NULL);
			for (size_t i = 0; i < p->n_ports; i++) {
				g_string_append_printf(s, "%s%u", i ? " " : "", p->ports[i]);
			}
			g_key_file_set_string(kf, g, k->name, s->str);
			g_string_free(s, TRUE);
		}
		break;
	case KEY_CLIENT_AUTH:
		put_key(kf, g, k->name, spk_client_auth_to_string(p->client_auth));
		break;
	case KEY_GRANT:
		if (p->grant == SPK_GRANT_CLIENT_CREDENTIALS) {
			g_key_file_set_string(kf, g, k->name, "client_credentials");
		}
		break;
	case KEY_NUMBER: {
		/* Unset is -1; a key that cannot be 0 takes 0 as unset too. */
		int64_t v = *spk_profile_key_number(p, k);
		if (v >= 0 && (v > 0 || k->min == 0)) {
			g_key_file_set_int64(kf, g, k->name, v);
		}
		break;
	}
	case KEY_CACHE:
		break;
	}
}

int spk_config_put(struct spk_config *cfg, const struct spk_profile *p, struct spk_error *err)
{
	if (!spk_profile_name_valid(p->name)) {
		return spk_error_set(
			err, SPK_ERR_USAGE, -EINVAL,
			"'%s' is not a valid profile name (letters, digits, '.', '_', '-')",
			p->name ? p->name : "");
	}
	for (size_t i = 0; i < spk_profile_n_keys; i++) {
		put_one(cfg->kf, p->name, &spk_profile_keys[i], p);
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
	if (!g_file_set_contents_full(cfg->path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT,
				      0600, &gerr)) {
		return spk_error_set(err, SPK_ERR_CONFIG, -EIO, "cannot write %s: %s", cfg->path,
				     gerr->message);
	}
	spk_log("config %s: written", cfg->path);
	return 0;
}

int spk_config_export_settings(const struct spk_config *cfg, const char *name, char ***ret_keys,
			       char ***ret_values, struct spk_error *err)
{
	gsize n = 0;
	g_auto(GStrv) keys = g_key_file_get_keys(cfg->kf, name, &n, NULL);
	char **out_keys = calloc(n + 1, sizeof(char *)),
	     **out_values = calloc(n + 1, sizeof(char *));
	size_t o = 0;

	if (!keys || !out_keys || !out_values) {
		free(out_keys);
		free(out_values);
		return spk_error_set(err, SPK_ERR_LOGIN, -ENOENT, "no profile named '%s' in %s",
				     name, cfg->path);
	}
	for (gsize i = 0; i < n; i++) {
		const struct spk_profile_key *k = spk_profile_key_find(keys[i]);
		if (!k || k->local) {
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
		return spk_error_set(err, SPK_ERR_USAGE, -EINVAL,
				     "'%s' is not a valid profile name", name);
	}
	for (size_t i = 0; keys[i]; i++) {
		const struct spk_profile_key *k = spk_profile_key_find(keys[i]);
		if (!k || k->local || !values[i] || strpbrk(values[i], "\r\n")) {
			return spk_error_set(
				err, SPK_ERR_CONFIG, -EINVAL,
				"the imported settings hold an unknown or invalid key '%.40s'",
				keys[i]);
		}
	}
	/* Start from the local-only keys, then take everything else from the import. */
	static const char *const kept[] = {
		"store",       "notify_cmd", "heartbeat_url", "etcd_endpoints", "etcd_prefix",
		"etcd_cacert", "etcd_cert",  "etcd_key",      "etcd_user",      "etcd_password_file"
	};
	char *values_kept[ARRAY_SIZE(kept)];
	for (size_t i = 0; i < ARRAY_SIZE(kept); i++) {
		values_kept[i] = g_key_file_get_string(cfg->kf, name, kept[i], NULL);
	}
	(void)g_key_file_remove_group(cfg->kf, name, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(kept); i++) {
		if (values_kept[i]) {
			g_key_file_set_string(cfg->kf, name, kept[i], values_kept[i]);
		}
		g_free(values_kept[i]);
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

void spk_profile_done(struct spk_profile *p)
{
	if (!p) {
		return;
	}
	free(p->name);
	free(p->config_path);
	for (size_t i = 0; i < spk_profile_n_keys; i++) {
		if (spk_profile_keys[i].type == KEY_STRING) {
			free(*spk_profile_key_string(p, &spk_profile_keys[i]));
		}
	}
	spk_endpoints_done(&p->endpoints);
	*p = (struct spk_profile)SPK_PROFILE_INIT;
}
