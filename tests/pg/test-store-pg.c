/* The PostgreSQL backend's own behaviour, against the fixture's cluster:
 * a connection the server ends mid-work is a temporary error and the next
 * open works; a unique violation is permanent and recognised as one; a
 * transaction an error aborted fails its commit. (The store's other tests
 * run on PostgreSQL as gateway-<name>-pg.) */
#include "dk-test-store.h"
#include "gateway/store/store-private.h"
#include "gateway/store/store-users.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static char *conninfo;

static int setup(void **state)
{
	(void)state;
	g_autofree char *db = dk_test_pg_create_database("pgcore");
	g_free(conninfo);
	conninfo = dk_test_pg_conninfo(db);
	return 0;
}

static DkStore *open_store_with(const DkStoreOptions *options)
{
	g_autoptr(GError) error = NULL;
	DkStore *s = dk_store_pg_open(conninfo, options, &error);
	g_assert_no_error(error);
	return s;
}

static DkStore *open_store(void)
{
	return open_store_with(NULL);
}

/* The server ends the store's connection in the middle of a transaction
 * (an administrator's pg_terminate_backend, a failover): the next
 * statement fails with a temporary error, nothing of the transaction is
 * kept, the store connects again for the next transaction (not within
 * the lost one), and opening the store again works. */
static void test_connection_lost_is_temporary(void **state)
{
	(void)state;
	g_autoptr(DkStore) s = open_store();
	gint64 pid = dk_test_store_number(s, "SELECT pg_backend_pid()");
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_ticket_create(s, "lost", NULL, 1, &error) > 0);
	PGconn *admin = dk_test_pg_admin(NULL);
	g_autofree char *kill =
	    g_strdup_printf("SELECT pg_terminate_backend(%" G_GINT64_FORMAT ", 10000)", pid);
	PGresult *res = PQexec(admin, kill);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	PQfinish(admin);
	assert_int_equal(dk_store_ticket_create(s, "after", NULL, 2, &error), 0);
	assert_non_null(error);
	assert_true(dk_error_is_temporary(error));
	g_clear_error(&error);
	assert_false(dk_store_commit(s, &error));
	assert_true(dk_error_is_temporary(error));
	g_clear_error(&error);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM tickets"), 0);
	assert_true(dk_store_begin(s, &error));
	assert_int_equal(dk_store_ticket_create(s, "next", NULL, 3, &error), 1);
	assert_true(dk_store_commit(s, &error));
	assert_true(dk_test_store_number(s, "SELECT pg_backend_pid()") != pid);

	g_autoptr(DkStore) again = open_store();
	g_autoptr(GPtrArray) one = dk_store_ticket_list(again, NULL, 0, &error);
	g_assert_no_error(error);
	assert_int_equal(one->len, 1);
	assert_true(dk_store_begin(again, &error));
	assert_int_equal(dk_store_ticket_create(again, "kept", NULL, 4, &error), 2);
	assert_true(dk_store_commit(again, &error));
}

/* A unique violation is permanent and known as one (a user's name taken);
 * the error aborts PostgreSQL's transaction, so its commit fails, and a
 * savepoint rolled back lets it go on, as the writer does. */
static void test_unique_violation(void **state)
{
	(void)state;
	g_autoptr(DkStore) s = open_store();
	g_autoptr(GError) error = NULL;
	gint64 id = 0;
	assert_true(dk_store_user_add(s, "dana", "agent", NULL, NULL, 1, &id, &error));
	assert_true(id > 0);
	assert_false(dk_store_user_add(s, "dana", "agent", NULL, NULL, 1, &id, &error));
	assert_false(dk_error_is_temporary(error));
	assert_non_null(strstr(error->message, "exists already"));
	g_clear_error(&error);

	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_savepoint(s, &error));
	assert_false(dk_store_user_add(s, "dana", "agent", NULL, NULL, 1, &id, &error));
	g_clear_error(&error);
	assert_true(dk_store_rollback_savepoint(s, &error));
	assert_true(dk_store_user_add(s, "erin", "agent", NULL, NULL, 1, &id, &error));
	assert_false(dk_store_user_add(s, "erin", "agent", NULL, NULL, 1, &id, &error));
	g_clear_error(&error);
	assert_false(dk_store_commit(s, &error)); /* aborted by the error */
	assert_false(dk_error_is_temporary(error));
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM users"), 1);
}

/* A lock not granted in time (another gateway's long transaction) is a
 * temporary failure: the message is answered 451 and comes again. */
