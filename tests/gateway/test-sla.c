/* Tests of the SLA arithmetic (gateway/desk/sla.c) against tables worked
 * out by hand, and of the policy read from docket.conf (sla-policy.c).
 *
 * Offsets used by hand: Europe/Berlin is UTC+1 (CET) and UTC+2 (CEST) from
 * 2026-03-29 01:00Z to 2026-10-25 01:00Z; America/New_York is UTC-5 (EST)
 * and UTC-4 (EDT) from 2026-03-08 07:00Z to 2026-11-01 06:00Z. Weekdays of
 * 2026: 03-06 and 03-27 Fri, 03-29 Sun, 10-23 and 10-30 Fri, 10-25 and
 * 11-01 Sun, 11-25 Wed, 11-26 Thu (Thanksgiving), 11-30 Mon, 12-24 Thu,
 * 12-25 Fri. */
#include "gateway/config.h"
#include "gateway/error.h"
#include "gateway/desk/sla-policy.h"
#include "gateway/desk/sla.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

enum {
	UTC_ALWAYS,
	BERLIN_OFFICE,
	NEW_YORK_OFFICE,
	BERLIN_SUNDAYS,
	BERLIN_LUNCH,
	BERLIN_ALWAYS,
	BERLIN_NIGHT,
	N_CALENDARS
};

static DkSlaCalendar *calendar(int which)
{
	static const char *const office[] = {"mon-fri 09:00-17:00", NULL};
	static const char *const ny_office[] = {"mon-fri 08:00-18:00", NULL};
	static const char *const sundays[] = {"sun 00:00-24:00", NULL};
	static const char *const lunch[] = {"mon-fri 09:00-12:00", "mon-fri 13:00-17:00", NULL};
	static const char *const night[] = {"sun 02:30-04:00", NULL};
	static const char *const christmas[] = {"2026-12-25", "2026-12-26", NULL};
	static const char *const thanksgiving[] = {"2026-11-26", NULL};
	static const char *const xmas_day[] = {"2026-12-25", NULL};
	DkSlaCalendar *c = NULL;
	g_autoptr(GError) error = NULL;
	switch (which) {
	case UTC_ALWAYS:
		c = dk_sla_calendar_new(NULL, NULL, NULL, &error);
		break;
	case BERLIN_OFFICE:
		c = dk_sla_calendar_new(office, "Europe/Berlin", christmas, &error);
		break;
	case NEW_YORK_OFFICE:
		c = dk_sla_calendar_new(ny_office, "America/New_York", thanksgiving, &error);
		break;
	case BERLIN_SUNDAYS:
		c = dk_sla_calendar_new(sundays, "Europe/Berlin", NULL, &error);
		break;
	case BERLIN_LUNCH:
		c = dk_sla_calendar_new(lunch, "Europe/Berlin", NULL, &error);
		break;
	case BERLIN_ALWAYS:
		c = dk_sla_calendar_new(NULL, "Europe/Berlin", xmas_day, &error);
		break;
	case BERLIN_NIGHT:
		c = dk_sla_calendar_new(night, "Europe/Berlin", NULL, &error);
		break;
	default:
		break;
	}
	if (c == NULL)
		fail_msg("calendar %d: %s", which, error ? error->message : "?");
	return c;
}

static gint64 at(const char *iso)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(iso, NULL);
	if (dt == NULL)
		fail_msg("bad time in the table: %s", iso);
	return g_date_time_to_unix(dt);
}

#define H 60 /* minutes */

/* Each row: calendar, start, target in minutes, up to two pauses, the due
 * time computed by hand (in UTC), and how. */
