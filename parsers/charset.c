/* Converts mail text from its declared (or guessed) charset to UTF-8. */
#include "parsers/charset.h"
#include "parsers/charset-private.h"

#include <errno.h>
#include <string.h>
#include <uchardet/uchardet.h>

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Names mail uses, mapped to what glibc's iconv reads. Subsets map to the
 * superset that Microsoft mail clients really write (RFC 1922 names the
 * ISO-2022 variants; Windows code pages fill the holes). */
static const struct {
	const char *mime;
	const char *iconv;
} aliases[] = {
    {"gb2312", "GB18030"},
    {"gbk", "GB18030"},
    {"x-gbk", "GB18030"},
    {"cp936", "GB18030"},
    {"euc-cn", "GB18030"},
    {"x-euc-cn", "GB18030"},
    {"shift_jis", "CP932"},
    {"shift-jis", "CP932"},
    {"x-sjis", "CP932"},
    {"sjis", "CP932"},
    {"ms_kanji", "CP932"},
    {"windows-31j", "CP932"},
    {"iso-2022-jp", "ISO-2022-JP-MS"},
    {"csiso2022jp", "ISO-2022-JP-MS"},
    {"iso-2022-jp-ms", "ISO-2022-JP-MS"},
    {"cp50220", "ISO-2022-JP-MS"},
    {"cp50221", "ISO-2022-JP-MS"},
    {"cp50222", "ISO-2022-JP-MS"},
    {"x-cp50220", "ISO-2022-JP-MS"},
    {"x-cp50221", "ISO-2022-JP-MS"},
    {"iso-2022-jp-1", "ISO-2022-JP-MS"},
    {"euc-kr", "CP949"},
    {"ks_c_5601-1987", "CP949"},
    {"ks_c_5601", "CP949"},
    {"big5", "BIG5-HKSCS"},
    {"x-x-big5", "BIG5-HKSCS"},
    {"cn-big5", "BIG5-HKSCS"},
    {"tis-620", "WINDOWS-874"},
    {"iso-8859-11", "WINDOWS-874"},
    {"iso-8859-8-i", "ISO-8859-8"},
    {"iso-8859-6-i", "ISO-8859-6"},
    {"iso-8859-6-e", "ISO-8859-6"},
    {"unicode-1-1-utf-7", "UTF-7"},
    {"x-mac-roman", "MACINTOSH"},
    {"macintosh", "MACINTOSH"},
    {"utf8", "UTF-8"},
    {"x-utf8", "UTF-8"},
    {"latin-1", "ISO-8859-1"},
    {"ansi_x3.4-1968", "ASCII"},
    {"us-ascii", "ASCII"},
    {"cp-1252", "CP1252"},
};

static const char *const unknown_names[] = {
    "unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default", "charset", "none", NULL,
};

/* Declared 7-bit or Latin-1 text is the most often mislabelled. */
static const char *const latin_names[] = {
    "ascii", "iso-8859-1",      "iso8859-1",  "iso_8859-1", "latin1", "l1",
    "cp819", "iso_8859-1:1987", "iso-ir-100", "ibm819",     NULL,
};

static gboolean in_list(const char *name, const char *const *list)
{
	for (guint i = 0; list[i] != NULL; i++)
		if (g_ascii_strcasecmp(name, list[i]) == 0)
			return TRUE;
	return FALSE;
}

/* Lower-case, without quotes, spaces and RFC 2231 language suffix. */
static char *canonical_name(const char *declared)
{
	if (declared == NULL)
		return NULL;
	char *s = g_ascii_strdown(declared, -1);
	g_strdelimit(s, "\"'", ' ');
	g_strstrip(s);
	char *star = strchr(s, '*'); /* RFC 2231 section 5: charset*language */
	if (star != NULL)
		*star = '\0';
	if (*s == '\0') {
		g_free(s);
		return NULL;
	}
	return s;
}

static GIConv converter(const char *charset);

