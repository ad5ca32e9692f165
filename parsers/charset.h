/* Text in whatever charset mail declares, turned into valid UTF-8.
 *
 * Mail lies about its charset: "us-ascii" bodies full of UTF-8, "iso-8859-1"
 * bodies written in windows-1252, no charset at all. These functions decide
 * what the bytes really are, convert them, and replace what cannot be read
 * with U+FFFD rather than failing or cutting the text short. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The charset assumed for undeclared or unreadable 8-bit text. */
#define DK_CHARSET_DEFAULT_FALLBACK "windows-1252"

/* Converts len bytes of data, declared to be in declared (a MIME charset
 * name, or NULL when the mail names none), to UTF-8. Undeclared text and
 * text declared us-ascii or iso-8859-1 is kept when it is valid UTF-8;
 * otherwise it is read as fallback (NULL: windows-1252) or, for
 * iso-8859-1, as its superset windows-1252. An unknown charset is treated
 * as undeclared. Bytes that cannot be converted and NUL bytes become
 * U+FFFD; nothing is dropped after them. Sets *replaced_out, when given, to
 * whether any replacement happened. Never returns NULL; g_free() it. */
char *dk_charset_to_utf8(const char *data, gsize len, const char *declared, const char *fallback,
			 gboolean *replaced_out);

/* The iconv name for a MIME charset name, mapping the aliases and the
 * subsets mail uses to the superset glibc knows (gb2312 -> GB18030,
 * shift_jis -> CP932, ks_c_5601-1987 -> CP949, ...), or NULL for names that
 * mean "unknown" (unknown-8bit, x-user-defined, ...). Static string. */
const char *dk_charset_iconv_name(const char *declared);

/* The charset that len bytes of data, declared as declared, are really
 * in, by the rules of dk_charset_to_utf8(): "UTF-8" for valid UTF-8 under
 * a Latin-1 or ASCII label, "CP1252" for other text under a Latin-1 label,
 * the superset for a subset label; NULL when only the fallback charset is
 * left. Static string. */
const char *dk_charset_effective(const char *declared, const char *data, gsize len);

/* Whether data is pure 7-bit ASCII. */
gboolean dk_charset_is_ascii(const char *data, gsize len);

G_END_DECLS
