/* The store's chunked work on raw message files: reading, hashing, and
 * naming a spool file durably in the store. */
#include "gateway/store/store-file.h"
#include "parsers/digest.h"

#include "gateway/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAW_CHUNK (256 * 1024)

gboolean dk_store_file_read_at(int fd, guint8 *buf, gsize size, gsize offset)
{
	for (gsize at = 0; at < size;) {
		ssize_t r = pread(fd, buf + at, size - at, (off_t)(offset + at));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r == 0 ? EIO : errno;
			return FALSE;
		}
		at += (gsize)r;
	}
	return TRUE;
}

gboolean dk_store_file_read(int fd, guint8 *buf, gsize size)
{
	return dk_store_file_read_at(fd, buf, size, 0);
}

gboolean dk_store_file_write_all(int fd, const void *data, gsize size)
{
	const guint8 *p = data;
	while (size > 0) {
		ssize_t w = write(fd, p, size);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			errno = w == 0 ? EIO : errno;
			return FALSE;
		}
		p += w;
		size -= (gsize)w;
	}
	return TRUE;
}

gboolean dk_store_file_sink_write(const guint8 *bytes, gsize size, gpointer sink, GError **error)
{
	DkStoreFileSink *s = sink;
	if (dk_store_file_write_all(s->fd, bytes, size)) {
		s->written += size;
		return TRUE;
	}
	int saved = errno;
	if (s->doing != NULL)
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "%s: %s", s->doing,
		            g_strerror(saved));
	errno = saved;
	return FALSE;
}

int dk_store_file_unnamed(const char *dir, char *template_path, int mode)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		fd = g_mkstemp_full(template_path, O_RDWR | O_CLOEXEC, mode);
		if (fd >= 0)
			g_unlink(template_path);
	}
	return fd;
}

int dk_store_file_spool(const char *dir, const char *what)
{
	g_autofree char *name = g_strconcat(what, "-XXXXXX", NULL);
	g_autofree char *name_if_needed = g_build_filename(dir, name, NULL);
	if (g_mkdir_with_parents(dir, 0750) != 0)
		return -1;
	return dk_store_file_unnamed(dir, name_if_needed, 0640);
}

int dk_store_file_temporary(const char *what)
{
	g_autofree char *prefix = g_strconcat("docket-", what, "-XXXXXX", NULL);
	g_autofree char *name_if_needed = g_build_filename(g_get_tmp_dir(), prefix, NULL);
	return dk_store_file_unnamed(g_get_tmp_dir(), name_if_needed, 0600);
}

gboolean dk_store_file_sha256(int fd, gsize size, char out[65])
{
	g_autoptr(DkSha256) sum = dk_sha256_new();
	g_autofree guint8 *buf = g_malloc(RAW_CHUNK);
	for (gsize at = 0; at < size;) {
		ssize_t r = pread(fd, buf, MIN((gsize)RAW_CHUNK, size - at), (off_t)at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r == 0 ? EIO : errno;
			return FALSE;
		}
		dk_sha256_update(sum, buf, (gsize)r);
		at += (gsize)r;
	}
	dk_sha256_finish(sum, out);
	return TRUE;
}

/* Copies the size bytes of fd from offset to the open file out, in
 * chunks. */
static gboolean copy_fd(int fd, gsize offset, gsize size, int out)
{
	g_autofree guint8 *buf = g_malloc(RAW_CHUNK);
	for (gsize at = 0; at < size;) {
		ssize_t r = pread(fd, buf, MIN((gsize)RAW_CHUNK, size - at), (off_t)(offset + at));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r == 0 ? EIO : errno;
			return FALSE;
		}
		if (!dk_store_file_write_all(out, buf, (gsize)r))
			return FALSE;
		at += (gsize)r;
	}
	return TRUE;
}

static gboolean fsync_dir(const char *dir)
{
	int dfd = g_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return FALSE;
	gboolean ok = fsync(dfd) == 0;
	int saved = errno;
	close(dfd);
	errno = saved;
	return ok;
}

gboolean dk_store_file_link(const char *dir, const char *name, int fd, gsize offset, gsize size,
                            GError **error)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	if (g_file_test(path, G_FILE_TEST_EXISTS))
		return TRUE;
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
	g_autofree char *proc = g_strdup_printf("/proc/self/fd/%d", fd);
	struct stat st;
	if (g_mkdir_with_parents(dir, 0750) != 0 || fstat(fd, &st) != 0)
		goto fail;
	/* the whole file is the content: its first name, or a link */
	gboolean whole = offset == 0 && (gsize)st.st_size == size;
	if (whole && fsync(fd) != 0)
		goto fail;
	g_unlink(tmp);
	if (!whole || linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0) {
		int out = g_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (out < 0)
			goto fail;
		if (!copy_fd(fd, offset, size, out) || fsync(out) != 0) {
			int saved = errno;
			close(out);
			g_unlink(tmp);
			errno = saved;
			goto fail;
		}
		if (close(out) != 0)
			goto fail;
	}
	if (g_rename(tmp, path) != 0 || !fsync_dir(dir))
		goto fail;
	return TRUE;
fail:
	g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: writing %s: %s", path,
	            g_strerror(errno));
	return FALSE;
}
