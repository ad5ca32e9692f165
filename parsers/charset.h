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
 * otherwise it is read in the charset libuchardet detects (against a
 * Latin-1 label only a multi-byte or Cyrillic one), when the bytes read
 * cleanly in it, else as fallback (NULL: windows-1252) or, for
 * iso-8859-1, as its superset windows-1252. ISO-2022-JP is read with the
 * vendor extensions of code page 50221. An unknown charset is treated
 * as undeclared. Bytes that cannot be converted and NUL bytes become
 * U+FFFD; nothing is dropped after them. Sets *replaced_out, when given, to
 * whether any replacement happened. Never returns NULL; g_free() it. */
char *dk_charset_to_utf8(const char *data, gsize len, const char *declared, const char *fallback,
                         gboolean *replaced_out);

/* The iconv name for a MIME charset name, mapping the aliases and the
 * subsets mail uses to the superset glibc knows (gb2312 -> GB18030,
 * shift_jis -> CP932, ks_c_5601-1987 -> CP949, ...), or NULL for names that
 * mean "unknown" (unknown-8bit, x-user-defined, ...) and for names iconv
 * does not know. Static string (interned: only names iconv knows are). */
const char *dk_charset_iconv_name(const char *declared);

/* Raw 8-bit header text (RFC 5322 allows none; RFC 6532 allows UTF-8)
 * to UTF-8: valid UTF-8 is kept; else the first of declared (the charsets
 * the message's text parts declare, NULL-terminated, or NULL) in which
 * the bytes read cleanly, a single-byte one other than Latin-1 taken as
 * it is; else what libuchardet detects, when the bytes read cleanly in
 * it; else windows-1252 when a part declares Latin-1, else fallback.
 * Never returns NULL; g_free() it. */
char *dk_charset_header_to_utf8(const char *data, gsize len, const char *const *declared,
                                const char *fallback);

/* The charset libuchardet detects for 8-bit text (1 KiB of it, from
 * just before its first 8-bit byte), as an iconv name, or NULL when it
 * finds none or, on fewer than 32 8-bit bytes, names a single-byte
 * charset other than a Western one (then words made only of 8-bit
 * letters are read as KOI8-R or windows-1251). Static string. */
const char *dk_charset_detect(const char *data, gsize len);

/* Whether data is pure 7-bit ASCII. */
gboolean dk_charset_is_ascii(const char *data, gsize len);

G_END_DECLS
