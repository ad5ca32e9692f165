/* Finds a personal signature written without a "-- " separator at the end of
 * a body, from the sender's name and address. */
#include "parsers/reply.h"
#include "parsers/reply-private.h"

#include <string.h>

#define SIGNATURE_WINDOW 15   /* a signature lies in the last non-blank lines */
#define SIGNATURE_LINE_MAX 80 /* and has no line longer than this */
#define SIGNATURE_TOKEN_MIN 3 /* name parts shorter than this are not looked for */

/* Words of the display name, the address and its local part, lower case. */
static GPtrArray *sender_tokens(const char *sender)
{
	GPtrArray *tokens = g_ptr_array_new_with_free_func(g_free);
	if (sender == NULL)
		return tokens;
	g_autofree char *s = g_ascii_strdown(sender, -1);
	char *lt = strchr(s, '<'), *addr = NULL;
	if (lt != NULL) {
		*lt = '\0';
		addr = lt + 1;
		char *gt = strchr(addr, '>');
		if (gt != NULL)
			*gt = '\0';
	} else if (strchr(s, '@') != NULL) {
		addr = s;
	}
	if (addr != NULL) {
		addr = g_strstrip(addr);
		g_ptr_array_add(tokens, g_strdup(addr));
		char *at = strchr(addr, '@');
		if (at != NULL && at - addr >= SIGNATURE_TOKEN_MIN)
			g_ptr_array_add(tokens, g_strndup(addr, (gsize)(at - addr)));
	}
	if (addr != s) {
		g_auto(GStrv) words = g_strsplit_set(s, " \t\",.()", -1);
		for (guint i = 0; words[i] != NULL; i++)
			if (strlen(words[i]) >= SIGNATURE_TOKEN_MIN)
				g_ptr_array_add(tokens, g_strdup(words[i]));
	}
	return tokens;
}

static gboolean line_names_sender(const DkReplyLine *l, GPtrArray *tokens)
{
	g_autofree char *low = g_ascii_strdown(l->p, (gssize)l->len);
	for (guint k = 0; k < tokens->len; k++)
		if (strstr(low, g_ptr_array_index(tokens, k)) != NULL)
			return TRUE;
	return FALSE;
}

static gboolean blank_at(GArray *lines, guint i)
{
	return dk_reply_line_is_blank(&g_array_index(lines, DkReplyLine, i));
}

/* The first line of the signature among lines[window, last), or last. */
static guint signature_start(GArray *lines, guint window, guint last, GPtrArray *tokens)
{
	/* Lines from here to the end are all short enough for a signature. */
	guint short_from = last;
	while (short_from > window &&
	       g_array_index(lines, DkReplyLine, short_from - 1).len <= SIGNATURE_LINE_MAX)
		short_from--;
	for (guint i = short_from; i < last; i++)
		if (dk_reply_line_is_rule(&g_array_index(lines, DkReplyLine, i)))
			return i;
	for (guint i = short_from; i < last; i++) {
		if (blank_at(lines, i) || (i > 0 && !blank_at(lines, i - 1)))
			continue;
		/* i starts a paragraph: does it name the sender? */
		for (guint j = i; j < last && !blank_at(lines, j); j++)
			if (line_names_sender(&g_array_index(lines, DkReplyLine, j), tokens))
				return i;
	}
	return last;
}

gboolean dk_reply_signature_split(const char *body, const char *sender, char **body_out,
                                  char **signature_out)
{
	g_autoptr(GArray) lines = dk_reply_lines_split(body);
	g_autoptr(GPtrArray) tokens = sender_tokens(sender);
	guint last = lines->len;
	while (last > 0 && blank_at(lines, last - 1))
		last--;
	guint window = last, seen = 0;
	while (window > 0 && seen < SIGNATURE_WINDOW) {
		window--;
		seen += !blank_at(lines, window);
	}
	guint start = signature_start(lines, window, last, tokens);
	guint text = start;
	while (text > 0 && blank_at(lines, text - 1))
		text--;
	/* A signature needs text above it, and a paragraph that starts in
	 * the middle of one is no signature. */
	if (start >= last || text == 0 ||
	    (start > 0 && !blank_at(lines, start - 1) &&
	     !dk_reply_line_is_rule(&g_array_index(lines, DkReplyLine, start))))
		return FALSE;
	GString *above = g_string_new(NULL), *sig = g_string_new(NULL);
	dk_reply_lines_append(above, lines, 0, text, FALSE);
	dk_reply_lines_append(sig, lines, start, last, FALSE);
	*body_out = dk_reply_trim_blank(g_string_free(above, FALSE));
	*signature_out = dk_reply_trim_blank(g_string_free(sig, FALSE));
	return TRUE;
}
