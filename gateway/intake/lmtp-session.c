/* The LMTP session state machine: commands, DATA, per-recipient replies. */
#include "gateway/intake/lmtp-session.h"

#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/intake/lmtp-command.h"
#include "gateway/intake/lmtp-data.h"
#include "gateway/ops/metrics.h"

#include <string.h>

#define DK_LMTP_MAX_LINE 4096 /* RFC 5321 asks for 512; be generous */
#define DK_LMTP_BUFFER 65536

/* The states of a session (RFC 2033 section 4, RFC 5321 section 3.3);
 * QUIT, the end of input, a timeout or an I/O error end it in any. */
typedef enum {
	STATE_GREETED, /* waiting for LHLO */
	STATE_READY,   /* LHLO done, no transaction */
	STATE_MAIL,    /* MAIL FROM given */
	STATE_RCPT,    /* at least one recipient */
} State;

static const char *const state_names[] = {
    [STATE_GREETED] = "greeted",
    [STATE_READY] = "ready",
    [STATE_MAIL] = "mail",
    [STATE_RCPT] = "rcpt",
};

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
	s->spool_dir =
	    g_build_filename(dk_config_get_string(config, "store", "data_dir"), "spool", NULL);
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
	/* A subaddress (RFC 5233) reaches its mailbox: support+12.3f9a0c1d2e@
	 * is support@ (the signed reply address of a ticket). */
	const char *plus = at ? memchr(address, '+', (gsize)(at - address)) : NULL;
	g_autofree char *base =
	    plus ? g_strdup_printf("%.*s%s", (int)(plus - address), address, at) : NULL;
	for (int i = 0; s->recipients[i] != NULL; i++) {
		const char *p = s->recipients[i];
		if (g_ascii_strcasecmp(p, address) == 0 ||
		    (base != NULL && g_ascii_strcasecmp(p, base) == 0))
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
	if (!g_output_stream_write_all(s->out, s->replies->str, s->replies->len, NULL, NULL,
	                               NULL) ||
	    !g_output_stream_flush(s->out, NULL, NULL))
		s->broken = TRUE;
	g_string_truncate(s->replies, 0);
}

/* Every change of state goes through here, so that [log] level = debug
 * shows the machine at work. */
static void enter_state(DkLmtpSession *s, State to)
{
	if (s->state == to)
		return;
	g_debug("lmtp sid=%s event=state from=%s to=%s", s->id, state_names[s->state],
	        state_names[to]);
	s->state = to;
}

/* Forgets the transaction (sender and recipients); a greeted session is
 * ready for the next one. */
static void reset_transaction(DkLmtpSession *s)
{
	g_clear_pointer(&s->sender, g_free);
	g_ptr_array_set_size(s->recipients, 0);
	if (s->state != STATE_GREETED)
		enter_state(s, STATE_READY);
}

static void do_lhlo(DkLmtpSession *s, const DkLmtpCommand *c)
{
	g_free(s->lhlo);
	s->lhlo = g_strdup(c->argument);
	reset_transaction(s);
	enter_state(s, STATE_READY);
	reply(s, "250-%s", s->settings->hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	reply(s, "250 SIZE %" G_GINT64_FORMAT, s->settings->max_size);
}

static void do_helo(DkLmtpSession *s, const DkLmtpCommand *c)
{
	reply(s, "500 5.5.1 This is LMTP: use LHLO (RFC 2033)");
}

static void do_mail(DkLmtpSession *s, const DkLmtpCommand *c)
{
	if (c->size > s->settings->max_size) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit of %" G_GINT64_FORMAT " bytes",
		      s->settings->max_size);
		return;
	}
	s->sender = g_strdup(c->address);
	enter_state(s, STATE_MAIL);
	reply(s, "250 2.1.0 OK");
}

/* A recipient refused: the reply, and a log line that says why, so that
 * mail bouncing for a wrong [lmtp] recipients shows in the log. */
static void refuse_rcpt(DkLmtpSession *s, const char *address, const char *why, const char *format,
                        ...) G_GNUC_PRINTF(4, 5);

static void refuse_rcpt(DkLmtpSession *s, const char *address, const char *why, const char *format,
                        ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *text = g_strdup_vprintf(format, ap);
	va_end(ap);
	reply(s, "%s", text);
	g_message("lmtp sid=%s event=rcpt result=refused to=<%s> reason=\"%s\" reply=\"%s\"", s->id,
	          address ? address : "", why, text);
}

