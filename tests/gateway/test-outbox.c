/* Tests of the outbox rows and the worker: an acknowledgement written with
 * its ticket, sent once into the Maildir and recorded as an outbound
 * article; exponential backoff and giving up; relays linked to their
 * article; bouncing addresses; rows of other kinds left to their owners;
 * the rows of each lane. */
#include "dk-test-store.h"
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/core/pipeline.h"
#include "gateway/outbox/effects.h"
#include "gateway/store/store-outbox.h"
#include "gateway/outbox/worker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
	char *dir;
	DkConfig *config;
	DkStore *store;
	DkPipeline *pipeline;
} Fixture;

static int setup_with(void **state, const char *extra)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = dk_test_tmpdir();
	g_autofree char *path = g_build_filename(f->dir, "docket.conf", NULL);
	g_autofree char *text =
	    g_strdup_printf("[store]\ndata_dir = %s\n[threading]\ndomain = help.example.com\n"
	                    "[notify]\nfrom = support@help.example.com\n%s",
	                    f->dir, extra);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	f->config = dk_config_load(path, NULL);
	g_assert_nonnull(f->config);
	f->store = dk_test_store_open(f->dir, NULL, NULL);
	f->pipeline = dk_pipeline_new(f->config, f->store, &dk_outbox_effects);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, "");
}

/* sendmail that always fails with a temporary status (exit 1). */
static int setup_failing(void **state)
{
	return setup_with(
	    state, "transport = sendmail\nsendmail = /bin/false\nretry_initial_seconds = 60\n"
	           "retry_max_seconds = 200\nmax_age_seconds = 1000\n");
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_pipeline_free(f->pipeline);
	dk_store_close(f->store);
	dk_config_free(f->config);
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static void deliver(Fixture *f, const char *from, const char *message_id, gint64 now)
{
	g_autofree char *text =
	    g_strdup_printf("From: %s\nTo: support@help.example.com\nSubject: Broken\n"
	                    "Message-ID: <%s>\n\nIt is broken.\n",
	                    from, message_id);
	g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
	DkIntake intake = {.intake = "test", .received_at = now};
	DkDelivery d = {0};
	g_autoptr(GError) error = NULL;
	assert_true(dk_pipeline_deliver(f->pipeline, raw, &intake, &d, &error));
	dk_delivery_clear(&d);
}

static DkOutboxRow *only_row(Fixture *f)
{
	g_autoptr(GPtrArray) rows = dk_store_outbox_list(f->store, NULL, 0, NULL);
	assert_int_equal(rows->len, 1);
	return g_ptr_array_steal_index(rows, 0);
}

static guint count_events(Fixture *f, gint64 ticket, const char *type)
{
	g_autoptr(GPtrArray) events = dk_store_events(f->store, ticket, NULL);
	guint n = 0;
	for (guint i = 0; i < events->len; i++)
		n += strcmp(((DkEvent *)g_ptr_array_index(events, i))->type, type) == 0;
	return n;
}

static void test_ack_sent_once(void **state)
{
	Fixture *f = *state;
	deliver(f, "ann@example.org", "a1@example.org", 5000);
	g_autoptr(DkOutboxRow) row = only_row(f);
	assert_string_equal(row->kind, "ack");
	assert_string_equal(row->state, "pending");
	assert_int_equal(row->next_attempt_at, 5000);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkOutbox) outbox = dk_outbox_new(f->config, f->store, &error);
	DkOutboxStats stats = {0};
	assert_true(dk_outbox_run_due(outbox, 4999, &stats, &error)); /* not due yet */
	assert_int_equal(stats.sent, 0);
	assert_true(dk_outbox_run_due(outbox, 5001, &stats, &error));
	assert_int_equal(stats.sent, 1);
	assert_true(dk_outbox_run_due(outbox, 5002, &stats, &error));
	assert_int_equal(stats.sent, 1);
	g_autoptr(DkOutboxRow) done = only_row(f);
	assert_string_equal(done->state, "done");
	g_autoptr(GPtrArray) articles = dk_store_articles(f->store, 1, &error);
	assert_int_equal(articles->len, 2);
	const DkArticle *sent = g_ptr_array_index(articles, 1);
	assert_string_equal(dk_direction_name(sent->direction), "outbound");
	assert_string_equal(sent->recipients, "ann@example.org");
	assert_true(g_str_has_prefix(sent->message_id, "docket.1."));
	/* the sent Message-ID threads: it points at ticket 1 and the article */
	gint64 ticket = 0;
	gboolean found = FALSE;
	assert_true(dk_store_message_id_find(f->store, sent->message_id, &ticket, &found, &error));
	assert_true(found);
	assert_int_equal(ticket, 1);
	assert_int_equal(count_events(f, 1, "notification_sent"), 1);
	g_autofree char *maildir = g_build_filename(f->dir, "outbox-maildir", "new", NULL);
	GDir *dir = g_dir_open(maildir, 0, NULL);
	assert_non_null(dir);
	guint files = 0;
	while (g_dir_read_name(dir) != NULL)
		files++;
	g_dir_close(dir);
	assert_int_equal(files, 1);
}

