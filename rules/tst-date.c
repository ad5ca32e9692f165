/* The date and currentdate tests of RFC 5260: a date part of a header's
 * date or of the current time, in a chosen zone. */
#include "rules/sieve-private.h"

#include <gmime/gmime.h>
#include <string.h>

static const char *const date_parts[] = {
    "year",   "month", "day",     "date",  "julian", "hour",    "minute",
    "second", "time",  "iso8601", "std11", "zone",   "weekday", NULL,
};

static const DkSieveTagDef date_tags[] = {
    {"zone", NULL, DK_ARGT_STRING},
    {"originalzone", NULL, -1},
    {NULL, NULL, 0},
};

static const DkSieveTagDef currentdate_tags[] = {
    {"zone", NULL, DK_ARGT_STRING},
    {NULL, NULL, 0},
};

/* A zone as "+hhmm" or "-hhmm" (RFC 5260 section 4.1), or NULL. */
static GTimeZone *zone_parse(const char *s)
{
	if (strlen(s) != 5 || (s[0] != '+' && s[0] != '-'))
		return NULL;
	for (int i = 1; i < 5; i++)
		if (!g_ascii_isdigit(s[i]))
			return NULL;
	int hh = (s[1] - '0') * 10 + (s[2] - '0'), mm = (s[3] - '0') * 10 + (s[4] - '0');
	if (hh > 23 || mm > 59)
		return NULL;
	gint32 offset = (hh * 3600 + mm * 60) * (s[0] == '-' ? -1 : 1);
	return g_time_zone_new_offset(offset);
}

