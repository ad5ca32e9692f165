/* The outbox rows and the rate count that guards them. */
#include "gateway/store/store-outbox.h"

#include "gateway/json.h"
#include "gateway/store/store-private.h"

/* Steps a statement that returns no rows; with must_change, a statement
 * that changed no row is DK_ERROR_NOT_FOUND. */
static gboolean step_done(DkStore *store, DkStmt *st, gint64 id, gboolean must_change,
                          const char *doing, GError **error)
{
	int rc = dk_stmt_step(st);
	dk_stmt_reset(st);
	if (rc != DK_STMT_DONE)
		return dk_store_set_error(store, error, doing);
	if (must_change && dk_store_last_changes(store) == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no outbox row %" G_GINT64_FORMAT,
		            id);
		return FALSE;
	}
	return TRUE;
}

#define OUTBOX_SELECT                                                                              \
	"SELECT id, kind, target, coalesce(ticket, 0), payload, state, attempts, "                 \
	"next_attempt_at, last_error,"                                                             \
	" created_at FROM outbox"

static gpointer row_from_row(DkStmt *st)
{
	DkOutboxRow *r = g_new0(DkOutboxRow, 1);
	r->id = dk_stmt_int64(st, 0);
	r->kind = dk_store_column_text(st, 1);
	r->target = dk_store_column_text(st, 2);
	r->ticket = dk_stmt_int64(st, 3);
	r->payload = dk_store_column_text(st, 4);
	r->state = dk_store_column_text(st, 5);
	r->attempts = dk_stmt_int64(st, 6);
	r->next_attempt_at = dk_stmt_int64(st, 7);
	r->last_error = dk_store_column_text(st, 8);
	r->created_at = dk_stmt_int64(st, 9);
	return r;
}

static GPtrArray *query(DkStore *store, DkStmt *st, GError **error)
{
	return dk_store_collect(store, st, "reading the outbox", row_from_row,
	                        (GDestroyNotify)dk_outbox_row_free, error);
}

