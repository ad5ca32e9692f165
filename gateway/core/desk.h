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

#include "gateway/core/store.h"

G_BEGIN_DECLS

#define DK_DESK_CLOSE_AFTER_DAYS 7 /* the default of [desk] close_after_days */

/* TRUE when status is one of the seven. */
gboolean dk_desk_status_valid(const char *status);

/* TRUE when a ticket may go from status from to status to (the same
 * status counts as allowed: it changes nothing). */
gboolean dk_desk_transition_allowed(const char *from, const char *to);

/* Parses a duration of work: one or more <number><unit> with unit h or m
 * ("30m", "1h15m", "2h", "1h 5m"); minutes into minutes_out. Refuses
 * zero, more than 1000 hours, and anything else (DK_ERROR_PERMANENT). */
gboolean dk_desk_parse_duration(const char *text, gint64 *minutes_out, GError **error);

/* "1h15m", "30m", "2h". */
char *dk_desk_format_duration(gint64 minutes);

/* Changes ticket's status after checking the transition; records a
 * status_change event {old, new, by}. The same status is no change and no
 * event. */
gboolean dk_desk_set_status(DkStore *store, gint64 ticket, const char *status, const char *by,
			    gint64 now, GError **error);

/* The other fields an agent sets, each with its event: priority_change,
 * assignment (value NULL unassigns), queue_change, tag, untag. A value
 * equal to the current one records nothing. */
gboolean dk_desk_set_priority(DkStore *store, gint64 ticket, const char *priority, const char *by,
			      gint64 now, GError **error);
gboolean dk_desk_assign(DkStore *store, gint64 ticket, const char *assignee, const char *by, gint64 now,
			GError **error);
gboolean dk_desk_set_queue(DkStore *store, gint64 ticket, const char *queue, const char *by, gint64 now,
			   GError **error);
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

/* Adds an article an agent wrote (author may be NULL) with a "comment"
 * event: internal notes stay with the team; a public reply is also queued
 * for the requester as an outbox "relay" row, the path an agent's mailed
 * reply takes, so the notifications worker sends it threaded and
 * tokened. Returns the article's id, 0 on error. A public reply to a
 * ticket without requester is DK_ERROR_PERMANENT. */
gint64 dk_desk_note(DkStore *store, gint64 ticket, const char *text, const char *author, gint64 now,
		    GError **error);
gint64 dk_desk_reply(DkStore *store, gint64 ticket, const char *text, const char *author, gint64 now,
		     GError **error);

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
gboolean dk_desk_resolve_merged(DkStore *store, gint64 ticket, gint64 *resolved_out, GError **error);

/* SLA clocks. Targets by priority, in minutes (first response /
 * resolution): critical 15/240, high 60/480, medium 240/1440, low
 * 1440/4320; none has no target. A due time is created_at + target + the
 * time the clock was paused: it pauses while the ticket is waiting or on
 * hold, and stops while it is resolved or closed (a reopened ticket's
 * clock runs on). The first public article an agent writes meets the
 * first-response target. Business hours are not counted yet. */

/* FALSE (and zeros) for a priority without targets. */
gboolean dk_desk_sla_targets(const char *priority, gint64 *first_response_out, gint64 *resolution_out);

/* Brings sla up to date for a ticket of that priority and status created
 * at created_at, as of now: pauses or resumes the clock, recomputes both
 * due times. Pure. */
void dk_desk_sla_compute(const char *priority, const char *status, gint64 created_at, gint64 now,
			 DkTicketSla *sla);

/* dk_desk_sla_compute on the stored ticket, written back. */
gboolean dk_desk_sla_update(DkStore *store, gint64 ticket, gint64 now, GError **error);

/* What `ticket list` shows: the time left to the next target ("1h15m"),
 * or exceeded ("-20m"), "paused", "met" or "late" once resolved, "-"
 * without targets. */
char *dk_desk_sla_left(const DkTicket *ticket, const DkTicketSla *sla, gint64 now);

G_END_DECLS
