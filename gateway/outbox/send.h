/* Mail transports, one file each behind DkSendOps: SMTP with libcurl
 * (send-smtp.c), the local sendmail program (send-sendmail.c), and the
 * embedded default, a Maildir under the data directory (send-maildir.c).
 * Failures are DK_ERROR_TEMPORARY (try again later: 4xx, connection
 * errors) or DK_ERROR_PERMANENT (5xx: the message will never go). */
#pragma once

#include "gateway/config.h"

G_BEGIN_DECLS

/* One message to send: the envelope (RFC 5321 MAIL FROM and RCPT TO) and
 * the message with LF line endings. */
typedef struct {
	const char *envelope_from;
	const char *recipient;
	GBytes *message;
} DkOutgoing;

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
