/* Users, API tokens and sessions in the store (store-users.h). */
#include "gateway/store/store-users.h"

#include "gateway/store/store-private.h"

void dk_user_row_free(DkUserRow *row)
{
	if (row == NULL)
		return;
	g_free(row->name);
	g_free(row->role);
	g_free(row->email);
	g_free(row->display_name);
	g_free(row->password_hash);
	g_free(row);
}

gboolean dk_store_user_add(DkStore *store, const char *name, const char *role, const char *email,
                           const char *display_name, gint64 now, gint64 *id_out, GError **error)
{
	if (dk_store_insert(store,
	                    "INSERT INTO users (name, role, email, display_name, created_at)"
	                    " VALUES (?, ?, ?, ?, ?)",
	                    "adding a user", id_out, error, "ssssi", name, role, email,
	                    display_name, now))
		return TRUE;
	if (dk_store_failed_unique(store)) {
		g_clear_error(error);
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "user %s exists already", name);
	}
	return FALSE;
}

#define USER_SELECT                                                                                \
	"SELECT id, name, role, email, display_name, password_hash, disabled, created_at FROM "    \
	"users"

static gpointer user_from_row(DkStmt *st)
{
	DkUserRow *u = g_new0(DkUserRow, 1);
	u->id = dk_stmt_int64(st, 0);
	u->name = dk_store_column_text(st, 1);
	u->role = dk_store_column_text(st, 2);
	u->email = dk_store_column_text(st, 3);
	u->display_name = dk_store_column_text(st, 4);
	u->password_hash = dk_store_column_text(st, 5);
	u->disabled = (int)dk_stmt_int64(st, 6) != 0;
	u->created_at = dk_stmt_int64(st, 7);
	return u;
}

static DkUserRow *user_one(DkStore *store, DkStmt *st, const char *who, GError **error)
{
	g_autoptr(GPtrArray) rows = dk_store_collect(store, st, "reading a user", user_from_row,
	                                             (GDestroyNotify)dk_user_row_free, error);
	if (rows == NULL)
		return NULL;
	if (rows->len == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no user %s", who);
		return NULL;
	}
	return g_ptr_array_steal_index(rows, 0);
}

DkUserRow *dk_store_user_get(DkStore *store, const char *name, GError **error)
{
	DkStmt *st = dk_store_query(store, USER_SELECT " WHERE name = ?", error, "s", name);
	return user_one(store, st, name, error);
}

DkUserRow *dk_store_user_get_id(DkStore *store, gint64 id, GError **error)
{
	g_autofree char *who = g_strdup_printf("%" G_GINT64_FORMAT, id);
	DkStmt *st = dk_store_query(store, USER_SELECT " WHERE id = ?", error, "i", id);
	return user_one(store, st, who, error);
}

GPtrArray *dk_store_user_list(DkStore *store, GError **error)
{
	DkStmt *st = dk_store_query(store, USER_SELECT " ORDER BY name", error, "");
	return dk_store_collect(store, st, "reading the users", user_from_row,
	                        (GDestroyNotify)dk_user_row_free, error);
}

/* Fails with DK_ERROR_NOT_FOUND when the last write changed no row. */
static gboolean changed_some(DkStore *store, const char *what, GError **error)
{
	if (dk_store_last_changes(store) > 0)
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no %s", what);
	return FALSE;
}

gboolean dk_store_user_set(DkStore *store, const char *name, DkUserColumn column, const char *value,
                           GError **error)
{
	static const char *const sql[] = {
	    [DK_USER_COLUMN_PASSWORD_HASH] = "UPDATE users SET password_hash = ? WHERE name = ?",
	    [DK_USER_COLUMN_ROLE] = "UPDATE users SET role = ? WHERE name = ?",
	    [DK_USER_COLUMN_DISABLED] = "UPDATE users SET disabled = ? WHERE name = ?",
	    [DK_USER_COLUMN_EMAIL] = "UPDATE users SET email = ? WHERE name = ?",
	    [DK_USER_COLUMN_DISPLAY_NAME] = "UPDATE users SET display_name = ? WHERE name = ?",
	};
	g_autofree char *what = g_strdup_printf("user %s", name);
	gboolean ok =
	    column == DK_USER_COLUMN_DISABLED
	        ? dk_store_write(store, sql[column], "changing a user", error, "is",
	                         (gint64)(g_strcmp0(value, "1") == 0), name)
	        : dk_store_write(store, sql[column], "changing a user", error, "ss", value, name);
	return ok && changed_some(store, what, error);
}

