/* The Sieve lexer: RFC 5228 section 8.1 tokens, with comments, quoted and
 * multi-line strings and numbers with quantifiers. */
#include "rules/sieve-private.h"

#include <string.h>

struct _DkSieveLexer {
	const char *p;
	gsize len, pos;
	guint line, column;
	guint comment_line, comment_column; /* where the last bracketed comment opened */
	gboolean done;
};

DkSieveLexer *dk_sieve_lexer_new(const char *source, gsize len)
{
	DkSieveLexer *lx = g_new0(DkSieveLexer, 1);
	lx->p = source;
	lx->len = len;
	lx->line = 1;
	lx->column = 1;
	return lx;
}

void dk_sieve_lexer_free(DkSieveLexer *lexer)
{
	g_free(lexer);
}

void dk_sieve_token_clear(DkSieveToken *token)
{
	g_clear_pointer(&token->text, g_free);
}

const char *dk_sieve_token_describe(DkSieveTokenType type)
{
	static const char *const names[] = {
	    [DK_TOK_EOF] = "end of script", [DK_TOK_IDENT] = "identifier",
	    [DK_TOK_TAG] = "tag",           [DK_TOK_NUMBER] = "number",
	    [DK_TOK_STRING] = "string",     [DK_TOK_LBRACKET] = "'['",
	    [DK_TOK_RBRACKET] = "']'",      [DK_TOK_LPAREN] = "'('",
	    [DK_TOK_RPAREN] = "')'",        [DK_TOK_LBRACE] = "'{'",
	    [DK_TOK_RBRACE] = "'}'",        [DK_TOK_COMMA] = "','",
	    [DK_TOK_SEMICOLON] = "';'",     [DK_TOK_ERROR] = "error",
	};
	return names[type];
}

static int peek(const DkSieveLexer *lx, gsize ahead)
{
	return lx->pos + ahead < lx->len ? (unsigned char)lx->p[lx->pos + ahead] : -1;
}

static void advance(DkSieveLexer *lx)
{
	if (lx->pos >= lx->len)
		return;
	if (lx->p[lx->pos] == '\n') {
		lx->line++;
		lx->column = 1;
	} else {
		lx->column++;
	}
	lx->pos++;
}

static void set_error(DkSieveLexer *lx, DkSieveToken *t, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
static void set_error(DkSieveLexer *lx, DkSieveToken *t, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	t->type = DK_TOK_ERROR;
	t->text = g_strdup_vprintf(format, ap);
	va_end(ap);
	lx->done = TRUE;
}

/* Skips white space, "#" comments and bracketed comments (section 2.3).
 * Returns FALSE on an unterminated bracketed comment. */
static gboolean skip_space(DkSieveLexer *lx)
{
	for (;;) {
		int c = peek(lx, 0);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			advance(lx);
		} else if (c == '#') {
			while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
				advance(lx);
		} else if (c == '/' && peek(lx, 1) == '*') {
			lx->comment_line = lx->line;
			lx->comment_column = lx->column;
			advance(lx);
			advance(lx);
			while (!(peek(lx, 0) == '*' && peek(lx, 1) == '/')) {
				if (peek(lx, 0) == -1)
					return FALSE;
				advance(lx);
			}
			advance(lx);
			advance(lx);
		} else {
			return TRUE;
		}
	}
}

/* Quoted string, section 2.4.2: backslash escapes the next character. */
static void lex_quoted(DkSieveLexer *lx, DkSieveToken *t)
{
	GString *s = g_string_new(NULL);
	advance(lx);
	for (;;) {
		int c = peek(lx, 0);
		if (c == -1) {
			g_string_free(s, TRUE);
			set_error(lx, t, "unterminated quoted string: expected '\"'");
			return;
		}
		if (c == '"')
			break;
		if (c == '\\') {
			advance(lx);
			c = peek(lx, 0);
			if (c == -1)
				continue;
		}
		if (s->len >= DK_SIEVE_MAX_STRING) {
			g_string_free(s, TRUE);
			set_error(lx, t, "string longer than %d bytes", DK_SIEVE_MAX_STRING);
			return;
		}
		g_string_append_c(s, (char)c);
		advance(lx);
	}
	advance(lx);
	t->type = DK_TOK_STRING;
	t->text = g_string_free(s, FALSE);
}

/* Multi-line string, section 2.4.2: "text:", optional white space and a
 * comment, then lines up to a line holding a single "."; a leading ".." on
 * a line stands for ".". */
