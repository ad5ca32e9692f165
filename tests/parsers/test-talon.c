/* Checks dk_reply_split and dk_reply_signature_split against the talon
 * fixtures in the shared corpus (talon/expectations.json). HTML fixtures
 * belong to the HTML converter and are reported as skipped. */
#include "parsers/message.h"
#include "parsers/reply.h"

#include "dk-test.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static char *talon_dir;
static json_t *expectations;

static char *read_fixture(const char *sub)
{
	g_autofree char *path = g_build_filename(talon_dir, "fixtures", sub, NULL);
	char *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &data, &len, NULL))
		fail_msg("cannot read %s", path);
	return data;
}

/* The decoded first text/plain part of a fixture message. */
static char *message_text(const char *sub)
{
	g_autofree char *raw = read_fixture(sub);
	g_autoptr(GBytes) bytes = g_bytes_new(raw, strlen(raw));
	g_autoptr(GError) error = NULL;
	g_autoptr(DkMessage) m = dk_message_parse(bytes, NULL, &error);
	assert_non_null(m);
	assert_false(m->html);
	return g_strdup(m->text);
}

/* talon keeps signatures in its reply; docket removes them. The expected
 * new text is talon's reply up to its signature, and the signature must be
 * in the quoted part. */
static void split_expected(const char *reply, char **before_out, char **sig_out)
{
	const char *markers[] = {"\n-- \n", "\nSent from my "};
	const char *cut = NULL;
	for (guint k = 0; k < G_N_ELEMENTS(markers); k++) {
		const char *at = strstr(reply, markers[k]);
		if (at != NULL && (cut == NULL || at < cut))
			cut = at;
	}
	*before_out = g_strstrip(cut ? g_strndup(reply, (gsize)(cut - reply)) : g_strdup(reply));
	*sig_out = cut ? g_strstrip(g_strdup(cut)) : NULL;
}

static void test_standard_replies(void **state)
{
	(void)state;
	json_t *all =
	    json_object_get(json_object_get(expectations, "expectations"), "standard_replies");
	const char *name;
	json_t *exp;
	guint total = 0, passed = 0;
	json_object_foreach(all, name, exp)
	{
		g_autofree char *sub = g_build_filename("standard_replies", name, NULL);
		g_autofree char *text = message_text(sub);
		g_autofree char *fresh = NULL, *quoted = NULL, *want = NULL, *sig = NULL;
		dk_reply_split(text, &fresh, &quoted);
		split_expected(json_string_value(json_object_get(exp, "reply_text")), &want, &sig);
		gboolean ok =
		    strcmp(fresh, want) == 0 && (sig == NULL || strstr(quoted, sig) != NULL);
		total++;
		passed += ok;
		printf("%s standard_replies/%s%s%s%s\n", ok ? "ok  " : "MISS", name,
		       ok ? "" : " new text: [", ok ? "" : fresh, ok ? "" : "]");
	}
	printf("talon standard replies: %u/%u\n", passed, total);
	assert_true(total >= 12);
	assert_int_equal(passed, total);
}

/* Reply and quotation header share one block ("Joe XXX\n\n--- On Wed ...
 * wrote:" over an unquoted original). */
static void test_shared_block(void **state)
{
	(void)state;
	g_autofree char *text = message_text("reply-quotations-share-block.eml");
	g_autofree char *fresh = NULL, *quoted = NULL;
	dk_reply_split(text, &fresh, &quoted);
	printf("reply-quotations-share-block.eml: new text [%s]\n", fresh);
	assert_true(*fresh != '\0');
	assert_null(strstr(fresh, "From"));
	assert_non_null(strstr(fresh, "Hi Katharine."));
	assert_non_null(strstr(quoted, "From: xxx@example.com"));
}

