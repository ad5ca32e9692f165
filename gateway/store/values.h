/* The enumerated values of the store's rows: a ticket's status, an
 * article's direction and visibility, a participant's role and an outbox
 * row's kind. The database keeps their names as text (the schema checks
 * them); in C they are enums, each with one table of names here, so that
 * no other file compares the text. Each *_name() function returns NULL
 * for a value out of its enum's range. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The lifecycle of a ticket (desk.h says which status may follow which). */
typedef enum {
	DK_STATUS_NEW,
	DK_STATUS_OPEN,
	DK_STATUS_IN_PROGRESS,
	DK_STATUS_WAITING,
	DK_STATUS_ON_HOLD,
	DK_STATUS_RESOLVED,
	DK_STATUS_CLOSED,
	DK_STATUS_COUNT,
} DkTicketStatus;

/* "new", "open", "in_progress", "waiting", "on_hold", "resolved", "closed". */
const char *dk_ticket_status_name(DkTicketStatus status);

/* The status named name into status_out; FALSE (status_out untouched) for
 * NULL or a name that is none of the seven. */
gboolean dk_ticket_status_parse(const char *name, DkTicketStatus *status_out);

/* Adds status to the n_io statuses of set (room for DK_STATUS_COUNT)
 * unless it is there already. */
void dk_ticket_status_set_add(DkTicketStatus *set, guint *n_io, DkTicketStatus status);

/* Resolved or closed: the work is done, the SLA clock stopped, a reply
 * reopens the ticket or opens a new one. */
gboolean dk_ticket_status_is_closed(DkTicketStatus status);

/* Waiting or on hold: the ticket waits on someone else, its clock pauses. */
gboolean dk_ticket_status_is_paused(DkTicketStatus status);

/* A ticket's priorities, most urgent first: "critical", "high",
 * "medium", "low", "none", then NULL. The store keeps the name. */
#define DK_PRIORITY_COUNT 5
extern const char *const dk_priority_names[DK_PRIORITY_COUNT + 1];

/* TRUE for the name of one of the five priorities. */
gboolean dk_priority_known(const char *name);

/* Who an article is from: a customer (inbound) or support (outbound: an
 * agent's reply, a notification docket sent). */
typedef enum {
	DK_INBOUND,
	DK_OUTBOUND,
} DkDirection;

/* "inbound", "outbound". */
const char *dk_direction_name(DkDirection direction);

/* The direction named name; inbound for any other name. */
DkDirection dk_direction_from_name(const char *name);

/* Who may see an article: everyone on the ticket, or the team only. */
typedef enum {
	DK_PUBLIC,
	DK_INTERNAL,
} DkVisibility;

/* "public", "internal". */
const char *dk_visibility_name(DkVisibility visibility);

/* The visibility named name; public for any other name. */
DkVisibility dk_visibility_from_name(const char *name);

/* A participant's part in a ticket. */
typedef enum {
	DK_ROLE_REQUESTER, /* opened the ticket */
	DK_ROLE_SENDER,    /* wrote to it later */
	DK_ROLE_CC,        /* was copied on its mail */
	DK_ROLE_AGENT,     /* a verified agent who answered by mail */
	DK_ROLE_COUNT,
} DkParticipantRole;

/* "requester", "sender", "cc", "agent". */
const char *dk_participant_role_name(DkParticipantRole role);

/* The role named name into role_out; FALSE for NULL or an unknown name. */
gboolean dk_participant_role_parse(const char *name, DkParticipantRole *role_out);

/* What an outbox row carries. A row of a kind this version does not know
 * (written by another) reads as DK_OUTBOX_OTHER and is never sent. */
typedef enum {
	DK_OUTBOX_ACK,       /* the acknowledgement of a new ticket to its sender */
	DK_OUTBOX_NOTICE,    /* a notice to the team (a new ticket, a missed SLA target) */
	DK_OUTBOX_RELAY,     /* an agent's public answer, relayed to the requester */
	DK_OUTBOX_REDIRECT,  /* a rule's redirect of the message */
	DK_OUTBOX_CONNECTOR, /* an event for a help-desk connector */
	DK_OUTBOX_OTHER,
} DkOutboxKind;

/* "ack", "notice", "relay", "redirect", "connector"; NULL for
 * DK_OUTBOX_OTHER. */
const char *dk_outbox_kind_name(DkOutboxKind kind);

/* The kind named name; DK_OUTBOX_OTHER for NULL or an unknown name. */
DkOutboxKind dk_outbox_kind_from_name(const char *name);

G_END_DECLS
