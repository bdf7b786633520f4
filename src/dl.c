#include "dl.h"

#include <dlfcn.h>
#include <errno.h>

int spk_dl_open(struct spk_dl_library *lib, struct spk_error *err)
{
	if (lib->open) {
		return 0;
	}
	/* RTLD_NODELETE: the slots must stay valid even if someone dlcloses. */
	void *handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!handle) {
		return spk_error_set(err, SPK_ERR_INTERNAL, -ELIBACC,
				     "cannot load %s (%s). Reinstall the %s package", lib->soname,
				     dlerror(), lib->package);
	}
	for (size_t i = 0; i < lib->n_symbols; i++) {
		void *address = dlsym(handle, lib->symbols[i].name);
		if (!address) {
			return spk_error_set(err, SPK_ERR_INTERNAL, -ELIBBAD,
					     "%s has no %s; sparekey needs a newer %s", lib->soname,
					     lib->symbols[i].name, lib->package);
		}
		*lib->symbols[i].slot = address;
	}
	lib->open = true;
	return 0;
}
