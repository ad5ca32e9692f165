/* ISO-2022-JP as Japanese mail programs really write it: with Microsoft's
 * and NEC's extensions (code pages 50220/50221, "ISO-2022-JP-MS"), which
 * glibc's ISO-2022-JP decoders reject. */
#include "parsers/charset-private.h"

#include <string.h>

typedef enum { JIS_ASCII, JIS_KANA, JIS_X0208 } JisMode;

/* One JIS X 0208 code (two bytes 0x21-0x7E) as Shift_JIS bytes. The
 * arithmetic also carries the rows outside the standard into code page
 * 932: row 13 (NEC special characters: circled digits, Roman numerals,
 * units) to 0x87xx, rows 89-92 (NEC-selected IBM extensions) to
 * 0xED-0xEE, which is where Outlook and Windows put them. */
static void jis_to_sjis(guint8 j1, guint8 j2, GByteArray *out)
{
	guint8 s[2];
	s[0] = (guint8)(((j1 + 1) >> 1) + (j1 <= 0x5E ? 0x70 : 0xB0));
	if (j1 & 1)
		s[1] = (guint8)(j2 + (j2 >= 0x60 ? 0x20 : 0x1F));
	else
		s[1] = (guint8)(j2 + 0x7E);
	g_byte_array_append(out, s, 2);
}

/* The escape sequence at p (RFC 1468, and the JIS X 0201 katakana set
 * of code page 50221); its length in *len_out. FALSE for a designation
 * that code page 932 cannot carry (ISO-2022-JP-2's Chinese, Korean,
 * Latin and JIS X 0212 sets). */
static gboolean read_escape(const guint8 *p, gsize n, JisMode *mode, gsize *len_out)
{
	static const struct {
		const char *seq;
		JisMode mode;
	} escapes[] = {
	    {"\x1B(B", JIS_ASCII},  {"\x1B(J", JIS_ASCII},  {"\x1B(I", JIS_KANA},
	    {"\x1B$@", JIS_X0208},  {"\x1B$B", JIS_X0208},  {"\x1B&@\x1B$B", JIS_X0208},
	    {"\x1B$(B", JIS_X0208}, {"\x1B$(Q", JIS_X0208}, {"\x1B$(O", JIS_X0208},
	};
	for (guint i = 0; i < G_N_ELEMENTS(escapes); i++) {
		gsize len = strlen(escapes[i].seq);
		if (n >= len && memcmp(p, escapes[i].seq, len) == 0) {
			*mode = escapes[i].mode;
			*len_out = len;
			return TRUE;
		}
	}
	return FALSE;
}

GByteArray *dk_charset_jis_to_sjis(const char *data, gsize len)
{
	const guint8 *p = (const guint8 *)data;
	GByteArray *out = g_byte_array_sized_new((guint)MIN(len, (gsize)G_MAXUINT));
	JisMode mode = JIS_ASCII, shifted_from = JIS_ASCII;
	gboolean shifted = FALSE;
	for (gsize i = 0; i < len;) {
		guint8 c = p[i];
		gsize skip = 0;
		if (c == 0x1B) {
			if (!read_escape(p + i, len - i, &mode, &skip)) {
				g_byte_array_unref(out);
				return NULL;
			}
			i += skip;
			continue;
		}
		if (c == 0x0E || c == 0x0F) { /* SO/SI: katakana in and out (code page 50222) */
			if (c == 0x0E && !shifted) {
				shifted_from = mode;
				mode = JIS_KANA;
			} else if (c == 0x0F && shifted) {
				mode = shifted_from;
			}
			shifted = c == 0x0E;
			i++;
			continue;
		}
		if (c == '\r' || c == '\n' || c < 0x21 || c >= 0x80) {
			/* Line ends and raw 8-bit bytes (half-width katakana or
			 * Shift_JIS that senders put in "JIS" text) pass as they are. */
			g_byte_array_append(out, &c, 1);
			i++;
			continue;
		}
		if (mode == JIS_KANA) {
			guint8 k = c <= 0x5F ? (guint8)(c + 0x80) : '?';
			g_byte_array_append(out, &k, 1);
			i++;
		} else if (mode == JIS_X0208 && i + 1 < len && p[i + 1] >= 0x21 &&
		           p[i + 1] <= 0x7E) {
			jis_to_sjis(c, p[i + 1], out);
			i += 2;
		} else if (mode == JIS_X0208) {
			static const guint8 unreadable = 0x80; /* none in code page 932 */
			g_byte_array_append(out, &unreadable, 1);
			i++;
		} else {
			g_byte_array_append(out, &c, 1);
			i++;
		}
	}
	return out;
}
