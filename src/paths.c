#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

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

static const char *const state_ext[] = {
	[SPK_STATE_JOURNAL] = "rescue",
	[SPK_STATE_INFLIGHT] = "inflight",
};

char *spk_path_state_name(const char *profile, enum spk_state_file which)
{
	char *out = NULL;
	return asprintf(&out, "%s.%s", profile, state_ext[which]) < 0 ? NULL : out;
}

char *spk_path_state_file(const char *profile, enum spk_state_file which)
{
	char *dir = spk_path_state_dir();
	char *out = NULL;

	if (dir && asprintf(&out, "%s/%s.%s", dir, profile, state_ext[which]) < 0) {
		out = NULL;
	}
	free(dir);
	return out;
}

bool spk_path_refresh_pending(const char *profile)
{
	for (size_t i = 0; i < sizeof(state_ext) / sizeof(state_ext[0]); i++) {
		char *path = spk_path_state_file(profile, (enum spk_state_file)i);
		bool pending = !path || access(path, F_OK) == 0;
		free(path);
		if (pending) {
			return true;
		}
	}
	return false;
}

static const char *program(const char *name, const char *installed_dir, char *buf, size_t size)
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

const char *spk_path_front(char *buf, size_t size)
{
	return program("sparekey", SPK_BINDIR, buf, size);
}

const char *spk_path_cli(char *buf, size_t size)
{
	return program("sparekey-cli", SPK_LIBEXECDIR, buf, size);
}

const char *spk_path_worker(char *buf, size_t size)
{
	return program("sparekey-worker", SPK_LIBEXECDIR, buf, size);
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
	    snprintf(path, sizeof(path), "%s/bus", runtime) < (int)sizeof(path) &&
	    own_socket(path)) {
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

int spk_env_put_lock_fd(int fd)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", fd);
	return setenv("SPAREKEY_LOCK_FD", v, 1) < 0 ? -errno : 0;
}

char *spk_path_token_file_name(const char *profile, long pid)
{
	char *out = NULL;
	return asprintf(&out, "%s.%ld.bearer", profile, pid) < 0 ? NULL : out;
}

const char *spk_env_kube_exec_info(void)
{
	const char *v = secure_getenv("KUBERNETES_EXEC_INFO");
	return v && *v ? v : NULL;
}

bool spk_profile_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok) {
			return false;
		}
	}
	return true;
}
