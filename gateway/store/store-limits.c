/* Counts for the intake limits (store-limits.h). */
#include "gateway/store/store-limits.h"

#include "gateway/store/store-private.h"

gboolean dk_store_sender_recent(DkStore *store, const char *sender, gint64 since, gint64 upto,
                                gint64 *count_out, GError **error)
{
	/* The index holds both columns: the count reads no table row, and
	 * stops at upto whatever the sender's history. */
	/* PostgreSQL's index is on lower(sender) (store-schema-pg.c) */
	DkStmt *st = dk_store_query(
	    store,
	    DK_SQL(store,
	           "SELECT count(*) FROM (SELECT 1 FROM articles WHERE sender = ? COLLATE NOCASE"
	           " AND created_at >= ? LIMIT ?) AS recent",
	           "SELECT count(*) FROM (SELECT 1 FROM articles WHERE lower(sender) = lower(?)"
	           " AND created_at >= ? LIMIT ?) AS recent"),
	    error, "sii", sender, since, upto);
	*count_out = 0;
	return dk_store_lookup_int64(store, st, "counting a sender's recent articles", count_out,
	                             NULL, error);
}
