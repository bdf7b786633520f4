#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "paths.h"

const char *front_path(char *buf, size_t size)
{
	return spk_path_front(buf, size);
}

int profile_token(const struct spk_profile *p, long long min_valid, struct spk_grant *ret_g)
{
	struct spk_error err = { 0 };

	if (spk_flow_token(p, min_valid, ret_g, &err) < 0) {
		int status = fail(p->name, &err);
		notify_failure(p, &err);
		return status;
	}
	/* A refresh whose answer had an unreadable field: said once, when it came. */
	warning(p->name, ret_g->warning);
	return EXIT_OK;
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
