/* Turns an outbox row of a mail kind ("ack", "relay", "notice",
 * "redirect") into the message to send: the ticket and article it names
 * are read from the store, the template rendered (templates/notification.h)
 * and the message built (notify.h).
 *
 * The payload of a mail row is a JSON object:
 *   to, to_name     the To of the mail (a relay's is the requester; the
 *                   row's target is the envelope recipient)
 *   cc              a relay's Cc: the other recipients of the reply
 *   article         the article the mail is about (the customer's message
 *                   for an ack; for a relay, the reply itself, whose files
 *                   it carries)
 *   template        "ack", "agent-reply", "team-new", ...; default by kind:
 *                   ack -> ack, relay -> agent-reply, notice -> team-new
 *   in_reply_to     an ack's: the customer's Message-ID (a relay is
 *                   threaded on what its recipient received instead)
 *   references      an ack's: array of Message-IDs, oldest first
 *   answers         a relay's: what the agent's mail answered
 *   agent_name, agent_address (or from)   for templates that name the agent
 *   requester_name  the customer's name, for mail to others (notices)
 *   sent_message_id set by the worker before the first attempt
 *   raw_sha256      a redirect's: the message to send on as it came */
#pragma once

#include "gateway/store/store-outbox.h"
#include "gateway/outbox/notify.h"

#include <jansson.h>

G_BEGIN_DECLS

typedef struct {
	GMimeMessage *message;
	GBytes *bytes;  /* the message, LF line endings; NULL for a redirect: */
	int fd;         /* its file (a redirect's, which can be large), or -1 */
	gsize size;     /* the size of the file's message */
	char *subject;  /* as sent (UTF-8) */
	char *text;     /* the plain-text body */
	gint64 article; /* the payload's article, 0 when none */
} DkComposed;

void dk_composed_free(DkComposed *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkComposed, dk_composed_free)

/* TRUE when kind is one the mail worker sends. */
gboolean dk_compose_handles(DkOutboxKind kind);

/* Composes row (payload already parsed, with its message_id) as of now.
 * A redirect is composed into an unnamed temporary file ($TMPDIR), the
 * raw message streamed from the store a piece at a time, never held
 * whole. NULL with DK_ERROR_PERMANENT when it can never be sent (no such
 * ticket, a template that does not render, an unusable address, a
 * redirect's message gone from the store or refused as a loop); other
 * errors come from the store or the temporary file (DK_ERROR_TEMPORARY). */
DkComposed *dk_compose(DkStore *store, const DkNotifySettings *settings, const DkOutboxRow *row,
                       json_t *payload, gint64 now, GError **error);

G_END_DECLS
