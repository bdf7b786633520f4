/* PKCE, authorize URLs, token responses and discovery documents. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "http.h"
#include "discovery.h"
#include "oauth.h"
#include "secret.h"

static void test_pkce_rfc7636_vector(void)
{
	/* RFC 7636 Appendix B. */
	char *challenge = NULL;
	g_assert_cmpint(
		spk_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", &challenge), ==,
		0);
	g_assert_cmpstr(challenge, ==, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	free(challenge);
}

static void test_pkce_new(void)
{
	struct spk_pkce a = { 0 }, b = { 0 };
	g_assert_cmpint(spk_pkce_new(&a), ==, 0);
	g_assert_cmpint(spk_pkce_new(&b), ==, 0);
	/* RFC 7636 §4.1: 43-128 unreserved characters. */
	g_assert_cmpuint(strlen(a.verifier), ==, 43);
	g_assert_cmpuint(strspn(a.verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789-._~"),
			 ==, 43);
	g_assert_cmpstr(a.verifier, !=, b.verifier);
	char *c = NULL;
	g_assert_cmpint(spk_pkce_challenge(a.verifier, &c), ==, 0);
	g_assert_cmpstr(c, ==, a.challenge);
	free(c);
	spk_pkce_done(&a);
	spk_pkce_done(&b);
	g_assert_null(a.verifier);
}

static void test_authorize_url(void)
{
	const char *const extra[] = { "prompt", "consent", NULL };
	struct spk_authorize_params p = {
		.endpoint = "https://login.example.com/authorize",
		.client_id = "my app",
		.redirect_uri = "http://localhost:8749/callback",
		.scopes = "openid offline_access accounting.invoices",
		.state = "st-1",
		.nonce = "n_2",
		.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		.extra = extra,
	};
	char *url = NULL;
	g_assert_cmpint(spk_oauth_authorize_url(&p, &url), ==, 0);
	g_assert_cmpstr(url, ==,
			"https://login.example.com/authorize?response_type=code&client_id=my%20app"
			"&redirect_uri=http%3A%2F%2Flocalhost%3A8749%2Fcallback"
			"&scope=openid%20offline_access%20accounting.invoices&state=st-1&nonce=n_2"
			"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
			"&code_challenge_method=S256&prompt=consent");
	free(url);

	/* An endpoint that already has a query keeps it; no nonce without openid. */
	p.endpoint = "https://login.example.com/authorize?tenant=x";
	p.nonce = NULL;
	p.extra = NULL;
	p.scopes = NULL;
	g_assert_cmpint(spk_oauth_authorize_url(&p, &url), ==, 0);
	g_assert_true(g_str_has_prefix(
		url, "https://login.example.com/authorize?tenant=x&response_type=code&"));
	g_assert_null(strstr(url, "nonce="));
	g_assert_null(strstr(url, "scope="));
	free(url);
}

static void test_scope_has(void)
{
	g_assert_true(spk_scope_has("openid offline_access", "offline_access"));
	g_assert_true(spk_scope_has(" openid  x", "x"));
	g_assert_false(spk_scope_has("openid offline_access_x", "offline_access"));
	g_assert_false(spk_scope_has(NULL, "openid"));
	g_assert_false(spk_scope_has("", "openid"));
}

static int parse_x(long status, const char *body, const struct spk_token_expect *x,
		   struct spk_grant *g, struct spk_error *err)
{
	struct spk_http_response resp = {
		.status = status,
		.body = (char *)body,
		.len = strlen(body),
		.retry_after = -1,
	};
	spk_error_clear(err);
	return spk_oauth_parse_token_response(&resp, "id.example.com", x, 1000, g, err);
}

static int parse(long status, const char *body, struct spk_grant *g, struct spk_error *err)
{
	return parse_x(status, body, NULL, g, err);
}

static void test_token_response_ok(void)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	g_assert_cmpint(
		parse(200,
		      "{\"access_token\":\"AT\",\"token_type\":\"Bearer\",\"expires_in\":1800,"
		      "\"refresh_token\":\"RT\",\"scope\":\"openid offline_access\"}",
		      &g, &err),
		==, 0);
	g_assert_cmpstr(g.access_token, ==, "AT");
	g_assert_cmpstr(g.refresh_token, ==, "RT");
	g_assert_cmpstr(g.token_type, ==, "Bearer");
	g_assert_cmpstr(g.scope, ==, "openid offline_access");
	g_assert_cmpint(g.expires_at, ==, 2800);
	g_assert_cmpint(g.obtained_at, ==, 1000);
	g_assert_cmpint(g.refresh_obtained_at, ==, 1000);
	g_assert_null(g.warning);
	spk_grant_done(&g);

	/* expires_in as a string, no refresh token, no token_type. */
	g_assert_cmpint(parse(200, "{\"access_token\":\"AT2\",\"expires_in\":\"60\"}", &g, &err),
			==, 0);
	g_assert_null(g.refresh_token);
	g_assert_cmpstr(g.token_type, ==, "Bearer");
	g_assert_cmpint(g.expires_at, ==, 1060);
	g_assert_cmpint(g.refresh_obtained_at, ==, 0);
	spk_grant_done(&g);
}

