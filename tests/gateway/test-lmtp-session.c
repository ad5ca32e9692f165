/* Tests of the LMTP session state machine over memory streams, and of the
 * DATA reader fed one byte at a time. */
#include "dk-test-store.h"
#include "gateway/intake/lmtp-data.h"
#include "gateway/intake/lmtp-session.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

typedef struct {
	DkTestStore *base;
	char *dir;
	DkStore *store;
	DkPipeline *pipeline;
	DkLmtpSettings *settings;
} Fixture;

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->base = dk_test_store_new();
	f->dir = f->base->dir;
	f->store = f->base->store;
	f->pipeline = f->base->pipeline;
	f->settings = dk_lmtp_settings_new(f->base->config);
	g_free(f->settings->hostname);
	f->settings->hostname = g_strdup("lmtp.test");
	g_free(f->settings->spool_dir);
	f->settings->spool_dir = g_build_filename(f->dir, "spool", NULL);
	f->settings->max_size = 2000;
	f->settings->max_recipients = 3;
	g_strfreev(f->settings->recipients);
	f->settings->recipients = g_strsplit("support@example.com,*@help.example.com", ",", -1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_lmtp_settings_unref(f->settings);
	dk_test_store_free(f->base);
	g_free(f);
	return 0;
}

/* Runs a session on script; returns everything the server said. */
static char *converse(Fixture *f, const char *script, gsize length)
{
	g_autoptr(GInputStream) in =
	    g_memory_input_stream_new_from_data(script, (gssize)length, NULL);
	g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
	g_autoptr(DkLmtpSession) s =
	    dk_lmtp_session_new(f->settings, f->pipeline, "[127.0.0.1]", in, out, NULL);
	dk_lmtp_session_run(s);
	g_output_stream_write_all(out, "", 1, NULL, NULL, NULL);
	g_output_stream_close(out, NULL, NULL);
	return g_memory_output_stream_steal_data(G_MEMORY_OUTPUT_STREAM(out));
}

/* Checks that the replies, one per line, start with the expected codes. */
static void expect_codes(const char *output, const char *const *codes)
{
	g_auto(GStrv) lines = g_strsplit(output, "\r\n", -1);
	guint i = 0, n = 0;
	for (; lines[i] != NULL && lines[i][0] != '\0'; i++) {
		if (lines[i][3] == '-')
			continue; /* a continuation line of a multi-line reply */
		if (codes[n] == NULL)
			fail_msg("extra reply “%s”\n%s", lines[i], output);
		if (!g_str_has_prefix(lines[i], codes[n]))
			fail_msg("reply %u is “%s”, expected “%s…”\n%s", n, lines[i], codes[n],
			         output);
		n++;
	}
	if (codes[n] != NULL)
		fail_msg("missing reply “%s”\n%s", codes[n], output);
}

static guint articles(Fixture *f)
{
	g_autoptr(GPtrArray) tickets = dk_store_ticket_list(f->store, NULL, 0, NULL);
	guint n = 0;
	for (guint i = 0; i < tickets->len; i++)
		n += (guint)((DkTicket *)g_ptr_array_index(tickets, i))->articles;
	return n;
}

#define MSG "From: alice@example.com\r\nSubject: hi\r\nMessage-ID: <s1@x>\r\n\r\nbody\r\n"

static void test_transaction(void **state)
{
	Fixture *f = *state;
	const char script[] = "LHLO client\r\nMAIL FROM:<alice@example.com>\r\n"
	                      "RCPT TO:<support@example.com>\r\nRCPT TO:<nobody@example.com>\r\n"
	                      "RCPT TO:<Ops@Help.Example.com>\r\nDATA\r\n" MSG ".\r\nQUIT\r\n";
	g_autofree char *out = converse(f, script, sizeof script - 1);
	static const char *const codes[] = {"220 lmtp.test",
	                                    "250 SIZE 2000",
	                                    "250 2.1.0",
	                                    "250 2.1.5",
	                                    "550 5.1.1",
	                                    "250 2.1.5",
	                                    "354",
	                                    "250 2.0.0 <s1@x> ticket 1 created",
	                                    "250 2.0.0 <s1@x> ticket 1 created",
	                                    "221",
	                                    NULL};
	expect_codes(out, codes);
	assert_non_null(
	    strstr(out, "250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"));
	assert_int_equal(articles(f), 1);
	/* The stored message is what the client sent. */
	g_autoptr(GPtrArray) list = dk_store_articles(f->store, 1, NULL);
	const DkArticle *a = g_ptr_array_index(list, 0);
	g_autoptr(GBytes) raw = dk_store_raw_get(f->store, a->raw_sha256, NULL);
	assert_int_equal(g_bytes_get_size(raw), strlen(MSG));
	assert_memory_equal(g_bytes_get_data(raw, NULL), MSG, strlen(MSG));
}

