/* The outbox in the store: side effects (mail, later HTTP) written as rows
 * in the transaction that decided them, performed after commit by the
 * outbox worker, with attempts, backoff and the last error kept per row.
 * Also the count that keeps docket from spamming: the rate of automatic
 * mail per address (bouncing addresses are in store.h). */
#pragma once

#include "gateway/store/store-attachments.h"
#include "gateway/store/store.h"

G_BEGIN_DECLS

typedef struct {
	gint64 id;
	char *kind;    /* its kind's name as stored: dk_outbox_kind_from_name() */
	char *target;  /* the recipient address */
	gint64 ticket; /* 0 when none */
	char *payload; /* a JSON object */
	char *state;   /* "pending", "done", "failed" or "held" (connector rows
	                  behind their ticket's failed create) */
	gint64 attempts;
	gint64 next_attempt_at;
	char *last_error; /* or NULL */
	gint64 created_at;
} DkOutboxRow;

void dk_outbox_row_free(DkOutboxRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkOutboxRow, dk_outbox_row_free)

/* Rows are added with dk_store_outbox_add() (store.h), inside the
 * transaction that decided them. */

/* Of DkOutboxRow*: pending rows due at now, oldest first, at most limit. */
GPtrArray *dk_store_outbox_due(DkStore *store, gint64 now, guint limit, GError **error);

/* The same for one lane of the worker: with connector, that connector's
 * rows, less those behind an older pending row of the same ticket;
 * without, every row but the connector rows whose target is named in
 * except (NULL-terminated; NULL: none). */
GPtrArray *dk_store_outbox_due_lane(DkStore *store, gint64 now, const char *connector,
                                    const char *const *except, guint limit, GError **error);

/* Of DkOutboxRow*: rows in state (NULL: every state), newest first, at most
 * limit (0: no limit). */
GPtrArray *dk_store_outbox_list(DkStore *store, const char *state, guint limit, GError **error);

/* Of DkOutboxRow*: the rows sent (done) to target (any case) about
 * ticket, oldest first: what that address received from docket. */
GPtrArray *dk_store_outbox_sent_to(DkStore *store, gint64 ticket, const char *target,
                                   GError **error);

/* One row; DK_ERROR_NOT_FOUND when there is none. */
DkOutboxRow *dk_store_outbox_get(DkStore *store, gint64 id, GError **error);

/* Replaces a row's payload (the worker fixes the Message-ID on the first
 * attempt, so every retry sends the same message). */
gboolean dk_store_outbox_set_payload(DkStore *store, gint64 id, const char *payload_json,
                                     GError **error);

/* Takes a due row for one attempt: moves its next_attempt_at to until, so
 * that another worker (a `docket outbox run --once` beside `docket serve`)
 * does not send it too, and a worker that dies mid-attempt leaves it due
 * again at until. *claimed_out is FALSE when the row is no longer pending
 * and due at now. Inside a transaction. */
gboolean dk_store_outbox_claim(DkStore *store, gint64 id, gint64 now, gint64 until,
                               gboolean *claimed_out, GError **error);

/* The until of a claim made at now that lasts lease seconds: from the
 * later of now and the clock. A pass of the outbox keeps the time it
 * started with, and a row claimed late in a long pass would otherwise be
 * claimed until a time already past, free for another gateway to send
 * again while this one sends it. */
gint64 dk_store_outbox_claim_until(gint64 now, gint64 lease);

/* The row was performed: state done, attempts + 1. */
gboolean dk_store_outbox_done(DkStore *store, gint64 id, GError **error);

/* A temporary failure: attempts + 1, next try at next_at, the error kept. */
gboolean dk_store_outbox_defer(DkStore *store, gint64 id, gint64 next_at, const char *last_error,
                               GError **error);

/* A permanent failure: state failed, attempts + 1, the error kept. */
gboolean dk_store_outbox_fail(DkStore *store, gint64 id, const char *last_error, GError **error);

/* Makes a pending or failed row due now again (`docket outbox retry`),
 * and with it, in the same statement, the rows of its kind, target and
 * ticket held behind it; DK_ERROR_NOT_FOUND when there is no such row,
 * DK_ERROR_PERMANENT when it is done, or held behind a failed row (whose
 * number the message gives: retry that one). */
gboolean dk_store_outbox_retry(DkStore *store, gint64 id, gint64 now, GError **error);

/* Deletes a row (`docket outbox drop`); DK_ERROR_NOT_FOUND when none. */
gboolean dk_store_outbox_drop(DkStore *store, gint64 id, GError **error);

/* What the store says of sending address automatic mail, in one
 * statement: whether it bounced since bounced_since (see
 * dk_store_bouncing_get()), and how many rows other than relays (automatic
 * mail) were written for it (case-insensitive) since recent_since. */
gboolean dk_store_outbox_standing(DkStore *store, const char *address, gint64 bounced_since,
                                  gint64 recent_since, gboolean *bouncing_out, gint64 *recent_out,
                                  GError **error);

/* Links a sent notification's article to its Message-ID (recorded before
 * sending, without an article) and stamps the article's sent_at. */
gboolean dk_store_outbox_sent_article(DkStore *store, const char *message_id, gint64 article,
                                      gint64 sent_at, GError **error);

/* Whether a pending row older than row, of the same kind, target and
 * ticket, exists: such rows go out in order. */
gboolean dk_store_outbox_earlier_pending(DkStore *store, const DkOutboxRow *row,
                                         gboolean *exists_out, GError **error);

/* The oldest failed row older than row, of the same kind, target and
 * ticket, in *failed_out (the caller frees it), or NULL when none. */
gboolean dk_store_outbox_earlier_failed(DkStore *store, const DkOutboxRow *row,
                                        DkOutboxRow **failed_out, GError **error);

/* Holds the pending rows of blocker's kind, target and ticket that are
 * newer than blocker (state held, reason as their last error) until
 * blocker is retried; *held_out says how many. Inside a transaction. */
gboolean dk_store_outbox_hold(DkStore *store, const DkOutboxRow *blocker, const char *reason,
                              gint64 *held_out, GError **error);

/* How many rows are in state. */
gboolean dk_store_outbox_count(DkStore *store, const char *state, gint64 *count_out,
                               GError **error);

/* Whether any row (in any state) of kind and target exists for ticket. */
gboolean dk_store_outbox_has(DkStore *store, const char *kind, const char *target, gint64 ticket,
                             gboolean *exists_out, GError **error);

/* Whether a row of kind and target for ticket is still to go (pending
 * or held). */
gboolean dk_store_outbox_unsettled(DkStore *store, const char *kind, const char *target,
                                   gint64 ticket, gboolean *exists_out, GError **error);

/* Every local id (gint64, ascending) for which the connector recorded a
 * remote id of kind, into local_out. */
gboolean dk_store_external_refs(DkStore *store, const char *connector, const char *kind,
                                GArray *local_out, GError **error);

/* The id a connector's system gave one of ours (kind "ticket" or
 * "article"); *remote_out NULL when none is recorded. */
gboolean dk_store_external_ref_get(DkStore *store, const char *connector, const char *kind,
                                   gint64 local_id, char **remote_out, GError **error);

/* Whether remote_id is recorded for one of ours of that kind. */
gboolean dk_store_external_ref_taken(DkStore *store, const char *connector, const char *kind,
                                     const char *remote_id, gboolean *taken_out, GError **error);

/* Records (or replaces) the id a connector's system gave one of ours. */
gboolean dk_store_external_ref_set(DkStore *store, const char *connector, const char *kind,
                                   gint64 local_id, const char *remote_id, GError **error);

G_END_DECLS