const char *dk_charset_iconv_name(const char *declared)
{
	g_autofree char *name = canonical_name(declared);
	if (name == NULL || in_list(name, unknown_names))
		return NULL;
	for (guint i = 0; i < G_N_ELEMENTS(aliases); i++)
		if (strcmp(name, aliases[i].mime) == 0)
			return aliases[i].iconv;
	/* Interned, for a static string, only when iconv reads it: the names
	 * iconv knows are a bounded set, the names mail declares are not (an
	 * interned string is never freed). One it does not know is unknown. */
	if (g_quark_try_string(name) != 0)
		return g_intern_string(name);
	if (converter(name) == (GIConv)-1)
		return NULL;
	return g_intern_string(name);
}

gboolean dk_charset_is_ascii(const char *data, gsize len)
{
	for (gsize i = 0; i < len; i++)
		if ((guchar)data[i] >= 0x80)
			return FALSE;
	return TRUE;
}

/* Whether data has at least one well-formed multi-byte UTF-8 sequence:
 * evidence that invalid bytes elsewhere are damage, not another charset. */
static gboolean has_utf8_sequence(const char *data, gsize len)
{
	for (gsize i = 0; i + 1 < len; i++) {
		guchar c = (guchar)data[i];
		if (c < 0xC2 || c > 0xF4)
			continue;
		gsize want = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		if (i + want <= len && g_utf8_validate_len(data + i, want, NULL))
			return TRUE;
	}
	return FALSE;
}

/* Whether data is valid UTF-8 without NUL bytes (as g_utf8_validate_len
 * tells), with the ASCII run most text starts with checked cheaply. */
static gboolean plain_utf8(const char *data, gsize len)
{
	gsize i = 0;
	while (i < len && (guchar)data[i] - 1u < 0x7Fu) /* 0x01-0x7F */
		i++;
	return i == len || g_utf8_validate_len(data + i, len - i, NULL);
}

/* Valid UTF-8 with NULs replaced (g_utf8_make_valid does both). */
static char *make_valid(const char *data, gsize len, gboolean *replaced)
{
	if (plain_utf8(data, len))
		return g_strndup(data, len);
	*replaced = TRUE;
	return g_utf8_make_valid(data, (gssize)len);
}

static void convert_loop(GIConv cd, const char *data, gsize len, GString *out, gboolean *replaced)
{
	char buf[4096];
	gchar *in = (gchar *)data;
	gsize inleft = len;
	while (inleft > 0) {
		gchar *o = buf;
		gsize oleft = sizeof buf;
		gsize r = g_iconv(cd, &in, &inleft, &o, &oleft);
		int err = errno;
		g_string_append_len(out, buf, (gssize)(o - buf));
		if (r != (gsize)-1 || err == E2BIG)
			continue;
		/* EILSEQ: one unreadable byte; EINVAL: a sequence cut short by the
		 * end of the text. Either way it becomes U+FFFD and we go on. */
		g_string_append(out, replacement);
		*replaced = TRUE;
		if (err == EINVAL)
			break;
		in++;
		inleft--;
	}
	gchar *o = buf;
	gsize oleft = sizeof buf;
	g_iconv(cd, NULL, NULL, &o, &oleft); /* flush a stateful encoding */
	g_string_append_len(out, buf, (gssize)(o - buf));
}

static void close_converter(gpointer cd)
{
	if (cd != (GIConv)-1)
		g_iconv_close(cd);
}

static void free_cache(gpointer cache)
{
	g_hash_table_unref(cache);
}

/* Opening a converter loads a glibc gconv module each time; each thread
 * keeps the ones it used (a failed open is remembered too). */
static GIConv converter(const char *charset)
{
	static GPrivate key = G_PRIVATE_INIT(free_cache);
	GHashTable *cache = g_private_get(&key);
	if (cache == NULL) {
		cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, close_converter);
		g_private_set(&key, cache);
	}
	gpointer cd;
	if (g_hash_table_lookup_extended(cache, charset, NULL, &cd))
		return cd;
	if (g_hash_table_size(cache) > 64) /* names come from mail: bound them */
		g_hash_table_remove_all(cache);
	cd = g_iconv_open("UTF-8", charset);
	g_hash_table_insert(cache, g_strdup(charset), cd);
	return cd;
}

