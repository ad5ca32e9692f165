/* The Sieve parser: the grammar of RFC 5228 section 8.2 into a syntax tree
 * of commands, arguments, tests and blocks. */
#include "rules/sieve-private.h"

#include <string.h>

typedef struct {
	DkSieveLexer *lexer;
	DkSieveToken tok;
	GPtrArray *diags;
	guint depth;
	gboolean failed;
} Parser;

void dk_sieve_diag_add(GPtrArray *diags, guint line, guint column, const char *format, ...)
{
	if (diags->len >= DK_SIEVE_MAX_DIAGNOSTICS)
		return;
	DkSieveDiagnostic *d = g_new0(DkSieveDiagnostic, 1);
	d->line = line;
	d->column = column;
	va_list ap;
	va_start(ap, format);
	d->message = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_ptr_array_add(diags, d);
}

static void next(Parser *ps)
{
	dk_sieve_token_clear(&ps->tok);
	dk_sieve_lexer_next(ps->lexer, &ps->tok);
}

/* Reports a syntax error at the current token: what was expected and what
 * was found instead. Only the first one counts: the parser stops there. */
static void expected(Parser *ps, const char *what)
{
	if (ps->failed)
		return;
	ps->failed = TRUE;
	if (ps->tok.type == DK_TOK_ERROR) {
		dk_sieve_diag_add(ps->diags, ps->tok.line, ps->tok.column, "%s", ps->tok.text);
		return;
	}
	const char *found = dk_sieve_token_describe(ps->tok.type);
	if (ps->tok.type == DK_TOK_IDENT)
		dk_sieve_diag_add(ps->diags, ps->tok.line, ps->tok.column,
		                  "expected %s, found identifier '%s'", what, ps->tok.text);
	else
		dk_sieve_diag_add(ps->diags, ps->tok.line, ps->tok.column, "expected %s, found %s",
		                  what, found);
}

static void arg_free(DkSieveArg *a)
{
	if (a == NULL)
		return;
	if (a->strings)
		g_ptr_array_unref(a->strings);
	g_free(a->tag);
	g_free(a);
}

void dk_sieve_node_free(DkSieveNode *node)
{
	if (node == NULL)
		return;
	g_free(node->name);
	g_ptr_array_unref(node->args);
	g_ptr_array_unref(node->tests);
	if (node->block)
		g_ptr_array_unref(node->block);
	if (node->positional)
		g_ptr_array_unref(node->positional);
	if (node->tagged)
		g_ptr_array_unref(node->tagged);
	if (node->match.regexes)
		g_ptr_array_unref(node->match.regexes);
	g_free(node);
}

static DkSieveNode *node_new(Parser *ps)
{
	DkSieveNode *n = g_new0(DkSieveNode, 1);
	n->name = g_ascii_strdown(ps->tok.text, -1);
	n->line = ps->tok.line;
	n->column = ps->tok.column;
	n->args = g_ptr_array_new_with_free_func((GDestroyNotify)arg_free);
	n->tests = g_ptr_array_new_with_free_func((GDestroyNotify)dk_sieve_node_free);
	return n;
}

static DkSieveArg *arg_new(Parser *ps, DkSieveArgKind kind)
{
	DkSieveArg *a = g_new0(DkSieveArg, 1);
	a->kind = kind;
	a->line = ps->tok.line;
	a->column = ps->tok.column;
	if (kind == DK_SIEVE_ARG_STRING || kind == DK_SIEVE_ARG_LIST)
		a->strings = g_ptr_array_new_with_free_func(g_free);
	return a;
}

/* string-list = "[" string *("," string) "]" / string */
static DkSieveArg *parse_string_list(Parser *ps)
{
	DkSieveArg *a = arg_new(ps, DK_SIEVE_ARG_LIST);
	next(ps);
	for (;;) {
		if (ps->tok.type != DK_TOK_STRING) {
			expected(ps, "a string in the string list");
			arg_free(a);
			return NULL;
		}
		g_ptr_array_add(a->strings, g_steal_pointer(&ps->tok.text));
		next(ps);
		if (ps->tok.type == DK_TOK_RBRACKET)
			break;
		if (ps->tok.type != DK_TOK_COMMA) {
			expected(ps, "',' or ']' in the string list");
			arg_free(a);
			return NULL;
		}
		next(ps);
	}
	next(ps);
	return a;
}

static DkSieveArg *parse_argument(Parser *ps)
{
	DkSieveArg *a;
	switch (ps->tok.type) {
	case DK_TOK_STRING:
		a = arg_new(ps, DK_SIEVE_ARG_STRING);
		g_ptr_array_add(a->strings, g_steal_pointer(&ps->tok.text));
		break;
	case DK_TOK_NUMBER:
		a = arg_new(ps, DK_SIEVE_ARG_NUMBER);
		a->number = ps->tok.number;
		break;
	case DK_TOK_TAG:
		a = arg_new(ps, DK_SIEVE_ARG_TAG);
		a->tag = g_ascii_strdown(ps->tok.text, -1);
		break;
	case DK_TOK_LBRACKET:
		return parse_string_list(ps);
	default:
		return NULL;
	}
	next(ps);
	return a;
}