static void do_rcpt(DkLmtpSession *s, const DkLmtpCommand *c)
{
	if (s->recipients->len >= s->settings->max_recipients)
		refuse_rcpt(s, c->address, "more than [lmtp] max_recipients",
		            "452 4.5.3 Too many recipients");
	else if (!dk_lmtp_settings_accepts(s->settings, c->address))
		refuse_rcpt(s, c->address, "not in [lmtp] recipients",
		            "550 5.1.1 <%s> User unknown", c->address);
	else {
		g_ptr_array_add(s->recipients, g_strdup(c->address));
		enter_state(s, STATE_RCPT);
		reply(s, "250 2.1.5 OK");
	}
}

/* What became of the message for one recipient, from which its reply is
 * made (RFC 2033 section 4.2: one reply per accepted recipient, in
 * order). Today every recipient of a message has the same outcome: one
 * article serves them all, and it records every envelope recipient. */
typedef enum {
	RCPT_TOO_BIG,     /* over [intake] max_message_size: nothing kept */
	RCPT_NOT_SPOOLED, /* the spool file failed: nothing kept */
	RCPT_COMMITTED,   /* the pipeline answered: delivery or error */
} RcptStage;

typedef struct {
	RcptStage stage;
	const DkDelivery *delivery; /* RCPT_COMMITTED without error */
	const GError *error;        /* RCPT_COMMITTED: why not */
} RcptOutcome;

/* The reply for one recipient's outcome. */
static char *rcpt_reply(const RcptOutcome *o)
{
	const GError *e = o->error;
	if (o->stage == RCPT_TOO_BIG)
		return g_strdup("552 5.3.4 Message size exceeds fixed maximum message size");
	if (o->stage == RCPT_NOT_SPOOLED)
		return g_strdup("451 4.3.0 Cannot spool the message, try again later");
	if (e == NULL && o->delivery->outcome == DK_OUTCOME_QUARANTINED)
		return g_strdup_printf("250 2.0.0 Kept in quarantine as %" G_GINT64_FORMAT,
		                       o->delivery->quarantine);
	if (e == NULL)
		return g_strdup_printf("250 2.0.0 <%s> ticket %" G_GINT64_FORMAT " %s",
		                       o->delivery->message_id, o->delivery->ticket,
		                       dk_outcome_name(o->delivery->outcome));
	char *text;
	if (g_error_matches(e, DK_ERROR, DK_ERROR_RATE_LIMITED))
		text = g_strdup_printf("451 4.7.1 %s", e->message);
	else if (dk_error_is_temporary(e))
		text = g_strdup("451 4.3.0 Temporary failure, try again later");
	else
		/* Not mail at all: 5.6.0 (bad content). Refused by policy (a
		 * stranger on someone's ticket, a rule's reject): 5.7.1. */
		text = g_strdup_printf("%s Message refused: %s",
		                       e->domain == DK_PARSE_ERROR ? "554 5.6.0" : "550 5.7.1",
		                       e->message);
	g_strdelimit(text, "\r\n", ' ');
	return text;
}

/* One reply per accepted recipient, each from its own outcome. */
static void reply_per_recipient(DkLmtpSession *s, const RcptOutcome *outcomes)
{
	for (guint i = 0; i < s->recipients->len; i++) {
		g_autofree char *text = rcpt_reply(&outcomes[i]);
		reply(s, "%s", text);
	}
}

/* Every recipient with the message's outcome. */
static void reply_all(DkLmtpSession *s, RcptOutcome outcome)
{
	g_autofree RcptOutcome *outcomes = g_new(RcptOutcome, MAX(s->recipients->len, 1));
	for (guint i = 0; i < s->recipients->len; i++)
		outcomes[i] = outcome;
	reply_per_recipient(s, outcomes);
}

static void log_message(DkLmtpSession *s, gsize size, const DkDelivery *d, const char *outcome,
                        gint64 started, const GError *error)
{
	g_autofree char *rcpts = g_strjoinv(",", (char **)s->recipients->pdata);
	g_message("lmtp sid=%s event=message from=<%s> rcpts=%s size=%" G_GSIZE_FORMAT
	          " ticket=%" G_GINT64_FORMAT " outcome=%s ms=%" G_GINT64_FORMAT "%s%s",
	          s->id, s->sender, rcpts, size, d ? d->ticket : 0, outcome,
	          (g_get_monotonic_time() - started) / 1000, error ? " error=" : "",
	          error ? error->message : "");
}

/* The message's metric and log line: one per message, whatever the
 * number of recipients. */
