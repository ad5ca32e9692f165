/* SLA arithmetic over business hours, holidays and pauses in a time zone:
 * the calendar is walked one local date at a time, each opening interval
 * turned into instants with GTimeZone, pauses cut out of it. */
#include "gateway/desk/sla.h"

#include "gateway/error.h"

#include <string.h>

#define MINUTES_PER_DAY 1440
#define WALK_DAYS (20 * 366) /* how far a due time is looked for */

typedef struct {
	int from, to; /* minutes after local midnight, to <= 1440 */
} Opening;

struct DkSlaCalendar {
	GTimeZone *tz;
	GArray *days[8];      /* of Opening, by GDateWeekday (1 = Monday), sorted, merged */
	GHashTable *holidays; /* julian day numbers */
};

static const char *const weekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int weekday_of(const char *name, gsize len)
{
	for (guint i = 0; i < G_N_ELEMENTS(weekdays); i++)
		if (len == 3 && g_ascii_strncasecmp(name, weekdays[i], 3) == 0)
			return (int)i + 1;
	return 0;
}

/* "HH:MM" into minutes; 24:00 is the end of the day. */
static gboolean parse_clock(const char *s, gsize len, int *minutes_out)
{
	if (len != 5 || !g_ascii_isdigit(s[0]) || !g_ascii_isdigit(s[1]) || s[2] != ':' ||
	    !g_ascii_isdigit(s[3]) || !g_ascii_isdigit(s[4]))
		return FALSE;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return FALSE;
	*minutes_out = h * 60 + m;
	return TRUE;
}

static int opening_cmp(gconstpointer a, gconstpointer b)
{
	return ((const Opening *)a)->from - ((const Opening *)b)->from;
}

/* Sorts a day's openings and joins those that overlap or touch. */
static void day_normalise(GArray *day)
{
	g_array_sort(day, opening_cmp);
	guint out = 0;
	for (guint i = 0; i < day->len; i++) {
		Opening o = g_array_index(day, Opening, i);
		if (out > 0 && o.from <= g_array_index(day, Opening, out - 1).to) {
			Opening *last = &g_array_index(day, Opening, out - 1);
			last->to = MAX(last->to, o.to);
		} else {
			g_array_index(day, Opening, out++) = o;
		}
	}
	g_array_set_size(day, out);
}

/* One item "DAY[-DAY] HH:MM-HH:MM" added to the days it names. */
static gboolean add_hours(DkSlaCalendar *c, const char *item, GError **error)
{
	g_auto(GStrv) parts = g_strsplit_set(item, " \t", -1);
	guint n = 0;
	const char *words[3] = {NULL, NULL, NULL};
	for (guint i = 0; parts[i] != NULL; i++)
		if (*parts[i] != '\0' && n < 3)
			words[n++] = parts[i];
	int first = 0, last = 0, from = 0, to = 0;
	const char *dash = n == 2 ? strchr(words[0], '-') : NULL;
	const char *clock_dash = n == 2 ? strchr(words[1], '-') : NULL;
	if (n == 2 && clock_dash != NULL) {
		first = weekday_of(words[0], dash ? (gsize)(dash - words[0]) : strlen(words[0]));
		last = dash ? weekday_of(dash + 1, strlen(dash + 1)) : first;
	}
	if (first == 0 || last == 0 ||
	    !parse_clock(words[1], (gsize)(clock_dash - words[1]), &from) ||
	    !parse_clock(clock_dash + 1, strlen(clock_dash + 1), &to) || from >= to) {
		g_set_error(
		    error, DK_ERROR, DK_ERROR_CONFIG,
		    "business hours “%s” are not like “mon-fri 09:00-17:00” (days mon..sun, the end"
		    " after the start, at most 24:00)",
		    item);
		return FALSE;
	}
	for (int d = first;; d = d % 7 + 1) { /* a range may wrap: fri-mon */
		Opening o = {from, to};
		g_array_append_val(c->days[d], o);
		if (d == last)
			break;
	}
	return TRUE;
}

static gboolean parse_date(const char *s, GDate *out)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return FALSE;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !g_ascii_isdigit(s[i]))
			return FALSE;
	int y = (int)g_ascii_strtoll(s, NULL, 10), m = (int)g_ascii_strtoll(s + 5, NULL, 10),
	    d = (int)g_ascii_strtoll(s + 8, NULL, 10);
	if (!g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
		return FALSE;
	g_date_clear(out, 1);
	g_date_set_dmy(out, (GDateDay)d, (GDateMonth)m, (GDateYear)y);
	return TRUE;
}

