/* Unit tests of templates/mustache beyond the spec: escaping modes, value
 * formatting, syntax errors with their positions, and the render bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "dk-test.h"
#include "templates/mustache.h"

static json_t *json(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
	assert_non_null(v);
	return v;
}

static char *render(const char *source, const char *data, DkTemplateEscape escape)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkTemplate) t = dk_template_parse(source, &error);
	if (t == NULL)
		fail_msg("parse %s: %s", source, error->message);
	json_t *d = json(data);
	DkTemplateOptions opts = {.escape = escape};
	char *out = dk_template_render_with(t, d, &opts, &error);
	json_decref(d);
	if (out == NULL)
		fail_msg("render %s: %s", source, error->message);
	return out;
}

typedef struct {
	const char *source, *data, *html, *text;
} RenderCase;

static const RenderCase render_cases[] = {
    {"Hi {{name}}", "{\"name\": \"<b>Q&A</b> 'x'\"}", "Hi &lt;b&gt;Q&amp;A&lt;/b&gt; &#39;x&#39;",
     "Hi <b>Q&A</b> 'x'"},
    {"{{{name}}}|{{& name}}", "{\"name\": \"a&b\"}", "a&b|a&b", "a&b|a&b"},
    {"{{a.b.c}}", "{\"a\": {\"b\": {\"c\": \"deep\"}}}", "deep", "deep"},
    {"{{a.b.c}}", "{\"a\": {\"b\": 3}}", "", ""},
    {"{{#list}}{{.}},{{/list}}", "{\"list\": [1, 2.5, true, null, \"x\"]}", "1,2.5,true,,x,",
     "1,2.5,true,,x,"},
    {"{{n}} {{r}} {{big}}", "{\"n\": -7, \"r\": 0.1, \"big\": 9007199254740993}",
     "-7 0.1 9007199254740993", "-7 0.1 9007199254740993"},
    /* An empty string is falsy, so optional values can guard text. */
    {"{{#link}}<{{link}}>{{/link}}{{^link}}none{{/link}}", "{\"link\": \"\"}", "none", "none"},
    {"{{#link}}<{{link}}>{{/link}}", "{\"link\": \"http://x/?a&b\"}", "<http://x/?a&amp;b>",
     "<http://x/?a&b>"},
    {"{{#obj}}{{x}}{{y}}{{/obj}}", "{\"obj\": {\"x\": 1}, \"y\": 2}", "12", "12"},
    {"{{#empty}}x{{/empty}}{{^empty}}y{{/empty}}", "{\"empty\": []}", "y", "y"},
    {"{{=<% %>=}}<% x %>{{x}}<%={{ }}=%>{{x}}", "{\"x\": 1}", "1{{x}}1", "1{{x}}1"},
    {"caf\xc3\xa9 {{v}}", "{\"v\": \"\xe2\x82\xac\"}", "caf\xc3\xa9 \xe2\x82\xac",
     "caf\xc3\xa9 \xe2\x82\xac"},
    {"{{.}}", "\"top\"", "top", "top"},
    {"a\r\n  {{#s}}\r\n  b\r\n  {{/s}}\r\nc", "{\"s\": 1}", "a\r\n  b\r\nc", "a\r\n  b\r\nc"},
};

static void test_render_table(void **state)
{
	for (gsize i = 0; i < G_N_ELEMENTS(render_cases); i++) {
		const RenderCase *c = &render_cases[i];
		g_autofree char *html = render(c->source, c->data, DK_TEMPLATE_ESCAPE_HTML);
		g_autofree char *text = render(c->source, c->data, DK_TEMPLATE_ESCAPE_NONE);
		assert_string_equal(html, c->html);
		assert_string_equal(text, c->text);
	}
}

typedef struct {
	const char *source, *message;
} ErrorCase;

static const ErrorCase error_cases[] = {
    {"{{#a}}x", "line 1, column 1: unclosed section {{#a}}"},
    {"x\n  {{^b}}\n", "line 2, column 3: unclosed section {{^b}}"},
    {"x\n  {{/a}}", "line 2, column 3: close tag {{/a}} without an open section"},
    {"{{#a}}\n {{#b}}{{/a}}",
     "line 2, column 8: close tag {{/a}} does not match {{#b}} opened at line 2, column 2"},
    {"ab {{x", "line 1, column 4: unclosed tag"},
    {"{{{x}}", "line 1, column 1: unclosed tag"},
    {"\n\n\t{{=<%%>=}}", "line 3, column 2: bad set-delimiter tag: expected {{=OPEN CLOSE=}}"},
    {"{{= a =}}", "line 1, column 1: bad set-delimiter tag: expected {{=OPEN CLOSE=}}"},
    {"{{=a= b=}}", "line 1, column 1: bad set-delimiter tag: expected {{=OPEN CLOSE=}}"},
    {"x{{ }}", "line 1, column 2: empty tag name"},
    {"{{#}}", "line 1, column 1: empty tag name"},
    {"{{=[ ]=}}\n[#a]\n{{/a}}", "line 2, column 1: unclosed section {{#a}}"},
    {"{{<p}}{{$b}}{{/p}}",
     "line 1, column 13: close tag {{/p}} does not match {{$b}} opened at line 1, column 7"},
};

