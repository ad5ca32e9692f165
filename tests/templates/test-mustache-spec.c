/* Runs every case of the official Mustache specification (the JSON files
 * of conformance/mustache/specs in DOCKET_SHARED) through templates/mustache
 * and prints the counts per file; lambda cases are counted as skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dk-test.h"
#include "templates/mustache.h"

typedef struct {
	guint passed, failed, skipped;
} Counts;

static Counts total;
static char *spec_dir;

/* Lambda data carries {"__tag__": "code", "js": ...}: no C equivalent. */
static gboolean has_lambda(json_t *v)
{
	if (json_is_object(v)) {
		json_t *tag = json_object_get(v, "__tag__");
		if (json_is_string(tag) && strcmp(json_string_value(tag), "code") == 0)
			return TRUE;
		const char *k;
		json_t *c;
		json_object_foreach(v, k, c) if (has_lambda(c)) return TRUE;
	} else if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c) if (has_lambda(c)) return TRUE;
	}
	return FALSE;
}

static char *load_partial(const char *name, gpointer user_data, GError **error)
{
	json_t *p = json_object_get(user_data, name);
	return json_is_string(p) ? g_strdup(json_string_value(p)) : NULL;
}

static gboolean run_case(const char *file, json_t *test)
{
	const char *name = json_string_value(json_object_get(test, "name"));
	const char *source = json_string_value(json_object_get(test, "template"));
	const char *expected = json_string_value(json_object_get(test, "expected"));
	g_autoptr(GError) error = NULL;
	g_autoptr(DkTemplate) t = dk_template_parse(source, &error);
	g_autofree char *out = NULL;
	if (t != NULL)
		out = dk_template_render(t, json_object_get(test, "data"), load_partial,
		                         json_object_get(test, "partials"), &error);
	if (out != NULL && strcmp(out, expected) == 0)
		return TRUE;
	g_autofree char *e_expected = g_strescape(expected, NULL);
	g_autofree char *e_out = out != NULL ? g_strescape(out, NULL) : NULL;
	printf("FAIL %s: %s\n  expected \"%s\"\n  got      %s%s%s\n", file, name, e_expected,
	       e_out != NULL ? "\"" : "", e_out != NULL ? e_out : error->message,
	       e_out != NULL ? "\"" : "");
	return FALSE;
}

static void test_spec_file(void **state)
{
	const char *file = *state;
	g_autofree char *path = g_build_filename(spec_dir, file, NULL);
	json_error_t jerr;
	json_t *spec = json_load_file(path, 0, &jerr);
	assert_non_null(spec);
	json_t *tests = json_object_get(spec, "tests");
	assert_true(json_array_size(tests) > 0);
	Counts c = {0};
	size_t i;
	json_t *test;
	json_array_foreach(tests, i, test)
	{
		if (has_lambda(json_object_get(test, "data")))
			c.skipped++;
		else if (run_case(file, test))
			c.passed++;
		else
			c.failed++;
	}
	json_decref(spec);
	printf("mustache spec: %s: %u passed, %u failed, %u skipped (lambdas)\n", file, c.passed,
	       c.failed, c.skipped);
	total.passed += c.passed;
	total.failed += c.failed;
	total.skipped += c.skipped;
	fflush(stdout);
	assert_int_equal(c.failed, 0);
}

static int compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	g_autofree char *root = dk_test_shared_path("conformance/mustache/specs");
	if (root == NULL) {
		printf("mustache spec: ../shared/conformance/mustache absent, skipped\n");
		return DK_TEST_SKIP;
	}
	spec_dir = root;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	GDir *dir = g_dir_open(root, 0, NULL);
	assert_non_null(dir);
	const char *name;
	while ((name = g_dir_read_name(dir)) != NULL)
		if (g_str_has_suffix(name, ".json"))
			g_ptr_array_add(files, g_strdup(name));
	g_dir_close(dir);
	g_ptr_array_sort(files, compare_names);
	struct CMUnitTest *tests = g_new0(struct CMUnitTest, files->len);
	for (guint i = 0; i < files->len; i++) {
		tests[i] =
		    (struct CMUnitTest)cmocka_unit_test_prestate(test_spec_file, files->pdata[i]);
		tests[i].name = files->pdata[i];
	}
	int failures = _cmocka_run_group_tests("mustache-spec", tests, files->len, NULL, NULL);
	printf("mustache spec: total: %u passed, %u failed, %u skipped (lambdas)\n", total.passed,
	       total.failed, total.skipped);
	g_free(tests);
	return failures == 0 && files->len > 0 && total.failed == 0 ? 0 : 1;
}
