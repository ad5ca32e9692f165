/* Counters behind /metrics. */
#include "gateway/ops/metrics.h"

#include <string.h>

static const char *const intakes[] = {"lmtp", "imap", "stdin", "import", "other"};
static const char *const counter_names[DK_METRIC_COUNT] = {
    [DK_METRIC_ACCEPTED] = "docket_messages_accepted_total",
    [DK_METRIC_REFUSED] = "docket_messages_refused_total",
    [DK_METRIC_TEMPFAILED] = "docket_messages_tempfailed_total",
    [DK_METRIC_QUARANTINED] = "docket_messages_quarantined_total",
};
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10};

static GMutex lock;
static guint64 counters[DK_METRIC_COUNT][G_N_ELEMENTS(intakes)];
static guint64 histogram[G_N_ELEMENTS(buckets) + 1];
static double commit_sum;
static GHashTable *imap_polls;                      /* account -> gint64* */
static gint64 outbox_failed = -1, outbox_held = -1; /* -1: not counted yet */
static GString *set_aside;                          /* the rendered gauges, NULL: not counted yet */

static gsize intake_index(const char *intake)
{
	for (gsize i = 0; intake != NULL && i + 1 < G_N_ELEMENTS(intakes); i++) {
		if (strcmp(intakes[i], intake) == 0)
			return i;
	}
	return G_N_ELEMENTS(intakes) - 1;
}

void dk_metrics_count(DkMetric counter, const char *intake)
{
	g_mutex_lock(&lock);
	counters[counter][intake_index(intake)]++;
	g_mutex_unlock(&lock);
}

void dk_metrics_observe_commit(double seconds)
{
	gsize b = 0;
	while (b < G_N_ELEMENTS(buckets) && seconds > buckets[b])
		b++;
	g_mutex_lock(&lock);
	histogram[b]++;
	commit_sum += seconds;
	g_mutex_unlock(&lock);
}

void dk_metrics_imap_polled(const char *account, gint64 now)
{
	g_mutex_lock(&lock);
	if (imap_polls == NULL)
		imap_polls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_insert(imap_polls, g_strdup(account), g_memdup2(&now, sizeof now));
	g_mutex_unlock(&lock);
}

void dk_metrics_outbox_settled(gint64 failed, gint64 held)
{
	g_mutex_lock(&lock);
	outbox_failed = failed;
	outbox_held = held;
	g_mutex_unlock(&lock);
}

void dk_metrics_set_aside(GHashTable *counts)
{
	g_autoptr(GList) kinds = g_list_sort(g_hash_table_get_keys(counts), (GCompareFunc)strcmp);
	GString *text =
	    g_string_new("# HELP docket_set_aside_messages Messages kept without becoming "
	                 "an article (docket quarantine list), per reason.\n"
	                 "# TYPE docket_set_aside_messages gauge\n");
	for (GList *k = kinds; k != NULL; k = k->next)
		g_string_append_printf(
		    text, "docket_set_aside_messages{reason=\"%s\"} %" G_GSIZE_FORMAT "\n",
		    (const char *)k->data, GPOINTER_TO_SIZE(g_hash_table_lookup(counts, k->data)));
	g_mutex_lock(&lock);
	if (set_aside != NULL)
		g_string_free(set_aside, TRUE);
	set_aside = text;
	g_mutex_unlock(&lock);
}

static void render_outbox_rows(GString *out)
{
	if (outbox_failed < 0)
		return;
	g_string_append_printf(out,
	                       "# TYPE docket_outbox_rows gauge\n"
	                       "docket_outbox_rows{state=\"failed\"} %" G_GINT64_FORMAT "\n"
	                       "docket_outbox_rows{state=\"held\"} %" G_GINT64_FORMAT "\n",
	                       outbox_failed, outbox_held);
}

static void render_counters(GString *out)
{
	for (gsize c = 0; c < DK_METRIC_COUNT; c++) {
		g_string_append_printf(out, "# TYPE %s counter\n", counter_names[c]);
		for (gsize i = 0; i < G_N_ELEMENTS(intakes); i++)
			g_string_append_printf(out, "%s{intake=\"%s\"} %" G_GUINT64_FORMAT "\n",
			                       counter_names[c], intakes[i], counters[c][i]);
	}
}

static void render_histogram(GString *out)
{
	guint64 cumulative = 0;
	g_string_append(out, "# TYPE docket_commit_seconds histogram\n");
	for (gsize b = 0; b < G_N_ELEMENTS(buckets); b++) {
		cumulative += histogram[b];
		g_string_append_printf(
		    out, "docket_commit_seconds_bucket{le=\"%g\"} %" G_GUINT64_FORMAT "\n",
		    buckets[b], cumulative);
	}
	cumulative += histogram[G_N_ELEMENTS(buckets)];
	g_string_append_printf(
	    out, "docket_commit_seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", cumulative);
	g_string_append_printf(out, "docket_commit_seconds_sum %.6f\n", commit_sum);
	g_string_append_printf(out, "docket_commit_seconds_count %" G_GUINT64_FORMAT "\n",
	                       cumulative);
}

void dk_metrics_render(GString *out, gint64 outbox_depth, gint64 outbox_oldest_age)
{
	g_mutex_lock(&lock);
	render_counters(out);
	render_histogram(out);
	render_outbox_rows(out);
	if (set_aside != NULL)
		g_string_append_len(out, set_aside->str, (gssize)set_aside->len);
	g_string_append(out, "# TYPE docket_imap_last_poll_timestamp_seconds gauge\n");
	if (imap_polls != NULL) {
		GHashTableIter it;
		gpointer key, value;
		g_hash_table_iter_init(&it, imap_polls);
		while (g_hash_table_iter_next(&it, &key, &value))
			g_string_append_printf(out,
			                       "docket_imap_last_poll_timestamp_seconds{account=\"%"
			                       "s\"} %" G_GINT64_FORMAT "\n",
			                       (const char *)key, *(gint64 *)value);
	}
	g_mutex_unlock(&lock);
	if (outbox_depth >= 0) {
		g_string_append_printf(
		    out,
		    "# TYPE docket_outbox_depth gauge\ndocket_outbox_depth %" G_GINT64_FORMAT "\n",
		    outbox_depth);
		g_string_append_printf(out,
		                       "# TYPE docket_outbox_oldest_age_seconds gauge\n"
		                       "docket_outbox_oldest_age_seconds %" G_GINT64_FORMAT "\n",
		                       MAX(outbox_oldest_age, 0));
	}
}

void dk_metrics_reset(void)
{
	g_mutex_lock(&lock);
	memset(counters, 0, sizeof counters);
	memset(histogram, 0, sizeof histogram);
	commit_sum = 0;
	g_clear_pointer(&imap_polls, g_hash_table_unref);
	if (set_aside != NULL)
		g_string_free(set_aside, TRUE);
	set_aside = NULL;
	g_mutex_unlock(&lock);
}
