/* `docket attachment get ID [-o FILE]`: the bytes of one attachment
 * exactly as they were received (the ids are in `docket ticket show`). */
#include "gateway/cli/cli.h"
#include "gateway/error.h"
#include "gateway/store/store-attachments.h"
#include "gateway/store/store-file.h"

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

/* Writes a's bytes to path (to a file beside it, renamed over it when
 * complete: no half-written file is left on failure), or to standard
 * output when path is NULL or "-", a piece at a time. */
static int write_out(DkStore *store, const DkStoredAttachment *a, const char *path)
{
	g_autoptr(GError) error = NULL;
	if (path == NULL || strcmp(path, "-") == 0) {
		DkStoreFileSink out = {STDOUT_FILENO, "writing to standard output", 0};
		return dk_store_attachment_copy(store, a, dk_store_file_sink_write, &out, &error)
		           ? DK_EXIT_OK
		           : failed(error);
	}
	g_autofree char *partial = g_strconcat(path, ".XXXXXX", NULL);
	g_autofree char *doing = g_strdup_printf("writing %s", path);
	DkStoreFileSink out = {g_mkstemp_full(partial, O_WRONLY | O_CLOEXEC, 0666), doing, 0};
	if (out.fd < 0) {
		dk_cli_error("attachment get: %s: %s", doing, g_strerror(errno));
		return DK_EXIT_TEMPFAIL;
	}
	gboolean copied =
	    dk_store_attachment_copy(store, a, dk_store_file_sink_write, &out, &error);
	gboolean written = copied && fsync(out.fd) == 0;
	written = close(out.fd) == 0 && written;
	written = written && rename(partial, path) == 0;
	if (!written) {
		if (copied) /* the copy's own failure is in error already */
			g_set_error(&error, DK_ERROR, DK_ERROR_TEMPORARY, "%s: %s", doing,
			            g_strerror(errno));
		unlink(partial);
		return failed(error);
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
	if (a == NULL)
		return failed(error);
	return write_out(store, a, output);
}
