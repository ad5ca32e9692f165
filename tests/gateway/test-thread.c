/* Tests of threading at the store level: MAC'd Message-IDs after a
 * restore, signed reply addresses, the follow-up policy, the reopen
 * window's edges, auto-replies and bounces (classification set by hand),
 * agents, foreign numbers, and a batch whose messages see each other. */
#include "dk-test-store.h"
#include "dk-test.h"
#include "parsers/classify.h"
#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/core/pipeline.h"
#include "gateway/outbox/effects.h"
#include "gateway/core/thread.h"
#include "gateway/core/writer.h"
#include "gateway/store/store-outbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#define SECRET "unit-test-secret-0123456789abcdef"
#define T0 1795000000
#define DAY 86400

typedef struct {
	char *dir;
	DkConfig *config;
	DkStore *store;
	DkPipeline *pipeline;
	GBytes *secret;
} Fixture;

static Fixture *fixture_new(const char *extra)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = dk_test_tmpdir();
	g_autofree char *path = g_build_filename(f->dir, "docket.conf", NULL);
	g_autofree char *text =
	    g_strdup_printf("[store]\ndata_dir = %s\n[threading]\nsecret = " SECRET "\n"
	                    "reply_addresses = true\nreply_address = help@example.com\n%s",
	                    f->dir, extra ? extra : "");
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_autoptr(GError) error = NULL;
	f->config = dk_config_load(path, &error);
	g_assert_no_error(error);
	f->store = dk_test_store_open(f->dir, NULL, &error);
	g_assert_no_error(error);
	f->pipeline = dk_pipeline_new(f->config, f->store, &dk_outbox_effects);
	f->secret = g_bytes_new(SECRET, strlen(SECRET));
	return f;
}

static void fixture_free(Fixture *f)
{
	dk_pipeline_free(f->pipeline);
	dk_store_close(f->store);
	dk_config_free(f->config);
	g_bytes_unref(f->secret);
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
}

/* A prepared item for text; the caller may change its message first. */
static DkPipelineItem *prepare(Fixture *f, const char *text, gint64 at, const char *recipient)
{
	g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
	const char *recipients[] = {recipient, NULL};
	DkIntake intake = {
	    .intake = "test", .received_at = at, .recipients = recipient ? recipients : NULL};
	g_autoptr(GError) error = NULL;
	DkPipelineItem *item = dk_pipeline_prepare(f->pipeline, raw, &intake, &error);
	g_assert_no_error(error);
	return item;
}

/* Commits item; returns its result (the item's error, if any, into error). */
static DkDelivery commit(Fixture *f, DkPipelineItem *item, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_assert_true(dk_pipeline_commit(f->pipeline, &item, 1, &local));
	if (dk_pipeline_item_error(item) != NULL)
		g_propagate_error(error, dk_pipeline_item_steal_error(item));
	DkDelivery out;
	dk_pipeline_item_steal_result(item, &out);
	return out;
}

static DkDelivery put(Fixture *f, const char *text, gint64 at)
{
	g_autoptr(DkPipelineItem) item = prepare(f, text, at, NULL);
	g_autoptr(GError) error = NULL;
	DkDelivery d = commit(f, item, &error);
	g_assert_no_error(error);
	return d;
}

static char *mail(const char *from, const char *subject, const char *id, const char *headers,
                  const char *body)
{
	return g_strdup_printf(
	    "From: %s\nTo: help@example.com\nSubject: %s\nMessage-ID: <%s>\n%s\n%s\n", from,
	    subject, id, headers ? headers : "", body ? body : "Hello.");
}

/* The event types of ticket, comma-separated. */
static char *event_types(Fixture *f, gint64 ticket)
{
	g_autoptr(GPtrArray) events = dk_store_events(f->store, ticket, NULL);
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < events->len; i++)
		g_string_append_printf(out, "%s%s", i ? "," : "",
		                       ((DkEvent *)g_ptr_array_index(events, i))->type);
	return g_string_free(out, FALSE);
}

