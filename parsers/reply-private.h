/* Line helpers shared by reply.c and reply-signature.c. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One line of the input, without its line end; p points into the input. */
typedef struct {
	const char *p;
	gsize len;
} DkReplyLine;

/* Splits text into lines at LF, CRLF or bare CR. Returns a GArray of
 * DkReplyLine pointing into text (which must outlive it). */
GArray *dk_reply_lines_split(const char *text);

/* Length of line without trailing white space (ASCII and U+00A0). */
gsize dk_reply_line_rtrim(const DkReplyLine *line);

/* Offset of the first byte that is not white space (ASCII and U+00A0). */
gsize dk_reply_line_ltrim(const DkReplyLine *line);

/* TRUE when the line holds nothing but white space. */
gboolean dk_reply_line_is_blank(const DkReplyLine *line);

/* TRUE for a horizontal rule: four or more of "-", "_", "=" or "*" and
 * nothing else but white space. */
gboolean dk_reply_line_is_rule(const DkReplyLine *line);

/* Appends lines[from, to) to out, each followed by LF; with rtrim, trailing
 * white space of each line is left out. */
void dk_reply_lines_append(GString *out, GArray *lines, guint from, guint to, gboolean rtrim);

/* Removes leading blank lines and trailing white space from s in place;
 * returns s. */
char *dk_reply_trim_blank(char *s);

G_END_DECLS
