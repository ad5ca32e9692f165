/* Unit tests of templates/notification: the default templates, header
 * splitting and one-line header values, override lookup and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "dk-test.h"
#include "templates/notification.h"

static json_t *ticket_data(const char *subject)
{
	json_t *d = json_pack(
	    "{s:{s:i, s:s, s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s},"
	    " s:{s:s, s:s}, s:{s:s}}",
	    "ticket", "number", 42, "token", "[#42]", "subject", subject, "status", "open",
	    "priority", "high", "queue", "support", "link", "https://desk.example.com/t/42?a=1&b=2",
	    "article", "new_text", "The printer says <PC LOAD LETTER> & stops.", "full_text",
	    "The printer says <PC LOAD LETTER> & stops.\n\n> older", "sender", "ann@example.com",
	    "requester", "name", "Ann O'Neil", "address", "ann@example.com", "agent", "name", "Bob",
	    "address", "bob@example.com", "organisation", "name", "Example & Co");
	assert_non_null(d);
	return d;
}

static void test_defaults_render(void **state)
{
	g_autofree const char **names = dk_notification_default_names();
	const char *expected[] = {"ack",      "agent-reply", "team-new", "assignee-reply",
	                          "resolved", "sla-breach"};
	json_t *full = ticket_data("Printer on fire");
	json_t *empty = json_object();
	for (gsize i = 0; i < G_N_ELEMENTS(expected); i++) {
		for (int d = 0; d < 2; d++) {
			g_autoptr(GError) error = NULL;
			g_autoptr(DkNotification) n = dk_notification_build(
			    expected[i], NULL, d == 0 ? full : empty, NULL, NULL, &error);
			if (n == NULL)
				fail_msg("%s: %s", expected[i], error->message);
			assert_null(strstr(n->text, "{{"));
			assert_null(strstr(n->text, "&amp;"));
			if (d == 0)
				assert_non_null(strstr(n->subject, "[#42]"));
			assert_null(strchr(n->subject, '\n'));
			assert_non_null(n->text);
		}
	}
	json_decref(full);
	json_decref(empty);
	assert_non_null(names[0]);
}

static void test_ack_content(void **state)
{
	json_t *d = ticket_data("Q&A <urgent>");
	g_autoptr(GError) error = NULL;
	g_autoptr(DkNotification) n = dk_notification_build("ack", NULL, d, NULL, NULL, &error);
	assert_non_null(n);
	assert_string_equal(n->subject, "[#42] Q&A <urgent>");
	assert_null(n->from);
	assert_null(n->reply_to);
	assert_true(g_str_has_prefix(n->text, "Hello Ann O'Neil,\n\nThank you for contacting "
	                                      "Example & Co."));
	assert_non_null(strstr(n->text, "\nhttps://desk.example.com/t/42?a=1&b=2\n"));
	assert_true(g_str_has_suffix(n->text, "\n-- \nExample & Co support\n"));
	assert_non_null(n->html);
	assert_non_null(strstr(n->html, "Hello Ann O&#39;Neil,"));
	assert_non_null(strstr(n->html, "href=\"https://desk.example.com/t/42?a=1&amp;b=2\""));
	assert_non_null(strstr(n->html, "Example &amp; Co support"));
	json_decref(d);
}

static void test_header_injection(void **state)
{
	json_t *d = ticket_data("Hello\r\nBcc: victim@example.org\nX: y");
	json_object_set_new(json_object_get(d, "agent"), "name", json_string("Eve\r\nBcc: a@b"));
	const char *src = "Subject: {{ticket.token}} {{ticket.subject}}\r\n"
	                  "From: {{agent.name}} <support@example.com>\r\n"
	                  "Reply-To:   support@example.com  \r\n\r\nBody {{agent.name}}\r\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(DkNotification) n =
	    dk_notification_render(src, NULL, "t.txt", d, NULL, NULL, NULL, &error);
	assert_non_null(n);
	assert_string_equal(n->subject, "[#42] Hello  Bcc: victim@example.org X: y");
	assert_string_equal(n->from, "Eve  Bcc: a@b <support@example.com>");
	assert_string_equal(n->reply_to, "support@example.com");
	assert_string_equal(n->text, "Body Eve\r\nBcc: a@b\r\n");
	assert_null(n->html);
	json_decref(d);
}

typedef struct {
	const char *path, *source;
} FakeFile;

static const FakeFile fake_files[] = {
    {"sales/ack.txt", "Subject: sales {{ticket.number}}\n\nsales body {{> signature}}"},
    {"ack.txt", "Subject: global\nFrom: Help <help@example.com>\n\nglobal body"},
    {"signature.txt", "(global signature)"},
    {"sales/signature.txt", "(sales signature)"},
    {"broken/ack.txt", "Subject: x\n\n{{#a}}"},
};

static char *fake_loader(const char *path, gpointer user_data, GError **error)
{
	GPtrArray *asked = user_data;
	g_ptr_array_add(asked, g_strdup(path));
	if (strcmp(path, "io/ack.txt") == 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "disk on fire");
		return NULL;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(fake_files); i++)
		if (strcmp(fake_files[i].path, path) == 0)
			return g_strdup(fake_files[i].source);
	return NULL;
}

static DkNotification *build(const char *queue, GPtrArray *asked, GError **error)
{
	json_t *d = ticket_data("s");
	DkNotification *n = dk_notification_build("ack", queue, d, fake_loader, asked, error);
	json_decref(d);
	return n;
}

static void test_override_lookup(void **state)
{
	g_autoptr(GPtrArray) asked = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkNotification) sales = build("sales", asked, &error);
	assert_non_null(sales);
	assert_string_equal(sales->subject, "sales 42");
	assert_string_equal(sales->text, "sales body (sales signature)");
	/* The text came from the queue folder: no default HTML is paired with it. */
	assert_null(sales->html);
	assert_string_equal(asked->pdata[0], "sales/ack.txt");
	assert_string_equal(asked->pdata[1], "sales/ack.html");

	g_autoptr(DkNotification) other = build("support", asked, &error);
	assert_string_equal(other->subject, "global");
	assert_string_equal(other->from, "Help <help@example.com>");
	/* A queue name that is not a safe folder name has no folder. */
	g_ptr_array_set_size(asked, 0);
	g_autoptr(DkNotification) evil = build("../etc", asked, &error);
	assert_string_equal(evil->subject, "global");
	assert_string_equal(asked->pdata[0], "ack.txt");

	g_autofree char *origin = NULL;
	g_autofree char *def =
	    dk_notification_find("ack.txt", "sales", NULL, NULL, &origin, &error);
	assert_string_equal(origin, "default/ack.txt");
	assert_string_equal(def, dk_notification_default("ack.txt"));
}

