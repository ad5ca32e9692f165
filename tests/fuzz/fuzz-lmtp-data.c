/* libFuzzer target for the LMTP byte level (gateway/intake/lmtp-data.c):
 * the first input byte sizes the reader's buffer (so that lines and the
 * final dot fall across refills), the second the line limit; the rest is a
 * session stream: one command line, then DATA up to ".", then another
 * line. Invariants: DATA never yields more bytes than it read, a line never
 * exceeds its limit. */
#include "gateway/intake/lmtp-data.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *spool_dir;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (spool_dir == NULL)
		spool_dir = g_dir_make_tmp("docket-fuzz-XXXXXX", NULL);
	gsize buffer = 8 + data[0];
	gsize max = 1 + data[1];
	g_autoptr(GInputStream) in =
	    g_memory_input_stream_new_from_data(data + 2, (gssize)(size - 2), NULL);
	DkLmtpReader reader;
	dk_lmtp_reader_init(&reader, buffer);
	const char *line;
	gsize length;
	g_autoptr(GError) error = NULL;
	DkLmtpLine r = dk_lmtp_reader_line(&reader, in, max, &line, &length, NULL, &error);
	if (r == DK_LMTP_LINE_OK && (length > max || memchr(line, '\n', length) != NULL))
		__builtin_trap();
	g_autoptr(DkLmtpSpool) spool = dk_lmtp_spool_new(spool_dir);
	DkLmtpDataResult d = dk_lmtp_data_read(&reader, in, spool, (gint64)(size / 2), &error);
	if (d == DK_LMTP_DATA_OK) {
		if (!dk_lmtp_spool_finish(spool, &error) || dk_lmtp_spool_size(spool) > size)
			__builtin_trap();
		g_autoptr(GBytes) contents = dk_lmtp_spool_contents(spool, &error);
		if (contents == NULL || g_bytes_get_size(contents) != dk_lmtp_spool_size(spool))
			__builtin_trap();
		g_clear_error(&error);
		r = dk_lmtp_reader_line(&reader, in, max, &line, &length, NULL, &error);
		if (r == DK_LMTP_LINE_OK && length > max)
			__builtin_trap();
	}
	dk_lmtp_reader_clear(&reader);
	return 0;
}
