/* Tests of the PostgreSQL schema (gateway/store/store-schema-pg.c) against
 * the fixture's cluster: a fresh database migrated to SQLite's schema (the
 * same tables, columns and indexes), a second migration that does
 * nothing, two gateways migrating at once, a newer database refused, a
 * failed migration that leaves nothing, and the search columns. */
#include "dk-test-pg.h"
#include "gateway/store/store-private.h"

#include <sqlite3.h>
#include "gateway/store/store-schema-pg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

typedef struct {
	char *db;     /* the scratch database */
	PGconn *conn; /* to it, as docket */
} Fixture;

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->db = dk_test_pg_create_database("docket_schema");
	f->conn = dk_test_pg_connect(f->db);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	PQfinish(f->conn);
	dk_test_pg_drop_database(f->db);
	g_free(f->db);
	g_free(f);
	return 0;
}

/* The PostgreSQL migrations (17, the whole schema, then one per SQLite
 * migration after it): the rows of schema_version a fresh database gets. */
#define MIGRATIONS (dk_store_pg_schema_latest() - 16)

/* The first column of every row sql returns, as a set. */
static GHashTable *pg_set(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(conn));
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (int i = 0; i < PQntuples(res); i++)
		g_hash_table_add(set, g_strdup(PQgetvalue(res, i, 0)));
	PQclear(res);
	return set;
}

static char *pg_text(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fail_msg("%s: %s", sql, PQerrorMessage(conn));
	char *text = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return text;
}

static gint64 pg_int(PGconn *conn, const char *sql)
{
	g_autofree char *text = pg_text(conn, sql);
	return g_ascii_strtoll(text, NULL, 10);
}

