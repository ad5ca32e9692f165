/* The Mustache parser: source text to a tree of DkNode, in three passes —
 * tokens (with set-delimiter changes applied), standalone lines removed, and
 * the tree built with a stack of open sections. */
#include "templates/mustache-private.h"

#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK(dk - template - error - quark, dk_template_error)

#define DK_TEMPLATE_MAX_DELIM 15

typedef enum {
	TOK_TEXT,
	TOK_VAR,
	TOK_RAW,
	TOK_SECTION,
	TOK_INVERTED,
	TOK_CLOSE,
	TOK_COMMENT,
	TOK_PARTIAL,
	TOK_DELIM,
	TOK_BLOCK,
	TOK_PARENT,
} TokKind;

typedef struct {
	TokKind kind;
	const char *start; /* TEXT: the text; tags: the trimmed content */
	gsize len;
	guint line, column;
	const char *raw_start, *raw_end; /* the whole tag or text in the source */
	gboolean standalone;             /* a tag alone on its line (with other such tags) */
	gboolean drop;                   /* whitespace of a standalone line */
	gboolean keep_eol;               /* ...except this line ending, after an empty block */
	const char *indent;              /* PARTIAL/PARENT/BLOCK on a standalone line */
	gsize indent_len;
	char otag[DK_TEMPLATE_MAX_DELIM + 1], ctag[DK_TEMPLATE_MAX_DELIM + 1];
} Tok;

typedef struct {
	const char *src, *end;
	const char *pos;
	const char *line_start;
	guint line;
	guint first_column; /* column of SRC on its line, 1-based */
	char otag[16], ctag[16];
	gsize olen, clen;
	GArray *toks;
} Lexer;

/* Moves the lexer to P, counting the lines it passes. */
static void lex_advance(Lexer *lx, const char *p)
{
	for (const char *q = lx->pos; q < p; q++) {
		if (*q == '\n') {
			lx->line++;
			lx->line_start = q + 1;
		}
	}
	lx->pos = p;
}

static guint lex_column(const Lexer *lx, const char *p)
{
	guint col = (guint)(p - lx->line_start) + 1;
	return lx->line_start == lx->src ? col + lx->first_column - 1 : col;
}

/* Adds text [P, E) as tokens of at most one line each, so the standalone
 * pass can see where lines end. */
static void lex_text(Lexer *lx, const char *p, const char *e)
{
	while (p < e) {
		const char *nl = memchr(p, '\n', (gsize)(e - p));
		const char *stop = nl != NULL ? nl + 1 : e;
		Tok t = {.kind = TOK_TEXT,
		         .start = p,
		         .len = (gsize)(stop - p),
		         .raw_start = p,
		         .raw_end = stop};
		t.line = lx->line;
		t.column = lex_column(lx, p);
		g_array_append_val(lx->toks, t);
		lex_advance(lx, stop);
		p = stop;
	}
}

static gboolean is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static void trim(const char **s, gsize *len)
{
	while (*len > 0 && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_blank((*s)[*len - 1]))
		(*len)--;
}

gboolean dk_template_error_position(const GError *error, guint *line_out, guint *column_out,
                                    const char **what_out)
{
	int skip = 0;
	if (!g_error_matches(error, DK_TEMPLATE_ERROR, DK_TEMPLATE_ERROR_SYNTAX) ||
	    sscanf(error->message, "line %u, column %u: %n", line_out, column_out, &skip) != 2 ||
	    skip == 0)
		return FALSE;
	if (what_out != NULL)
		*what_out = error->message + skip;
	return TRUE;
}

static gboolean syntax_error(GError **error, guint line, guint column, const char *what)
{
	g_set_error(error, DK_TEMPLATE_ERROR, DK_TEMPLATE_ERROR_SYNTAX, "line %u, column %u: %s",
	            line, column, what);
	return FALSE;
}

