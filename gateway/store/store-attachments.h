/* Attachments in the store: each content is kept once, as a file named by
 * its SHA-256 under data_dir/attachments/ (dk_store_attachment_add() in
 * store.h writes it; on PostgreSQL in the database, above inline_max in
 * pieces of a MiB), and linked to every article that carried it, with
 * the file name, type, Content-ID and disposition it came with. Each link
 * has an id of its own: what `docket attachment get ID` and the web desk
 * fetch. */
#pragma once

#include "gateway/store/store.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* An attachment of an article as stored. */
typedef struct {
	gint64 id;      /* the link's id */
	gint64 article; /* the article that carried it */
	guint position; /* its place among the article's attachments, from 0 */
	char *filename; /* as sent, or NULL */
	char *content_type;
	char *content_id;  /* without angle brackets, or NULL */
	char *disposition; /* "attachment" or "inline" */
	char *sha256;      /* 64 hex digits; "" when a parse limit kept the content out */
	gsize size;
	char *path; /* the file, absolute; NULL on PostgreSQL (the bytes are in the database) */
	gint64 purged_at; /* when retention removed the content; 0 while kept */
} DkStoredAttachment;

void dk_stored_attachment_free(gpointer attachment);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkStoredAttachment, dk_stored_attachment_free)

/* Whether the content of a is in the store (a limit of the parser may
 * have kept it out: then only its name and type are known). */
gboolean dk_stored_attachment_kept(const DkStoredAttachment *a);

/* The article's attachments in their order into out (DkStoredAttachment,
 * the caller frees them). */
gboolean dk_store_article_attachments(DkStore *store, gint64 article, GPtrArray *out,
                                      GError **error);

/* Of DkStoredAttachment*: every attachment of the ticket's articles, by
 * article and position. */
GPtrArray *dk_store_ticket_attachments(DkStore *store, gint64 ticket, GError **error);

/* The attachment with this id; DK_ERROR_NOT_FOUND when there is none. */
DkStoredAttachment *dk_store_attachment_get(DkStore *store, gint64 id, GError **error);

/* The attachment of article whose Content-ID is content_id (what a
 * "cid:" reference in the article's HTML names, RFC 2392), with or
 * without angle brackets; DK_ERROR_NOT_FOUND when there is none. */
DkStoredAttachment *dk_store_attachment_find_cid(DkStore *store, gint64 article,
                                                 const char *content_id, GError **error);

/* The bytes of a, exactly as they were received (checked against its
 * SHA-256), whole in memory (from pieces one at a time: never a second
 * copy of a large one): DK_ERROR_NOT_FOUND when the content was never kept,
 * DK_ERROR_GONE when retention purged it,
 * DK_ERROR_TEMPORARY when the file cannot be read now, DK_ERROR_PERMANENT
 * when it is damaged. The caller unrefs the result. */
GBytes *dk_store_attachment_read(DkStore *store, const DkStoredAttachment *a, GError **error);

/* A new empty file, without a name, for the parser to decode a large
 * attachment into (DkParseOptions.spill) before the writer keeps it: in
 * data_dir/spool on SQLite, so that the store gives it its name in
 * data_dir/attachments by a link, not a copy; in $TMPDIR on PostgreSQL,
 * which copies it into the database. -1 with errno set when none can be
 * made. */
int dk_store_attachment_spill(DkStore *store);

/* The pieces a stream of an attachment is read and sent in. */
#define DK_STORE_ATTACHMENT_PIECE 65536

/* a's content as a stream to read from its start, once its size and
 * SHA-256 have been checked: a file, or a content kept in pieces
 * (PostgreSQL, above inline_max), is read through for the check a piece
 * at a time, then given a piece at a time, never held whole (the pieces'
 * stream uses store at each read: it must not outlive it); a content kept
 * as one value is read whole as by dk_store_attachment_read(). Its errors
 * are that function's. */
GInputStream *dk_store_attachment_stream(DkStore *store, const DkStoredAttachment *a,
                                         GError **error);

/* Passes a's content to sink as dk_store_raw_read() passes a raw message,
 * a piece (up to DK_STORE_CHUNK) at a time, read from
 * dk_store_attachment_stream() and so checked as above.
 * Nothing reaches the sink from a damaged file. FALSE with
 * dk_store_attachment_read()'s errors, a read's, or the sink's; TRUE when
 * the sink stopped early without an error. */
gboolean dk_store_attachment_copy(DkStore *store, const DkStoredAttachment *a, DkStoreRawSink sink,
                                  gpointer data, GError **error);

G_END_DECLS
