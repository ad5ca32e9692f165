/* A scratch store for gateway tests: a temporary folder, the default
 * configuration, an open store and a pipeline over it.
 *
 * A test registered a second time as <name>-pg (tests/gateway/
 * CMakeLists.txt) runs with DOCKET_TEST_STORE=postgresql: then every store
 * it opens through dk_test_store_open() is a PostgreSQL one, in a database
 * of the fixture's cluster (tests/pg/) of its own for each folder, made
 * when the folder's store is first opened and named in the folder, so
 * that opening the same folder again finds the same store. */
#pragma once

#include "dk-test-pg.h"
#include "dk-test.h"
#include "gateway/core/pipeline.h"
#include "gateway/outbox/effects.h"
#include "gateway/store/store-pg.h"
#include "gateway/store/store-private.h"

/* Whether this run's stores are PostgreSQL ones. */
static inline gboolean dk_test_store_is_pg(void)
{
	return g_strcmp0(g_getenv("DOCKET_TEST_STORE"), "postgresql") == 0;
}

/* The libpq connection string of database db of the test cluster, with
 * the password of its file. */
static inline char *dk_test_pg_conninfo(const char *db)
{
	g_autofree char *password = NULL;
	g_assert_true(
	    g_file_get_contents(g_getenv("DOCKET_TEST_PG_PASSWORD_FILE"), &password, NULL, NULL));
	g_strchomp(password);
	PQconninfoOption *options = PQconninfoParse(g_getenv("DOCKET_TEST_PG_URL"), NULL);
	g_assert_nonnull(options);
	GString *out = g_string_new(NULL);
	for (PQconninfoOption *o = options; o->keyword != NULL; o++)
		if (o->val != NULL && strcmp(o->keyword, "dbname") != 0)
			g_string_append_printf(out, "%s='%s' ", o->keyword, o->val);
	PQconninfoFree(options);
	g_string_append_printf(out, "dbname='%s' password='%s'", db, password);
	return g_string_free(out, FALSE);
}

/* The database of folder dir: the one named in dir/pg-database, or a new
 * one named there (so a folder removed and made again gets a new one). */
static inline char *dk_test_pg_database_of(const char *dir)
{
	g_assert_true(g_mkdir_with_parents(dir, 0750) == 0);
	g_autofree char *marker = g_build_filename(dir, "pg-database", NULL);
	char *name = NULL;
	if (g_file_get_contents(marker, &name, NULL, NULL))
		return name;
	name = dk_test_pg_create_database("t");
	g_assert_true(g_file_set_contents(marker, name, -1, NULL));
	return name;
}

/* The store of folder dir: dk_store_open(), or on a PostgreSQL run the
 * folder's database. */
static inline DkStore *dk_test_store_open(const char *dir, const DkStoreOptions *options,
                                          GError **error)
{
	if (!dk_test_store_is_pg())
		return dk_store_open(dir, options, error);
	dk_test_pg_setenv();
	g_autofree char *db = dk_test_pg_database_of(dir);
	g_autofree char *conninfo = dk_test_pg_conninfo(db);
	return dk_store_pg_open(conninfo, options, error);
}

typedef struct {
	char *dir;
	DkConfig *config;
	DkStore *store;
	DkPipeline *pipeline;
} DkTestStore;

static inline DkTestStore *dk_test_store_new(void)
{
	DkTestStore *f = g_new0(DkTestStore, 1);
	f->dir = dk_test_tmpdir();
	f->config = dk_config_new_default();
	f->store = dk_test_store_open(f->dir, NULL, NULL);
	g_assert_nonnull(f->store);
	f->pipeline = dk_pipeline_new(f->config, f->store, &dk_outbox_effects);
	return f;
}

static inline void dk_test_store_free(DkTestStore *f)
{
	dk_pipeline_free(f->pipeline);
	dk_store_close(f->store);
	dk_config_free(f->config);
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
}

/* An inbound public article of ticket with that subject and text, made at
 * at; its id. The test stops when the store refuses it. */
static inline gint64 dk_test_article_add(DkStore *s, gint64 ticket, const char *subject,
                                         const char *text, gint64 at)
{
	DkArticle a = {.ticket = ticket,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .subject = (char *)subject,
	               .new_text = (char *)text,
	               .full_text = (char *)text,
	               .created_at = at};
	g_autoptr(GError) error = NULL;
	gint64 id = dk_store_article_add(s, &a, &error);
	g_assert_no_error(error);
	return id;
}

/* The number sql selects (first column of its first row), on either
 * backend; the test stops when there is none. */
static inline gint64 dk_test_store_number(DkStore *s, const char *sql)
{
	DkStmt *st = dk_store_prepare_once(s, sql, NULL);
	g_assert_nonnull(st);
	g_assert_cmpint(dk_stmt_step(st), ==, DK_STMT_ROW);
	gint64 v = dk_stmt_int64(st, 0);
	dk_stmt_free(st);
	return v;
}

/* Opens a cmocka test that only SQLite's store can run (it reads SQLite's
 * pragmas or files, or SQLite's locking): skipped on a PostgreSQL run. */
#define DK_TEST_SQLITE_ONLY()                                                                      \
	do {                                                                                       \
		if (dk_test_store_is_pg())                                                         \
			skip();                                                                    \
	} while (0)