/* RFC 6749 §5.1: no scope in the answer means the scope requested. */
static void test_token_response_scope(void)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	const struct spk_token_expect login = { .scope = "openid offline_access api" };
	const struct spk_token_expect refresh = { .refresh = true };

	g_assert_cmpint(parse_x(200, "{\"access_token\":\"A\"}", &login, &g, &err), ==, 0);
	g_assert_cmpstr(g.scope, ==, "openid offline_access api");
	spk_grant_done(&g);
	/* What the provider says wins. */
	g_assert_cmpint(
		parse_x(200, "{\"access_token\":\"A\",\"scope\":\"openid\"}", &login, &g, &err), ==,
		0);
	g_assert_cmpstr(g.scope, ==, "openid");
	spk_grant_done(&g);
	/* A refresh leaves it out: spk_grant_update keeps the grant's own. */
	g_assert_cmpint(parse_x(200, "{\"access_token\":\"A\"}", &refresh, &g, &err), ==, 0);
	g_assert_null(g.scope);
	spk_grant_done(&g);
	/* Unreadable: the requested one, and a warning. */
	g_assert_cmpint(
		parse_x(200, "{\"access_token\":\"A\",\"scope\":[\"x\"]}", &login, &g, &err), ==,
		0);
	g_assert_cmpstr(g.scope, ==, "openid offline_access api");
	g_assert_nonnull(strstr(g.warning, "scope"));
	spk_grant_done(&g);
}

/* token_type in any case is RFC 6750's "Bearer"; another type is kept. */
static void test_token_response_token_type(void)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };

	g_assert_cmpint(parse(200, "{\"access_token\":\"A\",\"token_type\":\"bearer\"}", &g, &err),
			==, 0);
	g_assert_cmpstr(g.token_type, ==, "Bearer");
	spk_grant_done(&g);
	g_assert_cmpint(parse(200, "{\"access_token\":\"A\",\"token_type\":\"BEARER\"}", &g, &err),
			==, 0);
	g_assert_cmpstr(g.token_type, ==, "Bearer");
	spk_grant_done(&g);
	g_assert_cmpint(parse(200, "{\"access_token\":\"A\",\"token_type\":\"DPoP\"}", &g, &err),
			==, 0);
	g_assert_cmpstr(g.token_type, ==, "DPoP");
	spk_grant_done(&g);
	g_assert_cmpint(parse(200, "{\"access_token\":\"A\",\"token_type\":7}", &g, &err), ==, 0);
	g_assert_cmpstr(g.token_type, ==, "Bearer");
	g_assert_nonnull(strstr(g.warning, "token_type"));
	spk_grant_done(&g);
}

/* A JWT (unsigned: nothing checks the signature) with these claims. */
static char *jwt(const char *claims)
{
	char *payload = spk_base64url(claims, strlen(claims));
	char *t = g_strdup_printf("eyJhbGciOiJub25lIn0.%s.sig", payload);
	free(payload);
	return t;
}

