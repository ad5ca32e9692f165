/* The ticket desk: the lifecycle a ticket follows and the changes an agent
 * makes from the command line, each recorded as an event of the same types
 * the writer uses (status_change, priority_change, assignment, tag, ...),
 * so that connectors see a change made here like one made by mail.
 *
 * Statuses: new, open, in_progress, waiting, on_hold, resolved, closed.
 * Nothing returns to new; closed only follows resolved; a closed ticket
 * can only be reopened (to open); a resolved one can be reopened, taken up
 * again or closed. Every function that writes must run inside a store
 * transaction; failures are DK_ERROR_PERMANENT for a change the rules
 * refuse, DK_ERROR_NOT_FOUND for an unknown ticket, else store errors. */
#pragma once

#include "gateway/desk/conversation.h"
#include "gateway/desk/sla-policy.h"
#include "gateway/store/store.h"

G_BEGIN_DECLS

#define DK_DESK_CLOSE_AFTER_DAYS 7 /* the default of [desk] close_after_days */

/* TRUE when a ticket may go from status from to status to (the same
 * status counts as allowed: it changes nothing). */
gboolean dk_desk_transition_allowed(DkTicketStatus from, DkTicketStatus to);

/* Parses a duration of work: one or more <number><unit> with unit h or m
 * ("30m", "1h15m", "2h", "1h 5m"); minutes into minutes_out. Refuses
 * zero, more than 1000 hours, and anything else (DK_ERROR_PERMANENT). */
gboolean dk_desk_parse_duration(const char *text, gint64 *minutes_out, GError **error);

/* "1h15m", "30m", "2h". */
char *dk_desk_format_duration(gint64 minutes);

/* Changes ticket's status (named as an agent writes it: "open", ...)
 * after checking the name and the transition; records a status_change
 * event {old, new, by}. The same status is no change and no event. */
gboolean dk_desk_set_status(DkStore *store, gint64 ticket, const char *status, const char *by,
                            gint64 now, GError **error);

/* The other fields an agent sets, each with its event: priority_change,
 * assignment (value NULL unassigns), queue_change, tag, untag. A value
 * equal to the current one records nothing. */
gboolean dk_desk_set_priority(DkStore *store, gint64 ticket, const char *priority, const char *by,
                              gint64 now, GError **error);
gboolean dk_desk_assign(DkStore *store, gint64 ticket, const char *assignee, const char *by,
                        gint64 now, GError **error);
gboolean dk_desk_set_queue(DkStore *store, gint64 ticket, const char *queue, const char *by,
                           gint64 now, GError **error);
gboolean dk_desk_tag(DkStore *store, gint64 ticket, const char *tag, const char *by, gint64 now,
                     GError **error);
gboolean dk_desk_untag(DkStore *store, gint64 ticket, const char *tag, const char *by, gint64 now,
                       GError **error);

/* The writer's hook for an inbound customer comment on an existing ticket
 * (its article given): a ticket waiting on the customer is open again. */
gboolean dk_desk_customer_reply(DkStore *store, const DkTicket *ticket, gint64 article, gint64 now,
                                GError **error);

/* Closes every ticket resolved at least close_after_days ago (as of now),
 * each with a status_change event by "autoclose"; how many into
 * closed_out (may be NULL). */
gboolean dk_desk_autoclose(DkStore *store, gint64 close_after_days, gint64 now, guint *closed_out,
                           GError **error);

/* Adds an internal note an agent wrote (author may be NULL) with a
 * "comment" event. Returns the article's id, 0 on error. */
gint64 dk_desk_note(DkStore *store, gint64 ticket, const char *text, const char *author, gint64 now,
                    GError **error);

/* A file a reply carries. */
typedef struct {
	const char *filename;     /* as the customer will see it */
	const char *content_type; /* type/subtype; NULL: application/octet-stream */
	GBytes *data;
} DkReplyFile;

/* A public reply of support. */
typedef struct {
	const char *text;
	const char *author;       /* the agent's address, or NULL */
	const char *author_name;  /* the agent's display name, or NULL */
	const DkReplyFile *files; /* n_files of them, or NULL */
	guint n_files;
	const char *by; /* who the events name (a web user's name), or NULL: the author */
} DkReply;

/* Adds a public reply with its files (kept like the attachments of mail)
 * and a "comment" event, and does what a reply does (conversation.h,
 * dk_conversation_replied): a relay row to each recipient, the first
 * response, the status. The outbox mails it threaded, tokened and with
 * the files, the path an agent's mailed reply takes. Returns the
 * article's id, 0 on error: DK_ERROR_PERMANENT for a ticket without
 * requester or files over the limits. */
gint64 dk_desk_reply(DkStore *store, const DkConversation *conversation, gint64 ticket,
                     const DkReply *reply, gint64 now, GError **error);

/* An internal note (note->text by note->author, events by note->by) with
 * its files kept as its attachments, mailed to no one; the files within
 * the same limits as a reply's. Returns the article's id, 0 on error. */
gint64 dk_desk_note_files(DkStore *store, const DkConversation *conversation, gint64 ticket,
                          const DkReply *note, gint64 now, GError **error);