static const struct {
	int calendar;
	const char *start;
	gint64 minutes;
	const char *pauses[4]; /* start, end, start, end */
	const char *due;
} due_rows[] = {
    /* Around the clock in UTC: plain addition. */
    {UTC_ALWAYS, "2026-11-25T10:00:00Z", 15, {NULL}, "2026-11-25T10:15:00Z"},
    /* 4 h with an hour paused: 10:00 + 4 h + 1 h. */
    {UTC_ALWAYS,
     "2026-11-25T10:00:00Z",
     4 * H,
     {"2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z"},
     "2026-11-25T15:00:00Z"},
    /* 24 h over the night of Berlin's spring change: UTC has none. */
    {UTC_ALWAYS, "2026-03-28T12:00:00Z", 24 * H, {NULL}, "2026-03-29T12:00:00Z"},
    /* Berlin office, Wed 10:00 CET + 4 h = 14:00 CET = 13:00Z. */
    {BERLIN_OFFICE, "2026-11-25T10:00:00+01:00", 4 * H, {NULL}, "2026-11-25T13:00:00Z"},
    /* Wed 16:00 CET: 1 h to 17:00, 3 h on Thu from 09:00: 12:00 CET = 11:00Z. */
    {BERLIN_OFFICE, "2026-11-25T16:00:00+01:00", 4 * H, {NULL}, "2026-11-26T11:00:00Z"},
    /* Fri 15:00 CET, 8 h: 2 h on Friday, the weekend skipped, 6 h on Monday
     * from 09:00: Mon 15:00 CET = 14:00Z. */
    {BERLIN_OFFICE, "2026-11-27T15:00:00+01:00", 8 * H, {NULL}, "2026-11-30T14:00:00Z"},
    /* Opened on Saturday: the clock starts Mon 09:00 CET; + 1 h = 09:00Z. */
    {BERLIN_OFFICE, "2026-11-28T12:00:00+01:00", 1 * H, {NULL}, "2026-11-30T09:00:00Z"},
    /* Tue 07:00 CET, before opening: 09:00 + 15 min = 09:15 CET = 08:15Z. */
    {BERLIN_OFFICE, "2026-12-01T07:00:00+01:00", 15, {NULL}, "2026-12-01T08:15:00Z"},
    /* Mon 09:00 + 8 h ends at Monday's close, 17:00 CET = 16:00Z, not Tue. */
    {BERLIN_OFFICE, "2026-11-30T09:00:00+01:00", 8 * H, {NULL}, "2026-11-30T16:00:00Z"},
    /* 24 business hours from Wed 09:00 CET: Wed, Thu and Fri 8 h each, so
     * Fri 17:00 CET = 16:00Z. */
    {BERLIN_OFFICE, "2026-11-25T09:00:00+01:00", 24 * H, {NULL}, "2026-11-27T16:00:00Z"},
    /* Thu 24 Dec 16:00 CET, 4 h: 1 h on Thursday; Fri 25 and Sat 26 are
     * holidays, Sunday a weekend day; Mon 28 09:00 + 3 h = 12:00 CET = 11:00Z. */
    {BERLIN_OFFICE, "2026-12-24T16:00:00+01:00", 4 * H, {NULL}, "2026-12-28T11:00:00Z"},
    /* Spring forward: Fri 27 Mar 16:00 CET, 2 h: 1 h on Friday; Mon 30 Mar
     * opens at 09:00 CEST = 07:00Z; + 1 h = 08:00Z (not 09:00Z). */
    {BERLIN_OFFICE, "2026-03-27T16:00:00+01:00", 2 * H, {NULL}, "2026-03-30T08:00:00Z"},
    /* Fall back: Fri 23 Oct 16:00 CEST, 2 h: 1 h on Friday; Mon 26 Oct
     * opens at 09:00 CET = 08:00Z; + 1 h = 09:00Z. */
    {BERLIN_OFFICE, "2026-10-23T16:00:00+02:00", 2 * H, {NULL}, "2026-10-26T09:00:00Z"},
    /* The same instant as New York's row below: 09:00Z is 10:00 CET, open;
     * + 1 h = 10:00Z. */
    {BERLIN_OFFICE, "2026-11-25T09:00:00Z", 1 * H, {NULL}, "2026-11-25T10:00:00Z"},
    /* Wed 09:00 CET, 4 h, paused 10:00-11:30 CET: 1 h runs, then 3 h from
     * 11:30: 14:30 CET = 13:30Z. */
    {BERLIN_OFFICE,
     "2026-11-25T09:00:00+01:00",
     4 * H,
     {"2026-11-25T10:00:00+01:00", "2026-11-25T11:30:00+01:00"},
     "2026-11-25T13:30:00Z"},
    /* Wed 15:00 CET, 4 h, paused Wed 16:00 to Thu 10:00 CET: 1 h on Wed,
     * 3 h from Thu 10:00: 13:00 CET = 12:00Z. */
    {BERLIN_OFFICE,
     "2026-11-25T15:00:00+01:00",
     4 * H,
     {"2026-11-25T16:00:00+01:00", "2026-11-26T10:00:00+01:00"},
     "2026-11-26T12:00:00Z"},
    /* A pause in the night costs nothing: as Wed 16:00 CET + 4 h above. */
    {BERLIN_OFFICE,
     "2026-11-25T16:00:00+01:00",
     4 * H,
     {"2026-11-25T18:00:00+01:00", "2026-11-26T08:00:00+01:00"},
     "2026-11-26T11:00:00Z"},
    /* Mon 09:00 CET, 2 h, pauses 09:30-10:30 and 10:00-11:00 CET overlap
     * into 09:30-11:00: 30 min run, then 1 h 30 from 11:00: 12:30 CET = 11:30Z. */
    {BERLIN_OFFICE,
     "2026-11-30T09:00:00+01:00",
     2 * H,
     {"2026-11-30T09:30:00+01:00", "2026-11-30T10:30:00+01:00", "2026-11-30T10:00:00+01:00",
      "2026-11-30T11:00:00+01:00"},
     "2026-11-30T11:30:00Z"},
    /* New York office 08:00-18:00: Wed 25 Nov 17:00 EST, 4 h: 1 h on Wed,
     * Thanksgiving off, Fri 08:00 + 3 h = 11:00 EST = 16:00Z. */
    {NEW_YORK_OFFICE, "2026-11-25T17:00:00-05:00", 4 * H, {NULL}, "2026-11-27T16:00:00Z"},
    /* 09:00Z is 04:00 EST, before opening: 08:00 + 1 h = 09:00 EST = 14:00Z. */
    {NEW_YORK_OFFICE, "2026-11-25T09:00:00Z", 1 * H, {NULL}, "2026-11-25T14:00:00Z"},
    /* Spring forward (8 Mar): Fri 6 Mar 17:00 EST, 2 h: 1 h on Friday; Mon
     * 9 Mar opens 08:00 EDT = 12:00Z; + 1 h = 13:00Z. */
    {NEW_YORK_OFFICE, "2026-03-06T17:00:00-05:00", 2 * H, {NULL}, "2026-03-09T13:00:00Z"},
    /* Fall back (1 Nov): Fri 30 Oct 17:00 EDT, 2 h: 1 h on Friday; Mon 2
     * Nov opens 08:00 EST = 13:00Z; + 1 h = 14:00Z. */
    {NEW_YORK_OFFICE, "2026-10-30T17:00:00-04:00", 2 * H, {NULL}, "2026-11-02T14:00:00Z"},
    /* Berlin Sundays only. Sun 29 Mar lasts 23 h (00:00 CET = Sat 23:00Z to
     * 24:00 CEST = 22:00Z): 23 h from its start end with it. */
    {BERLIN_SUNDAYS, "2026-03-29T00:00:00+01:00", 23 * H, {NULL}, "2026-03-29T22:00:00Z"},
    /* 24 h: 23 on 29 Mar, the last hour from Sun 5 Apr 00:00 CEST = Sat
     * 4 Apr 22:00Z: 23:00Z. */
    {BERLIN_SUNDAYS, "2026-03-29T00:00:00+01:00", 24 * H, {NULL}, "2026-04-04T23:00:00Z"},
    /* Sun 25 Oct lasts 25 h (00:00 CEST = Sat 22:00Z to 24:00 CET = 23:00Z). */
    {BERLIN_SUNDAYS, "2026-10-25T00:00:00+02:00", 25 * H, {NULL}, "2026-10-25T23:00:00Z"},
    /* Lunch break: Mon 11:00 CET, 2 h: 11-12 and 13-14: 14:00 CET = 13:00Z. */
    {BERLIN_LUNCH, "2026-11-30T11:00:00+01:00", 2 * H, {NULL}, "2026-11-30T13:00:00Z"},
    /* Around the clock in Berlin, 25 Dec off: Thu 24 Dec 23:00 CET, 2 h:
     * 1 h to midnight, the local 25th skipped, 26 Dec 00:00 CET = 25 Dec
     * 23:00Z, + 1 h = 26 Dec 00:00Z. */
    {BERLIN_ALWAYS, "2026-12-24T23:00:00+01:00", 2 * H, {NULL}, "2026-12-26T00:00:00Z"},
};

