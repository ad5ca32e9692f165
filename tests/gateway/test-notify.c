/* Tests of notification mail: addresses fit for headers, the message GMime
 * builds (RFC 5322 headers, RFC 2047, no header injection from any value),
 * VERP bounce addresses and their lookup, and the never-loop guard. */
#include "dk-test-store.h"
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/store/store-outbox.h"
#include "gateway/outbox/notify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
	char *dir;
	DkConfig *config;
	DkStore *store;
	DkNotifySettings *settings;
} Fixture;

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = dk_test_tmpdir();
	g_autofree char *path = g_build_filename(f->dir, "docket.conf", NULL);
	g_autofree char *text =
	    g_strdup_printf("[store]\ndata_dir = %s\n[threading]\ndomain = help.example.com\n"
	                    "[notify]\nfrom = support@help.example.com\nrate_per_hour = 2\n"
	                    "[lmtp]\nrecipients = it@help.example.com\n",
	                    f->dir);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	f->config = dk_config_load(path, NULL);
	g_assert_nonnull(f->config);
	f->store = dk_test_store_open(f->dir, NULL, NULL);
	f->settings = dk_notify_settings_new(f->config, NULL);
	g_assert_nonnull(f->settings);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_notify_settings_free(f->settings);
	dk_store_close(f->store);
	dk_config_free(f->config);
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static void test_address_ok(void **state)
{
	const char *good[] = {"a@b", "ann.lee+x@example.org", "jürgen@exämple.de",
	                      "o'brien@example.ie"};
	const char *bad[] = {
	    NULL,    "",        "@b",    "a@",      "noat", "a b@c", "a@b\r\nBcc: x@y",
	    "<a@b>", "a@b,c@d", "a@b@c", "\"q\"@b", "a@b;", "a\t@b"};
	for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
		assert_true(dk_notify_address_ok(good[i]));
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		assert_false(dk_notify_address_ok(bad[i]));
}

static char *build(Fixture *f, DkNotification *n, DkMailHeaders *h, GMimeMessage **msg_out)
{
	g_autoptr(GError) error = NULL;
	GMimeMessage *msg = dk_notify_build_message(f->settings, n, h, &error);
	assert_non_null(msg);
	g_autoptr(GBytes) bytes = dk_notify_message_bytes(msg);
	if (msg_out != NULL)
		*msg_out = msg;
	else
		g_object_unref(msg);
	return g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
}

static GMimeMessage *reparse(const char *text)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	return m;
}

static void test_build_headers(void **state)
{
	Fixture *f = *state;
	DkNotification n = {.subject = "Grüße aus Köln", .text = "Hallo Jürgen,\nalles gut.\n"};
	g_autoptr(GPtrArray) refs = g_ptr_array_new();
	g_ptr_array_add(refs, "r0@example.org");
	g_ptr_array_add(refs, "not an id");
	g_ptr_array_add(refs, "r1@example.org>\r\nBcc: x@y");
	DkMailHeaders h = {.to = "jm@example.org",
	                   .to_name = "Jürgen Müller",
	                   .message_id = "docket.1.ab.cd@help.example.com",
	                   .in_reply_to = "c1@example.org",
	                   .references = refs,
	                   .token = "[docket #1]",
	                   .auto_submitted = "auto-replied",
	                   .date = 1795600000};
	g_autofree char *text = build(f, &n, &h, NULL);
	const char *body = strstr(text, "\n\n");
	assert_non_null(body);
	for (const char *p = text; p < body; p++)
		assert_true((guchar)*p < 0x80); /* RFC 2047 for everything else */
	assert_non_null(strstr(text, "\nIn-Reply-To: <c1@example.org>\n"));
	assert_non_null(strstr(text, "\nReferences: <r0@example.org> <c1@example.org>\n"));
	assert_non_null(strstr(text, "\nAuto-Submitted: auto-replied\n"));
	assert_non_null(strstr(text, "\nX-Loop: support@help.example.com\n"));
	assert_non_null(strstr(text, "Message-Id: <docket.1.ab.cd@help.example.com>\n"));
	assert_null(strstr(text, "\nBcc:"));
	GMimeMessage *m = reparse(text);
	assert_string_equal(g_mime_message_get_subject(m), "[docket #1] Grüße aus Köln");
	InternetAddressList *to = g_mime_message_get_to(m);
	assert_string_equal(internet_address_get_name(internet_address_list_get_address(to, 0)),
	                    "Jürgen Müller");
	GMimeObject *part = g_mime_message_get_mime_part(m);
	assert_string_equal(g_mime_object_get_content_type_parameter(part, "charset"), "utf-8");
	g_autofree char *decoded = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
	assert_string_equal(decoded, "Hallo Jürgen,\nalles gut.\n");
	g_object_unref(m);
}

