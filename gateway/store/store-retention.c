/* Retention's queries: the closed tickets whose raw mail may go, what
 * else still holds a content, marking contents purged, and the files of
 * purged contents still to remove. */
#include "gateway/store/store-retention.h"

#include "gateway/error.h"
#include "gateway/store/store-private.h"

char *dk_store_retention_date(gint64 at)
{
	g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc(at);
	return when ? g_date_time_format(when, "%Y-%m-%d") : g_strdup("?");
}

gboolean dk_store_raw_gone(const char *sha256, gint64 purged_at, GError **error)
{
	g_autofree char *day = dk_store_retention_date(purged_at);
	g_set_error(error, DK_ERROR, DK_ERROR_GONE,
	            "raw message %s was purged on %s ([store] keep_raw_days)", sha256, day);
	return FALSE;
}

void dk_retention_ticket_free(gpointer ticket)
{
	DkRetentionTicket *t = ticket;
	if (t == NULL)
		return;
	g_free(t->queue);
	g_free(t);
}

/* The columns ticket_from_row reads, of tickets t. */
#define TICKET_COLUMNS                                                                             \
	"SELECT t.number, t.queue,"                                                                \
	" CASE WHEN t.status = 'closed' THEN coalesce(t.closed_at, 0) ELSE 0 END,"                 \
	" EXISTS (SELECT 1 FROM outbox o WHERE o.ticket = t.number"                                \
	" AND o.state IN ('pending', 'held'))"

/* Whether ticket t still has a raw message or attachment content that is
 * not purged. */
#define HOLDS_CONTENT                                                                              \
	"(EXISTS (SELECT 1 FROM articles a JOIN raw_messages r ON r.sha256 = a.raw_sha256"         \
	"  WHERE a.ticket = t.number AND r.purged_at IS NULL)"                                     \
	" OR EXISTS (SELECT 1 FROM articles a JOIN article_attachments aa ON aa.article = a.id"    \
	"  JOIN attachments c ON c.sha256 = aa.sha256"                                             \
	"  WHERE a.ticket = t.number AND c.purged_at IS NULL AND length(c.sha256) = 64))"

static gpointer ticket_from_row(DkStmt *st)
{
	DkRetentionTicket *t = g_new0(DkRetentionTicket, 1);
	t->number = dk_stmt_int64(st, 0);
	t->queue = dk_store_column_text(st, 1);
	t->closed_at = dk_stmt_int64(st, 2);
	t->outbox_pending = dk_stmt_int64(st, 3) != 0;
	return t;
}

static GPtrArray *tickets(DkStore *store, DkStmt *st, GError **error)
{
	return dk_store_collect(store, st, "reading tickets for retention", ticket_from_row,
	                        dk_retention_ticket_free, error);
}

GPtrArray *dk_store_retention_candidates(DkStore *store, gint64 before, gint64 after_at,
                                         gint64 after_number, guint limit, GError **error)
{
	return tickets(store,
	               dk_store_query(store,
	                              TICKET_COLUMNS " FROM tickets t WHERE t.status = 'closed'"
	                                             " AND t.closed_at <= ?1 AND (t.closed_at > ?2"
	                                             " OR (t.closed_at = ?2 AND t.number > ?3))"
	                                             " AND " HOLDS_CONTENT
	                                             " ORDER BY t.closed_at, t.number LIMIT ?4",
	                              error, "iiii", before, after_at, after_number, (gint64)limit),
	               error);
}

DkRetentionTicket *dk_store_retention_ticket(DkStore *store, gint64 number, GError **error)
{
	g_autoptr(GPtrArray) rows =
	    tickets(store,
	            dk_store_query(store, TICKET_COLUMNS " FROM tickets t WHERE t.number = ?",
	                           error, "i", number),
	            error);
	if (rows == NULL)
		return NULL;
	if (rows->len == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no ticket %" G_GINT64_FORMAT,
		            number);
		return NULL;
	}
	return g_steal_pointer(&rows->pdata[0]);
}

void dk_retained_content_free(gpointer content)
{
	DkRetainedContent *c = content;
	if (c == NULL)
		return;
	g_free(c->sha256);
	g_free(c);
}

