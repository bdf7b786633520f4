/* Redirect parsing and checking, and the form/query codec under it. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "callback.h"
#include "form.h"
#include "secret.h"

static void test_parse(void)
{
	struct spk_callback cb = { 0 };
	g_assert_cmpint(
		spk_callback_parse_query(
			"code=abc%2Bdef&state=S1&iss=http%3A%2F%2F127.0.0.1%3A3000&extra=1", &cb),
		==, 0);
	g_assert_cmpstr(cb.code, ==, "abc+def");
	g_assert_cmpstr(cb.state, ==, "S1");
	g_assert_cmpstr(cb.iss, ==, "http://127.0.0.1:3000");
	g_assert_null(cb.error);
	spk_callback_done(&cb);

	g_assert_cmpint(spk_callback_parse_query(
				"error=access_denied&error_description=User+said+no&state=S1", &cb),
			==, 0);
	g_assert_cmpstr(cb.error, ==, "access_denied");
	g_assert_cmpstr(cb.error_description, ==, "User said no");
	spk_callback_done(&cb);
}

static void test_parse_rejects(void)
{
	struct spk_callback cb = { 0 };
	/* Two codes or two states: ambiguous. */
	g_assert_cmpint(spk_callback_parse_query("code=a&code=b&state=S", &cb), ==, -EINVAL);
	g_assert_cmpint(spk_callback_parse_query("code=a&state=S&state=T", &cb), ==, -EINVAL);
	/* Broken escapes and embedded NULs. */
	g_assert_cmpint(spk_callback_parse_query("code=a%2&state=S", &cb), ==, -EINVAL);
	g_assert_cmpint(spk_callback_parse_query("code=a%zz&state=S", &cb), ==, -EINVAL);
	g_assert_cmpint(spk_callback_parse_query("code=a%00b&state=S", &cb), ==, -EINVAL);
	g_assert_null(cb.code);
}

static void test_check(void)
{
	struct spk_callback cb = { 0 };
	struct spk_error err = { 0 };

	spk_callback_parse_query("code=C&state=good", &cb);
	g_assert_cmpint(spk_callback_check(&cb, "good", NULL, &err), ==, 0);
	g_assert_cmpint(spk_callback_check(&cb, "goodX", NULL, &err), ==, -EACCES);
	g_assert_cmpint(spk_callback_check(&cb, "bad", NULL, &err), ==, -EACCES);
	spk_callback_done(&cb);

	/* RFC 9207: iss, when sent, must be the issuer we talk to. */
	spk_callback_parse_query("code=C&state=good&iss=https%3A%2F%2Fevil", &cb);
	g_assert_cmpint(spk_callback_check(&cb, "good", "https://id", &err), ==, -EACCES);
	g_assert_cmpint(spk_callback_check(&cb, "good", "https://evil", &err), ==, 0);
	spk_callback_done(&cb);

	/* No state, or no code: not ours. */
	spk_callback_parse_query("code=C", &cb);
	g_assert_cmpint(spk_callback_check(&cb, "good", NULL, &err), ==, -EACCES);
	spk_callback_done(&cb);
	spk_callback_parse_query("state=good", &cb);
	g_assert_cmpint(spk_callback_check(&cb, "good", NULL, &err), ==, -EACCES);
	spk_callback_done(&cb);

	/* A provider error with a wrong state is a forgery: keep waiting. */
	spk_callback_parse_query("error=access_denied&state=bad", &cb);
	g_assert_cmpint(spk_callback_check(&cb, "good", NULL, &err), ==, -EACCES);
	g_assert_cmpint(err.kind, ==, SPK_ERR_NONE);
	spk_callback_done(&cb);

	/* With our state, it ends the login and says why, on one line. */
	spk_callback_parse_query("error=access_denied&error_description=no%0Athanks&state=good",
				 &cb);
	g_assert_cmpint(spk_callback_check(&cb, "good", NULL, &err), ==, -ECANCELED);
	g_assert_cmpint(err.kind, ==, SPK_ERR_LOGIN);
	g_assert_cmpstr(err.oauth, ==, "access_denied");
	g_assert_nonnull(strstr(err.msg, "access_denied"));
	g_assert_null(strchr(err.msg, '\n'));
	spk_callback_done(&cb);
	spk_error_clear(&err);
	spk_callback_parse_query("error=invalid_scope&state=good", &cb);
	g_assert_cmpint(spk_callback_check(&cb, "good", NULL, &err), ==, -ECANCELED);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	spk_callback_done(&cb);
}

