/* Tests of tokens, MAC'd Message-IDs and signed reply addresses. */
#include "dk-test.h"
#include "gateway/core/ids.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static GBytes *secret(const char *s)
{
	return g_bytes_new(s, strlen(s));
}

static void test_token(void **state)
{
	g_autofree char *t = dk_ids_token("ACME", 42);
	assert_string_equal(t, "[ACME #42]");
}

static void test_message_id(void **state)
{
	g_autoptr(GBytes) k = secret("0123456789abcdef0123456789abcdef");
	g_autoptr(GBytes) other = secret("another secret of enough length!");
	g_autofree char *a = dk_ids_message_id(k, 12, "help.example.com");
	g_autofree char *b = dk_ids_message_id(k, 12, "help.example.com");
	assert_string_not_equal(a, b); /* unique */
	assert_true(g_str_has_prefix(a, "docket.12."));
	assert_true(g_str_has_suffix(a, "@help.example.com"));
	gint64 t = 0;
	assert_true(dk_ids_message_id_ticket(k, a, &t));
	assert_int_equal(t, 12);
	assert_false(dk_ids_message_id_ticket(other, a, &t));
	/* A forged ticket number breaks the MAC. */
	g_autofree char *forged = g_strdup(a);
	forged[strlen("docket.")] = '3';
	assert_false(dk_ids_message_id_ticket(k, forged, &t));
	static const char *const junk[] = {
	    "docket.", "docket.12", "docket.12.x.y@z", "x@y",
	    "docket.99999999999999999999.0000000000000000.0000000000000000@x"};
	for (gsize i = 0; i < G_N_ELEMENTS(junk); i++)
		assert_false(dk_ids_message_id_ticket(k, junk[i], &t));
}

static void test_reply_address(void **state)
{
	g_autoptr(GBytes) k = secret("0123456789abcdef0123456789abcdef");
	g_autofree char *a = dk_ids_reply_address(k, "support@example.com", 7);
	assert_true(g_str_has_prefix(a, "support+7."));
	assert_true(g_str_has_suffix(a, "@example.com"));
	assert_int_equal(strlen(a), strlen("support+7.") + 10 + strlen("@example.com"));
	gint64 t = 0;
	assert_true(dk_ids_reply_address_ticket(k, "support@example.com", a, &t));
	assert_int_equal(t, 7);
	g_autofree char *upper = g_ascii_strup(a, -1);
	assert_true(dk_ids_reply_address_ticket(k, "support@example.com", upper, &t));
	/* Another ticket's number with this MAC, another base, a bad MAC. */
	g_autofree char *forged = g_strdup(a);
	forged[strlen("support+")] = '8';
	assert_false(dk_ids_reply_address_ticket(k, "support@example.com", forged, &t));
	assert_false(dk_ids_reply_address_ticket(k, "help@example.com", a, &t));
	assert_false(dk_ids_reply_address_ticket(k, "support@example.com",
	                                         "support+7.0000000000@example.com", &t));
	assert_false(
	    dk_ids_reply_address_ticket(k, "support@example.com", "support@example.com", &t));
	assert_false(
	    dk_ids_reply_address_ticket(k, "support@example.com", "support+7@example.com", &t));
}

static void test_secret_file(void **state)
{
	g_autofree char *dir = dk_test_tmpdir();
	g_autofree char *path = g_build_filename(dir, "docket.conf", NULL);
	g_autofree char *text = g_strdup_printf("[store]\ndata_dir = %s/var\n", dir);
	g_file_set_contents(path, text, -1, NULL);
	g_autoptr(DkConfig) c = dk_config_load(path, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) first = dk_ids_secret_load(c, &error);
	assert_non_null(first);
	assert_int_equal(g_bytes_get_size(first), 32);
	g_autoptr(GBytes) again = dk_ids_secret_load(c, &error);
	assert_true(g_bytes_equal(first, again));
	g_autofree char *file = g_build_filename(dir, "var", "secret", NULL);
	GStatBuf st;
	assert_int_equal(g_stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	dk_test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_message_id),
	    cmocka_unit_test(test_reply_address),
	    cmocka_unit_test(test_secret_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
