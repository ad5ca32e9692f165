/* Shared between the store's files: store.c (connection and queries) and
 * store-schema.c (migrations). */
#pragma once

#include "gateway/error.h"
#include "gateway/store/store.h"

/* The statement seam: the store's files run every statement through these
 * functions and read its rows through DkStmt, whichever database is behind
 * the store. SQLite is built in (store.c, store-stmt.c); another backend
 * (PostgreSQL, store-pg.c in the network library) registers a table of
 * functions (DkStoreOps) that the seam calls instead. SQL text is
 * written once where both dialects take it: ? or ?N placeholders, which a
 * backend that numbers them differently rewrites when it prepares the
 * statement; where they differ, DK_SQL() picks a string literal per
 * backend (statements are cached by the address of their text). */
typedef struct DkStmt DkStmt;
typedef struct DkStoreOps DkStoreOps;

/* What a backend does for the gateways that share its store: store.h's
 * dk_store_job_try() and dk_store_lease_hold(), which call through the
 * store's table. Every backend has one: SQLite's (store-sqlite.c), where
 * one process writes at a time and every job and lease is the caller's;
 * PostgreSQL's (store-pg.c), advisory locks. */
typedef struct {
	gboolean (*job_try)(DkStore *store, const char *job, gboolean *mine_out, GError **error);
	gboolean (*lease_hold)(DkStore *store, const char *name, gboolean *held_out,
	                       GError **error);
} DkStoreGroupOps;

/* What dk_stmt_step() returns. */
enum { DK_STMT_ERROR = -1, DK_STMT_DONE = 0, DK_STMT_ROW = 1 };

struct DkStore {
	struct sqlite3 *db;           /* SQLite; NULL with another backend */
	const DkStoreOps *backend;    /* NULL for SQLite */
	const DkStoreGroupOps *group; /* the backend's (SQLite's by default) */
	gpointer conn;                /* the other backend's connection */
	char *data_dir;
	DkStoreOptions options;
	GHashTable *statements; /* SQL text -> DkStmt*, prepared once */
	GHashTable *by_address; /* the same statements by the address of their text */
	int wal_frames; /* frames in the WAL after this connection's last commit; -1: none */
	gboolean search_deferred; /* see dk_store_search_defer() */
	gint64 search_after;      /* the articles above this id are not indexed yet */
	gboolean search_cjk;      /* one of them is in a script without spaces */
	guint search_lag;         /* see dk_store_search_lag(); 0: none */
	gint64 search_noted;      /* articles noted for search by the open transaction */
	gboolean search_flushed;  /* which indexed every noted article */
	gint64 search_pending;    /* noted by this connection's commits since its last catch-up */
	gboolean rank_registered; /* dk_rank() is known to this connection */
};

/* sqlite on SQLite, other on any other backend: both string literals. */
#define DK_SQL(store, sqlite, other) ((store)->backend == NULL ? (sqlite) : (other))

/* A list of numbers as one parameter (dk_store_prepare_numbers()): a
 * JSON array that SQLite reads with `IN DK_STORE_NUMBERS_SQLITE`, an array
 * literal that PostgreSQL reads with `= DK_STORE_NUMBERS_PG` (ANY reads
 * its index once a number). */
#define DK_STORE_NUMBERS_SQLITE "(SELECT value FROM json_each(?))"
#define DK_STORE_NUMBERS_PG "ANY (?::bigint[])"
/* sqlite or other, by the store's backend, prepared with the list of
 * numbers bound as its first parameter (any other the caller binds). */
DkStmt *dk_store_prepare_numbers(DkStore *store, const char *sqlite, const char *other,
                                 const gint64 *numbers, guint n, GError **error);

/* The columns of the row dk_stmt_step() stepped to, counted from 0. A
 * text is the statement's until the next step or reset; NULL for SQL
 * NULL. A blob of no bytes may be NULL (size 0). */
