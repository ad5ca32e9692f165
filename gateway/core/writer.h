/* The writer: the one place that writes messages into the store.
 *
 * dk_writer_commit() takes a batch of prepared messages, threads and stores
 * each inside one transaction, and commits once. One bad message does not
 * sink the others: a refusal comes before the message's first write, and a
 * message that fails after writing makes the batch start over with each
 * message in a savepoint of its own.
 *
 * A DkWriter runs that on its own thread for a long-running process: any
 * number of intake threads submit their messages and block until the
 * transaction that holds them has committed. Whatever is queued while a
 * commit is in progress goes into the next transaction together, so one
 * fsync serves many messages (group commit). */
#pragma once

#include "gateway/core/pipeline.h"

G_BEGIN_DECLS

typedef struct DkWriter DkWriter;

/* Stores items in one transaction on the calling thread. See
 * dk_pipeline_commit() for the meaning of the result. */
gboolean dk_writer_commit(DkStore *store, DkPipelineItem **items, guint n, GError **error);

/* Called by the writer thread after each transaction it committed, with
 * the seconds the transaction took (for the commit-latency histogram). */
typedef void (*DkWriterObserver)(double seconds);

/* Starts the writer thread. From now on store belongs to it: nobody else
 * may use that connection until dk_writer_stop() returns. max_batch caps
 * the messages of one transaction (0: 256); observer (may be NULL) hears
 * of every commit.
 *
 * The thread's search index lags its commits (dk_store_search_lag()): the
 * commit that brings DK_WRITER_SEARCH_BATCH noted articles indexes them
 * all, and so does a transaction of their own when no message came for
 * DK_WRITER_SEARCH_IDLE_MS, DK_WRITER_SEARCH_LAG_MS after the first was
 * noted at the latest, at the thread's start (what a process that ended
 * abruptly left noted) and at its stop. A search indexes whatever is
 * still noted first, so this decides where the work is done, not what is
 * found. */
DkWriter *dk_writer_start(DkStore *store, guint max_batch, DkWriterObserver observer);

enum {
	DK_WRITER_SEARCH_BATCH = 64,
	DK_WRITER_SEARCH_IDLE_MS = 50,
	DK_WRITER_SEARCH_LAG_MS = 1000,
};

/* Changes the three figures above (0: index at each commit, no lag). */
void dk_writer_search_timing(DkWriter *writer, guint batch, guint idle_ms, guint lag_ms);

/* Queues items and waits until they are committed; same result as
 * dk_writer_commit(). Safe from any thread. After dk_writer_stop() began,
 * fails with a temporary error. */
gboolean dk_writer_submit(DkWriter *writer, DkPipelineItem **items, guint n, GError **error);

/* Commits what is queued, then ends the thread and frees the writer. */
void dk_writer_stop(DkWriter *writer);

/* Statistics since start: transactions and messages committed. */
void dk_writer_stats(DkWriter *writer, guint64 *commits_out, guint64 *messages_out);
/* How many times the thread indexed noted articles (one or more) in a
 * transaction of their own, and how many. */
void dk_writer_search_stats(DkWriter *writer, guint64 *catch_ups_out, guint64 *articles_out);

G_END_DECLS
