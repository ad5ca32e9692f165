/* Tests of the mbox splitter: From_ lines, mboxrd un-escaping, the empty
 * line that separates messages, CRLF files, the From_ date; fed whole and
 * as every prefix of the file. */
#include "dk-test.h"
#include "gateway/intake/import.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

static const char MBOX[] = "From alice@example.com Tue Nov 24 09:15:00 2026\n"
                           "Subject: one\n"
                           "\n"
                           ">From the start\n"
                           ">>From twice\n"
                           "From inside is not a separator without an empty line before\n"
                           "\n"
                           "From bob@example.com Wed Nov 25 10:00:01 2026\n"
                           "Subject: two\n"
                           "\n"
                           "body two\n";

static void test_split(void **state)
{
	(void)state;
	gsize offset = 0, len = strlen(MBOX);
	char *sender = NULL;
	gint64 date = 0;
	g_autoptr(GBytes) one = dk_import_mbox_next(MBOX, len, &offset, &sender, &date);
	assert_non_null(one);
	assert_string_equal(sender, "alice@example.com");
	assert_int_equal(date, 1795511700); /* 2026-11-24T09:15:00Z */
	g_free(sender);
	g_autofree char *text = g_strndup(g_bytes_get_data(one, NULL), g_bytes_get_size(one));
	assert_string_equal(text, "Subject: one\n\nFrom the start\n>From twice\n"
	                          "From inside is not a separator without an empty line before\n");
	g_autoptr(GBytes) two = dk_import_mbox_next(MBOX, len, &offset, &sender, &date);
	assert_non_null(two);
	assert_string_equal(sender, "bob@example.com");
	g_free(sender);
	assert_int_equal(g_bytes_get_size(two), strlen("Subject: two\n\nbody two\n"));
	assert_null(dk_import_mbox_next(MBOX, len, &offset, &sender, &date));
	assert_int_equal(offset, len);
}

static void test_crlf_and_odd_dates(void **state)
{
	(void)state;
	static const char crlf[] =
	    "From x Mon Foo 1 00:00:00 2026\r\nSubject: a\r\n\r\nbody\r\n\r\n"
	    "From y\r\nSubject: b\r\n\r\n";
	gsize offset = 0, len = strlen(crlf);
	char *sender = NULL;
	gint64 date = 1;
	g_autoptr(GBytes) a = dk_import_mbox_next(crlf, len, &offset, &sender, &date);
	assert_int_equal(date, 0);
	assert_string_equal(sender, "x");
	g_free(sender);
	assert_int_equal(g_bytes_get_size(a), strlen("Subject: a\r\n\r\nbody\r\n"));
	g_autoptr(GBytes) b = dk_import_mbox_next(crlf, len, &offset, &sender, &date);
	assert_string_equal(sender, "y");
	g_free(sender);
	assert_int_equal(g_bytes_get_size(b), strlen("Subject: b\r\n\r\n"));
}

/* Every prefix of the file splits without reading past its end. */
static void test_every_prefix(void **state)
{
	(void)state;
	for (gsize cut = 0; cut <= strlen(MBOX); cut++) {
		g_autofree char *copy = g_memdup2(MBOX, cut);
		gsize offset = 0;
		guint n = 0;
		for (;;) {
			char *sender = NULL;
			gint64 date;
			g_autoptr(GBytes) m =
			    dk_import_mbox_next(copy, cut, &offset, &sender, &date);
			g_free(sender);
			if (m == NULL)
				break;
			assert_true(offset <= cut);
			n++;
		}
		assert_true(n <= 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_crlf_and_odd_dates),
	    cmocka_unit_test(test_every_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
