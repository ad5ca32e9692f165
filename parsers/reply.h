/* The new text of a reply: plain text split into what the sender wrote now
 * and what is quoted history or signature.
 *
 * Everything here works on plain UTF-8 text, line by line, without regular
 * expressions: time is linear in the input (each line is looked at a bounded
 * number of times), so hostile input cannot make it backtrack. Quote blocks
 * that clients put in HTML are recognised by the HTML converter before the
 * text reaches these functions. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Splits text (UTF-8; LF, CRLF or bare CR line ends) into the new text of a
 * reply and what was removed from it. Removed are, when they come after the
 * last line of new text:
 *  - quoted history: "> " lines with the attribution line above them
 *    ("On ... wrote:", "Am ... schrieb ...:", "Le ... a écrit :", "El ...
 *    escribió:", "Op ... schreef ...:", "Il ... ha scritto:", "W dniu ...
 *    pisze:", "... 写道：" and other languages, also wrapped over up to three
 *    lines);
 *  - everything from a start-of-history marker on: "-----Original
 *    Message-----" and its translations, an Outlook header block
 *    (From:/Sent:/To:/Subject: in English, German, French, Dutch, Spanish and
 *    more), or an attribution line that is not followed by "> " lines;
 *  - signatures: the "-- " separator (RFC 3676 section 4.3) and what follows,
 *    "Sent from my iPhone", "Get Outlook for iOS", "Envoyé de mon iPhone",
 *    "Von meinem iPhone gesendet" and similar lines, a mailing-list footer
 *    under a "____" rule, a short "-Name" line.
 * Quotes interleaved with answers (inline replies) stay in the new text as
 * context; a quote that only precedes the answer (bottom posting) is
 * removed. In new_text, line ends become LF, trailing white space is removed
 * from each line and leading and trailing blank lines are dropped; it is ""
 * when the text is nothing but quoted history. quoted_text holds the removed
 * lines as they were (line ends as LF, leading blank lines and trailing
 * white space dropped): a leading quote first, then the trailing part; or
 * "". text NULL counts as "". Both results are newly allocated; free them
 * with g_free(). Time and memory are linear in the size of text. */
void dk_reply_split(const char *text, char **new_text_out, char **quoted_text_out);

/* TRUE when line (one line, without its line end) starts a signature on its
 * own: "-- " or "--", a "Sent from my ..."-style line of a mail client, or a
 * short "-Name" line. Exposed for the HTML converter and for tests. */
gboolean dk_reply_is_signature_line(const char *line, gsize len);

/* Finds a personal signature at the end of body, written without a "-- "
 * separator, using who sent the message: sender is a display name, an
 * address, or "Name <address>" (may be NULL or ""). The signature is the
 * last short paragraph naming the sender (with a closing such as "Thank
 * you," in it), or the short lines under a rule ("-----") near the end.
 * Returns TRUE and sets *body_out (the text above, trailing blank lines
 * removed) and *signature_out (trimmed), both newly allocated, when one is
 * found; returns FALSE and leaves both untouched otherwise. */
gboolean dk_reply_signature_split(const char *body, const char *sender, char **body_out,
                                  char **signature_out);

G_END_DECLS
