/* `docket rules check` and `docket rules test` (gateway/cli/cmd-rules.c):
 * exit statuses, FILE:LINE:COL error lines and the JSON result. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/cli/cmd-rules.h"
#include "tests/dk-test.h"
#include "tests/rules/sieve-test-util.h"

typedef struct {
	char *dir;
} Fixture;

/* Runs dk_cmd_rules with argv, capturing stdout and stderr into *out and
 * *err; returns the exit status. */
static int run_cli(const char *dir, char **argv, int argc, char **out, char **err)
{
	g_autofree char *out_path = g_build_filename(dir, "out.txt", NULL);
	g_autofree char *err_path = g_build_filename(dir, "err.txt", NULL);
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(1), saved_err = dup(2);
	FILE *fo = fopen(out_path, "w"), *fe = fopen(err_path, "w");
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	int status = dk_cmd_rules(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	fclose(fo);
	fclose(fe);
	g_assert_true(g_file_get_contents(out_path, out, NULL, NULL));
	g_assert_true(g_file_get_contents(err_path, err, NULL, NULL));
	return status;
}

static char *write_file(const char *dir, const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void test_check(void **state)
{
	g_autofree char *dir = dk_test_tmpdir();
	g_autofree char *good =
	    write_file(dir, "good.sieve", "require \"fileinto\";\nfileinto \"x\";\n");
	g_autofree char *bad = write_file(dir, "bad.sieve", "keep;\nfrob;\nif header \"a\" { }\n");
	g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;
	char *argv_good[] = {"rules", "check", good, NULL};
	assert_int_equal(run_cli(dir, argv_good, 3, &out, &err), 0);
	assert_string_equal(err, "");
	char *argv_bad[] = {"rules", "check", bad, NULL};
	assert_int_equal(run_cli(dir, argv_bad, 3, &out2, &err2), 1);
	g_autofree char *want =
	    g_strdup_printf("%s:2:1: unknown command 'frob'\n"
	                    "%s:3:4: 'header' expects 2 positional arguments, found 1\n",
	                    bad, bad);
	assert_string_equal(err2, want);
	dk_test_rmtree(dir);
}

static void test_json(void **state)
{
	g_autofree char *dir = dk_test_tmpdir();
	g_autofree char *script =
	    write_file(dir, "s.sieve",
	               "require [\"fileinto\", \"imap4flags\", \"envelope\", "
	               "\"vnd.docket.ticket\", \"variables\"];\n"
	               "if envelope :is \"to\" \"support@example.org\" { addflag \"vip\"; }\n"
	               "if header :matches \"subject\" \"[*]*\" { fileinto \"${1}\"; "
	               "ticket_priority \"high\"; }\n");
	g_autofree char *mail = write_file(dir, "m.eml", DK_SIEVE_TEST_MESSAGE);
	char *argv[] = {
	    "rules", "test", script, mail, "--json", "--envelope-to", "support@example.org", NULL};
	g_autofree char *out = NULL, *err = NULL;
	assert_int_equal(run_cli(dir, argv, 7, &out, &err), 0);
	json_error_t jerr;
	json_t *root = json_loads(out, 0, &jerr);
	assert_non_null(root);
	json_t *actions = json_object_get(root, "actions");
	assert_int_equal(json_array_size(actions), 3);
	json_t *a0 = json_array_get(actions, 0), *a1 = json_array_get(actions, 1),
	       *a2 = json_array_get(actions, 2);
	assert_string_equal(json_string_value(json_object_get(a0, "type")), "addflag");
	assert_string_equal(json_string_value(json_array_get(json_object_get(a0, "flags"), 0)),
	                    "vip");
	assert_string_equal(json_string_value(json_object_get(a1, "type")), "fileinto");
	assert_string_equal(json_string_value(json_object_get(a1, "value")), "acme-users");
	assert_string_equal(json_string_value(json_array_get(json_object_get(a1, "flags"), 0)),
	                    "vip");
	assert_string_equal(json_string_value(json_object_get(a2, "type")), "ticket_priority");
	assert_string_equal(json_string_value(json_object_get(a2, "value")), "high");
	json_t *trace = json_object_get(root, "trace");
	assert_int_equal(json_array_size(trace), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(trace, 1), "line")), 3);
	assert_true(json_is_true(json_object_get(json_array_get(trace, 1), "result")));
	json_decref(root);
	dk_test_rmtree(dir);
}

static void test_text_and_usage(void **state)
{
	g_autofree char *dir = dk_test_tmpdir();
	g_autofree char *script = write_file(
	    dir, "s.sieve", "if header :contains \"subject\" \"nomatch\" { discard; }\n");
	g_autofree char *mail = write_file(dir, "m.eml", DK_SIEVE_TEST_MESSAGE);
	char *argv[] = {"rules", "test", script, mail, NULL};
	g_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL;
	assert_int_equal(run_cli(dir, argv, 4, &out, &err), 0);
	assert_string_equal(out,
	                    "line 1: header did not match\nactions:\n  keep (implicit keep)\n");
	char *bad[] = {"rules", "frob", NULL};
	assert_int_equal(run_cli(dir, bad, 2, &out2, &err2), 64);
	dk_test_rmtree(dir);
}

static void test_ticket_options(void **state)
{
	g_autofree char *dir = dk_test_tmpdir();
	g_autofree char *script = write_file(
	    dir, "s.sieve",
	    "require \"vnd.docket.ticket\";\n"
	    "if allof (not ticket_is_new, ticket_status :is \"waiting\", message_class \"agent\",\n"
	    "          ticket_queue \"billing\", ticket_priority \"low\") { ticket_status "
	    "\"open\"; }\n");
	g_autofree char *mail = write_file(dir, "m.eml", DK_SIEVE_TEST_MESSAGE);
	char *argv[] = {"rules",
	                "test",
	                script,
	                mail,
	                "--existing",
	                "--agent",
	                "--ticket-status",
	                "waiting",
	                "--ticket-queue",
	                "billing",
	                "--ticket-priority",
	                "low",
	                NULL};
	g_autofree char *out = NULL, *err = NULL;
	assert_int_equal(run_cli(dir, argv, 12, &out, &err), 0);
	assert_non_null(strstr(out, "line 2: allof matched\n"));
	assert_non_null(strstr(out, "  ticket_status \"open\"\n"));
	dk_test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_text_and_usage),
	    cmocka_unit_test(test_ticket_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
