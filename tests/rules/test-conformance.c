/* Pigeonhole's core-language test scripts (conformance/sieve of the shared
 * folder, DOCKET_SHARED in tests/CMakeLists.txt), run on docket's engine. The .svtest files are
 * Sieve with Pigeonhole's "vnd.dovecot.testsuite" extension; this runner implements its small core
 * itself: each `test "name" { ... }` block runs as a script of its own, with
 * `test_set "message"|"envelope.from"|"envelope.to"` applied by the runner
 * and `test_fail "reason"` turned into an action the runner looks for.
 * Tests that need the rest of the testsuite (test_script_compile,
 * test_result_*, test_config_*, binaries, mailboxes) or an extension docket
 * lacks are counted as skipped, never as passed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rules/sieve-private.h"
#include "tests/dk-test.h"
#include "tests/rules/sieve-test-util.h"

#define FAIL_PREFIX "TESTFAIL: "

typedef struct {
	guint passed, failed, skipped;
} Tally;

typedef struct {
	char *message;
	char *envelope_from;
	char *envelope_to;
	GPtrArray *prelude;    /* of DkSieveNode*, borrowed: top-level commands before the test */
	GPtrArray *extensions; /* of char*: the file's require list */
} TestState;

static const char *const unsupported[] = {
    "test_script_compile", "test_script_run",
    "test_result_execute", "test_result_action",
    "test_result_reset",   "test_error",
    "test_config_set",     "test_config_reload",
    "test_binary_save",    "test_binary_load",
    "test_mailbox_create", "test_message",
    "test_name",           NULL,
};

/* Whether the tree uses testsuite commands the runner does not implement;
 * rewrites test_fail into a fileinto the runner recognises. */
static gboolean prepare(DkSieveNode *node)
{
	if (g_strv_contains(unsupported, node->name))
		return FALSE;
	if (strcmp(node->name, "test_fail") == 0) {
		g_free(node->name);
		node->name = g_strdup("fileinto");
		DkSieveArg *a = node->args->len ? g_ptr_array_index(node->args, 0) : NULL;
		if (a && a->strings && a->strings->len == 1) {
			char *old = a->strings->pdata[0];
			a->strings->pdata[0] = g_strconcat(FAIL_PREFIX, old, NULL);
			g_free(old);
		}
	}
	for (guint i = 0; i < node->tests->len; i++)
		if (!prepare(g_ptr_array_index(node->tests, i)))
			return FALSE;
	for (guint i = 0; node->block && i < node->block->len; i++)
		if (!prepare(g_ptr_array_index(node->block, i)))
			return FALSE;
	return TRUE;
}

static const char *string_arg(const DkSieveNode *node, guint i)
{
	const DkSieveArg *a = i < node->args->len ? g_ptr_array_index(node->args, i) : NULL;
	return a && a->strings && a->strings->len ? g_ptr_array_index(a->strings, 0) : NULL;
}

static void apply_set(TestState *st, const DkSieveNode *node)
{
	const char *what = string_arg(node, 0), *value = string_arg(node, 1);
	if (what == NULL || value == NULL)
		return;
	char **slot = strcmp(what, "message") == 0         ? &st->message
	              : strcmp(what, "envelope.from") == 0 ? &st->envelope_from
	              : strcmp(what, "envelope.to") == 0   ? &st->envelope_to
	                                                   : NULL;
	if (slot == NULL)
		return;
	g_free(*slot);
	/* The testsuite writes the null path as "<>"; docket's input uses "". */
	*slot = g_strdup(strcmp(value, "<>") == 0 ? "" : value);
}

/* The size of the message as stored with CRLF line ends, as Pigeonhole counts it. */
static gsize crlf_size(const char *s)
{
	gsize n = 0;
	for (const char *p = s ? s : ""; *p; p++)
		n += (*p == '\n' && (p == s || p[-1] != '\r')) ? 2 : 1;
	return n;
}

/* Runs one segment: the require list, the prelude and the commands.
 * Returns 1 on pass, 0 on failure, -1 when unsupported. */