static void test_due_table(void **state)
{
	(void)state;
	DkSlaCalendar *cals[N_CALENDARS];
	for (int i = 0; i < N_CALENDARS; i++)
		cals[i] = calendar(i);
	for (guint i = 0; i < G_N_ELEMENTS(due_rows); i++) {
		DkSlaPause pauses[2];
		guint n = 0;
		for (guint p = 0; p < 4 && due_rows[i].pauses[p] != NULL; p += 2, n++)
			pauses[n] =
			    (DkSlaPause){at(due_rows[i].pauses[p]), at(due_rows[i].pauses[p + 1])};
		gint64 due = dk_sla_due(cals[due_rows[i].calendar], at(due_rows[i].start),
		                        due_rows[i].minutes * 60, pauses, n);
		if (due != at(due_rows[i].due)) {
			g_autoptr(GDateTime) got = g_date_time_new_from_unix_utc(due);
			g_autofree char *text = g_date_time_format_iso8601(got);
			fail_msg("row %u (%s + %" G_GINT64_FORMAT " min): due %s, expected %s", i,
			         due_rows[i].start, due_rows[i].minutes, text, due_rows[i].due);
		}
	}
	for (int i = 0; i < N_CALENDARS; i++)
		dk_sla_calendar_free(cals[i]);
}