/* {{=<% %>=}}: exactly two delimiters, no whitespace or '=' inside them. */
static gboolean lex_set_delimiters(Lexer *lx, const Tok *t, GError **error)
{
	const char *s = t->start, *e = t->start + t->len;
	const char *a = s;
	while (a < e && !is_blank(*a))
		a++;
	const char *b = a;
	while (b < e && is_blank(*b))
		b++;
	gsize l1 = (gsize)(a - s), l2 = (gsize)(e - b);
	if (l1 == 0 || l2 == 0 || b == a || memchr(b, ' ', l2) || memchr(b, '\t', l2) ||
	    memchr(s, '=', l1) || memchr(b, '=', l2) || l1 > DK_TEMPLATE_MAX_DELIM ||
	    l2 > DK_TEMPLATE_MAX_DELIM || memchr(b, '\n', l2) || memchr(s, '\0', l1) ||
	    memchr(b, '\0', l2))
		return syntax_error(error, t->line, t->column,
		                    "bad set-delimiter tag: expected {{=OPEN CLOSE=}}");
	memcpy(lx->otag, s, l1);
	lx->otag[l1] = '\0';
	lx->olen = l1;
	memcpy(lx->ctag, b, l2);
	lx->ctag[l2] = '\0';
	lx->clen = l2;
	return TRUE;
}

static TokKind tag_kind(char c, gboolean *sigil)
{
	*sigil = TRUE;
	switch (c) {
	case '{':
		return TOK_RAW;
	case '&':
		return TOK_RAW;
	case '#':
		return TOK_SECTION;
	case '^':
		return TOK_INVERTED;
	case '/':
		return TOK_CLOSE;
	case '!':
		return TOK_COMMENT;
	case '>':
		return TOK_PARTIAL;
	case '=':
		return TOK_DELIM;
	case '$':
		return TOK_BLOCK;
	case '<':
		return TOK_PARENT;
	default:
		*sigil = FALSE;
		return TOK_VAR;
	}
}

/* Lexes the tag whose opening delimiter starts at P. */
static gboolean lex_tag(Lexer *lx, const char *p, GError **error)
{
	Tok t = {.line = lx->line, .column = lex_column(lx, p), .raw_start = p};
	memcpy(t.otag, lx->otag, sizeof(t.otag));
	memcpy(t.ctag, lx->ctag, sizeof(t.ctag));
	const char *c = p + lx->olen;
	gboolean sigil = FALSE;
	t.kind = c < lx->end ? tag_kind(*c, &sigil) : TOK_VAR;
	if (sigil)
		c++;
	/* The triple mustache and set-delimiter tags end with '}' or '=' before
	 * the closing delimiter. */
	char close[DK_TEMPLATE_MAX_DELIM + 2];
	gsize close_len = 0;
	if (sigil && (c[-1] == '{' || c[-1] == '='))
		close[close_len++] = c[-1] == '{' ? '}' : '=';
	memcpy(close + close_len, lx->ctag, lx->clen);
	close_len += lx->clen;
	const char *q = c <= lx->end ? memmem(c, (gsize)(lx->end - c), close, close_len) : NULL;
	if (q == NULL)
		return syntax_error(error, t.line, t.column, "unclosed tag");
	t.start = c;
	t.len = (gsize)(q - c);
	t.raw_end = q + close_len;
	trim(&t.start, &t.len);
	if (t.kind == TOK_DELIM && !lex_set_delimiters(lx, &t, error))
		return FALSE;
	if (t.kind != TOK_COMMENT && t.kind != TOK_DELIM && t.len == 0)
		return syntax_error(error, t.line, t.column, "empty tag name");
	g_array_append_val(lx->toks, t);
	lex_advance(lx, q + close_len);
	return TRUE;
}

