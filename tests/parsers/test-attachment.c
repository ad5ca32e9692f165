/* Tests for parsers/attachment: safe file names, hashes, uuencode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parsers/attachment.h"

#include <string.h>

static void test_safe_filenames(void **state)
{
	(void)state;
	static const struct {
		const char *raw, *safe;
	} cases[] = {
	    {"report.pdf", "report.pdf"},
	    {"../../etc/passwd", "passwd"},
	    {"C:\\Users\\x\\doc.txt", "doc.txt"},
	    {"dir/", "dir"},
	    {".htaccess", "htaccess"},
	    {"  ..hidden", "hidden"},
	    {"trailing. . ", "trailing"},
	    {"tab\there", "tab_here"},
	    {"bell\x07.txt", "bell_.txt"},
	    {"a<b>c:d\"e|f?g*h", "a_b_c_d_e_f_g_h"},
	    {"invoice\xe2\x80\xae"
	     "fdp.exe",
	     "invoice_fdp.exe"}, /* U+202E */
	    {"CON", "_CON"},
	    {"nul.txt", "_nul.txt"},
	    {"com1.log", "_com1.log"},
	    {"console.log", "console.log"},
	    {"caf\xc3\xa9.txt", "café.txt"},
	    {"bad\xff.txt", "bad_.txt"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *safe = dk_attachment_safe_filename(cases[i].raw);
		if (g_strcmp0(safe, cases[i].safe) != 0)
			fail_msg("case %u: got \"%s\"", i, safe);
	}
	static const char *const empty[] = {"", "...", "/", " . ", "\\\\", NULL};
	for (guint i = 0; empty[i] != NULL; i++)
		assert_null(dk_attachment_safe_filename(empty[i]));
	assert_null(dk_attachment_safe_filename(NULL));
}

static void test_long_names_keep_extension(void **state)
{
	(void)state;
	g_autofree char *longer = g_strnfill(500, 'x');
	g_autofree char *raw = g_strconcat(longer, ".tar.gz", NULL);
	g_autofree char *safe = dk_attachment_safe_filename(raw);
	assert_int_equal(strlen(safe), DK_ATTACHMENT_MAX_FILENAME);
	assert_true(g_str_has_suffix(safe, "x.gz"));
	/* an "extension" longer than 20 bytes is just part of the name */
	g_autofree char *dotted = g_strconcat("a.", longer, NULL);
	g_autofree char *cut = dk_attachment_safe_filename(dotted);
	assert_int_equal(strlen(cut), DK_ATTACHMENT_MAX_FILENAME);
}

static void test_new_hashes_and_types(void **state)
{
	(void)state;
	g_autoptr(GBytes) data = g_bytes_new_static("abc", 3);
	DkAttachment *a = dk_attachment_new("pic.JPG", NULL, NULL, "<id>", data);
	assert_string_equal(a->sha256,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(a->size, 3);
	assert_string_equal(a->content_type, "image/jpeg");
	assert_string_equal(a->disposition, "attachment");
	dk_attachment_free(a);
	DkAttachment *b = dk_attachment_new(NULL, "Application/PDF", "inline", "", NULL);
	assert_null(b->filename);
	assert_null(b->content_id);
	assert_null(b->data);
	assert_int_equal(b->size, 0);
	assert_string_equal(b->sha256, "");
	assert_string_equal(b->content_type, "application/pdf");
	dk_attachment_free(b);
}

static void test_is_tnef(void **state)
{
	(void)state;
	assert_true(dk_attachment_is_tnef("application/ms-tnef", NULL));
	assert_true(dk_attachment_is_tnef("Application/VND.MS-TNEF", "x"));
	assert_true(dk_attachment_is_tnef("application/octet-stream", "WinMail.dat"));
	assert_false(dk_attachment_is_tnef("application/octet-stream", "winmail.dat.txt"));
}

static void test_tnef_rejects_garbage(void **state)
{
	(void)state;
	static const char *const inputs[] = {
	    "", "x\x9f>\"", "x\x9f>\"\x01\x00\x01\x00\x00\x00\x00\xff\xff\xff\x7f"};
	for (guint i = 0; i < G_N_ELEMENTS(inputs); i++) {
		g_autoptr(GBytes) b = g_bytes_new(inputs[i], i == 2 ? 15 : strlen(inputs[i]));
		g_autoptr(GPtrArray) out =
		    g_ptr_array_new_with_free_func((GDestroyNotify)dk_attachment_free);
		g_autofree char *body = NULL;
		guint skipped = 0;
		assert_false(
		    dk_attachment_extract_tnef(b, "winmail.dat", 1 << 20, out, &body, &skipped));
		assert_int_equal(out->len, 0);
	}
}

static void test_uuencode_budget(void **state)
{
	(void)state;
	g_autoptr(GPtrArray) out =
	    g_ptr_array_new_with_free_func((GDestroyNotify)dk_attachment_free);
	char *text = g_strdup("a\nbegin 600 f.bin\n#86)C\n`\nend\nb");
	assert_int_equal(dk_attachment_extract_uuencoded(&text, 2, out), 0); /* 3 bytes > 2 */
	assert_non_null(strstr(text, "begin 600"));
	assert_int_equal(dk_attachment_extract_uuencoded(&text, 100, out), 1);
	assert_string_equal(text, "a\nb");
	assert_memory_equal(g_bytes_get_data(((DkAttachment *)out->pdata[0])->data, NULL), "abc",
	                    3);
	g_free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_safe_filenames),
	    cmocka_unit_test(test_long_names_keep_extension),
	    cmocka_unit_test(test_new_hashes_and_types),
	    cmocka_unit_test(test_is_tnef),
	    cmocka_unit_test(test_tnef_rejects_garbage),
	    cmocka_unit_test(test_uuencode_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
