/*
 * Logging in: the browser (authorization code with PKCE, the redirect to
 * the loopback server or a pasted one), the device grant and client
 * credentials; then the organisation, and the new grant stored.
 */
#include "flow.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow-internal.h"
#include "log.h"
#include "loopback.h"
#include "oauth.h"
#include "provider.h"
#include "secret.h"
#include "store.h"
#include "tenants.h"

#define PASTE_MAX 8192

struct paste {
	int fd;
	char buf[PASTE_MAX];
	size_t len;
};

/*
 * Read what is available on the paste fd. 1 when a whole line is in
 * p->buf (NUL-terminated, without the newline); 0 for more to come; at
 * end of input with nothing read, the fd is dropped (p->fd = -1).
 */
static int paste_read(struct paste *p)
{
	ssize_t n = read(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
	if (n < 0) {
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	char *nl = strchr(p->buf, '\n');
	if (nl) {
		*nl = '\0';
		return 1;
	}
	if (n == 0) {
		if (p->len == 0) {
			p->fd = -1; /* stdin closed: only the loopback redirect can come */
			return 0;
		}
		return 1;
	}
	return p->len == sizeof(p->buf) - 1 ? -E2BIG : 0;
}

/* Authorization code with PKCE; the code comes by redirect or is pasted. */
static int login_browser(const struct spk_profile *p, const struct spk_provider *prov,
			 const struct spk_client *c, const struct spk_login_options *o,
			 const struct spk_login_ui *ui, struct spk_grant *ret,
			 struct spk_error *err)
{
	struct spk_pkce pkce = { 0 };
	struct spk_loopback *lb = NULL;
	struct spk_callback cb = { 0 };
	struct paste paste = { .fd = o->paste_fd };
	_cleanup_free_ char *state = NULL, *nonce = NULL, *url = NULL;
	int r;

	const char *scopes = p->scopes;
	if (spk_random_token(32, &state) < 0 || spk_pkce_new(&pkce) < 0 ||
	    (spk_scope_has(scopes, "openid") && spk_random_token(32, &nonce) < 0)) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, -EIO, "cannot get random bytes");
		goto out;
	}
	r = spk_http_check_url("the authorization endpoint", prov->endpoints.authorization, err);
	if (r < 0) {
		goto out;
	}
	const char *issuer = prov->preset->discovery ? prov->endpoints.issuer : NULL;
	struct spk_loopback_config lc = {
		.host = prov->redirect_host,
		.path = prov->redirect_path,
		.ports = prov->ports,
		.n_ports = prov->n_ports,
		.state = state,
		.issuer = issuer,
		.profile = p->name,
	};
	r = spk_loopback_start(&lc, &lb, err);
	if (r < 0) {
		goto out;
	}
	const char *redirect_uri = spk_loopback_redirect_uri(lb);
	struct spk_authorize_params ap = {
		.endpoint = prov->endpoints.authorization,
		.client_id = p->client_id,
		.redirect_uri = redirect_uri,
		.scopes = scopes,
		.state = state,
		.nonce = nonce,
		.code_challenge = pkce.challenge,
		.extra = spk_provider_authorize_extra(prov, scopes),
	};
	r = spk_oauth_authorize_url(&ap, &url);
	if (r < 0) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
		goto out;
	}
	if (ui && ui->authorize) {
		ui->authorize(ui->userdata, redirect_uri, spk_loopback_port(lb), url);
	}

	/* Whichever comes first: the redirect, or a line pasted on paste_fd. */
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = (long)o->timeout_s * 1000 - ((now.tv_sec - start.tv_sec) * 1000 +
							 (now.tv_nsec - start.tv_nsec) / 1000000);
		if (ui && ui->tick && left > 0) {
			ui->tick(ui->userdata, (int)((left + 999) / 1000));
		}
		/* With a countdown to show, wake at each whole second left. */
		int slice = (int)left;
		if (ui && ui->tick && left > 1000) {
			slice = left % 1000 ? (int)(left % 1000) : 1000;
		}
		r = left > 0 ? spk_loopback_wait(lb, slice, paste.fd, &cb, err) : -ETIMEDOUT;
		if (r == -ETIMEDOUT && left > slice) {
			continue;
		}
		if (r != 1) {
			break;
		}
		r = paste_read(&paste);
		if (r < 0) {
			r = spk_error_set(err, SPK_ERR_LOGIN, r,
					  "cannot read the pasted address "
					  "(too long?); nothing was exchanged");
			goto out;
		}
		if (r == 1) {
			r = spk_callback_parse_pasted(paste.buf, state, issuer, &cb, err);
			spk_wipe(paste.buf, sizeof(paste.buf));
			break;
		}
	}
	if (r == -ETIMEDOUT) {
		r = spk_error_set(err, SPK_ERR_TEMPFAIL, r,
				  "no answer from the browser within %d s; nothing was stored. "
				  "Run the login again (--timeout SECS allows longer)",
				  o->timeout_s);
		goto out;
	}
	if (r < 0) {
		goto out;
	}
	if (ui && ui->exchanging) {
		ui->exchanging(ui->userdata);
	}
	const struct spk_token_expect x = {
		.client_id = p->client_id,
		.issuer = issuer,
		.nonce = nonce,
		.scope = scopes,
	};
	r = spk_oauth_exchange_code(c, cb.code, pkce.verifier, redirect_uri, &x,
				    (int64_t)time(NULL), ret, err);
out:
	spk_loopback_free(lb);
	spk_callback_done(&cb);
	spk_pkce_done(&pkce);
	return r;
}

