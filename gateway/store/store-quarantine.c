/* The quarantine: raw messages that became no article (docket could not
 * read them, the sender limit held them, they were auto-replies or bounces
 * naming no ticket, or the rules discarded them), with kind and reason. */
#include "gateway/store/store-private.h"

gboolean dk_store_quarantine_add(DkStore *store, const DkQuarantined *q, gint64 *id_out,
                                 GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store,
	    "INSERT INTO quarantine (raw_sha256, reason, intake, envelope_from,"
	    " recipients, received_at, kind, ticket) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (raw_sha256) DO UPDATE SET reason = excluded.reason,"
	    " kind = excluded.kind, ticket = excluded.ticket"
	    " RETURNING id",
	    error);
	if (st == NULL)
		return FALSE;
	const char *values[] = {q->raw_sha256, q->reason, q->intake, q->envelope_from,
	                        q->recipients};
	for (guint i = 0; i < G_N_ELEMENTS(values); i++) {
		if (values[i] == NULL)
			dk_stmt_bind_null(st, (int)i + 1);
		else
			dk_stmt_bind_text(st, (int)i + 1, values[i]);
	}
	dk_stmt_bind_int64(st, 6, q->received_at);
	dk_stmt_bind_text(st, 7, q->kind ? q->kind : "unreadable");
	if (q->ticket > 0)
		dk_stmt_bind_int64(st, 8, q->ticket);
	else
		dk_stmt_bind_null(st, 8);
	int rc = dk_stmt_step(st);
	if (rc == DK_STMT_ROW)
		*id_out = dk_stmt_int64(st, 0);
	dk_stmt_reset(st);
	if (rc != DK_STMT_ROW)
		return dk_store_set_error(store, error, "quarantining a message");
	return TRUE;
}

gboolean dk_store_quarantine_remove(DkStore *store, gint64 id, GError **error)
{
	DkStmt *st = dk_store_prepare(store, "DELETE FROM quarantine WHERE id = ?", error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, id);
	int rc = dk_stmt_step(st);
	dk_stmt_reset(st);
	if (rc != DK_STMT_DONE)
		return dk_store_set_error(store, error, "releasing a quarantined message");
	return TRUE;
}

#define QUARANTINE_SELECT                                                                          \
	"SELECT q.id, q.raw_sha256, q.reason, q.intake, q.envelope_from, q.recipients, r.size,"    \
	" q.received_at, q.kind, q.ticket FROM quarantine q"                                       \
	" JOIN raw_messages r ON r.sha256 = q.raw_sha256"

static gpointer entry_from_row(DkStmt *st)
{
	DkQuarantined *q = g_new0(DkQuarantined, 1);
	q->id = dk_stmt_int64(st, 0);
	q->raw_sha256 = dk_store_column_text(st, 1);
	q->reason = dk_store_column_text(st, 2);
	q->intake = dk_store_column_text(st, 3);
	q->envelope_from = dk_store_column_text(st, 4);
	q->recipients = dk_store_column_text(st, 5);
	q->size = dk_stmt_int64(st, 6);
	q->received_at = dk_stmt_int64(st, 7);
	q->kind = dk_store_column_text(st, 8);
	q->ticket = dk_stmt_int64(st, 9);
	return q;
}

static GPtrArray *query(DkStore *store, DkStmt *st, GError **error)
{
	return dk_store_collect(store, st, "reading the quarantine", entry_from_row,
	                        (GDestroyNotify)dk_quarantined_free, error);
}

GPtrArray *dk_store_quarantine_list(DkStore *store, GError **error)
{
	DkStmt *st = dk_store_prepare(store, QUARANTINE_SELECT " ORDER BY q.id", error);
	return st ? query(store, st, error) : NULL;
}

DkQuarantined *dk_store_quarantine_get(DkStore *store, gint64 id, GError **error)
{
	DkStmt *st = dk_store_prepare(store, QUARANTINE_SELECT " WHERE q.id = ?", error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_int64(st, 1, id);
	g_autoptr(GPtrArray) rows = query(store, st, error);
	if (rows == NULL)
		return NULL;
	if (rows->len == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND,
		            "no quarantined message %" G_GINT64_FORMAT, id);
		return NULL;
	}
	return g_ptr_array_steal_index(rows, 0);
}

void dk_quarantined_free(DkQuarantined *q)
{
	if (q == NULL)
		return;
	g_free(q->raw_sha256);
	g_free(q->kind);
	g_free(q->reason);
	g_free(q->intake);
	g_free(q->envelope_from);
	g_free(q->recipients);
	g_free(q);
}

/* One kind's count into the table of counts. */
static gboolean add_count(DkStmt *st, gpointer data)
{
	g_hash_table_insert(data, dk_store_column_text(st, 0),
	                    GSIZE_TO_POINTER((gsize)dk_stmt_int64(st, 1)));
	return TRUE;
}

GHashTable *dk_store_quarantine_counts(DkStore *store, GError **error)
{
	static const char *const kinds[] = {DK_SET_ASIDE_KINDS};
	DkStmt *st =
	    dk_store_prepare(store, "SELECT kind, count(*) FROM quarantine GROUP BY kind", error);
	if (st == NULL)
		return NULL;
	g_autoptr(GHashTable) out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < G_N_ELEMENTS(kinds); i++)
		g_hash_table_insert(out, g_strdup(kinds[i]), GINT_TO_POINTER(0));
	if (!dk_store_each_row(store, st, "counting the quarantine", add_count, out, error))
		return NULL;
	return g_steal_pointer(&out);
}