static void test_lock_timeout_is_temporary(void **state)
{
	(void)state;
	g_autoptr(DkStore) s = open_store();
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_exec(s, "SET lock_timeout = '100ms'", &error));
	PGconn *other = PQconnectdb(conninfo);
	assert_int_equal(PQstatus(other), CONNECTION_OK);
	PGresult *res = PQexec(other, "BEGIN; LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	assert_true(dk_store_begin(s, &error));
	assert_int_equal(dk_store_ticket_create(s, "waits", NULL, 1, &error), 0);
	assert_non_null(error);
	assert_true(dk_error_is_temporary(error));
	/* Committed all the same (a caller that went on): the commit fails
	 * as the lock did, temporarily, not as a permanent refusal. */
	g_clear_error(&error);
	assert_false(dk_store_commit(s, &error));
	assert_true(dk_error_is_temporary(error));
	assert_non_null(strstr(error->message, "lock timeout"));
	dk_store_rollback(s);
	PQfinish(other); /* its transaction ends with it */
	g_clear_error(&error);
	assert_true(dk_store_begin(s, &error));
	assert_int_equal(dk_store_ticket_create(s, "waits", NULL, 1, &error), 1);
	assert_true(dk_store_commit(s, &error));
}

/* dk_store_changes() counts the rows written, as SQLite's total changes
 * do (the writer reads "wrote nothing" from it): an INSERT ... RETURNING
 * counts, a SELECT does not. */
static void test_changes_count_writes(void **state)
{
	(void)state;
	g_autoptr(DkStore) s = open_store();
	g_autoptr(GError) error = NULL;
	gint64 before = dk_store_changes(s);
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_ticket_create(s, "one", NULL, 1, &error) > 0);
	g_autoptr(GPtrArray) list = dk_store_ticket_list(s, NULL, 0, &error);
	assert_int_equal(list->len, 1);
	assert_int_equal(dk_store_changes(s), before + 1);
	g_autoptr(GBytes) raw = g_bytes_new_static("Subject: q\n\nx\n", 14);
	char sha[65];
	assert_true(dk_store_raw_put(s, raw, 1, sha, &error));
	DkQuarantined q = {.raw_sha256 = sha, .reason = "unreadable", .intake = "test"};
	gint64 id = 0;
	assert_true(dk_store_quarantine_add(s, &q, &id, &error));
	assert_true(id > 0);
	assert_int_equal(dk_store_changes(s), before + 3); /* RETURNING counts */
	assert_true(dk_store_commit(s, &error));
	assert_int_equal(dk_store_changes(s), before + 3);
}

static gpointer create_tickets(gpointer data)
{
	(void)data;
	g_autoptr(DkStore) s = open_store();
	for (int i = 0; i < 25; i++) {
		g_autoptr(GError) error = NULL;
		if (!dk_store_begin(s, &error) ||
		    dk_store_ticket_create(s, "parallel", NULL, 1, &error) == 0 ||
		    !dk_store_commit(s, &error))
			return g_strdup(error ? error->message : "failed");
	}
	return NULL;
}

/* Writers in several processes (`docket deliver` runs, gateways) take
 * turns, as with SQLite's BEGIN IMMEDIATE: the number a ticket gets,
 * looked up before it is written, is still free when it is written. */
static void test_writers_take_turns(void **state)
{
	(void)state;
	GThread *threads[3];
	for (guint i = 0; i < G_N_ELEMENTS(threads); i++)
		threads[i] = g_thread_new("writer", create_tickets, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(threads); i++) {
		g_autofree char *failure = g_thread_join(threads[i]);
		assert_null(failure);
	}
	g_autoptr(DkStore) s = open_store();
	assert_int_equal(dk_test_store_number(s, "SELECT count(DISTINCT number) FROM tickets"), 75);
	assert_int_equal(dk_test_store_number(s, "SELECT max(number) FROM tickets"), 75);
}

/* The round trips of what follows from this point: run, then call again. */
static guint64 trips_since(DkStore *s, guint64 *mark)
{
	guint64 now = dk_store_pg_round_trips(s), spent = now - *mark;
	*mark = now;
	return spent;
}

/* An INSERT whose row's id is wanted (an article, an outbox row, a time
 * entry, a user) answers the id in its own result: one
 * round trip once its statement is prepared, not a second for `SELECT
 * lastval()`; and the id is the row's. */
