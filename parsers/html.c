/* Converts HTML mail to plain text with libxml2, splitting off quoted history. */
#include "parsers/html.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <string.h>

#define MAX_LIST_DEPTH 16

/* One text being written: whitespace is collapsed lazily, so a run of
 * spaces, line breaks and block boundaries turns into the single
 * separator the strongest of them asks for. */
typedef struct {
	GString *s;
	int newlines;   /* line breaks owed before the next text (at most 2) */
	gboolean space; /* a space owed before the next text */
} Out;

typedef struct {
	Out full, fresh, quoted;
	xmlNode *quote_node;  /* the quote container we are inside, or NULL */
	gboolean rest_quoted; /* an Outlook-style separator was seen */
	xmlNode *skip_node;   /* hidden subtree being skipped, or NULL */
	int pre;              /* depth of <pre> */
	int list_depth;
	int list_counter[MAX_LIST_DEPTH]; /* 0 for <ul>, next number for <ol> */
	int cell;                         /* cells seen in the current table row */
	xmlNode *link;                    /* the <a> we are in */
	gsize link_start;                 /* full.s->len when it opened */
} Walk;

static void out_flush(Out *o)
{
	if (o->s->len > 0) {
		for (int i = 0; i < o->newlines; i++)
			g_string_append_c(o->s, '\n');
		if (o->newlines == 0 && o->space && o->s->str[o->s->len - 1] != '\n')
			g_string_append_c(o->s, ' ');
	}
	o->newlines = 0;
	o->space = FALSE;
}

static void out_break(Out *o, int n)
{
	if (o->newlines < n)
		o->newlines = n;
	o->space = FALSE;
}

static void out_raw(Out *o, const char *s)
{
	out_flush(o);
	g_string_append(o->s, s);
}

/* Characters that only steer layout (zero-width spaces, joiners, BOM). */
static gsize invisible_len(const char *p)
{
	static const char *const seqs[] = {
	    "\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xEF\xBB\xBF", "\xCD\x8F", "\xC2\xAD",
	};
	for (guint i = 0; i < G_N_ELEMENTS(seqs); i++)
		if (strncmp(p, seqs[i], strlen(seqs[i])) == 0)
			return strlen(seqs[i]);
	return 0;
}

static void out_text(Out *o, const char *p, gboolean pre)
{
	while (*p) {
		/* every invisible sequence starts with one of these lead bytes */
		gboolean lead = *p == '\xE2' || *p == '\xEF' || *p == '\xCD' || *p == '\xC2';
		gsize skip = lead ? invisible_len(p) : 0;
		if (skip > 0) {
			p += skip;
		} else if (pre && (*p == '\n' || *p == '\r')) {
			if (!(*p == '\r' && p[1] == '\n'))
				g_string_append_c(o->s, '\n');
			p++;
		} else if (!pre && (g_ascii_isspace(*p) || strncmp(p, "\xC2\xA0", 2) == 0)) {
			o->space = TRUE;
			p += (*p == '\xC2') ? 2 : 1;
		} else {
			out_flush(o);
			const char *q = p;
			while (*q && !g_ascii_isspace(*q) && *q != '\xC2' && *q != '\xE2' &&
			       *q != '\xEF' && *q != '\xCD')
				q++;
			if (q == p)
				q = p + 1;
			g_string_append_len(o->s, p, q - p);
			p = q;
		}
	}
}

static Out *target(Walk *w)
{
	return (w->quote_node != NULL || w->rest_quoted) ? &w->quoted : &w->fresh;
}

static void emit_text(Walk *w, const char *s)
{
	out_text(&w->full, s, w->pre > 0);
	out_text(target(w), s, w->pre > 0);
}

static void emit_raw(Walk *w, const char *s)
{
	out_raw(&w->full, s);
	out_raw(target(w), s);
}

static void emit_break(Walk *w, int n)
{
	out_break(&w->full, n);
	out_break(&w->fresh, n);
	out_break(&w->quoted, n);
}

