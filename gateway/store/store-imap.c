/* UIDVALIDITY and last-UID bookkeeping for the IMAP poller, over the
 * imap_state table. */
#include "gateway/store/store-imap.h"

#include "gateway/store/store-private.h"

gboolean dk_store_imap_state_get(DkStore *store, const char *account, const char *folder,
                                 DkImapState *state_out, GError **error)
{
	*state_out = (DkImapState){0};
	sqlite3_stmt *st = dk_store_prepare(
	    store, "SELECT uidvalidity, last_uid FROM imap_state WHERE account = ? AND folder = ?",
	    error);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		state_out->uidvalidity = (guint32)sqlite3_column_int64(st, 0);
		state_out->last_uid = (guint32)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dk_store_set_error(store->db, error, "reading the IMAP state");
	return TRUE;
}

gboolean dk_store_imap_state_set(DkStore *store, const char *account, const char *folder,
                                 const DkImapState *state, GError **error)
{
	sqlite3_stmt *st = dk_store_prepare(
	    store,
	    "INSERT INTO imap_state (account, folder, uidvalidity, last_uid)"
	    " VALUES (?, ?, ?, ?) ON CONFLICT (account, folder) DO UPDATE"
	    " SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
	    error);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, state->uidvalidity);
	sqlite3_bind_int64(st, 4, state->last_uid);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return dk_store_set_error(store->db, error, "recording the IMAP state");
	return TRUE;
}
