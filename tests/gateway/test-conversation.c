/* Tests of the conversation with the customer (desk/conversation.c) and
 * of the staff (desk/staff.c): who a reply goes to, per queue, file
 * limits, what replies do to the status, who hears of a customer's
 * answer, participants added and removed; and the store's numbering of
 * live and history tickets and its attachments. */
#include "dk-test-store.h"
#include "gateway/error.h"
#include "gateway/desk/desk.h"
#include "gateway/store/store-attachments.h"
#include "gateway/store/store-outbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
	DkTestStore *fixture;
	DkConfig *config;
	DkConversation *conversation;
} Fixture;

static const char conf[] =
    "[lmtp]\nrecipients = support@example.com, *@help.example.com\n"
    "[threading]\nreply_address = reply@example.com\n"
    "[agents]\naddresses = bob@example.com\ndomains = agents.example\n"
    "[notify]\nfrom = docket@example.com\nteam_addresses = team@example.com, lead@example.com\n"
    "attachment_max_size = 100\nattachment_max_total = 150\n"
    "[queue:billing]\ncopy_participants = false\n"
    "[imap:box]\nhost = imap.example.net\nuser = Inbox@Example.net\npassword = x\n";

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->fixture = dk_test_store_new();
	f->config = dk_config_load_data(conf, sizeof conf - 1, "test.conf", NULL);
	assert_non_null(f->config);
	f->conversation = dk_conversation_new(f->config);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_conversation_free(f->conversation);
	dk_config_free(f->config);
	dk_test_store_free(f->fixture);
	g_free(f);
	return 0;
}

static DkStore *store_of(void **state)
{
	return ((Fixture *)*state)->fixture->store;
}

/* A new ticket of alice with participants cc (NULL-terminated). */
static gint64 ticket_with(DkStore *s, const char *const *cc)
{
	assert_true(dk_store_begin(s, NULL));
	gint64 n = dk_store_ticket_create(s, "Printer", "alice@example.org", 1000, NULL);
	assert_true(n > 0);
	assert_true(dk_store_participant_add(s, n, "alice@example.org", DK_ROLE_REQUESTER, NULL));
	for (guint i = 0; cc != NULL && cc[i] != NULL; i++)
		assert_true(dk_store_participant_add(s, n, cc[i], DK_ROLE_CC, NULL));
	assert_true(dk_store_commit(s, NULL));
	return n;
}

static char *recipients_of(Fixture *f, gint64 n)
{
	DkStore *s = f->fixture->store;
	g_autoptr(DkTicket) t = dk_store_ticket_get(s, n, NULL);
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	assert_true(dk_conversation_recipients(f->conversation, s, t, out, NULL));
	g_ptr_array_add(out, NULL);
	return g_strjoinv(",", (char **)out->pdata);
}

static void test_staff(void **state)
{
	const DkStaff *staff = dk_conversation_staff(((Fixture *)*state)->conversation);
	const char *const own[] = {"support@example.com", "SUPPORT+12.abc@example.com",
	                           "x@help.example.com",  "reply@example.com",
	                           "docket@example.com",  "inbox@example.net"};
	for (guint i = 0; i < G_N_ELEMENTS(own); i++)
		assert_true(dk_staff_is_support_address(staff, own[i]));
	assert_false(dk_staff_is_support_address(staff, "alice@example.org"));
	assert_false(dk_staff_is_support_address(staff, "x@sub.help.example.com"));
	assert_true(dk_staff_is_agent(staff, "Bob@Example.com"));
	assert_true(dk_staff_is_agent(staff, "anyone@agents.example"));
	assert_false(dk_staff_is_agent(staff, "alice@example.org"));
	/* where customers write: the mailbox, never docket's own From */
	g_autofree char *a = dk_staff_support_mailbox(staff, "Support+7.ff@Example.com");
	g_autofree char *b = dk_staff_support_mailbox(staff, "sales@help.example.com");
	g_autofree char *c = dk_staff_support_mailbox(staff, "inbox@example.net");
	assert_string_equal(a, "support@example.com");
	assert_string_equal(b, "sales@help.example.com");
	assert_string_equal(c, "inbox@example.net");
	assert_null(dk_staff_support_mailbox(staff, "docket@example.com"));
	assert_null(dk_staff_support_mailbox(staff, "alice@example.org"));
	assert_true(dk_staff_address_ok("a.b+c@example.org"));
	assert_false(dk_staff_address_ok("a b@example.org"));
	assert_false(dk_staff_address_ok("a@b@example.org"));
	assert_false(dk_staff_address_ok("<a@example.org>"));
	assert_false(dk_staff_address_ok("a@example.org\r\nBcc: x@evil.example"));
}