/* libxml2's HTML parser gives element names in lower case. */
static gboolean is(const xmlNode *n, const char *name)
{
	return n->name != NULL && strcmp((const char *)n->name, name) == 0;
}

static gboolean is_any(const xmlNode *n, const char *const *names)
{
	for (guint i = 0; names[i] != NULL; i++)
		if (is(n, names[i]))
			return TRUE;
	return FALSE;
}

/* The attribute of n by its (lower-case) name, as the parser gave it;
 * unlike xmlHasProp, no look into a DTD for defaults. */
static xmlAttr *find_attr(const xmlNode *n, const char *name)
{
	for (xmlAttr *a = n->properties; a != NULL; a = a->next) /* most elements: none */
		if (a->name != NULL && strcmp((const char *)a->name, name) == 0)
			return a;
	return NULL;
}

/* Whether attribute name of n, lower-cased and without whitespace,
 * contains one of needles. Reads the attribute in place: this runs for
 * every element of every HTML mail. */
static gboolean attr_contains(xmlNode *n, const char *name, const char *const *needles)
{
	xmlAttr *attr = find_attr(n, name);
	if (attr == NULL || attr->children == NULL)
		return FALSE;
	xmlChar *joined = NULL; /* only when entities split the value */
	const xmlChar *v = attr->children->content;
	if (attr->children->next != NULL || v == NULL)
		v = joined = xmlNodeListGetString(n->doc, attr->children, 1);
	char stack[256];
	gsize len = v ? strlen((const char *)v) : 0;
	char *buf = len < sizeof stack ? stack : g_malloc(len + 1);
	gsize k = 0;
	for (gsize i = 0; i < len; i++) {
		char ch = (char)v[i];
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f')
			continue;
		buf[k++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + ('a' - 'A')) : ch;
	}
	buf[k] = '\0';
	gboolean found = FALSE;
	for (guint i = 0; needles[i] != NULL && !found; i++)
		found = strstr(buf, needles[i]) != NULL;
	if (buf != stack)
		g_free(buf);
	xmlFree(joined);
	return found;
}

/* Containers that hold quoted history and end where they end. */
static gboolean is_quote_container(xmlNode *n)
{
	static const char *const classes[] = {
	    "gmail_quote", "gmail_extra",      "moz-cite-prefix", "yahoo_quoted",
	    "zmail_extra", "protonmail_quote", "tutanota_quote",  NULL,
	};
	static const char *const cite[] = {"cite", NULL};
	if (is(n, "blockquote") && attr_contains(n, "type", cite))
		return TRUE;
	return attr_contains(n, "class", classes) || attr_contains(n, "id", classes);
}

/* The next node in document order after n's subtree, not leaving
 * within's subtree (NULL: the document), or NULL. */
static xmlNode *next_after(xmlNode *n, xmlNode *within)
{
	while (n != NULL && n != within && n->next == NULL)
		n = n->parent;
	return (n == NULL || n == within) ? NULL : n->next;
}

/* Up to max bytes of the text from start on in document order, spaces
 * collapsed, looking at a bounded number of nodes. */
static char *text_from(xmlNode *start, xmlNode *within, gsize max)
{
	GString *text = g_string_new(NULL);
	xmlNode *cur = start;
	for (guint steps = 0; cur != NULL && steps < 128 && text->len < max; steps++) {
		if (cur->type == XML_TEXT_NODE && cur->content != NULL)
			for (const xmlChar *p = cur->content; *p && text->len < max; p++)
				if (!g_ascii_isspace(*p) ||
				    (text->len > 0 && text->str[text->len - 1] != ' '))
					g_string_append_c(text,
					                  g_ascii_isspace(*p) ? ' ' : (char)*p);
		cur = (cur->children != NULL && cur->type == XML_ELEMENT_NODE)
		          ? cur->children
		          : next_after(cur, within);
	}
	return g_string_free(text, FALSE);
}

/* The first field of the header block a client writes above the message
 * it replies to or forwards, in the languages Outlook, Yahoo and Windows
 * Mail write it. */
