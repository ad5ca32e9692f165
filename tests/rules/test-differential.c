/* Differential test against Pigeonhole's sieve-test: for the standard
 * subset (keep, discard, fileinto, redirect, reject, addflag, setflag),
 * each script run over messages of the shared corpus (DOCKET_SHARED) must
 * give the same actions in docket as in sieve-test. Skips (77) when
 * sieve-test or the corpus is absent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <gio/gio.h>

#include "rules/sieve.h"
#include "tests/dk-test.h"

#define ENVELOPE_FROM "sender@example.com"
#define ENVELOPE_TO "support+billing@example.org"
#define MAX_MESSAGES 50

static const char *const scripts[] = {
    "keep;",
    "discard;",
    "require \"fileinto\";\nif header :contains \"subject\" \"re\" { fileinto \"Replies\"; }",
    "require \"fileinto\";\nif address :domain :is \"from\" [\"example.com\", \"example.org\", "
    "\"gmail.com\"] { fileinto \"Known\"; } else { keep; }",
    "require \"fileinto\";\nif header :matches \"subject\" \"*[*]*\" { fileinto \"Tagged\"; }",
    "require \"fileinto\";\nif size :over 10K { fileinto \"Big\"; } elsif size :under 2K { "
    "discard; }",
    "require \"fileinto\";\nif anyof (exists \"list-id\", exists \"list-unsubscribe\", header :is "
    "\"precedence\" [\"bulk\", \"list\"]) { fileinto \"Lists\"; stop; }\nkeep;",
    "if allof (not exists \"in-reply-to\", not header :contains \"subject\" \"test\") { redirect "
    "\"archive@example.net\"; }",
    "require \"copy\";\nredirect :copy \"audit@example.net\";\nif header :contains \"from\" \"a\" "
    "{ discard; }",
    "require \"imap4flags\";\naddflag \"\\\\Seen\";\nif header :contains \"subject\" \"e\" { "
    "addflag \"hasE\"; }\nif address :contains \"to\" \"a\" { setflag \"onlyA\"; }",
    "require [\"imap4flags\", \"fileinto\"];\nif header :contains \"mime-version\" \"1.0\" { "
    "fileinto :flags \"multi \\\\Flagged\" \"Multipart\"; }\naddflag \"x\";\nkeep;\nremoveflag "
    "\"x\";",
    "require \"reject\";\nif address :localpart :contains \"from\" [\"mailer-daemon\", "
    "\"postmaster\"] { reject \"no bounces here\"; }",
    "require [\"envelope\", \"fileinto\", \"subaddress\"];\nif envelope :detail \"to\" \"billing\" "
    "{ fileinto \"Billing\"; }\nif envelope :domain :is \"from\" \"example.com\" { fileinto "
    "\"FromExample\"; }",
    "require \"fileinto\";\nif header :comparator \"i;octet\" :contains \"subject\" \"Re\" { "
    "fileinto \"CaseRe\"; } elsif header :contains \"subject\" \"re\" { fileinto \"LowerRe\"; }",
    "require \"fileinto\";\nif address :localpart :matches [\"to\", \"cc\"] \"*o*\" { fileinto "
    "\"HasO\"; }",
    "require \"fileinto\";\nif header :is \"x-mailer\" \"\" { fileinto \"EmptyMailer\"; } elsif "
    "exists \"x-mailer\" { fileinto \"Mailer\"; }",
    "require [\"fileinto\", \"variables\"];\nif address :domain :matches \"from\" \"*.*\" { set "
    ":lower \"tld\" \"${2}\"; if string :is \"${tld}\" [\"com\", \"org\", \"net\"] { fileinto "
    "\"tld-${tld}\"; } }",
    "require [\"fileinto\", \"relational\", \"comparator-i;ascii-numeric\"];\nif header :count "
    "\"ge\" :comparator \"i;ascii-numeric\" \"received\" \"3\" { fileinto \"ManyHops\"; }\nif "
    "address :count \"gt\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"1\" { redirect "
    "\"team@example.net\"; }",
    "require [\"fileinto\", \"regex\"];\nif header :regex \"subject\" \"^(re|fwd?):\" { fileinto "
    "\"Thread\"; } elsif header :regex \"message-id\" \"[0-9]{5,}\" { discard; }",
    "require \"fileinto\";\nif header :contains \"subject\" \"a\" { keep; stop; }\nif header "
    ":contains \"subject\" \"o\" { fileinto \"O\"; }\ndiscard;",
    "require [\"fileinto\", \"date\", \"relational\"];\nif date :value \"lt\" :originalzone "
    "\"date\" \"year\" \"2005\" { fileinto \"Old\"; }",
    "require [\"fileinto\", \"body\"];\nif body :contains \"unsubscribe\" { fileinto \"Unsub\"; }",
    "require [\"fileinto\", \"variables\"];\nif header :matches \"from\" \"*@*.*\" { set :lower "
    "\"d\" \"${2}\"; "
    "fileinto \"from-${d}\"; }",
    "require [\"fileinto\", \"subaddress\"];\nif address :user :contains [\"from\", \"to\"] "
    "\"mail\" { fileinto \"MailUser\"; }"
    "\nelsif address :all :is \"to\" \"\" { fileinto \"NoTo\"; }",
    "require [\"envelope\", \"fileinto\", \"imap4flags\"];\nif envelope :all :is \"from\" "
    "\"sender@example.com\" "
    "{ setflag \"\\\\Answered\"; }\nif not header :matches \"subject\" \"?*\" { fileinto "
    "\"NoSubject\"; stop; }\nkeep;",
};

static gint str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pairs where docket differs on purpose: script index, message file name
 * and why. They are reported, not counted as agreement, and do not fail. */