static void test_backoff_then_give_up(void **state)
{
	Fixture *f = *state;
	deliver(f, "bob@example.org", "b1@example.org", 1000);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkOutbox) outbox = dk_outbox_new(f->config, f->store, &error);
	DkOutboxStats stats = {0};
	const gint64 expect_next[] = {1060, 1180, 1380, 1580};
	gint64 now = 1000;
	for (guint i = 0; i < G_N_ELEMENTS(expect_next); i++) {
		assert_true(dk_outbox_run_due(outbox, now, &stats, &error));
		g_autoptr(DkOutboxRow) row = only_row(f);
		assert_string_equal(row->state, "pending");
		assert_int_equal(row->attempts, i + 1);
		assert_int_equal(row->next_attempt_at,
		                 expect_next[i]); /* 60, 120, 200 (max), 200 */
		assert_non_null(strstr(row->last_error, "status 1"));
		now = row->next_attempt_at;
	}
	assert_int_equal(stats.deferred, 4);
	/* the Message-ID was fixed once, before the first attempt */
	g_autoptr(GPtrArray) ids = dk_store_message_ids(f->store, 1, &error);
	assert_int_equal(ids->len, 2);
	assert_true(dk_outbox_run_due(outbox, 2000, &stats, &error)); /* max_age reached */
	g_autoptr(DkOutboxRow) row = only_row(f);
	assert_string_equal(row->state, "failed");
	assert_int_equal(stats.failed, 1);
	assert_int_equal(count_events(f, 1, "notification_failed"), 1);
	assert_int_equal(count_events(f, 1, "notification_sent"), 0);
	/* retry makes it due again; drop removes it */
	assert_true(dk_store_outbox_retry(f->store, row->id, 3000, &error));
	g_autoptr(GPtrArray) due = dk_store_outbox_due(f->store, 3000, 10, &error);
	assert_int_equal(due->len, 1);
	assert_true(dk_store_outbox_drop(f->store, row->id, &error));
	assert_false(dk_store_outbox_drop(f->store, row->id, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
}

static gint64 add_connector_row(Fixture *f, const char *target, gint64 ticket)
{
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	assert_true(
	    dk_store_outbox_add(f->store, "connector", target, ticket, "{}", 100, &id, &error));
	return id;
}

/* Asserts the ids of rows, in order; the list ends with 0. */
static void assert_ids(GPtrArray *rows, ...)
{
	va_list ap;
	va_start(ap, rows);
	guint i = 0;
	for (gint64 id = va_arg(ap, gint64); id != 0; id = va_arg(ap, gint64), i++) {
		assert_true(i < rows->len);
		assert_int_equal(((DkOutboxRow *)g_ptr_array_index(rows, i))->id, id);
	}
	va_end(ap);
	assert_int_equal(rows->len, i);
}

/* The worker's lanes: a connector's lane has its own rows, less those
 * behind an older pending row of their ticket; the rest has every row
 * but those of the connectors with lanes. */
static void test_lane_rows(void **state)
{
	Fixture *f = *state;
	deliver(f, "erin@example.org", "e1@example.org", 100);
	deliver(f, "fred@example.org", "f1@example.org", 100);
	g_autoptr(GPtrArray) acks = dk_store_outbox_list(f->store, NULL, 0, NULL);
	assert_int_equal(acks->len, 2);
	gint64 ack2 = ((DkOutboxRow *)g_ptr_array_index(acks, 0))->id;
	gint64 ack1 = ((DkOutboxRow *)g_ptr_array_index(acks, 1))->id;
	gint64 a1 = add_connector_row(f, "a", 1), a2 = add_connector_row(f, "a", 1);
	gint64 b1 = add_connector_row(f, "b", 1), a3 = add_connector_row(f, "a", 2);
	gint64 gone = add_connector_row(f, "gone", 2);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) lane_a =
	    dk_store_outbox_due_lane(f->store, 100, "a", NULL, 10, &error);
	assert_ids(lane_a, a1, a3, G_GINT64_CONSTANT(0));
	g_autoptr(GPtrArray) lane_b =
	    dk_store_outbox_due_lane(f->store, 100, "b", NULL, 10, &error);
	assert_ids(lane_b, b1, G_GINT64_CONSTANT(0));
	const char *const lanes[] = {"a", "b", NULL};
	g_autoptr(GPtrArray) rest =
	    dk_store_outbox_due_lane(f->store, 100, NULL, lanes, 10, &error);
	assert_ids(rest, ack1, ack2, gone, G_GINT64_CONSTANT(0));
	g_autoptr(GPtrArray) all = dk_store_outbox_due_lane(f->store, 100, NULL, NULL, 10, &error);
	assert_int_equal(all->len, 7);
	/* a2 is due once a1 is done; a claimed a3 is not due */
	assert_true(dk_store_outbox_done(f->store, a1, &error));
	gboolean claimed = FALSE;
	assert_true(dk_store_outbox_claim(f->store, a3, 100, 400, &claimed, &error));
	assert_true(claimed);
	g_autoptr(GPtrArray) after = dk_store_outbox_due_lane(f->store, 100, "a", NULL, 10, &error);
	assert_ids(after, a2, G_GINT64_CONSTANT(0));
}