static DkSieveNode *parse_test(Parser *ps);

/* arguments = *argument [ test / test-list ] */
static gboolean parse_arguments(Parser *ps, DkSieveNode *node)
{
	for (;;) {
		if (ps->tok.type == DK_TOK_STRING || ps->tok.type == DK_TOK_NUMBER ||
		    ps->tok.type == DK_TOK_TAG || ps->tok.type == DK_TOK_LBRACKET) {
			DkSieveArg *a = parse_argument(ps);
			if (a == NULL)
				return FALSE;
			g_ptr_array_add(node->args, a);
		} else {
			break;
		}
	}
	if (ps->tok.type == DK_TOK_IDENT) {
		DkSieveNode *t = parse_test(ps);
		if (t == NULL)
			return FALSE;
		g_ptr_array_add(node->tests, t);
	} else if (ps->tok.type == DK_TOK_LPAREN) {
		next(ps);
		for (;;) {
			if (ps->tok.type != DK_TOK_IDENT) {
				expected(ps, "a test in the test list");
				return FALSE;
			}
			DkSieveNode *t = parse_test(ps);
			if (t == NULL)
				return FALSE;
			g_ptr_array_add(node->tests, t);
			if (ps->tok.type == DK_TOK_RPAREN)
				break;
			if (ps->tok.type != DK_TOK_COMMA) {
				expected(ps, "',' or ')' in the test list");
				return FALSE;
			}
			next(ps);
		}
		next(ps);
	}
	return TRUE;
}

static DkSieveNode *parse_test(Parser *ps)
{
	if (++ps->depth > DK_SIEVE_MAX_DEPTH) {
		dk_sieve_diag_add(ps->diags, ps->tok.line, ps->tok.column,
		                  "blocks and tests nested deeper than %d", DK_SIEVE_MAX_DEPTH);
		ps->failed = TRUE;
		return NULL;
	}
	DkSieveNode *node = node_new(ps);
	next(ps);
	if (!parse_arguments(ps, node)) {
		dk_sieve_node_free(node);
		return NULL;
	}
	ps->depth--;
	return node;
}

static GPtrArray *parse_commands(Parser *ps, gboolean in_block);

/* command = identifier arguments (";" / block) */
static DkSieveNode *parse_command(Parser *ps)
{
	DkSieveNode *node = node_new(ps);
	g_autofree char *name = g_strdup(node->name);
	next(ps);
	if (!parse_arguments(ps, node)) {
		dk_sieve_node_free(node);
		return NULL;
	}
	if (ps->tok.type == DK_TOK_SEMICOLON) {
		next(ps);
		return node;
	}
	if (ps->tok.type != DK_TOK_LBRACE) {
		g_autofree char *what =
		    g_strdup_printf("';' or '{' after the arguments of '%s'", name);
		expected(ps, what);
		dk_sieve_node_free(node);
		return NULL;
	}
	if (++ps->depth > DK_SIEVE_MAX_DEPTH) {
		dk_sieve_diag_add(ps->diags, ps->tok.line, ps->tok.column,
		                  "blocks and tests nested deeper than %d", DK_SIEVE_MAX_DEPTH);
		ps->failed = TRUE;
		dk_sieve_node_free(node);
		return NULL;
	}
	next(ps);
	node->block = parse_commands(ps, TRUE);
	ps->depth--;
	if (node->block == NULL) {
		dk_sieve_node_free(node);
		return NULL;
	}
	next(ps);
	return node;
}

/* commands = *command; a block ends at "}" (left as the current token). */
static GPtrArray *parse_commands(Parser *ps, gboolean in_block)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)dk_sieve_node_free);
	for (;;) {
		if (ps->tok.type == DK_TOK_IDENT) {
			DkSieveNode *c = parse_command(ps);
			if (c == NULL)
				break;
			g_ptr_array_add(list, c);
		} else if (in_block && ps->tok.type == DK_TOK_RBRACE) {
			return list;
		} else if (!in_block && ps->tok.type == DK_TOK_EOF) {
			return list;
		} else {
			expected(ps, in_block ? "a command or '}'" : "a command");
			break;
		}
	}
	g_ptr_array_unref(list);
	return NULL;
}

gboolean dk_sieve_parse(DkSieveScript *script, const char *source, gsize len, GPtrArray *diags)
{
	Parser ps = {.lexer = dk_sieve_lexer_new(source, len), .diags = diags};
	next(&ps);
	script->commands = parse_commands(&ps, FALSE);
	dk_sieve_token_clear(&ps.tok);
	dk_sieve_lexer_free(ps.lexer);
	return script->commands != NULL;
}