static int run_segment(TestState *st, GPtrArray *commands, const char *name, GString *why)
{
	GString *req = g_string_new("require [\"fileinto\"");
	for (guint i = 0; i < st->extensions->len; i++)
		g_string_append_printf(req, ", \"%s\"",
		                       (const char *)g_ptr_array_index(st->extensions, i));
	g_string_append(req, "];");
	DkSieveScript req_tree = {0};
	g_autoptr(GPtrArray) diags =
	    g_ptr_array_new_with_free_func((GDestroyNotify)dk_sieve_diagnostic_free);
	gboolean ok = dk_sieve_parse(&req_tree, req->str, req->len, diags);
	g_string_free(req, TRUE);
	g_assert_true(ok);
	DkSieveScript *script = g_new0(DkSieveScript, 1);
	script->extensions = g_ptr_array_new_with_free_func(g_free);
	script->commands = g_ptr_array_new();
	g_ptr_array_add(script->commands, g_ptr_array_index(req_tree.commands, 0));
	for (guint i = 0; i < st->prelude->len; i++)
		g_ptr_array_add(script->commands, g_ptr_array_index(st->prelude, i));
	for (guint i = 0; i < commands->len; i++)
		g_ptr_array_add(script->commands, g_ptr_array_index(commands, i));
	int verdict = 1;
	if (!dk_sieve_validate(script, diags)) {
		const DkSieveDiagnostic *d = g_ptr_array_index(diags, 0);
		g_string_append_printf(why, "compile: %u:%u: %s", d->line, d->column, d->message);
		verdict = strstr(d->message, "unknown") ? -1 : 0;
	} else {
		g_ptr_array_add(script->extensions, NULL);
		DkSieveTestEnv env = {.envelope_from = st->envelope_from,
		                      .envelope_to = st->envelope_to};
		g_autoptr(DkMessage) m =
		    dk_sieve_test_message(st->message ? st->message : "X-Empty: 1\n\n");
		DkSieveInput in = {.message = m,
		                   .size = crlf_size(st->message),
		                   .envelope_from = env.envelope_from,
		                   .envelope_to = env.envelope_to};
		g_autoptr(DkSieveResult) r = dk_sieve_execute(script, &in);
		if (r->error) {
			g_string_append_printf(why, "runtime error: %s", r->error);
			verdict = 0;
		}
		for (guint i = 0; i < r->actions->len; i++) {
			const DkSieveAction *a = g_ptr_array_index(r->actions, i);
			if (a->type == DK_SIEVE_ACTION_FILEINTO &&
			    g_str_has_prefix(a->value, FAIL_PREFIX)) {
				g_string_append_printf(why, "%s; ", a->value);
				verdict = 0;
			}
		}
	}
	g_ptr_array_set_size(script->commands, 0);
	dk_sieve_script_free(script);
	g_ptr_array_unref(req_tree.commands);
	(void)name;
	return verdict;
}

/* Runs the block of one test, split at each test_set. */
static int run_one_test(TestState *st, DkSieveNode *test, GString *why)
{
	for (guint i = 0; i < test->block->len; i++)
		if (!prepare(g_ptr_array_index(test->block, i)))
			return -1;
	g_autoptr(GPtrArray) segment = g_ptr_array_new();
	int verdict = 1;
	for (guint i = 0; i <= test->block->len && verdict != 0; i++) {
		DkSieveNode *n = i < test->block->len ? g_ptr_array_index(test->block, i) : NULL;
		if (n && strcmp(n->name, "test_set") != 0) {
			g_ptr_array_add(segment, n);
			continue;
		}
		if (segment->len > 0 || n == NULL) {
			int v = run_segment(st, segment, string_arg(test, 0), why);
			verdict = v < verdict ? v : verdict;
			if (v < 0)
				return -1;
			g_ptr_array_set_size(segment, 0);
		}
		if (n)
			apply_set(st, n);
	}
	return verdict;
}

/* The .svtest.in template: lines marked #UTF8# are left out, as upstream
 * does for builds without UTF-8 mail addresses. */
static char *load(const char *path)
{
	g_autofree char *src = NULL;
	g_assert_true(g_file_get_contents(path, &src, NULL, NULL));
	if (!g_str_has_suffix(path, ".in"))
		return g_steal_pointer(&src);
	g_auto(GStrv) lines = g_strsplit(src, "\n", -1);
	GString *out = g_string_new(NULL);
	for (guint i = 0; lines[i]; i++)
		if (!g_str_has_prefix(lines[i], "#UTF8#"))
			g_string_append_printf(out, "%s\n", lines[i]);
	return g_string_free(out, FALSE);
}

