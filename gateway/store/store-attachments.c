/* The attachments of articles: listing them, finding one by id or by its
 * Content-ID, and reading its bytes back. */
#include "gateway/store/store-attachments.h"

#include "gateway/store/store-chunks.h"
#include "gateway/store/store-file.h"
#include "gateway/store/store-private.h"
#include "gateway/store/store-retention.h"
#include "parsers/digest.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATTACHMENT_COLUMNS                                                                         \
	"SELECT aa.id, aa.article, aa.position, aa.filename, aa.content_type, aa.content_id,"      \
	" aa.disposition, a.sha256, a.size, a.path, coalesce(a.purged_at, 0)"                      \
	" FROM article_attachments aa JOIN attachments a ON a.sha256 = aa.sha256"

void dk_stored_attachment_free(gpointer attachment)
{
	DkStoredAttachment *a = attachment;
	if (a == NULL)
		return;
	g_free(a->filename);
	g_free(a->content_type);
	g_free(a->content_id);
	g_free(a->disposition);
	g_free(a->sha256);
	g_free(a->path);
	g_free(a);
}

gboolean dk_stored_attachment_kept(const DkStoredAttachment *a)
{
	return a->sha256 != NULL && strlen(a->sha256) == 64;
}

typedef struct {
	const DkStore *store;
	GPtrArray *out;
} Rows;

static gboolean add_row(DkStmt *st, gpointer data)
{
	Rows *rows = data;
	DkStoredAttachment *a = g_new0(DkStoredAttachment, 1);
	a->id = dk_stmt_int64(st, 0);
	a->article = dk_stmt_int64(st, 1);
	a->position = (guint)(int)dk_stmt_int64(st, 2);
	a->filename = dk_store_column_text(st, 3);
	a->content_type = dk_store_column_text(st, 4);
	a->content_id = dk_store_column_text(st, 5);
	a->disposition = dk_store_column_text(st, 6);
	a->sha256 = dk_store_column_text(st, 7);
	a->size = (gsize)dk_stmt_int64(st, 8);
	g_autofree char *rel = dk_store_column_text(st, 9);
	/* PostgreSQL keeps the bytes in the database: no file */
	a->path = rel ? g_build_filename(rows->store->data_dir, rel, NULL) : NULL;
	a->purged_at = dk_stmt_int64(st, 10);
	g_ptr_array_add(rows->out, a);
	return TRUE;
}

/* The attachments st selects (NULL: its error stands). */
static GPtrArray *collect(DkStore *store, DkStmt *st, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(dk_stored_attachment_free);
	Rows rows = {store, out};
	if (!dk_store_each_row(store, st, "reading the attachments", add_row, &rows, error))
		return NULL;
	return g_steal_pointer(&out);
}

gboolean dk_store_article_attachments(DkStore *store, gint64 article, GPtrArray *out,
                                      GError **error)
{
	g_autoptr(GPtrArray) rows = collect(
	    store,
	    dk_store_query(store, ATTACHMENT_COLUMNS " WHERE aa.article = ? ORDER BY aa.position",
	                   error, "i", article),
	    error);
	if (rows == NULL)
		return FALSE;
	for (guint i = 0; i < rows->len; i++)
		g_ptr_array_add(out, g_steal_pointer(&rows->pdata[i]));
	return TRUE;
}

GPtrArray *dk_store_ticket_attachments(DkStore *store, gint64 ticket, GError **error)
{
	return collect(store,
	               dk_store_query(store,
	                              ATTACHMENT_COLUMNS
	                              " JOIN articles ar ON ar.id = aa.article WHERE ar.ticket = ?"
	                              " ORDER BY aa.article, aa.position",
	                              error, "i", ticket),
	               error);
}

/* The one attachment st selects; DK_ERROR_NOT_FOUND (naming what) when none. */
static DkStoredAttachment *one(DkStore *store, DkStmt *st, const char *what, GError **error)
{
	g_autoptr(GPtrArray) rows = collect(store, st, error);
	if (rows == NULL)
		return NULL;
	if (rows->len == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no attachment %s", what);
		return NULL;
	}
	return g_steal_pointer(&rows->pdata[0]);
}

DkStoredAttachment *dk_store_attachment_get(DkStore *store, gint64 id, GError **error)
{
	g_autofree char *what = g_strdup_printf("%" G_GINT64_FORMAT, id);
	return one(store,
	           dk_store_query(store, ATTACHMENT_COLUMNS " WHERE aa.id = ?", error, "i", id),
	           what, error);
}

