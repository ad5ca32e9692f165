/* Contents in pieces: written a piece at a time into raw_chunks or
 * attachment_chunks (the PostgreSQL store, above inline_max), and read
 * back a piece at a time, from those rows or from a file. */
#include "gateway/store/store-chunks.h"

#include "gateway/store/store-file.h"
#include "gateway/store/store-private.h"
#include "gateway/store/store-retention.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* The statements of each kind's pieces. */
static const char *const insert_piece[] = {
    [DK_STORE_CHUNKS_RAW] = "INSERT INTO raw_chunks (sha256, seq, data) VALUES (?, ?, ?)",
    [DK_STORE_CHUNKS_ATTACHMENT] =
        "INSERT INTO attachment_chunks (sha256, seq, data) VALUES (?, ?, ?)",
};
static const char *const select_piece[] = {
    [DK_STORE_CHUNKS_RAW] = "SELECT data FROM raw_chunks WHERE sha256 = ? AND seq = ?",
    [DK_STORE_CHUNKS_ATTACHMENT] =
        "SELECT data FROM attachment_chunks WHERE sha256 = ? AND seq = ?",
};
static const char *const kind_name[] = {
    [DK_STORE_CHUNKS_RAW] = "raw message",
    [DK_STORE_CHUNKS_ATTACHMENT] = "attachment content",
};

gint64 dk_store_chunks_count(gsize size)
{
	return (gint64)((size + DK_STORE_CHUNK - 1) / DK_STORE_CHUNK);
}

/* The row of raw_messages of a raw message kept in pieces; into *new_out
 * whether it was written now (not there, or purged and back). */
static gboolean put_row(DkStore *store, const char *sha256, gsize size, gint64 now,
                        gboolean *new_out, GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store,
	    "INSERT INTO raw_messages (sha256, size, data, path, received_at, chunks)"
	    " VALUES (?, ?, ?, NULL, ?, ?)" DK_STORE_RAW_REVIVE,
	    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, sha256);
	dk_stmt_bind_int64(st, 2, (gint64)size);
	dk_stmt_bind_blob_static(st, 3, "", 0); /* the CHECK wants data or path */
	dk_stmt_bind_int64(st, 4, now);
	dk_stmt_bind_int64(st, 5, dk_store_chunks_count(size));
	if (!dk_store_run(store, st, "storing a raw message", error))
		return FALSE;
	*new_out = dk_store_last_changes(store) > 0;
	return TRUE;
}

static gboolean put_piece(DkStore *store, DkStoreChunksKind kind, const char *sha256, gint64 seq,
                          const guint8 *bytes, gsize size, GError **error)
{
	DkStmt *st = dk_store_prepare(store, insert_piece[kind], error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, sha256);
	dk_stmt_bind_int64(st, 2, seq);
	dk_stmt_bind_blob_static(st, 3, bytes, size);
	g_autofree char *doing = g_strdup_printf("storing a piece of a %s", kind_name[kind]);
	gboolean ok = dk_store_run(store, st, doing, error);
	dk_stmt_clear(st); /* the bytes are the caller's */
	return ok;
}

gboolean dk_store_chunks_write(DkStore *store, DkStoreChunksKind kind, const char *sha256, int fd,
                               gsize offset, const guint8 *bytes, gsize size, GError **error)
{
	gint64 chunks = dk_store_chunks_count(size);
	g_autofree guint8 *buf = fd >= 0 ? g_malloc(MIN(size, (gsize)DK_STORE_CHUNK)) : NULL;
	for (gint64 seq = 0; seq < chunks; seq++) {
		gsize at = (gsize)seq * DK_STORE_CHUNK, n = MIN(size - at, (gsize)DK_STORE_CHUNK);
		const guint8 *piece = bytes != NULL ? bytes + at : buf;
		if (fd >= 0 && !dk_store_file_read_at(fd, buf, n, offset + at)) {
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
			            "store: reading a %s at byte %" G_GSIZE_FORMAT ": %s",
			            kind_name[kind], at, g_strerror(errno));
			return FALSE;
		}
		if (!put_piece(store, kind, sha256, seq, piece, n, error))
			return FALSE;
	}
	return TRUE;
}

gboolean dk_store_chunks_put(DkStore *store, const char *sha256, int fd, const guint8 *bytes,
                             gsize size, gint64 now, GError **error)
{
	gboolean fresh = FALSE;
	if (!put_row(store, sha256, size, now, &fresh, error))
		return FALSE;
	/* nothing more when the same bytes are kept already */
	return !fresh ||
	       dk_store_chunks_write(store, DK_STORE_CHUNKS_RAW, sha256, fd, 0, bytes, size, error);
}

static gboolean damaged(DkStoreChunksKind kind, const char *sha256, const char *what,
                        GError **error)
{
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "store: %s %s is damaged: %s",
	            kind_name[kind], sha256, what);
	return FALSE;
}

/* Hands a piece to the sink: *go_on_out FALSE when it stopped (its error,
 * if any, in error). */
static gboolean give(DkStoreRawSink sink, gpointer data, const guint8 *bytes, gsize size,
                     gboolean *go_on_out, GError **error)
{
	GError *local = NULL;
	*go_on_out = sink(bytes, size, data, &local);
	if (local == NULL)
		return TRUE;
	g_propagate_error(error, local);
	return FALSE;
}

/* The statement of piece seq of content sha256, stepped to its row (the
 * caller resets it); NULL with error when the read fails or the piece is
 * missing. */