static void run_file(const char *root, const char *rel, Tally *tally)
{
	g_autofree char *path = g_build_filename(root, rel, NULL);
	g_autofree char *src = load(path);
	g_autoptr(GPtrArray) diags =
	    g_ptr_array_new_with_free_func((GDestroyNotify)dk_sieve_diagnostic_free);
	DkSieveScript tree = {0};
	if (!dk_sieve_parse(&tree, src, strlen(src), diags)) {
		const DkSieveDiagnostic *d = g_ptr_array_index(diags, 0);
		print_error("%s: does not parse: %u:%u: %s\n", rel, d->line, d->column, d->message);
		tally->failed++;
		return;
	}
	TestState st = {.prelude = g_ptr_array_new(),
	                .extensions = g_ptr_array_new_with_free_func(g_free)};
	for (guint i = 0; i < tree.commands->len; i++) {
		DkSieveNode *n = g_ptr_array_index(tree.commands, i);
		if (strcmp(n->name, "require") == 0) {
			const DkSieveArg *a = g_ptr_array_index(n->args, 0);
			for (guint k = 0; a->strings && k < a->strings->len; k++)
				if (strcmp(g_ptr_array_index(a->strings, k),
				           "vnd.dovecot.testsuite") != 0)
					g_ptr_array_add(st.extensions,
					                g_strdup(g_ptr_array_index(a->strings, k)));
		} else if (strcmp(n->name, "test_set") == 0) {
			apply_set(&st, n);
		} else if (strcmp(n->name, "test") == 0 && n->block) {
			g_autoptr(GString) why = g_string_new(NULL);
			int v = run_one_test(&st, n, why);
			if (v > 0) {
				tally->passed++;
			} else if (v < 0) {
				tally->skipped++;
				if (g_getenv("DK_CONFORMANCE_VERBOSE"))
					printf("skip %s: %s %s\n", rel, string_arg(n, 0), why->str);
			} else {
				tally->failed++;
				print_error("FAIL %s: test \"%s\": %s\n", rel, string_arg(n, 0),
				            why->str);
			}
		} else if (prepare(n)) {
			g_ptr_array_add(st.prelude, n);
		}
	}
	g_ptr_array_unref(st.prelude);
	g_ptr_array_unref(st.extensions);
	g_free(st.message);
	g_free(st.envelope_from);
	g_free(st.envelope_to);
	g_ptr_array_unref(tree.commands);
}

static void test_svtests(void **state)
{
	g_autofree char *root = dk_test_shared_path("conformance/sieve/tests");
	const char *const files[] = {
	    "testsuite.svtest",
	    "control-if.svtest",
	    "control-stop.svtest",
	    "lexer.svtest",
	    "test-allof.svtest",
	    "test-anyof.svtest",
	    "test-exists.svtest",
	    "test-header.svtest",
	    "test-size.svtest",
	    "test-address.svtest.in",
	    "comparators/i-octet.svtest",
	    "comparators/i-ascii-casemap.svtest",
	    "comparators/i-unicode-casemap.svtest",
	    "match-types/is.svtest",
	    "match-types/contains.svtest",
	    "match-types/matches.svtest",
	    "execute/smtp.svtest",
	    "execute/address-normalize.svtest",
	    "execute/actions.svtest",
	    "execute/errors.svtest",
	    "execute/examples.svtest",
	    "execute/mailstore.svtest",
	    "execute/errors-cpu-limit.svtest",
	    "compile/compile.svtest",
	    "compile/errors.svtest",
	    "compile/recover.svtest",
	    "compile/warnings.svtest",
	};
	Tally t = {0};
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++)
		run_file(root, files[i], &t);
	printf("conformance: %u test cases passed, %u failed, %u skipped (of %u)\n", t.passed,
	       t.failed, t.skipped, t.passed + t.failed + t.skipped);
	assert_int_equal(t.failed, 0);
	assert_true(t.passed >= 60);
}

/* The scripts in compile/errors must all be rejected; the valid scripts (and the
 * examples that need no extension docket lacks) must compile. */