static void test_recipients(void **state)
{
	Fixture *f = *state;
	DkStore *s = store_of(state);
	const char *const cc[] = {"carol@example.org", "bob@example.com", "support@example.com",
	                          NULL};
	gint64 n = ticket_with(s, cc);
	/* the agent and docket's own address are never copied */
	g_autofree char *all = recipients_of(f, n);
	assert_string_equal(all, "alice@example.org,carol@example.org");
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_queue(s, n, "billing", NULL, 1100, NULL));
	assert_true(dk_store_commit(s, NULL));
	g_autofree char *billing = recipients_of(f, n);
	assert_string_equal(billing, "alice@example.org");
	assert_true(dk_conversation_copies(f->conversation, "default"));
	assert_false(dk_conversation_copies(f->conversation, "billing"));
}

static void test_files_fit(void **state)
{
	Fixture *f = *state;
	const char *names[] = {"a.pdf", "b.png"};
	gsize fine[] = {100, 50}, one_big[] = {101, 1}, too_many[] = {100, 51};
	g_autoptr(GError) error = NULL;
	assert_true(dk_conversation_files_fit(f->conversation, names, fine, 2, NULL));
	assert_false(dk_conversation_files_fit(f->conversation, names, one_big, 2, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	assert_non_null(
	    strstr(error->message, "a.pdf is 101 bytes, over [notify] attachment_max_size (100"));
	g_clear_error(&error);
	assert_false(dk_conversation_files_fit(f->conversation, names, too_many, 2, &error));
	assert_non_null(
	    strstr(error->message, "151 bytes together, over [notify] attachment_max_total"));
}

static char *payloads(DkStore *s, const char *kind)
{
	g_autoptr(GPtrArray) rows = dk_store_outbox_list(s, NULL, 0, NULL);
	GString *out = g_string_new(NULL);
	for (guint i = rows->len; i > 0; i--) { /* oldest first */
		const DkOutboxRow *r = g_ptr_array_index(rows, i - 1);
		if (strcmp(r->kind, kind) == 0)
			g_string_append_printf(out, "%s %s\n", r->target, r->payload);
	}
	return g_string_free(out, FALSE);
}

static void test_reply_relays_each_copy_and_waits(void **state)
{
	Fixture *f = *state;
	DkStore *s = store_of(state);
	const char *const cc[] = {"carol@example.org", NULL};
	gint64 n = ticket_with(s, cc);
	g_autoptr(GBytes) data = g_bytes_new_static("%PDF-1.4 x", 10);
	DkReplyFile file = {.filename = "r.pdf", .content_type = "application/pdf", .data = data};
	DkReply reply = {.text = "Done.",
	                 .author = "bob@example.com",
	                 .author_name = "Bob",
	                 .files = &file,
	                 .n_files = 1};
	assert_true(dk_store_begin(s, NULL));
	gint64 article = dk_desk_reply(s, f->conversation, n, &reply, 1200, NULL);
	assert_true(article > 0);
	assert_true(dk_store_commit(s, NULL));
	g_autofree char *relays = payloads(s, "relay");
	g_autofree char *expected = g_strdup_printf(
	    "alice@example.org {\"agent_name\":\"Bob\",\"article\":%" G_GINT64_FORMAT
	    ",\"cc\":[\"carol@example.org\"],"
	    "\"from\":\"bob@example.com\",\"ticket\":%" G_GINT64_FORMAT
	    ",\"to\":\"alice@example.org\"}\n"
	    "carol@example.org {\"agent_name\":\"Bob\",\"article\":%" G_GINT64_FORMAT
	    ",\"cc\":[\"carol@example.org\"],"
	    "\"from\":\"bob@example.com\",\"ticket\":%" G_GINT64_FORMAT
	    ",\"to\":\"alice@example.org\"}\n",
	    article, n, article, n);
	assert_string_equal(relays, expected);
	g_autoptr(DkTicket) t = dk_store_ticket_get(s, n, NULL);
	assert_int_equal(t->status, DK_STATUS_WAITING);
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(dk_stored_attachment_free);
	assert_true(dk_store_article_attachments(s, article, files, NULL));
	assert_int_equal(files->len, 1);
	const DkStoredAttachment *a = g_ptr_array_index(files, 0);
	assert_string_equal(a->filename, "r.pdf");
	g_autoptr(GBytes) back = dk_store_attachment_read(s, a, NULL);
	assert_true(g_bytes_equal(back, data));
	/* files over the limit: nothing written */
	g_autoptr(GBytes) big = g_bytes_new_take(g_malloc0(200), 200);
	DkReplyFile huge = {.filename = "big.bin", .data = big};
	DkReply refused = {.text = "x", .files = &huge, .n_files = 1};
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(s, NULL));
	assert_int_equal(dk_desk_reply(s, f->conversation, n, &refused, 1300, &error), 0);
	dk_store_rollback(s);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	g_autoptr(GPtrArray) articles = dk_store_articles(s, n, NULL);
	assert_int_equal(articles->len, 1);
}

/* Only a new or open ticket waits after a reply; one already delivered to
 * an address gets no relay there. */
static void test_reply_status_and_delivered(void **state)
{
	Fixture *f = *state;
	DkStore *s = store_of(state);
	const char *const cc[] = {"carol@example.org", NULL};
	gint64 n = ticket_with(s, cc);
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_status(s, n, "in_progress", NULL, 1100, NULL));
	g_autoptr(DkTicket) t = dk_store_ticket_get(s, n, NULL);
	const char *reached[] = {"Alice@Example.org", NULL};
	DkReplyOut out = {.article = 0,
	                  .author = "bob@example.com",
	                  .by = "bob@example.com",
	                  .delivered = reached};
	assert_true(dk_conversation_replied(f->conversation, s, t, &out, 1200, NULL));
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(DkTicket) after = dk_store_ticket_get(s, n, NULL);
	assert_int_equal(after->status, DK_STATUS_IN_PROGRESS);
	g_autofree char *relays = payloads(s, "relay");
	assert_true(g_str_has_prefix(relays, "carol@example.org "));
	assert_null(strstr(relays, "\nalice"));
	DkTicketSla sla;
	assert_true(dk_store_ticket_sla_get(s, n, &sla, NULL));
	assert_int_equal(sla.first_response_at, 1200);
}