static gpointer content_from_row(DkStmt *st)
{
	DkRetainedContent *c = g_new0(DkRetainedContent, 1);
	c->sha256 = dk_store_column_text(st, 0);
	c->size = dk_stmt_int64(st, 1);
	c->file = dk_stmt_int64(st, 2) != 0;
	return c;
}

static GPtrArray *contents(DkStore *store, DkStmt *st, GError **error)
{
	return dk_store_collect(store, st, "reading a ticket's contents", content_from_row,
	                        dk_retained_content_free, error);
}

GPtrArray *dk_store_ticket_raws(DkStore *store, gint64 ticket, GError **error)
{
	return contents(store,
	                dk_store_query(store,
	                               "SELECT DISTINCT r.sha256, r.size, r.path IS NOT NULL"
	                               " FROM articles a JOIN raw_messages r ON r.sha256 ="
	                               " a.raw_sha256 WHERE a.ticket = ? AND r.purged_at IS NULL"
	                               " ORDER BY r.sha256",
	                               error, "i", ticket),
	                error);
}

GPtrArray *dk_store_ticket_contents(DkStore *store, gint64 ticket, GError **error)
{
	return contents(
	    store,
	    dk_store_query(store,
	                   "SELECT DISTINCT c.sha256, c.size, c.path IS NOT NULL FROM articles a"
	                   " JOIN article_attachments aa ON aa.article = a.id"
	                   " JOIN attachments c ON c.sha256 = aa.sha256"
	                   " WHERE a.ticket = ? AND c.purged_at IS NULL"
	                   " AND length(c.sha256) = 64 ORDER BY c.sha256",
	                   error, "i", ticket),
	    error);
}

GPtrArray *dk_store_content_holders(DkStore *store, gboolean attachment, const char *sha256,
                                    GError **error)
{
	if (attachment)
		return tickets(store,
		               dk_store_query(store,
		                              TICKET_COLUMNS
		                              " FROM tickets t WHERE t.number IN"
		                              " (SELECT a.ticket FROM article_attachments"
		                              " aa JOIN articles a ON a.id = aa.article"
		                              " WHERE aa.sha256 = ?)",
		                              error, "s", sha256),
		               error);
	return tickets(store,
	               dk_store_query(store,
	                              TICKET_COLUMNS " FROM tickets t WHERE t.number IN"
	                                             " (SELECT a.ticket FROM articles a"
	                                             " WHERE a.raw_sha256 = ?)",
	                              error, "s", sha256),
	               error);
}

gboolean dk_store_raw_needed(DkStore *store, const char *sha256, gboolean *needed_out,
                             GError **error)
{
	/* A SHA-256 in hex holds no LIKE wildcard. */
	g_autofree char *pattern = g_strdup_printf("%%%s%%", sha256);
	gint64 needed = 0;
	if (!dk_store_lookup_int64(store,
	                           dk_store_query(store,
	                                          "SELECT EXISTS (SELECT 1 FROM quarantine"
	                                          " WHERE raw_sha256 = ?1) OR EXISTS (SELECT 1"
	                                          " FROM outbox WHERE state IN ('pending', 'held')"
	                                          " AND payload LIKE ?2)",
	                                          error, "ss", sha256, pattern),
	                           "looking for what needs a raw message", &needed, NULL, error))
		return FALSE;
	*needed_out = needed != 0;
	return TRUE;
}