/* Business seconds between two instants, by hand. */
static const struct {
	int calendar;
	const char *from, *to;
	gint64 seconds;
} business_rows[] = {
    /* Fri 15:00-17:00 CET and Mon 09:00-11:00 CET: 4 h. */
    {BERLIN_OFFICE, "2026-11-27T15:00:00+01:00", "2026-11-30T11:00:00+01:00", 4 * 3600},
    /* Fri 27 Mar 09-17 CET (8 h) and Mon 30 Mar 09:00 CEST = 07:00Z to
     * 12:00Z (5 h): 13 h. */
    {BERLIN_OFFICE, "2026-03-27T00:00:00Z", "2026-03-30T12:00:00Z", 13 * 3600},
    /* Sun 25 Oct whole: 25 h. */
    {BERLIN_SUNDAYS, "2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z", 25 * 3600},
    /* Sun 29 Mar whole: 23 h. */
    {BERLIN_SUNDAYS, "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z", 23 * 3600},
    /* Thanksgiving week Wed-Fri in New York: 10 h, holiday, 10 h. */
    {NEW_YORK_OFFICE, "2026-11-25T00:00:00Z", "2026-11-28T00:00:00Z", 20 * 3600},
    /* Sundays 02:30-04:00 in Berlin, on the nights the clocks change. On
     * 29 Mar 02:30 does not exist: the opening starts after the jump, at
     * 03:00 CEST = 01:00Z, until 04:00 CEST = 02:00Z: 1 h. */
    {BERLIN_NIGHT, "2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z", 1 * 3600},
    /* On 25 Oct 02:30 comes twice: from the second, 02:30 CET = 01:30Z,
     * to 04:00 CET = 03:00Z: 1 h 30. */
    {BERLIN_NIGHT, "2026-10-25T00:00:00Z", "2026-10-26T00:00:00Z", 5400},
    /* An ordinary Sunday: 1 h 30 (01:30Z to 03:00Z in CET). */
    {BERLIN_NIGHT, "2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z", 5400},
    /* Backwards: nothing. */
    {UTC_ALWAYS, "2026-11-25T10:00:00Z", "2026-11-25T09:00:00Z", 0},
};

static void test_business_seconds_table(void **state)
{
	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(business_rows); i++) {
		g_autoptr(DkSlaCalendar) c = calendar(business_rows[i].calendar);
		gint64 got = dk_sla_business_seconds(c, at(business_rows[i].from),
		                                     at(business_rows[i].to), NULL, 0);
		if (got != business_rows[i].seconds)
			fail_msg("row %u: %" G_GINT64_FORMAT " s, expected %" G_GINT64_FORMAT, i,
			         got, business_rows[i].seconds);
	}
	/* With a pause of Mon 09:30-10:00 CET inside the first row: 3 h 30. */
	g_autoptr(DkSlaCalendar) c = calendar(BERLIN_OFFICE);
	DkSlaPause p = {at("2026-11-30T09:30:00+01:00"), at("2026-11-30T10:00:00+01:00")};
	assert_int_equal(dk_sla_business_seconds(c, at("2026-11-27T15:00:00+01:00"),
	                                         at("2026-11-30T11:00:00+01:00"), &p, 1),
	                 3 * 3600 + 1800);
}