/* CR and LF from a ticket, a message or a template never start a header. */
static void test_no_injection(void **state)
{
	Fixture *f = *state;
	DkNotification n = {.subject = "Hi\r\nBcc: victim@example.net\r\n\r\nbody",
	                    .text = "x",
	                    .reply_to = "a@b\r\nBcc: c@d",
	                    .html = "<p>x</p>"};
	DkMailHeaders h = {.to = "eve@example.org",
	                   .to_name = "Eve\r\nBcc: victim@example.net",
	                   .in_reply_to = "a@b\nBcc: x@y",
	                   .token = "[docket #2]",
	                   .date = 1795600000};
	g_autofree char *text = build(f, &n, &h, NULL);
	char *end = strstr(text, "\n\n");
	*end = '\0';
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		assert_false(g_ascii_strncasecmp(lines[i], "bcc:", 4) == 0);
		assert_false(g_ascii_strncasecmp(lines[i], "in-reply-to:", 12) == 0);
		assert_false(g_ascii_strncasecmp(lines[i], "auto-submitted:", 15) ==
		             0); /* a person's reply */
	}
	assert_non_null(strstr(text, "Content-Type: multipart/alternative"));
}

static void test_template_from_and_reply_to(void **state)
{
	Fixture *f = *state;
	DkNotification n = {.subject = "s",
	                    .text = "t",
	                    .from = "Billing Team <billing@help.example.com>",
	                    .reply_to = "Ticket 7 <support+7.abc@help.example.com>"};
	DkMailHeaders h = {.to = "ann@example.org", .date = 1};
	g_autofree char *text = build(f, &n, &h, NULL);
	assert_non_null(strstr(text, "From: Billing Team <billing@help.example.com>\n"));
	assert_non_null(strstr(text, "Reply-To: Ticket 7 <support+7.abc@help.example.com>\n"));
	/* two addresses, or none usable: the configured From, no Reply-To */
	DkNotification bad = {
	    .subject = "s", .text = "t", .from = "a@b, c@d", .reply_to = "not an address"};
	g_autofree char *text2 = build(f, &bad, &h, NULL);
	assert_non_null(strstr(text2, "From: Support <support@help.example.com>\n"));
	assert_null(strstr(text2, "Reply-To:"));
}

