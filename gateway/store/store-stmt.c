/* The statement seam (store-private.h): DkStmt over SQLite, called
 * directly, or over the backend a store was opened with, called through
 * its table. The SQLite side is what it was before the seam: a statement
 * is a prepared sqlite3_stmt, cached by the address of its text. */
#include "gateway/store/store-private.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>

struct DkStmt {
	sqlite3_stmt *lite; /* SQLite; NULL with another backend */
	DkStore *store;
	gpointer other; /* the other backend's statement */
	const char *sql;
	gboolean returns_id; /* from dk_store_prepare_insert() */
};

gint64 dk_stmt_int64(DkStmt *st, int i)
{
	if (G_LIKELY(st->lite != NULL))
		return sqlite3_column_int64(st->lite, i);
	return st->store->backend->column_int64(st->other, i);
}

double dk_stmt_double(DkStmt *st, int i)
{
	if (G_LIKELY(st->lite != NULL))
		return sqlite3_column_double(st->lite, i);
	return st->store->backend->column_double(st->other, i);
}

const char *dk_stmt_text(DkStmt *st, int i)
{
	if (G_LIKELY(st->lite != NULL))
		return (const char *)sqlite3_column_text(st->lite, i);
	return st->store->backend->column_text(st->other, i);
}

gboolean dk_stmt_is_null(DkStmt *st, int i)
{
	if (G_LIKELY(st->lite != NULL))
		return sqlite3_column_type(st->lite, i) == SQLITE_NULL;
	return st->store->backend->column_is_null(st->other, i);
}

const void *dk_stmt_blob(DkStmt *st, int i, gsize *size_out)
{
	if (G_LIKELY(st->lite != NULL)) {
		const void *p = sqlite3_column_blob(st->lite, i);
		*size_out = (gsize)sqlite3_column_bytes(st->lite, i);
		return p;
	}
	return st->store->backend->column_blob(st->other, i, size_out);
}

void dk_stmt_bind_int64(DkStmt *st, int i, gint64 value)
{
	if (G_LIKELY(st->lite != NULL))
		sqlite3_bind_int64(st->lite, i, value);
	else
		st->store->backend->bind(st->other, i, NULL, -1, TRUE, TRUE, value);
}

