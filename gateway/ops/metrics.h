/* Process-wide counters and the commit-latency histogram, rendered in the
 * Prometheus text exposition format for the /metrics endpoint. Every
 * function is thread-safe and cheap enough for the hot path. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	DK_METRIC_ACCEPTED,    /* messages committed (new or duplicate) */
	DK_METRIC_REFUSED,     /* refused for good */
	DK_METRIC_TEMPFAILED,  /* answered with a temporary failure */
	DK_METRIC_QUARANTINED, /* kept in the quarantine */
	DK_METRIC_COUNT,
} DkMetric;

/* Adds one to counter for intake ("lmtp", "imap", "stdin", "import"). */
void dk_metrics_count(DkMetric counter, const char *intake);

/* Records how long one writer transaction took to commit. */
void dk_metrics_observe_commit(double seconds);

/* Records a successful IMAP poll of account at Unix time now. */
void dk_metrics_imap_polled(const char *account, gint64 now);

/* Records how many outbox rows failed for good and how many connector
 * rows are held behind a failed create, as the store counts them now
 * (rendered as docket_outbox_rows{state="failed|held"}). */
void dk_metrics_outbox_settled(gint64 failed, gint64 held);

/* Records how many messages the quarantine holds per kind (kind ->
 * count as in dk_store_quarantine_counts; borrowed), rendered as
 * docket_set_aside_messages{reason="KIND"}. */
void dk_metrics_set_aside(GHashTable *counts);

/* Appends the metrics to out. outbox_depth and outbox_oldest_age (seconds)
 * come from the store; pass -1 when unknown. */
void dk_metrics_render(GString *out, gint64 outbox_depth, gint64 outbox_oldest_age);

/* Forgets everything (for tests). */
void dk_metrics_reset(void);

G_END_DECLS
