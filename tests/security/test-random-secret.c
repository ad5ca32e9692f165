/* Point 6: the threading secret and the random part of docket's
 * Message-IDs come from the kernel's CSPRNG, not from GLib's g_random_*.
 *
 * The attack: GLib's generator is a Mersenne Twister; docket published its
 * outputs (every Message-ID, every Maildir name), and about 300
 * notifications give away its state. Had the secret come from it too, the
 * attacker would know the secret and could forge docket Message-IDs for any
 * ticket. Here GLib's generator is one whose every output the attacker
 * knows (this program defines g_random_int, which the gateway's code
 * linked into it then calls): nothing docket makes may follow it. */
#include "gateway/config.h"
#include "gateway/core/ids.h"

#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

/* GLib's generator with its state known: always the same value. */
guint32 g_random_int(void)
{
	return 0x41414141u;
}

gint32 g_random_int_range(gint32 begin, gint32 end)
{
	return begin;
}

static void test_secret_does_not_follow_glib(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("docket-secret-XXXXXX", NULL);
	g_autofree char *text = g_strdup_printf("[store]\ndata_dir = %s\n", dir);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) config = dk_config_load_data(text, strlen(text), "test", &error);
	assert_non_null(config);
	g_autoptr(GBytes) secret = dk_ids_secret_load(config, &error);
	assert_non_null(secret);
	gsize n = 0;
	const guint8 *key = g_bytes_get_data(secret, &n);
	assert_int_equal(n, 32);
	/* Were it drawn from the known generator: 32 bytes of 0x41. */
	guint known = 0;
	for (gsize i = 0; i + 4 <= n; i += 4)
		known += memcmp(key + i, "AAAA", 4) == 0;
	assert_true(known < 2);
	g_autofree char *path = g_build_filename(dir, "secret", NULL);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_message_id_random_part(void **state)
{
	(void)state;
	g_autoptr(GBytes) secret = g_bytes_new_static("0123456789abcdef0123456789abcdef", 32);
	g_autofree char *a = dk_ids_message_id(secret, 7, "help.example.com");
	g_autofree char *b = dk_ids_message_id(secret, 7, "help.example.com");
	/* docket.<ticket>.<random16>.<mac16>@domain */
	assert_null(strstr(a, "41414141"));
	assert_string_not_equal(a, b);
	gint64 ticket = 0;
	assert_true(dk_ids_message_id_ticket(secret, a, &ticket));
	assert_int_equal(ticket, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_does_not_follow_glib),
	    cmocka_unit_test(test_message_id_random_part),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
