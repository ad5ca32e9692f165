/* libFuzzer target for the subject functions (parsers/subject.c): the
 * input is PREFIX NUL SUBJECT (or SUBJECT alone with the prefix "docket").
 * Invariants: the prefix chain is never longer than the subject, stripping
 * and cleaning never add bytes, a token found has a positive number. */
#include "parsers/subject.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, '\0', size);
	g_autofree char *prefix = NULL, *subject = NULL;
	if (nul != NULL) {
		gsize n = (gsize)(nul - (const char *)data);
		prefix = g_utf8_make_valid((const char *)data, (gssize)n);
		subject = g_utf8_make_valid(nul + 1, (gssize)(size - n - 1));
	} else {
		prefix = g_strdup("docket");
		subject = g_utf8_make_valid((const char *)data, (gssize)size);
	}
	gsize len = strlen(subject);
	if (dk_subject_prefix_length(subject) > len)
		__builtin_trap();
	g_autofree char *stripped = dk_subject_strip(subject);
	g_autofree char *clean = dk_subject_clean(subject, prefix);
	if (strlen(stripped) > len || strlen(clean) > len || !g_utf8_validate(stripped, -1, NULL) ||
	    !g_utf8_validate(clean, -1, NULL))
		__builtin_trap();
	gint64 number = 0;
	if (dk_subject_find_token(subject, prefix, &number) && number <= 0)
		__builtin_trap();
	return 0;
}
