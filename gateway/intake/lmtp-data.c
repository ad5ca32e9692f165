/* Line reading, DATA dot-unstuffing and spool files for LMTP sessions. */
#include "gateway/intake/lmtp-data.h"
#include "gateway/store/store-file.h"

#include "gateway/error.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void dk_lmtp_reader_init(DkLmtpReader *r, gsize size)
{
	r->buf = g_malloc(size);
	r->size = size;
	r->start = r->end = 0;
	r->deadline = 0;
}

void dk_lmtp_reader_clear(DkLmtpReader *r)
{
	g_clear_pointer(&r->buf, g_free);
}

gboolean dk_lmtp_reader_has_line(const DkLmtpReader *r)
{
	return memchr(r->buf + r->start, '\n', r->end - r->start) != NULL;
}

static gboolean past_deadline(const DkLmtpReader *r, GError **error)
{
	if (r->deadline == 0 || g_get_monotonic_time() <= r->deadline)
		return FALSE;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "the client took too long");
	return TRUE;
}

/* Reads more input after what is buffered; 0 at end of input, -1 on error. */
static gssize fill(DkLmtpReader *r, GInputStream *in, GCancellable *cancellable, GError **error)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->size)
		return -2; /* full: the caller decides */
	return g_input_stream_read(in, r->buf + r->end, r->size - r->end, cancellable, error);
}

DkLmtpLine dk_lmtp_reader_line(DkLmtpReader *r, GInputStream *in, gsize max, const char **line_out,
                               gsize *length_out, GCancellable *cancellable, GError **error)
{
	gboolean skipping = FALSE;
	max = MIN(max, r->size - 1); /* room to see one octet past the limit */
	for (;;) {
		guint8 *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL) {
			gsize len = (gsize)(nl - (r->buf + r->start));
			const char *line = (const char *)r->buf + r->start;
			r->start += len + 1;
			if (skipping || len > max)
				return DK_LMTP_LINE_TOO_LONG;
			if (len > 0 && line[len - 1] == '\r')
				len--;
			*line_out = line;
			*length_out = len;
			return DK_LMTP_LINE_OK;
		}
		if (r->end - r->start > max) {
			/* Over-long whatever follows: drop what we have and keep
			 * reading to its end. With exactly max octets the LF may
			 * still come in the next read. */
			skipping = TRUE;
			r->start = r->end;
		}
		gssize n = fill(r, in, cancellable, error);
		if (n == 0)
			return DK_LMTP_LINE_EOF;
		if (n < 0)
			return DK_LMTP_LINE_ERROR;
		r->end += (gsize)n;
		if (past_deadline(r, error))
			return DK_LMTP_LINE_ERROR;
	}
}

struct DkLmtpSpool {
	char *dir;
	char *path;
	int fd; /* -1 while the message is held in memory */
	gsize size;
	GByteArray *pending; /* not yet written; the whole message while fd is -1 */
};

#define SPOOL_CHUNK 65536
/* What a spool holds at first; it grows by doubling. Most mail is a few
 * KiB: a first 64 KiB took malloc's slow path (consolidating its free
 * lists) at every message. */
#define SPOOL_FIRST 8192

/* Below this size a message stays in memory: creating a file per small
 * message costs more than the message (ext4 inode work). */
#define SPOOL_MEMORY_MAX (256 * 1024)

DkLmtpSpool *dk_lmtp_spool_new(const char *dir)
{
	DkLmtpSpool *s = g_new0(DkLmtpSpool, 1);
	s->dir = g_strdup(dir);
	s->path = g_build_filename(dir, "lmtp-XXXXXX", NULL);
	s->fd = -1;
	s->pending = g_byte_array_sized_new(SPOOL_FIRST);
	return s;
}

/* The file, once the message outgrows memory. Only the descriptor is
 * used: a file without a name cannot outlive a crash mid-DATA (the client
 * retries). O_TMPFILE never has one; where the file system lacks it, the
 * name goes at once. */
static gboolean spool_open(DkLmtpSpool *s, GError **error)
{
	if (g_mkdir_with_parents(s->dir, 0750) != 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "creating %s: %s", s->dir,
		            g_strerror(errno));
		return FALSE;
	}
	int fd = dk_store_file_unnamed(s->dir, s->path, 0640);
	if (fd < 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "creating a spool file in %s: %s",
		            s->dir, g_strerror(errno));
		return FALSE;
	}
	s->fd = fd;
	return TRUE;
}

static gboolean spool_flush(DkLmtpSpool *s, GError **error)
{
	if (s->fd < 0)
		return TRUE;
	if (!dk_store_file_write_all(s->fd, s->pending->data, s->pending->len)) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "writing %s: %s", s->path,
		            g_strerror(errno));
		return FALSE;
	}
	g_byte_array_set_size(s->pending, 0);
	return TRUE;
}

