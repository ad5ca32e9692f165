/* Tests of the pipeline: threading by header, idempotent delivery,
 * synthetic Message-IDs, refusals that leave the store untouched, and a
 * batch whose messages see each other. */
#include "dk-test-store.h"
#include "gateway/error.h"
#include "gateway/config.h"
#include "gateway/core/pipeline.h"
#include "gateway/outbox/effects.h"
#include "gateway/core/writer.h"
#include "gateway/store/store-attachments.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

typedef DkTestStore Fixture;

static int setup(void **state)
{
	*state = dk_test_store_new();
	return 0;
}

static int teardown(void **state)
{
	dk_test_store_free(*state);
	return 0;
}

/* Delivers text; returns the ticket, or 0 with *error set. */
static gint64 deliver(Fixture *f, const char *text, DkOutcome *outcome_out, GError **error)
{
	g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
	DkIntake intake = {.intake = "test"};
	DkDelivery d = {0};
	if (!dk_pipeline_deliver(f->pipeline, raw, &intake, &d, error))
		return 0;
	if (outcome_out)
		*outcome_out = d.outcome;
	dk_delivery_clear(&d);
	return d.ticket;
}

static guint count_tickets(Fixture *f)
{
	g_autoptr(GPtrArray) list = dk_store_ticket_list(f->store, NULL, 0, NULL);
	return list->len;
}

static guint count_articles(Fixture *f, gint64 ticket)
{
	g_autoptr(GPtrArray) list = dk_store_articles(f->store, ticket, NULL);
	return list->len;
}

static void test_conversation(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	DkOutcome o;
	gint64 t1 = deliver(f,
	                    "From: Alice <alice@example.com>\r\nTo: support@example.com\r\n"
	                    "Subject: =?UTF-8?Q?Dr=C3=BCcker?= broken\r\nMessage-ID: "
	                    "<orig@example.com>\r\n\r\nHelp\r\n",
	                    &o, &error);
	assert_null(error);
	assert_int_equal(o, DK_OUTCOME_CREATED);
	gint64 t2 = deliver(
	    f,
	    "From: support@example.com\nSubject: Re: Drucker\nMessage-ID: <r1@example.com>\n"
	    "In-Reply-To: <orig@example.com>\n\nOn it.\n",
	    &o, &error);
	assert_int_equal(o, DK_OUTCOME_APPENDED);
	assert_int_equal(t2, t1);
	/* Only References, naming the reply, with an unknown id after it. */
	gint64 t3 = deliver(
	    f,
	    "From: alice@example.com\nSubject: Re: Re: Drucker\nMessage-ID: <r2@example.com>\n"
	    "References: <r1@example.com> <unknown@elsewhere>\n\nThanks\n",
	    &o, &error);
	assert_int_equal(t3, t1);
	/* An unrelated message opens its own ticket. */
	gint64 t4 =
	    deliver(f, "From: bob@example.com\nSubject: Other\nMessage-ID: <b@example.com>\n\nx\n",
	            &o, &error);
	assert_int_not_equal(t4, t1);
	assert_int_equal(count_tickets(f), 2);
	assert_int_equal(count_articles(f, t1), 3);
	g_autoptr(DkTicket) ticket = dk_store_ticket_get(f->store, t1, &error);
	assert_string_equal(ticket->subject, "Drücker broken");
	assert_string_equal(ticket->requester, "alice@example.com");
	g_autoptr(GPtrArray) articles = dk_store_articles(f->store, t1, &error);
	const DkArticle *reply = g_ptr_array_index(articles, 2);
	assert_string_equal(reply->evidence, "header");
	assert_string_equal(dk_direction_name(reply->direction), "inbound");
	g_autoptr(GPtrArray) events = dk_store_events(f->store, t1, &error);
	assert_int_equal(events->len, 3);
	assert_string_equal(((DkEvent *)g_ptr_array_index(events, 0))->type, "created");
	assert_string_equal(((DkEvent *)g_ptr_array_index(events, 1))->type, "comment");
}