static gboolean lex_all(Lexer *lx, GError **error)
{
	while (lx->pos < lx->end) {
		const char *p = memmem(lx->pos, (gsize)(lx->end - lx->pos), lx->otag, lx->olen);
		if (p == NULL) {
			lex_text(lx, lx->pos, lx->end);
			break;
		}
		lex_text(lx, lx->pos, p);
		if (!lex_tag(lx, p, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean ends_line(const Tok *t)
{
	return t->kind == TOK_TEXT && t->len > 0 && t->start[t->len - 1] == '\n';
}

static gboolean can_stand_alone(TokKind k)
{
	return k != TOK_TEXT && k != TOK_VAR && k != TOK_RAW;
}

static gboolean is_space_text(const Tok *t)
{
	gsize n = t->len;
	if (n > 0 && t->start[n - 1] == '\n')
		n--;
	if (n > 0 && t->start[n - 1] == '\r' && t->len > n)
		n--;
	for (gsize i = 0; i < n; i++)
		if (t->start[i] != ' ' && t->start[i] != '\t')
			return FALSE;
	return TRUE;
}

/* A line holding only whitespace and tags that render nothing in place
 * (sections, closes, comments, partials, delimiters, blocks, parents) is
 * "standalone": its whitespace and line ending are removed, and the
 * whitespace before a partial becomes that partial's indentation. */
static void mark_line(Tok *toks, guint from, guint to)
{
	gboolean has_tag = FALSE;
	for (guint i = from; i < to; i++) {
		if (toks[i].kind == TOK_TEXT) {
			if (!is_space_text(&toks[i]))
				return;
		} else if (!can_stand_alone(toks[i].kind)) {
			return;
		} else {
			has_tag = TRUE;
		}
	}
	if (!has_tag)
		return;
	const Tok *lead = toks[from].kind == TOK_TEXT ? &toks[from] : NULL;
	for (guint i = from; i < to; i++) {
		Tok *t = &toks[i];
		if (t->kind == TOK_TEXT) {
			t->drop = TRUE;
			continue;
		}
		t->standalone = TRUE;
		if (lead != NULL &&
		    (t->kind == TOK_PARTIAL || t->kind == TOK_PARENT || t->kind == TOK_BLOCK)) {
			t->indent = lead->start;
			t->indent_len = lead->len;
		}
		/* An empty block alone on its line keeps the line ending: the
		 * block's content takes the place of the tags (spec
		 * ~inheritance, "Standalone block"). */
		if (t->kind == TOK_BLOCK && i + 1 < to && toks[i + 1].kind == TOK_CLOSE &&
		    ends_line(&toks[to - 1]))
			toks[to - 1].keep_eol = TRUE;
	}
}

static void mark_standalone(GArray *toks)
{
	Tok *t = (Tok *)toks->data;
	guint from = 0;
	for (guint i = 0; i < toks->len; i++) {
		if (t[i].kind == TOK_TEXT && t[i].len > 0 && t[i].start[t[i].len - 1] == '\n') {
			mark_line(t, from, i + 1);
			from = i + 1;
		}
	}
	mark_line(t, from, toks->len);
}

static void node_free(gpointer p)
{
	DkNode *n = p;
	if (n == NULL)
		return;
	g_free(n->text);
	g_strfreev(n->path);
	g_free(n->indent);
	g_free(n->body);
	g_free(n->body_otag);
	g_free(n->body_ctag);
	if (n->children != NULL)
		g_ptr_array_unref(n->children);
	g_free(n);
}

void dk_template_free(DkTemplate *t)
{
	if (t == NULL)
		return;
	g_ptr_array_unref(t->nodes);
	g_free(t);
}

static char **split_path(const char *name)
{
	if (strcmp(name, ".") == 0)
		return NULL;
	return g_strsplit(name, ".", -1);
}

/* Makes the node for tag token T; the name is checked for a dynamic '*'. */
static DkNode *node_from_tag(const Tok *t, DkNodeKind kind)
{
	DkNode *n = g_new0(DkNode, 1);
	n->kind = kind;
	n->line = t->line;
	n->column = t->column;
	const char *name = t->start;
	gsize len = t->len;
	if ((kind == DK_NODE_PARTIAL || kind == DK_NODE_PARENT) && len > 0 && *name == '*') {
		n->dynamic = TRUE;
		name++;
		len--;
		trim(&name, &len);
	}
	n->text = g_strndup(name, len);
	n->len = len;
	if (kind == DK_NODE_VAR || kind == DK_NODE_SECTION || kind == DK_NODE_INVERTED ||
	    n->dynamic)
		n->path = split_path(n->text);
	if (t->indent != NULL)
		n->indent = g_strndup(t->indent, t->indent_len);
	if (kind == DK_NODE_SECTION || kind == DK_NODE_INVERTED || kind == DK_NODE_BLOCK ||
	    kind == DK_NODE_PARENT)
		n->children = g_ptr_array_new_with_free_func(node_free);
	return n;
}

typedef struct {
	GPtrArray *open;  /* DkNode * of open sections, innermost last (borrowed) */
	GArray *open_tok; /* guint: the index of each open section's token */
	const Tok *toks;
	GPtrArray *root;
} Builder;

static GPtrArray *builder_current(Builder *b)
{
	if (b->open->len == 0)
		return b->root;
	DkNode *top = g_ptr_array_index(b->open, b->open->len - 1);
	return top->children;
}

/* Adds text token T as a node, or LITERAL in its place. */
static gboolean add_text(Builder *b, const Tok *t, const char *literal)
{
	DkNode *n = g_new0(DkNode, 1);
	n->kind = DK_NODE_TEXT;
	n->len = literal != NULL ? strlen(literal) : t->len;
	n->text = g_malloc(n->len + 1);
	memcpy(n->text, literal != NULL ? literal : t->start, n->len);
	n->text[n->len] = '\0';
	n->line = t->line;
	n->column = t->column;
	g_ptr_array_add(builder_current(b), n);
	return TRUE;
}

/* Removes the indentation common to the non-blank lines of BODY (blank lines
 * keep only their line ending); returns the new text and, in MARGIN_OUT, what
 * was removed from each line. */
static char *dedent(const char *body, char **margin_out)
{
	const char *margin = NULL;
	gsize mlen = 0;
	for (const char *p = body; *p != '\0';) {
		gsize line = strcspn(p, "\n"), ws = strspn(p, " \t");
		gboolean blank = ws >= line || (ws + 1 == line && p[ws] == '\r');
		if (!blank && margin == NULL) {
			margin = p;
			mlen = MIN(ws, line);
		} else if (!blank) {
			gsize k = 0;
			while (k < mlen && k < ws && p[k] == margin[k])
				k++;
			mlen = k;
		}
		p += line + (p[line] == '\n');
	}
	GString *out = g_string_new(NULL);
	for (const char *p = body; *p != '\0';) {
		gsize line = strcspn(p, "\n"), ws = strspn(p, " \t");
		gsize eol = p[line] == '\n' ? 1 : 0;
		gboolean blank = ws >= line || (ws + 1 == line && p[ws] == '\r');
		gsize skip = blank ? MIN(ws, line) : mlen;
		g_string_append_len(out, p + skip, (gssize)(line + eol - skip));
		p += line + eol;
	}
	*margin_out = g_strndup(margin != NULL ? margin : "", mlen);
	return g_string_free(out, FALSE);
}

/* Records the source of block N, from its opening tag TOKS[OPEN] to its
 * closing tag TOKS[CLOSE], leaving out the rest of standalone tag lines. */
static void block_set_body(DkNode *n, const Tok *toks, guint open, guint close)
{
	const Tok *o = &toks[open], *c = &toks[close];
	const char *s = o->raw_end, *e = c->raw_start;
	guint k = open + 1;
	if (o->standalone) {
		for (; k < close && toks[k].kind == TOK_TEXT && toks[k].drop; k++) {
			s = toks[k].raw_end;
			if (ends_line(&toks[k])) {
				k++;
				break;
			}
		}
	}
	if (c->standalone) {
		for (guint j = close;
		     j-- > k && toks[j].kind == TOK_TEXT && toks[j].drop && !ends_line(&toks[j]);)
			e = toks[j].raw_start;
	}
	g_autofree char *raw = g_strndup(s, e > s ? (gsize)(e - s) : 0);
	n->body_otag = g_strdup(o->otag);
	n->body_ctag = g_strdup(o->ctag);
	n->standalone = o->standalone;
	if (!o->standalone) {
		n->body = g_steal_pointer(&raw);
		return;
	}
	char *margin = NULL;
	n->body = dedent(raw, &margin);
	if (*margin != '\0' || n->indent == NULL) {
		g_free(n->indent);
		n->indent = margin;
	} else {
		g_free(margin);
	}
}

/* How the opening tag of section-like node N was written, e.g. "#items". */
static char *opening_of(const DkNode *n)
{
	char sigil = n->kind == DK_NODE_SECTION    ? '#'
	             : n->kind == DK_NODE_INVERTED ? '^'
	             : n->kind == DK_NODE_BLOCK    ? '$'
	                                           : '<';
	return g_strdup_printf("%c%s%s", sigil, n->dynamic ? "*" : "", n->text);
}

static gboolean builder_close(Builder *b, const Tok *t, GError **error)
{
	g_autofree char *name = g_strndup(t->start, t->len);
	if (b->open->len == 0) {
		g_autofree char *msg =
		    g_strdup_printf("close tag {{/%s}} without an open section", name);
		return syntax_error(error, t->line, t->column, msg);
	}
	DkNode *top = g_ptr_array_index(b->open, b->open->len - 1);
	g_autofree char *opening = opening_of(top);
	if (strcmp(opening + 1, name) != 0) {
		g_autofree char *msg = g_strdup_printf(
		    "close tag {{/%s}} does not match {{%s}} opened at line %u, column %u", name,
		    opening, top->line, top->column);
		return syntax_error(error, t->line, t->column, msg);
	}
	guint open_index = g_array_index(b->open_tok, guint, b->open_tok->len - 1);
	if (top->kind == DK_NODE_BLOCK)
		block_set_body(top, b->toks, open_index, (guint)(t - b->toks));
	g_ptr_array_set_size(b->open, b->open->len - 1);
	g_array_set_size(b->open_tok, b->open_tok->len - 1);
	return TRUE;
}

static gboolean builder_add(Builder *b, const Tok *t, GError **error)
{
	static const DkNodeKind kinds[] = {
	    [TOK_VAR] = DK_NODE_VAR,         [TOK_RAW] = DK_NODE_VAR,
	    [TOK_SECTION] = DK_NODE_SECTION, [TOK_INVERTED] = DK_NODE_INVERTED,
	    [TOK_PARTIAL] = DK_NODE_PARTIAL, [TOK_BLOCK] = DK_NODE_BLOCK,
	    [TOK_PARENT] = DK_NODE_PARENT,
	};
	if (t->drop && t->keep_eol)
		return add_text(b, t, t->len > 1 && t->start[t->len - 2] == '\r' ? "\r\n" : "\n");
	if (t->drop || t->kind == TOK_COMMENT || t->kind == TOK_DELIM)
		return TRUE;
	if (t->kind == TOK_CLOSE)
		return builder_close(b, t, error);
	if (t->kind == TOK_TEXT)
		return add_text(b, t, NULL);
	DkNode *n = node_from_tag(t, kinds[t->kind]);
	n->escape = t->kind == TOK_VAR;
	g_ptr_array_add(builder_current(b), n);
	if (n->children != NULL) {
		if (b->open->len >= DK_TEMPLATE_MAX_NESTING)
			return syntax_error(error, t->line, t->column,
			                    "sections nested too deeply");
		g_ptr_array_add(b->open, n);
		guint index = (guint)(t - b->toks);
		g_array_append_val(b->open_tok, index);
	}
	return TRUE;
}

static gboolean build_tree(GArray *toks, GPtrArray *root, GError **error)
{
	Builder b = {.open = g_ptr_array_new(),
	             .open_tok = g_array_new(FALSE, FALSE, sizeof(guint)),
	             .toks = (const Tok *)toks->data,
	             .root = root};
	gboolean ok = TRUE;
	for (guint i = 0; ok && i < toks->len; i++)
		ok = builder_add(&b, &g_array_index(toks, Tok, i), error);
	if (ok && b.open->len > 0) {
		DkNode *top = g_ptr_array_index(b.open, b.open->len - 1);
		g_autofree char *opening = opening_of(top);
		g_autofree char *msg = g_strdup_printf("unclosed section {{%s}}", opening);
		ok = syntax_error(error, top->line, top->column, msg);
	}
	g_ptr_array_unref(b.open);
	g_array_unref(b.open_tok);
	return ok;
}

static DkTemplate *parse(const char *source, gsize len, guint line, guint column, const char *otag,
                         const char *ctag, GError **error)
{
	Lexer lx = {.src = source,
	            .end = source + len,
	            .pos = source,
	            .line_start = source,
	            .line = MAX(line, 1),
	            .first_column = MAX(column, 1)};
	g_strlcpy(lx.otag, otag, sizeof(lx.otag));
	g_strlcpy(lx.ctag, ctag, sizeof(lx.ctag));
	lx.olen = strlen(lx.otag);
	lx.clen = strlen(lx.ctag);
	lx.toks = g_array_new(FALSE, TRUE, sizeof(Tok));
	g_autoptr(DkTemplate) t = g_new0(DkTemplate, 1);
	t->nodes = g_ptr_array_new_with_free_func(node_free);
	gboolean ok = lex_all(&lx, error);
	if (ok) {
		mark_standalone(lx.toks);
		ok = build_tree(lx.toks, t->nodes, error);
	}
	g_array_unref(lx.toks);
	return ok ? g_steal_pointer(&t) : NULL;
}

DkTemplate *dk_template_parse_at(const char *source, gsize len, guint line, guint column,
                                 GError **error)
{
	g_return_val_if_fail(source != NULL || len == 0, NULL);
	return parse(source, len, line, column, "{{", "}}", error);
}

DkTemplate *dk_template_parse_body(const char *body, const char *otag, const char *ctag,
                                   GError **error)
{
	return parse(body, strlen(body), 1, 1, otag, ctag, error);
}

DkTemplate *dk_template_parse(const char *source, GError **error)
{
	g_return_val_if_fail(source != NULL, NULL);
	return dk_template_parse_at(source, strlen(source), 1, 1, error);
}
