/* `docket outbox list|run|retry|drop`: see and steer the notifications
 * (and later connector calls) waiting in the outbox. `run --once` sends
 * what is due and exits, for cron and for installations that only use
 * `docket deliver`; `run` alone keeps the worker going until SIGTERM. */
#include "gateway/cli/cli.h"
#include "gateway/desk/ticket-view.h"
#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/store/store-outbox.h"
#include "gateway/outbox/send.h"
#include "gateway/outbox/worker.h"

#include <glib-unix.h>
#include <stdio.h>
#include <string.h>

/* Where notifications go, in words: the transport and its destination. */
static char *transport_target(const DkConfig *config, const char **name_out)
{
	const DkSendOps *send = dk_send_for_config(config);
	*name_out = send->name;
	if (send == &dk_send_smtp) {
		const char *url = dk_config_get_string(config, "smtp", "url");
		g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_HAS_PASSWORD, NULL);
		return uri ? g_uri_to_string_partial(uri, G_URI_HIDE_PASSWORD) : g_strdup(url);
	}
	if (send == &dk_send_sendmail)
		return g_strdup(dk_config_get_string(config, "notify", "sendmail"));
	return g_build_filename(dk_config_get_string(config, "store", "data_dir"), "outbox-maildir",
	                        NULL);
}

static int list(const DkConfig *config, DkStore *store, const char *state, gboolean as_json)
{
	const char *transport = NULL;
	g_autofree char *target = transport_target(config, &transport);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) rows = dk_store_outbox_list(store, state, 0, &error);
	if (rows == NULL) {
		dk_cli_error("outbox: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	if (as_json) {
		g_autoptr(json_t) arr = json_array();
		for (guint i = 0; i < rows->len; i++)
			json_array_append_new(arr, dk_outbox_row_json(g_ptr_array_index(rows, i)));
		g_autoptr(json_t) doc = json_pack("{s{ssss}sO}", "transport", "name", transport,
		                                  "target", target, "outbox", arr);
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(text);
		free(text);
		return DK_EXIT_OK;
	}
	if (strcmp(transport, "maildir") == 0)
		printf(
		    "transport: maildir %s (mail is written there, not sent: set [smtp] url)\n\n",
		    target);
	else
		printf("transport: %s %s\n\n", transport, target);
	printf("%6s  %-7s  %-8s  %6s  %3s  %-19s  %-30s  %s\n", "ID", "KIND", "STATE", "TICKET",
	       "TRY", "NEXT", "TO", "LAST ERROR");
	for (guint i = 0; i < rows->len; i++) {
		const DkOutboxRow *r = g_ptr_array_index(rows, i);
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(r->next_attempt_at);
		/* Only a pending row has a next attempt. */
		g_autofree char *when = strcmp(r->state, "pending") == 0
		                            ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S")
		                            : g_strdup("-");
		printf("%6" G_GINT64_FORMAT "  %-7s  %-8s  %6" G_GINT64_FORMAT
		       "  %3" G_GINT64_FORMAT "  %-19s  %-30s  %s\n",
		       r->id, r->kind, r->state, r->ticket, r->attempts, when, r->target,
		       r->last_error ? r->last_error : "");
	}
	return DK_EXIT_OK;
}

/* now: the clock (Unix seconds), 0 for the real one. */
static int run_once(const DkConfig *config, DkStore *store, gint64 now)
{
	g_autoptr(GError) error = NULL;
	DkOutboxStats stats = {0};
	if (!dk_outbox_run_lanes(config, store, now ? now : g_get_real_time() / G_USEC_PER_SEC,
	                         &stats, &error)) {
		dk_cli_error("outbox run: %s", error->message);
		return g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG) ? DK_EXIT_CONFIG
		                                                         : DK_EXIT_TEMPFAIL;
	}
	printf("sent %u, deferred %u, failed %u, held %u\n", stats.sent, stats.deferred,
	       stats.failed, stats.held);
	/* A row given up is news for cron's mail: say it in the status too. */
	return stats.failed > 0 ? DK_EXIT_FAILURE : DK_EXIT_OK;
}

