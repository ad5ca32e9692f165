/* Reply and forward prefixes of subjects, and docket's ticket token. */
#include "parsers/subject.h"

#include <string.h>

#define MAX_PREFIXES 64

/* Case-folded (g_utf8_casefold) prefix words, longest first where one is
 * the start of another, so that "Fwd" is tried before "Fw". */
static const char *const prefix_words[] = {
    "továbbítás", "пересл", "ответ", "doorst", "antw", "fwd",  "res",  "rif",  "odp", "enc",
    "ynt",        "i̇lt",    "σχετ",  "πρθ",    "отв",  "re",   "fw",   "aw",   "wg",  "sv",
    "vs",         "vb",     "tr",    "rv",     "pd",   "vá",   "απ",   "r",    "i",   "回复",
    "答复",       "转发",   "回覆",  "轉寄",   "返信", "転送", "답장", "전달",
};

static const char *skip_spaces(const char *p)
{
	for (;;) {
		if (*p == ' ' || *p == '\t')
			p++;
		else if (g_str_has_prefix(p, "\u3000") || g_str_has_prefix(p, "\u00a0"))
			p = g_utf8_next_char(p);
		else
			return p;
	}
}

/* p after a prefix word: an optional counter ("[2]", "(2)", "^2"), spaces,
 * then ":" or "：". The position after the colon, or NULL. */
static const char *after_counter_and_colon(const char *p)
{
	char close = *p == '[' ? ']' : *p == '(' ? ')' : *p == '^' ? '\0' : 0;
	if (*p == '[' || *p == '(' || *p == '^') {
		const char *q = p + 1;
		while (g_ascii_isdigit(*q) && q - p < 8)
			q++;
		if (q == p + 1 || (close != '\0' && *q != close))
			return NULL;
		p = close != '\0' ? q + 1 : q;
	}
	p = skip_spaces(p);
	if (*p == ':')
		return p + 1;
	if (g_str_has_prefix(p, "\uff1a"))
		return p + strlen("\uff1a");
	return NULL;
}

/* Whether the text at p starts with the case-folded word; the end of the
 * word in *end_out. Folding may change the length ("İ" folds to two
 * characters), so characters are folded one at a time until the folded
 * text is as long as the word. */
static gboolean starts_with_word(const char *p, const char *word, const char **end_out)
{
	gsize want = strlen(word), have = 0;
	const char *q = p;
	while (have < want && *q != '\0') {
		const char *next = g_utf8_next_char(q);
		g_autofree char *folded = g_utf8_casefold(q, next - q);
		gsize n = strlen(folded);
		if (have + n > want || memcmp(word + have, folded, n) != 0)
			return FALSE;
		have += n;
		q = next;
	}
	if (have != want)
		return FALSE;
	*end_out = q;
	return TRUE;
}

/* One prefix at p: the position after it (and its colon), or NULL. */
static const char *one_prefix(const char *p)
{
	for (gsize i = 0; i < G_N_ELEMENTS(prefix_words); i++) {
		const char *end = NULL;
		if (!starts_with_word(p, prefix_words[i], &end))
			continue;
		/* "Re" must not be the start of a longer word ("Release:"). */
		if (g_ascii_isalpha(*end))
			continue;
		const char *next = after_counter_and_colon(end);
		if (next != NULL)
			return next;
	}
	return NULL;
}

gsize dk_subject_prefix_length(const char *subject)
{
	if (subject == NULL || !g_utf8_validate(subject, -1, NULL))
		return 0;
	const char *p = skip_spaces(subject);
	const char *done = subject;
	for (int n = 0; n < MAX_PREFIXES; n++) {
		const char *next = one_prefix(p);
		if (next == NULL)
			break;
		p = skip_spaces(next);
		done = p;
	}
	return (gsize)(done - subject);
}

char *dk_subject_strip(const char *subject)
{
	if (subject == NULL)
		return g_strdup("");
	char *out = g_strdup(subject + dk_subject_prefix_length(subject));
	return g_strstrip(out);
}

/* A token "[prefix #digits]" at p; its length and number, or 0. */
static gsize token_at(const char *p, const char *prefix, gsize plen, gint64 *number_out)
{
	if (*p != '[' || g_ascii_strncasecmp(p + 1, prefix, plen) != 0)
		return 0;
	const char *q = p + 1 + plen;
	if (*q != ' ' && *q != '#')
		return 0;
	while (*q == ' ')
		q++;
	if (*q++ != '#')
		return 0;
	while (*q == ' ')
		q++;
	const char *digits = q;
	while (g_ascii_isdigit(*q))
		q++;
	gsize n = (gsize)(q - digits);
	while (*q == ' ')
		q++;
	if (n == 0 || n > 18 || *q != ']')
		return 0;
	g_autofree char *text = g_strndup(digits, n);
	guint64 number = 0;
	if (!g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &number, NULL))
		return 0;
	*number_out = (gint64)number;
	return (gsize)(q + 1 - p);
}

gboolean dk_subject_find_token(const char *subject, const char *prefix, gint64 *number_out)
{
	if (subject == NULL || prefix == NULL || *prefix == '\0')
		return FALSE;
	gsize plen = strlen(prefix);
	for (const char *p = strchr(subject, '['); p != NULL; p = strchr(p + 1, '[')) {
		if (token_at(p, prefix, plen, number_out) > 0)
			return TRUE;
	}
	return FALSE;
}

char *dk_subject_clean(const char *subject, const char *prefix)
{
	if (subject == NULL)
		return g_strdup("");
	GString *out = g_string_new(NULL);
	gsize plen = prefix ? strlen(prefix) : 0;
	for (const char *p = subject; *p != '\0';) {
		gint64 number = 0;
		gsize n = plen ? token_at(p, prefix, plen, &number) : 0;
		if (n > 0) {
			p += n;
			while (*p == ' ')
				p++;
		} else {
			g_string_append_c(out, *p++);
		}
	}
	g_autofree char *without = g_string_free(out, FALSE);
	/* Removing a token may expose another prefix chain ("Re: [docket #1]
	 * AW: ..."): strip until nothing changes, a bounded number of times. */
	char *text = g_strdup(without);
	for (int i = 0; i < 4; i++) {
		char *next = dk_subject_strip(text);
		gboolean same = strcmp(next, text) == 0;
		g_free(text);
		text = next;
		if (same)
			break;
	}
	return text;
}