static DkArticle *last_article(Fixture *f, gint64 ticket)
{
	g_autoptr(GPtrArray) articles = dk_store_articles(f->store, ticket, NULL);
	return g_ptr_array_steal_index(articles, articles->len - 1);
}

static gint64 open_ticket(Fixture *f)
{
	g_autofree char *m = mail("Dana <dana@customer.example>", "Printer",
	                          "orig@customer.example", "Cc: bob@customer.example\n", NULL);
	DkDelivery d = put(f, m, T0);
	assert_int_equal(d.outcome, DK_OUTCOME_CREATED);
	dk_delivery_clear(&d);
	return d.ticket;
}

static void test_mac_message_id(void **state)
{
	Fixture *f = fixture_new(NULL);
	gint64 t = open_ticket(f);
	g_autofree char *ours = dk_ids_message_id(f->secret, t, "example.com");
	g_autofree char *h1 = g_strdup_printf("References: <x@elsewhere> <%s>\n", ours);
	g_autofree char *m1 =
	    mail("dana@customer.example", "Re: Printer", "r1@customer.example", h1, NULL);
	DkDelivery d = put(f, m1, T0 + 1);
	assert_int_equal(d.ticket, t);
	assert_string_equal(d.evidence, "header");
	dk_delivery_clear(&d);
	/* Another secret's MAC, and a valid MAC for a ticket that does not exist. */
	g_autoptr(GBytes) other = g_bytes_new("another-secret-of-enough-length", 31);
	g_autofree char *theirs = dk_ids_message_id(other, t, "example.com");
	g_autofree char *missing = dk_ids_message_id(f->secret, 999, "example.com");
	const char *ids[] = {theirs, missing};
	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		g_autofree char *h = g_strdup_printf("In-Reply-To: <%s>\n", ids[i]);
		g_autofree char *id = g_strdup_printf("r%u-bad@customer.example", i);
		g_autofree char *m = mail("dana@customer.example", "Re: Printer", id, h, NULL);
		DkDelivery bad = put(f, m, T0 + 2);
		assert_int_equal(bad.outcome, DK_OUTCOME_CREATED);
		assert_string_equal(bad.evidence, "new");
		dk_delivery_clear(&bad);
	}
	fixture_free(f);
}

static void test_reply_address(void **state)
{
	Fixture *f = fixture_new(NULL);
	gint64 t = open_ticket(f);
	g_autofree char *address = dk_ids_reply_address(f->secret, "help@example.com", t);
	g_autofree char *m =
	    mail("someone@else.example", "Re: Printer", "ra@else.example", NULL, NULL);
	g_autoptr(DkPipelineItem) item = prepare(f, m, T0 + 1, address);
	DkDelivery d = commit(f, item, NULL);
	assert_int_equal(d.ticket, t);
	assert_string_equal(d.evidence, "reply-address");
	dk_delivery_clear(&d);
	/* Forged: the right shape, a wrong MAC. */
	g_autofree char *forged =
	    g_strdup_printf("help+%" G_GINT64_FORMAT ".aaaaaaaaaa@example.com", t);
	g_autofree char *m2 =
	    mail("someone@else.example", "Re: Printer", "ra2@else.example", NULL, NULL);
	g_autoptr(DkPipelineItem) item2 = prepare(f, m2, T0 + 2, forged);
	DkDelivery d2 = commit(f, item2, NULL);
	assert_int_equal(d2.outcome, DK_OUTCOME_CREATED);
	g_autofree char *types = event_types(f, d2.ticket);
	assert_string_equal(types, "created,forged_reply_address");
	dk_delivery_clear(&d2);
	fixture_free(f);
}