gboolean dk_store_token_add(DkStore *store, gint64 user, const char *sha256, const char *label,
                            gint64 now, gint64 *id_out, GError **error)
{
	return dk_store_insert(store,
	                       "INSERT INTO api_tokens (\"user\", sha256, label, created_at)"
	                       " VALUES (?, ?, ?, ?)",
	                       "adding an API token", id_out, error, "issi", user, sha256, label,
	                       now);
}

gboolean dk_store_token_find(DkStore *store, const char *sha256, gint64 *user_out,
                             gboolean *found_out, GError **error)
{
	DkStmt *st = dk_store_query(
	    store, "SELECT \"user\" FROM api_tokens WHERE sha256 = ? AND revoked_at IS NULL", error,
	    "s", sha256);
	return dk_store_lookup_int64(store, st, "reading an API token", user_out, found_out, error);
}

void dk_token_row_free(DkTokenRow *row)
{
	if (row == NULL)
		return;
	g_free(row->label);
	g_free(row);
}

static gpointer token_from_row(DkStmt *st)
{
	DkTokenRow *t = g_new0(DkTokenRow, 1);
	t->id = dk_stmt_int64(st, 0);
	t->label = dk_store_column_text(st, 1);
	t->created_at = dk_stmt_int64(st, 2);
	t->revoked_at = dk_stmt_int64(st, 3);
	return t;
}

GPtrArray *dk_store_tokens(DkStore *store, gint64 user, GError **error)
{
	DkStmt *st = dk_store_query(store,
	                            "SELECT id, label, created_at, coalesce(revoked_at, 0)"
	                            " FROM api_tokens WHERE \"user\" = ? ORDER BY id",
	                            error, "i", user);
	return dk_store_collect(store, st, "reading the API tokens", token_from_row,
	                        (GDestroyNotify)dk_token_row_free, error);
}

gboolean dk_store_token_revoke(DkStore *store, gint64 id, gint64 now, GError **error)
{
	g_autofree char *what = g_strdup_printf("active API token %" G_GINT64_FORMAT, id);
	return dk_store_write(
	           store,
	           "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
	           "revoking an API token", error, "ii", now, id) &&
	       changed_some(store, what, error);
}

gboolean dk_store_session_add(DkStore *store, const char *sha256, gint64 user, const char *csrf,
                              gint64 now, gint64 expires_at, GError **error)
{
	return dk_store_write(store, "DELETE FROM sessions WHERE expires_at <= ?",
	                      "forgetting expired sessions", error, "i", now) &&
	       dk_store_write(
	           store,
	           "INSERT INTO sessions (sha256, \"user\", csrf, created_at, expires_at)"
	           " VALUES (?, ?, ?, ?, ?)",
	           "starting a session", error, "sisii", sha256, user, csrf, now, expires_at);
}

typedef struct {
	gint64 user, expires;
	char *csrf;
	gboolean found;
} SessionRow;

static gboolean session_row(DkStmt *st, gpointer data)
{
	SessionRow *row = data;
	row->user = dk_stmt_int64(st, 0);
	row->csrf = dk_store_column_text(st, 1);
	row->expires = dk_stmt_int64(st, 2);
	row->found = TRUE;
	return FALSE;
}

gboolean dk_store_session_find(DkStore *store, const char *sha256, gint64 now, gint64 *user_out,
                               char **csrf_out, gint64 *expires_out, gboolean *found_out,
                               GError **error)
{
	SessionRow row = {0};
	DkStmt *st = dk_store_query(
	    store,
	    "SELECT \"user\", csrf, expires_at FROM sessions WHERE sha256 = ? AND expires_at > ?",
	    error, "si", sha256, now);
	if (st == NULL ||
	    !dk_store_each_row(store, st, "reading a session", session_row, &row, error)) {
		g_free(row.csrf);
		return FALSE;
	}
	*user_out = row.user;
	*csrf_out = row.csrf;
	*expires_out = row.expires;
	*found_out = row.found;
	return TRUE;
}

gboolean dk_store_session_remove(DkStore *store, const char *sha256, gint64 user, GError **error)
{
	if (sha256 != NULL)
		return dk_store_write(store, "DELETE FROM sessions WHERE sha256 = ?",
		                      "ending a session", error, "s", sha256);
	return dk_store_write(store, "DELETE FROM sessions WHERE \"user\" = ?",
	                      "ending the sessions", error, "i", user);
}
