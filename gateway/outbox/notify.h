/* Notification mail: which messages earn an acknowledgement (never
 * automatic mail, docket's own addresses, bouncing addresses, nor more than
 * the hourly rate per address), the outbox rows that carry notifications,
 * the RFC 5322 message built with GMime, and the per-message bounce address
 * (VERP) that brings a bounce home to its outbox row. */
#pragma once

#include "gateway/config.h"
#include "gateway/core/effects.h"
#include "gateway/desk/staff.h"
#include "gateway/store/store.h"
#include "templates/notification.h"

#include <gmime/gmime.h>

G_BEGIN_DECLS

/* What every outgoing message needs, read from the configuration once. */
typedef struct {
	char *domain;          /* [threading] domain, or the host name */
	char *from;            /* [notify] from, or docket@domain */
	char *from_name;       /* display name of From, may be "" */
	char *bounce_base;     /* [notify] bounce_address, or bounces@<from's domain> */
	char *organisation;    /* may be "" */
	char *templates_dir;   /* override folder, or NULL */
	char *token_prefix;    /* [threading] token_prefix */
	GBytes *secret;        /* the installation secret (ids.h) */
	DkStaff *staff;        /* the support mailboxes a ticket's mail can come to */
	char *reply_from_name; /* [notify] reply_from_name: Mustache over agent.name,
	                        * agent.address and from_name */
	char *ticket_link;     /* [notify] ticket_link (Mustache), or NULL */
	char *reply_address;   /* [threading] reply_address while reply_addresses is on, or NULL */
} DkNotifySettings;

/* Reads config and the installation secret; NULL with an error when the
 * secret cannot be read or created, or an address is malformed
 * (DK_ERROR_CONFIG). */
DkNotifySettings *dk_notify_settings_new(const DkConfig *config, GError **error);
void dk_notify_settings_free(DkNotifySettings *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkNotifySettings, dk_notify_settings_free)

/* Loads override templates for dk_notification_build() from user_data, a
 * DkNotifySettings: a file under templates_dir, NULL without error when
 * there is none. */
char *dk_notify_template_loader(const char *path, gpointer user_data, GError **error);

/* Checks the templates of config for `docket config check`: every file
 * of [notify] templates_dir (and of its queue folders) parses and uses
 * only names the notification data has (templates/notification.h), and
 * so do [notify] reply_from_name and ticket_link. Appends one line per
 * problem to problems_out and, to notes_out, a line for each NAME.txt
 * overridden without the NAME.html a default has (that mail then goes
 * as plain text alone: the default HTML part is dropped). */
void dk_notify_check_templates(const DkConfig *config, GPtrArray *problems_out,
                               GPtrArray *notes_out);

/* TRUE when address can go into a header and an SMTP envelope as it is:
 * local@domain of printable ASCII or UTF-8, without spaces, controls,
 * brackets, quotes, commas or semicolons. Protects headers from injection. */
gboolean dk_notify_address_ok(const char *address);

/* A file a message carries. */
typedef struct {
	const char *filename;     /* or NULL */
	const char *content_type; /* type/subtype */
	const char *content_id;   /* without brackets, or NULL */
	gboolean inline_part;     /* Content-Disposition inline (else attachment) */
	GBytes *data;
} DkMailFile;

/* Frees a DkMailFile whose strings and data are its own. */
void dk_mail_file_free(gpointer file);

/* The headers of one notification, besides what the template gives. */
typedef struct {
	const char *to;             /* the To address (checked) */
	const char *to_name;        /* or NULL */
	GPtrArray *cc;              /* of char*: Cc addresses (checked), or NULL */
	const char *from;           /* the From when the template gives none; NULL: the settings' */
	const char *from_name;      /* its display name (with from), or NULL */
	const char *reply_to;       /* the Reply-To when the template gives none, or NULL */
	GPtrArray *files;           /* of DkMailFile*, or NULL */
	const char *message_id;     /* without brackets; from dk_ids_message_id() */
	const char *in_reply_to;    /* the customer's Message-ID, or NULL */
	GPtrArray *references;      /* of char*, oldest first, or NULL */
	const char *token;          /* the subject token, added when the subject lacks it */
	const char *auto_submitted; /* RFC 3834 value, or NULL for a person's reply */
	gint64 date;                /* Unix seconds */
} DkMailHeaders;