static const struct {
	guint script;
	const char *message;
	const char *why;
} deviations[] = {
    {21, "content_transfer_encoding_7-bit.eml",
     "the text part's Content-Transfer-Encoding is the invalid \"7-bit\"; docket reads the "
     "text anyway, Pigeonhole's body test sees no text"},
};

static const char *deviation(guint script, const char *path)
{
	for (gsize i = 0; i < G_N_ELEMENTS(deviations); i++)
		if (deviations[i].script == script && g_str_has_suffix(path, deviations[i].message))
			return deviations[i].why;
	return NULL;
}

/* Canonical action strings, sorted, joined by "|": store:FOLDER[flags],
 * redirect:ADDR, discard, reject:REASON. */
static char *canonical(GPtrArray *items)
{
	g_ptr_array_sort(items, str_cmp);
	GString *s = g_string_new(NULL);
	const char *prev = NULL;
	for (guint i = 0; i < items->len; i++) {
		const char *it = g_ptr_array_index(items, i);
		if (prev && strcmp(prev, it) == 0)
			continue;
		g_string_append_printf(s, "%s%s", s->len ? "|" : "", it);
		prev = it;
	}
	return g_string_free(s, FALSE);
}

static int flag_cmp(gconstpointer a, gconstpointer b)
{
	return g_ascii_strcasecmp(*(char *const *)a, *(char *const *)b);
}

static char *flags_string(GPtrArray *flags)
{
	if (flags == NULL || flags->len == 0)
		return g_strdup("");
	g_autoptr(GPtrArray) sorted = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < flags->len; i++)
		g_ptr_array_add(sorted, g_ascii_strdown(g_ptr_array_index(flags, i), -1));
	g_ptr_array_sort(sorted, flag_cmp);
	g_ptr_array_add(sorted, NULL);
	g_autofree char *joined = g_strjoinv(" ", (char **)sorted->pdata);
	return g_strdup_printf("[%s]", joined);
}

static char *docket_actions(const DkSieveScript *script, const DkMessage *m, gsize size)
{
	DkSieveInput in = {
	    .message = m, .size = size, .envelope_from = ENVELOPE_FROM, .envelope_to = ENVELOPE_TO};
	g_autoptr(DkSieveResult) r = dk_sieve_execute(script, &in);
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < r->actions->len; i++) {
		const DkSieveAction *a = g_ptr_array_index(r->actions, i);
		g_autofree char *flags = flags_string(a->flags);
		switch (a->type) {
		case DK_SIEVE_ACTION_KEEP:
			g_ptr_array_add(items, g_strdup_printf("store:INBOX%s", flags));
			break;
		case DK_SIEVE_ACTION_FILEINTO:
			g_ptr_array_add(items, g_strdup_printf("store:%s%s", a->value, flags));
			break;
		case DK_SIEVE_ACTION_REDIRECT:
			g_ptr_array_add(items, g_strdup_printf("redirect:%s", a->value));
			break;
		case DK_SIEVE_ACTION_DISCARD:
			g_ptr_array_add(items, g_strdup("discard"));
			break;
		case DK_SIEVE_ACTION_REJECT:
			g_ptr_array_add(items, g_strdup_printf("reject:%s", a->value));
			break;
		default:
			break;
		}
	}
	return canonical(items);
}

