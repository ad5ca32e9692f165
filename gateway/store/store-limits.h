/* The store's side of the intake limits: how much one sender got in
 * lately, counted from the articles themselves so that the count survives
 * a restart and needs no table of its own. */
#pragma once

#include "gateway/store/store.h"

G_BEGIN_DECLS

/* How many articles from sender (case-insensitive) were stored at or
 * after the Unix time since, counted up to upto at most: one query on
 * the index articles_sender alone. (docket's own outbound articles carry
 * its own or an agent's address, never a customer's.) Errors are the
 * store's (temporary when the database is busy). */
gboolean dk_store_sender_recent(DkStore *store, const char *sender, gint64 since, gint64 upto,
                                gint64 *count_out, GError **error);

G_END_DECLS
