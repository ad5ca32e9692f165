/* The outbox worker: performs the side effects the pipeline wrote as outbox
 * rows, after their transaction committed. Each row is claimed before an
 * attempt (dk_store_outbox_claim), so workers side by side never send it
 * twice; the lanes below run the destinations side by side. For mail
 * rows (compose.h) it fixes the Message-ID (recorded in message_ids before
 * the first attempt, so every retry sends the same message and a reply
 * threads even while the row is pending), sends through the configured
 * transport with a per-message bounce address as envelope sender, and
 * then, in one
 * transaction, marks the row done and records the sent mail as an outbound
 * article (a relay's article already exists: it is linked and stamped)
 * with a "notification_sent" event. A temporary failure is retried with
 * exponential backoff ([notify] retry_initial_seconds doubling up to
 * retry_max_seconds) until the row is max_age_seconds old; a permanent one
 * stops retries and records "notification_failed" on the ticket. */
#pragma once

#include "gateway/config.h"
#include "gateway/store/store.h"

G_BEGIN_DECLS

typedef struct DkOutbox DkOutbox;

typedef struct {
	guint sent;     /* rows performed */
	guint deferred; /* temporary failures, to be retried */
	guint failed;   /* permanent failures */
	guint held;     /* connector rows held behind their ticket's failed create */
} DkOutboxStats;

/* A worker over store (borrowed; used from one thread at a time). NULL with
 * an error when the notification settings are unusable. */
DkOutbox *dk_outbox_new(const DkConfig *config, DkStore *store, GError **error);
void dk_outbox_free(DkOutbox *outbox);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkOutbox, dk_outbox_free)

/* Performs every row due at now (as of the call), adding to stats. FALSE
 * with an error only when the store fails; a row's own failure is recorded
 * on the row. */
gboolean dk_outbox_run_due(DkOutbox *outbox, gint64 now, DkOutboxStats *stats, GError **error);

/* Performs every row due at now, each destination on its own lane at
 * once: the mail transport (and connector rows whose connector is no
 * longer configured) on store, every [connector:NAME] on max_parallel
 * runners with their own store connections, so a slow system delays only
 * its own rows. Returns when every lane has finished, adding to stats;
 * FALSE with the first error when a store fails or the settings are
 * unusable (DK_ERROR_CONFIG). */
gboolean dk_outbox_run_lanes(const DkConfig *config, DkStore *store, gint64 now,
                             DkOutboxStats *stats, GError **error);

typedef struct DkOutboxWorker DkOutboxWorker;

/* Starts the lanes of dk_outbox_run_lanes as threads, each with its own
 * store connection, running their due rows every [notify] poll_seconds
 * or when woken. NULL with an error when a store or the settings cannot
 * be opened. */
DkOutboxWorker *dk_outbox_worker_start(const DkConfig *config, GError **error);

/* Runs the due rows now (e.g. after a commit wrote some). Any thread. */
void dk_outbox_worker_wake(DkOutboxWorker *worker);

/* Makes config (which must outlive the worker) the settings of the
 * lanes' next runs: the transport and [smtp], [notify], and the
 * connectors (SIGHUP in `docket serve`); lanes of connectors added or
 * given more runners start, those removed stop after their run in
 * progress. FALSE with an error, the old settings kept, when the
 * notification settings are unusable or a store connection cannot be
 * opened. A run in progress finishes with the old ones. The thread that
 * started the worker. */
gboolean dk_outbox_worker_reload(DkOutboxWorker *worker, const DkConfig *config, GError **error);

/* Totals since start. */
void dk_outbox_worker_stats(DkOutboxWorker *worker, DkOutboxStats *stats_out);

/* Lets every lane finish its run in progress, ends the threads, closes
 * their stores and frees the worker. NULL is allowed. */
void dk_outbox_worker_stop(DkOutboxWorker *worker);

G_END_DECLS
