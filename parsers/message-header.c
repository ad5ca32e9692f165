/* Header values decoded to UTF-8: unfolding, RFC 2047 encoded words, and
 * raw 8-bit text in whatever charset the sender's program wrote it. */
#include "parsers/charset.h"
#include "parsers/message-private.h"

#include <string.h>

/* The first "ab" in s, or NULL. A plain loop: sanitizers' strstr measures
 * the whole haystack on every call, which made 15,000 encoded words in a
 * header quadratic (more than 10 s) under AddressSanitizer. */
static const char *find_pair(const char *s, char a, char b)
{
	for (; *s != '\0'; s++)
		if (s[0] == a && s[1] == b)
			return s;
	return NULL;
}

/* One encoded word (RFC 2047 section 2): =?charset?enc?text?= */
typedef struct {
	const char *start, *end; /* the whole word, end past "?=" */
	const char *charset;
	gsize charset_len; /* without an RFC 2231 "*language" */
	char enc;
	const char *text;
	gsize text_len;
} EncodedWord;

/* The next encoded word at or after s; FALSE when there is none. Loose
 * like the mail it reads: words inside other words and words with spaces
 * in their text are taken. */
static gboolean next_word(const char *s, EncodedWord *w)
{
	for (const char *p = find_pair(s, '=', '?'); p != NULL; p = find_pair(p + 2, '=', '?')) {
		const char *q1 = strchr(p + 2, '?');
		if (q1 == NULL || q1[1] == '\0' || q1[2] != '?' || strchr("bBqQ", q1[1]) == NULL)
			continue;
		const char *text = q1 + 3;
		const char *end = find_pair(text, '?', '=');
		if (end == NULL)
			return FALSE;
		w->start = p;
		w->end = end + 2;
		w->charset = p + 2;
		w->charset_len = MIN(strcspn(p + 2, "*?"), (gsize)(q1 - (p + 2)));
		w->enc = q1[1];
		w->text = text;
		w->text_len = (gsize)(end - text);
		return TRUE;
	}
	return FALSE;
}

/* Appends the bytes an encoded word's text stands for (RFC 2047 section
 * 4). Base64 whose '=' padding was lost (some web mailers and PHP
 * libraries write it) gets it back instead of decoding to nothing. */
static void append_word_bytes(GByteArray *out, const EncodedWord *w)
{
	const char *text = w->text;
	gsize len = w->text_len;
	if (w->enc == 'b' || w->enc == 'B') {
		gsize keep = len;
		if (len % 4 != 0 && memchr(text, '=', len) == NULL)
			keep = len % 4 == 1 ? len - 1 : len;
		g_autofree char *padded = g_strdup_printf("%.*s%s", (int)keep, text,
		                                          keep % 4 == 2   ? "=="
		                                          : keep % 4 == 3 ? "="
		                                                          : "");
		gsize n = 0;
		g_autofree guchar *raw = g_base64_decode(padded, &n);
		g_byte_array_append(out, raw, (guint)n);
		return;
	}
	for (gsize i = 0; i < len; i++) {
		guint8 c = (guint8)text[i];
		if (c == '=' && i + 2 < len && g_ascii_isxdigit(text[i + 1]) &&
		    g_ascii_isxdigit(text[i + 2])) {
			c = (guint8)(g_ascii_xdigit_value(text[i + 1]) << 4 |
			             g_ascii_xdigit_value(text[i + 2]));
			i += 2;
		} else if (c == '_') {
			c = ' ';
		}
		g_byte_array_append(out, &c, 1);
	}
}

static gboolean only_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return FALSE;
	return TRUE;
}

/* The encoded words waiting to be converted together: adjacent words of
 * one charset are joined as bytes first, so a character split between
 * two words survives. */
typedef struct {
	GByteArray *bytes;
	char *charset;
} Pending;