static void test_reply_address_disabled(void **state)
{
	Fixture *f = fixture_new("[agents]\n");
	g_autoptr(GError) error = NULL;
	/* Same store, a pipeline with reply addresses off. */
	g_autofree char *path = g_build_filename(f->dir, "off.conf", NULL);
	g_autofree char *text =
	    g_strdup_printf("[store]\ndata_dir = %s\n[threading]\nsecret = " SECRET "\n", f->dir);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_autoptr(DkConfig) off = dk_config_load(path, &error);
	g_assert_no_error(error);
	gint64 t = open_ticket(f);
	dk_pipeline_free(f->pipeline);
	f->pipeline = dk_pipeline_new(off, f->store, &dk_outbox_effects);
	g_autofree char *address = dk_ids_reply_address(f->secret, "help@example.com", t);
	g_autofree char *m =
	    mail("someone@else.example", "Re: Printer", "off@else.example", NULL, NULL);
	g_autoptr(DkPipelineItem) item = prepare(f, m, T0 + 1, address);
	DkDelivery d = commit(f, item, NULL);
	assert_int_equal(d.outcome, DK_OUTCOME_CREATED);
	dk_delivery_clear(&d);
	dk_pipeline_free(f->pipeline);
	f->pipeline = dk_pipeline_new(f->config, f->store, &dk_outbox_effects);
	fixture_free(f);
}

static void test_follow_up_policies(void **state)
{
	static const char *const policies[] = {"accept", "new_ticket", "reject"};
	for (guint p = 0; p < G_N_ELEMENTS(policies); p++) {
		g_autofree char *extra = g_strdup_printf("follow_up = %s\n", policies[p]);
		Fixture *f = fixture_new(extra);
		gint64 t = open_ticket(f);
		g_autofree char *m = mail("mallory@evil.example", "Re: [docket #1] Printer",
		                          "s@evil.example", NULL, NULL);
		g_autoptr(DkPipelineItem) item = prepare(f, m, T0 + 1, NULL);
		g_autoptr(GError) error = NULL;
		DkDelivery d = commit(f, item, &error);
		if (p == 0) {
			assert_int_equal(d.ticket, t);
			assert_string_equal(d.evidence, "token");
		} else if (p == 1) {
			assert_int_equal(d.outcome, DK_OUTCOME_CREATED);
			g_autoptr(GPtrArray) links = dk_store_links(f->store, t, NULL);
			assert_int_equal(links->len, 1);
			g_autofree char *want =
			    g_strdup_printf("%" G_GINT64_FORMAT " follow_up", d.ticket);
			const DkLink *link = g_ptr_array_index(links, 0);
			g_autofree char *got =
			    g_strdup_printf("%" G_GINT64_FORMAT " %s", link->ticket, link->reason);
			assert_string_equal(got, want);
		} else {
			assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
			assert_false(dk_error_is_temporary(error));
			g_autoptr(GPtrArray) all = dk_store_ticket_list(f->store, NULL, 0, NULL);
			assert_int_equal(all->len, 1);
		}
		/* The requester and a Cc of an earlier article are participants. */
		g_autofree char *m2 = mail("bob@customer.example", "AW: [docket #1] Printer",
		                           "bob@customer.example", NULL, NULL);
		DkDelivery d2 = put(f, m2, T0 + 2);
		assert_int_equal(d2.ticket, t);
		dk_delivery_clear(&d2);
		dk_delivery_clear(&d);
		fixture_free(f);
	}
}

static void close_ticket(Fixture *f, gint64 t, gint64 at)
{
	assert_true(dk_store_begin(f->store, NULL));
	assert_true(dk_store_ticket_set_status(f->store, t, DK_STATUS_CLOSED, at, NULL));
	assert_true(dk_store_commit(f->store, NULL));
}

static void test_reopen_window_edges(void **state)
{
	Fixture *f = fixture_new("reopen_days = 14\n");
	gint64 t = open_ticket(f);
	close_ticket(f, t, T0 + DAY);
	g_autoptr(DkTicket) closed = dk_store_ticket_get(f->store, t, NULL);
	assert_int_equal(closed->closed_at, T0 + DAY);
	/* Exactly 14 days after closing: reopens. */
	g_autofree char *m1 = mail("dana@customer.example", "Re: [docket #1] Printer",
	                           "w1@customer.example", NULL, NULL);
	DkDelivery d1 = put(f, m1, T0 + 15 * DAY);
	assert_int_equal(d1.ticket, t);
	g_autoptr(DkTicket) open = dk_store_ticket_get(f->store, t, NULL);
	assert_string_equal(dk_ticket_status_name(open->status), "open");
	assert_int_equal(open->closed_at, 0);
	/* Closed again; one second past the window: a new linked ticket. */
	close_ticket(f, t, T0 + 16 * DAY);
	g_autofree char *m2 = mail("dana@customer.example", "Re: [docket #1] Printer",
	                           "w2@customer.example", NULL, NULL);
	DkDelivery d2 = put(f, m2, T0 + 30 * DAY + 1);
	assert_int_equal(d2.outcome, DK_OUTCOME_CREATED);
	assert_int_not_equal(d2.ticket, t);
	g_autofree char *types = event_types(f, t);
	assert_string_equal(types, "created,comment,status_change,linked");
	dk_delivery_clear(&d1);
	dk_delivery_clear(&d2);
	fixture_free(f);
}