static void test_customer_reply_notices(void **state)
{
	Fixture *f = *state;
	DkStore *s = store_of(state);
	gint64 unassigned = ticket_with(s, NULL), assigned = ticket_with(s, NULL),
	       fresh = ticket_with(s, NULL);
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_set_status(s, unassigned, "waiting", NULL, 1100, NULL));
	assert_true(dk_desk_assign(s, assigned, "bob@example.com", NULL, 1100, NULL));
	g_autoptr(DkTicket) u = dk_store_ticket_get(s, unassigned, NULL);
	g_autoptr(DkTicket) a = dk_store_ticket_get(s, assigned, NULL);
	assert_true(dk_conversation_customer_replied(f->conversation, s, u, 0, "alice@example.org",
	                                             1200, NULL));
	/* a new unassigned ticket: the team heard of it already */
	g_autoptr(DkTicket) n = dk_store_ticket_get(s, fresh, NULL);
	assert_true(dk_conversation_customer_replied(f->conversation, s, n, 0, "alice@example.org",
	                                             1200, NULL));
	assert_true(dk_conversation_customer_replied(f->conversation, s, a, 0, "alice@example.org",
	                                             1200, NULL));
	/* the assignee writing from outside is no news to the assignee */
	assert_true(dk_conversation_customer_replied(f->conversation, s, a, 0, "BOB@example.com",
	                                             1300, NULL));
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(DkTicket) reopened = dk_store_ticket_get(s, unassigned, NULL);
	assert_int_equal(reopened->status, DK_STATUS_OPEN);
	g_autofree char *notices = payloads(s, "notice");
	g_autofree char *expected = g_strdup_printf(
	    "team@example.com "
	    "{\"article\":0,\"template\":\"assignee-reply\",\"to\":\"team@example.com\"}\n"
	    "lead@example.com "
	    "{\"article\":0,\"template\":\"assignee-reply\",\"to\":\"lead@example.com\"}\n"
	    "bob@example.com "
	    "{\"agent_address\":\"bob@example.com\",\"article\":0,\"template\":\"assignee-reply\","
	    "\"to\":\"bob@example.com\"}\n");
	assert_string_equal(notices, expected);
}