/* Records minutes of work with a time_entry event. */
gboolean dk_desk_add_time(DkStore *store, gint64 ticket, gint64 minutes, const char *note,
                          const char *author, gint64 now, GError **error);

/* Merges source into target: source's articles, Message-IDs, participants,
 * tags and time entries move, source is closed and keeps a pointer to
 * target (threading follows it), both get a "merged" event and a link.
 * Refuses merging a ticket into itself, or a ticket already merged. */
gboolean dk_desk_merge(DkStore *store, gint64 target, gint64 source, const char *by, gint64 now,
                       GError **error);

/* The ticket that stands for ticket: itself, or the end of its chain of
 * merges (at most 16 steps). */
gboolean dk_desk_resolve_merged(DkStore *store, gint64 ticket, gint64 *resolved_out,
                                GError **error);

/* The first public answer meets the first-response target: records now
 * as the first response unless one was recorded. dk_desk_reply() calls
 * it, and the writer for an agent's public mail. */
gboolean dk_desk_first_response(DkStore *store, gint64 ticket, gint64 now, GError **error);

/* SLA clocks (desk-sla.c). Each ticket has a first-response and a
 * resolution target by queue and priority (sla-policy.h), counted in the
 * business time of its calendar from its creation. The clock pauses while
 * the ticket is waiting or on hold and stops while it is resolved or
 * closed (a reopened ticket's clock runs on): the spans come from its
 * status history. A pause still running is counted up to now, so the due
 * time of a paused ticket is a lower bound that moves on with the clock;
 * what the desk shows of it is the time that was left when the pause
 * began (paused_left), frozen until the ticket resumes.
 * Changes do not recompute the clocks themselves: whoever changes a
 * ticket (the command line, the writer) calls dk_desk_sla_update() last,
 * in the same transaction. */

/* Pure: the clocks of ticket t, whose status history is times/statuses
 * (see dk_store_ticket_get_with_history), as of now, into sla (its
 * first_response_at and breach times are kept). */
void dk_desk_sla_compute(const DkSlaPolicy *policy, const DkTicket *t, const gint64 *times,
                         const DkTicketStatus *statuses, guint n, gint64 now, DkTicketSla *sla);

/* dk_desk_sla_compute on the stored ticket, written back. When the
 * ticket's clock stopped now (resolved), a target it had missed by then and
 * that no check recorded is recorded as dk_desk_sla_check() does, with its
 * event and the notices to dk_sla_policy_team(): in the transaction that
 * resolves it, once per target. */
gboolean dk_desk_sla_update(DkStore *store, const DkSlaPolicy *policy, gint64 ticket, gint64 now,
                            GError **error);

/* The breach check (`docket serve` every [sla] check_seconds, `docket
 * ticket sla-check`): recomputes every ticket that can still breach and,
 * for each target missed as of now (no first response by its due time, or
 * one after it; not resolved by its due time) and not recorded before,
 * records an sla_breach event {target, due} and queues an "sla-breach"
 * notice to each of team (may be NULL). How many breaches into
 * breaches_out (may be NULL). */
gboolean dk_desk_sla_check(DkStore *store, const DkSlaPolicy *policy, const char *const *team,
                           gint64 now, guint *breaches_out, GError **error);
/* The same check of the next limit tickets (0: all) numbered above after,
 * so that a large backlog is checked in short transactions (`docket
 * serve`: intake waits for the write lock meanwhile); only of the tickets
 * with a target due by now when due_only (their clocks as last computed:
 * a check after the policy changed must be a whole one). *last_out: the
 * last ticket checked, 0 when none was left. */
gboolean dk_desk_sla_check_from(DkStore *store, const DkSlaPolicy *policy, const char *const *team,
                                gint64 now, gboolean due_only, gint64 after, guint limit,
                                gint64 *last_out, guint *breaches_out, GError **error);

/* The SLA states the rules' ticket_sla test reads (rules/README.md), as
 * of now: "breached" when a target was missed (recorded, or its due time
 * passed while the clock ran) with "first_response_breached" and/or
 * "resolution_breached"; "paused" while the clock stands; "answered" once
 * the first response was given; "no_target" for a priority without
 * targets. A NULL-terminated array (g_strfreev). */
char **dk_desk_sla_states(const DkTicketSla *sla, gint64 now);

/* The seconds left to the next target (the first response while none was
 * given, else the resolution), negative once exceeded: wall-clock time
 * from now to its due time while the clock runs, frozen at the pause's
 * start while waiting or on hold. FALSE when there is none to count to
 * (no target, resolved, closed). dk_store_ticket_query sorts by the same. */
gboolean dk_desk_sla_left_seconds(const DkTicket *ticket, const DkTicketSla *sla, gint64 now,
                                  gint64 *left_out);

/* What `ticket list` shows: dk_desk_sla_left_seconds in whole minutes
 * ("1h15m", exceeded "-20m"; "2h paused" while the clock stands), "met"
 * or "late" once resolved, "-" without targets. */
char *dk_desk_sla_left(const DkTicket *ticket, const DkTicketSla *sla, gint64 now);

G_END_DECLS