GPtrArray *dk_store_outbox_due(DkStore *store, gint64 now, guint limit, GError **error)
{
	DkStmt *st =
	    dk_store_prepare(store,
	                     OUTBOX_SELECT " WHERE state = 'pending' AND next_attempt_at <= ? "
	                                   "ORDER BY next_attempt_at, id LIMIT ?",
	                     error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_int64(st, 1, now);
	dk_stmt_bind_int64(st, 2, limit);
	return query(store, st, error);
}

GPtrArray *dk_store_outbox_due_lane(DkStore *store, gint64 now, const char *connector,
                                    const char *const *except, guint limit, GError **error)
{
	DkStmt *st;
	if (connector != NULL) {
		/* A row behind an older pending row of its ticket waits for it
		 * (per-ticket order): left out, so a ticket with many waiting
		 * rows cannot fill the batch and hide other tickets' rows. */
		st = dk_store_query(store,
		                    OUTBOX_SELECT
		                    " WHERE state = 'pending' AND next_attempt_at <= ?1"
		                    " AND kind = 'connector' AND target = ?2"
		                    " AND NOT EXISTS (SELECT 1 FROM outbox o"
		                    " WHERE o.kind = 'connector' AND o.target = ?2"
		                    " AND o.ticket = outbox.ticket AND o.state = 'pending'"
		                    " AND o.id < outbox.id)"
		                    " ORDER BY next_attempt_at, id LIMIT ?3",
		                    error, "isi", now, connector, (gint64)limit);
	} else {
		/* The names travel as one JSON array, read back by json_each
		 * (PostgreSQL: json_array_elements_text). */
		g_autoptr(json_t) names = json_array();
		for (guint i = 0; except != NULL && except[i] != NULL; i++)
			json_array_append_new(names, json_string(except[i]));
		g_autofree char *text = json_dumps(names, JSON_COMPACT);
		st = dk_store_query(
		    store,
		    DK_SQL(store,
		           OUTBOX_SELECT " WHERE state = 'pending' AND next_attempt_at <= ?"
		                         " AND NOT (kind = 'connector' AND target IN"
		                         " (SELECT value FROM json_each(?)))"
		                         " ORDER BY next_attempt_at, id LIMIT ?",
		           OUTBOX_SELECT " WHERE state = 'pending' AND next_attempt_at <= ?"
		                         " AND NOT (kind = 'connector' AND target IN"
		                         " (SELECT json_array_elements_text(?::json)))"
		                         " ORDER BY next_attempt_at, id LIMIT ?"),
		    error, "isi", now, text, (gint64)limit);
	}
	return st != NULL ? query(store, st, error) : NULL;
}

GPtrArray *dk_store_outbox_list(DkStore *store, const char *state, guint limit, GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store, OUTBOX_SELECT " WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2",
	    error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_text(st, 1, state);
	dk_stmt_bind_int64(st, 2, limit > 0 ? (gint64)limit : -1);
	return query(store, st, error);
}

GPtrArray *dk_store_outbox_sent_to(DkStore *store, gint64 ticket, const char *target,
                                   GError **error)
{
	DkStmt *st =
	    dk_store_query(store,
	                   DK_SQL(store,
	                          OUTBOX_SELECT " WHERE ticket = ? AND target = ? COLLATE NOCASE"
	                                        " AND state = 'done' ORDER BY id",
	                          OUTBOX_SELECT " WHERE ticket = ? AND lower(target) = lower(?)"
	                                        " AND state = 'done' ORDER BY id"),
	                   error, "is", ticket, target);
	return st == NULL ? NULL : query(store, st, error);
}

DkOutboxRow *dk_store_outbox_get(DkStore *store, gint64 id, GError **error)
{
	DkStmt *st = dk_store_prepare(store, OUTBOX_SELECT " WHERE id = ?", error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_int64(st, 1, id);
	g_autoptr(GPtrArray) rows = query(store, st, error);
	if (rows == NULL)
		return NULL;
	if (rows->len == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no outbox row %" G_GINT64_FORMAT,
		            id);
		return NULL;
	}
	return g_ptr_array_steal_index(rows, 0);
}

gboolean dk_store_outbox_set_payload(DkStore *store, gint64 id, const char *payload_json,
                                     GError **error)
{
	DkStmt *st = dk_store_prepare(store, "UPDATE outbox SET payload = ? WHERE id = ?", error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, payload_json);
	dk_stmt_bind_int64(st, 2, id);
	return step_done(store, st, id, TRUE, "updating an outbox row", error);
}

gboolean dk_store_outbox_claim(DkStore *store, gint64 id, gint64 now, gint64 until,
                               gboolean *claimed_out, GError **error)
{
	/* PostgreSQL: a row another gateway is claiming right now is skipped,
	 * not waited for (its claim moves it past now anyway). */
	DkStmt *st = dk_store_prepare(
	    store,
	    DK_SQL(store,
	           "UPDATE outbox SET next_attempt_at = ? WHERE id = ?"
	           " AND state = 'pending' AND next_attempt_at <= ?",
	           "UPDATE outbox SET next_attempt_at = ?1 WHERE id = (SELECT id FROM outbox"
	           " WHERE id = ?2 AND state = 'pending' AND next_attempt_at <= ?3"
	           " FOR UPDATE SKIP LOCKED)"),
	    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, until);
	dk_stmt_bind_int64(st, 2, id);
	dk_stmt_bind_int64(st, 3, now);
	if (!step_done(store, st, id, FALSE, "claiming an outbox row", error))
		return FALSE;
	*claimed_out = dk_store_last_changes(store) > 0;
	return TRUE;
}

gint64 dk_store_outbox_claim_until(gint64 now, gint64 lease)
{
	return MAX(now, g_get_real_time() / G_USEC_PER_SEC) + lease;
}

/* One UPDATE for done, defer and fail: they differ in state and time. */
static gboolean finish(DkStore *store, gint64 id, const char *state, gint64 next_at,
                       const char *last_error, GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store,
	    "UPDATE outbox SET state = ?, attempts = attempts + 1,"
	    " next_attempt_at = coalesce(?, next_attempt_at), last_error = ? WHERE id = ?",
	    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_static(st, 1, state);
	if (next_at > 0)
		dk_stmt_bind_int64(st, 2, next_at);
	else
		dk_stmt_bind_null(st, 2);
	dk_stmt_bind_text(st, 3, last_error);
	dk_stmt_bind_int64(st, 4, id);
	return step_done(store, st, id, TRUE, "updating an outbox row", error);
}

gboolean dk_store_outbox_done(DkStore *store, gint64 id, GError **error)
{
	return finish(store, id, "done", 0, NULL, error);
}

gboolean dk_store_outbox_defer(DkStore *store, gint64 id, gint64 next_at, const char *last_error,
                               GError **error)
{
	return finish(store, id, "pending", next_at, last_error, error);
}

gboolean dk_store_outbox_fail(DkStore *store, gint64 id, const char *last_error, GError **error)
{
	return finish(store, id, "failed", 0, last_error, error);
}

gboolean dk_store_outbox_retry(DkStore *store, gint64 id, gint64 now, GError **error)
{
	g_autoptr(DkOutboxRow) row = dk_store_outbox_get(store, id, error);
	if (row == NULL)
		return FALSE;
	if (g_strcmp0(row->state, "done") == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "outbox row %" G_GINT64_FORMAT " was already sent", id);
		return FALSE;
	}
	g_autoptr(DkOutboxRow) blocker = NULL;
	if (g_strcmp0(row->state, "held") == 0 &&
	    !dk_store_outbox_earlier_failed(store, row, &blocker, error))
		return FALSE;
	if (blocker != NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "outbox row %" G_GINT64_FORMAT
		            " is held behind failed row %" G_GINT64_FORMAT ": retry that one",
		            id, blocker->id);
		return FALSE;
	}
	/* One statement, so the rows held behind this one are released with
	 * it or not at all; they go out after it, in order (the worker sends a
	 * ticket's rows oldest first). */
	if (!dk_store_write(
	        store,
	        "UPDATE outbox SET state = 'pending', next_attempt_at = ?1 WHERE id = ?2"
	        " OR (state = 'held' AND id > ?2 AND kind = ?3 AND target = ?4 AND ticket = ?5)",
	        "retrying an outbox row", error, "iissi", now, id, row->kind, row->target,
	        row->ticket))
		return FALSE;
	return TRUE;
}

