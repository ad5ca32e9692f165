/* `docket rules check|test`: the Sieve engine on the command line. */
#include "gateway/cli/cmd-rules.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "gateway/cli/cli.h"
#include "rules/sieve.h"

static void print_usage(FILE *out)
{
	fprintf(out, "Usage: docket rules check FILE\n"
	             "         compiles a Sieve script: FILE: OK, or FILE:LINE:COLUMN: what was\n"
	             "         expected for each problem (exit 1)\n"
	             "       docket rules test SCRIPT FILE.eml [--json] [--envelope-from A] "
	             "[--envelope-to B]\n"
	             "             [--existing] [--agent] [--ticket-status S] "
	             "[--ticket-priority P] [--ticket-queue Q]\n"
	             "             [--ticket-sla STATE]... [--max-steps N]\n"
	             "         runs it on a message, touching nothing: the tests that matched\n"
	             "         and the actions (docket rules test --help: the options)\n");
}

static int usage(void)
{
	print_usage(stderr);
	return DK_EXIT_USAGE;
}

/* Compiles path, printing FILE:LINE:COL: message for each problem. */
static DkSieveScript *compile_file(const char *path)
{
	g_autofree char *source = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &source, &len, &error)) {
		fprintf(stderr, "docket: %s\n", error->message);
		return NULL;
	}
	g_autoptr(GPtrArray) diags = NULL;
	DkSieveScript *script = dk_sieve_compile(source, (gssize)len, &diags, &error);
	for (guint i = 0; diags && i < diags->len; i++) {
		const DkSieveDiagnostic *d = g_ptr_array_index(diags, i);
		fprintf(stderr, "%s:%u:%u: %s\n", path, d->line, d->column, d->message);
	}
	return script;
}

static int rules_check(int argc, char **argv)
{
	if (argc != 3)
		return usage();
	g_autoptr(DkSieveScript) script = compile_file(argv[2]);
	if (script == NULL)
		return 1;
	printf("%s: OK\n", argv[2]);
	return DK_EXIT_OK;
}

static json_t *action_json(const DkSieveAction *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(dk_sieve_action_type_name(a->type)));
	json_object_set_new(o, "line", json_integer(a->line));
	if (a->name)
		json_object_set_new(o,
		                    a->type == DK_SIEVE_ACTION_TICKET_FIELD ? "name" : "variable",
		                    json_string(a->name));
	if (a->value)
		json_object_set_new(o, "value", json_string(a->value));
	if (a->flags) {
		json_t *flags = json_array();
		for (guint i = 0; i < a->flags->len; i++)
			json_array_append_new(flags, json_string(g_ptr_array_index(a->flags, i)));
		json_object_set_new(o, "flags", flags);
	}
	if (a->copy)
		json_object_set_new(o, "copy", json_true());
	if (a->implicit)
		json_object_set_new(o, "implicit", json_true());
	return o;
}

static void print_json(const DkSieveResult *r)
{
	json_t *root = json_object();
	json_t *actions = json_array(), *trace = json_array();
	for (guint i = 0; i < r->actions->len; i++)
		json_array_append_new(actions, action_json(g_ptr_array_index(r->actions, i)));
	for (guint i = 0; i < r->trace->len; i++) {
		const DkSieveTraceEntry *e = g_ptr_array_index(r->trace, i);
		json_array_append_new(trace, json_pack("{s:i, s:s, s:b}", "line", (int)e->line,
		                                       "test", e->test, "result", e->result));
	}
	json_object_set_new(root, "actions", actions);
	json_object_set_new(root, "trace", trace);
	json_object_set_new(root, "steps", json_integer((json_int_t)r->steps));
	if (r->error)
		json_object_set_new(root, "error", json_string(r->error));
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(root);
}

static void print_text(const DkSieveResult *r)
{
	for (guint i = 0; i < r->trace->len; i++) {
		const DkSieveTraceEntry *e = g_ptr_array_index(r->trace, i);
		printf("line %u: %s %s\n", e->line, e->test,
		       e->result ? "matched" : "did not match");
	}
	if (r->error)
		printf("error: %s\n", r->error);
	printf("actions:\n");
	for (guint i = 0; i < r->actions->len; i++) {
		const DkSieveAction *a = g_ptr_array_index(r->actions, i);
		printf("  %s", dk_sieve_action_type_name(a->type));
		if (a->name)
			printf(" %s", a->name);
		if (a->value)
			printf(" \"%s\"", a->value);
		for (guint k = 0; a->flags && k < a->flags->len; k++)
			printf("%s%s", k == 0 ? " flags: " : " ",
			       (const char *)g_ptr_array_index(a->flags, k));
		printf("%s%s\n", a->copy ? " :copy" : "", a->implicit ? " (implicit keep)" : "");
	}
}

