#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "output.h"

const char *front_path(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, size, "%s/sparekey", self);
			if (access(buf, X_OK) == 0) {
				return buf;
			}
		}
	}
	snprintf(buf, size, "%s/sparekey", SPK_BINDIR);
	return buf;
}

int read_profile(const char *name, struct spk_profile *ret, struct spk_error *err)
{
	struct spk_config *cfg = NULL;

	if (!spk_profile_name_valid(name)) {
		return spk_error_set(err, SPK_ERR_USAGE, -EINVAL,
				     "'%s' is not a valid profile name", name);
	}
	int r = spk_config_open(opt_config, &cfg, err);
	if (r == 0) {
		r = spk_config_get(cfg, name, ret, err);
	}
	spk_config_free(cfg);
	return r;
}
