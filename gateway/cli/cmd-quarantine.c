/* `docket quarantine list|show|reprocess|release`: every message that
 * became no article is kept raw with its kind and reason (mail docket
 * could not read, mail held by the sender limit, auto-replies and bounces
 * that name no ticket, mail the rules discarded); after a fix or a limit
 * change an administrator runs it through the pipeline again, or releases
 * it into a ticket. */
#include "gateway/cli/cli.h"
#include "gateway/desk/ticket-view.h"
#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/core/pipeline.h"
#include "gateway/core/reprocess.h"
#include "gateway/outbox/effects.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static gboolean as_json;

static void print_json(json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(text);
	free(text);
}

static int list(DkStore *store)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) entries = dk_store_quarantine_list(store, &error);
	if (entries == NULL) {
		dk_cli_error("quarantine: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	if (as_json) {
		g_autoptr(json_t) arr = json_array();
		for (guint i = 0; i < entries->len; i++)
			json_array_append_new(arr,
			                      dk_quarantined_json(g_ptr_array_index(entries, i)));
		g_autoptr(json_t) doc = json_pack("{sO}", "quarantine", arr);
		print_json(doc);
		return DK_EXIT_OK;
	}
	printf("%6s  %-19s  %-6s  %-10s  %10s  %s\n", "ID", "RECEIVED", "INTAKE", "KIND", "SIZE",
	       "REASON");
	for (guint i = 0; i < entries->len; i++) {
		const DkQuarantined *q = g_ptr_array_index(entries, i);
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(q->received_at);
		g_autofree char *when = g_date_time_format(dt, "%Y-%m-%d %H:%M:%S");
		printf("%6" G_GINT64_FORMAT "  %-19s  %-6s  %-10s  %10" G_GINT64_FORMAT "  %s\n",
		       q->id, when, q->intake, q->kind, q->size, q->reason);
	}
	return DK_EXIT_OK;
}

/* Prints a piece of a raw message. */
static gboolean print_piece(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	(void)data;
	if (fwrite(bytes, 1, size, stdout) == size)
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "writing the message: %s",
	            g_strerror(errno));
	return FALSE;
}

static int show(DkStore *store, gint64 id, gboolean raw)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkQuarantined) q = dk_store_quarantine_get(store, id, &error);
	/* --raw prints the message a piece at a time (a large one is never
	 * held whole); the summary reads its first piece, to say when it is
	 * gone */
	g_autoptr(GBytes) head =
	    q != NULL && !raw ? dk_store_raw_head(store, q->raw_sha256, 1, &error) : NULL;
	gboolean ok =
	    head != NULL || (q != NULL && raw &&
	                     dk_store_raw_read(store, q->raw_sha256, print_piece, NULL, &error));
	if (!ok) {
		dk_cli_error("quarantine show: %s", error->message);
		return g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND) ? DK_EXIT_NOINPUT
		                                                            : DK_EXIT_TEMPFAIL;
	}
	if (raw) {
		fflush(stdout);
	} else if (as_json) {
		g_autoptr(json_t) doc = dk_quarantined_json(q);
		print_json(doc);
	} else {
		printf("quarantine %" G_GINT64_FORMAT "\n  kind: %s\n  reason: %s\n  intake: %s\n"
		       "  from: %s\n  to: %s\n  size: %" G_GINT64_FORMAT " bytes\n  sha256: %s\n",
		       q->id, q->kind, q->reason, q->intake,
		       q->envelope_from ? q->envelope_from : "-",
		       q->recipients ? q->recipients : "-", q->size, q->raw_sha256);
		if (q->ticket != 0)
			printf("  ticket: %" G_GINT64_FORMAT "\n", q->ticket);
		printf("  (--raw prints the message)\n");
	}
	return DK_EXIT_OK;
}

/* Runs one entry through the pipeline again. Returns FALSE when it still
 * cannot be read or could not be stored. */
