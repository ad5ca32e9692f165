/* An IMAP connection to one account, on libetpan: connect (with certificate
 * checks), log in, and the few commands the poller needs. Errors are in
 * DK_ERROR: DK_ERROR_TEMPORARY for network faults, time-outs and server
 * trouble (reconnect and retry), DK_ERROR_PERMANENT for a refused login or
 * an untrusted certificate (the administrator must act), DK_ERROR_CONFIG
 * for what the configuration gets wrong. Messages name the host. */
#pragma once

#include "gateway/intake/imap-account.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct DkImapClient DkImapClient;

/* One message fetched by UID: its bytes in raw, or (a large one,
 * dk_imap_client_fetch_to()) the size bytes of the file fd. */
typedef struct {
	guint32 uid;
	GBytes *raw;
	int fd; /* -1 with raw; closed with the message */
	gsize size;
} DkImapMessage;

/* Connects to account's server (implicit TLS, STARTTLS or plain text as
 * configured), verifies its certificate, authenticates and creates the
 * processed and error folders when missing. account must outlive the
 * client; an XOAUTH2 login may replace its refresh token (imap-oauth.h). */
DkImapClient *dk_imap_client_connect(DkImapAccount *account, GError **error);

/* Logs out (best effort) and closes the connection. */
void dk_imap_client_free(DkImapClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkImapClient, dk_imap_client_free)

/* SELECT folder (RFC 3501 section 6.3.1); gives its UIDVALIDITY. */
gboolean dk_imap_client_select(DkImapClient *client, const char *folder, guint32 *uidvalidity_out,
                               GError **error);

/* UID SEARCH for the UIDs above last_uid in the selected folder, ascending.
 * The caller frees the GArray (of guint32). */
GArray *dk_imap_client_search_after(DkImapClient *client, guint32 last_uid, GError **error);

/* UID FETCH (RFC822.SIZE) of n UIDs, ascending: sizes_out[i] is the size
 * of uids[i] in bytes, 0 for a UID the server no longer has. */
gboolean dk_imap_client_sizes(DkImapClient *client, const guint32 *uids, guint n,
                              guint32 *sizes_out, GError **error);

/* UID FETCH (BODY.PEEK[]) of n UIDs, so nothing is marked \Seen before it
 * is stored (RFC 3501 section 6.4.5). Returns DkImapMessage* in any order,
 * freed with the array; UIDs the server no longer has are missing. */
GPtrArray *dk_imap_client_fetch(DkImapClient *client, const guint32 *uids, guint n, GError **error);

/* The pieces a large message is fetched in. */
#define DK_IMAP_PIECE (1024 * 1024)

/* UID FETCH (BODY.PEEK[]<offset.length>) of one UID in pieces of
 * DK_IMAP_PIECE bytes (RFC 3501 section 6.4.5), each written to the file
 * fd as it comes, so that a message of any size costs a piece or two of
 * memory: a message (fd, its size), which then owns fd; or NULL, fd
 * still the caller's, with *error unset when the server no longer has
 * the UID. */
DkImapMessage *dk_imap_client_fetch_to(DkImapClient *client, guint32 uid, int fd, GError **error);

/* Moves n UIDs of the selected folder to folder: UID MOVE (RFC 6851) when
 * offered, else UID COPY, \Deleted and UID EXPUNGE (RFC 4315), else UID
 * COPY, \Deleted and EXPUNGE. */
gboolean dk_imap_client_move(DkImapClient *client, const guint32 *uids, guint n, const char *folder,
                             GError **error);

/* Adds \Seen to n UIDs of the selected folder. */
gboolean dk_imap_client_flag_seen(DkImapClient *client, const guint32 *uids, guint n,
                                  GError **error);

/* NOOP: proves the connection is alive within the configured time-out. */
gboolean dk_imap_client_noop(DkImapClient *client, GError **error);

/* Whether the server offers IDLE (RFC 2177). */
gboolean dk_imap_client_can_idle(DkImapClient *client);

/* IDLE in the selected folder until the server reports something, seconds
 * pass or cancellable fires; then DONE. *activity_out says whether the
 * server spoke. A server that does not answer DONE within the time-out is
 * a temporary error: the connection is dead. */
gboolean dk_imap_client_idle(DkImapClient *client, guint seconds, GCancellable *cancellable,
                             gboolean *activity_out, GError **error);

void dk_imap_message_free(DkImapMessage *message);

G_END_DECLS
