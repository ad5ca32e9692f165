/* What charset.c and charset-jis.c share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ISO-2022-JP text (with the extensions of code pages 50220-50222:
 * NEC row 13, NEC-selected IBM rows 89-92, JIS X 0201 katakana by escape
 * or SO/SI) turned into code page 932 (Shift_JIS) bytes, or NULL when it
 * designates a set that code page 932 lacks (then glibc's ISO-2022-JP-2
 * reads it). Free with g_byte_array_unref(). */
GByteArray *dk_charset_jis_to_sjis(const char *data, gsize len);

G_END_DECLS
