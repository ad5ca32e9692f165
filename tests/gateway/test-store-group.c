/* Tests of several gateways on one store: a message stored once by a
 * unique constraint (also when two writers race), the outbox claim that
 * skips a row another gateway is claiming, work done by one gateway at a
 * time, and the IMAP lease. Each store connection here stands for a
 * gateway. Run on SQLite and, as gateway-test-store-group-pg, on
 * PostgreSQL. */
#include "dk-test-store.h"
#include "gateway/core/pipeline.h"
#include "gateway/store/store-outbox.h"

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

/* Opens a test that only PostgreSQL's store can run: skipped on SQLite. */
#define PG_ONLY()                                                                                  \
	do {                                                                                       \
		if (!dk_test_store_is_pg())                                                        \
			skip();                                                                    \
	} while (0)

static const char message[] =
    "From: a@example.com\nSubject: twice\nMessage-ID: <twice@example.com>\n\nbody\n";

/* Another connection to the fixture's store: another gateway. */
static DkStore *other_gateway(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	DkStore *s = dk_test_store_open(f->dir, NULL, &error);
	g_assert_no_error(error);
	return s;
}

/* A libpq connection to the fixture's database: a gateway's session
 * outside docket's store, which takes no writers' lock at BEGIN (so the
 * mechanism under test, not that lock, is what keeps the two apart). */
static PGconn *raw_session(Fixture *f)
{
	g_autofree char *db = dk_test_pg_database_of(f->dir);
	return dk_test_pg_connect(db);
}

/* Runs sql (statements, the last may return rows) on a raw session. */
static void raw_exec(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType status = PQresultStatus(res);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
}

static DkOutcome deliver(Fixture *f, const char *text, gint64 *ticket_out, GError **error)
{
	g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
	DkIntake intake = {.intake = "test"};
	DkDelivery d = {0};
	gboolean ok = dk_pipeline_deliver(f->pipeline, raw, &intake, &d, error);
	DkOutcome outcome = ok ? d.outcome : (DkOutcome)-1;
	if (ticket_out != NULL)
		*ticket_out = d.ticket;
	dk_delivery_clear(&d);
	return outcome;
}

/* The fingerprint the pipeline gives text. */
static char *fingerprint_of(Fixture *f, const char *text)
{
	g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
	DkIntake intake = {.intake = "test"};
	g_autoptr(DkPipelineItem) item = dk_pipeline_prepare(f->pipeline, raw, &intake, NULL);
	assert_non_null(item);
	return g_strdup(dk_pipeline_item_message(item)->fingerprint);
}

/* Adds an article of ticket with the message's Message-ID and fingerprint,
 * in s's open transaction; its id, or 0 with error. */
static gint64 add_copy(DkStore *s, gint64 ticket, const char *fingerprint, GError **error)
{
	DkArticle a = {.ticket = ticket,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .subject = "twice",
	               .message_id = "twice@example.com",
	               .fingerprint = (char *)fingerprint,
	               .new_text = "body",
	               .full_text = "body",
	               .created_at = 1};
	return dk_store_article_add(s, &a, error);
}

static gint64 copies(Fixture *f)
{
	return dk_test_store_number(
	    f->store, "SELECT count(*) FROM articles WHERE message_id = 'twice@example.com'");
}

/* The duplicate check is a constraint, not only a look-up: a second
 * article of the same message (Message-ID and fingerprint) is refused as
 * a conflict. */
static void test_article_unique(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	gint64 ticket = 0;
	assert_int_equal(deliver(f, message, &ticket, &error), DK_OUTCOME_CREATED);
	g_autofree char *fingerprint = fingerprint_of(f, message);
	g_autoptr(DkStore) other = other_gateway(f);
	assert_true(dk_store_begin(other, &error));
	assert_int_equal(add_copy(other, ticket, fingerprint, &error), 0);
	assert_non_null(error);
	assert_true(dk_store_conflicted(other));
	dk_store_rollback(other);
	assert_int_equal(copies(f), 1);
}

typedef struct {
	Fixture *f;
	DkOutcome outcome;
	gint64 ticket;
	GError *error;
	gint done;
} Delivery;

static gpointer deliver_thread(gpointer data)
{
	Delivery *d = data;
	d->outcome = deliver(d->f, message, &d->ticket, &d->error);
	g_atomic_int_set(&d->done, 1);
	return NULL;
}

