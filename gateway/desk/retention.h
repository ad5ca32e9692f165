/* Retention of raw mail: after [store] keep_raw_days (or its queue's
 * [queue:NAME] keep_raw_days) past a ticket's closing, the raw messages
 * of its articles and its attachment contents are purged, unless
 * something else still needs the same bytes (contents are stored once by
 * SHA-256): an article of a ticket that is not due (open, resolved,
 * closed more recently, or in a queue that keeps longer), a quarantine
 * entry, a pending outbox row. Resolved tickets are not due: a reply can
 * still reopen them (autoclose closes them later). The articles keep
 * their text and the attachments their names, types and sizes; each
 * ticket that lost raw mail gets a "raw_purged" event.
 *
 * The purge works in batches of tickets, one short write transaction
 * each, pausing between them, so that deliveries interleave; a file is
 * removed only after the transaction that purged its content committed
 * (a crash in between leaves the file, which the next purge removes). */
#pragma once

#include "gateway/config.h"
#include "gateway/store/store.h"

G_BEGIN_DECLS

/* Tickets per transaction by default: a transaction then holds the write
 * lock for a few milliseconds (README, Retention). */
#define DK_RETENTION_BATCH 20

/* The shortest pause after each of the purge's write transactions: the
 * longest sleep of SQLite's busy handler, so that a delivery waiting for
 * the lock gets it before the purge's next transaction. */
#define DK_RETENTION_PAUSE_US 100000

/* The policy: keep_raw_days of each queue. */
typedef struct DkRetention DkRetention;

/* The policy of config ([store] keep_raw_days, [queue:NAME] keep_raw_days). */
DkRetention *dk_retention_new(const DkConfig *config);
void dk_retention_free(DkRetention *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkRetention, dk_retention_free)

/* The days queue keeps raw mail after closing; 0: forever. */
gint64 dk_retention_days(const DkRetention *r, const char *queue);

typedef struct {
	gint64 now;
	guint batch;       /* tickets per transaction; 0: DK_RETENTION_BATCH */
	guint max_batches; /* stop after this many batches (the next purge goes on); 0: no limit */
	gboolean dry_run;  /* count what would go, change nothing */
	gint64 pause_us;   /* after each write transaction; 0: as long as it took, at least
	                    * DK_RETENTION_PAUSE_US */
	/* Called after each batch committed, before its files are removed;
	 * FALSE stops the purge there (tests: a crash at that point). */
	gboolean (*after_commit)(gpointer data);
	gpointer data;
	const gint *cancel; /* stops between batches once non-zero (read atomically); or NULL */
} DkPurgeOptions;

typedef struct {
	guint tickets;      /* tickets that lost raw mail */
	guint raw_messages; /* raw messages purged */
	guint attachments;  /* attachment contents purged */
	guint files;        /* files removed (raw messages and attachments) */
	gint64 bytes;       /* the sizes of the contents purged */
	guint kept;         /* contents kept because something else needs them */
	guint batches;      /* write transactions that purged */
	gint64 longest_us;  /* the longest any of its write transactions took */
} DkPurgeStats;

/* Purges what r says is due as of o->now into stats (zeroed by the
 * caller); first removes the files purges before left behind. FALSE with
 * the store's error (the batches committed before stay purged). */
gboolean dk_retention_purge(DkStore *store, const DkRetention *r, const DkPurgeOptions *o,
                            DkPurgeStats *stats, GError **error);

/* What an export found gone. */
typedef struct {
	guint articles;    /* raw messages written */
	guint attachments; /* attachment contents written */
	GPtrArray *purged; /* of char*: a sentence for each content purged before */
} DkExportReport;

void dk_export_report_clear(DkExportReport *report);

/* Writes ticket number into dir (created; an existing non-empty dir is
 * refused, DK_ERROR_PERMANENT): ticket.json (the `ticket show --json`
 * document; prefix: [threading] token_prefix), each article's raw message
 * as article-ID.eml, each attachment's content as attachment-ID-NAME.
 * The contents retention purged are listed in report->purged (report is
 * filled anew; clear it after). */
gboolean dk_retention_export(DkStore *store, gint64 number, const char *prefix, const char *dir,
                             gint64 now, DkExportReport *report, GError **error);

G_END_DECLS
