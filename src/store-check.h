/*
 * Can a profile's store be reached now? Asked by login before it writes the
 * profile to the config file or starts a sign-in: a login whose grant
 * cannot be stored must change nothing and waste no one's time in a
 * browser.
 */
#pragma once

#include "error.h"
#include "profile.h"

/*
 * 0 when p's store is there. The keyring without a session bus (-ENOTCONN)
 * or without a Secret Service on it (-ENOENT): SPK_ERR_CONFIG (retrying
 * cannot help), with a message that names the cause only; the caller, which
 * knows the command line, adds the way out. A locked collection or a
 * keyring that does not answer: SPK_ERR_TEMPFAIL, worded as elsewhere.
 */
int spk_store_check(const struct spk_profile *p, struct spk_error *err);

/* The two halves, in the module of each backend. */
int spk_store_secret_check(const char *profile, struct spk_error *err);
int spk_store_file_check(const char *profile, struct spk_error *err);
/* The cluster answers a read of p's grant key (there or not). */
int spk_store_etcd_check(const struct spk_profile *p, struct spk_error *err);
