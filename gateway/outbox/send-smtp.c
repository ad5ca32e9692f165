/* Sends through an SMTP relay with libcurl: [smtp] url smtp://host:587
 * (STARTTLS, required unless [smtp] starttls says otherwise) or
 * smtps://host:465 (TLS from the start), AUTH with user and password or
 * password_file (mode 0600 or stricter). A 5xx reply to MAIL, RCPT or DATA is permanent (RFC 5321
 * section 4.2.1); everything else (4xx, no connection, a timeout, a TLS or
 * login failure, which an administrator can fix) is temporary. */
#include "gateway/outbox/send.h"

#include "gateway/error.h"
#include "gateway/ops/secret-file.h"

#include <curl/curl.h>
#include <string.h>

#define PIECE (64 * 1024) /* what the upload reads of the message at a time */

/* The message on its way to libcurl, a piece at a time, its LF line
 * endings made CRLF (RFC 5321 section 2.3.8: lines end in CRLF on the
 * wire) as it goes; a CR already before an LF stays alone. */
typedef struct {
	const DkOutgoing *mail;
	gsize offset;     /* of the next piece in the message */
	guint8 *piece;    /* read, not yet all passed on */
	gsize len, pos;   /* its length, and what was passed on */
	gboolean last_cr; /* the last byte passed on was a CR */
	gboolean lf_due;  /* a CR was put before the LF at pos */
	GError *failure;  /* why the message could not be read */
} Upload;

/* The next piece into u->piece; FALSE at the end or on a failure. */
static gboolean upload_refill(Upload *u)
{
	if (!dk_outgoing_read(u->mail, u->offset, u->piece, PIECE, &u->len, &u->failure))
		return FALSE;
	u->offset += u->len;
	u->pos = 0;
	return u->len > 0;
}

static size_t read_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	Upload *u = userdata;
	size_t room = size * nitems, n = 0;
	while (n < room) {
		if (u->pos == u->len && !upload_refill(u)) {
			if (u->failure != NULL)
				return CURL_READFUNC_ABORT;
			break;
		}
		char c = (char)u->piece[u->pos];
		if (c == '\n' && !u->last_cr && !u->lf_due) {
			buffer[n++] = '\r';
			u->lf_due = TRUE;
			continue;
		}
		buffer[n++] = c;
		u->last_cr = c == '\r';
		u->lf_due = FALSE;
		u->pos++;
	}
	return n;
}

/* The size of the message on the wire, for the SIZE the relay is told
 * (RFC 1870): each LF without a CR before it gains one. */
typedef struct {
	curl_off_t size;
	gboolean last_cr;
} Wire;

static gboolean count_piece(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	(void)error;
	Wire *w = data;
	w->size += (curl_off_t)size;
	for (gsize i = 0; i < size; i++) {
		w->size += bytes[i] == '\n' && !w->last_cr;
		w->last_cr = bytes[i] == '\r';
	}
	return TRUE;
}

/* The password, from password_file when set: a file that others may read
 * is refused, as for the IMAP accounts (the validator has said so when
 * the configuration was loaded). Errors are temporary: an administrator
 * fixes them and the row goes out on a later attempt. */
static char *read_password(const DkConfig *config, GError **error)
{
	const char *file = dk_config_get_string(config, "smtp", "password_file");
	if (*file == '\0')
		return g_strdup(dk_config_get_string(config, "smtp", "password"));
	g_autoptr(GError) local = NULL;
	char *text = dk_secret_file_read(file, &local);
	if (text == NULL)
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "[smtp] password_file: %s",
		            local->message);
	return text;
}