gint64 dk_stmt_int64(DkStmt *st, int i);
double dk_stmt_double(DkStmt *st, int i);
const char *dk_stmt_text(DkStmt *st, int i);
gboolean dk_stmt_is_null(DkStmt *st, int i);
const void *dk_stmt_blob(DkStmt *st, int i, gsize *size_out);

/* Binds parameter i (from 1). Texts are copied except by
 * dk_stmt_bind_static(), whose text must live until the statement has run
 * (the statement is reset or stepped to its end). A parameter the
 * statement lacks is ignored. NULL text binds NULL. */
void dk_stmt_bind_int64(DkStmt *st, int i, gint64 value);
void dk_stmt_bind_text(DkStmt *st, int i, const char *value);
void dk_stmt_bind_static(DkStmt *st, int i, const char *value);
void dk_stmt_bind_blob_static(DkStmt *st, int i, const void *data, gsize size);
void dk_stmt_bind_null(DkStmt *st, int i);
/* A row id: 0 (or less) binds NULL. */
void dk_stmt_bind_id(DkStmt *st, int i, gint64 id);

/* Runs the statement (the first call) or moves to its next row:
 * DK_STMT_ROW, DK_STMT_DONE, or DK_STMT_ERROR with the store's error set
 * for dk_store_set_error(). */
int dk_stmt_step(DkStmt *st);
/* Makes the statement ready to run again, keeping its bindings. */
void dk_stmt_reset(DkStmt *st);
/* Resets the statement and drops its bindings. */
void dk_stmt_clear(DkStmt *st);
/* Frees a statement from dk_store_prepare_once() (NULL is ignored). */
void dk_stmt_free(DkStmt *st);

/* A statement prepared for one use (a text made at run time), not cached;
 * free it with dk_stmt_free(). NULL and error on failure. */
DkStmt *dk_store_prepare_once(DkStore *store, const char *sql, GError **error);

/* The rows the last INSERT, UPDATE or DELETE changed. */
gint64 dk_store_last_changes(DkStore *store);
/* Whether the last failure was a unique constraint's. */
gboolean dk_store_failed_unique(DkStore *store);

/* A backend other than SQLite: how the seam reaches it. Columns, binds and
 * steps are those of DkStmt; prepare fills a statement's backend data from
 * its text; exec runs text of one or more statements without result. */
struct DkStoreOps {
	const char *name;
	gboolean (*open)(DkStore *store, const DkConfig *config, GError **error);
	void (*close)(DkStore *store);
	gpointer (*prepare)(DkStore *store, const char *sql, GError **error);
	void (*finalize)(gpointer stmt);
	int (*step)(DkStore *store, gpointer stmt);
	void (*reset)(gpointer stmt);
	void (*clear)(gpointer stmt); /* drops the bindings */
	gint64 (*column_int64)(gpointer stmt, int i);
	double (*column_double)(gpointer stmt, int i);
	const char *(*column_text)(gpointer stmt, int i);
	gboolean (*column_is_null)(gpointer stmt, int i);
	const void *(*column_blob)(gpointer stmt, int i, gsize *size_out);
	/* text NULL binds NULL; size is text's length for a blob, -1 for a
	 * text; copy says whether to copy it; number when text is NULL and
	 * is_number. */
	void (*bind)(gpointer stmt, int i, const char *text, gssize size, gboolean copy,
	             gboolean is_number, gint64 number);
	gboolean (*exec)(DkStore *store, const char *sql, GError **error);
	gint64 (*last_changes)(DkStore *store);
	gint64 (*total_changes)(DkStore *store);
	gboolean (*in_transaction)(DkStore *store);
	/* an open transaction that refuses statements until rolled back */
	gboolean (*transaction_failed)(DkStore *store);
	gboolean (*failed_unique)(DkStore *store);
	void (*set_error)(DkStore *store, GError **error, const char *doing);
	int (*schema_version)(DkStore *store);
	/* makes a statement from prepare one that is kept (dk_store_prepare) */
	void (*name_statement)(gpointer stmt);
	/* makes an INSERT from prepare, not run yet, answer its row's id as
	 * its one row of one column (dk_store_prepare_insert) */
	void (*return_id)(gpointer stmt);
	/* dk_store_begin(): a transaction that writes, one at a time */
	gboolean (*begin)(DkStore *store, GError **error);
	/* dk_store_run_later() inside a transaction (may be NULL: run now):
	 * sends the statement; its answer is read with the next one's */
	gboolean (*run_later)(DkStore *store, gpointer stmt, const char *doing);
	/* dk_store_written(): reads the answers of the statements sent so */
	gboolean (*written)(DkStore *store);
	/* the store's group (DkStore.group) once open */
	const DkStoreGroupOps *group;
};

