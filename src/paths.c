#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* $VAR/sparekey[/leaf], else $HOME/below/sparekey[/leaf] (when below is set). */
static char *xdg_path(const char *var, const char *below_home, const char *leaf)
{
	const char *xdg = secure_getenv(var);
	const char *home = secure_getenv("HOME");
	char *out = NULL;
	int n = -1;

	if (xdg && xdg[0] == '/') {
		n = asprintf(&out, "%s/sparekey%s%s", xdg, leaf ? "/" : "", leaf ? leaf : "");
	} else if (below_home && home && home[0] == '/') {
		n = asprintf(&out, "%s/%s/sparekey%s%s", home, below_home, leaf ? "/" : "",
			     leaf ? leaf : "");
	}
	return n < 0 ? NULL : out;
}

char *spk_path_config_file(void)
{
	return xdg_path("XDG_CONFIG_HOME", ".config", "config");
}

char *spk_path_runtime_dir(void)
{
	return xdg_path("XDG_RUNTIME_DIR", NULL, NULL);
}

char *spk_path_state_dir(void)
{
	return xdg_path("XDG_STATE_HOME", ".local/state", NULL);
}

char *spk_path_state_file(const char *profile, const char *ext)
{
	char *dir = spk_path_state_dir();
	char *out = NULL;

	if (dir && asprintf(&out, "%s/%s.%s", dir, profile, ext) < 0) {
		out = NULL;
	}
	free(dir);
	return out;
}

bool spk_path_refresh_pending(const char *profile)
{
	static const char *const exts[] = { "rescue", "inflight" };

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		char *path = spk_path_state_file(profile, exts[i]);
		bool pending = !path || access(path, F_OK) == 0;
		free(path);
		if (pending) {
			return true;
		}
	}
	return false;
}

const char *spk_path_program(const char *name, const char *installed_dir, char *buf,
			     size_t size)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(buf, size, "%s/%s", self, name) < (int)size &&
			    access(buf, X_OK) == 0) {
				return buf;
			}
		}
	}
	snprintf(buf, size, "%s/%s", installed_dir, name);
	return buf;
}

bool spk_env_has_session_bus(void)
{
	const char *v = secure_getenv("DBUS_SESSION_BUS_ADDRESS");
	return v && *v;
}

static bool own_socket(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == geteuid();
}

char *spk_path_session_bus_fallback(void)
{
	const char *runtime = secure_getenv("XDG_RUNTIME_DIR");
	char path[4096];
	char *out = NULL;

	if (spk_env_has_session_bus()) {
		return NULL;
	}
	if (runtime && runtime[0] == '/' &&
	    snprintf(path, sizeof(path), "%s/bus", runtime) < (int)sizeof(path) && own_socket(path)) {
		return asprintf(&out, "unix:path=%s", path) < 0 ? NULL : out;
	}
	snprintf(path, sizeof(path), "/run/user/%u/bus", (unsigned)geteuid());
	if (own_socket(path)) {
		return asprintf(&out, "unix:path=%s", path) < 0 ? NULL : out;
	}
	return NULL;
}

int spk_env_take_lock_fd(void)
{
	const char *v = secure_getenv("SPAREKEY_LOCK_FD");
	char *end;
	long fd = v ? strtol(v, &end, 10) : -1;

	if (v) {
		fd = *end == '\0' && end != v && fd > 2 && fd < 65536 ? fd : -1;
		unsetenv("SPAREKEY_LOCK_FD");
	}
	return (int)fd;
}

bool spk_profile_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-';
		if (!ok) {
			return false;
		}
	}
	return true;
}
