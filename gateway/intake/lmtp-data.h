/* The byte level of an LMTP session: a bounded line reader for commands,
 * the DATA reader that undoes dot-stuffing (RFC 5321 section 4.5.2), and the
 * spool file DATA goes to, so that memory stays bounded whatever the
 * message size. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
	guint8 *buf;
	gsize size;      /* capacity */
	gsize start;     /* first unread byte */
	gsize end;       /* one past the last buffered byte */
	gint64 deadline; /* monotonic time (µs) by which the line or the DATA
	                  * being read must be complete; 0: none */
} DkLmtpReader;

void dk_lmtp_reader_init(DkLmtpReader *reader, gsize size);
void dk_lmtp_reader_clear(DkLmtpReader *reader);

/* TRUE when a complete line is buffered (the next read will not block). */
gboolean dk_lmtp_reader_has_line(const DkLmtpReader *reader);

typedef enum {
	DK_LMTP_LINE_OK,
	DK_LMTP_LINE_TOO_LONG, /* the line was longer than max and was discarded */
	DK_LMTP_LINE_EOF,
	DK_LMTP_LINE_ERROR, /* error set: timeout, cancelled, I/O */
} DkLmtpLine;

/* Reads one line, CRLF or bare LF ended. *line_out points into the
 * reader's buffer (valid until the next call), without the line end. Past
 * the reader's deadline (checked after each read, so a client trickling
 * bytes cannot hold the session): DK_LMTP_LINE_ERROR with
 * G_IO_ERROR_TIMED_OUT. */
DkLmtpLine dk_lmtp_reader_line(DkLmtpReader *reader, GInputStream *in, gsize max,
                               const char **line_out, gsize *length_out, GCancellable *cancellable,
                               GError **error);

typedef struct DkLmtpSpool DkLmtpSpool;

/* A new, empty spool: in memory up to 256 KiB, then a file in dir
 * (created then if needed) without a name (O_TMPFILE): nothing is left in
 * dir when the process dies. */
DkLmtpSpool *dk_lmtp_spool_new(const char *dir);
gboolean dk_lmtp_spool_write(DkLmtpSpool *spool, const void *data, gsize length, GError **error);
/* Flushes what is buffered; call before reading the contents. */
gboolean dk_lmtp_spool_finish(DkLmtpSpool *spool, GError **error);
/* The spooled bytes (mapped from the file, not copied; or, once only,
 * the memory a small message is held in, handed over). */
GBytes *dk_lmtp_spool_contents(DkLmtpSpool *spool, GError **error);
/* Bytes written so far. */
gsize dk_lmtp_spool_size(const DkLmtpSpool *spool);
/* The spool file's descriptor (the spool keeps it), for reading a large
 * message in chunks (see dk_pipeline_prepare_fd()); -1 for a message
 * held in memory. */
int dk_lmtp_spool_fd(const DkLmtpSpool *spool);
/* Closes and removes the file, if any. */
void dk_lmtp_spool_free(DkLmtpSpool *spool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkLmtpSpool, dk_lmtp_spool_free)

typedef enum {
	DK_LMTP_DATA_OK,
	DK_LMTP_DATA_TOO_BIG, /* read to the end, but more than max_size: not spooled */
	DK_LMTP_DATA_FAILED,  /* read to the end, but the spool failed (error set): retry */
	DK_LMTP_DATA_BROKEN,  /* the input ended or failed before the final dot */
} DkLmtpDataResult;

/* Reads DATA up to the line ".", undoing dot-stuffing, into spool. Past
 * the reader's deadline: DK_LMTP_DATA_BROKEN with G_IO_ERROR_TIMED_OUT. */
DkLmtpDataResult dk_lmtp_data_read(DkLmtpReader *reader, GInputStream *in, DkLmtpSpool *spool,
                                   gint64 max_size, GError **error);

G_END_DECLS
