/* SLA arithmetic: when a target falls due, counting only business time.
 *
 * A calendar is a time zone, the opening hours of each weekday in that
 * zone's local time, and holidays (local dates with no business time).
 * Without hours every day is open around the clock. Local times are turned
 * into instants with GLib's GTimeZone, so a day on which the clocks change
 * is 23 or 25 hours long and opening hours keep their local time across
 * the change. An opening hour the clocks skip starts right after the
 * jump; one they pass twice counts from its second occurrence. Pure: no
 * store, no configuration file, no clock. */
#pragma once

#include "gateway/store/values.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct DkSlaCalendar DkSlaCalendar;

/* A span in which the clock does not run: [start, end). */
typedef struct {
	gint64 start, end;
} DkSlaPause;

/* A calendar from hours (items like "mon-fri 09:00-17:00", "sat
 * 10:00-14:00", "sun 00:00-24:00"; several items for one day add up; NULL
 * or empty: around the clock), timezone (an IANA name such as
 * "Europe/Berlin"; NULL or empty: UTC) and holidays (local dates
 * "YYYY-MM-DD"; may be NULL). DK_ERROR_CONFIG naming what is wrong. */
DkSlaCalendar *dk_sla_calendar_new(const char *const *hours, const char *timezone,
                                   const char *const *holidays, GError **error);
void dk_sla_calendar_free(DkSlaCalendar *calendar);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkSlaCalendar, dk_sla_calendar_free)

/* Reads a holiday file: one date "YYYY-MM-DD" per line, anything after it
 * on the line (a name) ignored, blank lines and lines starting with # too.
 * A NULL-terminated array of the dates (g_strfreev), or NULL and
 * DK_ERROR_CONFIG with the line. */
char **dk_sla_holidays_parse(const char *text, const char *name, GError **error);

/* Business seconds in [from, to) less the pauses (0 when to <= from). */
gint64 dk_sla_business_seconds(const DkSlaCalendar *calendar, gint64 from, gint64 to,
                               const DkSlaPause *pauses, guint n_pauses);

/* The instant at which seconds of business time have run since start,
 * with the clock stopped during the pauses (in any order, may overlap).
 * Business time that begins exactly when the target is reached counts as
 * reached: a target of 8 h from Monday 09:00 on 09:00-17:00 is Monday
 * 17:00, not Tuesday 09:00. G_MAXINT64 when the calendar has no business
 * time in the next twenty years. */
gint64 dk_sla_due(const DkSlaCalendar *calendar, gint64 start, gint64 seconds,
                  const DkSlaPause *pauses, guint n_pauses);

/* TRUE for the statuses in which the clock does not run: waiting and
 * on_hold (paused), resolved and closed (stopped). */
gboolean dk_sla_status_stops_clock(DkTicketStatus status);

/* Turns a ticket's status history into pauses. statuses[i] became the
 * status at times[i] (ascending; the first is the status at creation);
 * a pause still open ends at now. A GArray of DkSlaPause. */
GArray *dk_sla_pauses_from_history(const gint64 *times, const DkTicketStatus *statuses, guint n,
                                   gint64 now);

G_END_DECLS
