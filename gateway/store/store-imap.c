/* UIDVALIDITY and last-UID bookkeeping for the IMAP poller, over the
 * imap_state table. */
#include "gateway/store/store-imap.h"

#include "gateway/store/store-private.h"

gboolean dk_store_imap_state_get(DkStore *store, const char *account, const char *folder,
                                 DkImapState *state_out, GError **error)
{
	*state_out = (DkImapState){0};
	DkStmt *st = dk_store_prepare(
	    store, "SELECT uidvalidity, last_uid FROM imap_state WHERE account = ? AND folder = ?",
	    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, account);
	dk_stmt_bind_text(st, 2, folder);
	int rc = dk_stmt_step(st);
	if (rc == DK_STMT_ROW) {
		state_out->uidvalidity = (guint32)dk_stmt_int64(st, 0);
		state_out->last_uid = (guint32)dk_stmt_int64(st, 1);
	}
	dk_stmt_reset(st);
	if (rc != DK_STMT_ROW && rc != DK_STMT_DONE)
		return dk_store_set_error(store, error, "reading the IMAP state");
	return TRUE;
}

gboolean dk_store_imap_state_set(DkStore *store, const char *account, const char *folder,
                                 const DkImapState *state, GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store,
	    "INSERT INTO imap_state (account, folder, uidvalidity, last_uid)"
	    " VALUES (?, ?, ?, ?) ON CONFLICT (account, folder) DO UPDATE"
	    " SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
	    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, account);
	dk_stmt_bind_text(st, 2, folder);
	dk_stmt_bind_int64(st, 3, state->uidvalidity);
	dk_stmt_bind_int64(st, 4, state->last_uid);
	int rc = dk_stmt_step(st);
	dk_stmt_reset(st);
	if (rc != DK_STMT_DONE)
		return dk_store_set_error(store, error, "recording the IMAP state");
	return TRUE;
}
