/* Shared between the store's files: store.c (connection and queries) and
 * store-schema.c (migrations). */
#pragma once

#include "gateway/core/error.h"
#include "gateway/core/store.h"

#include <sqlite3.h>

/* Sets error from the connection's last SQLite error, with what was being
 * done; busy, locked, full and I/O errors are DK_ERROR_TEMPORARY. Returns
 * FALSE so that callers can `return dk_store_set_error(...)`. */
struct DkStore {
	sqlite3 *db;
	char *data_dir;
	DkStoreOptions options;
	GHashTable *statements; /* SQL text -> sqlite3_stmt*, prepared once */
};

/* The cached prepared statement for sql (a string constant: the cache is
 * keyed by its text), reset and ready to bind; NULL and error on failure. */
sqlite3_stmt *dk_store_prepare(DkStore *store, const char *sql, GError **error);

/* A copy of a text column, or NULL. */
char *dk_store_column_text(sqlite3_stmt *st, int i);

gboolean dk_store_set_error(sqlite3 *db, GError **error, const char *doing);

int dk_store_schema_latest(void);
gboolean dk_store_schema_migrate(sqlite3 *db, GError **error);