gboolean dk_store_outbox_earlier_failed(DkStore *store, const DkOutboxRow *row,
                                        DkOutboxRow **failed_out, GError **error)
{
	*failed_out = NULL;
	DkStmt *st =
	    dk_store_query(store,
	                   OUTBOX_SELECT " WHERE kind = ? AND target = ? AND ticket = ?"
	                                 " AND state = 'failed' AND id < ? ORDER BY id LIMIT 1",
	                   error, "ssii", row->kind, row->target, row->ticket, row->id);
	if (st == NULL)
		return FALSE;
	g_autoptr(GPtrArray) rows = query(store, st, error);
	if (rows == NULL)
		return FALSE;
	if (rows->len > 0)
		*failed_out = g_ptr_array_steal_index(rows, 0);
	return TRUE;
}

gboolean dk_store_outbox_hold(DkStore *store, const DkOutboxRow *blocker, const char *reason,
                              gint64 *held_out, GError **error)
{
	if (!dk_store_write(store,
	                    "UPDATE outbox SET state = 'held', last_error = ? WHERE kind = ?"
	                    " AND target = ? AND ticket = ? AND id > ? AND state = 'pending'",
	                    "holding outbox rows", error, "sssii", reason, blocker->kind,
	                    blocker->target, blocker->ticket, blocker->id))
		return FALSE;
	*held_out = dk_store_last_changes(store);
	return TRUE;
}