/* Converts with iconv; NULL when the charset is unknown to iconv. */
static char *iconv_convert(const char *data, gsize len, const char *charset, gboolean *replaced)
{
	GIConv cd = converter(charset);
	if (cd == (GIConv)-1)
		return NULL;
	g_iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state */
	GString *out = g_string_sized_new(len + len / 2 + 16);
	convert_loop(cd, data, len, out, replaced);
	/* iconv's output is UTF-8 but may hold U+0000 from the input. */
	if (memchr(out->str, '\0', out->len) != NULL) {
		char *valid = make_valid(out->str, out->len, replaced);
		g_string_free(out, TRUE);
		return valid;
	}
	return g_string_free(out, FALSE);
}

/* iconv, except for ISO-2022-JP, which mail programs write with the
 * vendor extensions of code page 50221 (charset-jis.c). */
static char *convert(const char *data, gsize len, const char *charset, gboolean *replaced)
{
	if (strcmp(charset, "ISO-2022-JP-MS") != 0)
		return iconv_convert(data, len, charset, replaced);
	g_autoptr(GByteArray) sjis = dk_charset_jis_to_sjis(data, len);
	if (sjis == NULL)
		return iconv_convert(data, len, "ISO-2022-JP-2", replaced);
	return iconv_convert((const char *)sjis->data, sjis->len, "CP932", replaced);
}

static char *from_fallback(const char *data, gsize len, const char *fallback, gboolean *replaced)
{
	const char *name = dk_charset_iconv_name(fallback ? fallback : DK_CHARSET_DEFAULT_FALLBACK);
	char *s = name ? convert(data, len, name, replaced) : NULL;
	if (s == NULL)
		s = convert(data, len, "CP1252", replaced);
	return s ? s : make_valid(data, len, replaced);
}

/* Charsets that need more than one byte for some characters: a wrong
 * guess of these shows as bytes they cannot read. */
static gboolean is_multibyte(const char *name)
{
	static const char *const marks[] = {"GB",   "BIG5", "CP932", "CP949", "EUC",
	                                    "2022", "UHC",  "SHIFT", "HZ",    NULL};
	g_autofree char *upper = g_ascii_strup(name, -1);
	for (guint i = 0; marks[i] != NULL; i++)
		if (strstr(upper, marks[i]) != NULL)
			return TRUE;
	return FALSE;
}

static gboolean is_cyrillic(const char *name)
{
	g_autofree char *upper = g_ascii_strup(name, -1);
	return strstr(upper, "1251") != NULL || strstr(upper, "KOI8") != NULL ||
	       strstr(upper, "866") != NULL || strstr(upper, "CYRILLIC") != NULL ||
	       g_str_equal(upper, "ISO-8859-5");
}

/* data read strictly as name: NULL when any byte could not be read. */
static char *convert_strict(const char *data, gsize len, const char *name)
{
	gboolean replaced = FALSE;
	char *s = convert(data, len, name, &replaced);
	if (s != NULL && replaced)
		g_clear_pointer(&s, g_free);
	return s;
}

static gboolean is_latin_family(const char *name)
{
	static const char *const names[] = {"windows-1252", "windows-1250", "cp1252",      "cp1250",
	                                    "iso-8859-1",   "iso-8859-2",   "iso-8859-15", NULL};
	return in_list(name, names);
}

/* Words made only of 8-bit letters, at least two of them or one of four
 * letters or more: Cyrillic in a single-byte charset (Western text mixes
 * accents into ASCII words). Lower-case letters sit at 0xC0-0xDF in
 * KOI8-R and at 0xE0-0xFF in windows-1251, and text is mostly lower
 * case. NULL when the text does not look so. */
