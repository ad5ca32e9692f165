/* The writer thread: group commit for concurrent intakes. */
#include "gateway/error.h"
#include "gateway/core/writer.h"

typedef struct {
	DkPipelineItem **items;
	guint n;
	gboolean done;
	GError *error;
	GCond wake; /* its submitter: done */
} Request;

struct DkWriter {
	DkStore *store;
	guint max_batch;
	DkWriterObserver observer;
	GThread *thread;
	GMutex lock;
	GCond wake;   /* the writer: work arrived or stop */
	GQueue queue; /* of Request* */
	gboolean stopping;
	guint64 commits, messages;
};

/* Takes requests off the queue until max_batch items (at least one). */
static GPtrArray *take_batch(DkWriter *w, guint *items_out)
{
	GPtrArray *batch = g_ptr_array_new();
	guint items = 0;
	while (!g_queue_is_empty(&w->queue)) {
		Request *r = g_queue_peek_head(&w->queue);
		if (batch->len > 0 && items + r->n > w->max_batch)
			break;
		g_ptr_array_add(batch, g_queue_pop_head(&w->queue));
		items += r->n;
	}
	*items_out = items;
	return batch;
}

static void commit_batch(DkWriter *w, GPtrArray *batch, guint total)
{
	g_autofree DkPipelineItem **items = g_new(DkPipelineItem *, total);
	guint k = 0;
	for (guint i = 0; i < batch->len; i++) {
		Request *r = g_ptr_array_index(batch, i);
		for (guint j = 0; j < r->n; j++)
			items[k++] = r->items[j];
	}
	g_autoptr(GError) error = NULL;
	gint64 started = g_get_monotonic_time();
	gboolean ok = dk_writer_commit(w->store, items, total, &error);
	if (ok && w->observer != NULL)
		w->observer((double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC);
	/* Each submitter has a condition of its own: a batch wakes the threads
	 * it answers and no other (with one for all, twenty LMTP sessions
	 * woke at every commit to find, most of them, that theirs was not
	 * done, and a sixth of their time went to switching). */
	g_mutex_lock(&w->lock);
	for (guint i = 0; i < batch->len; i++) {
		Request *r = g_ptr_array_index(batch, i);
		r->error = ok ? NULL : g_error_copy(error);
		r->done = TRUE;
		g_cond_signal(&r->wake);
	}
	if (ok) {
		w->commits++;
		w->messages += total;
	}
	g_mutex_unlock(&w->lock);
}

static gpointer writer_main(gpointer data)
{
	DkWriter *w = data;
	g_mutex_lock(&w->lock);
	for (;;) {
		while (g_queue_is_empty(&w->queue) && !w->stopping)
			g_cond_wait(&w->wake, &w->lock);
		if (g_queue_is_empty(&w->queue) && w->stopping)
			break;
		guint total = 0;
		g_autoptr(GPtrArray) batch = take_batch(w, &total);
		g_mutex_unlock(&w->lock);
		commit_batch(w, batch, total);
		g_mutex_lock(&w->lock);
	}
	g_mutex_unlock(&w->lock);
	return NULL;
}

DkWriter *dk_writer_start(DkStore *store, guint max_batch, DkWriterObserver observer)
{
	DkWriter *w = g_new0(DkWriter, 1);
	w->store = store;
	w->observer = observer;
	w->max_batch = max_batch ? max_batch : 256;
	g_mutex_init(&w->lock);
	g_cond_init(&w->wake);
	g_queue_init(&w->queue);
	w->thread = g_thread_new("writer", writer_main, w);
	return w;
}

gboolean dk_writer_submit(DkWriter *w, DkPipelineItem **items, guint n, GError **error)
{
	Request r = {.items = items, .n = n};
	g_mutex_lock(&w->lock);
	if (w->stopping) {
		g_mutex_unlock(&w->lock);
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "shutting down");
		return FALSE;
	}
	g_cond_init(&r.wake);
	g_queue_push_tail(&w->queue, &r);
	g_cond_signal(&w->wake);
	while (!r.done)
		g_cond_wait(&r.wake, &w->lock);
	g_mutex_unlock(&w->lock);
	g_cond_clear(&r.wake);
	if (r.error != NULL) {
		g_propagate_error(error, r.error);
		return FALSE;
	}
	return TRUE;
}

void dk_writer_stop(DkWriter *w)
{
	if (w == NULL)
		return;
	g_mutex_lock(&w->lock);
	w->stopping = TRUE;
	g_cond_signal(&w->wake);
	g_mutex_unlock(&w->lock);
	g_thread_join(w->thread);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->wake);
	g_free(w);
}

void dk_writer_stats(DkWriter *w, guint64 *commits_out, guint64 *messages_out)
{
	g_mutex_lock(&w->lock);
	*commits_out = w->commits;
	*messages_out = w->messages;
	g_mutex_unlock(&w->lock);
}