static void account(DkLmtpSession *s, gsize size, const DkDelivery *d, const GError *error,
                    gint64 started)
{
	if (error == NULL && d->outcome == DK_OUTCOME_QUARANTINED) {
		dk_metrics_count(DK_METRIC_QUARANTINED, "lmtp");
		log_message(s, size, d, "quarantined", started, NULL);
	} else if (error == NULL) {
		dk_metrics_count(DK_METRIC_ACCEPTED, "lmtp");
		log_message(s, size, d, dk_outcome_name(d->outcome), started, NULL);
	} else if (g_error_matches(error, DK_ERROR, DK_ERROR_RATE_LIMITED)) {
		dk_metrics_count(DK_METRIC_TEMPFAILED, "lmtp");
		log_message(s, size, NULL, "rate-limited", started, error);
	} else if (dk_error_is_temporary(error)) {
		dk_metrics_count(DK_METRIC_TEMPFAILED, "lmtp");
		log_message(s, size, NULL, "tempfail", started, error);
	} else {
		dk_metrics_count(DK_METRIC_REFUSED, "lmtp");
		log_message(s, size, NULL, "refused", started, error);
	}
}

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
	g_autoptr(GBytes) raw =
	    size > DK_PIPELINE_LARGE_MESSAGE ? NULL : dk_lmtp_spool_contents(spool, &error);
	g_autoptr(DkPipelineItem) item = NULL;
	if (size > DK_PIPELINE_LARGE_MESSAGE)
		item = dk_pipeline_prepare_fd(s->pipeline, dk_lmtp_spool_fd(spool), size, &intake,
		                              &error);
	else if (raw != NULL)
		item = dk_pipeline_prepare(s->pipeline, raw, &intake, &error);
	g_ptr_array_set_size(s->recipients, s->recipients->len - 1);
	if (item != NULL && dk_pipeline_commit(s->pipeline, &item, 1, &error))
		error = dk_pipeline_item_steal_error(item);
	const DkDelivery *delivery = error == NULL ? dk_pipeline_item_result(item) : NULL;
	account(s, size, delivery, error, started);
	reply_all(s, (RcptOutcome){.stage = RCPT_COMMITTED, .delivery = delivery, .error = error});
}

static void do_data(DkLmtpSession *s, const DkLmtpCommand *c)
{
	gint64 started = g_get_monotonic_time();
	g_autoptr(GError) error = NULL;
	g_autoptr(DkLmtpSpool) spool = dk_lmtp_spool_new(s->settings->spool_dir);
	reply(s, "354 2.0.0 End data with <CR><LF>.<CR><LF>");
	flush(s);
	s->reader.deadline =
	    g_get_monotonic_time() + (gint64)s->settings->data_seconds * G_USEC_PER_SEC;
	DkLmtpDataResult r =
	    dk_lmtp_data_read(&s->reader, s->in, spool, s->settings->max_size, &error);
	if (r == DK_LMTP_DATA_BROKEN && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
		/* Too slow (or idle) in DATA: nothing is stored, the MTA retries. */
		g_message("lmtp sid=%s event=aborted reason=data-timeout", s->id);
		reply(s, "421 4.4.2 %s DATA took too long, closing connection",
		      s->settings->hostname);
		s->quit = TRUE;
		return;
	}
	if (r == DK_LMTP_DATA_BROKEN) {
		/* The client went away mid-DATA: nothing is stored. */
		g_message("lmtp sid=%s event=aborted reason=%s", s->id,
		          error ? error->message : "eof");
		s->broken = TRUE;
		return;
	}
	if (r == DK_LMTP_DATA_TOO_BIG) {
		reply_all(s, (RcptOutcome){.stage = RCPT_TOO_BIG});
	} else if (r == DK_LMTP_DATA_FAILED || !dk_lmtp_spool_finish(spool, &error)) {
		g_warning("lmtp sid=%s event=spool error=%s", s->id, error ? error->message : "?");
		reply_all(s, (RcptOutcome){.stage = RCPT_NOT_SPOOLED});
	} else {
		deliver(s, spool, started);
	}
	reset_transaction(s);
}

static void do_rset(DkLmtpSession *s, const DkLmtpCommand *c)
{
	reset_transaction(s);
	reply(s, "250 2.0.0 OK");
}

static void do_noop(DkLmtpSession *s, const DkLmtpCommand *c)
{
	reply(s, "250 2.0.0 OK");
}

static void do_vrfy(DkLmtpSession *s, const DkLmtpCommand *c)
{
	reply(s, "252 2.5.2 Cannot verify, but will accept the message");
}