static void test_participants(void **state)
{
	Fixture *f = *state;
	DkStore *s = store_of(state);
	gint64 n = ticket_with(s, NULL);
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_conversation_participant_add(f->conversation, s, n, "Dave@Example.org",
	                                            "cli", 1100, NULL));
	assert_true(dk_conversation_participant_add(f->conversation, s, n, "dave@example.org",
	                                            "cli", 1100, NULL));
	const char *refused[] = {"support+1.x@example.com", "bob@example.com", "x y@example.org",
	                         ""};
	for (guint i = 0; i < G_N_ELEMENTS(refused); i++) {
		assert_false(dk_conversation_participant_add(f->conversation, s, n, refused[i],
		                                             "cli", 1100, &error));
		assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
		g_clear_error(&error);
	}
	assert_false(dk_conversation_participant_remove(f->conversation, s, n, "alice@example.org",
	                                                "cli", 1200, &error));
	assert_non_null(strstr(error->message, "the requester stays"));
	g_clear_error(&error);
	assert_true(dk_conversation_participant_remove(f->conversation, s, n, "DAVE@example.org",
	                                               "cli", 1200, NULL));
	assert_false(dk_conversation_participant_remove(f->conversation, s, n, "dave@example.org",
	                                                "cli", 1200, &error));
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(GPtrArray) events = dk_store_events(s, n, NULL);
	assert_int_equal(events->len, 2);
	const DkEvent *added = g_ptr_array_index(events, 0),
	              *removed = g_ptr_array_index(events, 1);
	assert_string_equal(added->type, "participant_added");
	assert_string_equal(added->detail, "{\"address\":\"dave@example.org\",\"by\":\"cli\"}");
	assert_string_equal(removed->type, "participant_removed");
}

/* Live tickets number after the highest live one, past history's numbers;
 * history takes a kept number where it is free, else after the highest
 * at or above its start. */
static void test_numbering(void **state)
{
	DkStore *s = store_of(state);
	assert_true(dk_store_begin(s, NULL));
	assert_int_equal(dk_store_ticket_create(s, "live", NULL, 1, NULL), 1);
	assert_int_equal(dk_store_ticket_create_history(s, "h", NULL, 0, 0, 1, NULL), 2);
	assert_int_equal(dk_store_ticket_create_history(s, "h", NULL, 3, 0, 1, NULL), 3);
	assert_int_equal(dk_store_ticket_create_history(s, "h", NULL, 1, 0, 1, NULL),
	                 4); /* 1 is taken */
	assert_int_equal(dk_store_ticket_create_history(s, "h", NULL, 0, 100, 1, NULL), 100);
	assert_int_equal(dk_store_ticket_create_history(s, "h", NULL, 0, 100, 1, NULL), 101);
	assert_int_equal(dk_store_ticket_create_history(s, "h", NULL, 50, 100, 1, NULL), 50);
	/* live goes on after 1, past the run 2..4 */
	assert_int_equal(dk_store_ticket_create(s, "live", NULL, 1, NULL), 5);
	assert_int_equal(dk_store_ticket_create(s, "live", NULL, 1, NULL), 6);
	g_autoptr(DkTicket) h = dk_store_ticket_get(s, 100, NULL);
	assert_int_equal(h->status, DK_STATUS_CLOSED);
	assert_true(dk_store_ticket_history_span(s, 100, 0, NULL));
	assert_true(dk_store_ticket_history_span(s, 100, 9, NULL));
	assert_true(dk_store_ticket_history_span(s, 6, 9, NULL)); /* a live ticket: unchanged */
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(DkTicket) spanned = dk_store_ticket_get(s, 100, NULL);
	assert_int_equal(spanned->created_at, 0);
	assert_int_equal(spanned->updated_at, 9);
	assert_int_equal(spanned->closed_at, 9);
	g_autoptr(DkTicket) live = dk_store_ticket_get(s, 6, NULL);
	assert_int_equal(live->updated_at, 1);
	gboolean history = FALSE;
	assert_true(dk_store_ticket_is_history(s, 101, &history, NULL));
	assert_true(history);
	assert_true(dk_store_ticket_is_history(s, 6, &history, NULL));
	assert_false(history);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_staff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recipients, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files_fit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_relays_each_copy_and_waits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_status_and_delivered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_customer_reply_notices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_participants, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_numbering, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
