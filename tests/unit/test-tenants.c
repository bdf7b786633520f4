/* Which organisation a profile acts on, and refusing one that is gone. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "tenants.h"

static struct spk_tenant two[] = {
	{ .id = "11111111-aaaa", .name = "Demo Company (NZ)", .type = "ORGANISATION" },
	{ .id = "22222222-bbbb", .name = "Other Books", .type = "ORGANISATION" },
};

static void test_choice(void)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { .tenants = two, .n_tenants = 2, .tenant_id = "22222222-bbbb" };
	const char *t = NULL;

	p.name = "xero";
	/* No choice in the profile: the grant's default. */
	g_assert_cmpstr(spk_tenant_of(&p, &g), ==, "22222222-bbbb");
	/* The profile's, by name or by id. */
	p.tenant = "Demo Company (NZ)";
	g_assert_cmpstr(spk_tenant_of(&p, &g), ==, "11111111-aaaa");
	p.tenant = "11111111-aaaa";
	g_assert_cmpstr(spk_tenant_of(&p, &g), ==, "11111111-aaaa");
	g_assert_cmpint(spk_tenant_for_api(&p, &g, &t, NULL), ==, 0);
	g_assert_cmpstr(t, ==, "11111111-aaaa");
}

static void test_gone(void)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { .tenants = two, .n_tenants = 2 };
	struct spk_error err = { 0 };
	const char *t = "x";

	p.name = "xero";
	/* A chosen organisation no longer connected: an error, never another one. */
	p.tenant = "Gone Ltd";
	g_assert_null(spk_tenant_of(&p, &g));
	g_assert_cmpint(spk_tenant_for_api(&p, &g, &t, &err), ==, -ENOENT);
	g_assert_null(t);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	g_assert_nonnull(strstr(err.msg, "'Gone Ltd' is not connected"));

	/* The grant's default gone from its list: the same. */
	p.tenant = NULL;
	g.tenant_id = "33333333-cccc";
	spk_error_clear(&err);
	g_assert_cmpint(spk_tenant_for_api(&p, &g, &t, &err), ==, -ENOENT);
	g_assert_nonnull(strstr(err.msg, "chosen at login is not connected"));

	/* No organisations and none chosen (not Xero): no tenant, no error. */
	struct spk_grant none = { 0 };
	g_assert_cmpint(spk_tenant_for_api(&p, &none, &t, NULL), ==, 0);
	g_assert_null(t);
	/* A choice but no organisations at all: it cannot be honoured. */
	p.tenant = "Demo Company (NZ)";
	g_assert_cmpint(spk_tenant_for_api(&p, &none, &t, NULL), ==, -ENOENT);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tenants/choice", test_choice);
	g_test_add_func("/tenants/gone", test_gone);
	return g_test_run();
}
