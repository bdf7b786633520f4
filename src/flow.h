/*
 * Composed operations, and the ordering promises they keep:
 *  - a grant from the provider is stored before it is handed to the caller
 *    (so a rotated refresh token is never only in memory);
 *  - a failed refresh never deletes or changes the stored grant.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "grant.h"
#include "health.h"
#include "profile.h"

#define SPK_DEFAULT_LOGIN_TIMEOUT 300

struct spk_login_ui {
	/* The redirect URI is known; the user must now visit url (open a browser). */
	void (*authorize)(void *userdata, const char *redirect_uri, unsigned port, const char *url);
	/* Device grant: show the user code and where to enter it. */
	void (*device)(void *userdata, const char *user_code, const char *uri,
		       const char *uri_complete, int64_t expires_in);
	/* While waiting for the person: about once a second, the seconds left. */
	void (*tick)(void *userdata, int seconds_left);
	/* The code has arrived; the grant is being fetched and stored. */
	void (*exchanging)(void *userdata);
	/* Several organisations and none chosen: the index of the default, or -1 for the first. */
	int (*pick_tenant)(void *userdata, const struct spk_tenant *tenants, size_t n);
	void *userdata;
};

enum spk_login_mode {
	SPK_LOGIN_BROWSER,            /* authorization code + PKCE via the loopback redirect */
	SPK_LOGIN_DEVICE,             /* RFC 8628 */
	SPK_LOGIN_CLIENT_CREDENTIALS, /* RFC 6749 §4.4: no person involved */
};

struct spk_login_options {
	enum spk_login_mode mode;
	int timeout_s; /* how long to wait for the person */
	int paste_fd;  /* browser mode: also accept a pasted redirect or code here; -1: no */
	const char *client_secret; /* a new client secret to store with the grant, or NULL */
};

/*
 * Log in and store the grant (and a new client secret) in p's store,
 * replacing what was there.
 */
int spk_flow_login(const struct spk_profile *p, const struct spk_login_options *o,
		   const struct spk_login_ui *ui, struct spk_grant *ret, struct spk_error *err);

/*
 * The stored grant, refreshed first when it expires within min_valid
 * seconds; min_valid < 0: the profile's min_valid, else the default 60 s
 * capped at half the token's lifetime, so that short-lived tokens are not
 * refreshed on every call.
 */
int spk_flow_token(const struct spk_profile *p, int64_t min_valid, struct spk_grant *ret,
		   struct spk_error *err);

/*
 * The access token was refused where it was sent (git's erase): mark it
 * spent so that the next spk_flow_token() refreshes, and drop it from the
 * runtime cache. token: the one refused; when it is no longer the stored
 * one (a refresh came since), nothing changes. NULL: whichever is stored.
 * A grant nothing can renew (no refresh token, no client credentials) is
 * left as it is: marking its token spent would end it. 0 marked; 1 nothing
 * to do; negative on failure (err).
 */
int spk_flow_token_spent(const struct spk_profile *p, const char *token, struct spk_error *err);

/*
 * Refresh now and store the result: 0 with the new grant in *ret. With
 * older_than >= 0, only a refresh token at least that many seconds old is
 * spent: a younger one, or none, returns 1 with the stored grant in *ret.
 * On failure, *ret holds the stored grant if it could be read, for its ages
 * only (its tokens may be spent), else an empty one: a caller need not wait
 * on a hung keyring twice to say how long the grant has left.
 */
int spk_flow_refresh(const struct spk_profile *p, int64_t older_than, struct spk_grant *ret,
		     struct spk_error *err);

/*
 * Many refreshes at once from threads (refresh --all): between begin and
 * end, spk_flow_refresh() sends through one shared worker process instead
 * of one each (worker.h). Call them with no refresh under way.
 */
int spk_flow_refresh_many_begin(struct spk_error *err);
void spk_flow_refresh_many_end(void);

/*
 * Was a refresh of g, p's stored grant, cut off after it was sent (a power
 * loss, a machine-wide kill)? As the next refresh will find it, changing
 * nothing: 0 no (or one is under way); 1 yes, and the provider's grace
 * lets the next refresh send the same token again; SPK_CUT_OFF_ELSEWHERE
 * (health.h) another machine sharing the store sent it and stores its
 * answer when it is back (err: "P: refresh under way on HOST since TIME
 * (pid N). …"); -ESTALE yes, and a person must log in (err says what
 * happened, when, and so).
 */
int spk_flow_cut_off(const struct spk_profile *p, const struct spk_grant *g, struct spk_error *err);

/*
 * Export p (from cfg): its settings, grant and client secret as one JSON
 * document (*ret_json, a secret). p's refresh lock is held in *ret_lock
 * until spk_flow_export_end(), which deletes the local grant and client
 * secret when remove is set: a rotating refresh token must live in one
 * place only.
 */
int spk_flow_export_begin(const struct spk_config *cfg, const struct spk_profile *p,
			  char **ret_json, int *ret_lock, struct spk_error *err);
int spk_flow_export_end(const struct spk_profile *p, int lock, bool remove, struct spk_error *err);

/*
 * Import an export document as profile name: settings into cfg (saved),
 * the grant and client secret into the store (store: "secret", "file", or
 * NULL for the profile's). *ret is the imported grant.
 */
int spk_flow_import(struct spk_config *cfg, const char *name, const char *store, const char *json,
		    size_t len, struct spk_grant *ret, struct spk_error *err);

/* p's stored grant as it is: no lock, no refresh. -ENOENT (SPK_ERR_LOGIN) when none. */
int spk_flow_load(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err);

/*
 * g's health (health.h) at now, with the profile's margin, and whether a
 * refresh of it was cut off (spk_flow_cut_off, folded in). err: the cut-off
 * story when h->cut_off < 0 or is SPK_CUT_OFF_ELSEWHERE.
 */
void spk_flow_health(const struct spk_profile *p, const struct spk_grant *g, int64_t now,
		     struct spk_health *ret, struct spk_error *err);

/*
 * First thing in the full program's main(): take over the refresh lock the
 * front handed over with the command (SPAREKEY_LOCK_FD), if it did.
 */
void spk_flow_receive_handover(void);

/*
 * Load and initialise the HTTP client now, before threads start: a process
 * about to run many refreshes (refresh --all) then pays for it once.
 */
int spk_flow_open_network(struct spk_error *err);

/* Can p's refresh lock be taken? 0 (free or briefly held by a refresh) or an error. */
int spk_flow_probe_lock(const struct spk_profile *p, struct spk_error *err);

/* Fetch the grant's organisations again (Xero) and store them. */
int spk_flow_tenants_refresh(const struct spk_profile *p, struct spk_grant *ret,
			     struct spk_error *err);

/*
 * Forget p's grant: revoke it at the provider (RFC 7009) unless keep_remote,
 * then delete the grant, the client secret and any rescue journal. The
 * local deletion happens even when revocation fails; then the error says
 * so. -ENOENT when nothing was stored; SPK_LOGOUT_NOT_REVOKED when the
 * provider has no revocation endpoint (deleted here, nothing sent: the
 * grant lives on there until it expires or a person revokes it).
 */
#define SPK_LOGOUT_NOT_REVOKED 1
int spk_flow_logout(const struct spk_profile *p, bool keep_remote, struct spk_error *err);