static void test_syntax_errors(void **state)
{
	for (gsize i = 0; i < G_N_ELEMENTS(error_cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DkTemplate) t = dk_template_parse(error_cases[i].source, &error);
		assert_null(t);
		assert_true(g_error_matches(error, DK_TEMPLATE_ERROR, DK_TEMPLATE_ERROR_SYNTAX));
		assert_string_equal(error->message, error_cases[i].message);
	}
}

static void test_parse_at_offsets_positions(void **state)
{
	g_autoptr(GError) error = NULL;
	const char *src = "ab {{#x}}";
	g_autoptr(DkTemplate) t = dk_template_parse_at(src, strlen(src), 7, 10, &error);
	assert_null(t);
	assert_string_equal(error->message, "line 7, column 13: unclosed section {{#x}}");
	g_clear_error(&error);
	const char *two = "a\n{{/y}}";
	g_autoptr(DkTemplate) t2 = dk_template_parse_at(two, strlen(two), 7, 10, &error);
	assert_null(t2);
	assert_string_equal(error->message,
	                    "line 8, column 1: close tag {{/y}} without an open section");
}

static void test_nesting_cap(void **state)
{
	GString *s = g_string_new(NULL);
	for (int i = 0; i < DK_TEMPLATE_MAX_NESTING; i++)
		g_string_append(s, "{{#a}}");
	for (int i = 0; i < DK_TEMPLATE_MAX_NESTING; i++)
		g_string_append(s, "{{/a}}");
	g_autoptr(DkTemplate) ok = dk_template_parse(s->str, NULL);
	assert_non_null(ok);
	g_string_prepend(s, "{{#a}}");
	g_string_append(s, "{{/a}}");
	g_autoptr(GError) error = NULL;
	g_autoptr(DkTemplate) t = dk_template_parse(s->str, &error);
	assert_null(t);
	assert_string_equal(error->message, "line 1, column 601: sections nested too deeply");
	g_string_free(s, TRUE);
}

/* Partials from a JSON object; "fail" makes the loader report an error. */
static char *object_loader(const char *name, gpointer user_data, GError **error)
{
	if (strcmp(name, "fail") == 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_ACCES, "denied");
		return NULL;
	}
	json_t *p = json_object_get(user_data, name);
	return json_is_string(p) ? g_strdup(json_string_value(p)) : NULL;
}

static char *render_partials(const char *source, const char *partials, DkTemplateOptions *opts,
                             GError **error)
{
	g_autoptr(DkTemplate) t = dk_template_parse(source, NULL);
	assert_non_null(t);
	json_t *p = json(partials);
	json_t *data = json("{\"a\": true, \"list\": [1, 2, 3]}");
	opts->loader = object_loader;
	opts->user_data = p;
	char *out = dk_template_render_with(t, data, opts, error);
	json_decref(p);
	json_decref(data);
	return out;
}

static void test_partials(void **state)
{
	DkTemplateOptions opts = {0};
	g_autoptr(GError) error = NULL;
	g_autofree char *out =
	    render_partials("[{{>missing}}]\n  {{>p}}\n", "{\"p\": \"x\\ny\\n\"}", &opts, &error);
	assert_string_equal(out, "[]\n  x\n  y\n");
	g_autofree char *failed = render_partials("{{>fail}}", "{}", &opts, &error);
	assert_null(failed);
	assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_ACCES));
	assert_string_equal(error->message, "partial \"fail\": denied");
	g_clear_error(&error);
	g_autofree char *bad =
	    render_partials("x{{>bad}}", "{\"bad\": \"\\n{{#a}}\"}", &opts, &error);
	assert_null(bad);
	assert_true(g_error_matches(error, DK_TEMPLATE_ERROR, DK_TEMPLATE_ERROR_PARTIAL));
	assert_string_equal(error->message,
	                    "partial \"bad\": line 2, column 1: unclosed section {{#a}}");
}