/* RFC 8628: show a code, poll until the person has approved it elsewhere. */
static int login_device(const struct spk_profile *p, const struct spk_provider *prov,
			const struct spk_client *c, const struct spk_login_options *o,
			const struct spk_login_ui *ui, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_device_auth d = { 0 };

	if (!prov->endpoints.device_authorization) {
		return spk_error_set(
			err, SPK_ERR_CONFIG, -ENOTSUP,
			"%s: the provider has no device authorization endpoint; sign in "
			"with the browser instead (--no-browser or --paste on a remote "
			"machine)",
			p->name);
	}
	int r = spk_oauth_device_authorize(c, prov->endpoints.device_authorization, p->scopes, &d,
					   err);
	if (r < 0) {
		return r;
	}
	if (ui && ui->device) {
		ui->device(ui->userdata, d.user_code, d.verification_uri,
			   d.verification_uri_complete, d.expires_in);
	}
	int64_t deadline =
		(int64_t)time(NULL) + (d.expires_in < o->timeout_s ? d.expires_in : o->timeout_s);
	int64_t interval = d.interval;
	const struct spk_token_expect x = {
		.client_id = p->client_id,
		.issuer = prov->preset->discovery ? prov->endpoints.issuer : NULL,
		.scope = p->scopes,
	};
	for (;;) {
		int64_t left = deadline - (int64_t)time(NULL);
		if (left <= 0) {
			r = spk_error_set(
				err, SPK_ERR_TEMPFAIL, -ETIMEDOUT,
				"the sign-in was not completed in time; nothing was stored. "
				"Run the login again");
			break;
		}
		/* The last poll comes at the deadline, not after it. */
		sleep((unsigned)(interval < left ? interval : left));
		if (ui && ui->tick) {
			ui->tick(ui->userdata, (int)(deadline - (int64_t)time(NULL)));
		}
		r = spk_oauth_device_poll(c, d.device_code, &x, (int64_t)time(NULL), ret, err);
		if (r == -EAGAIN) {
			continue;
		}
		if (r == -EBUSY) {
			interval += 5; /* RFC 8628 §3.5 */
			spk_log("device: slow_down, polling every %lld s", (long long)interval);
			continue;
		}
		break;
	}
	spk_device_auth_done(&d);
	return r;
}

/*
 * Which organisation a fresh grant acts on: the profile's tenant (by name
 * or id), the only one, the person's pick, or the first.
 */
static int choose_tenant(const struct spk_profile *p, const struct spk_provider *prov,
			 const struct spk_login_ui *ui, struct spk_grant *g, struct spk_error *err)
{
	struct spk_tenant *tenants = NULL;
	size_t n = 0;
	int r = spk_tenants_fetch(prov->endpoints.connections, g->access_token, prov->cacert,
				  &tenants, &n, err);

	if (r < 0) {
		return r;
	}
	spk_grant_set_tenants(g, tenants, n);
	free(g->tenant_id);
	g->tenant_id = NULL;
	if (n == 0) {
		return 0;
	}
	const struct spk_tenant *pick = &g->tenants[0];
	if (p->tenant) {
		pick = spk_grant_find_tenant(g, p->tenant);
		if (!pick) {
			return spk_error_set(
				err, SPK_ERR_CONFIG, -ENOENT,
				"%s: no connected organisation is called '%s'; nothing was "
				"stored. Connect it when consenting, or choose another "
				"(--tenant NAME|ID)",
				p->name, p->tenant);
		}
	} else if (n > 1 && ui && ui->pick_tenant) {
		int i = ui->pick_tenant(ui->userdata, g->tenants, n);
		pick = &g->tenants[i >= 0 && (size_t)i < n ? (size_t)i : 0];
	}
	g->tenant_id = strdup(pick->id);
	return g->tenant_id ? 0 : -ENOMEM;
}

int spk_flow_login(const struct spk_profile *p, const struct spk_login_options *o,
		   const struct spk_login_ui *ui, struct spk_grant *ret, struct spk_error *err)
{
	struct spk_provider prov = { 0 };
	struct spk_client c;
	struct spk_grant g = { 0 };
	_cleanup_secret_ char *stored_secret = NULL;
	int r;

	r = spk_provider_resolve(p, NULL, o->mode == SPK_LOGIN_BROWSER, &prov, err);
	if (r < 0) {
		return r;
	}
	r = spk_http_check_url("the token endpoint", prov.endpoints.token, err);
	if (r == 0) {
		r = spk_flow_make_client(p, &prov, o->client_secret, &c, &stored_secret, err);
	}
	if (r < 0) {
		goto out;
	}
	switch (o->mode) {
	case SPK_LOGIN_BROWSER:
		r = login_browser(p, &prov, &c, o, ui, &g, err);
		break;
	case SPK_LOGIN_DEVICE:
		r = login_device(p, &prov, &c, o, ui, &g, err);
		break;
	case SPK_LOGIN_CLIENT_CREDENTIALS:
		r = spk_oauth_client_credentials(&c, p->scopes, (int64_t)time(NULL), &g, err);
		break;
	}
	if (r < 0) {
		goto out;
	}
	if (prov.preset->discovery) {
		/* Kept with the grant: refreshes need no discovery round trip. */
		r = spk_endpoints_copy(&prov.endpoints, &g.endpoints);
	}
	if (r == 0 && prov.endpoints.connections) {
		r = choose_tenant(p, &prov, ui, &g, err);
	}
	if (r < 0 && err && err->kind == SPK_ERR_NONE) {
		r = spk_error_set(err, SPK_ERR_INTERNAL, r, "out of memory");
	}
	if (r < 0) {
		goto out;
	}
	r = spk_flow_store_login(p, &g, o->client_secret, err);
	if (r < 0) {
		goto out;
	}
	*ret = g;
	g = (struct spk_grant){ 0 };
out:
	spk_grant_done(&g);
	spk_provider_done(&prov);
	return r;
}
