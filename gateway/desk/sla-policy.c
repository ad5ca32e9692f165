/* Builds the SLA policy from [sla] and [queue:NAME]: one calendar and one
 * table of targets for the defaults and for every queue that changes
 * either. An empty key in a queue's section takes [sla]'s value. */
#include "gateway/desk/sla-policy.h"

#include "gateway/desk/desk.h"
#include "gateway/error.h"

#include <string.h>

typedef struct {
	DkSlaCalendar *calendar;
	gint64 first[DK_PRIORITY_COUNT], resolution[DK_PRIORITY_COUNT];
} Rules;

struct DkSlaPolicy {
	Rules defaults;
	GHashTable *queues; /* name -> Rules* */
	char **team;        /* [notify] team_addresses */
};

static void rules_free(Rules *r)
{
	dk_sla_calendar_free(r->calendar);
	g_free(r);
}

gboolean dk_sla_policy_parse_target(const char *text, gint64 *first_out, gint64 *resolution_out,
                                    GError **error)
{
	g_autofree char *t = g_strstrip(g_strdup(text));
	if (g_ascii_strcasecmp(t, "none") == 0) {
		*first_out = *resolution_out = 0;
		return TRUE;
	}
	g_auto(GStrv) parts = g_strsplit(t, "/", -1);
	gint64 first = 0, resolution = 0;
	if (g_strv_length(parts) != 2 ||
	    !dk_desk_parse_duration(g_strstrip(parts[0]), &first, NULL) ||
	    !dk_desk_parse_duration(g_strstrip(parts[1]), &resolution, NULL)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "“%s” is not a target FIRST/RESOLUTION like 15m/4h (or none)", text);
		return FALSE;
	}
	*first_out = first * 60;
	*resolution_out = resolution * 60;
	return TRUE;
}

/* section's value of key, or [sla]'s when section leaves it empty. */
static const char *value(const DkConfig *config, const char *section, const char *key)
{
	const char *v = dk_config_get_string(config, section, key);
	return *v != '\0' || strcmp(section, "sla") == 0 ? v
	                                                 : dk_config_get_string(config, "sla", key);
}

static char **list(const DkConfig *config, const char *section, const char *key)
{
	char **v = dk_config_get_list(config, section, key);
	if (v[0] != NULL || strcmp(section, "sla") == 0)
		return v;
	g_strfreev(v);
	return dk_config_get_list(config, "sla", key);
}

/* The holidays of the list and of the file, if any. */
static char **holidays(const DkConfig *config, const char *section, GError **error)
{
	g_auto(GStrv) listed = list(config, section, "holidays");
	const char *file = value(config, section, "holidays_file");
	g_autoptr(GStrvBuilder) out = g_strv_builder_new();
	g_strv_builder_addv(out, (const char **)listed);
	if (*file != '\0') {
		g_autofree char *text = NULL;
		if (!g_file_get_contents(file, &text, NULL, error))
			return NULL;
		g_auto(GStrv) dates = dk_sla_holidays_parse(text, file, error);
		if (dates == NULL)
			return NULL;
		g_strv_builder_addv(out, (const char **)dates);
	}
	return g_strv_builder_end(out);
}

static gboolean rules_fill(const DkConfig *config, const char *section, Rules *r, GError **error)
{
	for (guint i = 0; i < DK_PRIORITY_COUNT; i++)
		if (!dk_sla_policy_parse_target(value(config, section, dk_priority_names[i]),
		                                &r->first[i], &r->resolution[i], error)) {
			g_prefix_error(error, "%s: ", dk_priority_names[i]);
			return FALSE;
		}
	g_autoptr(GError) local = NULL;
	g_auto(GStrv) days_off = holidays(config, section, &local);
	if (days_off == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "holidays: %s", local->message);
		return FALSE;
	}
	g_auto(GStrv) hours = list(config, section, "business_hours");
	r->calendar =
	    dk_sla_calendar_new((const char *const *)hours, value(config, section, "timezone"),
	                        (const char *const *)days_off, error);
	return r->calendar != NULL;
}

static gboolean rules_read(const DkConfig *config, const char *section, Rules *r, GError **error)
{
	if (rules_fill(config, section, r, error))
		return TRUE;
	g_prefix_error(error, "[%s] ", section);
	return FALSE;
}

DkSlaPolicy *dk_sla_policy_new(const DkConfig *config, GError **error)
{
	g_autoptr(DkSlaPolicy) p = g_new0(DkSlaPolicy, 1);
	p->queues =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)rules_free);
	p->team = dk_config_get_list(config, "notify", "team_addresses");
	if (!rules_read(config, "sla", &p->defaults, error))
		return NULL;
	g_auto(GStrv) queues = dk_config_get_instances(config, "queue");
	for (guint i = 0; queues[i] != NULL; i++) {
		g_autofree char *section = g_strconcat("queue:", queues[i], NULL);
		Rules *r = g_new0(Rules, 1);
		if (!rules_read(config, section, r, error)) {
			rules_free(r);
			return NULL;
		}
		g_hash_table_insert(p->queues, g_strdup(queues[i]), r);
	}
	return g_steal_pointer(&p);
}

DkSlaPolicy *dk_sla_policy_new_default(void)
{
	g_autoptr(DkConfig) config = dk_config_new_default();
	DkSlaPolicy *p = dk_sla_policy_new(config, NULL);
	g_assert(p != NULL); /* the defaults are valid */
	return p;
}

void dk_sla_policy_free(DkSlaPolicy *p)
{
	if (p == NULL)
		return;
	dk_sla_calendar_free(p->defaults.calendar);
	if (p->queues != NULL)
		g_hash_table_unref(p->queues);
	g_strfreev(p->team);
	g_free(p);
}

const char *const *dk_sla_policy_team(const DkSlaPolicy *p)
{
	return (const char *const *)p->team;
}

gboolean dk_sla_policy_targets(const DkSlaPolicy *p, const char *queue, const char *priority,
                               gint64 *first_out, gint64 *resolution_out,
                               const DkSlaCalendar **calendar_out)
{
	const Rules *r = queue ? g_hash_table_lookup(p->queues, queue) : NULL;
	if (r == NULL)
		r = &p->defaults;
	*first_out = *resolution_out = 0;
	*calendar_out = r->calendar;
	for (guint i = 0; priority != NULL && i < DK_PRIORITY_COUNT; i++) {
		if (strcmp(priority, dk_priority_names[i]) == 0) {
			*first_out = r->first[i];
			*resolution_out = r->resolution[i];
		}
	}
	return *first_out > 0 || *resolution_out > 0;
}