/* Reads sieve-test's "Performed actions" and "Implicit keep" sections. */
static char *pigeonhole_actions(const char *out)
{
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	char *pending = NULL; /* a store waiting for its flags line */
	for (guint i = 0; lines[i]; i++) {
		const char *l = g_strstrip(lines[i]);
		if (g_str_has_prefix(l, "* ") || g_str_has_prefix(l, "Implicit keep") ||
		    *l == '\0' || g_str_has_prefix(l, "Performed")) {
			if (pending)
				g_ptr_array_add(items, g_strdup_printf("%s", pending));
			g_clear_pointer(&pending, g_free);
		}
		if (g_str_has_prefix(l, "* store message in folder: ")) {
			pending =
			    g_strdup_printf("store:%s", l + strlen("* store message in folder: "));
		} else if (g_str_has_prefix(l, "+ add IMAP flags: ") && pending) {
			g_auto(GStrv) words = g_strsplit(l + strlen("+ add IMAP flags: "), " ", -1);
			g_autoptr(GPtrArray) f = g_ptr_array_new();
			for (guint k = 0; words[k]; k++)
				if (*words[k])
					g_ptr_array_add(f, words[k]);
			g_autofree char *fs = flags_string(f);
			char *with = g_strconcat(pending, fs, NULL);
			g_free(pending);
			pending = with;
		} else if (g_str_has_prefix(l, "* redirect message to: <")) {
			const char *a = l + strlen("* redirect message to: <");
			g_ptr_array_add(items,
			                g_strdup_printf("redirect:%.*s", (int)strcspn(a, ">"), a));
		} else if (strcmp(l, "* discard") == 0) {
			g_ptr_array_add(items, g_strdup("discard"));
		} else if (g_str_has_prefix(l, "* reject message with reason: ")) {
			g_ptr_array_add(
			    items, g_strdup_printf("reject:%s",
			                           l + strlen("* reject message with reason: ")));
		}
	}
	if (pending)
		g_ptr_array_add(items, pending);
	return canonical(items);
}

#define END_MARK "@@@docket-end "

/* Starts one shell that runs sieve-test on mails [from, to), so a sanitizer
 * build does not pay for a thousand forks of itself. */
static GSubprocess *start_sieve_test(const char *sieve_test, const char *script_path,
                                     GPtrArray *mails, guint from, guint to)
{
	g_autofree char *loop = g_strdup_printf(
	    "for m in \"$@\"; do %s -o mail_uid=65534 -o mail_gid=65534 -f %s -r %s %s \"$m\" "
	    "2>/dev/null; echo \"" END_MARK "$?\"; done",
	    sieve_test, ENVELOPE_FROM, ENVELOPE_TO, script_path);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, "/bin/sh");
	g_ptr_array_add(argv, "-c");
	g_ptr_array_add(argv, loop);
	g_ptr_array_add(argv, "sh");
	for (guint i = from; i < to; i++)
		g_ptr_array_add(argv, g_ptr_array_index(mails, i));
	g_ptr_array_add(argv, NULL);
	g_autoptr(GError) error = NULL;
	GSubprocess *p = g_subprocess_newv((const char *const *)argv->pdata,
	                                   G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
	g_assert_no_error(error);
	return p;
}

/* Appends one canonical string per mail the shell ran. */
static void finish_sieve_test(GSubprocess *p, GPtrArray *results)
{
	g_autofree char *out = NULL;
	g_autoptr(GError) error = NULL;
	g_assert_true(g_subprocess_communicate_utf8(p, NULL, NULL, &out, NULL, &error));
	const char *s = out ? out : "";
	for (const char *mark; (mark = strstr(s, END_MARK)) != NULL;) {
		g_autofree char *chunk = g_strndup(s, (gsize)(mark - s));
		int status = atoi(mark + strlen(END_MARK));
		g_ptr_array_add(results, status == 0
		                             ? pigeonhole_actions(chunk)
		                             : g_strdup_printf("sieve-test failed (%d)", status));
		const char *nl = strchr(mark, '\n');
		s = nl ? nl + 1 : mark + strlen(mark);
	}
}

/* sieve-test's actions for each mail, from two shells at once (the
 * machines have two cores; sieve-test mostly waits on start-up). */
static GPtrArray *run_sieve_test(const char *sieve_test, const char *script_path, GPtrArray *mails)
{
	guint half = mails->len / 2;
	g_autoptr(GSubprocess) a = start_sieve_test(sieve_test, script_path, mails, 0, half);
	g_autoptr(GSubprocess) b =
	    start_sieve_test(sieve_test, script_path, mails, half, mails->len);
	GPtrArray *results = g_ptr_array_new_with_free_func(g_free);
	finish_sieve_test(a, results);
	finish_sieve_test(b, results);
	return results;
}

