/* Tests of docket.conf reading: defaults, values, and errors that name the
 * file, the line and the key. */
#include "dk-test.h"
#include "gateway/config.h"
#include "gateway/core/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static char *write_conf(const char *text)
{
	g_autofree char *dir = dk_test_tmpdir();
	char *path = g_build_filename(dir, "docket.conf", NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void remove_conf(char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	dk_test_rmtree(dir);
	g_free(path);
}

static void test_defaults(void **state)
{
	g_unsetenv("DOCKET_CONFIG");
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c = dk_config_load(NULL, &error);
	assert_non_null(c);
	assert_null(dk_config_path(c));
	assert_string_equal(dk_config_get_string(c, "store", "data_dir"), "./var");
	assert_int_equal(dk_config_get_int(c, "store", "inline_max"), 256 * 1024);
	assert_int_equal(dk_config_get_int(c, "intake", "max_message_size"), 64 << 20);
	assert_false(dk_config_get_bool(c, "log", "syslog"));
	assert_string_equal(dk_config_get_string(c, "threading", "token_prefix"), "docket");
}

static void test_values(void **state)
{
	char *path = write_conf("# a comment\n[store]\ndata_dir = /srv/docket\ninline_max = 1M\n"
				"[log]\nsyslog = yes\ntrace = lmtp, rules ,,\n[parse]\nmax_depth=7\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c = dk_config_load(path, &error);
	assert_null(error);
	assert_string_equal(dk_config_path(c), path);
	assert_string_equal(dk_config_get_string(c, "store", "data_dir"), "/srv/docket");
	assert_int_equal(dk_config_get_int(c, "store", "inline_max"), 1 << 20);
	assert_true(dk_config_get_bool(c, "log", "syslog"));
	assert_int_equal(dk_config_get_int(c, "parse", "max_depth"), 7);
	g_auto(GStrv) trace = dk_config_get_list(c, "log", "trace");
	assert_int_equal(g_strv_length(trace), 2);
	assert_string_equal(trace[0], "lmtp");
	assert_string_equal(trace[1], "rules");
	/* Keys not in the file keep their defaults. */
	assert_string_equal(dk_config_get_string(c, "threading", "token_prefix"), "docket");
	remove_conf(path);
}

static void test_env(void **state)
{
	char *path = write_conf("[threading]\ntoken_prefix = ACME\n");
	g_setenv("DOCKET_CONFIG", path, TRUE);
	g_autoptr(DkConfig) c = dk_config_load(NULL, NULL);
	g_unsetenv("DOCKET_CONFIG");
	assert_non_null(c);
	assert_string_equal(dk_config_get_string(c, "threading", "token_prefix"), "ACME");
	remove_conf(path);
}

/* Each bad file gives an error that contains every expected fragment. */
static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *fragments[3];
	} cases[] = {
		{"[store]\ndata_dir = x\ncolour = blue\n", {":3:", "unknown key", "colour"}},
		{"\n\n[nonsense]\na = b\n", {":3:", "unknown section", "[nonsense]"}},
		{"[store]\ninline_max = lots\n", {":2:", "inline_max", "not a size"}},
		{"[parse]\nmax_depth = 0\n", {":2:", "max_depth", "out of range"}},
		{"[parse]\nmax_depth = 12x\n", {":2:", "max_depth", "not an integer"}},
		{"[log]\nsyslog = maybe\n", {":2:", "syslog", "not true or false"}},
		{"[log]\nlevel = loud\n", {":2:", "level", "not one of"}},
		{"[store]\njust some words\n", {":2:", "expected", "just some words"}},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *path = write_conf(cases[i].text);
		g_autoptr(GError) error = NULL;
		g_autoptr(DkConfig) c = dk_config_load(path, &error);
		assert_null(c);
		assert_non_null(error);
		assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
		assert_non_null(strstr(error->message, path));
		for (int f = 0; f < 3; f++) {
			if (strstr(error->message, cases[i].fragments[f]) == NULL)
				fail_msg("case %zu: “%s” lacks “%s”", i, error->message, cases[i].fragments[f]);
		}
		remove_conf(path);
	}
}

static void test_missing_file(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c = dk_config_load("/nonexistent/docket.conf", &error);
	assert_null(c);
	assert_non_null(strstr(error->message, "/nonexistent/docket.conf"));
}

static void test_dump_roundtrip(void **state)
{
	g_autoptr(DkConfig) d = dk_config_new_default();
	g_autofree char *dump = dk_config_dump(d);
	assert_non_null(strstr(dump, "[store]\ndata_dir = ./var\n"));
	/* What dump prints is itself a valid configuration. */
	char *path = write_conf(dump);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) again = dk_config_load(path, &error);
	assert_null(error);
	g_autofree char *dump2 = dk_config_dump(again);
	assert_string_equal(dump, dump2);
	remove_conf(path);
}

/* The in-memory loader: the same reading as a file, the name in errors,
 * and a NUL byte refused rather than cutting the text short. */
static void test_load_data(void **state)
{
	(void)state;
	static const char text[] = "[store]\ninline_max = 1M\n[lmtp]\nmax_recipients = 7\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c = dk_config_load_data(text, sizeof(text) - 1, "mem.conf", &error);
	assert_non_null(c);
	assert_string_equal(dk_config_path(c), "mem.conf");
	assert_int_equal(dk_config_get_int(c, "store", "inline_max"), 1 << 20);
	assert_int_equal(dk_config_get_int(c, "lmtp", "max_recipients"), 7);
	static const char nul[] = "[lmtp]\nmax_recipients = 7\0\n[nope]\n";
	g_autoptr(DkConfig) bad = dk_config_load_data(nul, sizeof(nul) - 1, "nul.conf", &error);
	assert_null(bad);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
	assert_non_null(strstr(error->message, "nul.conf"));
	g_clear_error(&error);
	g_autoptr(DkConfig) unknown = dk_config_load_data("[nope]\n", 7, "x.conf", &error);
	assert_null(unknown);
	assert_non_null(strstr(error->message, "x.conf:1: unknown section [nope]"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),     cmocka_unit_test(test_values),
		cmocka_unit_test(test_env),          cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file), cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_load_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
