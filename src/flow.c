#include "flow.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "loopback.h"
#include "oauth.h"
#include "provider.h"
#include "secret.h"
#include "store.h"

int64_t spk_flow_min_valid(const struct spk_profile *p)
{
	return p->min_valid >= 0 ? p->min_valid : SPK_DEFAULT_MIN_VALID;
}

int spk_flow_login(const struct spk_profile *p, int timeout_s, const struct spk_login_ui *ui,
		   struct spk_grant *ret, struct spk_error *err)
{
	struct spk_provider prov = { 0 };
	struct spk_pkce pkce = { 0 };
	struct spk_loopback *lb = NULL;
	struct spk_callback cb = { 0 };
	struct spk_grant g = { 0 };
	_cleanup_free_ char *state = NULL, *nonce = NULL, *url = NULL;
	int r;

	r = spk_provider_resolve(p, true, &prov, err);
	if (r < 0) {
		return r;
	}
	const char *scopes = p->scopes;
	if (spk_random_token(32, &state) < 0 || spk_pkce_new(&pkce) < 0 ||
	    (spk_scope_has(scopes, "openid") && spk_random_token(32, &nonce) < 0)) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -EIO, "cannot get random bytes");
		goto out;
	}
	r = spk_http_check_url("the authorization endpoint", prov.endpoints.authorization, err);
	if (r < 0) {
		goto out;
	}
	r = spk_http_check_url("the token endpoint", prov.endpoints.token, err);
	if (r < 0) {
		goto out;
	}

	struct spk_loopback_config lc = {
		.host = prov.redirect_host,
		.path = prov.redirect_path,
		.ports = prov.ports,
		.n_ports = prov.n_ports,
		.state = state,
		.issuer = prov.preset->discovery ? prov.endpoints.issuer : NULL,
		.profile = p->name,
	};
	r = spk_loopback_start(&lc, &lb, err);
	if (r < 0) {
		goto out;
	}
	const char *redirect_uri = spk_loopback_redirect_uri(lb);
	struct spk_authorize_params ap = {
		.endpoint = prov.endpoints.authorization,
		.client_id = p->client_id,
		.redirect_uri = redirect_uri,
		.scopes = scopes,
		.state = state,
		.nonce = nonce,
		.code_challenge = pkce.challenge,
		.extra = spk_provider_authorize_extra(&prov, scopes),
	};
	r = spk_oauth_authorize_url(&ap, &url);
	if (r < 0) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
		goto out;
	}
	if (ui && ui->authorize) {
		ui->authorize(ui->userdata, redirect_uri, url);
	}

	r = spk_loopback_wait(lb, timeout_s * 1000, &cb, err);
	if (r == -ETIMEDOUT) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, r,
				  "no answer from the browser within %d s; nothing was stored. "
				  "Run the login again (--timeout SECS allows longer)", timeout_s);
		goto out;
	}
	if (r < 0) {
		goto out;
	}
	r = spk_oauth_exchange_code(prov.endpoints.token, p->client_id, cb.code, pkce.verifier,
				    redirect_uri, nonce, (int64_t)time(NULL), &g, err);
	if (r < 0) {
		goto out;
	}
	r = spk_store_save(p, &g, err);
	if (r < 0) {
		goto out;
	}
	*ret = g;
	g = (struct spk_grant){ 0 };
out:
	spk_loopback_free(lb);
	spk_callback_done(&cb);
	spk_pkce_done(&pkce);
	spk_grant_done(&g);
	spk_provider_done(&prov);
	return r;
}

/* Refresh g in place and store it; on failure g and the store are unchanged. */
static int refresh_grant(const struct spk_profile *p, struct spk_grant *g, struct spk_error *err)
{
	struct spk_provider prov = { 0 };
	struct spk_grant fresh = { 0 };
	int r;

	if (!g->refresh_token) {
		return spk_error_set(err, SPK_ERR_LOGIN, -ENOKEY,
				     "%s: the access token expired and the provider gave no "
				     "refresh token", p->name);
	}
	r = spk_provider_resolve(p, false, &prov, err);
	if (r < 0) {
		return r;
	}
	r = spk_oauth_refresh(prov.endpoints.token, p->client_id, g->refresh_token,
			      (int64_t)time(NULL), &fresh, err);
	spk_provider_done(&prov);
	if (r < 0) {
		return r;
	}
	/* Store the merged grant before anyone sees the new tokens. */
	struct spk_grant merged = { 0 };
	r = spk_grant_copy(g, &merged);
	if (r < 0) {
		spk_grant_done(&fresh);
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
	}
	spk_grant_update(&merged, &fresh);
	r = spk_store_save(p, &merged, err);
	if (r < 0) {
		spk_grant_done(&merged);
		return r;
	}
	spk_grant_done(g);
	*g = merged;
	return 0;
}

int spk_flow_token(const struct spk_profile *p, int64_t min_valid, struct spk_grant *ret,
		   struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int r = spk_store_load(p, &g, err);

	if (r < 0) {
		return r;
	}
	if (spk_grant_valid_for(&g, (int64_t)time(NULL)) <= min_valid) {
		r = refresh_grant(p, &g, err);
		if (r < 0) {
			spk_grant_done(&g);
			return r;
		}
	}
	*ret = g;
	return 0;
}

int spk_flow_refresh(const struct spk_profile *p, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_grant g = { 0 };
	int r = spk_store_load(p, &g, err);

	if (r == 0) {
		r = refresh_grant(p, &g, err);
	}
	if (r < 0) {
		spk_grant_done(&g);
		return r;
	}
	*ret = g;
	return 0;
}
