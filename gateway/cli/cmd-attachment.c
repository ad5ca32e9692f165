/* `docket attachment get ID [-o FILE]`: the bytes of one attachment
 * exactly as they were received (the ids are in `docket ticket show`). */
#include "gateway/cli/cli.h"
#include "gateway/error.h"
#include "gateway/store/store-attachments.h"

#include <stdio.h>
#include <string.h>

static int failed(const GError *error)
{
	dk_cli_error("attachment get: %s", error->message);
	if (g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND) ||
	    g_error_matches(error, DK_ERROR, DK_ERROR_GONE))
		return DK_EXIT_NOINPUT;
	return dk_error_is_temporary(error) ? DK_EXIT_TEMPFAIL : DK_EXIT_DATAERR;
}

/* Writes bytes to path (replacing it whole: no half-written file is left
 * on failure), or to standard output when path is NULL or "-". */
static int write_out(GBytes *bytes, const char *path)
{
	gsize len = 0;
	const char *data = g_bytes_get_data(bytes, &len);
	if (path == NULL || strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			dk_cli_error("attachment get: writing to standard output failed");
			return DK_EXIT_TEMPFAIL;
		}
		return DK_EXIT_OK;
	}
	g_autoptr(GError) error = NULL;
	if (!g_file_set_contents(path, data, (gssize)len, &error)) {
		dk_cli_error("attachment get: %s", error->message);
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
	g_autoptr(GBytes) bytes = a ? dk_store_attachment_read(store, a, &error) : NULL;
	if (bytes == NULL)
		return failed(error);
	return write_out(bytes, output);
}
