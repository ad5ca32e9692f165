/* The PostgreSQL backend of the store (store-pg.c), in the network
 * library: `docket` runs every command that opens a PostgreSQL store
 * through docket-net, which registers it at start. */
#pragma once

#include "gateway/store/store.h"

#include <glib.h>

G_BEGIN_DECLS

/* Makes [store] backend = postgresql known to dk_store_open_config(). */
void dk_store_pg_register(void);

/* A store on the PostgreSQL database conninfo (a libpq connection string
 * or URI) with its schema brought up to date; NULL and error (TEMPORARY
 * when the server cannot be reached) on failure. options may be NULL. */
DkStore *dk_store_pg_open(const char *conninfo, const DkStoreOptions *options, GError **error);

/* The requests store's connection has sent the server and waited for
 * its answer, each a round trip over the network: every statement run
 * (its preparation, once per connection, another), BEGIN with the
 * writers' lock, the settings of each new connection; not connecting
 * (TLS, authentication) nor the schema's migration at open. 0 for a
 * store on another backend. */
guint64 dk_store_pg_round_trips(DkStore *store);

/* The results store's connection took in binary (libpq's result format
 * 1): those of a prepared statement whose first result held a bytea,
 * from its second run on; 0 for a store on another backend. */
guint64 dk_store_pg_binary_results(DkStore *store);

G_END_DECLS