gboolean dk_store_content_purge(DkStore *store, gboolean attachment, const char *sha256, gint64 now,
                                GError **error)
{
	if (attachment)
		return dk_store_write(store,
		                      DK_SQL(store,
		                             "UPDATE attachments SET purged_at = ?"
		                             " WHERE sha256 = ? AND purged_at IS NULL",
		                             /* the bytes are in the database */
		                             "UPDATE attachments SET purged_at = ?, data = NULL,"
		                             " chunks = 0 WHERE sha256 = ? AND purged_at IS NULL"),
		                      "purging an attachment", error, "is", now, sha256) &&
		       dk_store_write(store, "DELETE FROM attachment_chunks WHERE sha256 = ?",
		                      "purging an attachment's pieces", error, "s", sha256);
	/* A raw message's bytes inside the database go now, in one value or
	 * in pieces; a file's path stays until the file is removed. */
	return dk_store_write(
	           store,
	           DK_SQL(store,
	                  "UPDATE raw_messages SET purged_at = ?, chunks = 0,"
	                  " data = CASE WHEN path IS NULL THEN x'' ELSE NULL END"
	                  " WHERE sha256 = ? AND purged_at IS NULL",
	                  "UPDATE raw_messages SET purged_at = ?, chunks = 0,"
	                  " data = CASE WHEN path IS NULL THEN '\\x'::bytea ELSE NULL END"
	                  " WHERE sha256 = ? AND purged_at IS NULL"),
	           "purging a raw message", error, "is", now, sha256) &&
	       dk_store_write(store, "DELETE FROM raw_chunks WHERE sha256 = ?",
	                      "purging a raw message's pieces", error, "s", sha256);
}

void dk_purged_file_free(gpointer file)
{
	DkPurgedFile *f = file;
	if (f == NULL)
		return;
	g_free(f->sha256);
	g_free(f->path);
	g_free(f);
}

typedef struct {
	DkStore *store;
	GPtrArray *out;
} Files;

static gboolean add_file(DkStmt *st, gpointer data)
{
	Files *files = data;
	DkPurgedFile *f = g_new0(DkPurgedFile, 1);
	f->attachment = dk_stmt_int64(st, 0) != 0;
	f->sha256 = dk_store_column_text(st, 1);
	g_autofree char *rel = dk_store_column_text(st, 2);
	f->path = g_build_filename(files->store->data_dir, rel ? rel : "", NULL);
	f->purged_at = dk_stmt_int64(st, 3);
	g_ptr_array_add(files->out, f);
	return TRUE;
}

GPtrArray *dk_store_purged_files(DkStore *store, guint limit, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(dk_purged_file_free);
	Files files = {store, out};
	if (!dk_store_each_row(
	        store,
	        dk_store_query(store,
	                       "SELECT 0, sha256, path, purged_at FROM (SELECT sha256, path,"
	                       " purged_at FROM raw_messages WHERE purged_at IS NOT NULL"
	                       " AND path IS NOT NULL LIMIT ?1) AS r UNION ALL SELECT 1, sha256,"
	                       " path, purged_at FROM (SELECT sha256, path, purged_at"
	                       " FROM attachments WHERE purged_at IS NOT NULL AND path <> ''"
	                       " LIMIT ?1) AS a",
	                       error, "i", (gint64)limit),
	        "reading the files of purged contents", add_file, &files, error))
		return NULL;
	g_ptr_array_set_size(out, MIN(out->len, limit));
	return g_steal_pointer(&out);
}

gboolean dk_store_purged_file_check(DkStore *store, const DkPurgedFile *f, gboolean *purged_out,
                                    GError **error)
{
	gboolean found = FALSE;
	gint64 one = 0;
	if (!dk_store_lookup_int64(
	        store,
	        f->attachment ? dk_store_query(store,
	                                       "SELECT 1 FROM attachments WHERE sha256 = ?"
	                                       " AND purged_at IS NOT NULL AND path <> ''",
	                                       error, "s", f->sha256)
	                      : dk_store_query(store,
	                                       "SELECT 1 FROM raw_messages WHERE sha256 = ?"
	                                       " AND purged_at IS NOT NULL AND path IS NOT NULL",
	                                       error, "s", f->sha256),
	        "checking a purged content", &one, &found, error))
		return FALSE;
	*purged_out = found;
	return TRUE;
}

gboolean dk_store_purged_file_done(DkStore *store, const DkPurgedFile *f, GError **error)
{
	if (f->attachment)
		return dk_store_write(store,
		                      "UPDATE attachments SET path = '' WHERE sha256 = ?"
		                      " AND purged_at = ?",
		                      "recording a removed file", error, "si", f->sha256,
		                      f->purged_at);
	return dk_store_write(store,
	                      "UPDATE raw_messages SET path = NULL, data = x''"
	                      " WHERE sha256 = ? AND purged_at = ?",
	                      "recording a removed file", error, "si", f->sha256, f->purged_at);
}
