/* Benchmark of the Sieve engine: a generated 200-rule script run over the
 * corpus messages, in messages per CPU second, against the same messages
 * parsed with no script, in the same run. Usage: bench-rules [CORPUS_DIR]
 * (default $DOCKET_SHARED/corpus or ../shared/corpus). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rules/sieve.h"

#define RULES 200
#define MIN_SECONDS 2.0

static void collect(const char *dir, GPtrArray *out, guint depth)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && depth < 6 && (name = g_dir_read_name(d)) != NULL) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			collect(path, out, depth + 1);
			continue;
		}
		if (g_str_has_suffix(name, ".json") || g_str_has_suffix(name, ".md"))
			continue;
		char *raw = NULL;
		gsize len = 0;
		if (!g_file_get_contents(path, &raw, &len, NULL))
			continue;
		GBytes *b = g_bytes_new_take(raw, len);
		DkMessage *m = dk_message_parse(b, NULL, NULL);
		if (m == NULL) {
			g_bytes_unref(b);
			continue;
		}
		dk_message_free(m);
		g_ptr_array_add(out, b);
	}
	if (d)
		g_dir_close(d);
}

/* One generated rule of several kinds, so the script exercises each match
 * type and the common extensions. */
static void append_rule(GString *s, guint i)
{
	switch (i % 10) {
	case 0:
		g_string_append_printf(
		    s, "if header :contains \"subject\" \"word%u\" { fileinto \"q%u\"; }\n", i, i);
		break;
	case 1:
		g_string_append_printf(
		    s,
		    "if address :domain :is \"from\" \"domain%u.example\" { addflag \"t%u\"; }\n",
		    i, i);
		break;
	case 2:
		g_string_append_printf(s,
		                       "if header :matches \"subject\" \"*alert %u on *\" { "
		                       "ticket_field \"device\" \"${2}\"; }\n",
		                       i);
		break;
	case 3:
		g_string_append_printf(s,
		                       "if header :regex \"message-id\" \"^x%u[0-9]+@\" { "
		                       "ticket_priority \"high\"; }\n",
		                       i);
		break;
	case 4:
		g_string_append_printf(s,
		                       "if anyof (exists \"x-rule-%u\", header :is \"precedence\" "
		                       "\"bulk%u\") { ticket_noack; }\n",
		                       i, i);
		break;
	case 5:
		g_string_append_printf(
		    s,
		    "if allof (size :over %uK, address :localpart :contains [\"to\", \"cc\"] "
		    "\"user%u\") { redirect \"r%u@example.net\"; }\n",
		    i, i, i);
		break;
	case 6:
		g_string_append_printf(
		    s, "if body :contains \"token-%u\" { ticket_status \"open\"; }\n", i);
		break;
	case 7:
		g_string_append_printf(
		    s, "if envelope :detail \"to\" \"dept%u\" { fileinto \"dept%u\"; }\n", i, i);
		break;
	case 8:
		g_string_append_printf(s,
		                       "if message_class \"bulk\" { if header :contains "
		                       "\"list-id\" \"list%u\" { ticket_template \"t%u\"; } }\n",
		                       i, i);
		break;
	default:
		g_string_append_printf(
		    s,
		    "if header :value \"gt\" :comparator \"i;ascii-numeric\" \"x-priority\" \"%u\" "
		    "{ ticket_assign \"a%u@example.com\"; }\n",
		    i + 100, i);
		break;
	}
}

static char *generate_script(void)
{
	GString *s = g_string_new(
	    "require [\"fileinto\", \"imap4flags\", \"variables\", \"regex\", \"body\",\n"
	    "  \"envelope\", \"subaddress\", \"relational\", \"comparator-i;ascii-numeric\",\n"
	    "  \"vnd.docket.ticket\"];\n");
	for (guint i = 0; i < RULES; i++)
		append_rule(s, i);
	return g_string_free(s, FALSE);
}

/* CPU seconds used by this process: steadier than wall time on the shared
 * machines the benchmarks run on. */
static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Evaluates the script (if any) on each message until MIN_SECONDS have
 * passed; parses each message every time unless parsed holds the messages
 * parsed beforehand (then the engine alone is measured). Returns messages
 * per second. */
static double run(GPtrArray *messages, GPtrArray *parsed, const DkSieveScript *script,
                  guint *actions_out)
{
	DkSieveTicket ticket = {
	    .is_new = TRUE, .status = "new", .priority = "none", .queue = "support"};
	double start = cpu_seconds();
	guint64 done = 0;
	double elapsed = 0;
	*actions_out = 0;
	do {
		for (guint i = 0; i < messages->len; i++) {
			GBytes *b = g_ptr_array_index(messages, i);
			DkMessage *m =
			    parsed ? g_ptr_array_index(parsed, i) : dk_message_parse(b, NULL, NULL);
			if (script) {
				DkSieveInput in = {.message = m,
				                   .size = g_bytes_get_size(b),
				                   .envelope_from = "sender@example.com",
				                   .envelope_to = "support+dept7@example.org",
				                   .ticket = &ticket};
				DkSieveResult *r = dk_sieve_execute(script, &in);
				*actions_out += r->actions->len;
				dk_sieve_result_free(r);
			}
			if (parsed == NULL)
				dk_message_free(m);
			done++;
		}
		elapsed = cpu_seconds() - start;
	} while (elapsed < MIN_SECONDS);
	return (double)done / elapsed;
}

int main(int argc, char **argv)
{
	const char *shared = g_getenv("DOCKET_SHARED");
	g_autofree char *corpus =
	    argc > 1 ? g_strdup(argv[1])
	             : g_build_filename(shared ? shared : "../shared", "corpus", NULL);
	g_autoptr(GPtrArray) messages =
	    g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	collect(corpus, messages, 0);
	if (messages->len == 0) {
		fprintf(stderr, "bench-rules: no messages under %s\n", corpus);
		return 1;
	}
	g_autofree char *source = generate_script();
	g_autoptr(GError) error = NULL;
	double t0 = cpu_seconds();
	g_autoptr(DkSieveScript) script = dk_sieve_compile(source, -1, NULL, &error);
	double t1 = cpu_seconds();
	if (script == NULL) {
		fprintf(stderr, "bench-rules: %s\n", error->message);
		return 1;
	}
	guint actions = 0;
	g_autoptr(GPtrArray) parsed =
	    g_ptr_array_new_with_free_func((GDestroyNotify)dk_message_free);
	for (guint i = 0; i < messages->len; i++)
		g_ptr_array_add(parsed,
		                dk_message_parse(g_ptr_array_index(messages, i), NULL, NULL));
	double base = run(messages, NULL, NULL, &actions);
	double with = run(messages, NULL, script, &actions);
	double alone = run(messages, parsed, script, &actions);
	printf("messages: %u from %s\n", messages->len, corpus);
	printf("script: %u rules, %zu bytes, compiled in %.2f ms\n", RULES, strlen(source),
	       (t1 - t0) * 1000.0);
	printf("parse only (no script):     %10.1f messages/CPU-s\n", base);
	printf("parse + 200-rule script:    %10.1f messages/CPU-s\n", with);
	printf("script cost per message:    %10.1f us\n", (1.0 / with - 1.0 / base) * 1e6);
	printf("script alone (pre-parsed):  %10.1f messages/CPU-s (%.1f us each)\n", alone,
	       1e6 / alone);
	return 0;
}