gboolean dk_lmtp_spool_write(DkLmtpSpool *s, const void *data, gsize length, GError **error)
{
	if (s->fd < 0 && s->size + length > SPOOL_MEMORY_MAX && !spool_open(s, error))
		return FALSE;
	if (s->fd >= 0 && s->pending->len + length > SPOOL_CHUNK && !spool_flush(s, error))
		return FALSE;
	g_byte_array_append(s->pending, data, (guint)length);
	if (s->fd >= 0 && length >= SPOOL_CHUNK && !spool_flush(s, error))
		return FALSE;
	s->size += length;
	return TRUE;
}

gboolean dk_lmtp_spool_finish(DkLmtpSpool *s, GError **error)
{
	return spool_flush(s, error);
}

GBytes *dk_lmtp_spool_contents(DkLmtpSpool *s, GError **error)
{
	if (s->fd < 0) {
		GBytes *bytes = g_byte_array_free_to_bytes(s->pending);
		s->pending = g_byte_array_new();
		return bytes;
	}
	if (s->size == 0)
		return g_bytes_new(NULL, 0);
	GMappedFile *map = g_mapped_file_new_from_fd(s->fd, FALSE, error);
	if (map == NULL)
		return NULL;
	GBytes *bytes = g_mapped_file_get_bytes(map);
	g_mapped_file_unref(map);
	return bytes;
}

gsize dk_lmtp_spool_size(const DkLmtpSpool *s)
{
	return s->size;
}

int dk_lmtp_spool_fd(const DkLmtpSpool *s)
{
	return s->fd;
}

void dk_lmtp_spool_free(DkLmtpSpool *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	g_free(s->dir);
	g_free(s->path);
	g_byte_array_unref(s->pending);
	g_free(s);
}

typedef enum { AT_LINE_START, IN_LINE, AFTER_DOT, AFTER_DOT_CR } DataState;

/* Feeds buffered bytes through the unstuffing state machine; TRUE at the
 * final dot (the reader then stands after it). */
static gboolean unstuff(DkLmtpReader *r, DataState *state, GByteArray *out)
{
	while (r->start < r->end) {
		const guint8 *p = r->buf + r->start;
		gsize avail = r->end - r->start;
		switch (*state) {
		case IN_LINE: {
			const guint8 *nl = memchr(p, '\n', avail);
			gsize take = nl ? (gsize)(nl - p) + 1 : avail;
			g_byte_array_append(out, p, (guint)take);
			r->start += take;
			if (nl != NULL)
				*state = AT_LINE_START;
			break;
		}
		case AT_LINE_START:
			r->start++;
			*state = *p == '.' ? AFTER_DOT : IN_LINE;
			if (*p != '.') {
				g_byte_array_append(out, p, 1);
				if (*p == '\n')
					*state = AT_LINE_START;
			}
			break;
		case AFTER_DOT:
			r->start++;
			if (*p == '\n')
				return TRUE; /* ".\n": lenient end, as Postfix accepts */
			if (*p == '\r') {
				*state = AFTER_DOT_CR;
			} else {
				/* A stuffed dot: the first one is dropped. */
				g_byte_array_append(out, p, 1);
				*state = IN_LINE;
			}
			break;
		case AFTER_DOT_CR:
			if (*p == '\n') {
				r->start++;
				return TRUE;
			}
			g_byte_array_append(out, (const guint8 *)"\r", 1);
			*state = IN_LINE;
			break;
		}
	}
	return FALSE;
}

DkLmtpDataResult dk_lmtp_data_read(DkLmtpReader *r, GInputStream *in, DkLmtpSpool *spool,
                                   gint64 max_size, GError **error)
{
	DataState state = AT_LINE_START;
	g_autoptr(GByteArray) chunk = g_byte_array_sized_new((guint)r->size);
	DkLmtpDataResult result = DK_LMTP_DATA_OK;
	for (;;) {
		gboolean done = unstuff(r, &state, chunk);
		if (result == DK_LMTP_DATA_OK &&
		    (gint64)(dk_lmtp_spool_size(spool) + chunk->len) > max_size)
			result = DK_LMTP_DATA_TOO_BIG;
		/* After a failure, read on to the final dot, then answer. */
		if (result == DK_LMTP_DATA_OK && chunk->len > 0 &&
		    !dk_lmtp_spool_write(spool, chunk->data, chunk->len, error))
			result = DK_LMTP_DATA_FAILED;
		g_byte_array_set_size(chunk, 0);
		if (done)
			return result;
		r->start = r->end = 0;
		gssize n = g_input_stream_read(in, r->buf, r->size, NULL, error);
		if (n <= 0) {
			if (n == 0 && error != NULL && *error == NULL)
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
				            "connection closed in DATA");
			return DK_LMTP_DATA_BROKEN;
		}
		r->end = (gsize)n;
		if (past_deadline(r, error))
			return DK_LMTP_DATA_BROKEN;
	}
}