static void test_sequence_errors(void **state)
{
	Fixture *f = *state;
	const char script[] =
	    "MAIL FROM:<a@x>\r\nEHLO x\r\nLHLO x\r\nRCPT TO:<support@example.com>\r\n"
	    "DATA\r\nMAIL FROM:<a@x>\r\nMAIL FROM:<a@x>\r\nDATA\r\nRSET\r\nDATA\r\n"
	    "VRFY me\r\nNOOP\r\nWHAT\r\nQUIT\r\n";
	g_autofree char *out = converse(f, script, sizeof script - 1);
	static const char *const codes[] = {
	    "220",       "503 5.5.1 Send LHLO", "500 5.5.1", "250 SIZE",  "503 5.5.1", "503 5.5.1",
	    "250 2.1.0", "503 5.5.1 Nested",    "554 5.5.1", "250 2.0.0", "503 5.5.1", "252",
	    "250",       "500 5.5.2",           "221",       NULL};
	expect_codes(out, codes);
	assert_int_equal(articles(f), 0);
}

static void test_limits(void **state)
{
	Fixture *f = *state;
	GString *script =
	    g_string_new("LHLO x\r\nMAIL FROM:<a@x> SIZE=999999\r\nMAIL FROM:<a@x> SIZE=10\r\n");
	for (int i = 0; i < 4; i++)
		g_string_append(script, "RCPT TO:<support@example.com>\r\n");
	g_string_append(script, "DATA\r\n" MSG);
	for (int i = 0; i < 40; i++)
		g_string_append(script,
		                "a line of text that makes the message larger than the limit\r\n");
	g_string_append(script, ".\r\nNOOP\r\n");
	g_string_append_len(script, "NOOP\0x\r\n", 8);
	for (int i = 0; i < 5000; i++)
		g_string_append_c(script, 'x');
	g_string_append(script, "\r\nQUIT\r\n");
	g_autofree char *out = converse(f, script->str, script->len);
	g_string_free(script, TRUE);
	static const char *const codes[] = {
	    "220",       "250 SIZE",  "552 5.3.4", "250 2.1.0", "250 2.1.5", "250 2.1.5",
	    "250 2.1.5", "452 4.5.3", "354",       "552 5.3.4", "552 5.3.4", "552 5.3.4",
	    "250",       "500 5.5.2", "500 5.5.2", "221",       NULL};
	expect_codes(out, codes);
	assert_int_equal(articles(f), 0);
}

static void test_dropped_in_data(void **state)
{
	Fixture *f = *state;
	const char script[] =
	    "LHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<support@example.com>\r\nDATA\r\n"
	    "From: a@x\r\nSubject: cut\r\n\r\nhalf a mes";
	g_autofree char *out = converse(f, script, sizeof script - 1);
	static const char *const codes[] = {"220", "250 SIZE", "250", "250", "354", NULL};
	expect_codes(out, codes);
	assert_int_equal(articles(f), 0);
	/* Nothing is left in the spool (a small message did not need it). */
	g_autoptr(GDir) dir = g_dir_open(f->settings->spool_dir, 0, NULL);
	assert_true(dir == NULL || g_dir_read_name(dir) == NULL);
}

static void test_not_mail_and_duplicate(void **state)
{
	Fixture *f = *state;
	const char script[] =
	    "LHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<support@example.com>\r\nDATA\r\n"
	    "\r\nno header block here\r\n.\r\n"
	    "MAIL FROM:<a@x>\r\nRCPT TO:<support@example.com>\r\nDATA\r\n" MSG ".\r\n"
	    "MAIL FROM:<a@x>\r\nRCPT TO:<support@example.com>\r\nDATA\r\n" MSG ".\r\nQUIT\r\n";
	g_autofree char *out = converse(f, script, sizeof script - 1);
	static const char *const codes[] = {"220", "250 SIZE",
	                                    "250", "250",
	                                    "354", "554 5.6.0",
	                                    "250", "250",
	                                    "354", "250 2.0.0 <s1@x> ticket 1 created",
	                                    "250", "250",
	                                    "354", "250 2.0.0 <s1@x> ticket 1 duplicate",
	                                    "221", NULL};
	expect_codes(out, codes);
	assert_int_equal(articles(f), 1);
}

