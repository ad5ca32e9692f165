/* `docket import`: a team's mail history from an mbox file or a Maildir,
 * through the same pipeline as live mail, in batches (one transaction
 * each). Safe to re-run: what is already stored comes back as a
 * duplicate. */
#pragma once

#include "gateway/core/pipeline.h"

G_BEGIN_DECLS

typedef struct {
	guint64 messages;    /* messages read */
	guint64 imported;    /* new tickets or articles */
	guint64 duplicates;  /* already stored */
	guint64 quarantined; /* unreadable: kept in the quarantine */
	guint64 dropped;     /* kept raw only: an auto-reply or bounce naming no ticket */
	guint64 refused;     /* not stored; reasons holds why */
	GPtrArray *reasons;  /* of char*: "WHERE: why", one per refused message */
} DkImportStats;

/* Called after each batch: done and total count bytes of an mbox or files
 * of a Maildir. */
typedef void (*DkImportProgress)(guint64 done, guint64 total, const DkImportStats *stats,
                                 gpointer data);

typedef struct {
	guint batch_size;         /* messages per transaction (0: 100) */
	gboolean history;         /* take the mail as history (pipeline.h, DkIntake "history") */
	const char *keep_numbers; /* history: DkIntake.keep_numbers */
	gint64 number_from;       /* history: DkIntake.number_from */
	gsize max_message_size;
	const char *spool_dir;     /* where a message over 1 MiB waits for its batch's
	                            * commit in a file without a name (NULL: $TMPDIR) */
	DkImportProgress progress; /* or NULL */
	gpointer progress_data;
} DkImportOptions;

/* Imports path: a Maildir (a folder with cur/ and new/; both are read, in
 * file-name order) or an mbox file (messages split on "From " lines that
 * start the file or follow an empty line, ">From " lines un-escaped as
 * mboxrd writes them; RFC 4155). Fills stats (free with
 * dk_import_stats_clear). FALSE with an error for what stops the whole
 * import: an unreadable path (DK_ERROR_PERMANENT), a failed transaction
 * (temporary; the batches before it stay committed). A message the
 * pipeline refuses is counted with its reason, one it cannot read is kept
 * in the quarantine and counted: neither is fatal. */
gboolean dk_import_path(DkPipeline *pipeline, const char *path, const DkImportOptions *options,
                        DkImportStats *stats, GError **error);

void dk_import_stats_clear(DkImportStats *stats);

/* The next message of an mbox held in data[*offset..len): its bytes with
 * the From_ line removed and >From lines un-escaped, its envelope sender
 * (or NULL) and its From_ date as Unix seconds (or 0). Advances *offset.
 * NULL at the end. Exposed for tests. */
GBytes *dk_import_mbox_next(const char *data, gsize len, gsize *offset, char **sender_out,
                            gint64 *date_out);

G_END_DECLS