DkStoredAttachment *dk_store_attachment_find_cid(DkStore *store, gint64 article,
                                                 const char *content_id, GError **error)
{
	g_autofree char *bare = g_strdup(content_id ? content_id : "");
	g_strstrip(bare);
	if (bare[0] == '<' && g_str_has_suffix(bare, ">")) {
		memmove(bare, bare + 1, strlen(bare));
		bare[strlen(bare) - 1] = '\0';
	}
	g_autofree char *what =
	    g_strdup_printf("with Content-ID <%s> in article %" G_GINT64_FORMAT, bare, article);
	return one(store,
	           dk_store_query(store,
	                          ATTACHMENT_COLUMNS " WHERE aa.article = ? AND aa.content_id = ?"
	                                             " ORDER BY aa.position LIMIT 1",
	                          error, "is", article, bare),
	           what, error);
}

static gboolean gather(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	(void)error;
	g_byte_array_append(data, bytes, (guint)size);
	return TRUE;
}

/* The bytes of a kept in pieces (PostgreSQL, above inline_max). */
static gboolean attachment_pieces(DkStore *store, const DkStoredAttachment *a, gint64 chunks,
                                  char **contents, gsize *len, GError **error)
{
	g_autoptr(GByteArray) all = g_byte_array_sized_new((guint)a->size);
	if (!dk_store_chunks_read(store, DK_STORE_CHUNKS_ATTACHMENT, a->sha256, chunks,
	                          (gint64)a->size, gather, all, error))
		return FALSE;
	*len = all->len;
	*contents = (char *)g_byte_array_free(g_steal_pointer(&all), FALSE);
	return TRUE;
}

/* The bytes of a, from its file or (PostgreSQL) from the database. */
static gboolean attachment_bytes(DkStore *store, const DkStoredAttachment *a, char **contents,
                                 gsize *len, GError **error)
{
	if (a->path != NULL) {
		g_autoptr(GError) local = NULL;
		if (g_file_get_contents(a->path, contents, len, &local))
			return TRUE;
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: reading %s: %s", a->path,
		            local->message);
		return FALSE;
	}
	DkStmt *st = dk_store_query(store, "SELECT data, chunks FROM attachments WHERE sha256 = ?",
	                            error, "s", a->sha256);
	if (st == NULL)
		return FALSE;
	int rc = dk_stmt_step(st);
	gint64 chunks = rc == DK_STMT_ROW ? dk_stmt_int64(st, 1) : 0;
	const void *p = rc == DK_STMT_ROW ? dk_stmt_blob(st, 0, len) : NULL;
	*contents = p ? g_memdup2(p, *len) : NULL;
	if (p == NULL)
		*len = 0;
	if (rc == DK_STMT_ERROR)
		dk_store_set_error(store, error, "reading an attachment");
	dk_stmt_reset(st);
	if (rc == DK_STMT_ERROR)
		return FALSE;
	if (chunks > 0)
		return attachment_pieces(store, a, chunks, contents, len, error);
	if (*contents == NULL)
		*contents = g_strdup("");
	return TRUE;
}

/* An error that a's content no longer matches what it was stored by. */
static void set_damaged(const DkStoredAttachment *a, GError **error)
{
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
	            "store: %s is damaged: its content no longer has the SHA-256 it was stored by",
	            a->path ? a->path : a->sha256);
}

GBytes *dk_store_attachment_read(DkStore *store, const DkStoredAttachment *a, GError **error)
{
	if (!dk_stored_attachment_kept(a)) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND,
		            "attachment %" G_GINT64_FORMAT
		            " (%s) was not kept: it was over a limit of"
		            " [parse] when its mail arrived",
		            a->id, a->filename ? a->filename : "no name");
		return NULL;
	}
	if (a->purged_at != 0) {
		g_autofree char *day = dk_store_retention_date(a->purged_at);
		g_set_error(error, DK_ERROR, DK_ERROR_GONE,
		            "attachment %" G_GINT64_FORMAT " (%s): its content was purged on %s"
		            " ([store] keep_raw_days)",
		            a->id, a->filename ? a->filename : "no name", day);
		return NULL;
	}
	g_autofree char *contents = NULL;
	gsize len = 0;
	if (!attachment_bytes(store, a, &contents, &len, error))
		return NULL;
	char sha[65];
	dk_sha256_hex(contents, len, sha);
	if (strcmp(sha, a->sha256) != 0 || len != a->size) {
		set_damaged(a, error);
		return NULL;
	}
	return g_bytes_new_take(g_steal_pointer(&contents), len);
}

/* Whether a's file still has the size and SHA-256 it was stored by,
 * read through in pieces (dk_store_file_sha256()); FALSE with error
 * DK_ERROR_PERMANENT when not, DK_ERROR_TEMPORARY when it cannot be read. */
static gboolean file_intact(const DkStoredAttachment *a, GError **error)
{
	int fd = g_open(a->path, O_RDONLY | O_CLOEXEC, 0);
	struct stat st;
	char hex[65] = "";
	gboolean read = fd >= 0 && fstat(fd, &st) == 0;
	gboolean same = read && (gsize)st.st_size == a->size;
	if (same) {
		read = dk_store_file_sha256(fd, a->size, hex);
		same = read && strcmp(hex, a->sha256) == 0;
	}
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (!read) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: reading %s: %s", a->path,
		            g_strerror(saved));
		return FALSE;
	}
	if (!same) {
		set_damaged(a, error);
		return FALSE;
	}
	return TRUE;
}