/* expires_at of an answer whose access token is a JWT with claims, plus extra members. */
static int64_t expiry_of(const char *claims, const char *extra)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	char *at = jwt(claims);
	char *body = g_strdup_printf("{\"access_token\":\"%s\"%s}", at, extra);

	g_assert_cmpint(parse(200, body, &g, &err), ==, 0);
	int64_t t = g.expires_at;
	spk_grant_done(&g);
	g_free(body);
	g_free(at);
	return t;
}

static void test_token_response_expiry(void)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	static const struct {
		const char *expires_in;
		int64_t expires_at; /* now is 1000 */
		bool warns;
	} cases[] = {
		{ "1800", 2800, false },
		{ "3599.5", 4599, false }, /* fractions round down */
		{ "0.9", 1000, false },
		{ "\"3600\"", 4600, false }, /* strings of digits */
		{ "\"3599.5\"", 4599, false },
		{ "null", 0, false }, /* as if absent */
		{ "-5", 0, true },    /* not understood: unknown, and said */
		{ "\"soon\"", 0, true },
		{ "\"-60\"", 0, true },
		{ "\"\"", 0, true },
		{ "true", 0, true },
		{ "1e300", 0, true },
		{ "99999999999999999999", 0, true },
		{ "400000000", 0, true }, /* beyond ten years */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("expires_in %s", cases[i].expires_in);
		char *body = g_strdup_printf("{\"access_token\":\"A\",\"refresh_token\":\"RT2\","
					     "\"expires_in\":%s}",
					     cases[i].expires_in);
		/* Never refused: it carries the new refresh token. */
		g_assert_cmpint(parse(200, body, &g, &err), ==, 0);
		g_assert_cmpstr(g.refresh_token, ==, "RT2");
		g_assert_cmpint(g.expires_at, ==, cases[i].expires_at);
		if (cases[i].warns) {
			g_assert_nonnull(strstr(g.warning, "expires_in"));
			g_assert_nonnull(strstr(g.warning, "id.example.com"));
		} else {
			g_assert_null(g.warning);
		}
		spk_grant_done(&g);
		g_free(body);
	}

	/* No expires_in: a JWT access token's exp is the only word on it. */
	g_assert_cmpint(expiry_of("{\"sub\":\"u\",\"exp\":5000}", ""), ==, 5000);
	/* expires_in, when given, wins over exp. */
	g_assert_cmpint(expiry_of("{\"sub\":\"u\",\"exp\":5000}", ",\"expires_in\":60"), ==, 1060);
	/* A JWT without exp, or an opaque token: unknown (0). */
	g_assert_cmpint(expiry_of("{\"sub\":\"u\"}", ""), ==, 0);
	g_assert_cmpint(parse(200, "{\"access_token\":\"a.b.c\"}", &g, &err), ==, 0);
	g_assert_cmpint(g.expires_at, ==, 0);
	spk_grant_done(&g);

	/* Several unreadable fields: one warning naming them all. */
	g_assert_cmpint(
		parse(200, "{\"access_token\":\"A\",\"expires_in\":\"x\",\"scope\":1}", &g, &err),
		==, 0);
	g_assert_nonnull(strstr(g.warning, "scope, expires_in"));
	spk_grant_done(&g);
}