static void flush(GString *out, Pending *p, const char *fallback)
{
	if (p->bytes == NULL)
		return;
	/* The label is checked against the bytes as a body's is: UTF-8 or
	 * windows-1252 under a Latin-1 label, GB18030 for gb2312, ... */
	g_autofree char *utf8 = dk_charset_to_utf8((const char *)p->bytes->data, p->bytes->len,
	                                           p->charset, fallback, NULL);
	g_string_append(out, utf8);
	g_clear_pointer(&p->bytes, g_byte_array_unref);
	g_clear_pointer(&p->charset, g_free);
}

char *dk_header_decode_words(const char *s, const char *fallback)
{
	GString *out = g_string_sized_new(strlen(s));
	Pending pending = {0};
	const char *copied = s;
	EncodedWord w;
	while (next_word(copied, &w)) {
		/* RFC 2047 section 6.2: space between two encoded words is
		 * dropped. Every word is decoded on its own, so one that stands
		 * for a line break does not end the text (GMime joined adjacent
		 * base64 words before decoding and stopped at the first '='). */
		if (pending.bytes == NULL || !only_space(copied, w.start)) {
			flush(out, &pending, fallback);
			g_string_append_len(out, copied, w.start - copied);
		}
		g_autofree char *label = g_strndup(w.charset, w.charset_len);
		if (pending.charset != NULL && g_ascii_strcasecmp(pending.charset, label) != 0)
			flush(out, &pending, fallback);
		if (pending.bytes == NULL) {
			pending.bytes = g_byte_array_new();
			pending.charset = g_steal_pointer(&label);
		}
		append_word_bytes(pending.bytes, &w);
		copied = w.end;
	}
	flush(out, &pending, fallback);
	g_string_append(out, copied);
	return g_string_free(out, FALSE);
}

/* A header value with nothing to decode (7-bit, no encoded word),
 * unfolded (RFC 5322 section 2.2.3), controls made spaces, ends trimmed;
 * NULL when it needs decoding. One pass over most header fields. */
static char *plain_header(const char *raw)
{
	char *out = g_malloc(strlen(raw) + 1), *w = out;
	for (const char *p = raw; *p; p++) {
		guchar ch = (guchar)*p;
		if (ch >= 0x7F || (ch == '=' && p[1] == '?')) {
			g_free(out);
			return NULL;
		}
		if (ch != '\r' && ch != '\n')
			*w++ = ch < 0x20 ? ' ' : (char)ch;
	}
	*w = '\0';
	return g_strstrip(out);
}

static char *controls_to_spaces(char *s)
{
	for (char *p = s; *p; p++)
		if ((guchar)*p < 0x20 || (guchar)*p == 0x7F)
			*p = ' ';
	return s;
}

char *dk_header_decode(const char *raw, const char *const *charsets, const char *fallback)
{
	if (raw == NULL)
		return g_strdup("");
	char *plain = plain_header(raw);
	if (plain != NULL)
		return plain;
	g_autofree char *unfolded = g_mime_utils_header_unfold(raw);
	if (!g_utf8_validate(unfolded, -1, NULL)) {
		/* Raw 8-bit text (RFC 6532 allows UTF-8 only). */
		char *utf8 =
		    dk_charset_header_to_utf8(unfolded, strlen(unfolded), charsets, fallback);
		g_free(unfolded);
		unfolded = utf8;
	}
	char *text = strstr(unfolded, "=?") != NULL ? dk_header_decode_words(unfolded, fallback)
	                                            : g_steal_pointer(&unfolded);
	if (!g_utf8_validate(text, -1, NULL)) {
		char *valid = g_utf8_make_valid(text, -1);
		g_free(text);
		text = valid;
	}
	return g_strstrip(controls_to_spaces(text)); /* left by broken encodings */
}

char *dk_message_decode_header(DkParseContext *c, const char *raw)
{
	return dk_header_decode(raw, (const char *const *)c->m->header_charsets,
	                        c->fallback_charset);
}
