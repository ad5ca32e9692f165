/* The per-message budget of a rule run (DkSieveInput.max_steps): what a
 * run costs is a function of the script and the message alone, a run past
 * the budget stops with budget_exceeded and only the implicit keep, and a
 * backtracking regular expression over many headers is charged so that
 * the budget bounds it. */
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "parsers/message.h"
#include "rules/sieve.h"

static DkMessage *many_received(guint n)
{
	g_autoptr(GString) raw = g_string_new("From: a@example.org\nTo: s@example.com\n");
	for (guint i = 0; i < n; i++)
		g_string_append(raw, "Received: aaaaaaaaaaaaaaaaaaaaaaaaaaaab\n");
	g_string_append(raw, "Subject: x\n\nbody\n");
	g_autoptr(GBytes) bytes = g_bytes_new(raw->str, raw->len);
	return dk_message_parse(bytes, NULL, NULL);
}

static DkSieveResult *run(const char *source, const DkMessage *m, guint64 max_steps)
{
	g_autoptr(DkSieveScript) script = dk_sieve_compile(source, -1, NULL, NULL);
	assert_non_null(script);
	DkSieveInput input = {.message = m, .size = 100, .max_steps = max_steps};
	return dk_sieve_execute(script, &input);
}

static const char *const slow = "require [\"regex\", \"fileinto\", \"imap4flags\"];\n"
                                "fileinto \"slow\"; addflag \"seen\";\n"
                                "if header :regex \"received\" \"^(a|aa)+$\" { discard; }\n";

static void test_cost_is_deterministic(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = many_received(50);
	g_autoptr(DkSieveResult) a = run(slow, m, 0);
	g_autoptr(DkSieveResult) b = run(slow, m, 0);
	assert_null(a->error);
	assert_int_equal(a->steps, b->steps);
	/* 50 headers, each a regular expression at its fixed cost. */
	assert_true(a->steps >= 50 * DK_SIEVE_REGEX_COST);
	/* A budget of exactly that suffices; one step less does not. */
	g_autoptr(DkSieveResult) exact = run(slow, m, a->steps);
	assert_null(exact->error);
	g_autoptr(DkSieveResult) short_by_one = run(slow, m, a->steps - 1);
	assert_true(short_by_one->budget_exceeded);
}

static void test_spent_budget_keeps_only(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m = many_received(400);
	g_autoptr(DkSieveResult) r = run(slow, m, 20000);
	assert_true(r->budget_exceeded);
	assert_non_null(strstr(r->error, "budget of 20000 steps"));
	/* Stopped within one regular expression of the budget. */
	assert_true(r->steps <= 20000 + DK_SIEVE_REGEX_COST + 100);
	assert_int_equal(r->actions->len, 1);
	const DkSieveAction *keep = g_ptr_array_index(r->actions, 0);
	assert_int_equal(keep->type, DK_SIEVE_ACTION_KEEP);
	assert_true(keep->implicit);
	assert_int_equal(r->flags->len, 0);
}

static void test_matches_work_is_charged(void **state)
{
	(void)state;
	g_autoptr(GString) raw = g_string_new("From: a@example.org\nSubject: ");
	for (int i = 0; i < 4000; i++)
		g_string_append_c(raw, 'a');
	g_string_append(raw, "\n\nx\n");
	g_autoptr(GBytes) bytes = g_bytes_new(raw->str, raw->len);
	g_autoptr(DkMessage) m = dk_message_parse(bytes, NULL, NULL);
	g_autoptr(DkSieveResult) plain =
	    run("if header :matches \"subject\" \"a*\" { discard; }", m, 0);
	g_autoptr(DkSieveResult) r =
	    run("if header :matches \"subject\" \"*aaaaaaaaaaaaaaaaaaaaaaaaaaaaab\" { discard; }",
	        m, 0);
	/* The glob's backtracking is counted, not just the one comparison. */
	printf("matches: plain %" G_GUINT64_FORMAT " steps, backtracking %" G_GUINT64_FORMAT "\n",
	       plain->steps, r->steps);
	assert_true(r->steps > plain->steps + 1000);
	g_autoptr(DkSieveResult) stopped =
	    run("if header :matches \"subject\" \"*aaaaaaaaaaaaaaaaaaaaaaaaaaaaab\" { discard; }",
	        m, plain->steps + 1000);
	assert_true(stopped->budget_exceeded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cost_is_deterministic),
	    cmocka_unit_test(test_spent_budget_keeps_only),
	    cmocka_unit_test(test_matches_work_is_charged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