static gboolean reprocess_one(DkPipeline *pipeline, DkStore *store, const DkQuarantined *q,
                              gboolean release)
{
	g_autoptr(GError) error = NULL;
	DkOutcome outcome = DK_OUTCOME_QUARANTINED;
	gint64 ticket = 0;
	if (!dk_pipeline_reprocess(pipeline, store, q, release, &outcome, &ticket, &error)) {
		printf("%" G_GINT64_FORMAT ": %s%s\n", q->id,
		       g_str_has_prefix(error->message, "still unreadable") ? "" : "failed: ",
		       error->message);
		return FALSE;
	}
	if (outcome == DK_OUTCOME_DROPPED || outcome == DK_OUTCOME_QUARANTINED)
		printf("%" G_GINT64_FORMAT ": set aside again (release makes it an article)\n",
		       q->id);
	else
		printf("%" G_GINT64_FORMAT ": ticket %" G_GINT64_FORMAT " %s\n", q->id, ticket,
		       dk_outcome_name(outcome));
	return TRUE;
}

static int reprocess(DkStore *store, const DkConfig *config, gint64 id, gboolean release)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) entries = dk_store_quarantine_list(store, &error);
	if (entries == NULL) {
		dk_cli_error("quarantine reprocess: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	g_autoptr(DkPipeline) pipeline = dk_pipeline_new(config, store, &dk_outbox_effects);
	guint tried = 0, failed = 0;
	for (guint i = 0; i < entries->len; i++) {
		const DkQuarantined *q = g_ptr_array_index(entries, i);
		if (id != 0 && q->id != id)
			continue;
		tried++;
		failed += !reprocess_one(pipeline, store, q, release);
	}
	if (id != 0 && tried == 0) {
		dk_cli_error("quarantine %s: no quarantined message %" G_GINT64_FORMAT,
		             release ? "release" : "reprocess", id);
		return DK_EXIT_NOINPUT;
	}
	return failed ? DK_EXIT_FAILURE : DK_EXIT_OK;
}

int dk_cmd_quarantine(int argc, char **argv)
{
	gboolean all = FALSE, raw = FALSE;
	as_json = FALSE;
	const GOptionEntry entries[] = {
	    {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON (list, show)", NULL},
	    {"raw", 0, 0, G_OPTION_ARG_NONE, &raw, "show: print the raw message", NULL},
	    {"all", 0, 0, G_OPTION_ARG_NONE, &all, "reprocess, release: every quarantined message",
	     NULL},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context =
	    g_option_context_new("list | show ID | reprocess ID|--all | release ID|--all");
	g_option_context_set_summary(
	    context,
	    "Every message that became no article is kept here with its kind and reason:\n"
	    "unreadable mail, mail held by [limits] sender_action = hold, auto-replies\n"
	    "and bounces that name no ticket, mail the rules discarded. reprocess runs it\n"
	    "through the pipeline again (exit 1 if some still fail; held mail passes the\n"
	    "sender limit then); release makes it an article whatever set it aside.");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	const char *verb = argc > 1 ? argv[1] : "";
	gint64 id = 0;
	gboolean rerun = strcmp(verb, "reprocess") == 0 || strcmp(verb, "release") == 0;
	gboolean wants_id = strcmp(verb, "show") == 0 || (rerun && !all);
	if (wants_id &&
	    (argc != 3 || !g_ascii_string_to_signed(argv[2], 10, 1, G_MAXINT64, &id, NULL))) {
		dk_cli_error("quarantine %s: expected an entry number (see --help)", verb);
		return DK_EXIT_USAGE;
	}
	if (!wants_id && (argc != 2 || (strcmp(verb, "list") != 0 && !rerun))) {
		dk_cli_error(
		    "quarantine: expected list, show ID, reprocess ID|--all or release ID|--all "
		    "(see --help)");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = NULL;
	g_autoptr(DkStore) store = NULL;
	int rc = dk_cli_open("quarantine", FALSE, &config, &store);
	if (rc != DK_EXIT_OK)
		return rc;
	if (strcmp(verb, "list") == 0)
		return list(store);
	if (strcmp(verb, "show") == 0)
		return show(store, id, raw);
	return reprocess(store, config, id, strcmp(verb, "release") == 0);
}