int dk_store_attachment_spill(DkStore *store)
{
	if (store->data_dir == NULL)
		return dk_store_file_temporary("attachment");
	g_autofree char *dir = g_build_filename(store->data_dir, "spool", NULL);
	return dk_store_file_spool(dir, "attachment");
}

/* Whether a is served from its file: kept, not purged, and a file (every
 * one on SQLite; PostgreSQL keeps contents in the database). */
static gboolean from_file(const DkStoredAttachment *a)
{
	return a->path != NULL && dk_stored_attachment_kept(a) && a->purged_at == 0;
}

/* Into *chunks_out the pieces a's content is kept in (PostgreSQL, above
 * inline_max); 0 for a file, a content kept as one value, or one with
 * nothing to read (not kept, purged), which dk_store_attachment_read()
 * reads or refuses. */
static gboolean pieces_of(DkStore *store, const DkStoredAttachment *a, gint64 *chunks_out,
                          GError **error)
{
	*chunks_out = 0;
	if (a->path != NULL || !dk_stored_attachment_kept(a) || a->purged_at != 0)
		return TRUE;
	gboolean found = FALSE;
	return dk_store_lookup_int64(
	    store,
	    dk_store_query(store, "SELECT chunks FROM attachments WHERE sha256 = ?", error, "s",
	                   a->sha256),
	    "reading an attachment", chunks_out, &found, error);
}

static gboolean hash_piece(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	(void)error;
	dk_sha256_update(data, bytes, size);
	return TRUE;
}

/* Whether a's chunks pieces add up to its size and SHA-256, read through a
 * piece at a time; FALSE with error as file_intact() when not. */
static gboolean pieces_intact(DkStore *store, const DkStoredAttachment *a, gint64 chunks,
                              GError **error)
{
	g_autoptr(DkSha256) sum = dk_sha256_new();
	if (!dk_store_chunks_read(store, DK_STORE_CHUNKS_ATTACHMENT, a->sha256, chunks,
	                          (gint64)a->size, hash_piece, sum, error))
		return FALSE;
	char hex[65];
	dk_sha256_finish(sum, hex);
	if (strcmp(hex, a->sha256) == 0)
		return TRUE;
	set_damaged(a, error);
	return FALSE;
}

/* a's file, checked, as a stream from its start. */
static GInputStream *file_stream(const DkStoredAttachment *a, GError **error)
{
	if (!file_intact(a, error))
		return NULL;
	g_autoptr(GFile) file = g_file_new_for_path(a->path);
	g_autoptr(GError) local = NULL;
	GFileInputStream *in = g_file_read(file, NULL, &local);
	if (in == NULL)
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: reading %s: %s", a->path,
		            local->message);
	return G_INPUT_STREAM(in);
}

GInputStream *dk_store_attachment_stream(DkStore *store, const DkStoredAttachment *a,
                                         GError **error)
{
	if (from_file(a))
		return file_stream(a, error);
	gint64 chunks = 0;
	if (!pieces_of(store, a, &chunks, error))
		return NULL;
	if (chunks > 0)
		return pieces_intact(store, a, chunks, error)
		           ? dk_store_chunks_stream(store, DK_STORE_CHUNKS_ATTACHMENT, a->sha256,
		                                    chunks, (gint64)a->size)
		           : NULL;
	g_autoptr(GBytes) bytes = dk_store_attachment_read(store, a, error);
	return bytes != NULL ? g_memory_input_stream_new_from_bytes(bytes) : NULL;
}

gboolean dk_store_attachment_copy(DkStore *store, const DkStoredAttachment *a, DkStoreRawSink sink,
                                  gpointer data, GError **error)
{
	g_autoptr(GInputStream) in = dk_store_attachment_stream(store, a, error);
	if (in == NULL)
		return FALSE;
	g_autofree guint8 *buf = g_malloc(DK_STORE_CHUNK);
	for (;;) {
		GError *local = NULL;
		gssize n = g_input_stream_read(in, buf, DK_STORE_CHUNK, NULL, &local);
		if (n < 0 && local->domain != DK_ERROR) { /* the file's: try again later */
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: reading %s: %s",
			            a->path ? a->path : a->sha256, local->message);
			g_error_free(local);
			return FALSE;
		}
		if (n < 0) {
			g_propagate_error(error, local);
			return FALSE;
		}
		if (n == 0)
			return TRUE;
		/* a sink that stops without an error stops early, as in
		 * dk_store_raw_read() */
		gboolean go_on = sink(buf, (gsize)n, data, &local);
		if (local != NULL) {
			g_propagate_error(error, local);
			return FALSE;
		}
		if (!go_on)
			return TRUE;
	}
}
