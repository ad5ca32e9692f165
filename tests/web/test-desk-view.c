/* Tests of the web desk's pages rendered from store rows (gateway/web/
 * desk-pages.c, desk-view*.c): every page parses; the list shows the SLA
 * column and escapes what mail wrote; a search marks its hits; the ticket
 * page shows each article's direction, visibility, threading evidence and
 * attachments; the quarantine names each message by its From and
 * Subject; the outbox names the files a reply carries; filters that name
 * nothing are refused. */
#include "dk-test-store.h"
#include "gateway/desk/desk.h"
#include "gateway/error.h"
#include "gateway/web/desk-pages.h"
#include "gateway/web/desk-view.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#define NOW 1765000000

typedef struct {
	DkTestStore *store;
	DkDeskPages *pages;
	DkConversation *conversation;
	gint64 ticket;
} Fixture;

/* A ticket whose subject and text try to become markup. */
static gint64 hostile_ticket(DkStore *s)
{
	const char *subject = "Printer <script>alert(1)</script> on fire";
	assert_true(dk_store_begin(s, NULL));
	gint64 n = dk_store_ticket_create(s, subject, "alice@example.com", NOW - 3600, NULL);
	DkArticle a = {.ticket = n,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .sender = "alice@example.com",
	               .recipients = "support@example.com",
	               .subject = (char *)subject,
	               .message_id = "m1@example.com",
	               .new_text = "The tray says <b>jammed</b> & smokes.",
	               .full_text = "The tray says <b>jammed</b> & smokes.",
	               .created_at = NOW - 3600};
	assert_true(dk_store_article_add(s, &a, NULL) > 0);
	assert_true(dk_store_message_id_add(s, "m1@example.com", n, a.id, NULL));
	assert_true(dk_store_participant_add(s, n, "alice@example.com", DK_ROLE_REQUESTER, NULL));
	assert_true(dk_store_ticket_set(s, n, DK_TICKET_PRIORITY, "high", NOW - 3600, NULL));
	assert_true(dk_store_commit(s, NULL));
	return n;
}

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->store = dk_test_store_new();
	g_autoptr(GError) error = NULL;
	f->pages = dk_desk_pages_new(&error);
	assert_null(error);
	f->conversation = dk_conversation_new(f->store->config);
	f->ticket = hostile_ticket(f->store->store);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_conversation_free(f->conversation);
	dk_desk_pages_free(f->pages);
	dk_test_store_free(f->store);
	g_free(f);
	return 0;
}

static char *render(Fixture *f, const char *page, json_t *data)
{
	assert_non_null(data);
	json_object_set_new(data, "base", json_string("/desk"));
	json_object_set_new(data, "csrf", json_string("CSRF-TOKEN"));
	json_object_set_new(data, "can_write", json_true());
	json_object_set_new(data, "user", json_pack("{ss ss}", "name", "Ann", "role", "agent"));
	g_autoptr(GError) error = NULL;
	char *html = dk_desk_pages_render(f->pages, page, data, &error);
	json_decref(data);
	assert_null(error);
	assert_non_null(html);
	return html;
}

/* A public reply with one file, as the desk's form sends it. */
static void reply_with_file(Fixture *f)
{
	DkStore *s = f->store->store;
	g_autoptr(GBytes) bytes = g_bytes_new_static("%PDF-1.4 test", 13);
	DkReplyFile file = {
	    .filename = "invoice.pdf", .content_type = "application/pdf", .data = bytes};
	DkReply reply = {.text = "Here is the invoice.",
	                 .author = "ann@example.com",
	                 .files = &file,
	                 .n_files = 1};
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_desk_reply(s, f->conversation, f->ticket, &reply, NOW, NULL) > 0);
	assert_true(dk_store_commit(s, NULL));
}

static void test_every_page_parses_and_assets_serve(void **state)
{
	(void)state;
	const char *type = NULL;
	assert_non_null(dk_desk_pages_static("desk.css", &type));
	assert_string_equal(type, "text/css; charset=utf-8");
	assert_non_null(dk_desk_pages_static("desk.js", &type));
	assert_null(dk_desk_pages_static("layout.html", &type));
	assert_null(dk_desk_pages_static("../docket.db", &type));
}

static void test_list_escapes_and_shows_sla(void **state)
{
	Fixture *f = *state;
	DkDeskFilters filters = {0};
	g_autoptr(GError) error = NULL;
	json_t *data = dk_desk_view_list(f->store->store, &filters, NOW, &error);
	g_autofree char *html = render(f, "list.html", data);
	assert_null(strstr(html, "<script>alert"));
	assert_non_null(strstr(html, "Printer &lt;script&gt;alert(1)&lt;/script&gt; on fire"));
	/* high: first response within 1h of business time; the SLA column */
	assert_non_null(strstr(html, "class=\"sla sla-"));
	assert_non_null(strstr(html, "href=\"/desk/tickets/1\""));
	assert_non_null(strstr(html, "<option value=\"working\" selected>"));
}

