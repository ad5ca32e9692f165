/* The IMAP pollers of several accounts, one thread each, started and
 * stopped together. */
#include "gateway/intake/imap-poller.h"

struct DkImapPollerSet {
	GPtrArray *pollers; /* of DkImapPoller* */
	GPtrArray *threads; /* of GThread*, once started */
	GCancellable *cancellable;
};

typedef struct {
	DkImapPoller *poller;
	GCancellable *cancellable;
} Job;

DkImapPollerSet *dk_imap_poller_set_new(const DkConfig *config, const char *const *accounts,
					DkPipeline *pipeline, GError **error)
{
	g_auto(GStrv) all = accounts == NULL ? dk_config_get_instances(config, "imap") : NULL;
	g_autoptr(DkImapPollerSet) set = g_new0(DkImapPollerSet, 1);
	set->pollers = g_ptr_array_new_with_free_func((GDestroyNotify)dk_imap_poller_free);
	set->threads = g_ptr_array_new();
	set->cancellable = g_cancellable_new();
	for (const char *const *a = accounts ? accounts : (const char *const *)all; *a != NULL; a++) {
		DkImapPoller *poller = dk_imap_poller_new(config, *a, pipeline, error);
		if (poller == NULL)
			return NULL;
		g_ptr_array_add(set->pollers, poller);
	}
	return g_steal_pointer(&set);
}

guint dk_imap_poller_set_size(DkImapPollerSet *set)
{
	return set->pollers->len;
}

DkImapPoller *dk_imap_poller_set_get(DkImapPollerSet *set, guint i)
{
	g_return_val_if_fail(i < set->pollers->len, NULL);
	return g_ptr_array_index(set->pollers, i);
}

static gpointer run_job(gpointer data)
{
	g_autofree Job *job = data;
	dk_imap_poller_run(job->poller, job->cancellable);
	return NULL;
}

void dk_imap_poller_set_start(DkImapPollerSet *set)
{
	g_return_if_fail(set->threads->len == 0);
	for (guint i = 0; i < set->pollers->len; i++) {
		Job *job = g_new0(Job, 1);
		job->poller = g_ptr_array_index(set->pollers, i);
		job->cancellable = set->cancellable;
		g_ptr_array_add(set->threads, g_thread_new("imap", run_job, job));
	}
}

void dk_imap_poller_set_stop(DkImapPollerSet *set)
{
	g_cancellable_cancel(set->cancellable);
	for (guint i = 0; i < set->threads->len; i++)
		g_thread_join(g_ptr_array_index(set->threads, i));
	g_ptr_array_set_size(set->threads, 0);
}

void dk_imap_poller_set_free(DkImapPollerSet *set)
{
	if (set == NULL)
		return;
	dk_imap_poller_set_stop(set);
	g_ptr_array_unref(set->threads);
	g_ptr_array_unref(set->pollers);
	g_object_unref(set->cancellable);
	g_free(set);
}