static void test_signatures(void **state)
{
	(void)state;
	json_t *all =
	    json_object_get(json_object_get(expectations, "expectations"), "signature_stripped");
	const char *name;
	json_t *exp;
	guint total = 0, passed = 0;
	json_object_foreach(all, name, exp)
	{
		const char *want = json_string_value(json_object_get(exp, "expected_signature"));
		g_autofree char *sub =
		    g_build_filename("signature", "emails", "stripped",
		                     json_string_value(json_object_get(exp, "body")), NULL);
		g_autofree char *body = read_fixture(sub);
		const char *sender = json_string_value(json_object_get(exp, "sender"));
		g_autofree char *above = NULL, *sig = NULL;
		gboolean found = dk_reply_signature_split(body, sender, &above, &sig);
		gboolean ok;
		if (*want == '\0') {
			ok = !found;
		} else {
			/* The rest must be the body less the signature. */
			g_autofree char *rest = g_strdup(body);
			char *at = found ? strstr(rest, want) : NULL;
			if (at != NULL)
				*at = '\0';
			g_strstrip(rest);
			ok = found && strcmp(sig, want) == 0 && strcmp(above, rest) == 0;
		}
		total++;
		passed += ok;
		printf("%s signature %s%s%s%s\n", ok ? "ok  " : "MISS", name, ok ? "" : " found: [",
		       ok ? "" : (found ? sig : "(none)"), ok ? "" : "]");
	}
	printf("talon signatures: %u/%u\n", passed, total);
	assert_true(total >= 6);
	assert_int_equal(passed, total);
}

/* talon's HTML fixtures are answered in the HTML, before conversion to text;
 * that is the HTML converter's job, not the plain-text splitter's. */
static void test_html_skipped(void **state)
{
	(void)state;
	json_t *top = json_object_get(expectations, "expectations");
	const char *name;
	json_t *exp;
	guint skipped = 0;
	json_object_foreach(json_object_get(top, "html_replies"), name, exp)
	{
		printf("skip html_replies/%s: HTML quote blocks are recognised by the HTML "
		       "converter (parsers/message.c), not by dk_reply_split\n",
		       name);
		skipped++;
	}
	json_object_foreach(json_object_get(top, "other"), name, exp)
	{
		if (!g_str_has_suffix(name, ".html"))
			continue;
		printf("skip %s: expects HTML output (%s); HTML converter's job\n", name,
		       json_string_value(json_object_get(exp, "note")));
		skipped++;
	}
	printf("talon HTML fixtures skipped: %u\n", skipped);
	assert_true(skipped >= 11);
}

/* The classifier's training samples carry no expected output: only check
 * that nothing breaks on them. */
static void test_training_samples(void **state)
{
	(void)state;
	const char *names[] = {"102682_R_S", "johndoeexamplecom_body", "unicode_msg"};
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *sub = g_build_filename("signature", "emails", "P", names[i], NULL);
		g_autofree char *body = read_fixture(sub);
		g_autofree char *fresh = NULL, *quoted = NULL, *above = NULL, *sig = NULL;
		dk_reply_split(body, &fresh, &quoted);
		/* 102682_R_S opens with a From/Subject/Date block: all history. */
		assert_true(*fresh != '\0' || *quoted != '\0');
		if (dk_reply_signature_split(body, NULL, &above, &sig))
			assert_true(*above != '\0');
	}
}

int main(void)
{
	talon_dir = dk_test_shared_path("corpus/talon");
	if (talon_dir == NULL) {
		printf("shared corpus absent: talon fixtures skipped\n");
		return DK_TEST_SKIP;
	}
	g_autofree char *json_path = g_build_filename(talon_dir, "expectations.json", NULL);
	json_error_t jerr;
	expectations = json_load_file(json_path, 0, &jerr);
	if (expectations == NULL) {
		fprintf(stderr, "%s: %s\n", json_path, jerr.text);
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_standard_replies), cmocka_unit_test(test_shared_block),
	    cmocka_unit_test(test_signatures),       cmocka_unit_test(test_html_skipped),
	    cmocka_unit_test(test_training_samples),
	};
	int failed = cmocka_run_group_tests_name("talon", tests, NULL, NULL);
	json_decref(expectations);
	g_free(talon_dir);
	return failed;
}