static void test_duplicate(void **state)
{
	Fixture *f = *state;
	const char *msg =
	    "From: a@example.com\nSubject: s\nMessage-ID: <dup@example.com>\n\nbody\n";
	/* The same message again by another route: other trace fields, CRLF. */
	const char *again =
	    "Received: from mx2 by here\r\nReturn-Path: <a@example.com>\r\n"
	    "From: a@example.com\r\nSubject: s\r\nMessage-ID: <dup@example.com>\r\n\r\nbody\r\n";
	DkOutcome o;
	g_autoptr(GError) error = NULL;
	gint64 t = deliver(f, msg, &o, &error);
	assert_int_equal(o, DK_OUTCOME_CREATED);
	assert_int_equal(deliver(f, msg, &o, &error), t);
	assert_int_equal(o, DK_OUTCOME_DUPLICATE);
	assert_int_equal(deliver(f, again, &o, &error), t);
	assert_int_equal(o, DK_OUTCOME_DUPLICATE);
	assert_int_equal(count_articles(f, t), 1);
	/* Same Message-ID, other content: kept, on the same ticket, flagged. */
	assert_int_equal(
	    deliver(f, "From: a@example.com\nSubject: s\nMessage-ID: <dup@example.com>\n\nother\n",
	            &o, &error),
	    t);
	assert_int_equal(o, DK_OUTCOME_APPENDED);
	assert_int_equal(count_articles(f, t), 2);
	g_autoptr(GPtrArray) events = dk_store_events(f->store, t, &error);
	assert_string_equal(((DkEvent *)g_ptr_array_index(events, events->len - 1))->type,
	                    "message_id_conflict");
}

static void test_no_message_id(void **state)
{
	Fixture *f = *state;
	const char *msg = "From: a@example.com\nSubject: no id\n\nbody\n";
	DkOutcome o;
	g_autoptr(GError) error = NULL;
	gint64 t = deliver(f, msg, &o, &error);
	assert_int_equal(o, DK_OUTCOME_CREATED);
	assert_int_equal(deliver(f, msg, &o, &error), t);
	assert_int_equal(o, DK_OUTCOME_DUPLICATE);
	g_autoptr(GPtrArray) articles = dk_store_articles(f->store, t, &error);
	const DkArticle *a = g_ptr_array_index(articles, 0);
	assert_true(g_str_has_suffix(a->message_id, "@synthetic.docket.invalid"));
	/* Other bytes, other synthetic id, other ticket. */
	assert_int_not_equal(
	    deliver(f, "From: a@example.com\nSubject: no id\n\nbody 2\n", &o, &error), t);
}

static void test_odd_but_real(void **state)
{
	Fixture *f = *state;
	static const char *const cases[] = {
	    "From: a@example.com\nSubject: headers only\nMessage-ID: <h@x>\n",
	    "From: a@example.com\nSubject: empty body\nMessage-ID: <e@x>\n\n",
	    "Subject: no date, no id, bare LF\n\nline\n",
	    "From a@example.com Tue Nov 24 10:00:00 2026\nFrom: a@example.com\nSubject: mbox "
	    "line\n\nx\n",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		if (deliver(f, cases[i], NULL, &error) == 0)
			fail_msg("case %zu refused: %s", i, error->message);
	}
	assert_int_equal(count_tickets(f), G_N_ELEMENTS(cases));
}

static void test_not_mail(void **state)
{
	Fixture *f = *state;
	static const struct {
		const char *data;
		gsize len;
	} cases[] = {
	    {"", 0},
	    {"\x7f"
	     "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
	     16},
	    {"Just a line of text\nand another\n", 32},
	    {"\n\nSubject: after blank lines\n", 29},
	    {"Subject: nul\0inside\n\nx\n", 23},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) raw = g_bytes_new(cases[i].data, cases[i].len);
		DkIntake intake = {.intake = "test"};
		DkDelivery d = {0};
		g_autoptr(GError) error = NULL;
		if (dk_pipeline_deliver(f->pipeline, raw, &intake, &d, &error))
			fail_msg("case %zu accepted", i);
		assert_true(g_error_matches(error, DK_PARSE_ERROR, DK_PARSE_ERROR_NOT_MAIL));
		assert_false(dk_error_is_temporary(error));
	}
	assert_int_equal(count_tickets(f), 0);
}

/* Two messages of one conversation in one batch: the reply sees the
 * original that is not committed yet. */
