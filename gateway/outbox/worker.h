/* The outbox worker: performs the side effects the pipeline wrote as outbox
 * rows, after their transaction committed. Each row is claimed before an
 * attempt (dk_store_outbox_claim), so workers side by side never send it
 * twice. For mail rows (compose.h) it fixes the Message-ID (recorded in message_ids before the first attempt,
 * so every retry sends the same message and a reply threads even while
 * the row is pending), sends through the configured transport with a
 * per-message bounce address as envelope sender, and then, in one
 * transaction, marks the row done and records the sent mail as an outbound
 * article (a relay's article already exists: it is linked and stamped)
 * with a "notification_sent" event. A temporary failure is retried with
 * exponential backoff ([notify] retry_initial_seconds doubling up to
 * retry_max_seconds) until the row is max_age_seconds old; a permanent one
 * stops retries and records "notification_failed" on the ticket. */
#pragma once

#include "gateway/config.h"
#include "gateway/core/store.h"

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

typedef struct DkOutboxWorker DkOutboxWorker;

/* Opens its own store connection and starts the worker thread, which runs
 * the due rows every [notify] poll_seconds or when woken. NULL with an
 * error when the store or the settings cannot be opened. */
DkOutboxWorker *dk_outbox_worker_start(const DkConfig *config, GError **error);

/* Runs the due rows now (e.g. after a commit wrote some). Any thread. */
void dk_outbox_worker_wake(DkOutboxWorker *worker);

/* Makes config (which must outlive the worker) the settings of the
 * worker's next run: the transport and [smtp], [notify], and the
 * connectors (SIGHUP in `docket serve`). FALSE with an error, the old
 * settings kept, when the notification settings are unusable. The row in
 * progress finishes with the old ones. Any thread. */
gboolean dk_outbox_worker_reload(DkOutboxWorker *worker, const DkConfig *config, GError **error);

/* Totals since start. */
void dk_outbox_worker_stats(DkOutboxWorker *worker, DkOutboxStats *stats_out);

/* Finishes the row in progress, ends the thread, closes its store and
 * frees the worker. NULL is allowed. */
void dk_outbox_worker_stop(DkOutboxWorker *worker);

G_END_DECLS