static void test_unusable_recipient(void **state)
{
	Fixture *f = *state;
	DkNotification n = {.subject = "s", .text = "t"};
	DkMailHeaders h = {.to = "a@b\r\nBcc: c@d", .date = 1};
	g_autoptr(GError) error = NULL;
	assert_null(dk_notify_build_message(f->settings, &n, &h, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
}

static gint64 add_row(Fixture *f, const char *kind, const char *target, gint64 now)
{
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(f->store, &error));
	gint64 ticket = dk_store_ticket_create(f->store, "s", target, now, &error);
	gint64 id = 0;
	assert_true(dk_store_outbox_add(f->store, kind, target, ticket, "{}", now, &id, &error));
	assert_true(dk_store_commit(f->store, &error));
	assert_true(id > 0);
	return id;
}

static void test_verp_round_trip(void **state)
{
	Fixture *f = *state;
	gint64 id = add_row(f, "ack", "ann@example.org", 1000);
	g_autofree char *bounce = dk_notify_bounce_address(f->settings, id);
	g_autofree char *prefix = g_strdup_printf("bounces+%" G_GINT64_FORMAT ".", id);
	assert_true(g_str_has_prefix(bounce, prefix));
	assert_true(g_str_has_suffix(bounce, "@help.example.com"));
	gint64 outbox = 0, ticket = 0;
	g_autofree char *address = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *upper = g_ascii_strup(bounce, -1);
	assert_true(dk_notify_bounce_lookup(f->store, f->settings, upper, &outbox, &ticket,
	                                    &address, &error));
	assert_int_equal(outbox, id);
	assert_int_equal(ticket, 1);
	assert_string_equal(address, "ann@example.org");
	/* a forged MAC, another number, another domain, no token: not ours */
	g_autofree char *forged = g_strdup(bounce);
	char *at = strrchr(forged, '@');
	at[-1] = at[-1] == '0' ? '1' : '0';
	g_autofree char *other =
	    g_strdup_printf("bounces+%" G_GINT64_FORMAT "%s", id + 1, strchr(bounce, '.'));
	g_autofree char *elsewhere = g_strdup(bounce);
	strcpy(strrchr(elsewhere, '@'), "@evil.example");
	const char *nots[] = {forged,
	                      other,
	                      elsewhere,
	                      "bounces@help.example.com",
	                      "bounces+@help.example.com",
	                      "bounces+1@help.example.com",
	                      "x",
	                      NULL};
	for (guint i = 0; nots[i] != NULL; i++) {
		assert_false(dk_notify_bounce_lookup(f->store, f->settings, nots[i], NULL, NULL,
		                                     NULL, &error));
		assert_null(error);
	}
	/* a valid address for a row that is gone */
	g_autofree char *gone = dk_notify_bounce_address(f->settings, 999);
	assert_false(
	    dk_notify_bounce_lookup(f->store, f->settings, gone, NULL, NULL, NULL, &error));
	assert_null(error);
}

static const char *refusal(Fixture *f, const char *address, gint64 now)
{
	const char *const own[] = {"helpdesk@example.org", NULL};
	const char *reason = NULL;
	g_autoptr(GError) error = NULL;
	gboolean ok =
	    dk_notify_may_send(f->store, f->config, NULL, own, address, now, &reason, &error);
	assert_null(error);
	assert_true(ok == (reason == NULL));
	return reason;
}

static void test_may_send(void **state)
{
	Fixture *f = *state;
	assert_null(refusal(f, "ann@example.org", 10000));
	assert_string_equal(refusal(f, "support@help.example.com", 10000), "own address");
	assert_string_equal(refusal(f, "support+12.abc@help.example.com", 10000), "own address");
	assert_string_equal(refusal(f, "IT@help.example.com", 10000), "own address");
	assert_string_equal(refusal(f, "helpdesk@example.org", 10000), "own address");
	assert_string_equal(refusal(f, "MAILER-DAEMON@example.org", 10000), "system address");
	assert_string_equal(refusal(f, "owner-list@example.org", 10000), "system address");
	assert_string_equal(refusal(f, "a b@c", 10000), "unusable address");
	/* rate_per_hour = 2: relays do not count, an hour later counts anew */
	add_row(f, "ack", "Ann@Example.org", 10000);
	add_row(f, "relay", "ann@example.org", 10000);
	assert_null(refusal(f, "ann@example.org", 10000));
	add_row(f, "notice", "ann@example.org", 10100);
	assert_string_equal(refusal(f, "ann@example.org", 10200), "rate limit");
	assert_null(refusal(f, "ann@example.org", 10000 + 3601));
	/* bouncing (the default 30 days), said before the hourly limit, in
	 * the same statement as it (dk_store_outbox_standing()) */
	assert_true(dk_store_bouncing_mark(f->store, "Ann@Example.org", "5.1.1", 10150, NULL));
	assert_string_equal(refusal(f, "ann@example.org", 10200), "bouncing");
	assert_string_equal(refusal(f, "ANN@example.org", 10000 + 3601), "bouncing");
	assert_null(refusal(f, "ann@example.org", 10150 + 30 * 86400 + 1));
	assert_null(refusal(f, "bob@example.org", 10200));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address_ok),
	    cmocka_unit_test_setup_teardown(test_build_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_injection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_template_from_and_reply_to, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unusable_recipient, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verp_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_may_send, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