static DkStmt *piece_row(DkStore *store, DkStoreChunksKind kind, const char *sha256, gint64 seq,
                         GError **error)
{
	DkStmt *st = dk_store_query(store, select_piece[kind], error, "si", sha256, seq);
	if (st == NULL)
		return NULL;
	int rc = dk_stmt_step(st);
	if (rc == DK_STMT_ROW)
		return st;
	dk_stmt_reset(st);
	if (rc == DK_STMT_ERROR)
		dk_store_set_error(store, error, "reading a piece");
	else
		damaged(kind, sha256, "a piece is missing", error);
	return NULL;
}

gboolean dk_store_chunks_read(DkStore *store, DkStoreChunksKind kind, const char *sha256,
                              gint64 chunks, gint64 size, DkStoreRawSink sink, gpointer data,
                              GError **error)
{
	gint64 got = 0;
	for (gint64 seq = 0; seq < chunks; seq++) {
		DkStmt *st = piece_row(store, kind, sha256, seq, error);
		if (st == NULL)
			return FALSE;
		gsize n = 0;
		const guint8 *bytes = dk_stmt_blob(st, 0, &n);
		got += (gint64)n;
		gboolean go_on = TRUE;
		gboolean ok = got <= size && give(sink, data, bytes, n, &go_on, error);
		dk_stmt_reset(st); /* frees the piece */
		if (!ok || !go_on)
			return ok || (got > size &&
			              damaged(kind, sha256, "more bytes than stored", error));
	}
	return got == size || damaged(kind, sha256, "fewer bytes than stored", error);
}

/* A content in pieces read as a stream: one piece (one statement) in
 * memory at a time, fetched when the reader has taken the one before. */
typedef struct {
	GInputStream parent;
	DkStore *store;
	DkStoreChunksKind kind;
	char *sha256;
	gint64 chunks, size;
	gint64 seq;   /* the next piece to fetch */
	gint64 given; /* bytes of the pieces fetched so far */
	GBytes *piece;
	gsize at; /* how much of piece the reader has taken */
} DkPiecesStream;
typedef GInputStreamClass DkPiecesStreamClass;

G_DEFINE_TYPE(DkPiecesStream, dk_pieces_stream, G_TYPE_INPUT_STREAM)

/* Makes the next piece s->piece: FALSE with error when it cannot be read
 * or the pieces come to more bytes than stored. */
static gboolean next_piece(DkPiecesStream *s, GError **error)
{
	g_clear_pointer(&s->piece, g_bytes_unref);
	s->at = 0;
	DkStmt *st = piece_row(s->store, s->kind, s->sha256, s->seq, error);
	if (st == NULL)
		return FALSE;
	gsize n = 0;
	const guint8 *bytes = dk_stmt_blob(st, 0, &n);
	s->piece = g_bytes_new(bytes, n);
	dk_stmt_reset(st);
	s->seq++;
	s->given += (gint64)n;
	return s->given <= s->size || damaged(s->kind, s->sha256, "more bytes than stored", error);
}

static gssize pieces_read(GInputStream *stream, void *buffer, gsize count,
                          GCancellable *cancellable, GError **error)
{
	(void)cancellable;
	DkPiecesStream *s = (DkPiecesStream *)stream;
	while (s->piece == NULL || s->at == g_bytes_get_size(s->piece)) {
		if (s->seq == s->chunks) {
			if (s->given == s->size)
				return 0; /* the end */
			damaged(s->kind, s->sha256, "fewer bytes than stored", error);
			return -1;
		}
		if (!next_piece(s, error))
			return -1;
	}
	gsize n = MIN(count, g_bytes_get_size(s->piece) - s->at);
	memcpy(buffer, (const guint8 *)g_bytes_get_data(s->piece, NULL) + s->at, n);
	s->at += n;
	return (gssize)n;
}

static void pieces_finalize(GObject *object)
{
	DkPiecesStream *s = (DkPiecesStream *)object;
	g_clear_pointer(&s->piece, g_bytes_unref);
	g_free(s->sha256);
	G_OBJECT_CLASS(dk_pieces_stream_parent_class)->finalize(object);
}

static void dk_pieces_stream_class_init(DkPiecesStreamClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = pieces_finalize;
	klass->read_fn = pieces_read;
}

static void dk_pieces_stream_init(DkPiecesStream *s)
{
	(void)s;
}

GInputStream *dk_store_chunks_stream(DkStore *store, DkStoreChunksKind kind, const char *sha256,
                                     gint64 chunks, gint64 size)
{
	DkPiecesStream *s = g_object_new(dk_pieces_stream_get_type(), NULL);
	s->store = store;
	s->kind = kind;
	s->sha256 = g_strdup(sha256);
	s->chunks = chunks;
	s->size = size;
	return G_INPUT_STREAM(s);
}

gboolean dk_store_chunks_read_file(const char *path, gint64 size, DkStoreRawSink sink,
                                   gpointer data, GError **error)
{
	int fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: reading %s: %s", path,
		            g_strerror(errno));
		return FALSE;
	}
	g_autofree guint8 *buf = g_malloc(MIN((gsize)size, (gsize)DK_STORE_CHUNK) + 1);
	gboolean ok = TRUE, go_on = TRUE;
	for (gsize at = 0; ok && go_on && at < (gsize)size; at += DK_STORE_CHUNK) {
		gsize n = MIN((gsize)size - at, (gsize)DK_STORE_CHUNK);
		if (!dk_store_file_read_at(fd, buf, n, at)) {
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: reading %s: %s",
			            path, g_strerror(errno));
			ok = FALSE;
		} else {
			ok = give(sink, data, buf, n, &go_on, error);
		}
	}
	close(fd);
	return ok;
}
