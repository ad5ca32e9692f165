/* Chunked file operations for the store's raw messages, so that a large
 * message is never held in memory whole (see dk_store_raw_put_fd()). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reads the size bytes at the start of fd into buf; FALSE with errno set. */
gboolean dk_store_file_read(int fd, guint8 *buf, gsize size);

/* Reads the size bytes of fd at offset into buf; FALSE with errno set (EIO
 * when the file ends before them). */
gboolean dk_store_file_read_at(int fd, guint8 *buf, gsize size, gsize offset);

/* Writes the size bytes of data to fd, however few each write() takes;
 * FALSE with errno set. */
gboolean dk_store_file_write_all(int fd, const void *data, gsize size);

/* A file that pieces are appended to (the data of a DkStoreRawSink or a
 * DkOutgoingPiece): its descriptor, what a failure says ("writing FILE";
 * NULL: errno alone says why), and the bytes written so far. */
typedef struct {
	int fd;
	const char *doing;
	gsize written;
} DkStoreFileSink;

/* Appends size bytes to the file of sink (a DkStoreFileSink *). FALSE on
 * failure with errno set and, unless its doing is NULL, error set to
 * DK_ERROR_TEMPORARY "DOING: why". */
gboolean dk_store_file_sink_write(const guint8 *bytes, gsize size, gpointer sink, GError **error);

/* A new file in dir that has no name, read-write with mode: O_TMPFILE;
 * where the file system lacks it, one made from template_path
 * (DIR/NAME-XXXXXX, filled in) and unlinked at once. -1 with errno set. */
int dk_store_file_unnamed(const char *dir, char *template_path, int mode);

/* A new file without a name in the spool folder dir (made when missing,
 * mode 0750), read-write, mode 0640, where a large message or attachment
 * waits until it is stored: dk_store_file_unnamed(), where a name is
 * needed DIR/WHAT-XXXXXX unlinked at once. -1 with errno set. */
int dk_store_file_spool(const char *dir, const char *what);

/* A new file without a name in the temporary folder ($TMPDIR),
 * read-write, mode 0600, gone once closed: dk_store_file_unnamed(), where
 * a name is needed $TMPDIR/docket-WHAT-XXXXXX unlinked at once. -1 with
 * errno set. */
int dk_store_file_temporary(const char *what);

/* The hex SHA-256 of the size bytes at the start of fd, read in chunks;
 * FALSE with errno set when they cannot be read. */
gboolean dk_store_file_sha256(int fd, gsize size, char out[65]);

/* Gives the size bytes of the file fd from offset the name dir/name
 * durably (fsync of the file and of dir): when they are the whole file, a
 * hard link to it through /proc/self/fd (an O_TMPFILE spool file on the
 * same file system gets its first name), else (or where the link fails) a
 * copy in chunks renamed into place. TRUE at once when dir/name exists. */
gboolean dk_store_file_link(const char *dir, const char *name, int fd, gsize offset, gsize size,
                            GError **error);

G_END_DECLS
