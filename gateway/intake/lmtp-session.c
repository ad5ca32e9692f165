/* The LMTP session state machine: commands, DATA, per-recipient replies. */
#include "gateway/intake/lmtp-session.h"

#include "gateway/core/error.h"
#include "gateway/intake/lmtp-command.h"
#include "gateway/intake/lmtp-data.h"
#include "gateway/ops/metrics.h"

#include <string.h>

#define DK_LMTP_MAX_LINE 4096 /* RFC 5321 asks for 512; be generous */
#define DK_LMTP_BUFFER 65536

typedef enum {
	STATE_GREETED, /* waiting for LHLO */
	STATE_READY,   /* LHLO done, no transaction */
	STATE_MAIL,    /* MAIL FROM given */
	STATE_RCPT,    /* at least one recipient */
} State;

struct DkLmtpSession {
	DkLmtpSettings *settings;
	DkPipeline *pipeline;
	char *peer;
	char *id;
	GInputStream *in;
	GOutputStream *out;
	GCancellable *cancellable;
	DkLmtpReader reader;
	GString *replies; /* pending, sent when the client waits (RFC 2920) */
	State state;
	char *lhlo;
	char *sender;
	GPtrArray *recipients; /* char* */
	gboolean quit;
	gboolean broken; /* I/O failed: stop */
};

DkLmtpSettings *dk_lmtp_settings_new(const DkConfig *config)
{
	DkLmtpSettings *s = g_new0(DkLmtpSettings, 1);
	s->refcount = 1;
	const char *host = dk_config_get_string(config, "lmtp", "hostname");
	s->hostname = g_strdup(*host ? host : g_get_host_name());
	s->max_size = dk_config_get_int(config, "intake", "max_message_size");
	s->max_recipients = (guint)dk_config_get_int(config, "lmtp", "max_recipients");
	s->recipients = dk_config_get_list(config, "lmtp", "recipients");
	s->spool_dir = g_build_filename(dk_config_get_string(config, "store", "data_dir"), "spool", NULL);
	s->command_seconds = (guint)dk_config_get_int(config, "lmtp", "timeout_seconds");
	s->data_seconds = (guint)dk_config_get_int(config, "lmtp", "data_timeout_seconds");
	return s;
}

DkLmtpSettings *dk_lmtp_settings_ref(DkLmtpSettings *s)
{
	g_atomic_int_inc(&s->refcount);
	return s;
}

void dk_lmtp_settings_unref(DkLmtpSettings *s)
{
	if (s == NULL || !g_atomic_int_dec_and_test(&s->refcount))
		return;
	g_free(s->hostname);
	g_strfreev(s->recipients);
	g_free(s->spool_dir);
	g_free(s);
}

gboolean dk_lmtp_settings_accepts(const DkLmtpSettings *s, const char *address)
{
	if (s->recipients == NULL || s->recipients[0] == NULL)
		return TRUE;
	const char *at = strrchr(address, '@');
	for (int i = 0; s->recipients[i] != NULL; i++) {
		const char *p = s->recipients[i];
		if (g_ascii_strcasecmp(p, address) == 0)
			return TRUE;
		if (p[0] == '*' && p[1] == '@' && at != NULL && g_ascii_strcasecmp(p + 1, at) == 0)
			return TRUE;
	}
	return FALSE;
}

