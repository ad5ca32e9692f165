/* The Sieve parser and validator: the shape of the tree, and each kind of
 * compile error with its line, column and what was expected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rules/sieve-private.h"

typedef struct {
	const char *src;
	const char *error; /* "LINE:COL: message" of the first error, or NULL */
} CompileCase;

static const CompileCase cases[] = {
    /* valid scripts */
    {"", NULL},
    {"# only a comment\n", NULL},
    {"keep; discard; stop;", NULL},
    {"if true { } elsif false { keep; } else { discard; }", NULL},
    {"if anyof (true, allof (not false, true)) { keep; }", NULL},
    {"require [\"fileinto\", \"copy\"]; fileinto :copy \"a\";", NULL},
    {"require \"fileinto\"; require \"envelope\"; if envelope \"to\" \"x\" { fileinto \"x\"; }",
     NULL},
    {"REQUIRE \"fileinto\"; FileInto \"a\"; IF Header :IS \"a\" \"b\" { KEEP; }", NULL},
    {"redirect \"Joe <joe@example.com>\";", NULL},
    {"if size :over 1M { discard; }", NULL},
    {"if header :contains \"subject\" text:\nhello\n.\n{ keep; }", NULL},
    /* syntax errors */
    {"keep", "1:5: expected ';' or '{' after the arguments of 'keep', found end of script"},
    {"keep;\nif true { keep; ", "2:17: expected a command or '}', found end of script"},
    {"if true keep;", "1:1: 'if' expects a block"},
    {"if true { keep }", "1:16: expected ';' or '{' after the arguments of 'keep', found '}'"},
    {"if (true false) {}", "1:5: 'true' takes no test"},
    {"if anyof (true; false) {}", "1:15: expected ',' or ')' in the test list, found ';'"},
    {"if anyof (true,) {}", "1:16: expected a test in the test list, found ')'"},
    {"fileinto [\"a\" \"b\"];", "1:15: expected ',' or ']' in the string list, found string"},
    {"fileinto [];", "1:11: expected a string in the string list, found ']'"},
    {"}", "1:1: expected a command, found '}'"},
    {"\"x\";", "1:1: expected a command, found string"},
    {"keep;\n\n  /* never closed", "3:3: unterminated comment: expected '*/'"},
    /* validation errors */
    {"frobnicate;", "1:1: unknown command 'frobnicate'"},
    {"if frob { }", "1:4: unknown test 'frob'"},
    {"if keep { }", "1:4: 'keep' is not a test"},
    {"true;", "1:1: 'true' is not a command"},
    {"require \"nonsense\";", "1:9: unknown extension 'nonsense'"},
    {"keep; require \"fileinto\";", "1:7: require must come before any other command"},
    {"fileinto \"a\";", "1:1: 'fileinto' needs require \"fileinto\""},
    {"else { }", "1:1: 'else' must follow 'if' or 'elsif'"},
    {"if true { } keep; elsif true { }", "1:19: 'elsif' must follow 'if' or 'elsif'"},
    {"if true;", "1:1: 'if' expects a block"},
    {"keep { }", "1:1: 'keep' takes no block"},
    {"if { }", "1:1: 'if' expects one test"},
    {"if allof { }", "1:4: 'allof' expects a list of tests in parentheses"},
    {"if header \"a\" { }", "1:4: 'header' expects 2 positional arguments, found 1"},
    {"if header :is :contains \"a\" \"b\" { }", "1:15: more than one match type for 'header'"},
    {"if header :frob \"a\" \"b\" { }", "1:11: unknown tag ':frob' for 'header'"},
    {"if header :comparator \"i;frob\" \"a\" \"b\" { }", "1:23: unknown comparator 'i;frob'"},
    {"if header :comparator \"a\" { }", "1:23: unknown comparator 'a'"},
    {"if header :comparator 5 \"a\" \"b\" { }", "1:11: expected a string after ':comparator'"},
    {"if size 5 { }", "1:4: size expects exactly one of :over and :under"},
    {"if size :over \"5\" { }", "1:15: argument 1 of 'size': expected a number"},
    {"if address :all :domain \"to\" \"x\" { }", "1:17: more than one address part for 'address'"},
    {"if address :user \"to\" \"x\" { }", "1:12: tag ':user' needs require \"subaddress\""},
    {"require \"fileinto\"; fileinto [\"a\", \"b\"];",
     "1:30: argument 1 of 'fileinto': expected a string"},
    {"require \"fileinto\"; fileinto \"\";",
     "1:30: fileinto expects a non-empty UTF-8 mailbox name"},
    {"redirect :copy \"a@b\";", "1:10: tag ':copy' needs require \"copy\""},
    {"if address \"subject\" \"x\" { }", "1:12: 'subject' is not a header that holds addresses"},
    {"redirect \"a@b\" :copy;", "1:16: tag ':copy' must come before the positional arguments"},
};

