/* A raw message kept in pieces (raw_chunks, schema migration 20): how the
 * PostgreSQL store keeps one above inline_max without holding it whole,
 * and how any store reads a large raw message back a piece at a time. */
#pragma once

#include "gateway/store/store.h"

G_BEGIN_DECLS

/* The size of a piece: large enough that a 100 MiB message is a hundred
 * statements, small enough that the gateway and libpq hold a few of
 * them (the bytes, the parameter, the result in hex) in a few MiB. */
#define DK_STORE_CHUNK (1024 * 1024)

/* Keeps the size bytes of the file fd (from offset 0; fd < 0: of bytes in
 * memory) as the raw message sha256 in pieces of DK_STORE_CHUNK: its row
 * of raw_messages (data empty, chunks the number of pieces), then one row
 * of raw_chunks per piece, each read and written in turn. Does nothing
 * more when the raw message is kept already (the same bytes). Inside the
 * caller's transaction: a failure part-way (a piece that cannot be read
 * or written) returns FALSE, and the caller's rollback takes away what
 * was written. */
gboolean dk_store_chunks_put(DkStore *store, const char *sha256, int fd, const guint8 *bytes,
                             gsize size, gint64 now, GError **error);

/* Passes the chunks pieces of raw message sha256 to sink in order, one
 * statement and one piece in memory at a time. FALSE with error when a
 * read fails or the sink fails; DK_ERROR_PERMANENT when a piece is missing
 * or the pieces do not add up to size; TRUE when the sink stopped early. */
gboolean dk_store_chunks_read(DkStore *store, const char *sha256, gint64 chunks, gint64 size,
                              DkStoreRawSink sink, gpointer data, GError **error);

/* Passes the size bytes of the file path to sink in pieces, as
 * dk_store_chunks_read() does (a raw message kept as a file). */
gboolean dk_store_chunks_read_file(const char *path, gint64 size, DkStoreRawSink sink,
                                   gpointer data, GError **error);

G_END_DECLS
