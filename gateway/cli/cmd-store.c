/* `docket store purge [--dry-run]`: retention now (desk/retention.h):
 * the raw mail and attachment contents of the tickets closed longer ago
 * than their queue's keep_raw_days, in short batches. */
#include "gateway/cli/cli.h"
#include "gateway/desk/retention.h"
#include "gateway/error.h"

#include <stdio.h>
#include <string.h>

static void print_stats(const DkPurgeStats *s, gboolean dry_run, gboolean as_json)
{
	if (as_json) {
		printf(
		    "{\"dry_run\": %s, \"tickets\": %u, \"raw_messages\": %u, \"attachments\": %u,"
		    " \"files\": %u, \"bytes\": %" G_GINT64_FORMAT ", \"kept\": %u}\n",
		    dry_run ? "true" : "false", s->tickets, s->raw_messages, s->attachments,
		    s->files, s->bytes, s->kept);
		return;
	}
	printf("%s: tickets %u, raw messages %u, attachment contents %u, files %u, bytes "
	       "%" G_GINT64_FORMAT "; kept (still needed elsewhere) %u\n",
	       dry_run ? "would purge" : "purged", s->tickets, s->raw_messages, s->attachments,
	       s->files, s->bytes, s->kept);
}

static int purge(gboolean dry_run, gboolean as_json, gint64 now, int batch, int max_batches)
{
	g_autoptr(DkConfig) config = NULL;
	g_autoptr(DkStore) store = NULL;
	int rc = dk_cli_open("store", FALSE, &config, &store);
	if (rc != DK_EXIT_OK)
		return rc;
	g_autoptr(DkRetention) policy = dk_retention_new(config);
	DkPurgeOptions o = {.now = now ? now : g_get_real_time() / G_USEC_PER_SEC,
	                    .batch = (guint)MAX(batch, 0),
	                    .max_batches = (guint)MAX(max_batches, 0),
	                    .dry_run = dry_run};
	DkPurgeStats stats = {0};
	g_autoptr(GError) error = NULL;
	gboolean ok = dk_retention_purge(store, policy, &o, &stats, &error);
	print_stats(&stats, dry_run, as_json);
	if (ok)
		return DK_EXIT_OK;
	dk_cli_error("store purge: %s", error->message);
	return dk_error_is_temporary(error) ? DK_EXIT_TEMPFAIL : DK_EXIT_SOFTWARE;
}

int dk_cmd_store(int argc, char **argv)
{
	gboolean dry_run = FALSE, as_json = FALSE;
	gint64 now = 0;
	int batch = 0, max_batches = 0;
	const GOptionEntry entries[] = {
	    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Count what would go, change nothing",
	     NULL},
	    {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON", NULL},
	    {"batch", 0, 0, G_OPTION_ARG_INT, &batch,
	     "Tickets (and files) per transaction (default 20)", "N"},
	    {"max-batches", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &max_batches,
	     "stop after N batches, for tests", "N"},
	    {"now", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &now, "the clock, for tests",
	     "SECONDS"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new("purge");
	g_option_context_set_summary(
	    context, "purge: removes the raw messages and attachment contents of the tickets\n"
	             "closed longer ago than their queue's keep_raw_days ([store], [queue:NAME]),\n"
	             "except what an open or more recent ticket, a quarantine entry or a pending\n"
	             "outbox row still needs. Articles keep their text, attachments their names,\n"
	             "types and sizes. Works in batches of --batch tickets, one short transaction\n"
	             "each, so deliveries go on meanwhile. Prints the tickets, raw messages,\n"
	             "attachment contents, files and bytes it removed. `docket ticket export`\n"
	             "keeps a ticket with its raw mail first.");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	if (argc != 2 || strcmp(argv[1], "purge") != 0) {
		dk_cli_error("store: expected purge (see --help)");
		return DK_EXIT_USAGE;
	}
	return purge(dry_run, as_json, now, batch, max_batches);
}