static gboolean starts_header_block(const char *text)
{
	static const char *const labels[] = {
	    "From:",
	    "De:",
	    "De :",
	    "Von:",
	    "Van:",
	    "Da:",
	    "Fra:",
	    "Från:",
	    "Od:",
	    "Kimden:",
	    "\xd0\x9e\xd1\x82:",
	    "-----Original Message-----",
	    "-----Ursprüngliche Nachricht-----",
	    NULL,
	};
	for (guint i = 0; labels[i] != NULL; i++)
		if (g_str_has_prefix(text, labels[i]))
			return TRUE;
	return FALSE;
}

/* Whether the text that follows n starts a header block. */
static gboolean followed_by_header_block(xmlNode *n)
{
	g_autofree char *text = text_from(next_after(n, NULL), NULL, 40);
	return starts_header_block(text);
}

/* Outlook without a separator: a paragraph that starts with "From:" and
 * also names when it was sent is the header of the quoted message. */
static gboolean is_header_paragraph(xmlNode *n)
{
	static const char *const sent[] = {
	    "Sent:",
	    "Date:",
	    "Gesendet:",
	    "Envoyé :",
	    "Envoyé:",
	    "Verzonden:",
	    "Enviado:",
	    "Enviado el:",
	    "Inviato:",
	    "Skickat:",
	    "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbe:",
	    NULL,
	};
	if (!is(n, "p") && !is(n, "div"))
		return FALSE;
	g_autofree char *head = text_from(n->children, n, 40); /* cheap first look */
	if (!starts_header_block(head))
		return FALSE;
	g_autofree char *text = text_from(n->children, n, 400);
	for (guint i = 0; sent[i] != NULL; i++)
		if (strstr(text, sent[i]) != NULL)
			return TRUE;
	return FALSE;
}

/* Separators after which everything is quoted history: Outlook's reply
 * header container and its border-top rule (#E1E1E1 since 2013, #B5C4DF
 * before), Windows Mail's (rgb(229,229,229)), Outlook 2003's
 * <hr tabindex=-1>, Hotmail's hr#stopSpelling, and any <hr> followed by a
 * "From:" header block (Yahoo, Comcast and other web mailers). */
static gboolean is_quote_separator(xmlNode *n)
{
	static const char *const ids[] = {
	    "divrplyfwdmsg",
	    "mail-editor-reference-message-container",
	    "olk_src_body_section",
	    "stopspelling",
	    NULL,
	};
	static const char *const classes[] = {"outlookmessageheader", NULL};
	static const char *const borders[] = {
	    "border-top:solid#e1e1e1",
	    "border-top:solid#b5c4df",
	    "border-top-color:rgb(229,229,229)",
	    NULL,
	};
	static const char *const minus_one[] = {"-1", NULL};
	return attr_contains(n, "id", ids) || attr_contains(n, "class", classes) ||
	       attr_contains(n, "style", borders) || is_header_paragraph(n) ||
	       (is(n, "hr") &&
	        (attr_contains(n, "tabindex", minus_one) || followed_by_header_block(n)));
}

/* The last line written to o, when it ends with ':' as the attribution
 * line before a quote does ("On Mon, X wrote:", "26.06.2014, X:"); it is
 * cut from o and returned. */
static char *take_attribution(Out *o)
{
	const char *nl = strrchr(o->s->str, '\n');
	gsize start = nl ? (gsize)(nl - o->s->str) + 1 : 0;
	g_autofree char *line = g_strstrip(g_strdup(o->s->str + start));
	gsize len = strlen(line);
	if (len < 2 || len > 300 || line[len - 1] != ':')
		return NULL;
	g_string_truncate(o->s, start);
	return g_steal_pointer(&line);
}

/* A blockquote after an attribution line is quoted history too (Apple
 * Mail, Yandex, mail.ru): the attribution moves to the quoted text. */
