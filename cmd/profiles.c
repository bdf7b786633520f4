#include <errno.h>

#include "commands.h"
#include "output.h"

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
