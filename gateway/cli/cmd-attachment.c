/* `docket attachment get ID [-o FILE]`: the bytes of one attachment
 * exactly as they were received (the ids are in `docket ticket show`). */
#include "gateway/cli/cli.h"
#include "gateway/error.h"
#include "gateway/store/store-attachments.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static int failed(const GError *error)
{
	dk_cli_error("attachment get: %s", error->message);
	if (g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND) ||
	    g_error_matches(error, DK_ERROR, DK_ERROR_GONE))
		return DK_EXIT_NOINPUT;
	return dk_error_is_temporary(error) ? DK_EXIT_TEMPFAIL : DK_EXIT_DATAERR;
}

/* Copies in to fd a piece at a time; FALSE and *error (or errno) on a
 * failure. */
static gboolean copy_out(GInputStream *in, int fd, GError **error)
{
	g_autofree guint8 *piece = g_malloc(DK_STORE_ATTACHMENT_PIECE);
	gssize n = 0;
	while ((n = g_input_stream_read(in, piece, DK_STORE_ATTACHMENT_PIECE, NULL, error)) > 0) {
		for (gssize done = 0; done < n;) {
			ssize_t w = write(fd, piece + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "%s",
				            g_strerror(errno));
				return FALSE;
			}
			done += w;
		}
	}
	return n == 0;
}

/* Copies in to path (a file beside it, renamed over it when the copy is
 * complete: no half-written file is left on failure), or to standard
 * output when path is NULL or "-". */
static int write_out(GInputStream *in, const char *path)
{
	g_autoptr(GError) error = NULL;
	if (path == NULL || strcmp(path, "-") == 0) {
		if (!copy_out(in, STDOUT_FILENO, &error)) {
			dk_cli_error("attachment get: writing to standard output failed: %s",
			             error->message);
			return DK_EXIT_TEMPFAIL;
		}
		return DK_EXIT_OK;
	}
	g_autofree char *partial = g_strconcat(path, ".XXXXXX", NULL);
	int fd = g_mkstemp_full(partial, O_WRONLY | O_CLOEXEC, 0666);
	gboolean ok = fd >= 0 && copy_out(in, fd, &error) && fsync(fd) == 0;
	int saved = errno;
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = FALSE;
		saved = errno;
	}
	if (ok && rename(partial, path) != 0) {
		ok = FALSE;
		saved = errno;
	}
	if (!ok) {
		if (fd >= 0)
			unlink(partial);
		dk_cli_error("attachment get: %s: %s", path,
		             error != NULL ? error->message : g_strerror(saved));
		return DK_EXIT_TEMPFAIL;
	}
	return DK_EXIT_OK;
}

int dk_cmd_attachment(int argc, char **argv)
{
	g_autofree char *output = NULL;
	const GOptionEntry entries[] = {
	    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
	     "Write the bytes to FILE (default: standard output)", "FILE"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new("get ID");
	g_option_context_set_summary(
	    context, "get ID: the attachment's bytes exactly as they were received, checked\n"
	             "against their SHA-256. `docket ticket show N` lists each article's\n"
	             "attachments with their ids. Exit status: 0 written, 66 no such attachment\n"
	             "(or its content was over a parse limit and not kept, or retention purged\n"
	             "it), 65 the stored file\n"
	             "is damaged, 75 it cannot be read or written now.");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	gint64 id = 0;
	if (argc != 3 || strcmp(argv[1], "get") != 0 ||
	    !g_ascii_string_to_signed(argv[2], 10, 1, G_MAXINT64, &id, NULL)) {
		dk_cli_error("attachment: expected get ID (see --help)");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = NULL;
	g_autoptr(DkStore) store = NULL;
	int rc = dk_cli_open("attachment", FALSE, &config, &store);
	if (rc != DK_EXIT_OK)
		return rc;
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStoredAttachment) a = dk_store_attachment_get(store, id, &error);
	g_autoptr(GInputStream) in = a ? dk_store_attachment_stream(store, a, &error) : NULL;
	if (in == NULL)
		return failed(error);
	return write_out(in, output);
}
