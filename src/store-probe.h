/*
 * What doctor asks of a store beyond "is the grant there": for a shared
 * store (store = etcd), one line per endpoint (it answers, it has a
 * leader), authentication, and read and write permission on the
 * profile's keys; and which endpoint answered, for status.
 */
#pragma once

#include <stddef.h>

#include "error.h"
#include "profile.h"

struct spk_store_probe {
	char what[32];        /* "etcd endpoint", "etcd auth", … */
	char detail[224];     /* what was found, when it is fine */
	struct spk_error err; /* kind SPK_ERR_NONE when it is fine */
};

/* Fill at most max lines for p's store: their number (0 for a store of this machine). */
size_t spk_store_probe(const struct spk_profile *p, struct spk_store_probe *ret, size_t max);

/* The endpoint that answered p's last store request in this process, or NULL. */
const char *spk_store_endpoint(const struct spk_profile *p);