static void test_insert_id_in_one_round_trip(void **state)
{
	(void)state;
	g_autoptr(DkStore) s = open_store();
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(s, &error));
	gint64 ticket = dk_store_ticket_create(s, "ids", NULL, 1, &error);
	assert_true(ticket > 0);
	assert_true(dk_store_written(s, &error)); /* the ticket's row, sent without waiting */
	gint64 ids[4][2] = {{0}};
	guint64 mark = 0;
	for (int i = 0; i < 2; i++) {
		/* the first of each prepares its statement (a round trip more) */
		trips_since(s, &mark);
		ids[0][i] = dk_test_article_add(s, ticket, "subject", "text", 1);
		assert_int_equal(trips_since(s, &mark), i == 0 ? 2 : 1);
		assert_true(dk_store_outbox_add(s, "notify", "x@example.com", ticket, NULL, 1,
		                                &ids[1][i], &error));
		assert_int_equal(trips_since(s, &mark), i == 0 ? 2 : 1);
		assert_true(
		    dk_store_time_entry_add(s, ticket, 5, "call", NULL, 1, &ids[2][i], &error));
		assert_int_equal(trips_since(s, &mark), i == 0 ? 2 : 1);
		g_autofree char *name = g_strdup_printf("agent%d", i);
		assert_true(dk_store_user_add(s, name, "agent", NULL, NULL, 1, &ids[3][i], &error));
		assert_int_equal(trips_since(s, &mark), i == 0 ? 2 : 1);
	}
	g_assert_no_error(error);
	assert_true(dk_store_commit(s, &error));
	const char *tables[] = {"articles", "outbox", "time_entries", "users"};
	for (guint t = 0; t < G_N_ELEMENTS(tables); t++) {
		assert_true(ids[t][0] > 0);
		assert_true(ids[t][1] > ids[t][0]);
		g_autofree char *sql = g_strdup_printf("SELECT max(id) FROM %s", tables[t]);
		assert_int_equal(dk_test_store_number(s, sql), ids[t][1]);
	}
}

/* Writes whose answer nobody reads (dk_store_write_later()) are sent
 * without waiting: in a row, they cost no round trip until a statement
 * that is read, whose round trip answers them too; one that fails fails
 * what reads the answers next (the next statement, dk_store_written(),
 * the commit), named as itself, and a savepoint rolled back lets the
 * transaction go on; outside a transaction a write runs at once. */
static void test_writes_answered_later(void **state)
{
	(void)state;
	g_autoptr(DkStore) s = open_store();
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(s, &error));
	gint64 ticket = dk_store_ticket_create(s, "later", NULL, 1, &error);
	assert_true(ticket > 0);
	guint64 mark = 0;
	for (int round = 0; round < 2; round++) {
		/* the first round prepares the two statements apart */
		assert_true(dk_store_event_add(s, ticket, 0, "note", NULL, 1, &error));
		assert_true(
		    dk_store_participant_add(s, ticket, "a@example.com", DK_ROLE_CC, &error));
		trips_since(s, &mark);
		gint64 changes = dk_store_changes(s);
		for (int i = 0; i < 3; i++)
			assert_true(dk_store_event_add(s, ticket, 0, "note", NULL, 1, &error));
		/* counted as written before their answers come (the writer's
		 * "wrote nothing" must not be said of them) */
		assert_true(dk_store_changes(s) > changes);
		assert_true(
		    dk_store_participant_add(s, ticket, "b@example.com", DK_ROLE_CC, &error));
		assert_int_equal(trips_since(s, &mark), 0);
		gint64 events = 0;
		assert_true(dk_store_lookup_int64(
		    s,
		    dk_store_query(s, "SELECT count(*) FROM events WHERE ticket = ?", &error, "i",
		                   ticket),
		    "counting", &events, NULL, &error));
		assert_int_equal(events, 4 * (round + 1));
		/* the first count is prepared first, so the answers come apart */
		assert_int_equal(trips_since(s, &mark), round == 0 ? 3 : 1);
	}
	assert_true(dk_store_written(s, &error)); /* nothing waits: no round trip */
	assert_int_equal(trips_since(s, &mark), 0);
	assert_true(dk_store_commit(s, &error));
	g_assert_no_error(error);

	/* a failure (no ticket 99999: the foreign key) read by the next
	 * statement, in a savepoint that then rolls back */
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_savepoint(s, &error));
	assert_true(dk_store_event_add(s, 99999, 0, "note", NULL, 1, &error));
	assert_true(dk_store_event_add(s, ticket, 0, "skipped", NULL, 1, &error));
	gint64 n = 0;
	assert_false(
	    dk_store_lookup_int64(s, dk_store_query(s, "SELECT count(*) FROM events", &error, ""),
	                          "counting", &n, NULL, &error));
	assert_non_null(strstr(error->message, "recording an event"));
	assert_false(dk_error_is_temporary(error));
	g_clear_error(&error);
	assert_true(dk_store_transaction_failed(s));
	assert_true(dk_store_rollback_savepoint(s, &error));
	/* read by dk_store_written() */
	assert_true(dk_store_savepoint(s, &error));
	assert_true(dk_store_event_add(s, 99999, 0, "note", NULL, 1, &error));
	assert_false(dk_store_written(s, &error));
	assert_non_null(strstr(error->message, "recording an event"));
	g_clear_error(&error);
	assert_true(dk_store_rollback_savepoint(s, &error));
	assert_true(dk_store_event_add(s, ticket, 0, "kept", NULL, 1, &error));
	assert_true(dk_store_commit(s, &error));
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM events WHERE type = 'kept'"),
	                 1);
	assert_int_equal(
	    dk_test_store_number(s, "SELECT count(*) FROM events WHERE type = 'skipped'"), 0);

	/* read by the commit, which fails: nothing of the transaction stays */
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_event_add(s, ticket, 0, "lost", NULL, 1, &error));
	assert_true(dk_store_event_add(s, 99999, 0, "note", NULL, 1, &error));
	assert_false(dk_store_commit(s, &error));
	assert_non_null(strstr(error->message, "recording an event"));
	g_clear_error(&error);
	dk_store_rollback(s);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM events WHERE type = 'lost'"),
	                 0);

	/* outside a transaction: at once */
	assert_false(dk_store_event_add(s, 99999, 0, "note", NULL, 1, &error));
	assert_non_null(strstr(error->message, "recording an event"));
	assert_false(dk_store_in_transaction(s));
}

