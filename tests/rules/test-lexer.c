/* The Sieve lexer: tokens of RFC 5228 section 8.1, comments, strings,
 * numbers, and errors with their positions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rules/sieve-private.h"

/* Tokens of src as "TYPE:text" joined by spaces. */
static char *lex_all(const char *src)
{
	DkSieveLexer *lx = dk_sieve_lexer_new(src, strlen(src));
	GString *out = g_string_new(NULL);
	for (;;) {
		DkSieveToken t;
		dk_sieve_lexer_next(lx, &t);
		if (out->len)
			g_string_append_c(out, ' ');
		switch (t.type) {
		case DK_TOK_IDENT:
			g_string_append_printf(out, "I:%s", t.text);
			break;
		case DK_TOK_TAG:
			g_string_append_printf(out, "T:%s", t.text);
			break;
		case DK_TOK_STRING:
			g_string_append_printf(out, "S:<%s>", t.text);
			break;
		case DK_TOK_NUMBER:
			g_string_append_printf(out, "N:%" G_GUINT64_FORMAT, t.number);
			break;
		case DK_TOK_ERROR:
			g_string_append_printf(out, "E:%u:%u:%s", t.line, t.column, t.text);
			break;
		case DK_TOK_EOF:
			g_string_append(out, "EOF");
			break;
		default:
			g_string_append(out, dk_sieve_token_describe(t.type));
			break;
		}
		gboolean end = t.type == DK_TOK_EOF || t.type == DK_TOK_ERROR;
		dk_sieve_token_clear(&t);
		if (end)
			break;
	}
	dk_sieve_lexer_free(lx);
	return g_string_free(out, FALSE);
}

typedef struct {
	const char *src;
	const char *tokens;
} LexCase;

static const LexCase cases[] = {
    {"", "EOF"},
    {"keep;", "I:keep ';' EOF"},
    {"  # comment\nstop; # trailing", "I:stop ';' EOF"},
    {"/* block\n comment */ discard /**/;", "I:discard ';' EOF"},
    {"if header :is \"a\" [\"b\",\"c\"] {}",
     "I:if I:header T:is S:<a> '[' S:<b> ',' S:<c> ']' '{' '}' EOF"},
    {"\"a\\\"b\\\\c\\d\"", "S:<a\"b\\cd> EOF"},
    {"\"multi\nline\"", "S:<multi\nline> EOF"},
    {"1 10K 2M 3G 0k", "N:1 N:10240 N:2097152 N:3221225472 N:0 EOF"},
    {"text:\nline one\n..dot\n.\n;", "S:<line one\n.dot\n> ';' EOF"},
    {"text: # comment\r\nx\r\n.\r\n", "S:<x\r\n> EOF"},
    {"TEXT:\n.\n", "S:<> EOF"},
    {"(a,b)", "'(' I:a ',' I:b ')' EOF"},
    {":Over _x1", "T:Over I:_x1 EOF"},
    {"\"unterminated", "E:1:1:unterminated quoted string: expected '\"'"},
    {"/* open", "E:1:1:unterminated comment: expected '*/'"},
    {"keep;\n  @", "I:keep ';' E:2:3:unexpected character '@'"},
    {"text:\nabc\n", "E:1:1:unterminated multi-line string: expected a line with '.'"},
    {"text: x\n.\n", "E:1:1:expected end of line after 'text:'"},
    {"99999999999999999999", "E:1:1:number too large"},
    {"18446744073709551615 18446744073709551616", "N:18446744073709551615 E:1:22:number too large"},
    {"34359738368G 17179869183G", "E:1:1:number too large"},
    {"if this_is_a_rediculously_long_test_name", "I:if E:1:4:identifier longer than 32 characters"},
    {"9G9", "E:1:1:invalid character '9' after number"},
    {"12abc", "E:1:1:invalid character 'a' after number"},
    {"\x01", "E:1:1:unexpected byte 0x01"},
    {": x", "E:1:1:unexpected character ':'"},
};

static void test_tokens(void **state)
{
	guint failed = 0;
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = lex_all(cases[i].src);
		if (strcmp(got, cases[i].tokens) != 0) {
			print_error("source %s\n  expected: %s\n  got:      %s\n", cases[i].src,
			            cases[i].tokens, got);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void test_positions(void **state)
{
	const char *src = "require \"x\";\n\n   if true {\n\tkeep;\n}";
	DkSieveLexer *lx = dk_sieve_lexer_new(src, strlen(src));
	guint want[][2] = {{1, 1},  {1, 9}, {1, 12}, {3, 4}, {3, 7},
	                   {3, 12}, {4, 2}, {4, 6},  {5, 1}};
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		DkSieveToken t;
		dk_sieve_lexer_next(lx, &t);
		assert_int_equal(t.line, want[i][0]);
		assert_int_equal(t.column, want[i][1]);
		dk_sieve_token_clear(&t);
	}
	dk_sieve_lexer_free(lx);
}

static void test_long_string(void **state)
{
	gsize n = DK_SIEVE_MAX_STRING + 10;
	char *src = g_malloc(n + 3);
	src[0] = '"';
	memset(src + 1, 'a', n);
	src[n + 1] = '"';
	src[n + 2] = '\0';
	g_autofree char *got = lex_all(src);
	g_free(src);
	assert_string_equal(got, "E:1:1:string longer than 65536 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_positions),
	    cmocka_unit_test(test_long_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