/* A store with no connection yet: options (NULL: the defaults), the
 * cache of statements and SQLite's group; data_dir may be NULL. */
DkStore *dk_store_new(const char *data_dir, const DkStoreOptions *options);

/* Makes backend the one dk_store_open_config() uses for [store] backend =
 * its name (the network library registers PostgreSQL's at start). */
void dk_store_backend_register(const DkStoreOps *backend);
/* The registered backend of that name, or NULL. */
const DkStoreOps *dk_store_backend_find(const char *name);

/* The cached prepared statement for sql (a string constant: the cache is
 * keyed by its text), reset and ready to bind; NULL and error on failure. */
DkStmt *dk_store_prepare(DkStore *store, const char *sql, GError **error);

/* dk_store_prepare, then binds the arguments that follow as types says:
 * 'i' a gint64, 'n' a row id (0 binds NULL), 's' a string (NULL binds
 * NULL). NULL and error when the statement cannot be prepared. */
DkStmt *dk_store_query(DkStore *store, const char *sql, GError **error, const char *types, ...);

/* The cached statement for sql, an INSERT of one row whose id the caller
 * wants (an INTEGER PRIMARY KEY or an identity column named id), as
 * dk_store_prepare; run it with dk_store_insert_run(). sql is a string
 * constant that only this function prepares; it always inserts its row
 * (no ON CONFLICT DO NOTHING, after which SQLite's last row id would be
 * an earlier row's) and ends where a RETURNING clause may follow. */
DkStmt *dk_store_prepare_insert(DkStore *store, const char *sql, GError **error);

/* Runs st from dk_store_prepare_insert (bound) and resets it; the row's
 * id into *id_out (may be NULL). On SQLite
 * the connection's last row id; on another backend the INSERT's own
 * answer (RETURNING id), read in the same round trip. FALSE with the
 * store's error, doing naming the work, when it fails. */
gboolean dk_store_insert_run(DkStore *store, DkStmt *st, const char *doing, gint64 *id_out,
                             GError **error);

/* dk_store_prepare_insert, the arguments bound as dk_store_query binds
 * them, then dk_store_insert_run. */
gboolean dk_store_insert(DkStore *store, const char *sql, const char *doing, gint64 *id_out,
                         GError **error, const char *types, ...);

/* dk_store_query, then runs the statement: every write that returns no
 * rows. doing names the work in the error. */
gboolean dk_store_write(DkStore *store, const char *sql, const char *doing, GError **error,
                        const char *types, ...);

/* A write whose answer nobody reads: dk_store_write, except that inside a
 * transaction a backend with round trips (PostgreSQL) may send it without
 * waiting for its answer, which it reads with the next statement's
 * (libpq's pipeline mode): a failure then shows there, or at
 * dk_store_written(), or at the commit, named by this doing. Only for a
 * write that changes nothing the caller looks at before its next
 * statement: dk_store_last_changes() says nothing of it, and it must not
 * be one whose failure the caller handles (a unique constraint's). */
gboolean dk_store_write_later(DkStore *store, const char *sql, const char *doing, GError **error,
                              const char *types, ...);