static void do_quit(DkLmtpSession *s, const DkLmtpCommand *c)
{
	s->quit = TRUE;
	reply(s, "221 2.0.0 %s closing connection", s->settings->hostname);
}

static void do_unknown(DkLmtpSession *s, const DkLmtpCommand *c)
{
	reply(s, "500 5.5.2 Unknown command");
}

/* What a command out of its states is told: by the state it came in. */
static const char *mail_refusal(State state)
{
	return state == STATE_GREETED ? "503 5.5.1 Send LHLO first"
	                              : "503 5.5.1 Nested MAIL command";
}

static const char *rcpt_refusal(State state)
{
	return "503 5.5.1 Need MAIL command first";
}

static const char *data_refusal(State state)
{
	return state == STATE_MAIL ? "554 5.5.1 No valid recipients"
	                           : "503 5.5.1 Need RCPT command first";
}

#define IN(state) (1u << (state))
#define ANY_STATE (IN(STATE_GREETED) | IN(STATE_READY) | IN(STATE_MAIL) | IN(STATE_RCPT))

/* The command table: each verb, the states it is accepted in, what it
 * does there, and the refusal anywhere else. */
typedef struct {
	guint states;
	void (*run)(DkLmtpSession *s, const DkLmtpCommand *c);
	const char *(*refusal)(State state);
} CommandDef;

// clang-format off
static const CommandDef commands[] = {
    [DK_LMTP_LHLO]      = {ANY_STATE,                       do_lhlo,     NULL},
    [DK_LMTP_HELO]      = {ANY_STATE,                       do_helo,     NULL},
    [DK_LMTP_MAIL]      = {IN(STATE_READY),                 do_mail,     mail_refusal},
    [DK_LMTP_RCPT]      = {IN(STATE_MAIL) | IN(STATE_RCPT), do_rcpt,     rcpt_refusal},
    [DK_LMTP_DATA]      = {IN(STATE_RCPT),                  do_data,     data_refusal},
    [DK_LMTP_RSET]      = {ANY_STATE,                       do_rset,     NULL},
    [DK_LMTP_NOOP]      = {ANY_STATE,                       do_noop,     NULL},
    [DK_LMTP_VRFY]      = {ANY_STATE,                       do_vrfy,     NULL},
    [DK_LMTP_QUIT]      = {ANY_STATE,                       do_quit,     NULL},
    [DK_LMTP_UNKNOWN]   = {ANY_STATE,                       do_unknown,  NULL},
};
// clang-format on

static void dispatch(DkLmtpSession *s, const DkLmtpCommand *c)
{
	const CommandDef *def = &commands[c->verb];
	if (def->states & IN(s->state))
		def->run(s, c);
	else if (c->verb == DK_LMTP_RCPT)
		refuse_rcpt(s, c->address, "out of sequence", "%s", def->refusal(s->state));
	else
		reply(s, "%s", def->refusal(s->state));
}

DkLmtpSession *dk_lmtp_session_new(DkLmtpSettings *settings, DkPipeline *pipeline, const char *peer,
                                   GInputStream *in, GOutputStream *out, GCancellable *cancellable)
{
	DkLmtpSession *s = g_new0(DkLmtpSession, 1);
	s->settings = dk_lmtp_settings_ref(settings);
	s->pipeline = pipeline;
	s->peer = g_strdup(peer ? peer : "unknown");
	s->id = dk_ids_random_hex(4);
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
		DkLmtpLine r = dk_lmtp_reader_line(&s->reader, s->in, DK_LMTP_MAX_LINE, &line,
		                                   &length, s->cancellable, &error);
		if (r == DK_LMTP_LINE_TOO_LONG) {
			reply(s, "500 5.5.2 Line too long");
			continue;
		}
		if (r != DK_LMTP_LINE_OK) {
			if (error != NULL &&
			    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
				reply(s, "421 4.4.2 %s timeout, closing connection",
				      s->settings->hostname);
			else if (error != NULL &&
			         g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
				reply(s, "421 4.3.2 %s shutting down", s->settings->hostname);
			break;
		}
		DkLmtpCommand command;
		g_autofree char *error_reply = NULL;
		if (dk_lmtp_command_parse(line, length, &command, &error_reply))
			dispatch(s, &command);
		else if (length >= 4 && g_ascii_strncasecmp(line, "RCPT", 4) == 0)
			refuse_rcpt(s, NULL, "syntax", "%s", error_reply);
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