static gboolean validate_common(DkSieveValidator *v, DkSieveNode *node, guint part_index)
{
	const DkSieveArg *zone = dk_sieve_node_tag(node, "zone");
	if (zone && dk_sieve_node_tag(node, "originalzone")) {
		dk_sieve_validator_error(v, node->line, node->column,
		                         "date takes :zone or :originalzone, not both");
		return FALSE;
	}
	if (zone && dk_sieve_arg_constant(v, zone->value)) {
		GTimeZone *tz = zone_parse(g_ptr_array_index(zone->value->strings, 0));
		if (tz == NULL) {
			dk_sieve_validator_error(v, zone->value->line, zone->value->column,
			                         "expected a zone as +hhmm or -hhmm");
			return FALSE;
		}
		g_time_zone_unref(tz);
	}
	const DkSieveArg *part = dk_sieve_node_arg(node, part_index);
	const char *name = g_ptr_array_index(part->strings, 0);
	if (dk_sieve_arg_constant(v, part) && !g_strv_contains(date_parts, name)) {
		g_autofree char *lower = g_ascii_strdown(name, -1);
		if (!g_strv_contains(date_parts, lower)) {
			dk_sieve_validator_error(v, part->line, part->column,
			                         "unknown date part '%s'", name);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean validate_date(DkSieveValidator *v, DkSieveNode *node)
{
	return validate_common(v, node, 1);
}

static gboolean validate_currentdate(DkSieveValidator *v, DkSieveNode *node)
{
	return validate_common(v, node, 0);
}

static char *zone_string(GDateTime *dt)
{
	gint64 off = g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE;
	char sign = off < 0 ? '-' : '+';
	off = off < 0 ? -off : off;
	return g_strdup_printf("%c%02d%02d", sign, (int)(off / 60), (int)(off % 60));
}

/* One date part (RFC 5260 section 4.2) of dt, or NULL for an unknown part. */
static char *date_part(GDateTime *dt, const char *part)
{
	static const char *const names[] = {"year",   "month",  "day", "hour",
	                                    "minute", "second", NULL};
	static const char *const formats[] = {"%Y", "%m", "%d", "%H", "%M", "%S"};
	for (guint i = 0; names[i]; i++)
		if (g_ascii_strcasecmp(part, names[i]) == 0)
			return g_date_time_format(dt, formats[i]);
	if (g_ascii_strcasecmp(part, "date") == 0)
		return g_date_time_format(dt, "%Y-%m-%d");
	if (g_ascii_strcasecmp(part, "time") == 0)
		return g_date_time_format(dt, "%H:%M:%S");
	if (g_ascii_strcasecmp(part, "weekday") == 0)
		return g_strdup_printf("%d", g_date_time_get_day_of_week(dt) % 7);
	if (g_ascii_strcasecmp(part, "zone") == 0)
		return zone_string(dt);
	if (g_ascii_strcasecmp(part, "julian") == 0) {
		/* Modified Julian Day: days since 1858-11-17. */
		GDate d;
		g_date_clear(&d, 1);
		g_date_set_dmy(&d, (GDateDay)g_date_time_get_day_of_month(dt),
		               (GDateMonth)g_date_time_get_month(dt),
		               (GDateYear)g_date_time_get_year(dt));
		return g_strdup_printf("%u", g_date_get_julian(&d) - 678576);
	}
	g_autofree char *zone = zone_string(dt);
	if (g_ascii_strcasecmp(part, "iso8601") == 0) {
		g_autofree char *base = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
		return g_strdup_printf("%s%.3s:%s", base, zone, zone + 3);
	}
	if (g_ascii_strcasecmp(part, "std11") == 0) {
		g_autofree char *base = g_date_time_format(dt, "%a, %d %b %Y %H:%M:%S");
		return g_strdup_printf("%s %s", base, zone);
	}
	return NULL;
}

/* dt converted to the zone the node asks for: :zone, :originalzone (the
 * date's own), else the configured local zone. */
static GDateTime *in_zone(DkSieveInterp *ip, const DkSieveNode *node, GDateTime *dt)
{
	const DkSieveArg *zone = dk_sieve_node_tag(node, "zone");
	if (dk_sieve_node_tag(node, "originalzone"))
		return g_date_time_ref(dt);
	GTimeZone *tz = NULL;
	if (zone) {
		g_autofree char *s = dk_sieve_expand_arg(ip, zone->value);
		tz = zone_parse(s);
		if (tz == NULL)
			return NULL;
	} else {
		tz = ip->input->local_zone ? g_time_zone_ref(ip->input->local_zone)
		                           : g_time_zone_new_utc();
	}
	GDateTime *out = g_date_time_to_timezone(dt, tz);
	g_time_zone_unref(tz);
	return out;
}

/* Adds the date part named by part_arg of dt, in the node's zone, to values. */
static void add_part(DkSieveInterp *ip, const DkSieveNode *node, GDateTime *dt,
                     const DkSieveArg *part_arg, GPtrArray *values)
{
	g_autoptr(GDateTime) z = in_zone(ip, node, dt);
	if (z == NULL)
		return;
	g_autofree char *part = dk_sieve_expand_arg(ip, part_arg);
	char *v = date_part(z, part);
	if (v)
		g_ptr_array_add(values, v);
}

static gboolean test_date(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autofree char *name = dk_sieve_expand_arg(ip, dk_sieve_node_arg(node, 0));
	g_autoptr(GPtrArray) raw = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
	dk_sieve_header_values(ip, name, raw);
	for (guint i = 0; i < raw->len; i++) {
		g_autoptr(GDateTime) dt =
		    g_mime_utils_header_decode_date(g_ptr_array_index(raw, i));
		if (dt)
			add_part(ip, node, dt, dk_sieve_node_arg(node, 1), values);
	}
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 2));
}

static gboolean test_currentdate(DkSieveInterp *ip, const DkSieveNode *node)
{
	gint64 now = ip->input->now ? ip->input->now : g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(now);
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
	if (dt)
		add_part(ip, node, dt, dk_sieve_node_arg(node, 0), values);
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 1));
}

static const DkSieveArgType date_args[] = {DK_ARGT_STRING, DK_ARGT_STRING, DK_ARGT_LIST};

const DkSieveDef dk_sieve_tst_date = {
    .name = "date",
    .extension = "date",
    .is_test = TRUE,
    .groups = DK_TAGS_MATCH | DK_TAGS_COMPARATOR,
    .tags = date_tags,
    .min_args = 3,
    .max_args = 3,
    .args = date_args,
    .validate = validate_date,
    .test = test_date,
};

const DkSieveDef dk_sieve_tst_currentdate = {
    .name = "currentdate",
    .extension = "date",
    .is_test = TRUE,
    .groups = DK_TAGS_MATCH | DK_TAGS_COMPARATOR,
    .tags = currentdate_tags,
    .min_args = 2,
    .max_args = 2,
    .args = date_args + 1,
    .validate = validate_currentdate,
    .test = test_currentdate,
};