static void test_token_response_id_token(void)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	char *id =
		jwt("{\"sub\":\"u1\",\"email\":\"a@example.com\",\"nonce\":\"N\",\"aud\":\"cid\","
		    "\"iss\":\"https://id.example.com\",\"exp\":2000}");
	char *body = g_strdup_printf("{\"access_token\":\"AT\",\"id_token\":\"%s\"}", id);
	struct spk_token_expect x = {
		.client_id = "cid",
		.issuer = "https://id.example.com",
		.nonce = "N",
	};

	g_assert_cmpint(parse_x(200, body, &x, &g, &err), ==, 0);
	g_assert_cmpstr(g.account, ==, "a@example.com");
	spk_grant_done(&g);

	/* A nonce that is not ours: refused. */
	x.nonce = "other";
	g_assert_cmpint(parse_x(200, body, &x, &g, &err), <, 0);
	g_assert_cmpint(err.kind, ==, SPK_ERR_LOGIN);
	g_assert_nonnull(strstr(err.msg, "(nonce)"));
	g_assert_null(g.access_token);
	x.nonce = "N";
	/* Another client (aud), another issuer (iss): refused, naming the claim. */
	x.client_id = "other-client";
	g_assert_cmpint(parse_x(200, body, &x, &g, &err), <, 0);
	g_assert_nonnull(strstr(err.msg, "(aud"));
	g_assert_null(g.access_token);
	x.client_id = "cid";
	x.issuer = "https://id.example.com/";
	g_assert_cmpint(parse_x(200, body, &x, &g, &err), <, 0);
	g_assert_nonnull(strstr(err.msg, "(iss)"));
	g_assert_null(g.access_token);
	x.issuer = "https://id.example.com";
	g_free(body);
	g_free(id);

	static const struct {
		const char *claims;
		const char *claim; /* the one named when refused, or NULL */
	} cases[] = {
		{ "\"aud\":[\"x\",\"cid\"],\"exp\":2000", NULL },
		{ "\"aud\":[\"x\",\"cid\"],\"azp\":\"cid\",\"exp\":2000", NULL },
		{ "\"aud\":\"cid\",\"azp\":\"other\",\"exp\":2000", NULL }, /* one aud: azp moot */
		{ "\"aud\":[\"x\",\"cid\"],\"azp\":\"x\",\"exp\":2000", "(azp)" },
		{ "\"aud\":[\"x\",\"y\"],\"exp\":2000", "(aud" },
		{ "\"aud\":7,\"exp\":2000", "(aud" },
		{ "\"exp\":2000", "(aud" },
		{ "\"aud\":\"cid\",\"exp\":900", NULL },    /* within the clock skew */
		{ "\"aud\":\"cid\",\"exp\":100", "(exp)" }, /* expired */
		{ "\"aud\":\"cid\"", "(exp)" },
		{ "\"aud\":\"cid\",\"exp\":\"soon\"", "(exp)" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("claims %s", cases[i].claims);
		char *c = g_strdup_printf("{\"sub\":\"u1\",\"nonce\":\"N\",\"iss\":"
					  "\"https://id.example.com\",%s}",
					  cases[i].claims);
		id = jwt(c);
		body = g_strdup_printf("{\"access_token\":\"AT\",\"refresh_token\":\"RT\","
				       "\"id_token\":\"%s\"}",
				       id);
		int r = parse_x(200, body, &x, &g, &err);
		if (cases[i].claim) {
			g_assert_cmpint(r, <, 0);
			g_assert_nonnull(strstr(err.msg, cases[i].claim));
			g_assert_nonnull(strstr(err.msg, "nothing was stored"));
			g_assert_null(g.access_token);
		} else {
			g_assert_cmpint(r, ==, 0);
			g_assert_cmpstr(g.account, ==, "u1");
		}
		spk_grant_done(&g);
		/* A refresh keeps what it got: the id_token is ignored, and said. */
		struct spk_token_expect rx = { .client_id = "cid", .refresh = true };
		g_assert_cmpint(parse_x(200, body, &rx, &g, &err), ==, 0);
		g_assert_cmpstr(g.refresh_token, ==, "RT");
		if (cases[i].claim) {
			g_assert_null(g.account);
			g_assert_nonnull(strstr(g.warning, "id_token"));
		}
		spk_grant_done(&g);
		g_free(body);
		g_free(id);
		g_free(c);
	}
}

