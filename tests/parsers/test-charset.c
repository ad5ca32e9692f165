/* Tests for parsers/charset: declared, mislabelled and broken charsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parsers/charset.h"

#include <string.h>

typedef struct {
	const char *input;
	const char *declared;
	const char *expected;
	gboolean replaced;
} Case;

static const Case cases[] = {
    /* declared and right */
    {"caf\xc3\xa9", "utf-8", "café", FALSE},
    {"caf\xe9", "iso-8859-1", "café", FALSE},
    {"\xa4", "iso-8859-15", "€", FALSE},
    {"\xd4\xc5\xd3\xd4", "koi8-r", "тест", FALSE},
    {"\x93\xfa\x96\x7b", "shift_jis", "日本", FALSE},
    {"\x1b$BF|K\\\x1b(B", "iso-2022-jp", "日本", FALSE},
    {"\xc4\xe3\xba\xc3", "gb2312", "你好", FALSE},
    {"\xc4\xe3\xba\xc3", "GB18030", "你好", FALSE},
    {"\xc7\xd1\xb1\xb9", "ks_c_5601-1987", "한국", FALSE},
    {"\"caf\xe9\"", "\"ISO-8859-1\"", "\"café\"", FALSE},
    /* mislabelled: UTF-8 under a Latin-1 or ASCII label */
    {"caf\xc3\xa9", "iso-8859-1", "café", FALSE},
    {"caf\xc3\xa9", "us-ascii", "café", FALSE},
    /* windows-1252 under iso-8859-1: 0x80-0x9F are C1 controls there */
    {"\x93quoted\x94 \x80", "iso-8859-1", "\u201cquoted\u201d \u20ac", FALSE},
    {"\x93quoted\x94", "us-ascii", "\u201cquoted\u201d", FALSE},
    /* windows-1252 under a UTF-8 label, with no UTF-8 sequence at all */
    {"caf\xe9 cr\xe8me", "utf-8", "café crème", FALSE},
    /* undeclared */
    {"plain", NULL, "plain", FALSE},
    {"caf\xc3\xa9", NULL, "café", FALSE},
    {"caf\xe9", NULL, "café", FALSE},
    {"caf\xe9", "unknown-8bit", "café", FALSE},
    /* undeclared Cyrillic: KOI8-R or windows-1251 by where lower case sits */
    {"\xd4\xc5\xd3\xd4 \xd4\xc5\xd3\xd4", NULL, "тест тест", FALSE},
    {"\xf2\xe5\xf1\xf2 ok", "us-ascii", "тест ok", FALSE},
    {"d\xe9j\xe0 vu, \xe0 la cr\xe8me", NULL, "déjà vu, à la crème", FALSE},
    {"caf\xe9", "x-no-such-charset", "café", FALSE},
    /* broken UTF-8 in UTF-8: replaced, the rest kept */
    {"caf\xc3\xa9 \xff end", "utf-8", "café \xef\xbf\xbd end", TRUE},
    /* unconvertible bytes: replaced, nothing after them lost */
    {"\x81\x20 tail", "shift_jis", "\xef\xbf\xbd  tail", TRUE},
    {"a\x1b$B\x21", "iso-2022-jp", "a\xef\xbf\xbd", TRUE},
    /* a UTF-8 byte order mark is dropped */
    {"\xef\xbb\xbfhi", "iso-8859-1", "hi", FALSE},
};

static void test_cases(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		const Case *c = &cases[i];
		gboolean replaced = FALSE;
		g_autofree char *out =
		    dk_charset_to_utf8(c->input, strlen(c->input), c->declared, NULL, &replaced);
		assert_non_null(out);
		assert_true(g_utf8_validate(out, -1, NULL));
		if (c->expected != NULL)
			assert_string_equal(out, c->expected);
		else
			assert_true(g_str_has_prefix(out, "a"));
		if (c->replaced != replaced)
			fail_msg("case %u (%s): replaced=%d", i, c->declared, replaced);
	}
}

static void test_nul_bytes_are_replaced_not_truncated(void **state)
{
	(void)state;
	static const char in[] = "one\0two";
	g_autofree char *out = dk_charset_to_utf8(in, sizeof in - 1, "utf-8", NULL, NULL);
	assert_string_equal(out, "one\xef\xbf\xbdtwo");
	g_autofree char *out2 = dk_charset_to_utf8(in, sizeof in - 1, "iso-8859-2", NULL, NULL);
	assert_string_equal(out2, "one\xef\xbf\xbdtwo");
}

static void test_utf16(void **state)
{
	(void)state;
	static const char in[] = "h\0i\0";
	g_autofree char *out = dk_charset_to_utf8(in, 4, "utf-16le", NULL, NULL);
	assert_string_equal(out, "hi");
}

static void test_fallback_charset(void **state)
{
	(void)state;
	g_autofree char *out = dk_charset_to_utf8("\xe8", 1, NULL, "iso-8859-5", NULL);
	assert_string_equal(out, "ш");
	g_autofree char *bad = dk_charset_to_utf8("\xe8", 1, NULL, "no-such", NULL);
	assert_string_equal(bad, "è");
}

static void test_iconv_names(void **state)
{
	(void)state;
	assert_string_equal(dk_charset_iconv_name("GB2312"), "GB18030");
	assert_string_equal(dk_charset_iconv_name("x-sjis"), "CP932");
	assert_string_equal(dk_charset_iconv_name("utf-8*en"), "utf-8");
	assert_null(dk_charset_iconv_name("unknown-8bit"));
	assert_null(dk_charset_iconv_name(""));
	assert_null(dk_charset_iconv_name(NULL));
}

/* A charset name iconv does not know is unknown, and not kept: interned
 * strings are never freed, and mail can declare any number of names (a
 * gateway that interned them all grew without bound). Its text still
 * reads, by the fallback. */
static void test_unknown_names_not_kept(void **state)
{
	(void)state;
	for (guint i = 0; i < 3; i++) {
		g_autofree char *name =
		    g_strdup_printf("x-no-such-charset-%u-%u", g_random_int(), i);
		assert_null(dk_charset_iconv_name(name));
		assert_int_equal(g_quark_try_string(name), 0);
		gboolean replaced = FALSE;
		g_autofree char *text = dk_charset_to_utf8("caf\xe9", 4, name, NULL, &replaced);
		assert_string_equal(text, "caf\xc3\xa9");
		assert_int_equal(g_quark_try_string(name), 0);
	}
	assert_string_equal(dk_charset_iconv_name("KOI8-R"), "koi8-r");
	assert_string_equal(dk_charset_iconv_name("koi8-r"), "koi8-r");
}

static void test_empty(void **state)
{
	(void)state;
	g_autofree char *out = dk_charset_to_utf8("", 0, "iso-2022-jp", NULL, NULL);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_nul_bytes_are_replaced_not_truncated),
	    cmocka_unit_test(test_utf16),
	    cmocka_unit_test(test_fallback_charset),
	    cmocka_unit_test(test_iconv_names),
	    cmocka_unit_test(test_unknown_names_not_kept),
	    cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
