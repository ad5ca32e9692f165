/* Addresses whose mail bounced: marked by a bounce that came back to a
 * notification's own VERP address, expired by age, listed and cleared by
 * `docket bounces`. */
#include "gateway/store/store-private.h"

gboolean dk_store_bouncing_mark(DkStore *store, const char *address, const char *status, gint64 now,
                                GError **error)
{
	return dk_store_write(
	    store,
	    "INSERT INTO bouncing_addresses (address, since, last_status, last_at)"
	    " VALUES (lower(?1), ?2, ?3, ?2)"
	    " ON CONFLICT (address) DO UPDATE SET count = bouncing_addresses.count + 1, "
	    "last_status = ?3,"
	    " last_at = ?2",
	    "marking an address as bouncing", error, "sis", address, now, status);
}

gboolean dk_store_bouncing_get(DkStore *store, const char *address, gint64 not_before,
                               gboolean *bouncing_out, GError **error)
{
	return dk_store_lookup_int64(
	    store,
	    dk_store_query(
	        store, "SELECT 1 FROM bouncing_addresses WHERE address = lower(?) AND last_at >= ?",
	        error, "si", address, not_before),
	    "looking up a bouncing address", NULL, bouncing_out, error);
}

static gpointer bouncing_from_row(DkStmt *st)
{
	DkBouncing *b = g_new0(DkBouncing, 1);
	b->address = dk_store_column_text(st, 0);
	b->last_status = dk_store_column_text(st, 1);
	b->since = dk_stmt_int64(st, 2);
	b->last_at = dk_stmt_int64(st, 3);
	b->count = dk_stmt_int64(st, 4);
	return b;
}

GPtrArray *dk_store_bouncing_list(DkStore *store, GError **error)
{
	DkStmt *st = dk_store_prepare(store,
	                              "SELECT address, last_status, since, last_at, count"
	                              " FROM bouncing_addresses ORDER BY address",
	                              error);
	return dk_store_collect(store, st, "reading the bouncing addresses", bouncing_from_row,
	                        (GDestroyNotify)dk_bouncing_free, error);
}

gboolean dk_store_bouncing_clear(DkStore *store, const char *address, gint64 *count_out,
                                 GError **error)
{
	gboolean ok =
	    address != NULL
	        ? dk_store_write(store, "DELETE FROM bouncing_addresses WHERE address = lower(?)",
	                         "clearing a bouncing address", error, "s", address)
	        : dk_store_write(store, "DELETE FROM bouncing_addresses",
	                         "clearing the bouncing addresses", error, "");
	if (ok && count_out != NULL)
		*count_out = dk_store_last_changes(store);
	return ok;
}

void dk_bouncing_free(DkBouncing *b)
{
	if (b == NULL)
		return;
	g_free(b->address);
	g_free(b->last_status);
	g_free(b);
}
