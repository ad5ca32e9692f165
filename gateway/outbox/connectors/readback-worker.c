/* The way back inside `docket serve`: one thread, its own store
 * connection, a pass for each connector every poll_seconds (read at start;
 * a reload does not change them), stopped between passes. */
#define G_LOG_DOMAIN "connector"
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"

#include <curl/curl.h>

struct DkReadBackWorker {
	const DkConfig *config; /* borrowed: serve keeps every configuration */
	GThread *thread;
	GMutex lock;
	GCond wake;
	gboolean stopping;
	char **names;      /* connectors with poll_seconds set */
	gint64 *intervals; /* their poll_seconds */
	gint64 *due;       /* monotonic seconds of their next pass */
};

/* One pass for each connector that is due; the soonest next due time. */
static gint64 passes(DkReadBackWorker *w, DkConnectors *set, DkStore *store)
{
	gint64 now = g_get_monotonic_time() / G_USEC_PER_SEC, next = G_MAXINT64;
	for (guint i = 0; w->names[i] != NULL; i++) {
		if (w->due[i] <= now) {
			DkReadBackStats stats = {0};
			g_autoptr(GError) error = NULL;
			gint64 real = g_get_real_time() / G_USEC_PER_SEC;
			if (!dk_connectors_read_back(set, w->config, store, w->names[i], real,
			                             &stats, &error))
				g_warning("connector %s event=read_back result=failed error=\"%s\"",
				          w->names[i], error->message);
			else if (stats.comments + stats.statuses + stats.failed > 0)
				g_message("connector %s event=read_back tickets=%u replies=%u "
				          "statuses=%u "
				          "skipped=%u failed=%u",
				          w->names[i], stats.tickets, stats.comments,
				          stats.statuses, stats.skipped, stats.failed);
			w->due[i] = now + w->intervals[i];
		}
		next = MIN(next, w->due[i]);
	}
	return next;
}

static gpointer worker_main(gpointer data)
{
	DkReadBackWorker *w = data;
	g_autoptr(GError) error = NULL;
	DkStore *store = dk_store_open_config(w->config, &error);
	if (store == NULL) {
		g_warning("connector event=read_back result=failed error=\"%s\"", error->message);
		return NULL;
	}
	DkConnectors *set = dk_connectors_new(w->config, NULL);
	g_mutex_lock(&w->lock);
	while (!w->stopping) {
		g_mutex_unlock(&w->lock);
		gint64 next = passes(w, set, store);
		g_mutex_lock(&w->lock);
		gint64 wait = next - g_get_monotonic_time() / G_USEC_PER_SEC;
		if (!w->stopping && wait > 0)
			g_cond_wait_until(&w->wake, &w->lock,
			                  g_get_monotonic_time() + wait * G_USEC_PER_SEC);
	}
	g_mutex_unlock(&w->lock);
	dk_connectors_free(set);
	dk_store_close(store);
	return NULL;
}

DkReadBackWorker *dk_read_back_start(const DkConfig *config)
{
	g_auto(GStrv) all = dk_config_get_instances(config, "connector");
	GPtrArray *names = g_ptr_array_new();
	GArray *intervals = g_array_new(FALSE, FALSE, sizeof(gint64));
	for (guint i = 0; all[i] != NULL; i++) {
		g_autofree char *section = g_strconcat("connector:", all[i], NULL);
		gint64 seconds = dk_config_get_int(config, section, "poll_seconds");
		if (seconds <= 0)
			continue;
		g_ptr_array_add(names, g_strdup(all[i]));
		g_array_append_val(intervals, seconds);
	}
	g_ptr_array_add(names, NULL);
	DkReadBackWorker *w = g_new0(DkReadBackWorker, 1);
	w->config = config;
	w->names = (char **)g_ptr_array_free(names, FALSE);
	w->intervals = (gint64 *)(void *)g_array_free(intervals, FALSE);
	w->due = g_new0(gint64, g_strv_length(w->names) + 1);
	g_mutex_init(&w->lock);
	g_cond_init(&w->wake);
	if (w->names[0] != NULL)
		w->thread = g_thread_new("read-back", worker_main, w);
	return w;
}

void dk_read_back_stop(DkReadBackWorker *w)
{
	if (w == NULL)
		return;
	g_mutex_lock(&w->lock);
	w->stopping = TRUE;
	g_cond_signal(&w->wake);
	g_mutex_unlock(&w->lock);
	if (w->thread != NULL)
		g_thread_join(w->thread);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->wake);
	g_strfreev(w->names);
	g_free(w->intervals);
	g_free(w->due);
	g_free(w);
}