static void test_lookup_errors(void **state)
{
	g_autoptr(GPtrArray) asked = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkNotification) io = build("io", asked, &error);
	assert_null(io);
	assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_IO));
	assert_string_equal(error->message, "io/ack.txt: disk on fire");
	g_clear_error(&error);

	g_autoptr(DkNotification) broken = build("broken", asked, &error);
	assert_null(broken);
	assert_string_equal(error->message, "broken/ack.txt:3:1: unclosed section {{#a}}");
	g_clear_error(&error);

	const char *bad_names[] = {"../ack.txt", ".hidden", "a/b", "", "a\nb"};
	for (gsize i = 0; i < G_N_ELEMENTS(bad_names); i++) {
		g_autofree char *s =
		    dk_notification_find(bad_names[i], NULL, fake_loader, asked, NULL, &error);
		assert_null(s);
		assert_true(
		    g_error_matches(error, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_NAME));
		g_clear_error(&error);
	}
	g_autofree char *none = dk_notification_find("nope.txt", NULL, NULL, NULL, NULL, &error);
	assert_null(none);
	assert_true(g_error_matches(error, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_NOT_FOUND));
}

typedef struct {
	const char *source, *message;
} SplitError;

static const SplitError split_errors[] = {
    {"Subject: {{#x}}\n\nbody", "t.txt:1:10: unclosed section {{#x}}"},
    {"Subject: ok\nX-Foo: a\n\nbody",
     "t.txt:2:1: expected a Subject, From or Reply-To header line, or a blank line before the "
     "body"},
    {"Subject: ok\nbody without blank line", "t.txt:2:1: expected a Subject, From or Reply-To "
                                             "header line, or a blank line before the body"},
    {"Subject: ok", "t.txt:1:1: no blank line between the header lines and the body"},
    {"From: a@b\n\nbody", "t.txt:1:1: no Subject header line"},
    {"Subject: a\n  folded\n\nbody", "t.txt:2:1: folded header lines are not supported"},
    {"Subject: a\nsubject: b\n\nbody", "t.txt:2:1: header line given twice"},
    {"Subject: s\r\n\r\nline\n\n  {{/x}}", "t.txt:5:3: close tag {{/x}} without an open section"},
};

