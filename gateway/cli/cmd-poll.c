/* `docket poll`: the IMAP intake from the command line. With --once, one
 * round over each account (for cron and tests); without, the pollers run
 * (IDLE, watchdog, reconnects) until SIGINT or SIGTERM, as in
 * `docket serve`. */
#include "gateway/cli/cli.h"
#include "gateway/error.h"
#include "gateway/core/pipeline.h"
#include "gateway/outbox/effects.h"
#include "gateway/core/writer.h"
#include "gateway/intake/imap-poller.h"
#include "gateway/ops/metrics.h"

#include <glib-unix.h>
#include <stdio.h>

static int exit_for(const GError *error)
{
	if (dk_error_is_temporary(error))
		return DK_EXIT_TEMPFAIL;
	return DK_EXIT_CONFIG; /* a refused login, an untrusted certificate, a bad section */
}

/* One line per account; failed: which accounts' last round failed (NULL:
 * none), so that a line of zeros never passes for a quiet mailbox. */
static void print_stats(DkImapPollerSet *set, const gboolean *failed)
{
	for (guint i = 0; i < dk_imap_poller_set_size(set); i++) {
		DkImapPoller *poller = dk_imap_poller_set_get(set, i);
		DkImapStats s;
		dk_imap_poller_stats(poller, &s);
		printf("account=%s fetched=%" G_GUINT64_FORMAT " stored=%" G_GUINT64_FORMAT
		       " duplicates=%" G_GUINT64_FORMAT " refused=%" G_GUINT64_FORMAT
		       " deferred=%" G_GUINT64_FORMAT " quarantined=%" G_GUINT64_FORMAT
		       " dropped=%" G_GUINT64_FORMAT " result=%s\n",
		       dk_imap_poller_account(poller), s.fetched, s.stored, s.duplicates, s.refused,
		       s.deferred, s.quarantined, s.dropped, failed && failed[i] ? "failed" : "ok");
	}
	fflush(stdout);
}

/* Each account's round, its error (if any) on stderr as it happens, then
 * the summary. */
static int run_once(DkImapPollerSet *set)
{
	int rc = DK_EXIT_OK;
	guint n = dk_imap_poller_set_size(set);
	g_autofree gboolean *failed = g_new0(gboolean, n);
	fflush(stdout);
	for (guint i = 0; i < n; i++) {
		g_autoptr(GError) error = NULL;
		if (!dk_imap_poller_run_once(dk_imap_poller_set_get(set, i), &error)) {
			dk_cli_error("poll: %s", error->message);
			failed[i] = TRUE;
			rc = MAX(rc, exit_for(error));
		}
	}
	fflush(stderr);
	print_stats(set, failed);
	return rc;
}

static gboolean stop_loop(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

/* Runs the pollers on their threads until a signal or the time limit. */
static void run_forever(DkImapPollerSet *set, guint for_seconds)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	guint sources[] = {
	    g_unix_signal_add(SIGINT, stop_loop, loop),
	    g_unix_signal_add(SIGTERM, stop_loop, loop),
	    for_seconds > 0 ? g_timeout_add_seconds(for_seconds, stop_loop, loop) : 0,
	};
	dk_imap_poller_set_start(set);
	g_main_loop_run(loop);
	for (gsize i = 0; i < G_N_ELEMENTS(sources); i++)
		if (sources[i] != 0)
			g_source_remove(sources[i]);
}

int dk_cmd_poll(int argc, char **argv)
{
	gboolean once = FALSE;
	g_autofree char *account = NULL;
	int for_seconds = 0;
	const GOptionEntry entries[] = {
	    {"once", 0, 0, G_OPTION_ARG_NONE, &once, "One round over each account, then exit",
	     NULL},
	    {"account", 'a', 0, G_OPTION_ARG_STRING, &account, "Only the account [imap:NAME]",
	     "NAME"},
	    {"for-seconds", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &for_seconds,
	     "Stop after N seconds", "N"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_option_context_set_summary(
	    context,
	    "Fetches mail from the [imap:NAME] accounts of the configuration into tickets.\n"
	    "Exit status: 0 done, 75 temporary failure (network, server), 78 a\n"
	    "configuration problem (refused login, untrusted certificate).");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	if (argc > 1 || for_seconds < 0) {
		dk_cli_error("poll: unexpected argument “%s”",
		             argc > 1 ? argv[1] : "--for-seconds");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = NULL;
	g_autoptr(DkStore) store = NULL;
	int rc = dk_cli_open("poll", TRUE, &config, &store);
	if (rc != DK_EXIT_OK)
		return rc;
	g_autoptr(DkPipeline) pipeline = dk_pipeline_new(config, store, &dk_outbox_effects);
	const char *const only[] = {account, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(DkImapPollerSet) set =
	    dk_imap_poller_set_new(config, account ? only : NULL, pipeline, &error);
	if (set == NULL || dk_imap_poller_set_size(set) == 0) {
		dk_cli_error("poll: %s", error ? error->message
		                               : "no [imap:NAME] section in the configuration");
		return error && error->code != DK_ERROR_CONFIG ? exit_for(error) : DK_EXIT_CONFIG;
	}
	if (once)
		return run_once(set);
	/* Several accounts share transactions through one writer thread. */
	DkWriter *writer = dk_writer_start(store, 0, dk_metrics_observe_commit);
	dk_pipeline_set_writer(pipeline, writer);
	run_forever(set, (guint)for_seconds);
	dk_imap_poller_set_stop(set);
	print_stats(set, NULL);
	dk_writer_stop(writer);
	dk_pipeline_set_writer(pipeline, NULL);
	return DK_EXIT_OK;
}