static void test_batch(void **state)
{
	Fixture *f = *state;
	const char *texts[] = {
	    "From: a@example.com\nSubject: first\nMessage-ID: <b1@x>\n\nx\n",
	    "From: b@example.com\nSubject: Re: first\nMessage-ID: <b2@x>\nIn-Reply-To: "
	    "<b1@x>\n\ny\n",
	    "From: c@example.com\nSubject: other\nMessage-ID: <b3@x>\n\nz\n",
	};
	DkPipelineItem *items[3];
	DkIntake intake = {.intake = "test"};
	for (int i = 0; i < 3; i++) {
		g_autoptr(GBytes) raw = g_bytes_new(texts[i], strlen(texts[i]));
		items[i] = dk_pipeline_prepare(f->pipeline, raw, &intake, NULL);
		assert_non_null(items[i]);
	}
	g_autoptr(GError) error = NULL;
	assert_true(dk_pipeline_commit(f->pipeline, items, 3, &error));
	assert_null(dk_pipeline_item_error(items[0]));
	assert_int_equal(dk_pipeline_item_result(items[1])->ticket,
	                 dk_pipeline_item_result(items[0])->ticket);
	assert_int_equal(dk_pipeline_item_result(items[1])->outcome, DK_OUTCOME_APPENDED);
	assert_int_not_equal(dk_pipeline_item_result(items[2])->ticket,
	                     dk_pipeline_item_result(items[0])->ticket);
	for (int i = 0; i < 3; i++)
		dk_pipeline_item_free(items[i]);
	assert_int_equal(count_tickets(f), 2);
}

/* Effects that fail for the message whose subject starts with "fail",
 * after its ticket and article are written. */
static gboolean failing_write(DkStore *store, const DkConfig *config, const DkEffects *effects,
                              GError **error)
{
	(void)store, (void)config;
	if (!g_str_has_prefix(effects->message->subject, "fail"))
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "effects refused");
	return FALSE;
}

static const DkEffectsOps failing_effects = {.write = failing_write};

/* Effects whose write for "fail..." fails in the database, not here: an
 * event of a ticket that does not exist (its foreign key). SQLite says so
 * at once; PostgreSQL sends the write without waiting for its answer
 * (dk_store_write_later()), so the failure shows only later, when the
 * answers are read: it must still be that message's alone. */
static gboolean late_failing_write(DkStore *store, const DkConfig *config, const DkEffects *effects,
                                   GError **error)
{
	(void)config;
	if (!g_str_has_prefix(effects->message->subject, "fail"))
		return TRUE;
	return dk_store_event_add(store, 987654321, 0, "test", NULL, 1, error);
}

static const DkEffectsOps late_failing_effects = {.write = late_failing_write};

/* Commits a batch of messages with these subjects through a pipeline
 * whose effects (failing_effects or late_failing_effects) fail for
 * "fail...": the ticket each stored message got. */
static void commit_subjects_with(Fixture *f, const DkEffectsOps *effects,
                                 const char *const *subjects, guint n, gint64 *tickets_out)
{
	g_autoptr(DkPipeline) p = dk_pipeline_new(f->config, f->store, effects);
	DkPipelineItem *items[8];
	DkIntake intake = {.intake = "test"};
	for (guint i = 0; i < n; i++) {
		g_autofree char *text =
		    g_strdup_printf("From: s%u@example.com\nSubject: %s\nMessage-ID: <%s@x>\n\nx\n",
		                    i, subjects[i], subjects[i]);
		g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
		items[i] = dk_pipeline_prepare(p, raw, &intake, NULL);
		assert_non_null(items[i]);
	}
	g_autoptr(GError) error = NULL;
	assert_true(dk_pipeline_commit(p, items, n, &error));
	for (guint i = 0; i < n; i++) {
		const GError *e = dk_pipeline_item_error(items[i]);
		assert_true(g_str_has_prefix(subjects[i], "fail") == (e != NULL));
		if (e != NULL && effects == &late_failing_effects)
			assert_non_null(strstr(e->message, "recording an event"));
		tickets_out[i] = e ? 0 : dk_pipeline_item_result(items[i])->ticket;
		dk_pipeline_item_free(items[i]);
	}
}

static void commit_subjects(Fixture *f, const char *const *subjects, guint n, gint64 *tickets_out)
{
	commit_subjects_with(f, &failing_effects, subjects, n, tickets_out);
}

/* The store after such a batch: stored tickets in all, each stored
 * message's with its one article, and a failed message's Message-ID
 * not known. */