static const char *short_cyrillic(const char *data, gsize len)
{
	guint words = 0, longest = 0, mixed = 0, koi = 0, cp1251 = 0, high = 0, ascii = 0;
	for (gsize i = 0; i <= len; i++) {
		guchar c = i < len ? (guchar)data[i] : ' ';
		if (c >= 0xC0) {
			high++;
			koi += c < 0xE0;
			cp1251 += c >= 0xE0;
		} else if (g_ascii_isalpha(c) || (c >= 0x80 && c < 0xC0)) {
			ascii++;
		} else {
			if (high >= 2 && ascii == 0) {
				words++;
				longest = MAX(longest, high);
			}
			mixed += high > 0 && ascii > 0;
			high = ascii = 0;
		}
	}
	if (mixed > 0 || (words < 2 && longest < 4))
		return NULL;
	return koi >= cp1251 ? "KOI8-R" : "CP1251";
}

/* Fewer 8-bit bytes than this are too few for libuchardet to tell the
 * single-byte charsets apart (it reads four KOI8-R letters as Greek). */
#define SHORT_SAMPLE 32

/* How much of a text the detector reads: a few kilobytes tell. */
#define DETECT_BYTES 1024

/* The charset Debian's libuchardet finds for undeclared 8-bit text, as
 * the iconv name docket uses, or NULL when it has no answer. On a short
 * sample a single-byte answer is taken only for Western charsets; other
 * short text is read as Cyrillic when its words say so. Only 1 KiB from
 * just before the first 8-bit byte are looked at. */
const char *dk_charset_detect(const char *data, gsize len)
{
	/* The text from a little before its first 8-bit byte: what comes
	 * before is ASCII, which says nothing. */
	gsize first = 0;
	while (first < len && (guchar)data[first] < 0x80)
		first++;
	first = first > 64 ? first - 64 : 0;
	data += first;
	len = MIN(len - first, (gsize)DETECT_BYTES);
	if (memchr(data, '\0', len) != NULL)
		return NULL; /* binary data (an image sent as text), not text */
	uchardet_t ud = uchardet_new();
	if (ud == NULL)
		return NULL;
	const char *name = NULL;
	if (uchardet_handle_data(ud, data, len) == 0) {
		uchardet_data_end(ud);
		const char *found = uchardet_get_charset(ud);
		if (found != NULL && *found != '\0' && g_ascii_strcasecmp(found, "ASCII") != 0 &&
		    g_ascii_strcasecmp(found, "UTF-8") != 0) {
			g_autofree char *lower = g_ascii_strdown(found, -1);
			name = g_str_equal(lower, "uhc") ? "CP949" : dk_charset_iconv_name(lower);
		}
	}
	uchardet_delete(ud);
	if (name != NULL && (is_multibyte(name) || is_latin_family(name)))
		return name;
	gsize high = 0;
	for (gsize i = 0; i < len && high < SHORT_SAMPLE; i++)
		high += (guchar)data[i] >= 0x80;
	if (high >= SHORT_SAMPLE)
		return name;
	return short_cyrillic(data, len);
}

/* Text with 8-bit letters in more words than ASCII letters: not Western
 * text under its proper Latin-1 label, which mixes a few accents into
 * ASCII words. */
static gboolean mostly_high(const char *data, gsize len)
{
	gsize high = 0, ascii = 0;
	for (gsize i = 0; i < len && i < DETECT_BYTES * 4; i++) { /* a sample tells */
		guchar c = (guchar)data[i];
		high += c >= 0xA0;
		ascii += g_ascii_isalpha(c);
	}
	return high > ascii;
}

/* Undeclared, ASCII- or Latin-1-labelled 8-bit text that is not UTF-8:
 * what the detector finds, when its answer reads cleanly (and, against a
 * Latin-1 label, is a multi-byte or Cyrillic charset that the bytes fit),
 * else windows-1252 for a Latin-1 label (bytes 0x80-0x9F are C1 controls
 * in ISO-8859-1 and never appear in real text: the writer meant
 * windows-1252, as WHATWG decoders read it), else the fallback. */