static void test_token_response_errors(void)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	static const struct {
		long status;
		const char *body;
		enum spk_error_kind kind;
		const char *oauth;
	} cases[] = {
		{ 400,
		  "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is "
		  "invalid\"}",
		  SPK_ERR_LOGIN, "invalid_grant" },
		{ 401, "{\"error\":\"invalid_client\"}", SPK_ERR_CONFIG, "invalid_client" },
		{ 400, "{\"error\":\"invalid_scope\"}", SPK_ERR_CONFIG, "invalid_scope" },
		{ 400, "{\"error\":\"temporarily_unavailable\"}", SPK_ERR_TEMPFAIL,
		  "temporarily_unavailable" },
		{ 503, "{\"error\":\"invalid_grant\"}", SPK_ERR_TEMPFAIL, "" },
		{ 502, "<html>Bad gateway</html>", SPK_ERR_TEMPFAIL, "" },
		{ 429, "slow down", SPK_ERR_TEMPFAIL, "" },
		{ 400, "<html>oops</html>", SPK_ERR_TEMPFAIL, "" },
		{ 400, "{\"error\":\"bad\\ncode\"}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "<html>login page</html>", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":", SPK_ERR_TEMPFAIL, "" },
		{ 200, "[\"access_token\"]", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"token_type\":\"Bearer\"}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"\"}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":42}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"A\",\"refresh_token\":7}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"A\"} trailing", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"A\",\"id_token\":\"not-a-jwt\"}", SPK_ERR_TEMPFAIL,
		  "" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("case %zu: %ld %s", i, cases[i].status, cases[i].body);
		g_assert_cmpint(parse(cases[i].status, cases[i].body, &g, &err), <, 0);
		g_assert_cmpint(err.kind, ==, cases[i].kind);
		g_assert_cmpstr(err.oauth, ==, cases[i].oauth);
		g_assert_null(strchr(err.msg, '\n'));
		g_assert_null(g.access_token);
	}
	/* The provider's description is shown; our wording says what to do. */
	parse(400,
	      "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is invalid\"}",
	      &g, &err);
	g_assert_nonnull(strstr(err.msg, "no longer accepts this grant"));
	g_assert_nonnull(strstr(err.msg, "invalid_grant"));
}

static void test_discovery(void)
{
	struct spk_endpoints e = { 0 };
	struct spk_error err = { 0 };
	const char *doc = "{\"issuer\":\"https://id.example.com\","
			  "\"authorization_endpoint\":\"https://id.example.com/auth\","
			  "\"token_endpoint\":\"https://id.example.com/token\","
			  "\"revocation_endpoint\":\"https://id.example.com/revoke\","
			  "\"userinfo_endpoint\":\"https://id.example.com/me\"}";

	g_assert_cmpint(spk_discovery_parse("https://id.example.com/", doc, strlen(doc), &e, &err),
			==, 0);
	g_assert_cmpstr(e.authorization, ==, "https://id.example.com/auth");
	g_assert_cmpstr(e.token, ==, "https://id.example.com/token");
	g_assert_cmpstr(e.revocation, ==, "https://id.example.com/revoke");
	g_assert_cmpstr(e.userinfo, ==, "https://id.example.com/me");
	g_assert_null(e.device_authorization);
	spk_endpoints_done(&e);

	/* Another issuer's document is refused (OpenID Connect Discovery §4.3). */
	g_assert_cmpint(spk_discovery_parse("https://evil.example.com", doc, strlen(doc), &e, &err),
			<, 0);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	spk_error_clear(&err);
	const char *no_token = "{\"issuer\":\"https://"
			       "id.example.com\",\"authorization_endpoint\":\"https://x/a\"}";
	g_assert_cmpint(
		spk_discovery_parse("https://id.example.com", no_token, strlen(no_token), &e, &err),
		<, 0);
	spk_error_clear(&err);
	g_assert_cmpint(spk_discovery_parse("https://id.example.com", "<html>", 6, &e, &err), <, 0);
}

