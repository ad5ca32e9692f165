/* The desk's SLA clocks: due times from the ticket's status history and
 * its queue's calendar (sla.h), what the list shows, and the breach check
 * with its event and its notice to the team. */
#include "gateway/desk/desk.h"

#include "gateway/error.h"
#include "gateway/json.h"

#include <string.h>

void dk_desk_sla_compute(const DkSlaPolicy *policy, const DkTicket *t, const gint64 *times,
                         const DkTicketStatus *statuses, guint n, gint64 now, DkTicketSla *sla)
{
	g_autoptr(GArray) pauses = dk_sla_pauses_from_history(times, statuses, n, now);
	const DkSlaPause *p = (const DkSlaPause *)(gpointer)pauses->data;
	const DkSlaCalendar *calendar = NULL;
	gint64 first = 0, resolution = 0;
	gboolean targets =
	    dk_sla_policy_targets(policy, t->queue, t->priority, &first, &resolution, &calendar);
	sla->paused_since = 0;
	if (dk_sla_status_stops_clock(t->status) && pauses->len > 0)
		sla->paused_since = p[pauses->len - 1].start;
	sla->paused_seconds = 0;
	for (guint i = 0; i < pauses->len; i++)
		sla->paused_seconds +=
		    dk_sla_business_seconds(calendar, p[i].start, p[i].end, NULL, 0);
	sla->first_response_due =
	    targets && first > 0 ? dk_sla_due(calendar, t->created_at, first, p, pauses->len) : 0;
	sla->resolution_due = targets && resolution > 0
	                          ? dk_sla_due(calendar, t->created_at, resolution, p, pauses->len)
	                          : 0;
	/* Beyond the calendar's twenty years: no due time to show. */
	if (sla->first_response_due == G_MAXINT64)
		sla->first_response_due = 0;
	if (sla->resolution_due == G_MAXINT64)
		sla->resolution_due = 0;
	/* A pause freezes the time left: what it was when the pause began,
	 * the next target's due time without the pause that is still open. */
	gint64 target = sla->first_response_at == 0 && sla->first_response_due != 0 ? first
	                : sla->resolution_due != 0                                  ? resolution
	                                                                            : 0;
	gint64 frozen =
	    target > 0 && sla->paused_since != 0 && !dk_ticket_status_is_closed(t->status)
	        ? dk_sla_due(calendar, t->created_at, target, p, pauses->len - 1)
	        : G_MAXINT64;
	sla->has_paused_left = frozen != G_MAXINT64;
	sla->paused_left = sla->has_paused_left ? frozen - sla->paused_since : 0;
}

/* The targets sla missed as of at that were not recorded yet: no first
 * response by its due time (or one after it), not resolved by its due time. */
static void missed(const DkTicketSla *sla, gint64 at, gboolean *first, gboolean *resolution)
{
	*first = sla->first_response_due != 0 && sla->first_response_breached_at == 0 &&
	         (sla->first_response_at != 0 ? sla->first_response_at > sla->first_response_due
	                                      : at >= sla->first_response_due);
	*resolution = sla->resolution_due != 0 && sla->resolution_breached_at == 0 &&
	              at >= sla->resolution_due;
}

static gboolean breach(DkStore *store, const DkTicket *t, const char *target, gint64 due,
                       const char *const *team, gint64 now, GError **error);

/* Records the targets missed as of at (see missed()) in sla, each with its
 * event and the team's notices; counts them into *n. The caller writes
 * sla back. */
static gboolean record_missed(DkStore *store, const DkTicket *t, DkTicketSla *sla, gint64 at,
                              const char *const *team, gint64 now, guint *n, GError **error)
{
	gboolean first = FALSE, resolution = FALSE;
	missed(sla, at, &first, &resolution);
	if (first) {
		sla->first_response_breached_at = now;
		if (!breach(store, t, "first_response", sla->first_response_due, team, now, error))
			return FALSE;
	}
	if (resolution) {
		sla->resolution_breached_at = now;
		if (!breach(store, t, "resolution", sla->resolution_due, team, now, error))
			return FALSE;
	}
	*n += (first ? 1 : 0) + (resolution ? 1 : 0);
	return TRUE;
}