/* The same of SQLite's store at its latest migration. */
static GHashTable *sqlite_set(DkStore *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	while (sqlite3_step(st) == SQLITE_ROW)
		g_hash_table_add(set, g_strdup((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	return set;
}

/* Whether key starts with one of prefixes (a NULL-terminated list). */
static gboolean excepted(const char *key, const char *const *prefixes)
{
	for (guint i = 0; prefixes != NULL && prefixes[i] != NULL; i++)
		if (g_str_has_prefix(key, prefixes[i]))
			return TRUE;
	return FALSE;
}

/* Every element of want is in have, but for those starting with one of
 * except. */
static void assert_subset(GHashTable *want, GHashTable *have, const char *const *except,
                          const char *what)
{
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, want);
	while (g_hash_table_iter_next(&it, &key, NULL))
		if (!excepted(key, except) && !g_hash_table_contains(have, key))
			fail_msg("%s “%s” is missing", what, (const char *)key);
}

/* One side of the comparison of the two schemas: the same facts written
 * as the same text by a query on each. */
static const struct {
	const char *what;
	const char *sqlite, *pg;
} facts[] = {
    /* each column, whether it may be NULL, its default */
    {"column",
     "SELECT m.name || '.' || c.name || CASE WHEN c.\"notnull\" OR c.pk > 0 THEN ' not null'"
     " ELSE '' END || coalesce(' default ' || c.dflt_value, '')"
     " FROM sqlite_master m, pragma_table_xinfo(m.name) c"
     " WHERE m.type = 'table' AND m.name NOT LIKE 'article_search%'",
     "SELECT table_name || '.' || column_name || CASE WHEN is_nullable = 'NO' THEN ' not null'"
     " ELSE '' END || coalesce(' default ' || regexp_replace(column_default, '::[a-z ]+$', ''),"
     " '') FROM information_schema.columns WHERE table_schema = current_schema()"},
    /* each index by name */
    {"index",
     "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'",
     "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
     " AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'"},
    /* how many CHECK constraints each table has */
    {"CHECK count",
     "SELECT name || ' ' || ((length(sql) - length(replace(sql, 'CHECK', ''))) / 5)"
     " FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'article_search%'"
     " AND sql LIKE '%CHECK%'",
     "SELECT conrelid::regclass || ' ' || count(*) FROM pg_constraint WHERE contype = 'c'"
     " AND connamespace = current_schema()::regnamespace GROUP BY conrelid"},
    /* each foreign key with its ON DELETE */
    {"foreign key",
     "SELECT m.name || '.' || f.\"from\" || ' -> ' || f.\"table\" || ' ' || f.on_delete"
     " FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
     "SELECT c.conrelid::regclass || '.' || a.attname || ' -> ' || c.confrelid::regclass || ' '"
     " || CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL'"
     " WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' ELSE 'SET DEFAULT' END"
     " FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid"
     " AND a.attnum = c.conkey[1] WHERE c.contype = 'f'"
     " AND c.connamespace = current_schema()::regnamespace"},
};

static void migrate_ok(PGconn *conn)
{
	g_autoptr(GError) error = NULL;
	gboolean ok = dk_store_pg_schema_migrate(conn, &error);
	if (!ok)
		fail_msg("migrate: %s", error->message);
	assert_true(PQtransactionStatus(conn) == PQTRANS_IDLE);
}

static void test_latest_is_sqlites(void **state)
{
	assert_int_equal(dk_store_pg_schema_latest(), dk_store_schema_latest());
}

/* Every table and column of SQLite's schema with its NOT NULL and
 * default, every index by name, the CHECKs of each table (by number;
 * test_rows tries some) and every foreign key with its ON DELETE
 * is in PostgreSQL's, and nothing else (FTS5's own tables aside:
 * search_vector and its indexes stand for them). */
static void test_fresh_matches_sqlite(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	assert_int_equal(dk_store_pg_schema_version(f->conn, &error), 0);
	migrate_ok(f->conn);
	assert_int_equal(dk_store_pg_schema_version(f->conn, &error), dk_store_pg_schema_latest());

	g_autofree char *dir = dk_test_tmpdir();
	g_autoptr(DkStore) lite = dk_store_open(dir, NULL, &error);
	assert_non_null(lite);
	/* what PostgreSQL has in place of FTS5's tables, and its own (the
	 * indexes of primary keys and UNIQUE are left out on both sides) */
	const char *const pg_only[] = {"articles.search_vector",
	                               "articles_search",
	                               "articles_newest",
	                               "schema_version",
	                               "attachments.data",
	                               "attachments.path",
	                               NULL};
	/* PostgreSQL keeps an attachment's bytes in the database, not in a
	 * file named by path */
	const char *const sqlite_only[] = {"attachments.path not null", NULL};
	for (gsize i = 0; i < G_N_ELEMENTS(facts); i++) {
		g_autoptr(GHashTable) lite_facts = sqlite_set(lite, facts[i].sqlite);
		g_autoptr(GHashTable) pg_facts = pg_set(f->conn, facts[i].pg);
		assert_true(g_hash_table_size(lite_facts) >= 7);
		assert_subset(lite_facts, pg_facts, sqlite_only, facts[i].what);
		assert_subset(pg_facts, lite_facts, pg_only, facts[i].what);
	}
	dk_store_close(g_steal_pointer(&lite));
	dk_test_rmtree(dir);
}

static void test_second_migration_does_nothing(void **state)
{
	Fixture *f = *state;
	migrate_ok(f->conn);
	g_autofree char *before =
	    pg_text(f->conn, "SELECT string_agg(applied_at::text, ',') FROM schema_version");
	migrate_ok(f->conn);
	assert_int_equal(pg_int(f->conn, "SELECT count(*) FROM schema_version"), MIGRATIONS);
	g_autofree char *after =
	    pg_text(f->conn, "SELECT string_agg(applied_at::text, ',') FROM schema_version");
	assert_string_equal(before, after);
}

typedef struct {
	const char *db;
	gboolean ok;
	char *message;
	gint *done; /* counts the migrators that returned */
} Migrator;

static gpointer migrate_thread(gpointer data)
{
	Migrator *m = data;
	PGconn *conn = dk_test_pg_connect(m->db);
	GError *error = NULL;
	m->ok = dk_store_pg_schema_migrate(conn, &error);
	m->message = error ? g_strdup(error->message) : NULL;
	g_clear_error(&error);
	PQfinish(conn);
	g_atomic_int_inc(m->done);
	return NULL;
}

/* Two gateways start at once on a new database: both wait for the lock
 * (held here until both are seen waiting), one migrates, the other finds
 * it done. */
static void test_concurrent_migrations(void **state)
{
	Fixture *f = *state;
	g_autofree char *lock = g_strdup_printf("SELECT pg_advisory_lock(%" G_GINT64_FORMAT ")",
	                                        DK_STORE_PG_LOCK_SCHEMA);
	g_free(pg_text(f->conn, lock));
	gint done = 0;
	Migrator a = {f->db, FALSE, NULL, &done}, b = {f->db, FALSE, NULL, &done};
	GThread *ta = g_thread_new("migrate-a", migrate_thread, &a);
	GThread *tb = g_thread_new("migrate-b", migrate_thread, &b);
	g_autofree char *waiting = g_strdup_printf(
	    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
	    " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = '%s'",
	    f->db);
	while (pg_int(f->conn, waiting) < 2 && g_atomic_int_get(&done) < 2)
		g_usleep(20000);
	g_autofree char *unlock = g_strdup_printf("SELECT pg_advisory_unlock(%" G_GINT64_FORMAT ")",
	                                          DK_STORE_PG_LOCK_SCHEMA);
	g_free(pg_text(f->conn, unlock));
	g_thread_join(ta);
	g_thread_join(tb);
	if (!a.ok || !b.ok)
		fail_msg("a: %s; b: %s", a.message ? a.message : "ok",
		         b.message ? b.message : "ok");
	g_free(a.message);
	g_free(b.message);
	assert_int_equal(pg_int(f->conn, "SELECT count(*) FROM schema_version"), MIGRATIONS);
	assert_int_equal(pg_int(f->conn, "SELECT max(version) FROM schema_version"),
	                 dk_store_pg_schema_latest());
}

static void test_newer_database_refused(void **state)
{
	Fixture *f = *state;
	migrate_ok(f->conn);
	g_autofree char *bump = g_strdup_printf("INSERT INTO schema_version VALUES (%d, now())",
	                                        dk_store_pg_schema_latest() + 1);
	dk_test_pg_exec(f->conn, bump);
	g_autoptr(GError) error = NULL;
	assert_false(dk_store_pg_schema_migrate(f->conn, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	assert_non_null(strstr(error->message, "newer than this docket knows"));
	assert_true(PQtransactionStatus(f->conn) == PQTRANS_IDLE);
	assert_int_equal(pg_int(f->conn, "SELECT count(*) FROM schema_version"), MIGRATIONS + 1);
}

/* A migration that fails part-way leaves the database as it was. */
static void test_failed_migration_changes_nothing(void **state)
{
	Fixture *f = *state;
	dk_test_pg_exec(f->conn, "CREATE TABLE users (id BIGINT)"); /* in the way */
	g_autoptr(GError) error = NULL;
	assert_false(dk_store_pg_schema_migrate(f->conn, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	assert_non_null(strstr(error->message, "migration 17"));
	assert_true(PQtransactionStatus(f->conn) == PQTRANS_IDLE);
	assert_int_equal(pg_int(f->conn, "SELECT (to_regclass('schema_version') IS NULL"
	                                 " AND to_regclass('tickets') IS NULL)::int"),
	                 1);
}

/* A connection the server dropped is a temporary failure: retry later. */
static void test_lost_connection_is_temporary(void **state)
{
	Fixture *f = *state;
	PGconn *admin = dk_test_pg_admin(f->db);
	g_autofree char *kill =
	    g_strdup_printf("SELECT pg_terminate_backend(%d)", PQbackendPID(f->conn));
	g_free(pg_text(admin, kill));
	PQfinish(admin);
	g_autoptr(GError) error = NULL;
	assert_false(dk_store_pg_schema_migrate(f->conn, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_TEMPORARY));
	PQreset(f->conn); /* for teardown */
}

/* What the schema keeps by itself: ids from identity columns, the
 * urgency columns, the search vector (words without diacritics, the
 * subject weighing more) and the trigram index's rows, cascades. */
static void test_rows(void **state)
{
	Fixture *f = *state;
	migrate_ok(f->conn);
	dk_test_pg_exec(f->conn,
	                "INSERT INTO tickets (number, subject, priority, first_response_due,"
	                " created_at, updated_at) VALUES (1, 'Drucker', 'high', 500, 1, 1)");
	assert_int_equal(pg_int(f->conn, "SELECT sla_class * 1000 + sla_key * 10 + priority_rank"
	                                 " FROM tickets"),
	                 5001);
	gint64 first =
	    pg_int(f->conn, "INSERT INTO articles (ticket, direction, visibility, evidence,"
	                    " subject, new_text, created_at) VALUES (1, 'inbound', 'public',"
	                    " 'new', 'Drucker kaputt', 'Der Drucker im Büro druckt nicht.',"
	                    " 1) RETURNING id");
	gint64 second =
	    pg_int(f->conn, "INSERT INTO articles (ticket, direction, visibility, evidence,"
	                    " subject, new_text, created_at) VALUES (1, 'inbound', 'public',"
	                    " 'new', 'プリンター', '日本語のテキスト buro', 2) RETURNING id");
	assert_true(second > first && first > 0);
	/* each word a phrase, all of them; "buro" finds "Büro" */
	assert_int_equal(pg_int(f->conn, "SELECT count(*) FROM articles WHERE search_vector @@"
	                                 " (phraseto_tsquery('docket_search', 'BURO')"
	                                 " && phraseto_tsquery('docket_search', 'druckt'))"),
	                 1);
	assert_int_equal(pg_int(f->conn,
	                        "SELECT id FROM articles, phraseto_tsquery('docket_search',"
	                        " 'drucker') q WHERE search_vector @@ q ORDER BY"
	                        " ts_rank('{0, 0, 0.5, 1}', search_vector, q) DESC LIMIT 1"),
	                 first);
	assert_int_equal(pg_int(f->conn, "SELECT id FROM articles WHERE " DK_STORE_PG_CJK_MATCH
	                                 " AND " DK_STORE_PG_CJK_TEXT " ILIKE '%本語%'"),
	                 second);
	PGresult *res = PQexec(f->conn, "UPDATE tickets SET status = 'pending'");
	assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "23514"); /* CHECK */
	PQclear(res);
	dk_test_pg_exec(f->conn, "INSERT INTO events (ticket, article, type, created_at)"
	                         " VALUES (1, 1, 'created', 1)");
	dk_test_pg_exec(f->conn, "DELETE FROM tickets WHERE number = 1");
	assert_int_equal(pg_int(f->conn, "SELECT (SELECT count(*) FROM articles)"
	                                 " + (SELECT count(*) FROM events)"),
	                 0);
}

/* The plan of sql holds "Bitmap Index Scan on index" when the planner may
 * use nothing else (no sequential scan, no plain index scan): the query's
 * condition is one the index serves. */
static void assert_uses_index(PGconn *conn, const char *sql, const char *index)
{
	dk_test_pg_exec(conn, "SET enable_seqscan = off");
	dk_test_pg_exec(conn, "SET enable_indexscan = off");
	g_autofree char *explain = g_strconcat("EXPLAIN ", sql, NULL);
	PGresult *res = PQexec(conn, explain);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(conn));
	g_autoptr(GString) plan = g_string_new(NULL);
	for (int i = 0; i < PQntuples(res); i++)
		g_string_append_printf(plan, "%s\n", PQgetvalue(res, i, 0));
	PQclear(res);
	g_autofree char *want = g_strconcat("Bitmap Index Scan on ", index, " ", NULL);
	if (strstr(plan->str, want) == NULL)
		fail_msg("%s does not use %s:\n%s", sql, index, plan->str);
	dk_test_pg_exec(conn, "RESET ALL");
}

/* The searches as the notes write them are served by their indexes (the
 * CJK one only when its condition is written as the index's). */
static void test_search_uses_indexes(void **state)
{
	Fixture *f = *state;
	migrate_ok(f->conn);
	assert_uses_index(f->conn,
	                  "SELECT id, ts_rank('{0, 0, 0.5, 1}', search_vector, q) FROM articles,"
	                  " (SELECT phraseto_tsquery('docket_search', 'printer')"
	                  " && phraseto_tsquery('docket_search', 'jam') AS q) w"
	                  " WHERE search_vector @@ q ORDER BY id DESC LIMIT 1000",
	                  "articles_search");
	assert_uses_index(f->conn,
	                  "SELECT id FROM articles WHERE " DK_STORE_PG_CJK_MATCH
	                  " AND " DK_STORE_PG_CJK_TEXT " ILIKE '%日本語%' ORDER BY id DESC",
	                  "articles_search_cjk");
	assert_uses_index(f->conn,
	                  "SELECT count(*) FROM outbox WHERE lower(target) = lower('A@x.example')"
	                  " AND created_at >= 0",
	                  "outbox_target");
}

/* The pages PostgreSQL read (from its buffers or the kernel) to run sql
 * once, by EXPLAIN (ANALYZE, BUFFERS): the plan's top node counts its
 * children's. */
static gint64 pages_read(PGconn *conn, const char *sql)
{
	g_autofree char *explain =
	    g_strconcat("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ", sql, NULL);
	g_autofree char *plan = pg_text(conn, explain);
	gint64 pages = 0;
	const char *const counts[] = {"\"Shared Hit Blocks\": ", "\"Shared Read Blocks\": "};
	for (gsize i = 0; i < G_N_ELEMENTS(counts); i++) {
		const char *at = strstr(plan, counts[i]);
		if (at == NULL)
			fail_msg("no %s in %s", counts[i], plan);
		pages += g_ascii_strtoll(at + strlen(counts[i]), NULL, 10);
	}
	return pages;
}

/* An article whose texts and tsvector cannot all stay in its row: 120
 * words of 33 letters (4 KB of text, a tsvector of about 4.6 KB) as its
 * new text, and again in its full text. Returns its id. */
static gint64 insert_wide_article(PGconn *conn, int seed)
{
	g_autofree char *sql = g_strdup_printf(
	    "WITH words AS (SELECT string_agg('w' || md5((g * %d)::text), ' ') AS t"
	    " FROM generate_series(1, 120) g) INSERT INTO articles (ticket, direction,"
	    " visibility, evidence, subject, new_text, full_text, created_at)"
	    " SELECT 1, 'inbound', 'public', 'new', 'wide', t, 'quoted: ' || t, 1 FROM words"
	    " RETURNING id",
	    seed);
	return pg_int(conn, sql);
}

/* Migration 24: an article's tsvector stays in its row (the texts go to
 * TOAST first), so that reading it to match or rank an article reads no
 * page beyond the row's. With the column's storage set back to
 * PostgreSQL's default, the same article's tsvector is read from TOAST:
 * the count below tells the two apart. */
static void test_search_vector_in_row(void **state)
{
	Fixture *f = *state;
	migrate_ok(f->conn);
	g_autofree char *storage =
	    pg_text(f->conn, "SELECT attstorage FROM pg_attribute WHERE attrelid ="
	                     " 'articles'::regclass AND attname = 'search_vector'");
	assert_string_equal(storage, "m");
	dk_test_pg_exec(f->conn, "INSERT INTO tickets (number, subject, created_at, updated_at)"
	                         " VALUES (1, 'wide', 1, 1)");
	gint64 kept = insert_wide_article(f->conn, 7);
	dk_test_pg_exec(f->conn,
	                "ALTER TABLE articles ALTER COLUMN search_vector SET STORAGE EXTENDED");
	gint64 moved = insert_wide_article(f->conn, 11);
	const gint64 ids[] = {kept, moved};
	gint64 row[2], vector[2];
	for (int i = 0; i < 2; i++) {
		g_autofree char *by_row = g_strdup_printf(
		    "SELECT ticket FROM articles WHERE id = %" G_GINT64_FORMAT, ids[i]);
		g_autofree char *by_vector = g_strdup_printf(
		    "SELECT length(search_vector) FROM articles WHERE id = %" G_GINT64_FORMAT,
		    ids[i]);
		pages_read(f->conn, by_vector); /* the first run reads the catalog */
		row[i] = pages_read(f->conn, by_row);
		vector[i] = pages_read(f->conn, by_vector);
	}
	assert_true(pg_int(f->conn, "SELECT min(length(search_vector)) FROM articles") >= 120);
	assert_int_equal(vector[0], row[0]);
	assert_true(vector[1] > row[1]);
}

int main(void)
{
	dk_test_pg_setenv();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_latest_is_sqlites),
	    cmocka_unit_test_setup_teardown(test_fresh_matches_sqlite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_second_migration_does_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_migrations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_database_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_migration_changes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost_connection_is_temporary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_uses_indexes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_vector_in_row, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