static void assert_stored(Fixture *f, const gint64 *tickets, guint n, gint64 stored,
                          const char *failed_message_id)
{
	assert_int_equal(count_tickets(f), stored);
	for (guint i = 0; i < n; i++) {
		if (tickets[i] != 0)
			assert_int_equal(count_articles(f, tickets[i]), 1);
	}
	gint64 owner = 0;
	gboolean known = TRUE;
	assert_true(dk_store_message_id_find(f->store, failed_message_id, &owner, &known, NULL));
	assert_false(known);
}

/* A message that fails after its rows were written takes them with it,
 * and only them: the others of its batch, before and after it, are
 * stored, and none twice. */
static void test_batch_item_fails_after_writing(void **state)
{
	Fixture *f = *state;
	const char *const subjects[] = {"ok-1", "fail-1", "ok-2", "ok-3", "fail-2"};
	gint64 tickets[G_N_ELEMENTS(subjects)];
	commit_subjects(f, subjects, G_N_ELEMENTS(subjects), tickets);
	assert_stored(f, tickets, G_N_ELEMENTS(subjects), 3, "fail-1@x");
	assert_int_equal(tickets[1], 0);
	/* The failed ones are not in the store at all: delivered again, they
	 * fail again, and the stored ones are duplicates. */
	commit_subjects(f, subjects, G_N_ELEMENTS(subjects), tickets);
	assert_int_equal(count_tickets(f), 3);
}

/* The same when the failing write is one whose answer may come later
 * (PostgreSQL): in the middle of the batch, where the next message's
 * first statement reads it (and the batch begins again guarded); and
 * last in a batch where nothing failed before, where only the reading
 * before the commit finds it (without it the commit failed, and with it
 * the whole batch). The failure is named as that write's. */
static void test_batch_item_fails_late(void **state)
{
	Fixture *f = *state;
	const char *const subjects[] = {"ok-1", "fail-1", "ok-2", "fail-2"};
	gint64 tickets[G_N_ELEMENTS(subjects)];
	commit_subjects_with(f, &late_failing_effects, subjects, G_N_ELEMENTS(subjects), tickets);
	assert_stored(f, tickets, G_N_ELEMENTS(subjects), 2, "fail-2@x");
	commit_subjects_with(f, &late_failing_effects, subjects, G_N_ELEMENTS(subjects), tickets);
	assert_int_equal(count_tickets(f), 2);

	const char *const last[] = {"ok-3", "ok-4", "fail-3"};
	gint64 more[G_N_ELEMENTS(last)];
	commit_subjects_with(f, &late_failing_effects, last, G_N_ELEMENTS(last), more);
	assert_stored(f, more, G_N_ELEMENTS(last), 4, "fail-3@x");
}

static void test_store_busy_is_temporary(void **state)
{
	Fixture *f = *state;
	DkStoreOptions options = {.inline_max = 1024, .busy_timeout_ms = 10};
	g_autoptr(DkStore) other = dk_test_store_open(f->dir, &options, NULL);
	g_autoptr(DkStore) mine = dk_test_store_open(f->dir, &options, NULL);
	g_autoptr(DkPipeline) p = dk_pipeline_new(f->config, mine, &dk_outbox_effects);
	assert_true(dk_store_begin(other, NULL));
	const char *msg = "From: a@example.com\nSubject: s\nMessage-ID: <busy@x>\n\nb\n";
	g_autoptr(GBytes) raw = g_bytes_new(msg, strlen(msg));
	DkIntake intake = {.intake = "test"};
	DkDelivery d = {0};
	g_autoptr(GError) error = NULL;
	assert_false(dk_pipeline_deliver(p, raw, &intake, &d, &error));
	assert_true(dk_error_is_temporary(error));
	dk_store_rollback(other);
	g_clear_error(&error);
	assert_true(dk_pipeline_deliver(p, raw, &intake, &d, &error));
	dk_delivery_clear(&d);
}

typedef struct {
	DkPipeline *pipeline;
	int thread;
	int failures;
} Sender;

