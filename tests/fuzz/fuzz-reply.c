/* libFuzzer target for the reply splitter: any bytes, made valid UTF-8 as
 * the normaliser would, must split without a crash, within bounds, and with
 * no byte invented: the new text and the quoted part together are never
 * longer than the input. The signature finder runs on the same text. */
#include "parsers/reply.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first line, if short, is the sender for the signature finder. */
	const char *nl = memchr(data, '\n', size < 64 ? size : 64);
	gsize head = nl ? (gsize)(nl - (const char *)data) : 0;
	g_autofree char *sender = g_utf8_make_valid((const char *)data, (gssize)head);
	g_autofree char *text = g_utf8_make_valid((const char *)data + (nl ? head + 1 : 0),
	                                          (gssize)(size - (nl ? head + 1 : 0)));
	g_autofree char *fresh = NULL, *quoted = NULL;
	dk_reply_split(text, &fresh, &quoted);
	gsize n = strlen(text);
	if (strlen(fresh) + strlen(quoted) > n + 1 || !g_utf8_validate(fresh, -1, NULL) ||
	    !g_utf8_validate(quoted, -1, NULL))
		__builtin_trap();
	g_autofree char *above = NULL, *signature = NULL;
	if (dk_reply_signature_split(text, sender, &above, &signature)) {
		if (strlen(above) + strlen(signature) > n || *signature == '\0')
			__builtin_trap();
	}
	return 0;
}