static gboolean sla_equal(const DkTicketSla *a, const DkTicketSla *b)
{
	return a->first_response_due == b->first_response_due &&
	       a->resolution_due == b->resolution_due &&
	       a->first_response_at == b->first_response_at &&
	       a->paused_seconds == b->paused_seconds && a->paused_since == b->paused_since &&
	       a->first_response_breached_at == b->first_response_breached_at &&
	       a->resolution_breached_at == b->resolution_breached_at &&
	       a->has_paused_left == b->has_paused_left &&
	       (!a->has_paused_left || a->paused_left == b->paused_left);
}

/* dk_desk_sla_update(), leaving in *t_out the ticket as read and in *sla
 * its clocks as they are now in the store. */
static gboolean update(DkStore *store, const DkSlaPolicy *policy, gint64 ticket, gint64 now,
                       DkTicket **t_out, DkTicketSla *sla, GError **error)
{
	DkTicketSla before;
	g_autoptr(GArray) times = NULL;
	g_autoptr(GArray) statuses = NULL;
	DkTicket *t = *t_out =
	    dk_store_ticket_get_with_history(store, ticket, sla, &times, &statuses, error);
	if (t == NULL)
		return FALSE;
	before = *sla;
	dk_desk_sla_compute(policy, t, (const gint64 *)(gpointer)times->data,
	                    (const DkTicketStatus *)(gpointer)statuses->data, times->len, now, sla);
	/* A ticket resolved after a target passed, before any check saw it:
	 * the breach as of the moment its clock stopped, in the change that
	 * stops it only (a later change to a resolved ticket, perhaps under
	 * other targets, does not judge it again). */
	guint n = 0;
	if (dk_ticket_status_is_closed(t->status) && sla->paused_since == now &&
	    !record_missed(store, t, sla, sla->paused_since, dk_sla_policy_team(policy), now, &n,
	                   error))
		return FALSE;
	/* Most messages move no clock (a ticket without targets, a comment
	 * that changes nothing): then there is nothing to write. */
	return sla_equal(sla, &before) || dk_store_ticket_sla_set(store, ticket, sla, error);
}

gboolean dk_desk_sla_update(DkStore *store, const DkSlaPolicy *policy, gint64 ticket, gint64 now,
                            GError **error)
{
	g_autoptr(DkTicket) t = NULL;
	DkTicketSla sla;
	return update(store, policy, ticket, now, &t, &sla, error);
}

gboolean dk_desk_sla_left_seconds(const DkTicket *t, const DkTicketSla *sla, gint64 now,
                                  gint64 *left_out)
{
	if (dk_ticket_status_is_closed(t->status))
		return FALSE;
	if (sla->paused_since != 0) {
		*left_out = sla->paused_left;
		return sla->has_paused_left;
	}
	gint64 due = sla->first_response_at == 0 && sla->first_response_due != 0
	                 ? sla->first_response_due
	                 : sla->resolution_due;
	*left_out = due - now;
	return due != 0;
}

char *dk_desk_sla_left(const DkTicket *t, const DkTicketSla *sla, gint64 now)
{
	if (sla->resolution_due == 0 && sla->first_response_due == 0)
		return g_strdup("-");
	if (dk_ticket_status_is_closed(t->status))
		return g_strdup(sla->resolution_due == 0 || t->closed_at <= sla->resolution_due
		                    ? "met"
		                    : "late");
	gint64 left = 0;
	if (!dk_desk_sla_left_seconds(t, sla, now, &left))
		return g_strdup(sla->paused_since != 0 ? "paused" : "-");
	/* Whole minutes, rounded towards the deadline's side. */
	g_autofree char *text =
	    dk_desk_format_duration(left >= 0 ? left / 60 : -((-left + 59) / 60));
	return sla->paused_since != 0 ? g_strconcat(text, " paused", NULL) : g_steal_pointer(&text);
}

