/* Shared between the store's files: store.c (connection and queries) and
 * store-schema.c (migrations). */
#pragma once

#include "gateway/error.h"
#include "gateway/store/store.h"

#include <sqlite3.h>

/* Sets error from the connection's last SQLite error, with what was being
 * done; busy, locked, full and I/O errors are DK_ERROR_TEMPORARY. Returns
 * FALSE so that callers can `return dk_store_set_error(...)`. */
struct DkStore {
	sqlite3 *db;
	char *data_dir;
	DkStoreOptions options;
	GHashTable *statements; /* SQL text -> sqlite3_stmt*, prepared once */
	GHashTable *by_address; /* the same statements by the address of their text */
	int wal_frames; /* frames in the WAL after this connection's last commit; -1: none */
	gboolean search_deferred; /* see dk_store_search_defer() */
	gint64 search_after;      /* the articles above this id are not indexed yet */
	gboolean search_cjk;      /* one of them is in a script without spaces */
	gboolean rank_registered; /* dk_rank() is known to this connection */
};

/* The cached prepared statement for sql (a string constant: the cache is
 * keyed by its text), reset and ready to bind; NULL and error on failure. */
sqlite3_stmt *dk_store_prepare(DkStore *store, const char *sql, GError **error);

/* dk_store_prepare, then binds the arguments that follow as types says:
 * 'i' a gint64, 'n' a row id (0 binds NULL), 's' a string (NULL binds
 * NULL). NULL and error when the statement cannot be prepared. */
sqlite3_stmt *dk_store_query(DkStore *store, const char *sql, GError **error, const char *types,
                             ...);

/* dk_store_query, then runs the statement: every write that returns no
 * rows. doing names the work in the error. */
gboolean dk_store_write(DkStore *store, const char *sql, const char *doing, GError **error,
                        const char *types, ...);

/* Steps a statement from dk_store_query (NULL: its error stands) once and
 * reads the first column of the row, if any, into *value_out; *found_out
 * (may be NULL) says whether there was a row. */
gboolean dk_store_lookup_int64(DkStore *store, sqlite3_stmt *st, const char *doing,
                               gint64 *value_out, gboolean *found_out, GError **error);
/* The same for a text column; *value_out NULL when there is no row. */
gboolean dk_store_lookup_text(DkStore *store, sqlite3_stmt *st, const char *doing, char **value_out,
                              GError **error);

/* A copy of a text column, or NULL. */
char *dk_store_column_text(sqlite3_stmt *st, int i);

/* Steps st (from dk_store_query or dk_store_prepare, bound) through its
 * rows, calling row(st, data) on each until it returns FALSE (an early
 * stop, not an error), and resets st. FALSE with the store's error, doing
 * naming the work, when a step fails. */
gboolean dk_store_each_row(DkStore *store, sqlite3_stmt *st, const char *doing,
                           gboolean (*row)(sqlite3_stmt *st, gpointer data), gpointer data,
                           GError **error);

/* The elements from_row makes of the rows of st (NULL: st's error
 * stands), in a GPtrArray that frees them with free_func; NULL with the
 * store's error when a step fails. */
GPtrArray *dk_store_collect(DkStore *store, sqlite3_stmt *st, const char *doing,
                            gpointer (*from_row)(sqlite3_stmt *), GDestroyNotify free_func,
                            GError **error);

gboolean dk_store_set_error(sqlite3 *db, GError **error, const char *doing);

int dk_store_schema_latest(void);
gboolean dk_store_schema_migrate(sqlite3 *db, GError **error);

/* Scripts written without spaces between words (Han, kana, Hangul,
 * fullwidth forms): FTS5's unicode61 tokenizer takes a whole run of them
 * for one word, so their articles are indexed a second time, by
 * trigrams, in article_search_cjk. This is the SQL test for a row. */
#define DK_STORE_CJK_GLOB "(subject || ' ' || new_text) GLOB '*[⺀-鿿가-힯豈-﫿＀-￯]*'"

/* Adds dk_rank() (store-rank.c), the rank of search hits, to the
 * connection, once. */
gboolean dk_store_rank_register(DkStore *store, GError **error);

/* Whether text holds a character of those scripts. */
gboolean dk_store_has_cjk(const char *text);
