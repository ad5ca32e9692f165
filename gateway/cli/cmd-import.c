/* `docket import PATH`: an mbox file or a Maildir into tickets, with a
 * progress bar on a terminal (plain progress lines otherwise) and a summary
 * at the end. Re-running it stores nothing twice. */
#include "gateway/cli/cli.h"
#include "gateway/error.h"
#include "gateway/intake/import.h"
#include "gateway/outbox/effects.h"

#include <stdio.h>
#include <unistd.h>

#define BAR_WIDTH 30

typedef struct {
	gboolean tty;
	int last_step; /* plain mode: the last 10 % step printed */
} Progress;

static void show_progress(guint64 done, guint64 total, const DkImportStats *s, gpointer data)
{
	Progress *p = data;
	int percent = total ? (int)(done * 100 / total) : 100;
	if (p->tty) {
		int filled = percent * BAR_WIDTH / 100;
		fprintf(stderr, "\r[%.*s%*s] %3d%%  %" G_GUINT64_FORMAT " messages", filled,
		        "##############################", BAR_WIDTH - filled, "", percent,
		        s->messages);
		if (done >= total)
			fputc('\n', stderr);
	} else if (percent / 10 > p->last_step || done >= total) {
		p->last_step = percent / 10;
		fprintf(stderr, "import: %d%% %" G_GUINT64_FORMAT " messages\n", percent,
		        s->messages);
	}
	fflush(stderr);
}

static void print_summary(const DkImportStats *s)
{
	printf("messages=%" G_GUINT64_FORMAT " imported=%" G_GUINT64_FORMAT
	       " duplicates=%" G_GUINT64_FORMAT " refused=%" G_GUINT64_FORMAT
	       " quarantined=%" G_GUINT64_FORMAT " dropped=%" G_GUINT64_FORMAT "\n",
	       s->messages, s->imported, s->duplicates, s->refused, s->quarantined, s->dropped);
	for (guint i = 0; i < s->reasons->len; i++)
		printf("refused: %s\n", (const char *)g_ptr_array_index(s->reasons, i));
}

int dk_cmd_import(int argc, char **argv)
{
	int batch = 100;
	gboolean quiet = FALSE, history = FALSE;
	g_autofree char *keep_numbers = NULL;
	gint64 number_from = 0;
	const GOptionEntry entries[] = {
	    {"batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Messages per transaction (default 100)",
	     "N"},
	    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress output", NULL},
	    {"history", 0, 0, G_OPTION_ARG_NONE, &history,
	     "Take the mail as history: closed tickets dated by each message's Date; no rules,"
	     " SLA clocks, notifications or connector events",
	     NULL},
	    {"keep-numbers", 0, 0, G_OPTION_ARG_STRING, &keep_numbers,
	     "--history: number a ticket by the other system's number that [foreign:NAME] finds"
	     " (where it is free)",
	     "NAME"},
	    {"number-from", 0, 0, G_OPTION_ARG_INT64, &number_from,
	     "--history: number the other tickets from N up (default: after the highest)", "N"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new("PATH");
	g_option_context_set_summary(
	    context, "Imports an mbox file or a Maildir (cur/ and new/) through the pipeline.\n"
	             "Safe to re-run: messages already stored count as duplicates.\n"
	             "--history takes it as the past of another help desk: closed tickets, each\n"
	             "article dated by its Date header, numbered apart from live tickets (which\n"
	             "go on after the highest live number); nothing is sent.\n"
	             "Mail docket cannot read is kept in the quarantine (docket quarantine).\n"
	             "Exit status: 0 done (refused messages are listed), 66 no such PATH,\n"
	             "75 a temporary failure (re-run to finish).");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	const char *wrong = argc != 2         ? "expected one PATH"
	                    : batch < 1       ? "--batch must be positive"
	                    : number_from < 0 ? "--number-from must be positive"
	                    : !history && (keep_numbers || number_from)
	                        ? "--keep-numbers and --number-from go with --history"
	                        : NULL;
	if (wrong != NULL) {
		dk_cli_error("import: %s (see --help)", wrong);
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = NULL;
	g_autoptr(DkStore) store = NULL;
	int rc = dk_cli_open("import", TRUE, &config, &store);
	if (rc != DK_EXIT_OK)
		return rc;
	g_autofree char *section =
	    keep_numbers ? g_strconcat("foreign:", keep_numbers, NULL) : NULL;
	g_auto(GStrv) foreign = dk_config_get_instances(config, "foreign");
	if (keep_numbers != NULL && !g_strv_contains((const char *const *)foreign, keep_numbers)) {
		dk_cli_error("import: --keep-numbers %s: the configuration has no [%s] pattern",
		             keep_numbers, section);
		return DK_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(DkPipeline) pipeline = dk_pipeline_new(config, store, &dk_outbox_effects);
	Progress progress = {.tty = isatty(STDERR_FILENO), .last_step = -1};
	g_autofree char *spool_dir =
	    g_build_filename(dk_config_get_string(config, "store", "data_dir"), "spool", NULL);
	DkImportOptions options = {
	    .batch_size = (guint)batch,
	    .spool_dir = spool_dir,
	    .history = history,
	    .keep_numbers = keep_numbers,
	    .number_from = number_from,
	    .max_message_size = (gsize)dk_config_get_int(config, "intake", "max_message_size"),
	    .progress = quiet ? NULL : show_progress,
	    .progress_data = &progress,
	};
	DkImportStats stats;
	gboolean ok = dk_import_path(pipeline, argv[1], &options, &stats, &error);
	print_summary(&stats);
	dk_import_stats_clear(&stats);
	if (!ok) {
		dk_cli_error("import: %s", error->message);
		return dk_error_is_temporary(error) ? DK_EXIT_TEMPFAIL : DK_EXIT_NOINPUT;
	}
	return DK_EXIT_OK;
}