char **dk_desk_sla_states(const DkTicketSla *sla, gint64 now)
{
	g_autoptr(GStrvBuilder) out = g_strv_builder_new();
	gboolean running = sla->paused_since == 0;
	gboolean first =
	    sla->first_response_breached_at != 0 ||
	    (sla->first_response_due != 0 &&
	     (sla->first_response_at != 0 ? sla->first_response_at > sla->first_response_due
	                                  : running && now >= sla->first_response_due));
	gboolean resolution = sla->resolution_breached_at != 0 ||
	                      (sla->resolution_due != 0 && running && now >= sla->resolution_due);
	if (first || resolution)
		g_strv_builder_add(out, "breached");
	if (first)
		g_strv_builder_add(out, "first_response_breached");
	if (resolution)
		g_strv_builder_add(out, "resolution_breached");
	if (!running)
		g_strv_builder_add(out, "paused");
	if (sla->first_response_at != 0)
		g_strv_builder_add(out, "answered");
	if (sla->first_response_due == 0 && sla->resolution_due == 0)
		g_strv_builder_add(out, "no_target");
	return g_strv_builder_end(out);
}

/* The event and the team's notices for one missed target. */
static gboolean breach(DkStore *store, const DkTicket *t, const char *target, gint64 due,
                       const char *const *team, gint64 now, GError **error)
{
	g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc(due);
	g_autofree char *due_text = g_date_time_format_iso8601(when);
	g_autoptr(json_t) detail = json_pack("{ss sI}", "target", target, "due", (json_int_t)due);
	g_autofree char *detail_text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	if (!dk_store_event_add(store, t->number, 0, "sla_breach", detail_text, now, error))
		return FALSE;
	g_message("desk event=sla_breach ticket=%" G_GINT64_FORMAT " target=%s due=%s", t->number,
	          target, due_text);
	for (guint i = 0; team != NULL && team[i] != NULL; i++) {
		g_autoptr(json_t) o = json_pack(
		    "{ss ss s{ss ss}}", "template", "sla-breach", "to", team[i], "sla", "target",
		    strcmp(target, "first_response") == 0 ? "first response" : "resolution", "due",
		    due_text);
		if (t->assignee != NULL) {
			json_object_set_new(o, "agent_address", json_string(t->assignee));
			json_object_set_new(o, "agent_name", json_string(t->assignee));
		}
		g_autofree char *payload = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		if (!dk_store_outbox_add(store, dk_outbox_kind_name(DK_OUTBOX_NOTICE), team[i],
		                         t->number, payload, now, NULL, error))
			return FALSE;
	}
	return TRUE;
}

/* Recomputes one ticket and records what it missed; counts into *n. */
static gboolean check_ticket(DkStore *store, const DkSlaPolicy *policy, gint64 number,
                             const char *const *team, gint64 now, guint *n, GError **error)
{
	DkTicketSla sla;
	g_autoptr(DkTicket) t = NULL; /* and its clocks as update() left them */
	if (!update(store, policy, number, now, &t, &sla, error))
		return FALSE;
	guint before = *n;
	if (!record_missed(store, t, &sla, now, team, now, n, error))
		return FALSE;
	return *n == before || dk_store_ticket_sla_set(store, number, &sla, error);
}

gboolean dk_desk_sla_check_from(DkStore *store, const DkSlaPolicy *policy, const char *const *team,
                                gint64 now, gboolean due_only, gint64 after, guint limit,
                                gint64 *last_out, guint *breaches_out, GError **error)
{
	g_autoptr(GArray) open =
	    dk_store_tickets_sla_open(store, after, limit, due_only ? MAX(now, 1) : 0, error);
	if (open == NULL)
		return FALSE;
	guint n = 0;
	for (guint i = 0; i < open->len; i++)
		if (!check_ticket(store, policy, g_array_index(open, gint64, i), team, now, &n,
		                  error))
			return FALSE;
	if (last_out != NULL)
		*last_out = open->len > 0 ? g_array_index(open, gint64, open->len - 1) : 0;
	if (breaches_out != NULL)
		*breaches_out = n;
	return TRUE;
}

gboolean dk_desk_sla_check(DkStore *store, const DkSlaPolicy *policy, const char *const *team,
                           gint64 now, guint *breaches_out, GError **error)
{
	return dk_desk_sla_check_from(store, policy, team, now, FALSE, 0, 0, NULL, breaches_out,
	                              error);
}