static gint path_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect_files(const char *dir, GPtrArray *out, guint depth)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && depth < 6 && (name = g_dir_read_name(d)) != NULL) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_DIR))
			collect_files(path, out, depth + 1);
		else if (!g_str_has_suffix(name, ".json") && !g_str_has_suffix(name, ".md") &&
		         !g_str_has_suffix(name, ".txt") && !g_str_has_prefix(name, "LICENSE"))
			g_ptr_array_add(out, g_steal_pointer(&path));
	}
	if (d)
		g_dir_close(d);
}

/* Up to MAX_MESSAGES corpus messages, spread over the whole corpus: mail
 * that docket parses, with a From, and under 100 KB. */
static GPtrArray *pick_messages(const char *corpus)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func(g_free);
	collect_files(corpus, all, 0);
	g_ptr_array_sort(all, path_cmp);
	GPtrArray *picked = g_ptr_array_new_with_free_func(g_free);
	guint stride = MAX(1, all->len / (MAX_MESSAGES * 2));
	for (guint i = 0; i < all->len && picked->len < MAX_MESSAGES; i += stride) {
		const char *path = g_ptr_array_index(all, i);
		g_autofree char *raw = NULL;
		gsize len = 0;
		if (!g_file_get_contents(path, &raw, &len, NULL) || len > 100 * 1024)
			continue;
		g_autoptr(GBytes) b = g_bytes_new_static(raw, len);
		g_autoptr(DkMessage) m = dk_message_parse(b, NULL, NULL);
		if (m == NULL || m->from == NULL)
			continue;
		g_ptr_array_add(picked, g_strdup(path));
	}
	return picked;
}

static void test_differential(void **state)
{
	g_autofree char *corpus = dk_test_shared_path("corpus");
	g_autofree char *sieve_test = g_find_program_in_path("sieve-test");
	g_autoptr(GPtrArray) mails = pick_messages(corpus);
	g_autofree char *tmp = dk_test_tmpdir();
	g_chmod(tmp, 0755);
	guint agree = 0, total = 0, known = 0, nondefault = 0;
	for (gsize s = 0; s < G_N_ELEMENTS(scripts); s++) {
		g_autofree char *script_path = g_strdup_printf("%s/s%02zu.sieve", tmp, s);
		g_assert_true(g_file_set_contents(script_path, scripts[s], -1, NULL));
		g_autoptr(GError) error = NULL;
		g_autoptr(DkSieveScript) script = dk_sieve_compile(scripts[s], -1, NULL, &error);
		g_assert_no_error(error);
		g_autoptr(GPtrArray) pigeonhole = run_sieve_test(sieve_test, script_path, mails);
		assert_int_equal(pigeonhole->len, mails->len);
		for (guint i = 0; i < mails->len; i++) {
			const char *mail = g_ptr_array_index(mails, i);
			g_autofree char *raw = NULL;
			gsize len = 0;
			g_assert_true(g_file_get_contents(mail, &raw, &len, NULL));
			g_autoptr(GBytes) b = g_bytes_new_static(raw, len);
			g_autoptr(DkMessage) m = dk_message_parse(b, NULL, NULL);
			g_autofree char *ours = docket_actions(script, m, len);
			const char *theirs = g_ptr_array_index(pigeonhole, i);
			total++;
			nondefault += strcmp(ours, "store:INBOX") != 0;
			const char *why = deviation((guint)s, mail);
			if (strcmp(ours, theirs) == 0) {
				agree++;
			} else if (why != NULL) {
				known++;
				printf("known deviation, script %zu, %s: %s\n", s, mail, why);
			} else
				print_error("script %zu, %s:\n  docket:     %s\n  sieve-test: %s\n",
				            s, mail, ours, theirs);
		}
	}
	dk_test_rmtree(tmp);
	printf("differential: %u of %u script x message pairs agree, %u known deviations "
	       "(%zu scripts, %u messages; %u pairs with more than the implicit keep)\n",
	       agree, total, known, G_N_ELEMENTS(scripts), mails->len, nondefault);
	assert_int_equal(agree + known, total);
	assert_true(total >= 100);
}

int main(void)
{
	g_autofree char *corpus = dk_test_shared_path("corpus");
	g_autofree char *sieve_test = g_find_program_in_path("sieve-test");
	if (corpus == NULL || sieve_test == NULL)
		return DK_TEST_SKIP;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