DkSlaCalendar *dk_sla_calendar_new(const char *const *hours, const char *timezone,
                                   const char *const *holidays, GError **error)
{
	g_autoptr(DkSlaCalendar) c = g_new0(DkSlaCalendar, 1);
	if (timezone == NULL || *timezone == '\0')
		c->tz = g_time_zone_new_utc();
	else if ((c->tz = g_time_zone_new_identifier(timezone)) == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "“%s” is not a time zone known to this system (tzdata)", timezone);
		return NULL;
	}
	for (int d = 1; d <= 7; d++)
		c->days[d] = g_array_new(FALSE, FALSE, sizeof(Opening));
	gboolean any = FALSE;
	for (guint i = 0; hours != NULL && hours[i] != NULL; i++) {
		if (*hours[i] == '\0')
			continue;
		if (!add_hours(c, hours[i], error))
			return NULL;
		any = TRUE;
	}
	for (int d = 1; d <= 7; d++) {
		if (!any) {
			Opening all = {0, MINUTES_PER_DAY};
			g_array_append_val(c->days[d], all);
		}
		day_normalise(c->days[d]);
	}
	c->holidays = g_hash_table_new(g_direct_hash, g_direct_equal);
	for (guint i = 0; holidays != NULL && holidays[i] != NULL; i++) {
		GDate date;
		if (!parse_date(holidays[i], &date)) {
			g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
			            "holiday “%s” is not a date YYYY-MM-DD", holidays[i]);
			return NULL;
		}
		g_hash_table_add(c->holidays, GUINT_TO_POINTER(g_date_get_julian(&date)));
	}
	return g_steal_pointer(&c);
}

void dk_sla_calendar_free(DkSlaCalendar *c)
{
	if (c == NULL)
		return;
	if (c->tz != NULL)
		g_time_zone_unref(c->tz);
	for (int d = 1; d <= 7; d++)
		if (c->days[d] != NULL)
			g_array_unref(c->days[d]);
	if (c->holidays != NULL)
		g_hash_table_unref(c->holidays);
	g_free(c);
}

char **dk_sla_holidays_parse(const char *text, const char *name, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GStrvBuilder) out = g_strv_builder_new();
	for (guint i = 0; lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]);
		if (*line == '\0' || *line == '#')
			continue;
		char *end = line;
		while (*end != '\0' && !g_ascii_isspace(*end))
			end++;
		*end = '\0';
		GDate date;
		if (!parse_date(line, &date)) {
			g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
			            "%s:%u: “%s” is not a date YYYY-MM-DD", name, i + 1, line);
			return NULL;
		}
		g_strv_builder_add(out, line);
	}
	return g_strv_builder_end(out);
}

/* The instant of minute (0..1440) of the local date d. GLib places a
 * local time the clocks skip (spring forward) at the first instant after
 * the jump, and one they pass twice (fall back) at its second occurrence. */
static gint64 local_instant(const DkSlaCalendar *c, const GDate *d, int minute)
{
	GDate day = *d;
	if (minute == MINUTES_PER_DAY) {
		g_date_add_days(&day, 1);
		minute = 0;
	}
	g_autoptr(GDateTime) dt =
	    g_date_time_new(c->tz, g_date_get_year(&day), g_date_get_month(&day),
	                    g_date_get_day(&day), minute / 60, minute % 60, 0);
	return g_date_time_to_unix(dt);
}

/* Walks the business intervals from a given instant on. */
typedef struct {
	const DkSlaCalendar *c;
	GDate date;
	guint index; /* the next opening of date */
	guint days;  /* dates walked */
} Walk;

static void walk_start(Walk *w, const DkSlaCalendar *c, gint64 from)
{
	g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(from);
	g_autoptr(GDateTime) local = g_date_time_to_timezone(utc, c->tz);
	*w = (Walk){.c = c};
	g_date_clear(&w->date, 1);
	g_date_set_dmy(&w->date, (GDateDay)g_date_time_get_day_of_month(local),
	               (GDateMonth)g_date_time_get_month(local),
	               (GDateYear)g_date_time_get_year(local));
	/* The day before too: its opening may end after from where a
	 * change of clocks makes dates overlap. */
	g_date_subtract_days(&w->date, 1);
}

/* The next opening [*a, *b); FALSE past WALK_DAYS. */
static gboolean walk_next(Walk *w, gint64 *a, gint64 *b)
{
	while (w->days < WALK_DAYS) {
		GArray *day = w->c->days[g_date_get_weekday(&w->date)];
		gboolean holiday = g_hash_table_contains(
		    w->c->holidays, GUINT_TO_POINTER(g_date_get_julian(&w->date)));
		if (!holiday && w->index < day->len) {
			const Opening *o = &g_array_index(day, Opening, w->index++);
			*a = local_instant(w->c, &w->date, o->from);
			*b = local_instant(w->c, &w->date, o->to);
			if (*b > *a)
				return TRUE;
			continue;
		}
		g_date_add_days(&w->date, 1);
		w->index = 0;
		w->days++;
	}
	return FALSE;
}

