/* Tests of the Authentication-Results parser (RFC 8601 section 2.2) and of
 * the aligned-pass check built on it. */
#include "dk-test.h"
#include "parsers/authres.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

/* The parse of one value, flattened: "id v=1; method=result
 * ptype.property=value ...; ..." with invalid=N at the end. */
static char *flatten(const DkAuthres *ar)
{
	GString *out = g_string_new(NULL);
	g_string_append_printf(out, "%s v=%d", ar->authserv_id, ar->version);
	for (guint i = 0; i < ar->results->len; i++) {
		const DkAuthresResult *r = g_ptr_array_index(ar->results, i);
		g_string_append_printf(out, "; %s=%s", r->method, r->result);
		if (r->reason != NULL)
			g_string_append_printf(out, " reason=[%s]", r->reason);
		for (guint k = 0; k < r->properties->len; k++) {
			const DkAuthresProperty *p = g_ptr_array_index(r->properties, k);
			g_string_append_printf(out, " %s.%s=[%s]", p->ptype, p->property, p->value);
		}
	}
	g_string_append_printf(out, " invalid=%u", ar->invalid);
	return g_string_free(out, FALSE);
}

typedef struct {
	const char *value;
	const char *parsed; /* NULL: an error */
} ParseCase;

static const ParseCase parse_cases[] = {
    {"mx.example.com; dkim=pass header.d=example.com header.s=s1",
     "mx.example.com v=1; dkim=pass header.d=[example.com] header.s=[s1] invalid=0"},
    {"mx.example.com 1; spf=pass smtp.mailfrom=agent@example.com",
     "mx.example.com v=1; spf=pass smtp.mailfrom=[agent@example.com] invalid=0"},
    {"(our MX) mx.example.com (v) 1 (x); none", "mx.example.com v=1 invalid=0"},
    /* RFC 8601 appendix B.6 */
    {"example.com;\r\n dkim=pass (good signature) header.d=mail-router.example.net;\r\n "
     "dkim=fail (bad signature) header.d=newyork.example.com",
     "example.com v=1; dkim=pass header.d=[mail-router.example.net]; dkim=fail "
     "header.d=[newyork.example.com] invalid=0"},
    /* Comments and quoted strings hide ";", "(" and "=". */
    {"mx.example.com; dkim=pass (2048-bit key; unprotected) header.d=\"example.com\"",
     "mx.example.com v=1; dkim=pass header.d=[example.com] invalid=0"},
    {"mx.example.com; spf=pass smtp.mailfrom=\"a;spf=pass smtp.mailfrom=x@corp.example "
     "z\"@evil.example",
     "mx.example.com v=1; spf=pass smtp.mailfrom=[a;spf=pass smtp.mailfrom=x@corp.example "
     "z@evil.example] invalid=0"},
    {"mx.example.com; spf=pass (a (nested ; comment) \\) here) smtp.mailfrom=x@a.example",
     "mx.example.com v=1; spf=pass smtp.mailfrom=[x@a.example] invalid=0"},
    {"mx.example.com; dkim = pass reason=\"ok; fine\" header . d = a.example",
     "mx.example.com v=1; dkim=pass reason=[ok; fine] header.d=[a.example] invalid=0"},
    {"mx.example.com; dkim/1=pass header.i=@example.com",
     "mx.example.com v=1; dkim=pass header.i=[@example.com] invalid=0"},
    {"\"mx.example.com\" 2; auth=pass smtp.auth=agent",
     "mx.example.com v=2; auth=pass smtp.auth=[agent] invalid=0"},
    /* A malformed resinfo is skipped to the next ";" outside quotes. */
    {"mx.example.com; dmarc=pass action=none header.from=a.example; spf=fail smtp.mailfrom=b",
     "mx.example.com v=1; spf=fail smtp.mailfrom=[b] invalid=1"},
    {"mx.example.com; x=y z=\"; dkim=pass header.d=corp.example\"; spf=none",
     "mx.example.com v=1; spf=none invalid=1"},
    {"mx.example.com; x=y z=\"; dkim=pass header.d=corp.example", "mx.example.com v=1 invalid=1"},
    {"mx.example.com; spf=pass smtp.mailfrom=\"unterminated@corp.example",
     "mx.example.com v=1 invalid=1"},
    {"mx.example.com; dkim=pass (unterminated header.d=corp.example",
     "mx.example.com v=1 invalid=1"},
    {"mx.example.com;", "mx.example.com v=1 invalid=0"},
    {"", NULL},
    {"(only a comment)", NULL},
    {"mx.example.com dkim=pass header.d=corp.example", NULL},
    {"mx.example.com (open; dkim=pass header.d=corp.example", NULL},
};

static void test_parse(void **state)
{
	(void)state;
	for (gsize i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DkAuthres) ar = dk_authres_parse(parse_cases[i].value, &error);
		g_autofree char *got = ar ? flatten(ar) : NULL;
		if (g_strcmp0(got, parse_cases[i].parsed) != 0)
			fail_msg("“%s”\n  want %s\n  got  %s", parse_cases[i].value,
			         parse_cases[i].parsed ? parse_cases[i].parsed : "(error)",
			         got ? got : error->message);
		assert_true((ar == NULL) == (error != NULL));
	}
}

/* Every prefix of a hostile value parses or fails without reading past it
 * (the sanitizers watch), and deep comments are bounded. */