static gpointer send_many(gpointer data)
{
	Sender *s = data;
	for (int i = 0; i < 50; i++) {
		g_autofree char *text =
		    g_strdup_printf("From: t%d@example.com\nSubject: thread %d message %d\n"
		                    "Message-ID: <w-%d-%d@x>\n\nbody\n",
		                    s->thread, s->thread, i, s->thread, i);
		g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
		DkIntake intake = {.intake = "test"};
		DkDelivery d = {0};
		if (!dk_pipeline_deliver(s->pipeline, raw, &intake, &d, NULL))
			s->failures++;
		dk_delivery_clear(&d);
	}
	return NULL;
}

/* Eight intakes at once through the writer thread: every message is
 * committed exactly once, and the writer may group them. */
static void test_writer_thread(void **state)
{
	Fixture *f = *state;
	g_autoptr(DkStore) own = dk_test_store_open(f->dir, NULL, NULL);
	DkWriter *writer = dk_writer_start(own, 0, NULL);
	dk_pipeline_set_writer(f->pipeline, writer);
	Sender senders[8];
	GThread *threads[8];
	for (int i = 0; i < 8; i++) {
		senders[i] = (Sender){.pipeline = f->pipeline, .thread = i};
		threads[i] = g_thread_new("sender", send_many, &senders[i]);
	}
	for (int i = 0; i < 8; i++) {
		g_thread_join(threads[i]);
		assert_int_equal(senders[i].failures, 0);
	}
	guint64 commits = 0, messages = 0;
	dk_writer_stats(writer, &commits, &messages);
	dk_writer_stop(writer);
	dk_pipeline_set_writer(f->pipeline, NULL);
	print_message("400 messages in %" G_GUINT64_FORMAT " transactions\n", commits);
	assert_int_equal(messages, 400);
	assert_true(commits >= 1 && commits <= 400);
	assert_int_equal(count_tickets(f), 400);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) raw = g_bytes_new_static("Subject: after\n\nx\n", 18);
	DkIntake intake = {.intake = "test"};
	DkDelivery d = {0};
	assert_true(dk_pipeline_deliver(f->pipeline, raw, &intake, &d, &error));
	dk_delivery_clear(&d);
}

/* Articles FTS5's word index holds for a word, and those noted for it,
 * read from the store itself: a search would index the noted first. */
static gint64 in_index(Fixture *f, const char *word)
{
	g_autofree char *sql = g_strdup_printf(
	    "SELECT count(*) FROM article_search WHERE article_search MATCH '%s'", word);
	return dk_test_store_number(f->store, sql);
}

static gint64 noted(Fixture *f)
{
	return dk_test_store_number(f->store, "SELECT count(*) FROM article_search_pending");
}

/* FTS5's own check of its index against the articles. */
static void assert_search_whole(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_exec(f->store,
	                          "INSERT INTO article_search (article_search, rank)"
	                          " VALUES ('integrity-check', 1)",
	                          &error));
}

static void deliver_word(Fixture *f, int i, const char *word)
{
	g_autofree char *text = g_strdup_printf("From: lag@example.com\nSubject: lag %d\n"
	                                        "Message-ID: <lag-%d@x>\n\n%s\n",
	                                        i, i, word);
	g_autoptr(GError) error = NULL;
	assert_true(deliver(f, text, NULL, &error) > 0);
}

/* Adds an article with text in a transaction that notes it for search
 * and does not index it (as the writer thread's commits do). */
static void note_article(Fixture *f, const char *text)
{
	g_autoptr(GError) error = NULL;
	dk_store_search_lag(f->store, 1000);
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_search_defer(f->store, &error));
	dk_test_article_add(f->store, dk_store_ticket_create(f->store, "t", NULL, 1, &error),
	                    "left", text, 1);
	assert_true(dk_store_commit(f->store, &error));
	dk_store_search_lag(f->store, 0);
}

/* Waits until the writer has indexed `articles` noted articles in all;
 * the limit is far beyond any machine's time for it. */
static void wait_indexed(DkWriter *writer, guint64 articles)
{
	guint64 catch_ups = 0, indexed = 0;
	for (int i = 0; i < 600000; i++) {
		dk_writer_search_stats(writer, &catch_ups, &indexed);
		if (indexed >= articles)
			break;
		g_usleep(100);
	}
	assert_int_equal(indexed, articles);
}

/* The writer thread's search index lags its commits: its articles are
 * noted, and indexed by the commit that brings the third, and in a
 * transaction of their own when nothing comes for a while, at the
 * thread's stop, and at its start for what an earlier writer left noted.
 * Each trigger alone: the others set far out of reach. */