/* DATA with dot-stuffing and bare LF, read one byte at a time. */
static void test_data_bytewise(void **state)
{
	Fixture *f = *state;
	static const struct {
		const char *wire;
		const char *message;
	} cases[] = {
	    {"a\r\n..b\r\n.\r\n", "a\r\n.b\r\n"},
	    {"..\r\n.\r\n", ".\r\n"},
	    {"a\nb\n.\n", "a\nb\n"},
	    {".x\r\n.\r\n", "x\r\n"},
	    {"a.\r\n.\r\nAFTER", "a.\r\n"},
	    {".\r\n", ""},
	    {"x\r\n.\ry\r\n.\r\n", "x\r\n\ry\r\n"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		for (gsize chunk = 1; chunk <= 64; chunk *= 64) {
			g_autoptr(GInputStream) in = g_memory_input_stream_new_from_data(
			    cases[i].wire, (gssize)strlen(cases[i].wire), NULL);
			DkLmtpReader reader;
			dk_lmtp_reader_init(&reader, chunk);
			g_autoptr(DkLmtpSpool) spool = dk_lmtp_spool_new(f->settings->spool_dir);
			g_autoptr(GError) error = NULL;
			assert_int_equal(dk_lmtp_data_read(&reader, in, spool, 1000, &error),
			                 DK_LMTP_DATA_OK);
			assert_true(dk_lmtp_spool_finish(spool, NULL));
			g_autoptr(GBytes) got = dk_lmtp_spool_contents(spool, NULL);
			g_autofree char *text =
			    g_strndup(g_bytes_get_size(got) ? g_bytes_get_data(got, NULL) : "",
			              g_bytes_get_size(got));
			if (strcmp(text, cases[i].message) != 0)
				fail_msg("case %zu chunk %zu: got “%s”", i, chunk,
				         g_strescape(text, NULL));
			dk_lmtp_reader_clear(&reader);
		}
	}
}

/* A reader past its deadline gives up after the next read, with a
 * timeout: what ends a session that trickles a byte at a time. */
static void test_deadline(void **state)
{
	Fixture *f = *state;
	static const char wire[] = "NOOP\r\nfrom here on too late\r\n.\r\n";
	g_autoptr(GInputStream) in =
	    g_memory_input_stream_new_from_data(wire, sizeof wire - 1, NULL);
	DkLmtpReader reader;
	dk_lmtp_reader_init(&reader, 8);
	const char *line = NULL;
	gsize length = 0;
	g_autoptr(GError) error = NULL;
	reader.deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	assert_int_equal(dk_lmtp_reader_line(&reader, in, 100, &line, &length, NULL, &error),
	                 DK_LMTP_LINE_OK);
	reader.deadline = g_get_monotonic_time() - 1;
	assert_int_equal(dk_lmtp_reader_line(&reader, in, 100, &line, &length, NULL, &error),
	                 DK_LMTP_LINE_ERROR);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	g_clear_error(&error);
	g_autoptr(DkLmtpSpool) spool = dk_lmtp_spool_new(f->settings->spool_dir);
	assert_int_equal(dk_lmtp_data_read(&reader, in, spool, 1000, &error), DK_LMTP_DATA_BROKEN);
	assert_true(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
	dk_lmtp_reader_clear(&reader);
}

static void test_accepts(void **state)
{
	Fixture *f = *state;
	assert_true(dk_lmtp_settings_accepts(f->settings, "SUPPORT@example.com"));
	assert_true(dk_lmtp_settings_accepts(f->settings, "x@help.example.com"));
	assert_false(dk_lmtp_settings_accepts(f->settings, "x@sub.help.example.com"));
	assert_false(dk_lmtp_settings_accepts(f->settings, "support@example.org"));
	/* a subaddress reaches its mailbox (a ticket's signed reply address) */
	assert_true(dk_lmtp_settings_accepts(f->settings, "support+12.3f9a0c1d2e@example.com"));
	assert_false(dk_lmtp_settings_accepts(f->settings, "supportx+12@example.com"));
	g_strfreev(f->settings->recipients);
	f->settings->recipients = g_new0(char *, 1);
	assert_true(dk_lmtp_settings_accepts(f->settings, "anyone@anywhere"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dropped_in_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_mail_and_duplicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_bytewise, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accepts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