/* The same for a statement prepared and bound by the caller. */
gboolean dk_store_run_later(DkStore *store, DkStmt *st, const char *doing, GError **error);

/* Steps a statement from dk_store_query (NULL: its error stands) once and
 * reads the first column of the row, if any, into *value_out; *found_out
 * (may be NULL) says whether there was a row. */
gboolean dk_store_lookup_int64(DkStore *store, DkStmt *st, const char *doing, gint64 *value_out,
                               gboolean *found_out, GError **error);
/* The same for a text column; *value_out NULL when there is no row. */
gboolean dk_store_lookup_text(DkStore *store, DkStmt *st, const char *doing, char **value_out,
                              GError **error);

/* A copy of a text column, or NULL. */
char *dk_store_column_text(DkStmt *st, int i);

/* Steps st (from dk_store_query or dk_store_prepare, bound) through its
 * rows, calling row(st, data) on each until it returns FALSE (an early
 * stop, not an error), and resets st. FALSE with the store's error, doing
 * naming the work, when a step fails. */
gboolean dk_store_each_row(DkStore *store, DkStmt *st, const char *doing,
                           gboolean (*row)(DkStmt *st, gpointer data), gpointer data,
                           GError **error);

/* A ticket's columns (DkTicket's fields, in its order) of tickets t, with
 * articles the SQL of its article count; and the DkTicket of a row that
 * starts with them. */
#define DK_STORE_TICKET_FIELDS(articles)                                                           \
	"t.number, t.subject, t.status, t.priority, t.queue, t.requester, t.organisation,"         \
	" t.assignee, t.created_at, t.updated_at, " articles ", coalesce(t.closed_at, 0)"
gpointer dk_store_ticket_from_row(DkStmt *st);

/* The elements from_row makes of the rows of st (NULL: st's error
 * stands), in a GPtrArray that frees them with free_func; NULL with the
 * store's error when a step fails. */
GPtrArray *dk_store_collect(DkStore *store, DkStmt *st, const char *doing,
                            gpointer (*from_row)(DkStmt *), GDestroyNotify free_func,
                            GError **error);

/* Steps st, a statement that returns no rows, and resets it; FALSE with
 * the store's error (doing names the work) when it fails. */
gboolean dk_store_run(DkStore *store, DkStmt *st, const char *doing, GError **error);

/* Makes the store's cache of statements (dk_store_prepare). */
void dk_store_statements_init(DkStore *store);

/* Runs sql, one or more statements without rows, unprepared. */
gboolean dk_store_exec(DkStore *store, const char *sql, GError **error);

/* An article's full text as stored beside its new text, which it repeats
 * with white space after in most articles: that white space alone (a
 * pointer into full_text), else full_text itself ("" for NULL). */
const char *dk_store_full_text_stored(const char *new_text, const char *full_text);
/* The full text again from the new text and what was stored (NULL: "");
 * newly allocated. */
char *dk_store_full_text_read(const char *new_text, const char *stored);

/* Sets error from the store's last error, with what was being done;
 * failures that may pass (SQLite: busy, locked, full, I/O; another
 * backend: a lost connection, a conflict between transactions) are
 * DK_ERROR_TEMPORARY. Returns FALSE so that callers can `return
 * dk_store_set_error(...)`. */
gboolean dk_store_set_error(DkStore *store, GError **error, const char *doing);

/* The tickets of numbers[0..n) that exist, in that order (of DkTicket*),
 * read by one statement: on a backend over the network one round trip,
 * not one a ticket. NULL and error on failure. */
GPtrArray *dk_store_tickets_get(DkStore *store, const gint64 *numbers, guint n, GError **error);

/* SQLite's own (store-schema.c, store-rank.c). */
int dk_store_schema_latest(void);
gboolean dk_store_schema_migrate(struct sqlite3 *db, GError **error);
/* The SQLite error of db as error. */
gboolean dk_store_sqlite_error(struct sqlite3 *db, GError **error, const char *doing);
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
