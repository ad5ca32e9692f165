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
	/* the search index (see dk_writer_start()); times are monotonic, in us */
	guint search_batch;
	gint64 search_idle, search_lag;
	gint64 search_since; /* when the oldest noted article was noted; 0: none */
	gint64 last_commit;
	gint64 search_backoff, search_not_before; /* after a failed catch-up */
	guint64 catch_ups, indexed;
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

/* Indexes the articles noted for search; called with the lock held,
 * which it lets go meanwhile. A failure (the disk full, the store busy
 * past its timeout) leaves them noted, to be tried again after the
 * longer of the lag and the idle time (a second at least), twice as long
 * after each failure in a row up to a minute; a search
 * indexes them itself in the meantime. */
static void search_catch_up(DkWriter *w)
{
	g_mutex_unlock(&w->lock);
	g_autoptr(GError) error = NULL;
	gint64 indexed = 0;
	gboolean ok = dk_store_search_catch_up(w->store, &indexed, &error);
	if (!ok)
		g_warning("writer event=search_index result=failed error=\"%s\"", error->message);
	g_mutex_lock(&w->lock);
	w->search_since = 0;
	if (!ok) {
		w->search_backoff = w->search_backoff == 0
		                        ? MAX(MAX(w->search_lag, w->search_idle), G_USEC_PER_SEC)
		                        : MIN(2 * w->search_backoff, 60 * G_USEC_PER_SEC);
		w->search_not_before = g_get_monotonic_time() + w->search_backoff;
		return;
	}
	w->search_backoff = w->search_not_before = 0;
	if (indexed > 0) {
		w->catch_ups++;
		w->indexed += (guint64)indexed;
	}
}

/* When the noted articles are to be indexed: once no message came for a
 * while, or the oldest was noted long enough ago (not before a failed
 * attempt's backoff is over); 0: none are noted. */
static gint64 search_due(DkWriter *w)
{
	if (dk_store_search_pending(w->store) <= 0)
		return 0;
	if (w->search_since == 0)
		w->search_since = g_get_monotonic_time();
	return MAX(MIN(w->last_commit + w->search_idle, w->search_since + w->search_lag),
	           w->search_not_before);
}

static gpointer writer_main(gpointer data)
{
	DkWriter *w = data;
	g_mutex_lock(&w->lock);
	if (w->search_batch > 0)
		search_catch_up(w); /* left noted by an earlier process */
	for (;;) {
		while (g_queue_is_empty(&w->queue) && !w->stopping) {
			gint64 due = search_due(w);
			if (due == 0)
				g_cond_wait(&w->wake, &w->lock);
			else if (!g_cond_wait_until(&w->wake, &w->lock, due) &&
			         g_queue_is_empty(&w->queue) && !w->stopping)
				search_catch_up(w);
		}
		if (g_queue_is_empty(&w->queue) && w->stopping)
			break;
		guint total = 0;
		g_autoptr(GPtrArray) batch = take_batch(w, &total);
		dk_store_search_lag(w->store, w->search_batch);
		g_mutex_unlock(&w->lock);
		commit_batch(w, batch, total);
		g_mutex_lock(&w->lock);
		w->last_commit = g_get_monotonic_time();
		/* Under steady mail the idle time never comes: the lag's deadline. */
		if (search_due(w) != 0 &&
		    w->last_commit >= MAX(w->search_since + w->search_lag, w->search_not_before))
			search_catch_up(w);
	}
	if (dk_store_search_pending(w->store) > 0)
		search_catch_up(w);
	g_mutex_unlock(&w->lock);
	return NULL;
}

DkWriter *dk_writer_start(DkStore *store, guint max_batch, DkWriterObserver observer)
{
	DkWriter *w = g_new0(DkWriter, 1);
	w->store = store;
	w->observer = observer;
	w->max_batch = max_batch ? max_batch : 256;
	w->search_batch = DK_WRITER_SEARCH_BATCH;
	w->search_idle = (gint64)DK_WRITER_SEARCH_IDLE_MS * 1000;
	w->search_lag = (gint64)DK_WRITER_SEARCH_LAG_MS * 1000;
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

void dk_writer_search_timing(DkWriter *w, guint batch, guint idle_ms, guint lag_ms)
{
	g_mutex_lock(&w->lock);
	w->search_batch = batch;
	w->search_idle = (gint64)idle_ms * 1000;
	w->search_lag = (gint64)lag_ms * 1000;
	g_cond_signal(&w->wake);
	g_mutex_unlock(&w->lock);
}

void dk_writer_search_stats(DkWriter *w, guint64 *catch_ups_out, guint64 *articles_out)
{
	g_mutex_lock(&w->lock);
	*catch_ups_out = w->catch_ups;
	*articles_out = w->indexed;
	g_mutex_unlock(&w->lock);
}
