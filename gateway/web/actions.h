/* The ticket actions of the web: what the API and the web desk both do,
 * so that both enforce the same rules. Each checks the acting user's role
 * (auth.h), runs in one store transaction on dk_web_store(web) with the
 * desk's lifecycle checks (desk/desk.h, the same as `docket ticket set`),
 * records the user's name as "by" (or the author) in the ticket's events,
 * recomputes the ticket's SLA clocks and queues the change for the
 * help-desk connectors, as the command line does: all of it or nothing.
 *
 * Errors (dk_web_error_status() maps them to HTTP): DK_WEB_ERROR_FORBIDDEN
 * for a role that may not, DK_WEB_ERROR_INVALID for bad values (an
 * unknown status or priority name, an empty text), DK_ERROR_NOT_FOUND for
 * an unknown ticket or row, DK_ERROR_PERMANENT for a change the desk's
 * rules refuse (a status that cannot follow, a merge of a merged ticket,
 * a reply to a ticket without requester), store errors otherwise. On any
 * error nothing changed. */
#pragma once

#include "gateway/desk/desk.h"
#include "gateway/web/auth.h"
#include "gateway/web/web.h"

G_BEGIN_DECLS

/* The fields an update changes; NULL leaves one as it is. */
typedef struct {
	const char *status;   /* "open", ...: checked against the lifecycle */
	const char *priority; /* "critical", "high", "medium", "low", "none" */
	const char *queue;
	const char *assignee;           /* "" unassigns */
	const char *const *tags_add;    /* NULL-terminated, or NULL */
	const char *const *tags_remove; /* NULL-terminated, or NULL */
} DkTicketChange;

/* Applies change to ticket (the status last, as `ticket set` does); a
 * change with nothing in it is DK_WEB_ERROR_INVALID. Needs agent. */
gboolean dk_web_ticket_update(DkWeb *web, const DkUser *user, gint64 ticket,
                              const DkTicketChange *change, GError **error);

/* A ticket opened by an agent for a customer (a call, a chat). */
typedef struct {
	const char *subject;   /* required */
	const char *requester; /* the customer's address, required */
	const char *text;      /* the customer's request, required: the first
	                        * article, inbound and public, intake "web" */
	const char *priority;  /* or NULL: the default */
	const char *queue;     /* or NULL: the default */
	const char *assignee;  /* or NULL */
} DkTicketNew;

/* Creates the ticket; its number into number_out. Needs agent. */
gboolean dk_web_ticket_create(DkWeb *web, const DkUser *user, const DkTicketNew *ticket,
                              gint64 *number_out, GError **error);

/* A public reply by user (author: the user's email, else name), with
 * files, mailed to the ticket's recipients by the outbox like `ticket
 * reply --attach` (dk_desk_reply). The article's id into article_out.
 * Over the [limits] of attachments: DK_WEB_ERROR_TOO_LARGE. Needs agent. */
gboolean dk_web_reply(DkWeb *web, const DkUser *user, gint64 ticket, const char *text,
                      const DkReplyFile *files, guint n_files, gint64 *article_out, GError **error);

/* An internal note by user, with files kept as its attachments (mailed
 * to no one). The article's id into article_out. Needs agent. */
gboolean dk_web_note(DkWeb *web, const DkUser *user, gint64 ticket, const char *text,
                     const DkReplyFile *files, guint n_files, gint64 *article_out, GError **error);

/* Records minutes of work by user with a note (may be NULL); the time
 * entry's id into id_out (may be NULL). Needs agent. */
gboolean dk_web_time_add(DkWeb *web, const DkUser *user, gint64 ticket, gint64 minutes,
                         const char *note, gint64 *id_out, GError **error);

/* Merges source into target (dk_desk_merge). Needs agent. */
gboolean dk_web_merge(DkWeb *web, const DkUser *user, gint64 target, gint64 source, GError **error);

/* Runs quarantined message id through the pipeline again (release: makes
 * it an article whatever set it aside), as `docket quarantine reprocess`.
 * The ticket it went to into ticket_out (0 when it was set aside again).
 * A message still unreadable: DK_ERROR_PERMANENT. The ticket records a
 * "quarantine_reprocess" event {by, quarantine}. Needs admin. */
gboolean dk_web_quarantine_reprocess(DkWeb *web, const DkUser *user, gint64 id, gboolean release,
                                     gint64 *ticket_out, GError **error);

/* Makes outbox row id due now (`docket outbox retry`); a row of a ticket
 * records an "outbox_retry" event {by, outbox} there. Needs agent. */
gboolean dk_web_outbox_retry(DkWeb *web, const DkUser *user, gint64 id, GError **error);

G_END_DECLS
