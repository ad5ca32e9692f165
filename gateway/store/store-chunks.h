/* A content kept in pieces (raw_chunks and attachment_chunks, schema
 * migration 20): how the PostgreSQL store keeps a raw message or an
 * attachment's content above inline_max without sending it as one value,
 * and how any store reads a large one back a piece at a time. */
#pragma once

#include "gateway/store/store.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* The size of a piece: large enough that a 100 MiB message is a hundred
 * statements, small enough that the gateway and libpq hold a few of
 * them (the bytes, the parameter, the result in hex) in a few MiB. */
#define DK_STORE_CHUNK (1024 * 1024)

/* Whose pieces: a raw message's (raw_chunks) or an attachment content's
 * (attachment_chunks). */
typedef enum { DK_STORE_CHUNKS_RAW, DK_STORE_CHUNKS_ATTACHMENT } DkStoreChunksKind;

/* The pieces size bytes make. */
gint64 dk_store_chunks_count(gsize size);

/* Writes the pieces of the content sha256 of that kind, whose row (with
 * chunks = dk_store_chunks_count(size)) the caller wrote: the size bytes
 * of the file fd from offset, or of bytes when fd < 0, each piece
 * read and written in turn. Inside the caller's transaction: a failure
 * part-way (a piece that cannot be read or written) returns FALSE, and
 * the caller's rollback takes away what was written. */
gboolean dk_store_chunks_write(DkStore *store, DkStoreChunksKind kind, const char *sha256, int fd,
                               gsize offset, const guint8 *bytes, gsize size, GError **error);

/* Keeps the size bytes of the file fd (fd < 0: of bytes) as the raw
 * message sha256 in pieces: its row of raw_messages (data empty, chunks
 * the number of pieces), then dk_store_chunks_write(). Does nothing more
 * when the raw message is kept already (the same bytes). */
gboolean dk_store_chunks_put(DkStore *store, const char *sha256, int fd, const guint8 *bytes,
                             gsize size, gint64 now, GError **error);

/* Passes the chunks pieces of content sha256 to sink in order, one
 * statement and one piece in memory at a time. FALSE with error when a
 * read fails or the sink fails; DK_ERROR_PERMANENT when a piece is missing
 * or the pieces do not add up to size; TRUE when the sink stopped early. */
gboolean dk_store_chunks_read(DkStore *store, DkStoreChunksKind kind, const char *sha256,
                              gint64 chunks, gint64 size, DkStoreRawSink sink, gpointer data,
                              GError **error);

/* The chunks pieces of content sha256 as a stream to read from its start,
 * one piece fetched (one statement) when the reader has taken the one
 * before: a read fails as dk_store_chunks_read() does. It uses store at
 * each read, from the caller's thread, and must not outlive it. */
GInputStream *dk_store_chunks_stream(DkStore *store, DkStoreChunksKind kind, const char *sha256,
                                     gint64 chunks, gint64 size);

/* Passes the size bytes of the file path to sink in pieces, as
 * dk_store_chunks_read() does (a raw message kept as a file). */
gboolean dk_store_chunks_read_file(const char *path, gint64 size, DkStoreRawSink sink,
                                   gpointer data, GError **error);

G_END_DECLS
