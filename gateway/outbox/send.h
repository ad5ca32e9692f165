/* Mail transports, one file each behind DkSendOps: SMTP with libcurl
 * (send-smtp.c), the local sendmail program (send-sendmail.c), and the
 * embedded default, a Maildir under the data directory (send-maildir.c).
 * Failures are DK_ERROR_TEMPORARY (try again later: 4xx, connection
 * errors) or DK_ERROR_PERMANENT (5xx: the message will never go). */
#pragma once

#include "gateway/config.h"

G_BEGIN_DECLS

/* One message to send: the envelope (RFC 5321 MAIL FROM and RCPT TO) and
 * the message with LF line endings, either in memory (message, a
 * notification) or, when message is NULL, the size bytes at the start of
 * the file fd (a rule's redirect, however large: each sender streams it
 * and never holds it whole). */
typedef struct {
	const char *envelope_from;
	const char *recipient;
	GBytes *message;
	int fd;
	gsize size;
} DkOutgoing;

/* The size of mail's message in bytes. */
gsize dk_outgoing_size(const DkOutgoing *mail);

/* Takes the next piece of the message for dk_outgoing_each() (the bytes
 * are the reader's until it returns). FALSE to stop, with error set when
 * that is a failure. */
typedef gboolean (*DkOutgoingPiece)(const guint8 *bytes, gsize size, gpointer data, GError **error);

/* Passes mail's message to piece in order, up to 64 KiB at a time. TRUE
 * when all of it went through; FALSE when piece stopped (with its error,
 * if any) or with DK_ERROR_TEMPORARY when the file cannot be read. */
gboolean dk_outgoing_each(const DkOutgoing *mail, DkOutgoingPiece piece, gpointer data,
                          GError **error);

/* Copies up to max bytes of mail's message, from offset on, into buf;
 * the count copied, 0 past the end. FALSE with DK_ERROR_TEMPORARY when
 * its file cannot be read. */
gboolean dk_outgoing_read(const DkOutgoing *mail, gsize offset, guint8 *buf, gsize max,
                          gsize *count_out, GError **error);

typedef struct {
	const char *name;
	gboolean (*send)(const DkConfig *config, const DkOutgoing *mail, GError **error);
} DkSendOps;

extern const DkSendOps dk_send_smtp;
extern const DkSendOps dk_send_sendmail;
extern const DkSendOps dk_send_maildir;

/* The transport [notify] transport names; "auto" is smtp when [smtp] url
 * is set, else the Maildir. */
const DkSendOps *dk_send_for_config(const DkConfig *config);

G_END_DECLS
