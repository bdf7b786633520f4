/*
 * The config file (a GLib key file a person edits): written to a private
 * temp file, read with spk_config_open(), then every profile it names
 * through spk_config_get() and spk_config_export_settings().
 */
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"
#include "profile.h"

static char path[4096];
static int fd = -1;

static void remove_file(void)
{
	(void)unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spk_config *cfg = NULL;
	struct spk_error err = { 0 };

	if (fd < 0) {
		const char *dir = getenv("TMPDIR");
		(void)snprintf(path, sizeof(path), "%s/sparekey-fuzz-config.XXXXXX",
			       dir && *dir ? dir : "/tmp");
		fd = mkstemp(path);
		if (fd < 0) {
			abort();
		}
		/* One file for the whole run, removed at exit. */
		(void)atexit(remove_file);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
		abort();
	}
	if (spk_config_open(path, &cfg, &err) < 0) {
		FUZZ_ASSERT(err.msg[0] != '\0');
		return 0;
	}
	char **names = spk_config_profiles(cfg);
	for (size_t i = 0; names && names[i]; i++) {
		struct spk_profile p = SPK_PROFILE_INIT;
		struct spk_error e = { 0 };
		if (spk_config_get(cfg, names[i], &p, &e) == 0) {
			FUZZ_ASSERT(p.n_ports <= SPK_MAX_PORTS);
			spk_profile_done(&p);
		} else {
			FUZZ_ASSERT(e.msg[0] != '\0');
		}
		char **keys = NULL, **values = NULL;
		if (spk_config_export_settings(cfg, names[i], &keys, &values, NULL) == 0) {
			spk_strv_free(keys);
			spk_strv_free(values);
		}
	}
	spk_strv_free(names);
	spk_config_free(cfg);
	return 0;
}