static void test_pasted(void)
{
	struct spk_callback cb = { 0 };
	struct spk_error err = { 0 };
	char url[] = "  http://localhost:8749/callback?code=C1&state=S&iss=x#frag \r";
	g_assert_cmpint(spk_callback_parse_pasted(url, "S", NULL, &cb, &err), ==, 0);
	g_assert_cmpstr(cb.code, ==, "C1");
	spk_callback_done(&cb);

	char bare[] = "Code-123_abc\n";
	bare[strlen(bare) - 1] = '\0';
	g_assert_cmpint(spk_callback_parse_pasted(bare, "S", NULL, &cb, &err), ==, 0);
	g_assert_cmpstr(cb.code, ==, "Code-123_abc");
	spk_callback_done(&cb);

	static const char *const bad[] = {
		"http://localhost:8749/callback?code=C1&state=WRONG",
		"http://localhost:8749/callback?code=C1",
		"http://localhost:8749/callback",
		"http://localhost:8749/callback?error=access_denied&state=WRONG",
		"two words",
		"a=b",
		"",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *line = g_strdup(bad[i]);
		spk_error_clear(&err);
		g_assert_cmpint(spk_callback_parse_pasted(line, "S", NULL, &cb, &err), <, 0);
		g_assert_cmpint(err.kind, ==, SPK_ERR_LOGIN);
		g_assert_nonnull(strstr(err.msg, "nothing was exchanged"));
		g_assert_null(cb.code);
		g_free(line);
	}
	/* The provider's refusal, for our state, says why. */
	char denied[] = "http://localhost:8749/callback?error=access_denied&state=S";
	spk_error_clear(&err);
	g_assert_cmpint(spk_callback_parse_pasted(denied, "S", NULL, &cb, &err), ==, -ECANCELED);
	g_assert_cmpstr(err.oauth, ==, "access_denied");
}

static void test_form(void)
{
	struct spk_form f;
	const char *s;

	spk_form_init(&f, NULL);
	spk_form_add(&f, "grant_type", "refresh_token");
	spk_form_add(&f, "refresh_token", "a+b/c=d e&f~");
	g_assert_cmpint(spk_form_get(&f, &s), ==, 0);
	g_assert_cmpstr(s, ==, "grant_type=refresh_token&refresh_token=a%2Bb%2Fc%3Dd%20e%26f~");
	spk_form_done(&f);
	g_assert_null(f.buf);

	/* Round trip through the query parser. */
	const char *cursor = "a=1&b=x%20y&&c&d=";
	char *n, *v;
	g_assert_cmpint(spk_query_next(&cursor, &n, &v), ==, 1);
	g_assert_cmpstr(n, ==, "a");
	g_assert_cmpstr(v, ==, "1");
	free(n);
	free(v);
	g_assert_cmpint(spk_query_next(&cursor, &n, &v), ==, 1);
	g_assert_cmpstr(n, ==, "b");
	g_assert_cmpstr(v, ==, "x y");
	free(n);
	free(v);
	g_assert_cmpint(spk_query_next(&cursor, &n, &v), ==, 1);
	g_assert_cmpstr(n, ==, "c");
	g_assert_cmpstr(v, ==, "");
	free(n);
	free(v);
	g_assert_cmpint(spk_query_next(&cursor, &n, &v), ==, 1);
	g_assert_cmpstr(n, ==, "d");
	g_assert_cmpstr(v, ==, "");
	free(n);
	free(v);
	g_assert_cmpint(spk_query_next(&cursor, &n, &v), ==, 0);
}

static void test_secret_helpers(void)
{
	g_assert_true(spk_memeq_ct("abc", 3, "abc", 3));
	g_assert_false(spk_memeq_ct("abc", 3, "abd", 3));
	g_assert_false(spk_memeq_ct("abc", 3, "abcd", 4));
	char *t1 = NULL, *t2 = NULL;
	g_assert_cmpint(spk_random_token(16, &t1), ==, 0);
	g_assert_cmpint(spk_random_token(16, &t2), ==, 0);
	g_assert_cmpuint(strlen(t1), ==, 22); /* 128 bits */
	g_assert_cmpstr(t1, !=, t2);
	spk_secret_free(t1);
	spk_secret_free(t2);

	char *out = NULL;
	size_t len;
	g_assert_cmpint(spk_base64url_decode("aGVsbG8_Pw", &out, &len), ==, 0);
	g_assert_cmpstr(out, ==, "hello??");
	free(out);
	g_assert_cmpint(spk_base64url_decode("a", &out, &len), <, 0);
	g_assert_cmpint(spk_base64url_decode("a+b/", &out, &len), <, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/callback/parse", test_parse);
	g_test_add_func("/callback/parse-rejects", test_parse_rejects);
	g_test_add_func("/callback/check", test_check);
	g_test_add_func("/callback/pasted", test_pasted);
	g_test_add_func("/form/encode-decode", test_form);
	g_test_add_func("/secret/helpers", test_secret_helpers);
	return g_test_run();
}