static void reply(DkLmtpSession *s, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void reply(DkLmtpSession *s, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_string_append_vprintf(s->replies, format, ap);
	va_end(ap);
	g_string_append(s->replies, "\r\n");
}

static void flush(DkLmtpSession *s)
{
	if (s->replies->len == 0 || s->broken)
		return;
	if (!g_output_stream_write_all(s->out, s->replies->str, s->replies->len, NULL, NULL, NULL) ||
	    !g_output_stream_flush(s->out, NULL, NULL))
		s->broken = TRUE;
	g_string_truncate(s->replies, 0);
}

static void reset_transaction(DkLmtpSession *s)
{
	g_clear_pointer(&s->sender, g_free);
	g_ptr_array_set_size(s->recipients, 0);
	if (s->state != STATE_GREETED)
		s->state = STATE_READY;
}

static void do_lhlo(DkLmtpSession *s, const DkLmtpCommand *c)
{
	g_free(s->lhlo);
	s->lhlo = g_strdup(c->argument);
	if (s->state == STATE_GREETED)
		s->state = STATE_READY;
	reset_transaction(s);
	reply(s, "250-%s", s->settings->hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	reply(s, "250 SIZE %" G_GINT64_FORMAT, s->settings->max_size);
}

static void do_mail(DkLmtpSession *s, const DkLmtpCommand *c)
{
	if (s->state == STATE_GREETED)
		return reply(s, "503 5.5.1 Send LHLO first");
	if (s->state != STATE_READY)
		return reply(s, "503 5.5.1 Nested MAIL command");
	if (c->size > s->settings->max_size)
		return reply(s, "552 5.3.4 Message size exceeds fixed limit of %" G_GINT64_FORMAT " bytes",
			     s->settings->max_size);
	s->sender = g_strdup(c->address);
	s->state = STATE_MAIL;
	reply(s, "250 2.1.0 OK");
}

static void do_rcpt(DkLmtpSession *s, const DkLmtpCommand *c)
{
	if (s->state != STATE_MAIL && s->state != STATE_RCPT)
		return reply(s, "503 5.5.1 Need MAIL command first");
	if (s->recipients->len >= s->settings->max_recipients)
		return reply(s, "452 4.5.3 Too many recipients");
	if (!dk_lmtp_settings_accepts(s->settings, c->address))
		return reply(s, "550 5.1.1 <%s> User unknown", c->address);
	g_ptr_array_add(s->recipients, g_strdup(c->address));
	s->state = STATE_RCPT;
	reply(s, "250 2.1.5 OK");
}

/* Replies once per accepted recipient: RFC 2033 section 4.2. */
static void reply_each(DkLmtpSession *s, const char *text)
{
	for (guint i = 0; i < s->recipients->len; i++)
		reply(s, "%s", text);
}

static void log_message(DkLmtpSession *s, gsize size, const DkDelivery *d, const char *outcome,
			gint64 started, const GError *error)
{
	g_autofree char *rcpts = g_strjoinv(",", (char **)s->recipients->pdata);
	g_message("lmtp sid=%s event=message from=<%s> rcpts=%s size=%" G_GSIZE_FORMAT
		  " ticket=%" G_GINT64_FORMAT " outcome=%s ms=%" G_GINT64_FORMAT "%s%s",
		  s->id, s->sender, rcpts, size, d ? d->ticket : 0, outcome,
		  (g_get_monotonic_time() - started) / 1000, error ? " error=" : "", error ? error->message : "");
}

/* Past this size a message is parsed and stored from its spool file in
 * chunks, never mapped or held whole, so that memory stays bounded. */
#define LARGE_MESSAGE (1024 * 1024)

/* The message is in the spool: through the pipeline, then the replies. */
static void deliver(DkLmtpSession *s, DkLmtpSpool *spool, gint64 started)
{
	g_autoptr(GError) error = NULL;
	g_ptr_array_add(s->recipients, NULL);
	DkIntake intake = {
		.intake = "lmtp",
		.envelope_from = s->sender,
		.recipients = (const char *const *)s->recipients->pdata,
	};
	gsize size = dk_lmtp_spool_size(spool);
	g_autoptr(GBytes) raw = size > LARGE_MESSAGE ? NULL : dk_lmtp_spool_contents(spool, &error);
	g_autoptr(DkPipelineItem) item = NULL;
	if (size > LARGE_MESSAGE)
		item = dk_pipeline_prepare_fd(s->pipeline, dk_lmtp_spool_fd(spool), size, &intake, &error);
	else if (raw != NULL)
		item = dk_pipeline_prepare(s->pipeline, raw, &intake, &error);
	g_ptr_array_set_size(s->recipients, s->recipients->len - 1);
	if (item != NULL && dk_pipeline_commit(s->pipeline, &item, 1, &error))
		error = dk_pipeline_item_steal_error(item);
	const DkDelivery *result = item != NULL ? dk_pipeline_item_result(item) : NULL;
	if (error == NULL && result->outcome == DK_OUTCOME_QUARANTINED) {
		dk_metrics_count(DK_METRIC_QUARANTINED, "lmtp");
		log_message(s, size, result, "quarantined", started, NULL);
		g_autofree char *ok = g_strdup_printf("250 2.0.0 Kept in quarantine as %" G_GINT64_FORMAT,
						      result->quarantine);
		reply_each(s, ok);
	} else if (error == NULL) {
		dk_metrics_count(DK_METRIC_ACCEPTED, "lmtp");
		log_message(s, size, result, dk_outcome_name(result->outcome), started, NULL);
		g_autofree char *ok = g_strdup_printf("250 2.0.0 <%s> ticket %" G_GINT64_FORMAT " %s",
						      result->message_id, result->ticket,
						      dk_outcome_name(result->outcome));
		reply_each(s, ok);
	} else if (g_error_matches(error, DK_ERROR, DK_ERROR_RATE_LIMITED)) {
		dk_metrics_count(DK_METRIC_TEMPFAILED, "lmtp");
		log_message(s, size, NULL, "rate-limited", started, error);
		g_autofree char *text = g_strdup_printf("451 4.7.1 %s", error->message);
		g_strdelimit(text, "\r\n", ' ');
		reply_each(s, text);
	} else if (dk_error_is_temporary(error)) {
		dk_metrics_count(DK_METRIC_TEMPFAILED, "lmtp");
		log_message(s, size, NULL, "tempfail", started, error);
		reply_each(s, "451 4.3.0 Temporary failure, try again later");
	} else {
		dk_metrics_count(DK_METRIC_REFUSED, "lmtp");
		log_message(s, size, NULL, "refused", started, error);
		/* Not mail at all: 5.6.0 (bad content). Refused by policy (a
		 * stranger on someone's ticket, a rule's reject): 5.7.1. */
		gboolean content = error->domain == DK_PARSE_ERROR;
		g_autofree char *text = g_strdup_printf("%s Message refused: %s",
							 content ? "554 5.6.0" : "550 5.7.1", error->message);
		g_strdelimit(text, "\r\n", ' ');
		reply_each(s, text);
	}
}

static void do_data(DkLmtpSession *s)
{
	if (s->state != STATE_RCPT)
		return reply(s, s->state == STATE_MAIL ? "554 5.5.1 No valid recipients"
							: "503 5.5.1 Need RCPT command first");
	gint64 started = g_get_monotonic_time();
	g_autoptr(GError) error = NULL;
	g_autoptr(DkLmtpSpool) spool = dk_lmtp_spool_new(s->settings->spool_dir, &error);
	if (spool == NULL) {
		g_warning("lmtp sid=%s event=spool error=%s", s->id, error->message);
		return reply(s, "451 4.3.0 Cannot spool the message, try again later");
	}
	reply(s, "354 2.0.0 End data with <CR><LF>.<CR><LF>");
	flush(s);
	s->reader.deadline = g_get_monotonic_time() + (gint64)s->settings->data_seconds * G_USEC_PER_SEC;
	DkLmtpDataResult r = dk_lmtp_data_read(&s->reader, s->in, spool, s->settings->max_size, &error);
	if (r == DK_LMTP_DATA_BROKEN && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
		/* Too slow (or idle) in DATA: nothing is stored, the MTA retries. */
		g_message("lmtp sid=%s event=aborted reason=data-timeout", s->id);
		reply(s, "421 4.4.2 %s DATA took too long, closing connection", s->settings->hostname);
		s->quit = TRUE;
		return;
	}
	if (r == DK_LMTP_DATA_BROKEN) {
		/* The client went away mid-DATA: nothing is stored. */
		g_message("lmtp sid=%s event=aborted reason=%s", s->id, error ? error->message : "eof");
		s->broken = TRUE;
		return;
	}
	if (r == DK_LMTP_DATA_TOO_BIG) {
		reply_each(s, "552 5.3.4 Message size exceeds fixed maximum message size");
	} else if (r == DK_LMTP_DATA_FAILED || !dk_lmtp_spool_finish(spool, &error)) {
		g_warning("lmtp sid=%s event=spool error=%s", s->id, error ? error->message : "?");
		reply_each(s, "451 4.3.0 Cannot spool the message, try again later");
	} else {
		deliver(s, spool, started);
	}
	reset_transaction(s);
}

static void dispatch(DkLmtpSession *s, const DkLmtpCommand *c)
{
	switch (c->verb) {
	case DK_LMTP_LHLO:
		return do_lhlo(s, c);
	case DK_LMTP_HELO:
		return reply(s, "500 5.5.1 This is LMTP: use LHLO (RFC 2033)");
	case DK_LMTP_MAIL:
		return do_mail(s, c);
	case DK_LMTP_RCPT:
		return do_rcpt(s, c);
	case DK_LMTP_DATA:
		return do_data(s);
	case DK_LMTP_RSET:
		reset_transaction(s);
		return reply(s, "250 2.0.0 OK");
	case DK_LMTP_NOOP:
		return reply(s, "250 2.0.0 OK");
	case DK_LMTP_VRFY:
		return reply(s, "252 2.5.2 Cannot verify, but will accept the message");
	case DK_LMTP_QUIT:
		s->quit = TRUE;
		return reply(s, "221 2.0.0 %s closing connection", s->settings->hostname);
	case DK_LMTP_UNKNOWN:
		return reply(s, "500 5.5.2 Unknown command");
	}
}

DkLmtpSession *dk_lmtp_session_new(DkLmtpSettings *settings, DkPipeline *pipeline, const char *peer,
				   GInputStream *in, GOutputStream *out, GCancellable *cancellable)
{
	DkLmtpSession *s = g_new0(DkLmtpSession, 1);
	s->settings = dk_lmtp_settings_ref(settings);
	s->pipeline = pipeline;
	s->peer = g_strdup(peer ? peer : "unknown");
	s->id = g_strdup_printf("%08x", g_random_int());
	s->in = g_object_ref(in);
	s->out = g_object_ref(out);
	s->cancellable = cancellable ? g_object_ref(cancellable) : NULL;
	dk_lmtp_reader_init(&s->reader, DK_LMTP_BUFFER);
	s->replies = g_string_new(NULL);
	s->recipients = g_ptr_array_new_with_free_func(g_free);
	return s;
}

void dk_lmtp_session_run(DkLmtpSession *s)
{
	g_message("lmtp sid=%s event=connect peer=%s", s->id, s->peer);
	reply(s, "220 %s docket LMTP ready", s->settings->hostname);
	while (!s->quit && !s->broken) {
		if (g_cancellable_is_cancelled(s->cancellable)) {
			reply(s, "421 4.3.2 %s shutting down", s->settings->hostname);
			break;
		}
		/* Pipelined commands are answered together, when the client
		 * has sent all it had (RFC 2920 section 3.1). */
		if (!dk_lmtp_reader_has_line(&s->reader))
			flush(s);
		const char *line = NULL;
		gsize length = 0;
		g_autoptr(GError) error = NULL;
		s->reader.deadline =
			g_get_monotonic_time() + (gint64)s->settings->command_seconds * G_USEC_PER_SEC;
		DkLmtpLine r = dk_lmtp_reader_line(&s->reader, s->in, DK_LMTP_MAX_LINE, &line, &length,
						   s->cancellable, &error);
		if (r == DK_LMTP_LINE_TOO_LONG) {
			reply(s, "500 5.5.2 Line too long");
			continue;
		}
		if (r != DK_LMTP_LINE_OK) {
			if (error != NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
				reply(s, "421 4.4.2 %s timeout, closing connection", s->settings->hostname);
			else if (error != NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
				reply(s, "421 4.3.2 %s shutting down", s->settings->hostname);
			break;
		}
		DkLmtpCommand command;
		g_autofree char *error_reply = NULL;
		if (dk_lmtp_command_parse(line, length, &command, &error_reply))
			dispatch(s, &command);
		else
			reply(s, "%s", error_reply);
		dk_lmtp_command_clear(&command);
	}
	flush(s);
	g_message("lmtp sid=%s event=disconnect", s->id);
}

void dk_lmtp_session_free(DkLmtpSession *s)
{
	if (s == NULL)
		return;
	dk_lmtp_settings_unref(s->settings);
	g_free(s->peer);
	g_free(s->id);
	g_object_unref(s->in);
	g_object_unref(s->out);
	g_clear_object(&s->cancellable);
	dk_lmtp_reader_clear(&s->reader);
	g_string_free(s->replies, TRUE);
	g_ptr_array_unref(s->recipients);
	g_free(s->lhlo);
	g_free(s->sender);
	g_free(s);
}