static void test_compile_cases(void **state)
{
	guint failed = 0;
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DkSieveScript) s = dk_sieve_compile(cases[i].src, -1, NULL, &error);
		const char *got = error ? error->message : NULL;
		if (g_strcmp0(got, cases[i].error) != 0 ||
		    (s == NULL) != (cases[i].error != NULL)) {
			print_error("source: %s\n  expected: %s\n  got:      %s\n", cases[i].src,
			            cases[i].error ? cases[i].error : "(valid)",
			            got ? got : "(valid)");
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void test_tree_shape(void **state)
{
	const char *src = "require [\"fileinto\", \"imap4flags\"];\n"
	                  "if anyof (header :contains [\"subject\", \"x\"] \"a\", not true) {\n"
	                  "  fileinto :flags \"\\\\Seen\" \"Box\";\n}\n";
	g_autoptr(DkSieveScript) s = dk_sieve_compile(src, -1, NULL, NULL);
	assert_non_null(s);
	const char *const *exts = dk_sieve_script_extensions(s);
	assert_string_equal(exts[0], "fileinto");
	assert_string_equal(exts[1], "imap4flags");
	assert_null(exts[2]);
	assert_int_equal(s->commands->len, 2);
	const DkSieveNode *cond = g_ptr_array_index(s->commands, 1);
	assert_string_equal(cond->name, "if");
	assert_int_equal(cond->line, 2);
	const DkSieveNode *anyof = g_ptr_array_index(cond->tests, 0);
	assert_int_equal(anyof->tests->len, 2);
	const DkSieveNode *header = g_ptr_array_index(anyof->tests, 0);
	assert_int_equal(header->match.type, DK_MATCH_CONTAINS);
	assert_int_equal(header->match.comparator, DK_CMP_CASEMAP);
	assert_int_equal(header->positional->len, 2);
	const DkSieveArg *names = g_ptr_array_index(header->positional, 0);
	assert_int_equal(names->kind, DK_SIEVE_ARG_LIST);
	assert_int_equal(names->strings->len, 2);
	const DkSieveNode *fileinto = g_ptr_array_index(cond->block, 0);
	const DkSieveArg *flags = dk_sieve_node_tag(fileinto, "flags");
	assert_non_null(flags);
	assert_string_equal(g_ptr_array_index(flags->value->strings, 0), "\\Seen");
	assert_string_equal(g_ptr_array_index(dk_sieve_node_arg(fileinto, 0)->strings, 0), "Box");
}

/* The validator keeps going after an error, so `docket rules check` lists
 * every problem at once. */
static void test_all_diagnostics(void **state)
{
	const char *src = "frob;\nif header \"a\" { keep; }\nfileinto \"x\";\n";
	g_autoptr(GPtrArray) diags = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(DkSieveScript) s = dk_sieve_compile(src, -1, &diags, &error);
	assert_null(s);
	assert_int_equal(error->code, DK_SIEVE_ERROR_INVALID);
	assert_int_equal(diags->len, 3);
	const DkSieveDiagnostic *d = g_ptr_array_index(diags, 2);
	assert_int_equal(d->line, 3);
	assert_int_equal(d->column, 1);
	assert_string_equal(d->message, "'fileinto' needs require \"fileinto\"");
}

static void test_depth_limit(void **state)
{
	GString *src = g_string_new(NULL);
	for (int i = 0; i < 100; i++)
		g_string_append(src, "if true {");
	for (int i = 0; i < 100; i++)
		g_string_append(src, "}");
	g_autoptr(GError) error = NULL;
	g_autoptr(DkSieveScript) s = dk_sieve_compile(src->str, -1, NULL, &error);
	g_string_free(src, TRUE);
	assert_null(s);
	assert_string_equal(error->message, "1:292: blocks and tests nested deeper than 32");
	GString *nots = g_string_new("if ");
	for (int i = 0; i < 100; i++)
		g_string_append(nots, "not ");
	g_string_append(nots, "true {}");
	g_autoptr(GError) e2 = NULL;
	g_autoptr(DkSieveScript) s2 = dk_sieve_compile(nots->str, -1, NULL, &e2);
	g_string_free(nots, TRUE);
	assert_null(s2);
	assert_string_equal(e2->message, "1:132: blocks and tests nested deeper than 32");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compile_cases),
	    cmocka_unit_test(test_tree_shape),
	    cmocka_unit_test(test_all_diagnostics),
	    cmocka_unit_test(test_depth_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