static int pause_cmp(gconstpointer a, gconstpointer b)
{
	gint64 x = ((const DkSlaPause *)a)->start, y = ((const DkSlaPause *)b)->start;
	return x < y ? -1 : x > y;
}

/* The pauses sorted, overlapping ones joined, empty ones dropped. */
static GArray *pauses_normalise(const DkSlaPause *pauses, guint n)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(DkSlaPause));
	for (guint i = 0; i < n; i++)
		if (pauses[i].end > pauses[i].start)
			g_array_append_val(out, pauses[i]);
	g_array_sort(out, pause_cmp);
	guint kept = 0;
	for (guint i = 0; i < out->len; i++) {
		DkSlaPause p = g_array_index(out, DkSlaPause, i);
		DkSlaPause *last = kept > 0 ? &g_array_index(out, DkSlaPause, kept - 1) : NULL;
		if (last != NULL && p.start <= last->end)
			last->end = MAX(last->end, p.end);
		else
			g_array_index(out, DkSlaPause, kept++) = p;
	}
	g_array_set_size(out, kept);
	return out;
}

/* Runs the clock over [a, b) less the pauses: the seconds that ran are
 * taken from *need; when *need reaches 0 inside, *reached_out is the
 * instant and TRUE is returned. A negative *need never runs out. */
static gboolean run_span(const GArray *pauses, gint64 a, gint64 b, gint64 *need, gint64 *ran,
                         gint64 *reached_out)
{
	gint64 cursor = a;
	for (guint i = 0; i <= pauses->len && cursor < b; i++) {
		gint64 stop = b, resume = b;
		if (i < pauses->len) {
			const DkSlaPause *p = &g_array_index(pauses, DkSlaPause, i);
			if (p->end <= cursor || p->start >= b) {
				if (p->start >= b)
					i = pauses->len - 1; /* none further can overlap */
				continue;
			}
			stop = MAX(p->start, cursor);
			resume = MIN(p->end, b);
		}
		gint64 len = stop - cursor;
		if (*need >= 0 && len >= *need) {
			*reached_out = cursor + *need;
			return TRUE;
		}
		*ran += len;
		if (*need >= 0)
			*need -= len;
		cursor = resume;
	}
	return FALSE;
}

gint64 dk_sla_business_seconds(const DkSlaCalendar *c, gint64 from, gint64 to,
                               const DkSlaPause *pauses, guint n_pauses)
{
	if (to <= from)
		return 0;
	g_autoptr(GArray) sorted = pauses_normalise(pauses, n_pauses);
	Walk w;
	walk_start(&w, c, from);
	gint64 a = 0, b = 0, ran = 0, need = -1, unused = 0;
	while (walk_next(&w, &a, &b) && a < to) {
		if (b > from)
			run_span(sorted, MAX(a, from), MIN(b, to), &need, &ran, &unused);
	}
	return ran;
}

gint64 dk_sla_due(const DkSlaCalendar *c, gint64 start, gint64 seconds, const DkSlaPause *pauses,
                  guint n_pauses)
{
	if (seconds <= 0)
		return start;
	g_autoptr(GArray) sorted = pauses_normalise(pauses, n_pauses);
	Walk w;
	walk_start(&w, c, start);
	gint64 a = 0, b = 0, need = seconds, ran = 0, reached = 0;
	while (walk_next(&w, &a, &b)) {
		if (b > start && run_span(sorted, MAX(a, start), b, &need, &ran, &reached))
			return reached;
	}
	return G_MAXINT64;
}

gboolean dk_sla_status_stops_clock(DkTicketStatus status)
{
	return dk_ticket_status_is_paused(status) || dk_ticket_status_is_closed(status);
}

GArray *dk_sla_pauses_from_history(const gint64 *times, const DkTicketStatus *statuses, guint n,
                                   gint64 now)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(DkSlaPause));
	gboolean open = FALSE;
	DkSlaPause p = {0, 0};
	for (guint i = 0; i < n; i++) {
		gboolean stops = dk_sla_status_stops_clock(statuses[i]);
		if (stops && !open) {
			p.start = times[i];
			open = TRUE;
		} else if (!stops && open) {
			p.end = times[i];
			g_array_append_val(out, p);
			open = FALSE;
		}
	}
	if (open) {
		p.end = MAX(now, p.start);
		g_array_append_val(out, p);
	}
	return out;
}
