/* Reading and writing secret files (secret-file.h). */
#include "gateway/ops/secret-file.h"

#include "gateway/core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dk_secret_file_open(const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int saved = errno;
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "cannot open secret file %s: %s",
		            path, g_strerror(saved));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "secret file %s is not a regular file", path);
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		close(fd);
		gboolean readable = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
		g_set_error(
		    error, DK_ERROR, DK_ERROR_CONFIG,
		    "refusing secret file %s: its mode %04o lets other users %s it (chmod 600 %s)",
		    path, (unsigned)(st.st_mode & 07777), readable ? "read" : "change", path);
		return -1;
	}
	return fd;
}

char *dk_secret_file_contents(const char *path, GError **error)
{
	int fd = dk_secret_file_open(path, error);
	if (fd < 0)
		return NULL;
	char buf[8192];
	gsize len = 0;
	ssize_t n = 0;
	while (len < sizeof buf - 1) {
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (gsize)n;
	}
	int saved = errno;
	close(fd);
	if (n < 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "reading secret file %s: %s", path,
		            g_strerror(saved));
		return NULL;
	}
	char *text = g_strndup(buf, len);
	explicit_bzero(buf, sizeof buf);
	return text;
}

char *dk_secret_file_read(const char *path, GError **error)
{
	char *text = dk_secret_file_contents(path, error);
	if (text == NULL)
		return NULL;
	text[strcspn(text, "\r\n")] = '\0';
	g_strchomp(text);
	if (text[0] != '\0')
		return text;
	g_free(text);
	g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "secret file %s is empty", path);
	return NULL;
}

static gboolean fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return FALSE;
	gboolean ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

gboolean dk_secret_file_write(const char *path, const char *text, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *tmp = g_strconcat(path, ".XXXXXX", NULL);
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		int saved = errno;
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "cannot write %s: %s", path,
		            g_strerror(saved));
		return FALSE;
	}
	g_autofree char *line = g_strdup(text);
	gsize len = strlen(line), done = 0;
	while (done < len) {
		ssize_t n = write(fd, line + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (gsize)n;
	}
	gboolean ok = done == len && fsync(fd) == 0;
	int saved = errno;
	close(fd);
	explicit_bzero(line, len);
	if (!ok || g_rename(tmp, path) != 0) {
		saved = ok ? errno : saved;
		g_unlink(tmp);
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "cannot write %s: %s", path,
		            g_strerror(saved));
		return FALSE;
	}
	fsync_dir(dir);
	return TRUE;
}