/* The writers' lock that a write transaction holds is the advisory lock
 * of key 0x646F636B65740002 ("docket" and 2): pg_locks shows its halves. */
static void test_writers_lock_key(void **state)
{
	(void)state;
	g_autoptr(DkStore) s = open_store();
	g_autoptr(GError) error = NULL;
	const char *held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
	                   " AND pid = pg_backend_pid() AND classid = x'646F636B'::bigint"
	                   " AND objid = x'65740002'::bigint AND objsubid = 1 AND granted";
	assert_int_equal(dk_test_store_number(s, held), 0);
	assert_true(dk_store_begin(s, &error));
	assert_int_equal(dk_test_store_number(s, held), 1);
	assert_true(dk_store_commit(s, &error));
	assert_int_equal(dk_test_store_number(s, held), 0);
}

/* Raw messages of any size are in the database: above inline_max in
 * pieces (raw_chunks), not as a file. */
static void test_raw_in_database(void **state)
{
	(void)state;
	DkStoreOptions options = {.inline_max = 8, .busy_timeout_ms = 100};
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = open_store_with(&options);
	GString *big = g_string_new("Subject: big\n\n");
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(big, "line %d \x01\xff\n", i);
	g_autoptr(GBytes) raw = g_string_free_to_bytes(big);
	char sha[65];
	assert_true(dk_store_raw_put(s, raw, 1, sha, &error));
	g_autoptr(GBytes) back = dk_store_raw_get(s, sha, &error);
	g_assert_no_error(error);
	assert_true(g_bytes_equal(back, raw));
	assert_int_equal(
	    dk_test_store_number(s, "SELECT count(*) FROM raw_messages WHERE data IS NOT NULL"
	                            " AND path IS NULL AND chunks = 1"),
	    1);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM raw_chunks"), 1);
}

/* Reads the row of bin_values with id through a statement of the store's
 * cache and checks each column as every accessor reads it. */