/* Neither an auto-reply nor an agent's mail reopens a closed ticket. */
static void test_closed_stays_closed(void **state)
{
	Fixture *f = fixture_new(
	    "[agents]\naddresses = alex@helpdesk.example\nauthserv_id = mx.example.com\n");
	gint64 t = open_ticket(f);
	close_ticket(f, t, T0 + DAY);
	g_autofree char *ooo = mail("dana@customer.example", "Out of office: [docket #1] Printer",
	                            "c1@customer.example", NULL, "Away.");
	g_autoptr(DkPipelineItem) item = prepare(f, ooo, T0 + 2 * DAY, NULL);
	dk_pipeline_item_message(item)->classification.auto_reply = TRUE;
	DkDelivery d1 = commit(f, item, NULL);
	assert_int_equal(d1.ticket, t);
	g_autofree char *agent =
	    mail("alex@helpdesk.example", "Re: [docket #1] Printer", "c2@helpdesk.example",
	         "Authentication-Results: mx.example.com; dkim=pass header.d=helpdesk.example\n",
	         "One more note.");
	DkDelivery d2 = put(f, agent, T0 + 40 * DAY);
	assert_int_equal(d2.ticket, t);
	g_autoptr(DkTicket) ticket = dk_store_ticket_get(f->store, t, NULL);
	assert_string_equal(dk_ticket_status_name(ticket->status), "closed");
	assert_int_equal(ticket->closed_at, T0 + DAY);
	g_autofree char *types = event_types(f, t);
	/* relayed to Dana and to Bob, whom she copied */
	assert_string_equal(
	    types, "created,auto_reply,comment,outbound_relay_queued,outbound_relay_queued");
	dk_delivery_clear(&d1);
	dk_delivery_clear(&d2);
	fixture_free(f);
}

static void test_auto_reply(void **state)
{
	Fixture *f = fixture_new(NULL);
	gint64 t = open_ticket(f);
	g_autofree char *m =
	    mail("dana@customer.example", "Out of office: [docket #1] Printer",
	         "ooo@customer.example", "In-Reply-To: <orig@customer.example>\n", "Away.");
	g_autoptr(DkPipelineItem) item = prepare(f, m, T0 + 1, NULL);
	dk_pipeline_item_message(item)->classification.auto_reply = TRUE;
	DkDelivery d = commit(f, item, NULL);
	assert_int_equal(d.outcome, DK_OUTCOME_APPENDED);
	g_autoptr(DkArticle) a = last_article(f, t);
	assert_string_equal(dk_visibility_name(a->visibility), "internal");
	g_autofree char *types = event_types(f, t);
	assert_string_equal(types, "created,auto_reply");
	/* Naming no ticket: dropped, the raw message kept. */
	g_autofree char *m2 =
	    mail("x@customer.example", "Out of office", "ooo2@customer.example", NULL, "Away.");
	g_autoptr(DkPipelineItem) item2 = prepare(f, m2, T0 + 2, NULL);
	dk_pipeline_item_message(item2)->classification.auto_reply = TRUE;
	DkDelivery d2 = commit(f, item2, NULL);
	assert_int_equal(d2.outcome, DK_OUTCOME_DROPPED);
	assert_int_equal(d2.ticket, 0);
	g_autofree char *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, m2, -1);
	g_autoptr(GBytes) kept = dk_store_raw_get(f->store, sha, NULL);
	assert_non_null(kept);
	g_autoptr(GPtrArray) all = dk_store_ticket_list(f->store, NULL, 0, NULL);
	assert_int_equal(all->len, 1);
	dk_delivery_clear(&d);
	dk_delivery_clear(&d2);
	fixture_free(f);
}