static void test_compile(void **state)
{
	g_autofree char *root = dk_test_shared_path("conformance/sieve");
	const char *const bad[] = {
	    "address-part",
	    "address",
	    "comparator",
	    "encoded-character",
	    "envelope",
	    "fileinto",
	    "header",
	    "if",
	    "keep",
	    "lexer",
	    "match-type",
	    "out-address",
	    "parser",
	    "require",
	    "size",
	    "stop",
	    "tag",
	    "typos",
	    "unsupported",
	    "../recover/commands-endblock",
	    "../recover/commands-semicolon",
	    "../recover/tests-endcomma",
	};
	const char *const good[] = {
	    "tests/compile/trivial.sieve",
	    "tests/compile/redirect.sieve",
	    "tests/compile/warnings/eof.sieve",
	    "tests/compile/warnings/invalid-headers.sieve",
	    "tests/execute/actions/fileinto.sieve",
	    "tests/execute/actions/redirect.sieve",
	    "tests/execute/errors/fileinto.sieve",
	    "tests/execute/errors/conflict-reject-keep.sieve",
	    "examples/relational.rfc5231.sieve",
	    "examples/rfc3028.sieve",
	    "examples/sanjay.sieve",
	    "examples/sieve_examples.sieve",
	    "examples/subaddress.rfc5233.sieve",
	};
	guint failed = 0;
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *path =
		    g_strdup_printf("%s/tests/compile/errors/%s.sieve", root, bad[i]);
		g_autofree char *src = load(path);
		g_autoptr(DkSieveScript) s = dk_sieve_compile(src, -1, NULL, NULL);
		if (s != NULL) {
			print_error("%s compiled, expected errors\n", bad[i]);
			failed++;
		}
	}
	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autofree char *path = g_build_filename(root, good[i], NULL);
		g_autofree char *src = load(path);
		g_autoptr(GError) error = NULL;
		g_autoptr(DkSieveScript) s = dk_sieve_compile(src, -1, NULL, &error);
		if (s == NULL) {
			print_error("%s: %s\n", good[i], error->message);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* compile/errors.svtest gives the number of errors Pigeonhole reports per
 * script (plus one for "compilation failed"); docket's validator reports
 * the same number for these. The others differ in how a parse error or a
 * misplaced test counts (if, stop, typos) or in unsupported extensions. */
static void test_error_counts(void **state)
{
	g_autofree char *root = dk_test_shared_path("conformance/sieve/tests/compile/errors");
	static const struct {
		const char *file;
		guint errors;
	} counts[] = {
	    {"address-part", 2}, {"address", 8}, {"comparator", 5}, {"envelope", 2},
	    {"fileinto", 9},     {"header", 9},  {"keep", 2},       {"match-type", 1},
	    {"require", 14},     {"size", 6},    {"tag", 2},
	};
	guint failed = 0;
	for (gsize i = 0; i < G_N_ELEMENTS(counts); i++) {
		g_autofree char *path = g_strdup_printf("%s/%s.sieve", root, counts[i].file);
		g_autofree char *src = load(path);
		g_autoptr(GPtrArray) diags = NULL;
		g_autoptr(DkSieveScript) s = dk_sieve_compile(src, -1, &diags, NULL);
		guint n = diags ? diags->len : 0;
		if (s != NULL || n != counts[i].errors) {
			print_error("%s: %u errors, Pigeonhole reports %u\n", counts[i].file, n,
			            counts[i].errors);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* execute/actions.svtest: duplicates collapse (RFC 5228 section 2.10.3),
 * fileinto "INBOX" is the keep, and the actions keep their order. */
static void test_actions_svtest(void **state)
{
	g_autofree char *root = dk_test_shared_path("conformance/sieve/tests/execute/actions");
	static const char message[] = "To: nico@frop.example.org\r\nFrom: stephan@example.org\r\n"
	                              "Subject: Test\r\n\r\nTest.\r\n";
	static const struct {
		const char *file;
		const char *actions;
	} cases[] = {
	    {"fileinto", "fileinto:INBOX.VB; fileinto:INBOX.backup; keep"},
	    {"redirect", "redirect:stephan@example.com; keep; redirect:stephan@example.org; "
	                 "redirect:nico@example.nl"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strdup_printf("%s/%s.sieve", root, cases[i].file);
		g_autofree char *src = load(path);
		g_autofree char *got = dk_sieve_test_run(src, message, NULL);
		assert_string_equal(got, cases[i].actions);
	}
}

/* execute/errors.svtest: reject with a delivering action is a runtime
 * error (RFC 5429 section 2.1), and the run falls back to the implicit keep. */
static void test_runtime_conflicts(void **state)
{
	g_autofree char *root = dk_test_shared_path("conformance/sieve/tests/execute/errors");
	const char *const files[] = {"conflict-reject-fileinto", "conflict-reject-keep",
	                             "conflict-reject-redirect", "action-duplicates"};
	g_autoptr(DkMessage) m = dk_sieve_test_message(DK_SIEVE_TEST_MESSAGE);
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = g_strdup_printf("%s/%s.sieve", root, files[i]);
		g_autofree char *src = load(path);
		g_autoptr(GError) error = NULL;
		g_autoptr(DkSieveScript) s = dk_sieve_compile(src, -1, NULL, &error);
		assert_non_null(s);
		DkSieveInput in = {.message = m};
		g_autoptr(DkSieveResult) r = dk_sieve_execute(s, &in);
		assert_non_null(r->error);
		assert_int_equal(r->actions->len, 1);
		assert_true(((DkSieveAction *)g_ptr_array_index(r->actions, 0))->implicit);
	}
}

int main(void)
{
	g_autofree char *root = dk_test_shared_path("conformance/sieve/tests");
	if (root == NULL)
		return DK_TEST_SKIP;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_svtests),           cmocka_unit_test(test_compile),
	    cmocka_unit_test(test_error_counts),      cmocka_unit_test(test_actions_svtest),
	    cmocka_unit_test(test_runtime_conflicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
