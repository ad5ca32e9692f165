/* The IMAP poller's memory in the store: per account and folder, the
 * folder's UIDVALIDITY and the highest UID whose message is committed
 * (RFC 3501 section 2.3.1.1), so a restart fetches only what is new. */
#pragma once

#include "gateway/store/store.h"

G_BEGIN_DECLS

typedef struct {
	guint32 uidvalidity; /* 0 when nothing is recorded yet */
	guint32 last_uid;    /* every UID up to this one is committed */
} DkImapState;

/* Reads the state of account/folder into state_out; both fields are 0 when
 * none is recorded. FALSE and a DK_ERROR only when the query failed. */
gboolean dk_store_imap_state_get(DkStore *store, const char *account, const char *folder,
                                 DkImapState *state_out, GError **error);

/* Records the state of account/folder (insert or replace). Works inside a
 * transaction or, outside one, as its own. DK_ERROR_TEMPORARY on a busy
 * database. */
gboolean dk_store_imap_state_set(DkStore *store, const char *account, const char *folder,
                                 const DkImapState *state, GError **error);

G_END_DECLS
