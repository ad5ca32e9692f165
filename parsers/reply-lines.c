/* Line helpers for the reply splitter: splitting, trimming, rules. */
#include "parsers/reply-private.h"

#include <string.h>

GArray *dk_reply_lines_split(const char *text)
{
	GArray *lines = g_array_new(FALSE, FALSE, sizeof(DkReplyLine));
	const char *p = text ? text : "";
	while (*p != '\0') {
		gsize len = strcspn(p, "\r\n");
		DkReplyLine line = {p, len};
		g_array_append_val(lines, line);
		p += len;
		if (*p == '\r' && p[1] == '\n')
			p += 2;
		else if (*p != '\0')
			p++;
	}
	return lines;
}

/* Width of the white space at p (ASCII, or U+00A0 as C2 A0), or 0. */
static gsize space_width(const char *p, gsize avail)
{
	if (avail >= 1 && (p[0] == ' ' || p[0] == '\t' || p[0] == '\f' || p[0] == '\v'))
		return 1;
	if (avail >= 2 && (guchar)p[0] == 0xC2 && (guchar)p[1] == 0xA0)
		return 2;
	return 0;
}

gsize dk_reply_line_rtrim(const DkReplyLine *line)
{
	gsize n = line->len;
	for (;;) {
		if (n >= 1 && space_width(line->p + n - 1, 1) == 1)
			n--;
		else if (n >= 2 && space_width(line->p + n - 2, 2) == 2)
			n -= 2;
		else
			return n;
	}
}

gsize dk_reply_line_ltrim(const DkReplyLine *line)
{
	gsize i = 0, w;
	while (i < line->len && (w = space_width(line->p + i, line->len - i)) > 0)
		i += w;
	return i;
}

gboolean dk_reply_line_is_blank(const DkReplyLine *line)
{
	return dk_reply_line_ltrim(line) == line->len;
}

gboolean dk_reply_line_is_rule(const DkReplyLine *line)
{
	gsize i = dk_reply_line_ltrim(line), end = dk_reply_line_rtrim(line);
	if (i >= end || end - i < 4)
		return FALSE;
	char c = line->p[i];
	if (c != '-' && c != '_' && c != '=' && c != '*')
		return FALSE;
	for (; i < end; i++)
		if (line->p[i] != c && line->p[i] != ' ')
			return FALSE;
	return TRUE;
}

void dk_reply_lines_append(GString *out, GArray *lines, guint from, guint to, gboolean rtrim)
{
	for (guint i = from; i < to && i < lines->len; i++) {
		const DkReplyLine *l = &g_array_index(lines, DkReplyLine, i);
		g_string_append_len(out, l->p, rtrim ? dk_reply_line_rtrim(l) : l->len);
		g_string_append_c(out, '\n');
	}
}

char *dk_reply_trim_blank(char *s)
{
	/* Leading lines of only white space go; the first real line stays
	 * whole, indentation included. */
	gsize keep = 0, i = 0, w;
	for (;;) {
		while ((w = space_width(s + i, 2)) > 0)
			i += w;
		if (s[i] == '\n' || s[i] == '\r') {
			keep = ++i;
			continue;
		}
		break;
	}
	gsize n = strlen(s + keep);
	memmove(s, s + keep, n + 1);
	while (n > 0) {
		if (s[n - 1] == '\n' || s[n - 1] == '\r' || space_width(s + n - 1, 1) == 1)
			n--;
		else if (n >= 2 && space_width(s + n - 2, 2) == 2)
			n -= 2;
		else
			break;
	}
	s[n] = '\0';
	return s;
}