/* Sessions of the fixture's database waiting for a lock. */
static gint64 waiting(PGconn *admin, const char *db)
{
	g_autofree char *sql = g_strdup_printf("SELECT count(*) FROM pg_stat_activity"
	                                       " WHERE datname = '%s' AND wait_event_type = 'Lock'",
	                                       db);
	PGresult *res = PQexec(admin, sql);
	g_assert_true(PQresultStatus(res) == PGRES_TUPLES_OK);
	gint64 n = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

/* Two gateways take the same message at once (Postfix retrying on the
 * other after a timeout): the other gateway has written its article but
 * not committed when this one's writer, having looked and found nothing,
 * inserts its own. That insert waits for the other's commit, conflicts,
 * and the writer takes the message for the duplicate it is: stored once,
 * acknowledged, not an error. */
static void test_racing_writers_store_once(void **state)
{
	PG_ONLY();
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	gint64 ticket = 0;
	assert_int_equal(
	    deliver(f,
	            "From: a@example.com\nSubject: first\nMessage-ID: <first@example.com>\n\nx\n",
	            &ticket, &error),
	    DK_OUTCOME_CREATED);
	g_autofree char *fingerprint = fingerprint_of(f, message);
	PGconn *other = raw_session(f);
	g_autofree char *insert = g_strdup_printf(
	    "BEGIN; INSERT INTO articles (ticket, direction, visibility, evidence, message_id,"
	    " fingerprint, created_at) VALUES (%" G_GINT64_FORMAT ", 'inbound', 'public', 'new',"
	    " 'twice@example.com', '%s', 1)",
	    ticket, fingerprint);
	raw_exec(other, insert);
	Delivery d = {.f = f};
	GThread *thread = g_thread_new("writer", deliver_thread, &d);
	g_autofree char *db = dk_test_pg_database_of(f->dir);
	PGconn *admin = dk_test_pg_admin("postgres");
	/* until the writer waits for the other's commit (or, with no
	 * constraint to wait on, is done) */
	while (waiting(admin, db) == 0 && !g_atomic_int_get(&d.done))
		g_usleep(10000);
	PQfinish(admin);
	raw_exec(other, "COMMIT");
	PQfinish(other);
	g_thread_join(thread);
	g_assert_no_error(d.error);
	assert_int_equal(d.outcome, DK_OUTCOME_DUPLICATE);
	assert_int_equal(d.ticket, ticket);
	assert_int_equal(copies(f), 1);
}

/* An outbox row another gateway is claiming (its transaction open) is
 * skipped at once, neither waited for nor taken twice. */
static void test_outbox_claim_skips_locked(void **state)
{
	PG_ONLY();
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	assert_true(
	    dk_store_outbox_add(f->store, "ack", "a@example.com", 0, "{}", 100, &id, &error));
	PGconn *other = raw_session(f);
	g_autofree char *lock = g_strdup_printf(
	    "BEGIN; SELECT id FROM outbox WHERE id = %" G_GINT64_FORMAT " FOR UPDATE", id);
	raw_exec(other, lock);
	/* Waiting for the row would fail at once: it must not wait. */
	assert_true(dk_store_exec(f->store, "SET lock_timeout = '1ms'", &error));
	gboolean claimed = TRUE;
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_outbox_claim(f->store, id, 100, 500, &claimed, &error));
	g_assert_no_error(error);
	assert_false(claimed);
	dk_store_rollback(f->store);
	raw_exec(other, "COMMIT");
	PQfinish(other);
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_outbox_claim(f->store, id, 100, 500, &claimed, &error));
	assert_true(claimed);
	assert_true(dk_store_commit(f->store, &error));
	/* Claimed until 500: due to nobody before then. */
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_outbox_claim(f->store, id, 200, 900, &claimed, &error));
	assert_false(claimed);
	assert_true(dk_store_outbox_claim(f->store, id, 500, 900, &claimed, &error));
	assert_true(claimed);
	assert_true(dk_store_commit(f->store, &error));
}

/* Work done once across the group: while another gateway does it (its
 * transaction holds the job's lock), this one is told not to; once that
 * transaction ended, it may. */
static void test_job_once(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	gboolean mine = FALSE;
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_job_try(f->store, "sla_check", &mine, &error));
	assert_true(mine);
	if (!dk_test_store_is_pg()) {
		assert_true(dk_store_commit(f->store, &error));
		return; /* one process: always its own */
	}
	dk_store_rollback(f->store);
	PGconn *other = raw_session(f);
	raw_exec(other, "BEGIN; SELECT pg_try_advisory_xact_lock(1685021548,"
	                " hashtext('sla_check'))");
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_job_try(f->store, "sla_check", &mine, &error));
	assert_false(mine);
	/* another job is free */
	assert_true(dk_store_job_try(f->store, "autoclose", &mine, &error));
	assert_true(mine);
	raw_exec(other, "ROLLBACK");
	PQfinish(other);
	assert_true(dk_store_job_try(f->store, "sla_check", &mine, &error));
	assert_true(mine);
	assert_true(dk_store_commit(f->store, &error));
}

/* An IMAP account's lease: one holder, asked again it still holds it
 * (once: the lock is not stacked), the others do not; when the holder's
 * connection ends, the next to ask takes it. */
static void test_lease(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	gboolean held = FALSE;
	assert_true(dk_store_lease_hold(f->store, "imap:support", &held, &error));
	assert_true(held);
	assert_true(dk_store_lease_hold(f->store, "imap:support", &held, &error));
	assert_true(held);
	if (!dk_test_store_is_pg())
		return; /* one process: always the holder */
	DkStore *holder = other_gateway(f);
	g_autoptr(DkStore) standby = other_gateway(f);
	assert_true(dk_store_lease_hold(holder, "imap:support", &held, &error));
	assert_false(held);
	assert_true(dk_store_lease_hold(holder, "imap:sales", &held, &error));
	assert_true(held);
	assert_true(dk_store_lease_hold(holder, "imap:sales", &held, &error));
	assert_true(held);
	assert_int_equal(dk_test_store_number(holder, "SELECT count(*) FROM pg_locks"
	                                              " WHERE locktype = 'advisory'"
	                                              " AND pid = pg_backend_pid()"),
	                 1);
	assert_true(dk_store_lease_hold(standby, "imap:sales", &held, &error));
	assert_false(held);
	dk_store_close(holder);
	/* The server frees the lock once it has ended the holder's session,
	 * which closing the connection only asks for: ask until then (a
	 * bound far above any machine's time for it, not a measure). */
	for (int i = 0; i < 1200; i++) {
		assert_true(dk_store_lease_hold(standby, "imap:sales", &held, &error));
		if (held)
			break;
		g_usleep(50000);
	}
	assert_true(held);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_article_unique, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_racing_writers_store_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outbox_claim_skips_locked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_job_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