static void test_writer_search_lag(void **state)
{
	Fixture *f = *state;
	if (dk_test_store_is_pg())
		skip(); /* PostgreSQL indexes an article with it */
	const guint never = 24 * 3600 * 1000;
	g_autoptr(DkStore) own = dk_test_store_open(f->dir, NULL, NULL);
	DkWriter *writer = dk_writer_start(own, 0, NULL);
	dk_writer_search_timing(writer, 3, never, never);
	dk_pipeline_set_writer(f->pipeline, writer);
	deliver_word(f, 1, "zeppelin");
	deliver_word(f, 2, "zeppelin");
	assert_int_equal(in_index(f, "zeppelin"), 0);
	assert_int_equal(noted(f), 2);
	deliver_word(f, 3, "zeppelin"); /* its commit indexes the three */
	assert_int_equal(in_index(f, "zeppelin"), 3);
	assert_int_equal(noted(f), 0);
	deliver_word(f, 4, "zeppelin");
	assert_int_equal(noted(f), 1);
	guint64 catch_ups = 0, indexed = 0;
	dk_writer_search_stats(writer, &catch_ups, &indexed);
	assert_int_equal(catch_ups, 0); /* none in a transaction of their own */
	dk_writer_stop(writer);         /* indexes the fourth */
	assert_int_equal(in_index(f, "zeppelin"), 4);
	assert_int_equal(noted(f), 0);

	writer = dk_writer_start(own, 0, NULL);
	dk_writer_search_timing(writer, 1000, never, 0); /* lag: right after a commit */
	dk_pipeline_set_writer(f->pipeline, writer);
	deliver_word(f, 5, "dirigible");
	wait_indexed(writer, 1);
	assert_int_equal(in_index(f, "dirigible"), 1);
	dk_writer_search_timing(writer, 1000, never, never);
	deliver_word(f, 6, "blimp");
	dk_pipeline_set_writer(f->pipeline, NULL);

	/* noted, then the connection gone without a catch-up (a crash) */
	note_article(f, "blimp");
	assert_int_equal(noted(f), 2);
	g_autoptr(DkStore) next = dk_test_store_open(f->dir, NULL, NULL);
	DkWriter *second = dk_writer_start(next, 0, NULL);
	dk_writer_search_timing(second, 1000, never, never);
	wait_indexed(second, 2);
	assert_int_equal(in_index(f, "blimp"), 2);
	assert_int_equal(noted(f), 0);
	dk_writer_stop(second);
	dk_writer_stop(writer);
	assert_search_whole(f);
}

/* A catch-up that failed (the store locked by another connection) is not
 * tried again before its backoff is over, however old the noted articles
 * are: a backoff out of reach here (the idle time's), so only the stop
 * indexes them. */
static void test_writer_search_backoff(void **state)
{
	Fixture *f = *state;
	if (dk_test_store_is_pg())
		skip(); /* PostgreSQL indexes an article with it */
	const guint never = 24 * 3600 * 1000;
	g_autoptr(GError) error = NULL;
	note_article(f, "quokka"); /* left noted by an earlier process */

	DkStoreOptions at_once = {.inline_max = 256 * 1024, .busy_timeout_ms = 0};
	g_autoptr(DkStore) own = dk_test_store_open(f->dir, &at_once, NULL);
	g_autoptr(DkStore) holder = dk_test_store_open(f->dir, NULL, NULL);
	assert_true(dk_store_begin(holder, &error)); /* the write lock */
	DkWriter *writer = dk_writer_start(own, 0, NULL);
	dk_writer_search_timing(writer, 1000, never, 0); /* lag: right after a commit */
	dk_pipeline_set_writer(f->pipeline, writer);
	/* taken after the start's catch-up, which failed the same way */
	assert_int_equal(deliver(f, "Subject: locked\n\nquokka\n", NULL, &error), 0);
	assert_true(dk_error_is_temporary(error));
	g_clear_error(&error);
	dk_store_rollback(holder);
	deliver_word(f, 1, "quokka");
	deliver_word(f, 2, "quokka"); /* taken after the first one's catch-up, if any */
	assert_int_equal(noted(f), 3);
	assert_int_equal(in_index(f, "quokka"), 0);
	dk_pipeline_set_writer(f->pipeline, NULL);
	dk_writer_stop(writer);
	assert_int_equal(noted(f), 0);
	assert_int_equal(in_index(f, "quokka"), 3);
	assert_search_whole(f);
}

