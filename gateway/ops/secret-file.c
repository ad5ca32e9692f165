/* Reads credential files that only docket's user can read, and writes
 * them (secret-file.h). */
#include "gateway/ops/secret-file.h"

#include "gateway/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX (64 * 1024)

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
	if ((st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) != 0) {
		close(fd);
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "refusing secret file %s: its mode %04o lets other users read it "
		            "(chmod 600 %s)",
		            path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (st.st_size > SECRET_MAX) {
		close(fd);
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "secret file %s is larger than %d bytes", path, SECRET_MAX);
		return -1;
	}
	return fd;
}

char *dk_secret_file_read(const char *path, GError **error)
{
	int fd = dk_secret_file_open(path, error);
	if (fd < 0)
		return NULL;
	GString *text = g_string_new(NULL);
	char buf[4096];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			g_string_free(text, TRUE);
			g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "reading secret file %s: %s",
			            path, g_strerror(saved));
			return NULL;
		}
		if (n == 0 || text->len + (gsize)n > SECRET_MAX)
			break;
		g_string_append_len(text, buf, n);
	}
	close(fd);
	return g_strchomp(g_string_free(text, FALSE));
}

char *dk_secret_file_read_line(const char *path, GError **error)
{
	char *text = dk_secret_file_read(path, error);
	if (text == NULL)
		return NULL;
	text[strcspn(text, "\r\n")] = '\0';
	g_strchomp(text);
	if (text[0] == '\0') {
		g_free(text);
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "secret file %s is empty", path);
		return NULL;
	}
	return text;
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