gboolean dk_store_outbox_count(DkStore *store, const char *state, gint64 *count_out, GError **error)
{
	return dk_store_lookup_int64(
	    store,
	    dk_store_query(store, "SELECT count(*) FROM outbox WHERE state = ?", error, "s", state),
	    "counting outbox rows", count_out, NULL, error);
}

gboolean dk_store_outbox_drop(DkStore *store, gint64 id, GError **error)
{
	DkStmt *st = dk_store_prepare(store, "DELETE FROM outbox WHERE id = ?", error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, id);
	return step_done(store, st, id, TRUE, "dropping an outbox row", error);
}

gboolean dk_store_outbox_standing(DkStore *store, const char *address, gint64 bounced_since,
                                  gint64 recent_since, gboolean *bouncing_out, gint64 *recent_out,
                                  GError **error)
{
	/* PostgreSQL's index is on lower(target) (store-schema-pg.c) */
	DkStmt *st = dk_store_query(
	    store,
	    DK_SQL(store,
	           "SELECT EXISTS (SELECT 1 FROM bouncing_addresses WHERE address = lower(?1)"
	           " AND last_at >= ?2), (SELECT count(*) FROM outbox WHERE target = ?1"
	           " COLLATE NOCASE AND created_at >= ?3 AND kind <> 'relay')",
	           "SELECT CASE WHEN EXISTS (SELECT 1 FROM bouncing_addresses"
	           " WHERE address = lower(?1) AND last_at >= ?2) THEN 1 ELSE 0 END,"
	           " (SELECT count(*) FROM outbox WHERE lower(target) = lower(?1)"
	           " AND created_at >= ?3 AND kind <> 'relay')"),
	    error, "sii", address, bounced_since, recent_since);
	if (st == NULL)
		return FALSE;
	int rc = dk_stmt_step(st);
	*bouncing_out = rc == DK_STMT_ROW && dk_stmt_int64(st, 0) != 0;
	*recent_out = rc == DK_STMT_ROW ? dk_stmt_int64(st, 1) : 0;
	dk_stmt_reset(st);
	if (rc != DK_STMT_ROW)
		return dk_store_set_error(store, error, "reading what is known of an address");
	return TRUE;
}

gboolean dk_store_outbox_sent_article(DkStore *store, const char *message_id, gint64 article,
                                      gint64 sent_at, GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store, "UPDATE message_ids SET article = ? WHERE message_id = ?", error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, article);
	dk_stmt_bind_text(st, 2, message_id);
	if (!step_done(store, st, article, FALSE, "linking a sent Message-ID", error))
		return FALSE;
	st = dk_store_prepare(store, "UPDATE articles SET sent_at = ? WHERE id = ?", error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, sent_at);
	dk_stmt_bind_int64(st, 2, article);
	return step_done(store, st, article, TRUE, "stamping a sent article", error);
}

void dk_outbox_row_free(DkOutboxRow *row)
{
	if (row == NULL)
		return;
	g_free(row->kind);
	g_free(row->target);
	g_free(row->payload);
	g_free(row->state);
	g_free(row->last_error);
	g_free(row);
}

gboolean dk_store_external_ref_get(DkStore *store, const char *connector, const char *kind,
                                   gint64 local_id, char **remote_out, GError **error)
{
	return dk_store_lookup_text(store,
	                            dk_store_query(store,
	                                           "SELECT remote_id FROM external_refs WHERE "
	                                           "connector = ? AND kind = ? AND local_id = ?",
	                                           error, "ssi", connector, kind, local_id),
	                            "reading an external reference", remote_out, error);
}