static void check_binary_row(DkStore *s)
{
	g_autoptr(GError) error = NULL;
	DkStmt *st = dk_store_query(s,
	                            "SELECT b, id, i4, i2, flag, t, n, empty FROM bin_values"
	                            " WHERE id = ?",
	                            &error, "i", (gint64)-9000000000);
	g_assert_no_error(error);
	assert_int_equal(dk_stmt_step(st), DK_STMT_ROW);
	gsize n = 0;
	const guint8 *b = dk_stmt_blob(st, 0, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "\0\377A\\", 4);
	assert_int_equal(dk_stmt_int64(st, 1), -9000000000);
	assert_string_equal(dk_stmt_text(st, 1), "-9000000000");
	assert_int_equal(dk_stmt_int64(st, 2), -70000);
	assert_true(dk_stmt_double(st, 2) == -70000.0);
	assert_string_equal(dk_stmt_text(st, 2), "-70000");
	assert_int_equal(dk_stmt_int64(st, 3), -300);
	assert_int_equal(dk_stmt_int64(st, 4), 1);
	assert_string_equal(dk_stmt_text(st, 4), "t");
	assert_string_equal(dk_stmt_text(st, 5), "h\xc3\xa9llo \\x41");
	const char *t = dk_stmt_blob(st, 5, &n);
	assert_int_equal(n, strlen("h\xc3\xa9llo \\x41"));
	assert_memory_equal(t, "h\xc3\xa9llo \\x41", n);
	assert_true(dk_stmt_is_null(st, 6));
	assert_null(dk_stmt_text(st, 6));
	assert_int_equal(dk_stmt_int64(st, 6), 0);
	dk_stmt_blob(st, 7, &n);
	assert_int_equal(n, 0);
	assert_false(dk_stmt_is_null(st, 7));
	assert_int_equal(dk_stmt_step(st), DK_STMT_DONE);
	dk_stmt_reset(st);
}

/* A statement whose result holds a bytea takes its results in binary from
 * its second run on (hex text is twice the bytes): every accessor reads
 * the same values either way (numbers of each width, negative ones, a
 * boolean, text, NULL, an empty bytea); a statement without a bytea stays
 * in text. Pieces of a raw message, read twice, come back the same. */
static void test_binary_results(void **state)
{
	(void)state;
	DkStoreOptions options = {.inline_max = 8, .busy_timeout_ms = 100};
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = open_store_with(&options);
	assert_true(dk_store_exec(s,
	                          "CREATE TABLE bin_values (id BIGINT, b BYTEA, i4 INTEGER,"
	                          " i2 SMALLINT, flag BOOLEAN, t TEXT, n BIGINT, empty BYTEA);"
	                          "INSERT INTO bin_values VALUES (-9000000000, '\\x00ff415c',"
	                          " -70000, -300, TRUE, 'h\xc3\xa9llo \\x41', NULL, '')",
	                          &error));
	g_assert_no_error(error);
	check_binary_row(s);
	assert_int_equal(dk_store_pg_binary_results(s), 0);
	check_binary_row(s);
	check_binary_row(s);
	assert_int_equal(dk_store_pg_binary_results(s), 2);
	for (int i = 0; i < 3; i++)
		assert_int_equal(dk_test_store_number(s, "SELECT i4 FROM bin_values"), -70000);
	assert_int_equal(dk_store_pg_binary_results(s), 2);

	GString *big = g_string_new("Subject: pieces\n\n");
	for (guint i = 0; big->len < 3 * 1024 * 1024; i++)
		g_string_append_printf(big, "line %u \x01\xff\\x00\n", i);
	g_autoptr(GBytes) raw = g_string_free_to_bytes(big);
	char sha[65];
	assert_true(dk_store_raw_put(s, raw, 1, sha, &error));
	assert_true(dk_test_store_number(s, "SELECT count(*) FROM raw_chunks") >= 3);
	for (int i = 0; i < 2; i++) {
		g_autoptr(GBytes) back = dk_store_raw_get(s, sha, &error);
		g_assert_no_error(error);
		assert_true(g_bytes_equal(back, raw));
	}
	assert_true(dk_store_pg_binary_results(s) > 2);
}

int main(void)
{
	dk_test_pg_setenv();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_connection_lost_is_temporary, setup),
	    cmocka_unit_test_setup(test_unique_violation, setup),
	    cmocka_unit_test_setup(test_lock_timeout_is_temporary, setup),
	    cmocka_unit_test_setup(test_changes_count_writes, setup),
	    cmocka_unit_test_setup(test_writers_take_turns, setup),
	    cmocka_unit_test_setup(test_raw_in_database, setup),
	    cmocka_unit_test_setup(test_insert_id_in_one_round_trip, setup),
	    cmocka_unit_test_setup(test_writers_lock_key, setup),
	    cmocka_unit_test_setup(test_binary_results, setup),
	    cmocka_unit_test_setup(test_writes_answered_later, setup),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	g_free(conninfo);
	return failed;
}