static char *guess(const char *data, gsize len, const char *canon, const char *fallback,
                   gboolean *replaced)
{
	if (plain_utf8(data, len))
		return g_strndup(data, len);
	if (dk_charset_is_ascii(data, len))
		return make_valid(data, len, replaced); /* NUL bytes */
	gboolean latin = canon != NULL && !g_str_equal(canon, "ascii") &&
	                 !g_str_equal(canon, "us-ascii") && !g_str_equal(canon, "ansi_x3.4-1968");
	/* A fallback the administrator chose says more than a single-byte
	 * guess. */
	gboolean chosen =
	    fallback != NULL && g_ascii_strcasecmp(fallback, DK_CHARSET_DEFAULT_FALLBACK) != 0;
	/* Western text under its Latin-1 label is the common case: the
	 * detector is asked only when 8-bit letters outnumber ASCII ones. */
	const char *found = latin && !mostly_high(data, len) ? NULL : dk_charset_detect(data, len);
	if (found != NULL &&
	    (is_multibyte(found) || (!latin && !chosen) || (latin && is_cyrillic(found)))) {
		char *s = convert_strict(data, len, found);
		if (s != NULL)
			return s;
	}
	return from_fallback(data, len, latin ? "windows-1252" : fallback, replaced);
}

char *dk_charset_header_to_utf8(const char *data, gsize len, const char *const *declared,
                                const char *fallback)
{
	if (plain_utf8(data, len))
		return g_strndup(data, len);
	gboolean latin = FALSE;
	/* The charsets the message's text parts declare say most about what
	 * its sender's program writes: a multi-byte one when the bytes read
	 * cleanly in it, a single-byte one other than Latin-1 as it is. */
	for (guint i = 0; declared != NULL && declared[i] != NULL; i++) {
		g_autofree char *canon = canonical_name(declared[i]);
		const char *name = dk_charset_iconv_name(canon);
		if (name == NULL || g_ascii_strcasecmp(name, "UTF-8") == 0 ||
		    g_str_equal(name, "ASCII"))
			continue;
		if (in_list(canon, latin_names)) {
			latin = TRUE;
			continue;
		}
		char *s = is_multibyte(name) ? convert_strict(data, len, name) : NULL;
		if (s == NULL && !is_multibyte(name)) {
			gboolean replaced = FALSE;
			s = convert(data, len, name, &replaced);
		}
		if (s != NULL)
			return s;
	}
	gboolean replaced = FALSE;
	return guess(data, len, latin ? "iso-8859-1" : NULL, fallback, &replaced);
}

char *dk_charset_to_utf8(const char *data, gsize len, const char *declared, const char *fallback,
                         gboolean *replaced_out)
{
	gboolean replaced = FALSE;
	char *result;
	g_autofree char *canon = canonical_name(declared);
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 &&
	    (canon == NULL || in_list(canon, latin_names) || strstr(canon, "utf") != NULL)) {
		data += 3; /* a UTF-8 byte order mark says more than the label */
		len -= 3;
		g_clear_pointer(&canon, g_free);
		canon = g_strdup("utf-8");
	}
	const char *name = dk_charset_iconv_name(canon);
	if (name == NULL || in_list(canon, latin_names) || g_str_equal(name, "ASCII")) {
		result = guess(data, len, name ? canon : NULL, fallback, &replaced);
	} else if (g_ascii_strcasecmp(name, "utf-8") == 0) {
		/* Labelled UTF-8 without a single UTF-8 sequence but with 8-bit
		 * bytes: a legacy charset under the wrong label. */
		if (plain_utf8(data, len))
			result = g_strndup(data, len);
		else if (!dk_charset_is_ascii(data, len) && !has_utf8_sequence(data, len))
			result = from_fallback(data, len, fallback, &replaced);
		else
			result = make_valid(data, len, &replaced);
	} else if (dk_charset_is_ascii(data, len) && !g_str_has_prefix(name, "UTF-") &&
	           !g_str_has_prefix(name, "utf-") && strstr(name, "2022") == NULL) {
		result = make_valid(data, len, &replaced); /* ASCII-compatible shortcut */
	} else {
		result = convert(data, len, name, &replaced);
		if (result == NULL)
			result = guess(data, len, NULL, fallback, &replaced);
	}
	if (replaced_out != NULL)
		*replaced_out = replaced;
	return result;
}
