#include "store-check.h"

#include <string.h>

int spk_store_check(const struct spk_profile *p, struct spk_error *err)
{
	/* As store.c's backend_of(): profile.c accepts only known store names. */
	if (p->store && strcmp(p->store, "etcd") == 0) {
		return spk_store_etcd_check(p, err);
	}
	if (p->store && strcmp(p->store, "file") == 0) {
		return spk_store_file_check(p->name, err);
	}
	return spk_store_secret_check(p->name, err);
}
