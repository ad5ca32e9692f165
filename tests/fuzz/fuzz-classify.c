/* libFuzzer target for the classifier: any bytes that dk_message_parse
 * accepts are parsed by GMime as well and classified, which must not crash,
 * leak or hang. A bounce is never an auto-reply, and an original Message-ID
 * found is never empty. */
#include "parsers/classify.h"

#include <stdint.h>
#include <string.h>

static const char *const own[] = {"help.example.org", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) bytes = g_bytes_new_static(data, size);
	g_autoptr(DkMessage) m = dk_message_parse(bytes, NULL, NULL);
	if (m == NULL)
		return 0;
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *)data, size);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *gm = g_mime_parser_construct_message(parser, NULL);
	dk_classify(gm, m, own);
	const DkBounce *b = m->classification.bounce;
	if (b != NULL && b->original_message_id != NULL && *b->original_message_id == '\0')
		__builtin_trap();
	if (b != NULL && m->classification.auto_reply)
		__builtin_trap();
	if (gm != NULL)
		g_object_unref(gm);
	g_object_unref(parser);
	g_object_unref(stream);
	return 0;
}