static void test_pauses_from_history(void **state)
{
	(void)state;
	/* new, waiting at 100, open at 300, on_hold at 400, in_progress at
	 * 500, resolved at 900, now 1000: three pauses, the last still open. */
	const gint64 t1[] = {0, 100, 300, 400, 500, 900};
	const DkTicketStatus s1[] = {DK_STATUS_NEW,     DK_STATUS_WAITING,     DK_STATUS_OPEN,
	                             DK_STATUS_ON_HOLD, DK_STATUS_IN_PROGRESS, DK_STATUS_RESOLVED};
	g_autoptr(GArray) p1 = dk_sla_pauses_from_history(t1, s1, G_N_ELEMENTS(t1), 1000);
	const DkSlaPause want1[] = {{100, 300}, {400, 500}, {900, 1000}};
	assert_int_equal(p1->len, G_N_ELEMENTS(want1));
	for (guint i = 0; i < p1->len; i++) {
		assert_int_equal(g_array_index(p1, DkSlaPause, i).start, want1[i].start);
		assert_int_equal(g_array_index(p1, DkSlaPause, i).end, want1[i].end);
	}
	/* waiting then on_hold is one pause; closed after resolved too. */
	const gint64 t2[] = {0, 100, 200, 300, 600, 700};
	const DkTicketStatus s2[] = {DK_STATUS_NEW,  DK_STATUS_WAITING,  DK_STATUS_ON_HOLD,
	                             DK_STATUS_OPEN, DK_STATUS_RESOLVED, DK_STATUS_CLOSED};
	g_autoptr(GArray) p2 = dk_sla_pauses_from_history(t2, s2, G_N_ELEMENTS(t2), 800);
	assert_int_equal(p2->len, 2);
	assert_int_equal(g_array_index(p2, DkSlaPause, 0).start, 100);
	assert_int_equal(g_array_index(p2, DkSlaPause, 0).end, 300);
	assert_int_equal(g_array_index(p2, DkSlaPause, 1).start, 600);
	assert_int_equal(g_array_index(p2, DkSlaPause, 1).end, 800);
	const gint64 t3[] = {0};
	const DkTicketStatus s3[] = {DK_STATUS_NEW};
	g_autoptr(GArray) p3 = dk_sla_pauses_from_history(t3, s3, 1, 50);
	assert_int_equal(p3->len, 0);
}

static void test_calendar_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *hours, *zone, *holiday, *why;
	} bad[] = {
	    {"mon-fri 9-17", NULL, NULL, "business hours"},
	    {"mon-fri 17:00-09:00", NULL, NULL, "business hours"},
	    {"xyz 09:00-10:00", NULL, NULL, "business hours"},
	    {"mon-fri 09:00-24:30", NULL, NULL, "business hours"},
	    {"mon-fri", NULL, NULL, "business hours"},
	    {NULL, "Mars/Olympus_Mons", NULL, "time zone"},
	    {NULL, NULL, "2026-02-30", "holiday"},
	    {NULL, NULL, "25.12.2026", "holiday"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		const char *hours[] = {bad[i].hours, NULL}, *holidays[] = {bad[i].holiday, NULL};
		g_autoptr(GError) error = NULL;
		g_autoptr(DkSlaCalendar) c =
		    dk_sla_calendar_new(hours, bad[i].zone, holidays, &error);
		assert_null(c);
		assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
		if (strstr(error->message, bad[i].why) == NULL)
			fail_msg("case %u: “%s” does not say %s", i, error->message, bad[i].why);
	}
	/* A range may wrap over the weekend: fri-mon. */
	const char *wrap[] = {"fri-mon 10:00-11:00", NULL};
	g_autoptr(DkSlaCalendar) c = dk_sla_calendar_new(wrap, NULL, NULL, NULL);
	assert_non_null(c);
	/* Wed 25 Nov 12:00Z: Thursday is closed, Friday 10:00 + 30 min. */
	assert_int_equal(dk_sla_due(c, at("2026-11-25T12:00:00Z"), 1800, NULL, 0),
	                 at("2026-11-27T10:30:00Z"));
	/* Sat, Sun and Mon follow: 1 h each; 90 min from Friday 10:00 end
	 * Sat 10:30. */
	assert_int_equal(dk_sla_due(c, at("2026-11-27T10:00:00Z"), 5400, NULL, 0),
	                 at("2026-11-28T10:30:00Z"));
}

