/* libFuzzer target for the HTML-to-text converter (parsers/html.c): any
 * bytes, made valid UTF-8 as the normaliser would, convert without a crash,
 * a leak or a hang, and the three texts it returns are valid UTF-8. */
#include "parsers/html.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *html = g_utf8_make_valid((const char *)data, (gssize)size);
	g_autoptr(DkHtmlText) t = dk_html_to_text(html, strlen(html));
	if (t == NULL || !g_utf8_validate(t->text, -1, NULL) ||
	    !g_utf8_validate(t->new_text, -1, NULL) || !g_utf8_validate(t->quoted_text, -1, NULL))
		__builtin_trap();
	/* The raw bytes too: the converter must not trust its input. */
	g_autoptr(DkHtmlText) raw = dk_html_to_text((const char *)data, size);
	if (raw == NULL)
		__builtin_trap();
	return 0;
}