/* Where discovery looks, in order: OpenID Connect Discovery §4, RFC 8414 §3.1 and §5. */
static void test_discovery_urls(void)
{
	static const struct {
		const char *issuer;
		const char *urls[5];
	} cases[] = {
		{ "https://id.example",
		  { "https://id.example/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server" } },
		{ "https://id.example/",
		  { "https://id.example/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server" } },
		{ "http://127.0.0.1:8080",
		  { "http://127.0.0.1:8080/.well-known/openid-configuration",
		    "http://127.0.0.1:8080/.well-known/oauth-authorization-server" } },
		{ "https://id.example/as",
		  { "https://id.example/as/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server/as",
		    "https://id.example/.well-known/openid-configuration/as",
		    "https://id.example/as/.well-known/oauth-authorization-server" } },
		{ "https://id.example/as/",
		  { "https://id.example/as/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server/as",
		    "https://id.example/.well-known/openid-configuration/as",
		    "https://id.example/as/.well-known/oauth-authorization-server" } },
		{ "https://id.example:8443/tenants/t1/realms/main",
		  { "https://id.example:8443/tenants/t1/realms/main/.well-known/"
		    "openid-configuration",
		    "https://id.example:8443/.well-known/oauth-authorization-server/tenants/t1/"
		    "realms/main",
		    "https://id.example:8443/.well-known/openid-configuration/tenants/t1/realms/"
		    "main",
		    "https://id.example:8443/tenants/t1/realms/main/.well-known/"
		    "oauth-authorization-server" } },
		{ "https://id.example/tenants/t1/realms/main/",
		  { "https://id.example/tenants/t1/realms/main/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server/tenants/t1/realms/"
		    "main",
		    "https://id.example/.well-known/openid-configuration/tenants/t1/realms/main",
		    "https://id.example/tenants/t1/realms/main/.well-known/"
		    "oauth-authorization-server" } },
	};
	char *url = (char *)"untouched";

	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		unsigned i = 0;
		for (; cases[c].urls[i]; i++) {
			g_assert_cmpint(spk_discovery_url(cases[c].issuer, i, &url), ==, 0);
			g_assert_cmpstr(url, ==, cases[c].urls[i]);
			free(url);
		}
		url = (char *)"untouched";
		g_assert_cmpint(spk_discovery_url(cases[c].issuer, i, &url), ==, -ENOENT);
		g_assert_cmpstr(url, ==, "untouched");
	}
	/* An issuer has no query or fragment (RFC 8414 §2). */
	g_assert_cmpint(spk_discovery_url("https://id.example/as?x=1", 0, &url), ==, -EINVAL);
	g_assert_cmpint(spk_discovery_url("https://id.example/#as", 0, &url), ==, -EINVAL);
	g_assert_cmpint(spk_discovery_url("id.example", 0, &url), ==, -EINVAL);
	g_assert_cmpstr(url, ==, "untouched");
}

static void test_url_policy(void)
{
	struct spk_error err = { 0 };
	g_assert_cmpint(spk_http_check_url("x", "https://identity.xero.com/connect/token", &err),
			==, 0);
	g_assert_cmpint(spk_http_check_url("x", "http://127.0.0.1:3000/token", &err), ==, 0);
	g_assert_cmpint(spk_http_check_url("x", "http://localhost:3000/token", &err), ==, 0);
	g_assert_cmpint(spk_http_check_url("x", "http://[::1]:3000/token", &err), ==, 0);
	g_assert_cmpint(spk_http_check_url("x", "http://identity.xero.com/connect/token", &err), <,
			0);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	spk_error_clear(&err);
	g_assert_cmpint(spk_http_check_url("x", "http://127.0.0.1.evil.com/token", &err), <, 0);
	spk_error_clear(&err);
	g_assert_cmpint(spk_http_check_url("x", "ftp://127.0.0.1/token", &err), <, 0);
	spk_error_clear(&err);
	g_assert_cmpint(spk_http_check_url("x", "not a url", &err), <, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/oauth/pkce/rfc7636-vector", test_pkce_rfc7636_vector);
	g_test_add_func("/oauth/pkce/new", test_pkce_new);
	g_test_add_func("/oauth/authorize-url", test_authorize_url);
	g_test_add_func("/oauth/scope-has", test_scope_has);
	g_test_add_func("/oauth/token-response/ok", test_token_response_ok);
	g_test_add_func("/oauth/token-response/scope", test_token_response_scope);
	g_test_add_func("/oauth/token-response/token-type", test_token_response_token_type);
	g_test_add_func("/oauth/token-response/expiry", test_token_response_expiry);
	g_test_add_func("/oauth/token-response/id-token", test_token_response_id_token);
	g_test_add_func("/oauth/token-response/errors", test_token_response_errors);
	g_test_add_func("/oauth/discovery", test_discovery);
	g_test_add_func("/oauth/discovery-urls", test_discovery_urls);
	g_test_add_func("/http/url-policy", test_url_policy);
	return g_test_run();
}