gboolean dk_store_external_ref_set(DkStore *store, const char *connector, const char *kind,
                                   gint64 local_id, const char *remote_id, GError **error)
{
	return dk_store_write(
	    store,
	    DK_SQL(store,
	           "INSERT OR REPLACE INTO external_refs (connector, kind, local_id, remote_id)"
	           " VALUES (?, ?, ?, ?)",
	           "INSERT INTO external_refs (connector, kind, local_id, remote_id)"
	           " VALUES (?, ?, ?, ?) ON CONFLICT (connector, kind, local_id)"
	           " DO UPDATE SET remote_id = excluded.remote_id"),
	    "recording an external reference", error, "ssis", connector, kind, local_id, remote_id);
}

gboolean dk_store_outbox_earlier_pending(DkStore *store, const DkOutboxRow *row,
                                         gboolean *exists_out, GError **error)
{
	gint64 exists = 0;
	gboolean ok = dk_store_lookup_int64(
	    store,
	    dk_store_query(
	        store,
	        "SELECT EXISTS (SELECT 1 FROM outbox WHERE kind = ? AND target = ? AND ticket = ?"
	        " AND state = 'pending' AND id < ?)",
	        error, "ssii", row->kind, row->target, row->ticket, row->id),
	    "reading the outbox", &exists, NULL, error);
	*exists_out = exists != 0;
	return ok;
}

gboolean dk_store_outbox_has(DkStore *store, const char *kind, const char *target, gint64 ticket,
                             gboolean *exists_out, GError **error)
{
	gint64 exists = 0;
	gboolean ok = dk_store_lookup_int64(
	    store,
	    dk_store_query(
	        store,
	        "SELECT EXISTS (SELECT 1 FROM outbox WHERE kind = ? AND target = ? AND ticket = ?)",
	        error, "ssi", kind, target, ticket),
	    "reading the outbox", &exists, NULL, error);
	*exists_out = exists != 0;
	return ok;
}

gboolean dk_store_outbox_unsettled(DkStore *store, const char *kind, const char *target,
                                   gint64 ticket, gboolean *exists_out, GError **error)
{
	gint64 exists = 0;
	gboolean ok = dk_store_lookup_int64(
	    store,
	    dk_store_query(store,
	                   "SELECT EXISTS (SELECT 1 FROM outbox WHERE kind = ? AND target = ?"
	                   " AND ticket = ? AND state IN ('pending', 'held'))",
	                   error, "ssi", kind, target, ticket),
	    "reading the outbox", &exists, NULL, error);
	*exists_out = exists != 0;
	return ok;
}

static gboolean add_local_id(DkStmt *st, gpointer data)
{
	gint64 id = dk_stmt_int64(st, 0);
	g_array_append_val((GArray *)data, id);
	return TRUE;
}

gboolean dk_store_external_refs(DkStore *store, const char *connector, const char *kind,
                                GArray *local_out, GError **error)
{
	DkStmt *st = dk_store_query(store,
	                            "SELECT local_id FROM external_refs WHERE connector = ?"
	                            " AND kind = ? ORDER BY local_id",
	                            error, "ss", connector, kind);
	return dk_store_each_row(store, st, "reading the external references", add_local_id,
	                         local_out, error);
}

gboolean dk_store_external_ref_taken(DkStore *store, const char *connector, const char *kind,
                                     const char *remote_id, gboolean *taken_out, GError **error)
{
	DkStmt *st = dk_store_prepare(store,
	                              "SELECT EXISTS (SELECT 1 FROM external_refs WHERE"
	                              " connector = ? AND kind = ? AND remote_id = ?)",
	                              error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, connector);
	dk_stmt_bind_text(st, 2, kind);
	dk_stmt_bind_text(st, 3, remote_id);
	int rc = dk_stmt_step(st);
	*taken_out = rc == DK_STMT_ROW && (int)dk_stmt_int64(st, 0) != 0;
	dk_stmt_reset(st);
	if (rc != DK_STMT_ROW)
		return dk_store_set_error(store, error, "reading the external references");
	return TRUE;
}
