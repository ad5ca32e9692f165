/* Tests for parsers/html: HTML mail to text, quote containers apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parsers/html.h"

#include <string.h>

typedef struct {
	const char *html;
	const char *text;
} Case;

static const Case cases[] = {
    {"<p>One</p><p>Two</p>", "One\n\nTwo"},
    {"<div>a</div><div>b</div>", "a\nb"},
    {"line<br>next<br/>last", "line\nnext\nlast"},
    {"<p>  lots   of\n\t space </p>", "lots of space"},
    {"<ul><li>x</li><li>y</li></ul>", "- x\n- y"},
    {"<ol><li>x</li><li>y</li></ol>", "1. x\n2. y"},
    {"<ul><li>x<ul><li>in</li></ul></li></ul>", "- x\n  - in"},
    {"<a href=\"https://e.example/p\">the page</a>", "the page <https://e.example/p>"},
    {"<a href=\"https://e.example/\">https://e.example/</a>", "https://e.example/"},
    {"<a href=\"mailto:a@b.example\">a@b.example</a>", "a@b.example"},
    {"<a href=\"#top\">top</a>", "top"},
    {"<a href=\"https://e.example/\"><img src=x></a>", "<https://e.example/>"},
    {"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a\tb\nc\td"},
    {"<html><head><title>T</title><style>p{}</style></head><body>x<script>bad()</script></body></"
     "html>",
     "x"},
    {"<span style=\"display: none\">preheader</span>shown", "shown"},
    {"<pre>  a\n    b</pre>", "  a\n    b"},
    {"caf&eacute; &amp; &lt;b&gt; &nbsp;x", "café & <b> x"},
    {"<h1>Title</h1>text", "Title\n\ntext"},
    {"", ""},
    {"<p></p>", ""},
    {"zero\xe2\x80\x8bwidth", "zerowidth"},
};

static void test_conversion(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(DkHtmlText) t = dk_html_to_text(cases[i].html, strlen(cases[i].html));
		if (strcmp(t->text, cases[i].text) != 0)
			fail_msg("case %u: got \"%s\", want \"%s\"", i, t->text, cases[i].text);
		assert_string_equal(t->new_text, t->text);
		assert_string_equal(t->quoted_text, "");
	}
}

typedef struct {
	const char *html;
	const char *fresh;
	const char *quoted;
} QuoteCase;

static const QuoteCase quotes[] = {
    /* Gmail */
    {"<div dir=\"ltr\">Thanks!</div><br><div class=\"gmail_quote\"><div class=\"gmail_attr\">On "
     "Mon, A wrote:<br></div>"
     "<blockquote class=\"gmail_quote\">old</blockquote></div>",
     "Thanks!", "On Mon, A wrote:\nold"},
    /* Apple Mail */
    {"<div>Yes.</div><div><br><blockquote type=\"cite\"><div>earlier</div></blockquote></div>",
     "Yes.", "earlier"},
    {"<div>Yes.</div><div><br>On 2 May 2024, at 10:00, D &lt;d@x&gt; wrote:<br><blockquote "
     "type=\"cite\">e</blockquote></div>",
     "Yes.", "On 2 May 2024, at 10:00, D <d@x> wrote:\ne"},
    /* Yandex, mail.ru: an attribution line, then a bare blockquote */
    {"<div>Fine</div><div>26.06.2014, 14:41, \"A\" "
     "&lt;a@x&gt;:</div><blockquote>Hello!</blockquote>",
     "Fine", "26.06.2014, 14:41, \"A\" <a@x>:\nHello!"},
    /* Outlook 2003 */
    {"<p>Hi</p><div align=center><hr size=3 tabindex=-1></div><p>From: A</p>", "Hi", "From: A"},
    /* Thunderbird */
    {"<p>Fine</p><div class=\"moz-cite-prefix\">On 1/2, B wrote:<br></div><blockquote "
     "type=\"cite\">before</blockquote>",
     "Fine", "On 1/2, B wrote:\nbefore"},
    /* Outlook on the web: the separator and everything after it */
    {"<div>New</div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> X</div><div>old body</div>", "New",
     "From: X\nold body"},
    /* Outlook desktop: the border-top separator div */
    {"<div class=WordSection1><p>Reply</p><div style='border:none;border-top:solid #E1E1E1 "
     "1.0pt;padding:3.0pt'>"
     "<p><b>From:</b> Y</p></div><p>quoted</p></div>",
     "Reply", "From: Y\n\nquoted"},
    {"<p>R</p><div style=\"border-top: solid #B5C4DF 1.0pt\"><p>From: Z</p></div><p>q</p>", "R",
     "From: Z\n\nq"},
    /* Yahoo */
    {"<div>Ok</div><div class=\"yahoo_quoted\">On Tue, C wrote: stuff</div>", "Ok",
     "On Tue, C wrote: stuff"},
    /* an <hr> before a header block */
    {"<div>Hi<div>there</div><div>Bob<hr><b>From: </b>b@x<br><b>To: "
     "</b>c@x<p>Hello</p></div></div>",
     "Hi\nthere\nBob", "From: b@x\nTo: c@x\n\nHello"},
    {"<p>a</p><hr><p>b</p>", "a\n\nb", ""},
    /* Outlook: a From: paragraph that also says when it was sent */
    {"<p>Fine.</p><p><b>From:</b> Foo<br><b>Sent:</b> Monday<br><b>To:</b> x</p><p>Hello?</p>",
     "Fine.", "From: Foo\nSent: Monday\nTo: x\n\nHello?"},
    {"<p>From: the team, with thanks</p>", "From: the team, with thanks", ""},
    /* a plain blockquote is not a quote marker */
    {"<p>see</p><blockquote>a citation</blockquote>", "see\n\na citation", ""},
};

static void test_quote_containers(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(quotes); i++) {
		g_autoptr(DkHtmlText) t = dk_html_to_text(quotes[i].html, strlen(quotes[i].html));
		if (strcmp(t->new_text, quotes[i].fresh) != 0 ||
		    strcmp(t->quoted_text, quotes[i].quoted) != 0)
			fail_msg("case %u: new \"%s\" quoted \"%s\"", i, t->new_text,
			         t->quoted_text);
		assert_non_null(strstr(t->text, quotes[i].fresh));
	}
}

static void test_deep_nesting(void **state)
{
	(void)state;
	GString *s = g_string_new(NULL);
	for (int i = 0; i < 50000; i++)
		g_string_append(s, "<div><blockquote type=cite>");
	g_string_append(s, "deep");
	g_autoptr(DkHtmlText) t = dk_html_to_text(s->str, s->len);
	assert_non_null(t->text);
	g_string_free(s, TRUE);
}

static void test_broken_html(void **state)
{
	(void)state;
	static const char html[] = "<p>unclosed <b>bold <i>both</p></b> after</i><<<>>&bogus;";
	g_autoptr(DkHtmlText) t = dk_html_to_text(html, strlen(html));
	assert_non_null(strstr(t->text, "unclosed bold both"));
	assert_non_null(strstr(t->text, "after"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conversion),
	    cmocka_unit_test(test_quote_containers),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_broken_html),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