static void set_tls(CURL *curl, const DkConfig *config)
{
	const char *starttls = dk_config_get_string(config, "smtp", "starttls");
	if (strcmp(starttls, "insecure-optional") == 0)
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	else if (strcmp(starttls, "insecure-none") == 0)
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
	else
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (dk_config_get_bool(config, "smtp", "insecure_skip_verify")) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/* The relay's last refusal (4xx or 5xx; RFC 5321 section 4.2: the lines
 * of a multiline reply joined), for the error: its text says why. Only what
 * the relay sent is kept, never what docket sent (AUTH). */
typedef struct {
	GString *pending; /* the lines of the reply being read */
	GString *last;    /* the last complete reply */
} Replies;

static int on_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *user)
{
	Replies *r = user;
	if (type != CURLINFO_HEADER_IN || size < 3)
		return 0;
	g_autofree char *line = g_strstrip(g_strndup(data, MIN(size, 512)));
	if (r->pending->len > 0)
		g_string_append_c(r->pending, ' ');
	g_string_append(r->pending, line);
	if (line[3] != '-') {                         /* "250 ok" ends a reply, "250-..." goes on */
		if (line[0] == '4' || line[0] == '5') /* the refusal, not the 221 of QUIT */
			g_string_assign(r->last, r->pending->str);
		g_string_truncate(r->pending, 0);
	}
	return 0;
}

static gboolean report(CURL *curl, CURLcode rc, const char *errbuf, const GString *reply,
                       GError **error)
{
	long code = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	const char *what = *errbuf ? errbuf : curl_easy_strerror(rc);
	if (rc == CURLE_USE_SSL_FAILED) {
		g_set_error(
		    error, DK_ERROR, DK_ERROR_TEMPORARY,
		    "smtp: the relay does not offer STARTTLS, and [smtp] starttls = required "
		    "sends nothing in clear; to send anyway set starttls = insecure-optional "
		    "(%s)",
		    what);
		return FALSE;
	}
	gboolean permanent = code >= 500 && code < 600 && rc != CURLE_LOGIN_DENIED;
	if (code >= 400 && reply->len > 0 && g_str_has_prefix(reply->str, "4") == (code < 500))
		g_set_error(error, DK_ERROR, permanent ? DK_ERROR_PERMANENT : DK_ERROR_TEMPORARY,
		            "smtp: the relay answered “%s” (%s, reply %ld)", reply->str, what,
		            code);
	else
		g_set_error(error, DK_ERROR, permanent ? DK_ERROR_PERMANENT : DK_ERROR_TEMPORARY,
		            "smtp: %s (reply %ld)", what, code);
	return FALSE;
}

static gboolean smtp_send(const DkConfig *config, const DkOutgoing *mail, GError **error)
{
	g_autofree char *password = read_password(config, error);
	if (password == NULL)
		return FALSE;
	Wire wire = {0};
	if (!dk_outgoing_each(mail, count_piece, &wire, error))
		return FALSE;
	g_autofree guint8 *piece = g_malloc(PIECE);
	Upload upload = {.mail = mail, .piece = piece};
	g_autofree char *from = g_strdup_printf("<%s>", mail->envelope_from);
	g_autofree char *rcpt = g_strdup_printf("<%s>", mail->recipient);
	struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
	char errbuf[CURL_ERROR_SIZE] = "";
	long timeout = (long)dk_config_get_int(config, "smtp", "timeout_seconds");
	CURL *curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, dk_config_get_string(config, "smtp", "url"));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout * 5);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
	curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, wire.size);
	const char *user = dk_config_get_string(config, "smtp", "user");
	if (*user != '\0') {
		curl_easy_setopt(curl, CURLOPT_USERNAME, user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, password);
	}
	set_tls(curl, config);
	Replies replies = {g_string_new(NULL), g_string_new(NULL)};
	curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &replies);
	curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
	CURLcode rc = curl_easy_perform(curl);
	gboolean ok = rc == CURLE_OK;
	if (!ok && upload.failure != NULL)
		g_propagate_error(error, g_steal_pointer(&upload.failure));
	else if (!ok)
		report(curl, rc, errbuf, replies.last, error);
	g_string_free(replies.pending, TRUE);
	g_string_free(replies.last, TRUE);
	curl_easy_cleanup(curl);
	curl_slist_free_all(rcpts);
	return ok;
}

const DkSendOps dk_send_smtp = {
    .name = "smtp",
    .send = smtp_send,
};