static gint64 first_response_due(Fixture *f, gint64 ticket)
{
	DkTicketSla sla;
	assert_true(dk_store_ticket_sla_get(f->store, ticket, &sla, NULL));
	return sla.first_response_due;
}

/* A reload brings new SLA settings for the next message; wrong ones are
 * refused and the running ones kept. */
static void test_reload_sla(void **state)
{
	Fixture *f = *state;
	gint64 a =
	    deliver(f, "From: a@example.com\nSubject: one\nMessage-ID: <r1@x>\n\nx\n", NULL, NULL);
	assert_int_equal(first_response_due(f, a), 0); /* priority none: no target */
	/* A wrong [sla] never loads (the validator names its line), so the
	 * pipeline keeps what it has. */
	static const char wrong[] = "[sla]\nnone = soon\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) bad = dk_config_load_data(wrong, strlen(wrong), "bad.conf", &error);
	assert_null(bad);
	assert_non_null(strstr(error->message, "bad.conf:2: [sla] none:"));
	gint64 b =
	    deliver(f, "From: b@example.com\nSubject: two\nMessage-ID: <r2@x>\n\nx\n", NULL, NULL);
	assert_int_equal(first_response_due(f, b), 0);
	static const char right[] = "[sla]\nnone = 1h/2h\n";
	g_autoptr(DkConfig) good = dk_config_load_data(right, strlen(right), "good.conf", NULL);
	assert_true(dk_pipeline_reload_rules(f->pipeline, good, NULL));
	static const char three[] =
	    "From: c@example.com\nSubject: three\nMessage-ID: <r3@x>\n\nx\n";
	g_autoptr(GBytes) raw = g_bytes_new_static(three, strlen(three));
	DkIntake intake = {.intake = "test", .received_at = 5000};
	DkDelivery d = {0};
	assert_true(dk_pipeline_deliver(f->pipeline, raw, &intake, &d, NULL));
	assert_int_equal(first_response_due(f, d.ticket), 5000 + 3600);
	dk_delivery_clear(&d);
}

/* content in base64 lines of 76 characters, CRLF-ended, onto m. */
static void append_base64(GString *m, GBytes *content)
{
	gsize n = 0;
	const guint8 *p = g_bytes_get_data(content, &n);
	g_autofree char *b64 = g_base64_encode(p, n);
	for (gsize at = 0, len = strlen(b64); at < len; at += 76)
		g_string_append_printf(m, "%.76s\r\n", b64 + at);
}

/* A message with an attachment of size bytes (base64, over the parser's
 * DK_PARSE_SPILL_MIN) made of seed's noise; into *content_out its bytes. */
static char *with_large_attachment(const char *message_id, gsize size, guint32 seed,
                                   GBytes **content_out)
{
	*content_out = dk_test_noise(size, seed);
	GString *m = g_string_new(NULL);
	g_string_append_printf(
	    m,
	    "From: a@example.com\r\nSubject: the dump\r\nMessage-ID: <%s>\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nThe dump.\r\n"
	    "--b\r\nContent-Type: application/octet-stream; name=core.bin\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n",
	    message_id);
	append_base64(m, *content_out);
	g_string_append(m, "--b--\r\n");
	return g_string_free(m, FALSE);
}

static void assert_attachment(Fixture *f, gint64 ticket, GBytes *content)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) all = dk_store_ticket_attachments(f->store, ticket, &error);
	assert_non_null(all);
	assert_int_equal(all->len, 1);
	const DkStoredAttachment *a = g_ptr_array_index(all, 0);
	assert_int_equal(a->size, g_bytes_get_size(content));
	g_autoptr(GBytes) kept = dk_store_attachment_read(f->store, a, &error);
	assert_non_null(kept);
	assert_true(g_bytes_equal(kept, content));
}

/* A large attachment, which the parser decodes into a file rather than
 * memory, is kept whole (SQLite: that file linked into attachments/;
 * PostgreSQL: copied from it in pieces); the same content again in
 * another message, and another large content, likewise; nothing is left
 * behind in the spool. */
