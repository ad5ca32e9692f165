/* `docket deliver`: the MTA pipe. Reads one message on stdin, runs the
 * pipeline, and answers with the exit status an MTA understands: 0 once the
 * message is committed, 75 to have it retried, 65 for input that can never
 * be accepted. */
#include "gateway/cli/cli.h"
#include "gateway/error.h"
#include "gateway/core/pipeline.h"
#include "gateway/intake/lmtp-data.h"
#include "gateway/ops/log.h"
#include "gateway/outbox/effects.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* Reads all of fd into a spool in dir (memory, then a file without a
 * name past 256 KiB), refusing more than limit bytes. */
static DkLmtpSpool *read_all(int fd, const char *dir, gsize limit, GError **error)
{
	g_autoptr(DkLmtpSpool) spool = dk_lmtp_spool_new(dir);
	g_autofree guint8 *chunk = g_malloc(65536);
	for (;;) {
		ssize_t n = read(fd, chunk, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "reading stdin: %s",
			            g_strerror(errno));
			return NULL;
		}
		if (n == 0)
			break;
		if (dk_lmtp_spool_size(spool) + (gsize)n > limit) {
			g_set_error(
			    error, DK_ERROR, DK_ERROR_PERMANENT,
			    "message larger than [intake] max_message_size (%" G_GSIZE_FORMAT
			    " bytes)",
			    limit);
			return NULL;
		}
		if (!dk_lmtp_spool_write(spool, chunk, (gsize)n, error))
			return NULL;
	}
	return dk_lmtp_spool_finish(spool, error) ? g_steal_pointer(&spool) : NULL;
}

/* Through the pipeline: a large message from its spool file, in chunks
 * (as LMTP does), a small one from memory. */
static gboolean deliver(DkPipeline *pipeline, DkLmtpSpool *spool, const DkIntake *intake,
                        DkDelivery *out, GError **error)
{
	gsize size = dk_lmtp_spool_size(spool);
	if (size > DK_PIPELINE_LARGE_MESSAGE)
		return dk_pipeline_deliver_fd(pipeline, dk_lmtp_spool_fd(spool), size, intake, out,
		                              error);
	g_autoptr(GBytes) raw = dk_lmtp_spool_contents(spool, error);
	return raw != NULL && dk_pipeline_deliver(pipeline, raw, intake, out, error);
}

/* The one log line of the message (to syslog with [log] syslog = true;
 * stderr is the MTA's), as the LMTP listener writes one. */
static void log_message(const DkIntake *intake, gsize size, const DkDelivery *d, gint64 started,
                        const GError *error)
{
	g_autofree char *rcpts =
	    intake->recipients ? g_strjoinv(",", (char **)intake->recipients) : g_strdup("");
	const char *outcome = d != NULL                      ? dk_outcome_name(d->outcome)
	                      : dk_error_is_temporary(error) ? "tempfail"
	                                                     : "refused";
	g_message("stdin event=message from=<%s> rcpts=%s size=%" G_GSIZE_FORMAT
	          " ticket=%" G_GINT64_FORMAT " outcome=%s ms=%" G_GINT64_FORMAT "%s%s",
	          intake->envelope_from ? intake->envelope_from : "", rcpts, size,
	          d ? d->ticket : 0, outcome, (g_get_monotonic_time() - started) / 1000,
	          error ? " error=" : "", error ? error->message : "");
}

static int exit_for(const GError *error)
{
	return dk_error_is_temporary(error) ? DK_EXIT_TEMPFAIL : DK_EXIT_DATAERR;
}

int dk_cmd_deliver(int argc, char **argv)
{
	g_auto(GStrv) recipients = NULL;
	g_autofree char *sender = NULL;
	gboolean verbose = FALSE;
	gint64 received_at = 0;
	const GOptionEntry entries[] = {
	    {"recipient", 'r', 0, G_OPTION_ARG_STRING_ARRAY, &recipients,
	     "Envelope recipient (repeatable)", "ADDR"},
	    {"sender", 'f', 0, G_OPTION_ARG_STRING, &sender, "Envelope sender", "ADDR"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print the outcome on stdout", NULL},
	    /* For tests and imports: the arrival time (Unix seconds) instead of now. */
	    {"received-at", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &received_at, NULL,
	     "UNIX"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new("< MESSAGE");
	g_option_context_set_summary(
	    context, "Reads one RFC 5322 message on stdin and files it as a ticket or an article.\n"
	             "Exit status: 0 stored (or already stored), 75 temporary failure (retry),\n"
	             "65 not acceptable (the reason is printed on stderr).");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	if (argc > 1) {
		dk_cli_error("deliver: unexpected argument “%s”; the message is read on stdin",
		             argv[1]);
		return DK_EXIT_USAGE;
	}
	/* A configuration error is the administrator's to fix: have the MTA
	 * keep the message meanwhile. */
	g_autoptr(DkConfig) config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_TEMPFAIL;
	g_autoptr(GError) error = NULL;
	g_autofree char *spool_dir =
	    g_build_filename(dk_config_get_string(config, "store", "data_dir"), "spool", NULL);
	g_autoptr(DkLmtpSpool) spool =
	    read_all(STDIN_FILENO, spool_dir,
	             (gsize)dk_config_get_int(config, "intake", "max_message_size"), &error);
	if (spool == NULL) {
		dk_cli_error("deliver: %s", error->message);
		return exit_for(error);
	}
	g_autoptr(DkStore) store = dk_store_open_config(config, &error);
	if (store == NULL) {
		dk_cli_error("deliver: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	dk_log_init_quiet(config);
	g_autoptr(DkPipeline) pipeline = dk_pipeline_new(config, store, &dk_outbox_effects);
	DkIntake intake = {
	    .intake = "stdin",
	    .envelope_from = sender,
	    .recipients = (const char *const *)recipients,
	    .received_at = MAX(received_at, 0),
	};
	DkDelivery result = {0};
	gint64 started = g_get_monotonic_time();
	gsize size = dk_lmtp_spool_size(spool);
	if (!deliver(pipeline, spool, &intake, &result, &error)) {
		log_message(&intake, size, NULL, started, error);
		dk_cli_error("deliver: %s", error->message);
		return exit_for(error);
	}
	log_message(&intake, size, &result, started, NULL);
	if (result.outcome == DK_OUTCOME_QUARANTINED)
		dk_cli_error("deliver: unreadable or held, kept in quarantine as %" G_GINT64_FORMAT
		             " (docket quarantine show %" G_GINT64_FORMAT " says why)",
		             result.quarantine, result.quarantine);
	else if (verbose)
		printf("ticket=%" G_GINT64_FORMAT " article=%" G_GINT64_FORMAT
		       " outcome=%s evidence=%s message_id=%s\n",
		       result.ticket, result.article, dk_outcome_name(result.outcome),
		       result.evidence, result.message_id);
	dk_delivery_clear(&result);
	return DK_EXIT_OK;
}