static void bind_text(DkStmt *st, int i, const char *value, gboolean copy)
{
	if (G_LIKELY(st->lite != NULL) && value == NULL)
		sqlite3_bind_null(st->lite, i);
	else if (G_LIKELY(st->lite != NULL))
		sqlite3_bind_text(st->lite, i, value, -1, copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
	else
		st->store->backend->bind(st->other, i, value, -1, copy, FALSE, 0);
}

void dk_stmt_bind_text(DkStmt *st, int i, const char *value)
{
	bind_text(st, i, value, TRUE);
}

void dk_stmt_bind_static(DkStmt *st, int i, const char *value)
{
	bind_text(st, i, value, FALSE);
}

void dk_stmt_bind_blob_static(DkStmt *st, int i, const void *data, gsize size)
{
	if (data == NULL)
		data = "";
	if (G_LIKELY(st->lite != NULL))
		sqlite3_bind_blob64(st->lite, i, data, size, SQLITE_STATIC);
	else
		st->store->backend->bind(st->other, i, data, (gssize)size, FALSE, FALSE, 0);
}

void dk_stmt_bind_null(DkStmt *st, int i)
{
	bind_text(st, i, NULL, FALSE);
}

void dk_stmt_bind_id(DkStmt *st, int i, gint64 id)
{
	if (id <= 0)
		dk_stmt_bind_null(st, i);
	else
		dk_stmt_bind_int64(st, i, id);
}

int dk_stmt_step(DkStmt *st)
{
	if (G_LIKELY(st->lite != NULL)) {
		int rc = sqlite3_step(st->lite);
		return rc == SQLITE_ROW    ? DK_STMT_ROW
		       : rc == SQLITE_DONE ? DK_STMT_DONE
		                           : DK_STMT_ERROR;
	}
	return st->store->backend->step(st->store, st->other);
}

void dk_stmt_reset(DkStmt *st)
{
	if (G_LIKELY(st->lite != NULL))
		sqlite3_reset(st->lite);
	else
		st->store->backend->reset(st->other);
}

void dk_stmt_clear(DkStmt *st)
{
	if (G_LIKELY(st->lite != NULL)) {
		sqlite3_reset(st->lite);
		sqlite3_clear_bindings(st->lite);
	} else {
		st->store->backend->reset(st->other);
		st->store->backend->clear(st->other);
	}
}

void dk_stmt_free(DkStmt *st)
{
	if (st == NULL)
		return;
	if (st->lite != NULL)
		sqlite3_finalize(st->lite);
	else if (st->other != NULL)
		st->store->backend->finalize(st->other);
	g_free(st);
}

gboolean dk_store_sqlite_error(sqlite3 *db, GError **error, const char *doing)
{
	int code = sqlite3_extended_errcode(db);
	int primary = code & 0xff;
	gboolean temporary = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ||
	                     primary == SQLITE_FULL || primary == SQLITE_IOERR ||
	                     primary == SQLITE_CANTOPEN || primary == SQLITE_NOMEM ||
	                     primary == SQLITE_PROTOCOL || primary == SQLITE_READONLY;
	g_set_error(error, DK_ERROR, temporary ? DK_ERROR_TEMPORARY : DK_ERROR_PERMANENT,
	            "store: %s: %s", doing, sqlite3_errmsg(db));
	return FALSE;
}

gboolean dk_store_set_error(DkStore *store, GError **error, const char *doing)
{
	if (store->backend == NULL)
		return dk_store_sqlite_error(store->db, error, doing);
	store->backend->set_error(store, error, doing);
	return FALSE;
}

gint64 dk_store_last_changes(DkStore *store)
{
	if (store->backend == NULL)
		return sqlite3_changes64(store->db);
	return store->backend->last_changes(store);
}

gboolean dk_store_failed_unique(DkStore *store)
{
	if (store->backend == NULL)
		return sqlite3_extended_errcode(store->db) == SQLITE_CONSTRAINT_UNIQUE;
	return store->backend->failed_unique(store);
}

gboolean dk_store_exec(DkStore *store, const char *sql, GError **error)
{
	if (store->backend != NULL)
		return store->backend->exec(store, sql, error);
	if (sqlite3_exec(store->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return dk_store_sqlite_error(store->db, error, sql);
	return TRUE;
}

/* A new statement for sql, which must outlive it. */
static DkStmt *stmt_new(DkStore *store, const char *sql, gboolean persistent, GError **error)
{
	DkStmt *st = g_new0(DkStmt, 1);
	st->store = store;
	st->sql = sql;
	if (store->backend != NULL) {
		st->other = store->backend->prepare(store, sql, error);
		if (st->other == NULL) {
			g_free(st);
			return NULL;
		}
		return st;
	}
	unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0;
	if (sqlite3_prepare_v3(store->db, sql, -1, flags, &st->lite, NULL) != SQLITE_OK) {
		dk_store_sqlite_error(store->db, error, "preparing a statement");
		sqlite3_finalize(st->lite);
		g_free(st);
		return NULL;
	}
	return st;
}

DkStmt *dk_store_prepare_once(DkStore *store, const char *sql, GError **error)
{
	return stmt_new(store, sql, FALSE, error);
}

void dk_store_statements_init(DkStore *store)
{
	store->statements =
	    g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)dk_stmt_free);
	store->by_address = g_hash_table_new(g_direct_hash, g_direct_equal);
}

/* The statement prepared for this text, found by its address first:
 * callers pass string literals, and hashing the whole text of a statement
 * for every use was a twentieth of the writer's work. The text confirms
 * what the address found. */
static DkStmt *prepared(DkStore *s, const char *sql)
{
	DkStmt *st = g_hash_table_lookup(s->by_address, sql);
	if (st != NULL && strcmp(st->sql, sql) == 0)
		return st;
	st = g_hash_table_lookup(s->statements, sql);
	if (st != NULL)
		g_hash_table_insert(s->by_address, (gpointer)sql, st);
	return st;
}

/* The cached statement for sql; a new one is an INSERT that answers its
 * row's id on a backend that can (dk_store_prepare_insert) when
 * returns_id. */
static DkStmt *cached(DkStore *s, const char *sql, gboolean returns_id, GError **error)
{
	DkStmt *st = prepared(s, sql);
	if (st != NULL) {
		g_assert(st->returns_id == returns_id); /* one text, one way to prepare it */
		dk_stmt_clear(st);
		return st;
	}
	st = stmt_new(s, sql, TRUE, error);
	if (st == NULL)
		return NULL;
	st->returns_id = returns_id;
	if (st->other != NULL)
		s->backend->name_statement(st->other);
	if (st->other != NULL && returns_id)
		s->backend->return_id(st->other);
	g_hash_table_insert(s->statements, (gpointer)sql, st);
	g_hash_table_insert(s->by_address, (gpointer)sql, st);
	return st;
}

DkStmt *dk_store_prepare(DkStore *s, const char *sql, GError **error)
{
	return cached(s, sql, FALSE, error);
}

DkStmt *dk_store_prepare_insert(DkStore *s, const char *sql, GError **error)
{
	return cached(s, sql, TRUE, error);
}

gboolean dk_store_insert_run(DkStore *s, DkStmt *st, const char *doing, gint64 *id_out,
                             GError **error)
{
	int rc = dk_stmt_step(st);
	gint64 id = 0;
	if (st->lite != NULL)
		id = sqlite3_last_insert_rowid(s->db);
	else if (rc == DK_STMT_ROW)
		id = dk_stmt_int64(st, 0);
	if (rc == DK_STMT_ERROR)
		dk_store_set_error(s, error, doing);
	else if (id_out != NULL)
		*id_out = id;
	dk_stmt_reset(st);
	return rc != DK_STMT_ERROR;
}

/* Steps a statement that returns no rows. */
gboolean dk_store_run(DkStore *s, DkStmt *st, const char *doing, GError **error)
{
	int rc = dk_stmt_step(st);
	if (rc == DK_STMT_ERROR)
		dk_store_set_error(s, error, doing);
	dk_stmt_reset(st);
	return rc != DK_STMT_ERROR;
}

static void bind_values(DkStmt *st, const char *types, va_list ap)
{
	for (int i = 0; types[i] != '\0'; i++) {
		if (types[i] == 's') {
			dk_stmt_bind_text(st, i + 1, va_arg(ap, const char *));
		} else if (types[i] == 'n') {
			dk_stmt_bind_id(st, i + 1, va_arg(ap, gint64));
		} else {
			dk_stmt_bind_int64(st, i + 1, va_arg(ap, gint64));
		}
	}
}

static DkStmt *query_va(DkStore *store, const char *sql, GError **error, const char *types,
                        va_list ap)
{
	DkStmt *st = dk_store_prepare(store, sql, error);
	if (st != NULL)
		bind_values(st, types, ap);
	return st;
}

DkStmt *dk_store_query(DkStore *store, const char *sql, GError **error, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	DkStmt *st = query_va(store, sql, error, types, ap);
	va_end(ap);
	return st;
}

gboolean dk_store_insert(DkStore *store, const char *sql, const char *doing, gint64 *id_out,
                         GError **error, const char *types, ...)
{
	DkStmt *st = dk_store_prepare_insert(store, sql, error);
	if (st == NULL)
		return FALSE;
	va_list ap;
	va_start(ap, types);
	bind_values(st, types, ap);
	va_end(ap);
	return dk_store_insert_run(store, st, doing, id_out, error);
}

gboolean dk_store_write(DkStore *store, const char *sql, const char *doing, GError **error,
                        const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	DkStmt *st = query_va(store, sql, error, types, ap);
	va_end(ap);
	return st != NULL && dk_store_run(store, st, doing, error);
}

gboolean dk_store_run_later(DkStore *store, DkStmt *st, const char *doing, GError **error)
{
	if (st->lite != NULL || store->backend->run_later == NULL ||
	    !dk_store_in_transaction(store))
		return dk_store_run(store, st, doing, error);
	gboolean ok = store->backend->run_later(store, st->other, doing);
	if (!ok)
		dk_store_set_error(store, error, doing);
	dk_stmt_reset(st);
	return ok;
}

gboolean dk_store_write_later(DkStore *store, const char *sql, const char *doing, GError **error,
                              const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	DkStmt *st = query_va(store, sql, error, types, ap);
	va_end(ap);
	return st != NULL && dk_store_run_later(store, st, doing, error);
}

gboolean dk_store_written(DkStore *store, GError **error)
{
	if (store->backend == NULL || store->backend->written == NULL ||
	    store->backend->written(store))
		return TRUE;
	dk_store_set_error(store, error, "writing");
	return FALSE;
}

/* Steps st once: the first column of the row, if there is one. */
static gboolean lookup(DkStore *store, DkStmt *st, const char *doing, gint64 *number_out,
                       char **text_out, gboolean *found_out, GError **error)
{
	if (st == NULL)
		return FALSE;
	int rc = dk_stmt_step(st);
	gboolean found = rc == DK_STMT_ROW;
	if (found_out != NULL)
		*found_out = found;
	if (found && number_out != NULL)
		*number_out = dk_stmt_int64(st, 0);
	if (found && text_out != NULL)
		*text_out = dk_store_column_text(st, 0);
	if (rc == DK_STMT_ERROR)
		dk_store_set_error(store, error, doing);
	dk_stmt_reset(st);
	return rc != DK_STMT_ERROR;
}

gboolean dk_store_lookup_int64(DkStore *store, DkStmt *st, const char *doing, gint64 *value_out,
                               gboolean *found_out, GError **error)
{
	return lookup(store, st, doing, value_out, NULL, found_out, error);
}

gboolean dk_store_lookup_text(DkStore *store, DkStmt *st, const char *doing, char **value_out,
                              GError **error)
{
	*value_out = NULL;
	return lookup(store, st, doing, NULL, value_out, NULL, error);
}

char *dk_store_column_text(DkStmt *st, int i)
{
	return g_strdup(dk_stmt_text(st, i));
}

gboolean dk_store_each_row(DkStore *store, DkStmt *st, const char *doing,
                           gboolean (*row)(DkStmt *st, gpointer data), gpointer data,
                           GError **error)
{
	if (st == NULL)
		return FALSE;
	int rc;
	while ((rc = dk_stmt_step(st)) == DK_STMT_ROW) {
		if (!row(st, data)) {
			rc = DK_STMT_DONE;
			break;
		}
	}
	if (rc == DK_STMT_ERROR)
		dk_store_set_error(store, error, doing);
	dk_stmt_reset(st);
	return rc != DK_STMT_ERROR;
}

static char *numbers_param(DkStore *store, const gint64 *numbers, guint n)
{
	GString *list = g_string_new(DK_SQL(store, "[", "{"));
	for (guint i = 0; i < n; i++)
		g_string_append_printf(list, "%s%" G_GINT64_FORMAT, i ? "," : "", numbers[i]);
	g_string_append(list, DK_SQL(store, "]", "}"));
	return g_string_free(list, FALSE);
}

DkStmt *dk_store_prepare_numbers(DkStore *store, const char *sqlite, const char *other,
                                 const gint64 *numbers, guint n, GError **error)
{
	DkStmt *st = dk_store_prepare(store, DK_SQL(store, sqlite, other), error);
	if (st == NULL)
		return NULL;
	g_autofree char *list = numbers_param(store, numbers, n);
	dk_stmt_bind_text(st, 1, list);
	return st;
}