static void test_large_attachment_kept(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) one = NULL, same = NULL, other = NULL;
	g_autofree char *m1 = with_large_attachment("dump1@example.com", 1536 * 1024 + 3, 1, &one);
	g_autofree char *m2 = with_large_attachment("dump2@example.com", 1536 * 1024 + 3, 1, &same);
	g_autofree char *m3 =
	    with_large_attachment("dump3@example.com", 3 * 1024 * 1024 + 11, 2, &other);
	gint64 t1 = deliver(f, m1, NULL, &error);
	assert_true(t1 > 0);
	gint64 t2 = deliver(f, m2, NULL, &error);
	gint64 t3 = deliver(f, m3, NULL, &error);
	assert_true(t2 > 0 && t3 > 0 && t1 != t2);
	assert_attachment(f, t1, one);
	assert_attachment(f, t2, one);
	assert_attachment(f, t3, other);
	assert_int_equal(dk_test_store_number(f->store, "SELECT count(*) FROM attachments"), 2);
	if (!dk_test_store_is_pg()) {
		g_autofree char *spool = g_build_filename(f->dir, "spool", NULL);
		g_autoptr(GDir) d = g_dir_open(spool, 0, NULL);
		assert_non_null(d); /* made for the attachments' files */
		assert_null(g_dir_read_name(d));
	}
}

/* Several large attachments of one message go into one spill file, one
 * after the other: each is kept whole from its place in it (on SQLite a
 * copy of that part of the file, the whole file being no one's), the same
 * content twice once. */
static void test_large_attachments_share_a_file(void **state)
{
	Fixture *f = *state;
	GBytes *contents[3];
	contents[0] = dk_test_noise(1536 * 1024 + 1, 11);
	contents[1] = dk_test_noise(1200 * 1024 + 2, 12);
	contents[2] = g_bytes_ref(contents[0]);
	GString *m = g_string_new("From: a@example.com\r\nSubject: three dumps\r\n"
	                          "Message-ID: <three@example.com>\r\nMIME-Version: 1.0\r\n"
	                          "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	                          "--b\r\nContent-Type: text/plain\r\n\r\nThree.\r\n");
	for (guint i = 0; i < 3; i++) {
		g_string_append_printf(
		    m,
		    "--b\r\nContent-Type: application/octet-stream; name=d%u.bin\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n",
		    i);
		append_base64(m, contents[i]);
	}
	g_string_append(m, "--b--\r\n");
	g_autoptr(GError) error = NULL;
	gint64 t = deliver(f, m->str, NULL, &error);
	g_string_free(m, TRUE);
	assert_true(t > 0);
	g_autoptr(GPtrArray) all = dk_store_ticket_attachments(f->store, t, &error);
	assert_int_equal(all->len, 3);
	for (guint i = 0; i < 3; i++) {
		const DkStoredAttachment *a = g_ptr_array_index(all, i);
		g_autoptr(GBytes) kept = dk_store_attachment_read(f->store, a, &error);
		assert_non_null(kept);
		assert_true(g_bytes_equal(kept, contents[i]));
	}
	assert_int_equal(dk_test_store_number(f->store, "SELECT count(*) FROM attachments"), 2);
	for (guint i = 0; i < 3; i++)
		g_bytes_unref(contents[i]);
}

/* With no spool to be had (a file where its folder would be), a large
 * attachment is decoded into memory and kept all the same (a warning is
 * logged). */
static void test_large_attachment_kept_without_spool(void **state)
{
	DK_TEST_SQLITE_ONLY();
	Fixture *f = *state;
	g_autofree char *spool = g_build_filename(f->dir, "spool", NULL);
	assert_true(g_file_set_contents(spool, "not a folder", -1, NULL));
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) content = NULL;
	g_autofree char *m = with_large_attachment("nospool@example.com", 1536 * 1024, 3, &content);
	gint64 t = deliver(f, m, NULL, &error);
	assert_true(t > 0);
	assert_attachment(f, t, content);
	assert_true(g_file_test(spool, G_FILE_TEST_IS_REGULAR));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_conversation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_message_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_odd_but_real, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_mail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_item_fails_after_writing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_item_fails_late, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_busy_is_temporary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_search_lag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_search_backoff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_sla, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_attachment_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_attachment_kept_without_spool, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_large_attachments_share_a_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
