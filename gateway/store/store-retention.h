/* Retention in the store: what the purge of raw messages and attachment
 * contents reads and writes (desk/retention.h decides what goes).
 *
 * A purged content keeps its row with purged_at set (schema migration
 * 18): the articles and attachment links that name it stay valid, with
 * their sizes, names and types, and a reader learns when the bytes went
 * (DK_ERROR_GONE). A raw message kept inside the database loses its bytes
 * in the purging transaction (a large one its rows of pieces too); a content kept as a file
 * keeps its path until the file is removed, which happens only after that transaction committed
 * (dk_store_purged_files() finds them, also after a crash). */
#pragma once

#include "gateway/store/store.h"

G_BEGIN_DECLS

/* The conflict clause of an INSERT INTO raw_messages (store.c,
 * store-chunks.c): the same bytes arriving again after a purge bring the
 * raw message back (in pieces again when they came so). */
#define DK_STORE_RAW_REVIVE                                                                        \
	" ON CONFLICT (sha256) DO UPDATE SET data = excluded.data, path = excluded.path,"          \
	" chunks = excluded.chunks, purged_at = NULL WHERE raw_messages.purged_at IS NOT NULL"

/* The day of a purge, "2026-12-06" (UTC), for the sentences that say
 * when a content went. The caller frees it. */
char *dk_store_retention_date(gint64 at);

/* Sets DK_ERROR_GONE on error: raw message sha256 was purged at
 * purged_at. Returns FALSE. */
gboolean dk_store_raw_gone(const char *sha256, gint64 purged_at, GError **error);

/* A ticket as retention sees it. */
typedef struct {
	gint64 number;
	char *queue;
	gint64 closed_at;        /* when it was closed; 0 unless its status is closed */
	gboolean outbox_pending; /* it has outbox rows still pending or held */
} DkRetentionTicket;

void dk_retention_ticket_free(gpointer ticket);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkRetentionTicket, dk_retention_ticket_free)

/* Of DkRetentionTicket*: at most limit closed tickets closed at or before
 * before that still have a raw message or attachment content not purged,
 * ordered by (closing time, number) after the pair (after_at,
 * after_number): the next page of a scan that starts at (0, 0). */
GPtrArray *dk_store_retention_candidates(DkStore *store, gint64 before, gint64 after_at,
                                         gint64 after_number, guint limit, GError **error);

/* Of DkRetentionTicket*: ticket number; DK_ERROR_NOT_FOUND when there is
 * none. */
DkRetentionTicket *dk_store_retention_ticket(DkStore *store, gint64 number, GError **error);

/* A raw message or attachment content a ticket still holds. */
typedef struct {
	char *sha256;
	gint64 size;
	gboolean file; /* kept as a file (else inside the database) */
} DkRetainedContent;

void dk_retained_content_free(gpointer content);

/* Of DkRetainedContent*: the raw messages of ticket's articles that are
 * not purged, each once. */
GPtrArray *dk_store_ticket_raws(DkStore *store, gint64 ticket, GError **error);
/* The same for the contents of the attachments of ticket's articles (an
 * attachment whose content was never kept is not among them). */
GPtrArray *dk_store_ticket_contents(DkStore *store, gint64 ticket, GError **error);

/* Of DkRetentionTicket*: every ticket with an article whose raw message
 * (attachment FALSE) or attachment content (TRUE) is sha256. */
GPtrArray *dk_store_content_holders(DkStore *store, gboolean attachment, const char *sha256,
                                    GError **error);

/* Whether something other than an article needs raw message sha256: a
 * quarantine entry, or an outbox row still pending (or held) that names it (a
 * rule's redirect). */
gboolean dk_store_raw_needed(DkStore *store, const char *sha256, gboolean *needed_out,
                             GError **error);

/* Marks the raw message (attachment FALSE) or attachment content (TRUE)
 * sha256 purged at now; a content inside the database loses its bytes
 * at once, those kept in pieces (raw_chunks, attachment_chunks) too.
 * Inside a transaction. */
gboolean dk_store_content_purge(DkStore *store, gboolean attachment, const char *sha256, gint64 now,
                                GError **error);

/* A file of a purged content, still to remove. */
typedef struct {
	gboolean attachment;
	char *sha256;
	char *path; /* absolute */
	gint64 purged_at;
} DkPurgedFile;

void dk_purged_file_free(gpointer file);

/* Of DkPurgedFile*: at most limit files of purged contents that were not
 * yet removed (after a crash too), raw messages first. */
GPtrArray *dk_store_purged_files(DkStore *store, guint limit, GError **error);

/* Whether f's content is still purged; *purged_out FALSE when its bytes
 * arrived again since (then its file is theirs: keep it). Inside the
 * transaction that removes the file, so that no writer can bring the
 * content back in between. */
gboolean dk_store_purged_file_check(DkStore *store, const DkPurgedFile *f, gboolean *purged_out,
                                    GError **error);

/* Records that f's file was removed, unless its content was stored again
 * since (and maybe purged anew: another purged_at). Inside a
 * transaction. */
gboolean dk_store_purged_file_done(DkStore *store, const DkPurgedFile *f, GError **error);

G_END_DECLS