/* Builds the message: From (the template's when it gives a usable one,
 * else the headers', else the settings'), To, Cc, Reply-To (the
 * template's, else the headers'), Subject (RFC 2047 for non-ASCII), Date,
 * Message-ID, In-Reply-To and References (RFC 5322 section 3.6.4),
 * Auto-Submitted (RFC 3834 section 5) with X-Auto-Response-Suppress,
 * X-Loop, and a text/plain body or multipart/alternative with the HTML,
 * inside a multipart/mixed with the files when there are any (RFC 2183
 * dispositions, file names RFC 2231-encoded). Control characters in any
 * value become spaces; Message-IDs that are not a valid msg-id are left
 * out. NULL with DK_ERROR_PERMANENT when the recipient or the sender
 * address is unusable. The caller unrefs the result. */
GMimeMessage *dk_notify_build_message(const DkNotifySettings *settings, const DkNotification *n,
                                      const DkMailHeaders *headers, GError **error);

/* The message as bytes with LF line endings (a new GBytes). */
GBytes *dk_notify_message_bytes(GMimeMessage *message);

/* The envelope sender of outbox row id: "local+<id>.<mac>@domain" for the
 * bounce base local@domain (VERP), the MAC keyed by the secret. */
char *dk_notify_bounce_address(const DkNotifySettings *settings, gint64 outbox_id);

/* Maps a bounce's envelope recipient back to what bounced. TRUE when
 * recipient is a bounce address docket made (valid MAC) for an outbox row
 * that exists; then outbox_out, ticket_out (0 when none) and address_out
 * (the recipient that bounced; g_free) are filled (each may be NULL).
 * FALSE without error when recipient is not one; FALSE with an error when
 * the store fails. */
gboolean dk_notify_bounce_lookup(DkStore *store, const DkNotifySettings *settings,
                                 const char *recipient, gint64 *outbox_out, gint64 *ticket_out,
                                 char **address_out, GError **error);

/* Whether an automatic message to address may be sent now: FALSE (and
 * *reason_out a static string) for docket's own and system addresses
 * (mailer-daemon, postmaster, no-reply, list addresses), addresses in
 * bouncing_addresses, and addresses that already got [notify]
 * rate_per_hour automatic messages in the last hour. m, the message that
 * prompts it, may be NULL; when given, auto-replies, bounces, bulk, list,
 * spam and looping mail are refused too. Returns FALSE with *reason_out
 * NULL and error set when the store fails. */
gboolean dk_notify_may_send(DkStore *store, const DkConfig *config, const DkMessage *m,
                            const char *const *own_recipients, const char *address, gint64 now,
                            const char **reason_out, GError **error);

/* What the acknowledgement and the team's notices of a message ask of the
 * message alone, worked out before the writer's transaction: the reasons
 * (static strings, or NULL) for which dk_notify_may_send() refuses any
 * automatic message it prompts, and the acknowledgement to its sender
 * before the store is asked. */
typedef struct {
	const char *message_refusal;
	const char *ack_refusal;
} DkNotifyPrepared;

/* For DkEffectsOps.prepare (effects.h): a DkNotifyPrepared for message
 * and its envelope recipients (docket's own addresses); g_free it. */
DkNotifyPrepared *dk_notify_prepare(const DkConfig *config, const DkMessage *m,
                                    const char *const *own_recipients);

/* For a message that created a ticket (effects.h), inside the writer's
 * transaction: unless it was imported (history), a rule withheld the
 * acknowledgement (e->suppress_ack), [notify] ack is off or
 * dk_notify_may_send() refuses, writes an outbox row of kind "ack" to the
 * sender; when refused, records an "ack_suppressed" event with the reason.
 * The row's payload: {"template": "ack", "to", "to_name", "article",
 * "in_reply_to", "references": [...], "queue"}. */
gboolean dk_notify_enqueue_ack(DkStore *store, const DkConfig *config, const DkEffects *e,
                               GError **error);

/* With dk_notify_enqueue_ack: one outbox row of kind
 * "notice" (template team-new) per [notify] team_addresses entry, unless
 * the message was imported, the message is docket's own mail come back, the address is docket's own
 * or the sender is that team member. Payload: {"template", "to", "article", "requester_name"}. */
gboolean dk_notify_enqueue_team(DkStore *store, const DkConfig *config, const DkEffects *e,
                                GError **error);

G_END_DECLS