static void test_list_filters(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	DkDeskFilters closed = {.status = "closed"};
	json_t *data = dk_desk_view_list(f->store->store, &closed, NOW, &error);
	g_autofree char *html = render(f, "list.html", data);
	assert_null(strstr(html, "Printer"));
	assert_non_null(strstr(html, "No ticket matches these filters."));
	DkDeskFilters bad = {.status = "lost"};
	assert_null(dk_desk_view_list(f->store->store, &bad, NOW, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
}

static void test_search_marks_hits(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	json_t *data = dk_desk_view_search(f->store->store, "jammed", &error);
	g_autofree char *html = render(f, "list.html", data);
	assert_non_null(strstr(html, "<mark>jammed</mark>"));
	assert_non_null(strstr(html, "href=\"/desk/tickets/1\""));
	/* what the search index would read as its syntax is text */
	const char *odd[] = {"\"", "AND", "a*", "NEAR(", "-x", "'; DROP", "col:x"};
	for (guint i = 0; i < G_N_ELEMENTS(odd); i++) {
		json_t *page = dk_desk_view_search(f->store->store, odd[i], &error);
		assert_null(error);
		g_autofree char *text = render(f, "list.html", page);
		assert_non_null(strstr(text, "<h1>Search"));
	}
	json_t *none = dk_desk_view_search(f->store->store, "zebra", &error);
	g_autofree char *empty = render(f, "list.html", none);
	assert_non_null(strstr(empty, "No ticket matches."));
}

static void test_ticket_page_shows_articles(void **state)
{
	Fixture *f = *state;
	reply_with_file(f);
	g_autoptr(GError) error = NULL;
	json_t *data = dk_desk_view_ticket(f->store->store, f->store->config, f->conversation,
	                                   f->ticket, NOW, &error);
	g_autofree char *html = render(f, "ticket.html", data);
	assert_non_null(strstr(html, "class=\"article inbound public\""));
	assert_non_null(strstr(html, "class=\"article outbound public\""));
	assert_non_null(strstr(html, "opened the ticket"));
	assert_non_null(strstr(html, "written at the desk"));
	assert_non_null(strstr(html, "&lt;m1@example.com&gt;"));
	assert_non_null(strstr(html, "The tray says &lt;b&gt;jammed&lt;/b&gt; &amp; smokes."));
	assert_non_null(strstr(html, ">invoice.pdf</a>"));
	assert_non_null(strstr(html, "name=\"csrf\" value=\"CSRF-TOKEN\""));
	/* a reply moved it to waiting; new is not offered again */
	assert_non_null(strstr(html, "<option value=\"waiting\" selected>"));
	assert_null(strstr(html, "<option value=\"new\""));
	assert_non_null(strstr(html, "<span>alice@example.com</span>"));
	assert_null(dk_desk_view_ticket(f->store->store, f->store->config, f->conversation, 99, NOW,
	                                &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
}

static void test_outbox_names_files(void **state)
{
	Fixture *f = *state;
	reply_with_file(f);
	g_autoptr(GError) error = NULL;
	json_t *data = dk_desk_view_outbox(f->store->store, NULL, &error);
	g_autofree char *html = render(f, "outbox.html", data);
	assert_non_null(strstr(html, "alice@example.com"));
	assert_non_null(strstr(html, "<span class=\"files\">invoice.pdf</span>"));
	assert_non_null(strstr(html, "/desk/outbox/"));
	assert_null(dk_desk_view_outbox(f->store->store, "lost", &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
}

static void test_quarantine_page(void **state)
{
	Fixture *f = *state;
	DkStore *s = f->store->store;
	static const char text[] = "From: =?utf-8?q?M=C3=BCller?= <m@example.net>\r\n"
	                           "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n folded\r\n"
	                           "To: support@example.com\r\n\r\nSubject: not this\r\n";
	g_autoptr(GBytes) raw = g_bytes_new_static(text, sizeof text - 1);
	char sha[65];
	DkQuarantined q = {.kind = "held",
	                   .reason = "over <limits>",
	                   .intake = "lmtp",
	                   .envelope_from = "spam@example.net",
	                   .size = 21,
	                   .received_at = NOW};
	assert_true(dk_store_begin(s, NULL));
	assert_true(dk_store_raw_put(s, raw, NOW, sha, NULL));
	q.raw_sha256 = sha;
	gint64 id = 0;
	assert_true(dk_store_quarantine_add(s, &q, &id, NULL));
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(GError) error = NULL;
	g_autofree char *html = render(f, "quarantine.html", dk_desk_view_quarantine(s, &error));
	assert_non_null(strstr(html, "over &lt;limits&gt;"));
	assert_non_null(strstr(html, "held: 1"));
	assert_non_null(strstr(html, "Grüße folded"));
	assert_non_null(strstr(html, "Müller &lt;m@example.net&gt;"));
	assert_non_null(strstr(html, "/reprocess"));
	g_autofree char *one =
	    render(f, "quarantined.html", dk_desk_view_quarantined(s, id, &error));
	assert_non_null(strstr(one, "To: support@example.com\r\n\r\nSubject: not this"));
	assert_non_null(strstr(one, "<h1><span class=\"number\">#1</span> Grüße folded</h1>"));
	assert_null(dk_desk_view_quarantined(s, 99, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_page_parses_and_assets_serve, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_list_escapes_and_shows_sla, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_marks_hits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ticket_page_shows_articles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outbox_names_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quarantine_page, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