static gboolean starts_attributed_quote(Walk *w, xmlNode *n)
{
	if (!is(n, "blockquote"))
		return FALSE;
	g_autofree char *line = take_attribution(&w->fresh);
	if (line == NULL)
		return FALSE;
	out_break(&w->quoted, 2);
	out_raw(&w->quoted, line);
	out_break(&w->quoted, 1);
	return TRUE;
}

static gboolean is_hidden(xmlNode *n)
{
	static const char *const names[] = {
	    "script", "style", "head", "title", "template", "object", "svg", "math", "meta", NULL,
	};
	static const char *const hidden[] = {"display:none", NULL};
	return is_any(n, names) || (n->properties != NULL && (attr_contains(n, "style", hidden) ||
	                                                      find_attr(n, "hidden") != NULL));
}

static const char *const blocks[] = {
    "div",      "section",    "article", "header", "footer", "nav",    "aside",
    "address",  "blockquote", "center",  "dl",     "dt",     "dd",     "form",
    "fieldset", "table",      "tbody",   "thead",  "tfoot",  "figure", "figcaption",
    "main",     "hr",         "tr",      NULL,
};
static const char *const paragraphs[] = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "ul", "ol", NULL,
};

static void enter_list_item(Walk *w)
{
	emit_break(w, 1);
	int d = w->list_depth > 0 ? MIN(w->list_depth, MAX_LIST_DEPTH) : 1;
	GString *prefix = g_string_new(NULL);
	for (int i = 1; i < d; i++)
		g_string_append(prefix, "  ");
	if (w->list_depth > 0 && w->list_depth <= MAX_LIST_DEPTH &&
	    w->list_counter[w->list_depth - 1] > 0)
		g_string_append_printf(prefix, "%d. ", w->list_counter[w->list_depth - 1]++);
	else
		g_string_append(prefix, "- ");
	emit_raw(w, prefix->str);
	g_string_free(prefix, TRUE);
}

static void enter_element(Walk *w, xmlNode *n)
{
	if (w->quote_node == NULL && !w->rest_quoted) {
		if (is_quote_separator(n))
			w->rest_quoted = TRUE;
		else if (starts_attributed_quote(w, n) || is_quote_container(n))
			w->quote_node = n;
	}
	if (is(n, "br")) {
		Out *outs[] = {&w->full, target(w)};
		for (guint i = 0; i < 2; i++) {
			outs[i]->newlines = MIN(outs[i]->newlines + 1, 2);
			outs[i]->space = FALSE;
		}
	} else if (is_any(n, paragraphs)) {
		emit_break(w, (w->list_depth > 0 && (is(n, "ul") || is(n, "ol"))) ? 1 : 2);
	} else if (is_any(n, blocks)) {
		emit_break(w, 1);
	}
	if (is(n, "pre"))
		w->pre++;
	if (is(n, "ul") || is(n, "ol")) {
		if (w->list_depth < MAX_LIST_DEPTH)
			w->list_counter[w->list_depth] = is(n, "ol") ? 1 : 0;
		w->list_depth++;
	} else if (is(n, "li")) {
		enter_list_item(w);
	} else if (is(n, "tr")) {
		w->cell = 0;
	} else if (is(n, "td") || is(n, "th")) {
		if (w->cell++ > 0)
			emit_raw(w, "\t");
	} else if (is(n, "a") && w->link == NULL) {
		w->link = n;
		w->link_start = w->full.s->len;
	}
}

/* Writes " <url>" after a link whose text does not already say it. */
static void leave_link(Walk *w, xmlNode *n)
{
	xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
	w->link = NULL;
	if (href == NULL)
		return;
	g_autofree char *url = g_strstrip(g_strdup((const char *)href));
	xmlFree(href);
	const char *shown = w->full.s->str + MIN(w->link_start, w->full.s->len);
	while (*shown == ' ' || *shown == '\n')
		shown++;
	const char *bare = g_str_has_prefix(url, "mailto:") ? url + 7 : url;
	if (*url == '\0' || *url == '#' || g_ascii_strncasecmp(url, "javascript:", 11) == 0 ||
	    strstr(shown, bare) != NULL || g_str_has_prefix(url, "cid:"))
		return;
	g_autofree char *s = g_strdup_printf("%s<%s>", *shown ? " " : "", url);
	emit_raw(w, s);
}