static void test_split_errors(void **state)
{
	for (gsize i = 0; i < G_N_ELEMENTS(split_errors); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DkNotification) n = dk_notification_render(
		    split_errors[i].source, NULL, "t.txt", NULL, NULL, NULL, NULL, &error);
		assert_null(n);
		assert_true(
		    g_error_matches(error, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_SYNTAX));
		assert_string_equal(error->message, split_errors[i].message);
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(DkNotification) n = dk_notification_render("Subject: s\n\nok", "{{#a}}", "t.txt",
	                                                     NULL, NULL, NULL, NULL, &error);
	assert_null(n);
	assert_string_equal(error->message, "t.html:1:1: unclosed section {{#a}}");
}

static void test_looks_like(void **state)
{
	assert_true(dk_notification_looks_like("Subject: x\n\nbody"));
	assert_true(dk_notification_looks_like("reply-to: x\n"));
	assert_false(dk_notification_looks_like("Hello {{name}}: welcome\n"));
	assert_false(dk_notification_looks_like("Hello\nSubject: x"));
	assert_false(dk_notification_looks_like(""));
}

/* Every default template uses only names the data has; a typo is found
 * with its place, resolved through sections as rendering does. */
static void test_names_checked(void **state)
{
	(void)state;
	g_autofree const char **names = dk_notification_default_names();
	for (gsize i = 0; names[i] != NULL; i++) {
		g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GError) error = NULL;
		assert_true(dk_notification_check(dk_notification_default(names[i]), names[i],
		                                  problems, &error));
		if (problems->len > 0)
			fail_msg("%s", (char *)g_ptr_array_index(problems, 0));
	}
	static const char source[] =
	    "Subject: {{ticket.token}} {{ticket.subjct}}\n"
	    "\n"
	    "{{#requester}}{{name}} {{nme}}{{/requester}}\n"
	    "{{#ticket.link}}{{ticket.link}} {{.}}{{/ticket.link}}\n"
	    "{{^agent}}{{agent.name}}{{/agent}}{{> signature}}{{#nothing}}{{x}}{{/nothing}}\n";
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	assert_true(dk_notification_check(source, "t.txt", problems, NULL));
	assert_int_equal(problems->len, 4);
	assert_string_equal(g_ptr_array_index(problems, 0),
	                    "t.txt:1:27: unknown variable “ticket.subjct”");
	assert_string_equal(g_ptr_array_index(problems, 1), "t.txt:3:24: unknown variable “nme”");
	assert_string_equal(g_ptr_array_index(problems, 2),
	                    "t.txt:5:50: unknown variable “nothing”");
	assert_string_equal(g_ptr_array_index(problems, 3), "t.txt:5:62: unknown variable “x”");
	/* a body alone (an HTML sibling, a partial) */
	g_ptr_array_set_size(problems, 0);
	assert_true(dk_notification_check("<p>{{organisation.name}} {{sla.due}} {{org}}</p>",
	                                  "s.html", problems, NULL));
	assert_int_equal(problems->len, 1);
	assert_string_equal(g_ptr_array_index(problems, 0), "s.html:1:38: unknown variable “org”");
	g_autoptr(GError) error = NULL;
	assert_false(dk_notification_check("Subject: {{#a}}\n\nx", "bad.txt", problems, &error));
	assert_true(g_error_matches(error, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_SYNTAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_render),  cmocka_unit_test(test_ack_content),
	    cmocka_unit_test(test_header_injection), cmocka_unit_test(test_override_lookup),
	    cmocka_unit_test(test_lookup_errors),    cmocka_unit_test(test_split_errors),
	    cmocka_unit_test(test_looks_like),       cmocka_unit_test(test_names_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
