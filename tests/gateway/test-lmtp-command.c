/* Table-driven tests of the LMTP command parser. */
#include "dk-test.h"
#include "gateway/intake/lmtp-command.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

typedef struct {
	const char *line;
	DkLmtpVerb verb;
	const char *address;  /* expected, or NULL */
	const char *argument; /* expected, or NULL */
	gint64 size;
	const char *body;
	const char *reply; /* expected error reply prefix, or NULL when valid */
} Case;

static const Case cases[] = {
    {"LHLO mx.example.com", DK_LMTP_LHLO, NULL, "mx.example.com", -1},
    {"lhlo mx", DK_LMTP_LHLO, NULL, "mx", -1},
    {"LHLO", DK_LMTP_LHLO, .reply = "501 5.5.4"},
    {"HELO mx", DK_LMTP_HELO, NULL, "mx", -1},
    {"EHLO mx", DK_LMTP_HELO, NULL, "mx", -1},
    {"MAIL FROM:<a@example.com>", DK_LMTP_MAIL, "a@example.com", NULL, -1},
    {"MAIL FROM:<>", DK_LMTP_MAIL, "", NULL, -1},
    {"mail from: <a@example.com>", DK_LMTP_MAIL, "a@example.com", NULL, -1},
    {"MAIL FROM:a@example.com", DK_LMTP_MAIL, "a@example.com", NULL, -1},
    {"MAIL FROM:<@relay.example,@b.example:a@example.com>", DK_LMTP_MAIL, "a@example.com", NULL,
     -1},
    {"MAIL FROM:<a@example.com> SIZE=1234 BODY=8bitmime", DK_LMTP_MAIL, "a@example.com", NULL, 1234,
     "8BITMIME"},
    {"MAIL FROM:<a@example.com>  BODY=7BIT", DK_LMTP_MAIL, "a@example.com", NULL, -1, "7BIT"},
    {"MAIL FROM:<a@example.com> SIZE=abc", DK_LMTP_MAIL, .reply = "501 5.5.4 Bad SIZE"},
    {"MAIL FROM:<a@example.com> SIZE=-1", DK_LMTP_MAIL, .reply = "501 5.5.4 Bad SIZE"},
    {"MAIL FROM:<a@example.com> BODY=BINARYMIME", DK_LMTP_MAIL,
     .reply = "501 5.5.4 Unsupported BODY"},
    {"MAIL FROM:<a@example.com> AUTH=<>", DK_LMTP_MAIL, .reply = "555 5.5.4"},
    {"MAIL TO:<a@example.com>", DK_LMTP_MAIL, .reply = "501 5.5.4 Syntax: MAIL"},
    {"MAIL FROM:<a@example.com", DK_LMTP_MAIL, .reply = "501 5.5.4 Syntax: MAIL"},
    {"MAIL FROM:<a@example.com>x", DK_LMTP_MAIL, .reply = "501 5.5.4 Syntax: MAIL"},
    {"MAIL", DK_LMTP_MAIL, .reply = "501 5.5.4 Syntax: MAIL"},
    {"RCPT TO:<support@example.com>", DK_LMTP_RCPT, "support@example.com", NULL, -1},
    {"RCPT TO: support@example.com", DK_LMTP_RCPT, "support@example.com", NULL, -1},
    {"RCPT TO:<>", DK_LMTP_RCPT, .reply = "501 5.1.3"},
    {"RCPT TO:<a@example.com> NOTIFY=NEVER", DK_LMTP_RCPT, .reply = "555 5.5.4"},
    {"RCPT FROM:<a@example.com>", DK_LMTP_RCPT, .reply = "501 5.5.4 Syntax: RCPT"},
    {"DATA", DK_LMTP_DATA, NULL, NULL, -1},
    {"DATA now", DK_LMTP_DATA, .reply = "501 5.5.4"},
    {"RSET", DK_LMTP_RSET, NULL, NULL, -1},
    {"NOOP", DK_LMTP_NOOP, NULL, NULL, -1},
    {"NOOP anything", DK_LMTP_NOOP, NULL, "anything", -1},
    {"QUIT", DK_LMTP_QUIT, NULL, NULL, -1},
    {"QUIT  ", DK_LMTP_QUIT, NULL, NULL, -1},
    {"VRFY postmaster", DK_LMTP_VRFY, NULL, "postmaster", -1},
    {"VRFY", DK_LMTP_VRFY, .reply = "501 5.5.4"},
    {"BDAT 100 LAST", DK_LMTP_UNKNOWN, .reply = "500 5.5.2"},
    {"", DK_LMTP_UNKNOWN, .reply = "500 5.5.2"},
    {"GET / HTTP/1.1", DK_LMTP_UNKNOWN, .reply = "500 5.5.2"},
};

static void test_table(void **state)
{
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const Case *t = &cases[i];
		DkLmtpCommand c;
		g_autofree char *reply = NULL;
		gboolean ok = dk_lmtp_command_parse(t->line, strlen(t->line), &c, &reply);
		if (ok != (t->reply == NULL))
			fail_msg("“%s”: parse %s (%s)", t->line, ok ? "succeeded" : "failed",
			         reply ? reply : "");
		if (!ok) {
			if (!g_str_has_prefix(reply, t->reply))
				fail_msg("“%s”: reply “%s”, expected “%s…”", t->line, reply,
				         t->reply);
			dk_lmtp_command_clear(&c);
			continue;
		}
		assert_int_equal(c.verb, t->verb);
		if (t->address != NULL)
			assert_string_equal(c.address, t->address);
		if (t->argument != NULL)
			assert_string_equal(c.argument, t->argument);
		else
			assert_null(c.argument);
		assert_int_equal(c.size, t->size);
		if (t->body != NULL)
			assert_string_equal(c.body, t->body);
		dk_lmtp_command_clear(&c);
	}
}

static void test_nul_byte(void **state)
{
	DkLmtpCommand c;
	g_autofree char *reply = NULL;
	assert_false(dk_lmtp_command_parse("NOOP\0x", 6, &c, &reply));
	assert_true(g_str_has_prefix(reply, "500 5.5.2"));
	dk_lmtp_command_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_nul_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