static void test_bounded(void **state)
{
	(void)state;
	g_autoptr(GString) deep = g_string_new("mx.example.com; dkim=pass ");
	for (int i = 0; i < 10000; i++)
		g_string_append_c(deep, '(');
	g_string_append(deep, " header.d=a.example");
	g_autoptr(DkAuthres) ar = dk_authres_parse(deep->str, NULL);
	assert_non_null(ar);
	assert_int_equal(ar->results->len, 0);
	const char *v = parse_cases[5].value;
	for (gsize n = 0; n <= strlen(v); n++) {
		g_autofree char *prefix = g_strndup(v, n);
		g_autoptr(DkAuthres) p = dk_authres_parse(prefix, NULL);
		(void)p;
	}
	g_autoptr(GString) many = g_string_new("mx.example.com");
	for (int i = 0; i < 1000; i++)
		g_string_append(many, "; spf=fail smtp.mailfrom=a@b.example");
	g_autoptr(DkAuthres) m = dk_authres_parse(many->str, NULL);
	assert_int_equal(m->results->len, 64);
}

typedef struct {
	const char *values[3];
	const char *domain;
	gboolean relaxed;
	DkAuthresVerdict verdict;
} VerifyCase;

static const VerifyCase verify_cases[] = {
    {{"mx.example.com; dkim=pass header.d=example.com header.s=s1"},
     "example.com",
     FALSE,
     DK_AUTHRES_PASS},
    {{"MX.Example.COM; dkim=pass (2048-bit key; unprotected) header.d=Example.com."},
     "example.com",
     FALSE,
     DK_AUTHRES_PASS},
    {{"mx.example.com; dkim=pass header.i=@example.com"}, "example.com", FALSE, DK_AUTHRES_PASS},
    {{"mx.example.com;\r\n\tdkim=fail header.d=example.com;\r\n\tspf=pass "
      "smtp.mailfrom=agent@example.com"},
     "example.com",
     FALSE,
     DK_AUTHRES_PASS},
    {{"mx.example.com; dkim=fail header.d=example.com; spf=softfail "
      "smtp.mailfrom=agent@example.com"},
     "example.com",
     FALSE,
     DK_AUTHRES_NO_PASS},
    {{"mx.example.com; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=x@evil.example"},
     "example.com",
     FALSE,
     DK_AUTHRES_NO_PASS},
    /* The quoted local part holds what looks like a pass for corp.example. */
    {{"mx.example.com; spf=pass smtp.mailfrom=\"a;spf=pass smtp.mailfrom=x@corp.example "
      "z\"@evil.example"},
     "corp.example",
     FALSE,
     DK_AUTHRES_NO_PASS},
    {{"mx.example.com; spf=pass (x; dkim=pass header.d=corp.example) smtp.mailfrom=a@evil.example"},
     "corp.example",
     FALSE,
     DK_AUTHRES_NO_PASS},
    {{"mx.example.com; dkim=pass header.d=sub.example.com"},
     "example.com",
     FALSE,
     DK_AUTHRES_NO_PASS},
    {{"mx.example.com; dkim=pass header.d=sub.example.com"}, "example.com", TRUE, DK_AUTHRES_PASS},
    {{"mx.example.com; dkim=pass header.d=com"}, "example.com", TRUE, DK_AUTHRES_NO_PASS},
    {{"mx.example.com; dkim=pass header.d=example.com"},
     "notexample.com",
     TRUE,
     DK_AUTHRES_NO_PASS},
    {{"mx.example.com; spf=pass smtp.helo=example.com"}, "example.com", FALSE, DK_AUTHRES_NO_PASS},
    {{"mx.example.com; none"}, "example.com", FALSE, DK_AUTHRES_NO_PASS},
    {{"mx.evil.example; dkim=pass header.d=example.com"}, "example.com", FALSE, DK_AUTHRES_NONE},
    {{"mx.example.com.evil.example; dkim=pass header.d=example.com"},
     "example.com",
     FALSE,
     DK_AUTHRES_NONE},
    {{""}, "example.com", FALSE, DK_AUTHRES_NONE},
    /* Two of ours: one of them came from outside; neither counts. */
    {{"mx.example.com; dkim=pass header.d=example.com",
      "mx.example.com; dkim=fail header.d=example.com"},
     "example.com",
     FALSE,
     DK_AUTHRES_AMBIGUOUS},
    {{"mx.evil.example; dkim=pass header.d=example.com",
      "mx.example.com; spf=pass smtp.mailfrom=example.com"},
     "example.com",
     FALSE,
     DK_AUTHRES_PASS},
};

static void test_verify(void **state)
{
	(void)state;
	for (gsize i = 0; i < G_N_ELEMENTS(verify_cases); i++) {
		const VerifyCase *c = &verify_cases[i];
		g_autoptr(GPtrArray) values = g_ptr_array_new();
		for (int k = 0; k < 3 && c->values[k] != NULL; k++)
			g_ptr_array_add(values, (gpointer)c->values[k]);
		const char *method = NULL;
		DkAuthresVerdict v =
		    dk_authres_verify(values, "mx.example.com", c->domain, c->relaxed, &method);
		if (v != c->verdict)
			fail_msg("case %zu “%s”: verdict %d, want %d", i, c->values[0], v,
			         c->verdict);
		assert_true((method != NULL) == (v == DK_AUTHRES_PASS));
		assert_non_null(dk_authres_verdict_reason(v));
	}
	assert_int_equal(dk_authres_verify(NULL, "mx.example.com", "example.com", FALSE, NULL),
	                 DK_AUTHRES_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
