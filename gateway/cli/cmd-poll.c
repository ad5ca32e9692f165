/* `docket poll`: the IMAP intake from the command line. With --once, one
 * round over each account (for cron and tests); without, the pollers run
 * (IDLE, watchdog, reconnects) until SIGINT or SIGTERM. */
#include "gateway/cli/cli.h"
#include "gateway/core/error.h"
#include "gateway/core/pipeline.h"
#include "gateway/core/writer.h"
#include "gateway/intake/imap-poller.h"
#include "gateway/ops/log.h"

#include <glib-unix.h>
#include <stdio.h>

static int exit_for(const GError *error)
{
	if (dk_error_is_temporary(error))
		return DK_EXIT_TEMPFAIL;
	return DK_EXIT_CONFIG; /* a refused login, an untrusted certificate, a bad section */
}

static void print_stats(DkImapPoller *poller)
{
	DkImapStats s;
	dk_imap_poller_stats(poller, &s);
	printf("account=%s fetched=%" G_GUINT64_FORMAT " stored=%" G_GUINT64_FORMAT " duplicates=%" G_GUINT64_FORMAT
	       " refused=%" G_GUINT64_FORMAT " deferred=%" G_GUINT64_FORMAT " quarantined=%" G_GUINT64_FORMAT "\n",
	       dk_imap_poller_account(poller), s.fetched, s.stored, s.duplicates, s.refused, s.deferred,
	       s.quarantined);
	fflush(stdout);
}

/* The pollers of the named accounts, or NULL after printing why. */
static GPtrArray *make_pollers(const DkConfig *config, char **accounts, DkPipeline *pipeline, int *rc_out)
{
	g_autoptr(GPtrArray) pollers = g_ptr_array_new_with_free_func((GDestroyNotify)dk_imap_poller_free);
	for (char **a = accounts; *a != NULL; a++) {
		g_autoptr(GError) error = NULL;
		DkImapPoller *poller = dk_imap_poller_new(config, *a, pipeline, &error);
		if (poller == NULL) {
			dk_cli_error("poll: %s", error->message);
			*rc_out = error->code == DK_ERROR_CONFIG ? DK_EXIT_CONFIG : exit_for(error);
			return NULL;
		}
		g_ptr_array_add(pollers, poller);
	}
	return g_steal_pointer(&pollers);
}

static int run_once(GPtrArray *pollers)
{
	int rc = DK_EXIT_OK;
	for (guint i = 0; i < pollers->len; i++) {
		DkImapPoller *poller = g_ptr_array_index(pollers, i);
		g_autoptr(GError) error = NULL;
		if (!dk_imap_poller_run_once(poller, &error)) {
			dk_cli_error("poll: %s", error->message);
			rc = MAX(rc, exit_for(error));
		}
		print_stats(poller);
	}
	return rc;
}

static gpointer poller_thread(gpointer data)
{
	gpointer *args = data;
	dk_imap_poller_run(args[0], args[1]);
	return NULL;
}

static gboolean stop_loop(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

/* Runs every poller on its own thread until a signal or the time limit. */
static int run_forever(GPtrArray *pollers, guint for_seconds)
{
	g_autoptr(GCancellable) cancel = g_cancellable_new();
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	guint sigint = g_unix_signal_add(SIGINT, stop_loop, loop);
	guint sigterm = g_unix_signal_add(SIGTERM, stop_loop, loop);
	guint timer = for_seconds > 0 ? g_timeout_add_seconds(for_seconds, stop_loop, loop) : 0;
	g_autoptr(GPtrArray) threads = g_ptr_array_new();
	g_autofree gpointer *args = g_new0(gpointer, 2 * pollers->len);
	for (guint i = 0; i < pollers->len; i++) {
		args[2 * i] = g_ptr_array_index(pollers, i);
		args[2 * i + 1] = cancel;
		g_ptr_array_add(threads, g_thread_new("imap-poller", poller_thread, &args[2 * i]));
	}
	g_main_loop_run(loop);
	g_cancellable_cancel(cancel);
	for (guint i = 0; i < threads->len; i++)
		g_thread_join(g_ptr_array_index(threads, i));
	g_source_remove(sigint);
	g_source_remove(sigterm);
	if (timer != 0)
		g_source_remove(timer);
	for (guint i = 0; i < pollers->len; i++)
		print_stats(g_ptr_array_index(pollers, i));
	return DK_EXIT_OK;
}

int dk_cmd_poll(int argc, char **argv)
{
	gboolean once = FALSE;
	g_autofree char *account = NULL;
	int for_seconds = 0;
	const GOptionEntry entries[] = {
		{"once", 0, 0, G_OPTION_ARG_NONE, &once, "One round over each account, then exit", NULL},
		{"account", 'a', 0, G_OPTION_ARG_STRING, &account, "Only the account [imap:NAME]", "NAME"},
		{"for-seconds", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &for_seconds, "Stop after N seconds",
		 "N"},
		G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_option_context_set_summary(context,
				     "Fetches mail from the [imap:NAME] accounts of the configuration into tickets.\n"
				     "Exit status: 0 done, 75 temporary failure (network, server), 78 a\n"
				     "configuration problem (refused login, untrusted certificate).");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	if (argc > 1 || for_seconds < 0) {
		dk_cli_error("poll: unexpected argument “%s”", argc > 1 ? argv[1] : "--for-seconds");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_CONFIG;
	dk_log_init(config);
	g_auto(GStrv) accounts = account ? g_strdupv((char *[]){account, NULL}) : dk_config_get_instances(config, "imap");
	if (accounts[0] == NULL) {
		dk_cli_error("poll: no [imap:NAME] section in the configuration");
		return DK_EXIT_CONFIG;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) store = dk_cli_open_store(config, &error);
	if (store == NULL) {
		dk_cli_error("poll: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	g_autoptr(DkPipeline) pipeline = dk_pipeline_new(config, store);
	int rc = DK_EXIT_OK;
	g_autoptr(GPtrArray) pollers = make_pollers(config, accounts, pipeline, &rc);
	if (pollers == NULL)
		return rc;
	if (once)
		return run_once(pollers);
	/* Several accounts share transactions through one writer thread. */
	DkWriter *writer = dk_writer_start(store, 0);
	dk_pipeline_set_writer(pipeline, writer);
	rc = run_forever(pollers, (guint)for_seconds);
	g_clear_pointer(&pollers, g_ptr_array_unref);
	dk_writer_stop(writer);
	return rc;
}