static void test_inheritance_and_dynamic_names(void **state)
{
	DkTemplateOptions opts = {0};
	g_autoptr(GError) error = NULL;
	const char *partials = "{\"base\": \"<h1>{{$title}}untitled{{/title}}</h1>\\n"
	                       "  {{$body}}\\n  nothing\\n  {{/body}}\\n\", \"x\": \"[x]\"}";
	g_autofree char *out =
	    render_partials("{{<base}}{{$title}}T{{/title}}{{/base}}\n", partials, &opts, &error);
	assert_string_equal(out, "<h1>T</h1>\n  nothing\n\n");
	/* The override's own indentation is replaced by the block's. */
	g_autofree char *body = render_partials(
	    "{{<base}}\n{{$body}}\n\tone\n\t  two\n{{/body}}\n{{/base}}", partials, &opts, &error);
	assert_string_equal(body, "<h1>untitled</h1>\n  one\n    two\n");
	/* An empty block alone on the last line, without a line ending. */
	g_autofree char *last =
	    render_partials("{{<e}}{{/e}}", "{\"e\": \"a\\n  {{$b}}{{/b}}  \"}", &opts, &error);
	assert_string_equal(last, "a\n");
	g_autofree char *kept =
	    render_partials("{{<e}}{{$b}}x{{/b}}{{/e}}",
	                    "{\"e\": \"a\\r\\n  {{$b}}{{/b}}  \\r\\nz\"}", &opts, &error);
	assert_string_equal(kept, "a\r\n  x\r\nz");
	/* Dynamic names take strings only; anything else renders nothing. */
	g_autoptr(DkTemplate) t = dk_template_parse("{{>*a}}|{{>*list}}|{{>*missing}}", NULL);
	json_t *p = json(partials);
	json_t *data = json("{\"a\": \"x\", \"list\": [\"x\"]}");
	g_autofree char *dyn = dk_template_render(t, data, object_loader, p, &error);
	assert_string_equal(dyn, "[x]||");
	json_decref(p);
	json_decref(data);
}

static void test_limits(void **state)
{
	DkTemplateOptions opts = {.max_partial_depth = 5};
	g_autoptr(GError) error = NULL;
	g_autofree char *deep =
	    render_partials("{{>self}}", "{\"self\": \"x{{>self}}\"}", &opts, &error);
	assert_null(deep);
	assert_true(g_error_matches(error, DK_TEMPLATE_ERROR, DK_TEMPLATE_ERROR_LIMIT));
	g_clear_error(&error);

	DkTemplateOptions small = {.max_output = 10};
	g_autofree char *ok = render_partials("{{#list}}abc{{/list}}", "{}", &small, &error);
	assert_string_equal(ok, "abcabcabc");
	g_autofree char *big = render_partials("{{#list}}abcd{{/list}}", "{}", &small, &error);
	assert_null(big);
	assert_string_equal(error->message, "rendered output is too large");
	g_clear_error(&error);
	g_autofree char *huge =
	    render_partials("{{>p}}", "{\"p\": \"0123456789a\"}", &small, &error);
	assert_null(huge);
	assert_string_equal(error->message, "partial is too large");
	g_clear_error(&error);

	/* Two self-inclusions a level: 2^32 partials without a bound on work. */
	DkTemplateOptions work = {.max_steps = 100000};
	g_autofree char *bomb =
	    render_partials("{{>p}}", "{\"p\": \"{{#a}}{{>p}}{{>p}}{{/a}}\"}", &work, &error);
	assert_null(bomb);
	assert_true(g_error_matches(error, DK_TEMPLATE_ERROR, DK_TEMPLATE_ERROR_LIMIT));
}

static void test_reuse_and_defaults(void **state)
{
	g_autoptr(DkTemplate) t = dk_template_parse("{{x}}{{#x}}!{{/x}}", NULL);
	json_t *d = json("{\"x\": \"<\"}");
	for (int i = 0; i < 3; i++) {
		g_autofree char *out = dk_template_render(t, d, NULL, NULL, NULL);
		assert_string_equal(out, "&lt;!");
	}
	g_autofree char *none = dk_template_render(t, NULL, NULL, NULL, NULL);
	assert_string_equal(none, "");
	json_decref(d);
	dk_template_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_table),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_parse_at_offsets_positions),
	    cmocka_unit_test(test_nesting_cap),
	    cmocka_unit_test(test_partials),
	    cmocka_unit_test(test_inheritance_and_dynamic_names),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_reuse_and_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