/* Another worker holds the row: this one leaves it; a worker that died
 * mid-attempt leaves it due again when the claim runs out. */
static void test_claimed_row(void **state)
{
	Fixture *f = *state;
	deliver(f, "dan@example.org", "d1@example.org", 500);
	g_autoptr(DkOutboxRow) row = only_row(f);
	g_autoptr(GError) error = NULL;
	gboolean claimed = FALSE;
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_outbox_claim(f->store, row->id, 500, 900, &claimed, &error));
	assert_true(claimed);
	assert_true(dk_store_outbox_claim(f->store, row->id, 501, 901, &claimed, &error));
	assert_false(claimed);
	assert_true(dk_store_commit(f->store, &error));
	g_autoptr(DkOutbox) outbox = dk_outbox_new(f->config, f->store, &error);
	DkOutboxStats stats = {0};
	assert_true(dk_outbox_run_due(outbox, 600, &stats, &error));
	assert_int_equal(stats.sent, 0);
	assert_true(dk_outbox_run_due(outbox, 900, &stats, &error));
	assert_int_equal(stats.sent, 1);
}

/* A claim runs from the later of the pass's time and the clock: a row
 * claimed late in a long pass is not claimed until a time already past. */
static void test_claim_until(void **state)
{
	(void)state;
	gint64 clock = g_get_real_time() / G_USEC_PER_SEC;
	assert_true(dk_store_outbox_claim_until(clock - 600, 60) >= clock + 60);
	assert_int_equal(dk_store_outbox_claim_until(clock + 86400, 60), clock + 86460);
}

static void test_relay_and_other_kinds(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(f->store, &error));
	gint64 ticket = dk_store_ticket_create(f->store, "Printer", "cy@example.org", 100, &error);
	DkArticle reply = {.ticket = ticket,
	                   .direction = DK_OUTBOUND,
	                   .visibility = DK_PUBLIC,
	                   .evidence = "agent",
	                   .sender = "agent@help.example.com",
	                   .new_text = "Try turning it off and on.",
	                   .created_at = 100};
	assert_true(dk_store_article_add(f->store, &reply, &error) > 0);
	g_autofree char *payload = g_strdup_printf(
	    "{\"to\": \"cy@example.org\", \"article\": %" G_GINT64_FORMAT "}", reply.id);
	assert_true(dk_store_outbox_add(f->store, "relay", "cy@example.org", ticket, payload, 100,
	                                NULL, &error));
	assert_true(dk_store_outbox_add(f->store, "webhook", "https://x.example", ticket, "{}", 100,
	                                NULL, &error));
	assert_true(dk_store_outbox_add(f->store, "ack", "cy@example.org", ticket, "{}", 100, NULL,
	                                &error));
	assert_true(dk_store_commit(f->store, &error));
	/* cy@ bounces since: the ack is given up, the agent's reply still goes */
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_bouncing_mark(f->store, "CY@example.org", "5.1.1", 150, &error));
	assert_true(dk_store_commit(f->store, &error));
	g_autoptr(DkOutbox) outbox = dk_outbox_new(f->config, f->store, &error);
	DkOutboxStats stats = {0};
	assert_true(dk_outbox_run_due(outbox, 200, &stats, &error));
	assert_int_equal(stats.sent, 1);
	assert_int_equal(stats.failed, 1);
	g_autoptr(GPtrArray) failed = dk_store_outbox_list(f->store, "failed", 0, &error);
	assert_int_equal(failed->len, 1);
	assert_non_null(
	    strstr(((DkOutboxRow *)g_ptr_array_index(failed, 0))->last_error, "bouncing"));
	g_autoptr(GPtrArray) articles = dk_store_articles(f->store, ticket, &error);
	assert_int_equal(articles->len, 1); /* the agent's reply is the article */
	g_autoptr(GPtrArray) pending = dk_store_outbox_list(f->store, "pending", 0, &error);
	assert_int_equal(pending->len, 1);
	assert_string_equal(((DkOutboxRow *)g_ptr_array_index(pending, 0))->kind, "webhook");
	g_autofree char *maildir = g_build_filename(f->dir, "outbox-maildir", "new", NULL);
	GDir *dir = g_dir_open(maildir, 0, NULL);
	const char *name = g_dir_read_name(dir);
	g_autofree char *file = g_build_filename(maildir, name, NULL);
	g_dir_close(dir);
	g_autofree char *text = NULL;
	assert_true(g_file_get_contents(file, &text, NULL, NULL));
	assert_non_null(strstr(text, "Try turning it off and on."));
	assert_null(strstr(text, "Auto-Submitted")); /* a person's reply */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ack_sent_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backoff_then_give_up, setup_failing, teardown),
	    cmocka_unit_test_setup_teardown(test_claimed_row, setup, teardown),
	    cmocka_unit_test(test_claim_until),
	    cmocka_unit_test_setup_teardown(test_lane_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relay_and_other_kinds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
