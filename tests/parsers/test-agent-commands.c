/* Tests of agent commands on the first lines of a reply. */
#include "dk-test.h"
#include "parsers/agent-commands.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
	const char *text;
	const char *commands; /* "status=resolved,priority=high,internal" */
	guint errors;
	const char *rest;
} CommandCase;

static const CommandCase cases[] = {
    {"#status resolved\n\nDone.", "status=resolved", 0, "Done."},
    {"#status resolved\r\n#priority HIGH\r\n\r\nDone.\r\n", "status=resolved,priority=high", 0,
     "Done.\r\n"},
    {"\n\n  #assign Bob@Example.com\n#tag VIP\nHello", "assign=bob@example.com,tag=vip", 0,
     "Hello"},
    {"#internal\nCustomer is VIP.", "internal", 0, "Customer is VIP."},
    {"#Status: on_hold\nWaiting for parts.", "status=on_hold", 0, "Waiting for parts."},
    {"#tag billing-2026.q4\n", "tag=billing-2026.q4", 0, ""},
    /* Bad values: the line is dropped, an error is kept, the block goes on. */
    {"#priority urgent\n#status closed\nText", "status=closed", 1, "Text"},
    {"#assign bob\nText", "", 1, "Text"},
    {"#tag two words\nText", "", 1, "Text"},
    {"#internal please\nText", "", 1, "Text"},
    /* Not commands: the text stays as it is. */
    {"#1 is broken\n#status resolved", "", 0, "#1 is broken\n#status resolved"},
    {"Hello\n#status resolved", "", 0, "Hello\n#status resolved"},
    {"#statusresolved\nText", "", 0, "#statusresolved\nText"},
    {"# status resolved", "", 0, "# status resolved"},
    {"", "", 0, ""},
    /* Commands only on the first lines: after text they are text. */
    {"#tag a\nText\n#tag b", "tag=a", 0, "Text\n#tag b"},
};

static char *summary(const DkAgentCommands *c)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < c->commands->len; i++) {
		const DkAgentCommand *cmd = g_ptr_array_index(c->commands, i);
		g_string_append_printf(out, "%s%s%s%s", i ? "," : "",
		                       dk_agent_command_name(cmd->kind), cmd->value ? "=" : "",
		                       cmd->value ? cmd->value : "");
	}
	return g_string_free(out, FALSE);
}

static void test_commands(void **state)
{
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(DkAgentCommands) c = dk_agent_commands_parse(cases[i].text);
		g_autofree char *got = summary(c);
		if (strcmp(got, cases[i].commands) != 0 || c->errors->len != cases[i].errors ||
		    strcmp(c->text, cases[i].rest) != 0)
			fail_msg("case %zu: commands “%s” errors %u rest “%s”", i, got,
			         c->errors->len, c->text);
	}
	g_autoptr(DkAgentCommands) internal = dk_agent_commands_parse("#internal\n#tag x\n");
	assert_true(internal->internal);
	g_autoptr(DkAgentCommands) none = dk_agent_commands_parse(NULL);
	assert_int_equal(none->commands->len, 0);
	assert_string_equal(none->text, "");
}

static void test_commands_bounded(void **state)
{
	GString *s = g_string_new(NULL);
	for (int i = 0; i < 1000; i++)
		g_string_append(s, "#tag t\n");
	g_autoptr(DkAgentCommands) c = dk_agent_commands_parse(s->str);
	assert_int_equal(c->commands->len, 32);
	g_string_free(s, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_commands_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