static void test_holiday_file(void **state)
{
	(void)state;
	g_auto(GStrv) dates = dk_sla_holidays_parse(
	    "# Berlin office\n2026-12-25 Christmas Day\n\n  2026-12-26\n", "holidays.txt", NULL);
	assert_non_null(dates);
	assert_int_equal(g_strv_length(dates), 2);
	assert_string_equal(dates[0], "2026-12-25");
	assert_string_equal(dates[1], "2026-12-26");
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) none =
	    dk_sla_holidays_parse("2026-12-25\n2026-13-01\n", "holidays.txt", &error);
	assert_null(none);
	assert_non_null(strstr(error->message, "holidays.txt:2"));
}

static DkSlaPolicy *policy_of(const char *text, GError **error)
{
	g_autoptr(DkConfig) config = dk_config_load_data(text, strlen(text), "docket.conf", error);
	return config ? dk_sla_policy_new(config, error) : NULL;
}

static void test_policy(void **state)
{
	(void)state;
	g_autoptr(DkSlaPolicy) p = policy_of("[sla]\nhigh = 2h/1d\n", NULL); /* 1d is no duration */
	assert_null(p);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkSlaPolicy) q = policy_of(
	    "[sla]\nhigh = 2h/16h\nbusiness_hours = mon-fri 09:00-17:00\n"
	    "timezone = Europe/Berlin\nholidays = 2026-12-25, 2026-12-26\n"
	    "[queue:billing]\ncritical = none\nlow = 48h/120h\ntimezone = America/New_York\n",
	    &error);
	assert_non_null(q);
	gint64 first = 0, resolution = 0;
	const DkSlaCalendar *c = NULL;
	/* Defaults where [sla] says nothing; its own values where it does. */
	assert_true(dk_sla_policy_targets(q, "default", "critical", &first, &resolution, &c));
	assert_int_equal(first, 15 * 60);
	assert_int_equal(resolution, 4 * 3600);
	assert_true(dk_sla_policy_targets(q, "default", "high", &first, &resolution, &c));
	assert_int_equal(first, 2 * 3600);
	assert_int_equal(resolution, 16 * 3600);
	assert_false(dk_sla_policy_targets(q, "default", "none", &first, &resolution, &c));
	/* Berlin office hours: Fri 16:00 CET + 2 h is Mon 10:00 CET. */
	assert_int_equal(dk_sla_due(c, at("2026-11-27T16:00:00+01:00"), 2 * 3600, NULL, 0),
	                 at("2026-11-30T10:00:00+01:00"));
	/* The queue: its own targets, [sla]'s for the rest, its own zone. */
	assert_false(dk_sla_policy_targets(q, "billing", "critical", &first, &resolution, &c));
	assert_true(dk_sla_policy_targets(q, "billing", "high", &first, &resolution, &c));
	assert_int_equal(first, 2 * 3600);
	assert_true(dk_sla_policy_targets(q, "billing", "low", &first, &resolution, &c));
	assert_int_equal(first, 48 * 3600);
	assert_int_equal(resolution, 120 * 3600);
	/* Fri 16:00 EST + 2 h with the Berlin hours in New York: Mon 10:00 EST. */
	assert_int_equal(dk_sla_due(c, at("2026-11-27T16:00:00-05:00"), 2 * 3600, NULL, 0),
	                 at("2026-11-30T10:00:00-05:00"));
	static const char *const wrong[] = {
	    "[sla]\ncritical = fast\n",
	    "[sla]\ntimezone = Nowhere/Special\n",
	    "[queue:x]\nbusiness_hours = weekdays\n",
	    "[sla]\nholidays_file = /nonexistent/holidays\n",
	};
	for (guint i = 0; i < G_N_ELEMENTS(wrong); i++) {
		g_autoptr(GError) e = NULL;
		g_autoptr(DkSlaPolicy) bad = policy_of(wrong[i], &e);
		assert_null(bad);
		assert_true(g_error_matches(e, DK_ERROR, DK_ERROR_CONFIG));
		assert_non_null(strstr(e->message, "["));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_due_table),
	    cmocka_unit_test(test_business_seconds_table),
	    cmocka_unit_test(test_pauses_from_history),
	    cmocka_unit_test(test_calendar_refusals),
	    cmocka_unit_test(test_holiday_file),
	    cmocka_unit_test(test_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
