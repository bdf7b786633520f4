/*
 * What the composed operations share: flow.c (these helpers, the lock),
 * login.c, refresh.c (token and refresh), moves.c (export, import,
 * tenants, logout) and worker.c (the detached exchange). Not for cmd/.
 */
#pragma once

#include <stdint.h>

#include "error.h"
#include "grant.h"
#include "oauth.h"
#include "profile.h"
#include "provider.h"

/* Let the next `token` answer from the runtime cache (best effort). */
void spk_flow_cache_put(const struct spk_profile *p, const struct spk_grant *g);
/* Drop p's runtime cache entry. */
void spk_flow_cache_drop(const struct spk_profile *p);

/*
 * Take p's refresh lock from the store (or adopt the one the front handed
 * over) and complete a leftover rescue journal: 0 with the lock in *ret_lock.
 */
int spk_flow_lock_profile(const struct spk_profile *p, int *ret_lock, struct spk_error *err);
/* The same with the store's lock flags (store.h): SPK_STORE_YIELDED too. */
int spk_flow_lock_profile_flags(const struct spk_profile *p, unsigned flags, int *ret_lock,
				struct spk_error *err);

/*
 * A provider's answer, before anything else: fresh (taken) folded into a
 * copy of g, in *ret, and written to the rescue journal. Not being able to
 * journal it is not fatal (the store write is the durable home anyway):
 * 1 when the journal has it, 0 when not; negative only on out-of-memory.
 */
int spk_flow_merge_journal(const struct spk_profile *p, const struct spk_grant *g,
			   struct spk_grant *fresh, struct spk_grant *ret, struct spk_error *err);

/*
 * Store a new grant (login, import) and a new client secret, replacing
 * what was there, under p's lock: a rescue journal or in-flight record of
 * the old grant goes with it.
 */
int spk_flow_store_login(const struct spk_profile *p, const struct spk_grant *g,
			 const char *client_secret, struct spk_error *err);

/*
 * The client for p's token endpoint. secret: the one to use (NULL: the
 * stored one, if any). *ret_owned holds a loaded secret for the caller to free.
 */
int spk_flow_make_client(const struct spk_profile *p, const struct spk_provider *prov,
			 const char *secret, struct spk_client *ret, char **ret_owned,
			 struct spk_error *err);