static void test_bounce(void **state)
{
	Fixture *f = fixture_new(NULL);
	gint64 t = open_ticket(f);
	g_autofree char *ours = dk_ids_message_id(f->secret, t, "example.com");
	g_autofree char *m = mail("MAILER-DAEMON@mx.customer.example", "Undelivered Mail",
	                          "b1@mx.customer.example", NULL, "failed");
	g_autoptr(DkPipelineItem) item = prepare(f, m, T0 + 1, NULL);
	DkBounce *b = g_new0(DkBounce, 1);
	b->recipient = g_strdup("Dana@customer.example");
	b->status = g_strdup("5.1.1");
	b->original_message_id = g_strdup(ours);
	dk_bounce_free(dk_pipeline_item_message(item)
	                   ->classification.bounce); /* what the classifier made of it */
	dk_pipeline_item_message(item)->classification.bounce = b;
	DkDelivery d = commit(f, item, NULL);
	assert_int_equal(d.ticket, t);
	g_autofree char *types = event_types(f, t);
	assert_string_equal(types, "created,bounce");
	/* Naming our Message-ID places the bounce but proves nothing about
	 * who bounced: anyone can write one. */
	gboolean bouncing = TRUE;
	assert_true(dk_store_bouncing_get(f->store, "dana@customer.example", 0, &bouncing, NULL));
	assert_false(bouncing);
	/* Sent back to the VERP address of a notification docket sent to
	 * dana, it marks dana (and nobody else). */
	gint64 row = 0;
	assert_true(
	    dk_store_outbox_add(f->store, "ack", "dana@customer.example", t, "{}", T0, &row, NULL));
	assert_true(dk_store_outbox_done(f->store, row, NULL));
	g_autofree char *verp = dk_ids_bounce_address(f->secret, "bounces@example.com", row);
	g_autofree char *m2 = mail("MAILER-DAEMON@mx.customer.example", "Undelivered Mail",
	                           "b2@mx.customer.example", NULL, "failed");
	g_autoptr(DkPipelineItem) item2 = prepare(f, m2, T0 + 2, verp);
	DkBounce *b2 = g_new0(DkBounce, 1);
	b2->recipient = g_strdup("bob@customer.example");
	b2->status = g_strdup("5.1.1");
	dk_bounce_free(dk_pipeline_item_message(item2)->classification.bounce);
	dk_pipeline_item_message(item2)->classification.bounce = b2;
	DkDelivery d2 = commit(f, item2, NULL);
	assert_int_equal(d2.ticket, t);
	assert_true(dk_store_bouncing_get(f->store, "dana@customer.example", 0, &bouncing, NULL));
	assert_true(bouncing);
	assert_true(dk_store_bouncing_get(f->store, "bob@customer.example", 0, &bouncing, NULL));
	assert_false(bouncing);
	/* Marks expire: not counted before their last bounce. */
	assert_true(
	    dk_store_bouncing_get(f->store, "dana@customer.example", T0 + 3, &bouncing, NULL));
	assert_false(bouncing);
	dk_delivery_clear(&d);
	dk_delivery_clear(&d2);
	fixture_free(f);
}

