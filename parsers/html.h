/* HTML mail turned into readable plain text, with the quoted history that
 * mail clients mark in their HTML kept apart.
 *
 * The converter walks libxml2's HTML tree: block elements start lines,
 * paragraphs are separated by a blank line, list items get "- " or "1. ",
 * table rows become lines with cells separated by a tab, links read
 * "text <url>", and script, style, head and hidden elements are dropped.
 * The quote containers of Gmail (div.gmail_quote), Apple Mail and
 * Thunderbird (blockquote type=cite, div.moz-cite-prefix), Outlook
 * (div#divRplyFwdMsg, the border-top separator, everything after them),
 * Yahoo (yahoo_quoted) and others are recognised in the HTML itself. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	char *text;        /* all of it */
	char *new_text;    /* what is outside the quote containers */
	char *quoted_text; /* what is inside them, or "" */
} DkHtmlText;

/* Converts len bytes of UTF-8 HTML. Never fails: what libxml2 cannot read
 * yields "". The caller frees the result with dk_html_text_free(). */
DkHtmlText *dk_html_to_text(const char *html, gsize len);

void dk_html_text_free(DkHtmlText *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkHtmlText, dk_html_text_free)

G_END_DECLS