static gboolean on_signal(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

static int run_forever(const DkConfig *config)
{
	g_autoptr(GError) error = NULL;
	DkOutboxWorker *worker = dk_outbox_worker_start(config, &error);
	if (worker == NULL) {
		dk_cli_error("outbox run: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	guint term = g_unix_signal_add(SIGTERM, on_signal, loop);
	guint intr = g_unix_signal_add(SIGINT, on_signal, loop);
	g_message("outbox event=ready");
	g_main_loop_run(loop);
	g_source_remove(term);
	g_source_remove(intr);
	dk_outbox_worker_stop(worker);
	g_message("outbox event=stopped");
	return DK_EXIT_OK;
}

static int steer(DkStore *store, const char *verb, gint64 id)
{
	g_autoptr(GError) error = NULL;
	gboolean retry = strcmp(verb, "retry") == 0;
	gboolean ok =
	    retry ? dk_store_outbox_retry(store, id, g_get_real_time() / G_USEC_PER_SEC, &error)
	          : dk_store_outbox_drop(store, id, &error);
	if (!ok) {
		dk_cli_error("outbox %s: %s", verb, error->message);
		if (g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND))
			return DK_EXIT_NOINPUT;
		return g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT) ? DK_EXIT_DATAERR
		                                                            : DK_EXIT_TEMPFAIL;
	}
	printf("outbox %s %" G_GINT64_FORMAT "\n", retry ? "retrying" : "dropped", id);
	return DK_EXIT_OK;
}

static gboolean check_usage(int argc, char **argv, gint64 *id_out)
{
	const char *verb = argc > 1 ? argv[1] : "";
	if (strcmp(verb, "retry") == 0 || strcmp(verb, "drop") == 0) {
		if (argc == 3 && g_ascii_string_to_signed(argv[2], 10, 1, G_MAXINT64, id_out, NULL))
			return TRUE;
		dk_cli_error("outbox %s: expected a row number (see --help)", verb);
		return FALSE;
	}
	if (argc == 2 && (strcmp(verb, "list") == 0 || strcmp(verb, "run") == 0))
		return TRUE;
	dk_cli_error("outbox: expected list, run, retry ID or drop ID (see --help)");
	return FALSE;
}

int dk_cmd_outbox(int argc, char **argv)
{
	gboolean as_json = FALSE, once = FALSE;
	gint64 now = 0;
	g_autofree char *state = NULL;
	const GOptionEntry entries[] = {
	    {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "list: print JSON", NULL},
	    {"state", 0, 0, G_OPTION_ARG_STRING, &state,
	     "list: only rows in STATE (pending, done, failed, held)", "STATE"},
	    {"once", 0, 0, G_OPTION_ARG_NONE, &once, "run: send what is due, then exit", NULL},
	    /* For tests with a simulated clock: run --once as of this time. */
	    {"now", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &now, NULL, "UNIX"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context =
	    g_option_context_new("list | run [--once] | retry ID | drop ID");
	g_option_context_set_summary(
	    context, "Notifications waiting to be sent, sent, or given up, and where they\n"
	             "go (the transport). run --once sends what is due and exits 1 when a\n"
	             "row failed for good (0 otherwise).\n"
	             "retry makes a pending or failed row due now (and the connector rows\n"
	             "held behind a failed create with it); drop deletes it.");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	gint64 id = 0;
	if (!dk_cli_parse_options(context, &argc, &argv) || !check_usage(argc, argv, &id))
		return DK_EXIT_USAGE;
	g_autoptr(DkConfig) config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_CONFIG;
	if (strcmp(argv[1], "run") == 0 && !once)
		return run_forever(config);
	if (!dk_cli_data_dir_exists(config, "outbox"))
		return DK_EXIT_NOINPUT;
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) store = dk_store_open_config(config, &error);
	if (store == NULL) {
		dk_cli_error("outbox: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	if (strcmp(argv[1], "list") == 0)
		return list(config, store, state, as_json);
	if (strcmp(argv[1], "run") == 0)
		return run_once(config, store, MAX(now, 0));
	return steer(store, argv[1], id);
}