static void leave_element(Walk *w, xmlNode *n)
{
	if (is(n, "pre") && w->pre > 0)
		w->pre--;
	if ((is(n, "ul") || is(n, "ol")) && w->list_depth > 0)
		w->list_depth--;
	if (n == w->link)
		leave_link(w, n);
	if (is_any(n, paragraphs) || is(n, "ul") || is(n, "ol"))
		emit_break(w, w->list_depth > 0 ? 1 : 2);
	else if (is_any(n, blocks) || is(n, "li"))
		emit_break(w, 1);
	if (n == w->quote_node) {
		emit_break(w, 1);
		w->quote_node = NULL;
	}
}

/* Enters a node; returns whether it is a visible element, whose children
 * are walked and which is left afterwards. */
static gboolean enter(Walk *w, xmlNode *n)
{
	switch (n->type) {
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		if (n->content != NULL)
			emit_text(w, (const char *)n->content);
		return FALSE;
	case XML_ELEMENT_NODE:
		if (is_hidden(n))
			return FALSE;
		enter_element(w, n);
		return TRUE;
	default:
		return FALSE;
	}
}

/* Walks the tree without recursion: HTML nests as deep as its author
 * likes, the stack does not. */
static void walk_tree(Walk *w, xmlNode *root)
{
	xmlNode *n = root->children;
	while (n != NULL) {
		gboolean entered = enter(w, n);
		if (entered && n->children != NULL) {
			n = n->children;
			continue;
		}
		if (entered)
			leave_element(w, n);
		while (n != NULL && n->next == NULL) {
			n = n->parent;
			if (n == root || n == NULL)
				return;
			leave_element(w, n); /* a parent was entered, or we would not be here */
		}
		n = n->next;
	}
}

/* Trailing spaces off every line, at most one blank line in a row, no
 * blank lines at either end. */
static char *finish(GString *s)
{
	GString *r = g_string_sized_new(s->len);
	int blank = 0;
	gchar **lines = g_strsplit(s->str, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_strchomp(lines[i]);
		if (lines[i][0] == '\0') {
			blank++;
			continue;
		}
		if (r->len > 0)
			g_string_append(r, blank > 0 ? "\n\n" : "\n");
		blank = 0;
		g_string_append(r, lines[i]);
	}
	g_strfreev(lines);
	g_string_free(s, TRUE);
	return g_string_free(r, FALSE);
}

static void init_parser(void)
{
	static gsize done = 0;
	if (g_once_init_enter(&done)) {
		xmlInitParser();
		g_once_init_leave(&done, 1);
	}
}

DkHtmlText *dk_html_to_text(const char *html, gsize len)
{
	Walk w = {0};
	w.full.s = g_string_new(NULL);
	w.fresh.s = g_string_new(NULL);
	w.quoted.s = g_string_new(NULL);
	init_parser();
	int opts = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	           HTML_PARSE_NONET | HTML_PARSE_COMPACT;
	htmlDocPtr doc =
	    len > 0 ? htmlReadMemory(html, (int)MIN(len, (gsize)G_MAXINT), NULL, "UTF-8", opts)
	            : NULL;
	if (doc != NULL) {
		walk_tree(&w, (xmlNode *)doc);
		xmlFreeDoc(doc);
	}
	DkHtmlText *t = g_new0(DkHtmlText, 1);
	t->text = finish(w.full.s);
	t->new_text = finish(w.fresh.s);
	t->quoted_text = finish(w.quoted.s);
	return t;
}

void dk_html_text_free(DkHtmlText *text)
{
	if (text == NULL)
		return;
	g_free(text->text);
	g_free(text->new_text);
	g_free(text->quoted_text);
	g_free(text);
}
