/* libFuzzer target for parsers/charset.c and charset-jis.c: the first
 * byte picks a declared charset (ISO-2022-JP and its vendor forms, the
 * CJK supersets, Latin-1, none), the rest is the text; every conversion
 * must give valid UTF-8, for bodies and for raw 8-bit header text alike. */
#include "parsers/charset.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const labels[] = {
	    NULL,     "iso-2022-jp",  "cp50221",      "shift_jis",  "gb2312",
	    "euc-kr", "big5",         "koi8-r",       "iso-8859-1", "us-ascii",
	    "utf-8",  "windows-1251", "unknown-8bit",
	};
	if (size == 0)
		return 0;
	const char *label = labels[data[0] % (sizeof labels / sizeof labels[0])];
	const char *text = (const char *)data + 1;
	gsize len = size - 1;
	char *body = dk_charset_to_utf8(text, len, label, NULL, NULL);
	const char *declared[] = {label, NULL};
	char *header =
	    dk_charset_header_to_utf8(text, len, label ? declared : NULL, "windows-1252");
	if (body == NULL || header == NULL || !g_utf8_validate(body, -1, NULL) ||
	    !g_utf8_validate(header, -1, NULL))
		__builtin_trap();
	g_free(body);
	g_free(header);
	return 0;
}
