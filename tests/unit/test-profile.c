/* The config file: names, ports, validation, and a 0600 atomic write. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "profile.h"

static void test_names(void)
{
	g_assert_true(spk_profile_name_valid("xero"));
	g_assert_true(spk_profile_name_valid("acme.prod_2-b"));
	g_assert_false(spk_profile_name_valid(""));
	g_assert_false(spk_profile_name_valid("-x"));
	g_assert_false(spk_profile_name_valid(".x"));
	g_assert_false(spk_profile_name_valid("a b"));
	g_assert_false(spk_profile_name_valid("a/b"));
	g_assert_false(spk_profile_name_valid("[x]"));
	char long_name[66];
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	g_assert_false(spk_profile_name_valid(long_name));
}

static void test_ports(void)
{
	struct spk_profile p = { 0 };
	g_assert_cmpint(spk_profile_parse_ports(&p, "8749 8750,8751"), ==, 0);
	g_assert_cmpuint(p.n_ports, ==, 3);
	g_assert_cmpuint(p.ports[2], ==, 8751);
	g_assert_cmpint(spk_profile_parse_ports(&p, "0"), ==, 0);
	g_assert_cmpuint(p.n_ports, ==, 0);
	g_assert_cmpint(spk_profile_parse_ports(&p, "65536"), <, 0);
	g_assert_cmpint(spk_profile_parse_ports(&p, "-1"), <, 0);
	g_assert_cmpint(spk_profile_parse_ports(&p, "80x"), <, 0);
}

static char *write_config(const char *dir, const char *text)
{
	char *path = g_build_filename(dir, "config", NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void test_read_write(void)
{
	g_autofree char *dir = g_dir_make_tmp("spk-profile-XXXXXX", NULL);
	g_autofree char *path = write_config(
		dir,
		"# my profiles\n[xero]\nprovider = xero\nclient_id = ABC\n"
		"scopes = openid offline_access accounting.invoices\nredirect_ports = 8749 8750\n"
		"token_endpoint = http://127.0.0.1:9/token\nmin_valid = 120\nassume_lifetime = "
		"600\n");
	struct spk_config *cfg = NULL;
	struct spk_error err = { 0 };
	struct spk_profile p = { 0 };

	g_assert_cmpint(spk_config_open(path, &cfg, &err), ==, 0);
	g_assert_cmpint(spk_config_get(cfg, "xero", &p, &err), ==, 0);
	g_assert_cmpstr(p.provider, ==, "xero");
	g_assert_cmpstr(p.client_id, ==, "ABC");
	g_assert_cmpuint(p.n_ports, ==, 2);
	g_assert_true(p.ports_set);
	g_assert_cmpstr(p.endpoints.token, ==, "http://127.0.0.1:9/token");
	g_assert_null(p.endpoints.authorization);
	g_assert_cmpint(p.min_valid, ==, 120);
	g_assert_cmpint(p.assume_lifetime, ==, 600);
	spk_profile_done(&p);

	g_assert_cmpint(spk_config_get(cfg, "nope", &p, &err), ==, -ENOENT);
	g_assert_cmpint(err.kind, ==, SPK_ERR_LOGIN);

	struct spk_profile q = { .name = strdup("work"),
				 .provider = strdup("oidc"),
				 .client_id = strdup("c"),
				 .min_valid = -1,
				 .refresh_idle_days = -1 };
	q.endpoints.issuer = strdup("https://id.example.com");
	g_assert_cmpint(spk_config_put(cfg, &q, &err), ==, 0);
	g_assert_cmpint(spk_config_save(cfg, &err), ==, 0);
	spk_profile_done(&q);
	spk_config_free(cfg);

	struct stat st;
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_autofree char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_nonnull(strstr(text, "# my profiles"));
	g_assert_nonnull(strstr(text, "[work]"));
	g_assert_nonnull(strstr(text, "issuer=https://id.example.com"));
	/* Unset in [work]: only [xero]'s is written. */
	const char *al = strstr(text, "assume_lifetime");
	g_assert_nonnull(al);
	g_assert_null(strstr(al + 1, "assume_lifetime"));

	g_assert_cmpint(spk_config_open(path, &cfg, &err), ==, 0);
	char **names = spk_config_profiles(cfg);
	g_assert_cmpstr(names[0], ==, "xero");
	g_assert_cmpstr(names[1], ==, "work");
	g_assert_null(names[2]);
	spk_strv_free(names);
	spk_config_free(cfg);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_bad_values(void)
{
	static const char *const bad[] = {
		"[p]\nredirect_ports = 80 abc\n",
		"[p]\nmin_valid = -3\n",
		"[p]\nassume_lifetime = 30\n",
		"[p]\nassume_lifetime = 86401\n",
		"[p]\nredirect_host = example.com\n",
		"[p]\nredirect_path = callback\n",
		"[p]\nstore = cloud\n",
	};
	g_autofree char *dir = g_dir_make_tmp("spk-profile-XXXXXX", NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *path = write_config(dir, bad[i]);
		struct spk_config *cfg = NULL;
		struct spk_error err = { 0 };
		struct spk_profile p = { 0 };
		g_assert_cmpint(spk_config_open(path, &cfg, &err), ==, 0);
		g_assert_cmpint(spk_config_get(cfg, "p", &p, &err), <, 0);
		g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
		spk_config_free(cfg);
		g_unlink(path);
	}
	g_autofree char *path = write_config(dir, "[broken\n");
	struct spk_config *cfg = NULL;
	struct spk_error err = { 0 };
	g_assert_cmpint(spk_config_open(path, &cfg, &err), <, 0);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	g_unlink(path);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/profile/names", test_names);
	g_test_add_func("/profile/ports", test_ports);
	g_test_add_func("/profile/read-write", test_read_write);
	g_test_add_func("/profile/bad-values", test_bad_values);
	return g_test_run();
}