static void lex_multiline(DkSieveLexer *lx, DkSieveToken *t)
{
	for (int i = 0; i < 5; i++)
		advance(lx);
	while (peek(lx, 0) == ' ' || peek(lx, 0) == '\t')
		advance(lx);
	if (peek(lx, 0) == '#')
		while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
			advance(lx);
	if (peek(lx, 0) == '\r')
		advance(lx);
	if (peek(lx, 0) != '\n') {
		set_error(lx, t, "expected end of line after 'text:'");
		return;
	}
	advance(lx);
	GString *s = g_string_new(NULL);
	for (;;) {
		if (peek(lx, 0) == -1) {
			g_string_free(s, TRUE);
			set_error(lx, t,
			          "unterminated multi-line string: expected a line with '.'");
			return;
		}
		gsize start = lx->pos;
		while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
			advance(lx);
		gsize end = lx->pos;
		gboolean newline = peek(lx, 0) == '\n';
		advance(lx);
		gsize content_end = (end > start && lx->p[end - 1] == '\r') ? end - 1 : end;
		if (content_end - start == 1 && lx->p[start] == '.' &&
		    (newline || lx->pos >= lx->len))
			break;
		/* Pigeonhole, like other implementations, only unstuffs "..". */
		if (content_end - start >= 2 && lx->p[start] == '.' && lx->p[start + 1] == '.')
			start++;
		g_string_append_len(s, lx->p + start, (gssize)(end - start));
		if (newline)
			g_string_append_c(s, '\n');
		if (s->len > DK_SIEVE_MAX_STRING) {
			g_string_free(s, TRUE);
			set_error(lx, t, "string longer than %d bytes", DK_SIEVE_MAX_STRING);
			return;
		}
	}
	t->type = DK_TOK_STRING;
	t->text = g_string_free(s, FALSE);
}

/* Number, section 2.4.1: digits and an optional K, M or G quantifier. */
static void lex_number(DkSieveLexer *lx, DkSieveToken *t)
{
	guint64 n = 0;
	while (g_ascii_isdigit(peek(lx, 0))) {
		guint d = (guint)(peek(lx, 0) - '0');
		if (n > (G_MAXUINT64 - d) / 10) {
			set_error(lx, t, "number too large");
			return;
		}
		n = n * 10 + d;
		advance(lx);
	}
	int q = g_ascii_toupper(peek(lx, 0));
	guint shift = q == 'K' ? 10 : q == 'M' ? 20 : q == 'G' ? 30 : 0;
	if (shift > 0) {
		advance(lx);
		if (n > (G_MAXUINT64 >> shift)) {
			set_error(lx, t, "number too large");
			return;
		}
		n <<= shift;
	}
	if (g_ascii_isalnum(peek(lx, 0)) || peek(lx, 0) == '_') {
		set_error(lx, t, "invalid character '%c' after number", peek(lx, 0));
		return;
	}
	t->type = DK_TOK_NUMBER;
	t->number = n;
}

static gboolean is_ident_start(int c)
{
	return c != -1 && (g_ascii_isalpha(c) || c == '_');
}

/* An identifier; NULL when longer than DK_SIEVE_MAX_IDENTIFIER. */
static char *lex_word(DkSieveLexer *lx)
{
	gsize start = lx->pos;
	while (peek(lx, 0) != -1 && (g_ascii_isalnum(peek(lx, 0)) || peek(lx, 0) == '_'))
		advance(lx);
	if (lx->pos - start > DK_SIEVE_MAX_IDENTIFIER)
		return NULL;
	return g_strndup(lx->p + start, lx->pos - start);
}

static gboolean lex_punct(DkSieveLexer *lx, DkSieveToken *t, int c)
{
	static const char punct[] = "[](){},;";
	static const DkSieveTokenType types[] = {
	    DK_TOK_LBRACKET, DK_TOK_RBRACKET, DK_TOK_LPAREN, DK_TOK_RPAREN,
	    DK_TOK_LBRACE,   DK_TOK_RBRACE,   DK_TOK_COMMA,  DK_TOK_SEMICOLON,
	};
	const char *hit = c > 0 ? strchr(punct, c) : NULL;
	if (hit == NULL)
		return FALSE;
	t->type = types[hit - punct];
	advance(lx);
	return TRUE;
}

void dk_sieve_lexer_next(DkSieveLexer *lx, DkSieveToken *t)
{
	memset(t, 0, sizeof(*t));
	t->type = DK_TOK_EOF;
	if (lx->done)
		return;
	gboolean closed = skip_space(lx);
	t->line = lx->line;
	t->column = lx->column;
	if (!closed) {
		t->line = lx->comment_line;
		t->column = lx->comment_column;
		set_error(lx, t, "unterminated comment: expected '*/'");
		return;
	}
	int c = peek(lx, 0);
	if (c == -1) {
		lx->done = TRUE;
		return;
	}
	if (lex_punct(lx, t, c))
		return;
	if (c == '"') {
		lex_quoted(lx, t);
	} else if (g_ascii_isdigit(c)) {
		lex_number(lx, t);
	} else if (c == ':' && is_ident_start(peek(lx, 1))) {
		advance(lx);
		t->type = DK_TOK_TAG;
		t->text = lex_word(lx);
		if (t->text == NULL)
			set_error(lx, t, "tag longer than %d characters", DK_SIEVE_MAX_IDENTIFIER);
	} else if (is_ident_start(c)) {
		if (lx->len - lx->pos >= 5 &&
		    g_ascii_strncasecmp(lx->p + lx->pos, "text:", 5) == 0) {
			lex_multiline(lx, t);
			return;
		}
		t->type = DK_TOK_IDENT;
		t->text = lex_word(lx);
		if (t->text == NULL)
			set_error(lx, t, "identifier longer than %d characters",
			          DK_SIEVE_MAX_IDENTIFIER);
	} else if (c == 0) {
		set_error(lx, t, "NUL byte in script");
	} else if (c < 32 || c >= 127) {
		set_error(lx, t, "unexpected byte 0x%02x", c);
	} else {
		set_error(lx, t, "unexpected character '%c'", c);
	}
}