typedef struct {
	gboolean json, existing, agent;
	char *env_from, *env_to, *status, *priority, *queue;
	char **sla;
	gint64 max_steps;
} TestOptions;

static void test_options_clear(TestOptions *o)
{
	g_free(o->env_from);
	g_free(o->env_to);
	g_free(o->status);
	g_free(o->priority);
	g_free(o->queue);
	g_strfreev(o->sla);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TestOptions, test_options_clear)

/* Parses the options of `rules test`; leaves SCRIPT and FILE in argv. */
static gboolean parse_test_options(int *argc, char ***argv, TestOptions *o)
{
	GOptionEntry entries[] = {
	    {"json", 0, 0, G_OPTION_ARG_NONE, &o->json, "print JSON", NULL},
	    {"envelope-from", 0, 0, G_OPTION_ARG_STRING, &o->env_from, "MAIL FROM", "A"},
	    {"envelope-to", 0, 0, G_OPTION_ARG_STRING, &o->env_to, "RCPT TO", "B"},
	    {"existing", 0, 0, G_OPTION_ARG_NONE, &o->existing, "the ticket exists already", NULL},
	    {"agent", 0, 0, G_OPTION_ARG_NONE, &o->agent, "the sender is an agent", NULL},
	    {"ticket-status", 0, 0, G_OPTION_ARG_STRING, &o->status, "ticket status", "S"},
	    {"ticket-priority", 0, 0, G_OPTION_ARG_STRING, &o->priority, "ticket priority", "P"},
	    {"ticket-queue", 0, 0, G_OPTION_ARG_STRING, &o->queue, "ticket queue", "Q"},
	    {"ticket-sla", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->sla,
	     "an SLA state of the ticket, for ticket_sla (repeatable)", "STATE"},
	    {"max-steps", 0, 0, G_OPTION_ARG_INT64, &o->max_steps,
	     "the run's budget in steps (default: [rules] max_steps' default)", "N"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("test SCRIPT FILE.eml");
	g_option_context_set_summary(ctx, "Runs the Sieve script on the message, touching nothing, "
	                                  "and prints the tests\nthat matched and the actions; the "
	                                  "options describe the envelope and the\nticket the "
	                                  "message meets.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		fprintf(stderr, "docket: %s\n", error->message);
		return FALSE;
	}
	return *argc == 4;
}

static DkMessage *load_message(const char *path, gsize *size_out)
{
	g_autofree char *raw = NULL;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &raw, size_out, &error)) {
		fprintf(stderr, "docket: %s\n", error->message);
		return NULL;
	}
	g_autoptr(GBytes) bytes = g_bytes_new_static(raw, *size_out);
	DkMessage *message = dk_message_parse(bytes, NULL, &error);
	if (message == NULL)
		fprintf(stderr, "docket: %s: %s\n", path, error->message);
	return message;
}

static int rules_test(int argc, char **argv)
{
	g_auto(TestOptions) o = {0};
	if (!parse_test_options(&argc, &argv, &o))
		return usage();
	g_autoptr(DkSieveScript) script = compile_file(argv[2]);
	if (script == NULL)
		return 1;
	gsize size = 0;
	g_autoptr(DkMessage) message = load_message(argv[3], &size);
	if (message == NULL)
		return DK_EXIT_DATAERR;
	DkSieveTicket ticket = {
	    .is_new = !o.existing,
	    .status = o.status     ? o.status
	              : o.existing ? "open"
	                           : "new",
	    .priority = o.priority ? o.priority : "none",
	    .queue = o.queue ? o.queue : "",
	    .is_agent = o.agent,
	    .sla = (const char *const *)o.sla,
	};
	DkSieveInput input = {
	    .message = message,
	    .size = size,
	    .envelope_from = o.env_from,
	    .envelope_to = o.env_to,
	    .ticket = &ticket,
	    .max_steps = o.max_steps > 0 ? (guint64)o.max_steps : 0,
	};
	g_autoptr(DkSieveResult) result = dk_sieve_execute(script, &input);
	if (o.json)
		print_json(result);
	else
		print_text(result);
	return DK_EXIT_OK;
}

int dk_cmd_rules(int argc, char **argv)
{
	/* `rules --help` and `rules check --help`; `rules test --help` is its
	 * option parser's. */
	gboolean check = argc >= 2 && strcmp(argv[1], "check") == 0;
	for (int i = 1; i < argc && i <= (check ? 2 : 1); i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_usage(stdout);
			return DK_EXIT_OK;
		}
	}
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return rules_check(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "test") == 0)
		return rules_test(argc, argv);
	return usage();
}