static void test_agent_commands(void **state)
{
	/* Verified as the receiving MTA vouches: its Authentication-Results. */
	Fixture *f =
	    fixture_new("[agents]\ndomains = helpdesk.example\nauthserv_id = mx.example.com\n");
	gint64 t = open_ticket(f);
	g_autofree char *m =
	    mail("Alex <alex@HELPDESK.example>", "Re: [docket #1] Printer", "a1@helpdesk.example",
	         "In-Reply-To: <orig@customer.example>\n"
	         "Authentication-Results: mx.example.com; dkim=pass header.d=helpdesk.example\n",
	         "#status waiting\n#priority low\n#tag hw\n#tag hw\n\nPlease restart it.");
	DkDelivery d = put(f, m, T0 + 1);
	assert_int_equal(d.ticket, t);
	g_autoptr(DkTicket) ticket = dk_store_ticket_get(f->store, t, NULL);
	assert_string_equal(dk_ticket_status_name(ticket->status), "waiting");
	assert_string_equal(ticket->priority, "low");
	g_autoptr(DkArticle) a = last_article(f, t);
	assert_string_equal(dk_direction_name(a->direction), "outbound");
	assert_string_equal(a->new_text, "Please restart it.");
	/* Only to support: relayed through the outbox to the requester and to
	 * Bob, whom she copied. */
	g_autofree char *types = event_types(f, t);
	assert_string_equal(types, "created,comment,status_change,priority_change,tag,tag,"
	                           "outbound_relay_queued,outbound_relay_queued");
	gint64 depth = 0, age = 0;
	assert_true(dk_store_outbox_stats(f->store, T0 + 1, &depth, &age, NULL));
	assert_int_equal(depth, 3); /* the acknowledgement of the new ticket, and two relays */
	dk_delivery_clear(&d);
	fixture_free(f);
}

static void test_foreign_and_batch(void **state)
{
	/* The vendor is no participant: a foreign number, like the token,
	 * threads its mail only because the follow-up policy accepts that. */
	Fixture *f = fixture_new("[threading]\nfollow_up = accept\n"
	                         "[foreign:acme]\npattern = ACME-([0-9]{4,})\n");
	g_autofree char *m1 =
	    mail("dana@customer.example", "Printer ACME-1234", "f1@customer.example", NULL,
	         "See ACME-1234 and ACME-1234 and ACME-5678.");
	g_autofree char *m2 = mail("vendor@acme.example", "Your case", "f2@acme.example", NULL,
	                           "Re ACME-5678: fixed.");
	g_autofree char *m3 = mail("dana@customer.example", "Re: [docket #1] Printer",
	                           "f3@customer.example", NULL, NULL);
	DkPipelineItem *items[] = {prepare(f, m1, T0, NULL), prepare(f, m2, T0 + 1, NULL),
	                           prepare(f, m3, T0 + 2, NULL)};
	assert_true(dk_pipeline_commit(f->pipeline, items, G_N_ELEMENTS(items), NULL));
	assert_null(dk_pipeline_item_error(items[1]));
	assert_int_equal(dk_pipeline_item_result(items[1])->ticket,
	                 dk_pipeline_item_result(items[0])->ticket);
	assert_string_equal(dk_pipeline_item_result(items[1])->evidence, "foreign");
	assert_int_equal(dk_pipeline_item_result(items[2])->ticket,
	                 dk_pipeline_item_result(items[0])->ticket);
	assert_string_equal(dk_pipeline_item_result(items[2])->evidence, "token");
	g_autoptr(GPtrArray) refs =
	    dk_store_foreign_refs(f->store, dk_pipeline_item_result(items[0])->ticket, NULL);
	assert_int_equal(refs->len, 2);
	for (guint i = 0; i < refs->len; i++) {
		const DkForeignRef *r = g_ptr_array_index(refs, i);
		g_autofree char *got = g_strdup_printf("%s %s", r->name, r->number);
		assert_string_equal(got, i == 0 ? "acme 1234" : "acme 5678");
	}
	for (guint i = 0; i < G_N_ELEMENTS(items); i++)
		dk_pipeline_item_free(items[i]);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mac_message_id),
	    cmocka_unit_test(test_reply_address),
	    cmocka_unit_test(test_reply_address_disabled),
	    cmocka_unit_test(test_follow_up_policies),
	    cmocka_unit_test(test_reopen_window_edges),
	    cmocka_unit_test(test_closed_stays_closed),
	    cmocka_unit_test(test_auto_reply),
	    cmocka_unit_test(test_bounce),
	    cmocka_unit_test(test_agent_commands),
	    cmocka_unit_test(test_foreign_and_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
