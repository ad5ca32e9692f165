/* Retention of raw mail: the policy by queue, the purge in batches and
 * the removal of the files it frees (the export is in export.c). */
#include "gateway/desk/retention.h"

#include "gateway/error.h"
#include "gateway/store/store-retention.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

struct DkRetention {
	gint64 days;        /* [store] keep_raw_days */
	GHashTable *queues; /* queue -> its own days (a gint64 in a pointer) */
};

DkRetention *dk_retention_new(const DkConfig *config)
{
	DkRetention *r = g_new0(DkRetention, 1);
	r->days = dk_config_get_int(config, "store", "keep_raw_days");
	r->queues = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_auto(GStrv) queues = dk_config_get_instances(config, "queue");
	for (guint i = 0; queues[i] != NULL; i++) {
		g_autofree char *section = g_strconcat("queue:", queues[i], NULL);
		gint64 days = dk_config_get_int(config, section, "keep_raw_days");
		if (days >= 0)
			g_hash_table_insert(r->queues, g_strdup(queues[i]), GINT_TO_POINTER(days));
	}
	return r;
}

void dk_retention_free(DkRetention *r)
{
	if (r == NULL)
		return;
	g_hash_table_unref(r->queues);
	g_free(r);
}

gint64 dk_retention_days(const DkRetention *r, const char *queue)
{
	gpointer days = NULL;
	if (queue != NULL && g_hash_table_lookup_extended(r->queues, queue, NULL, &days))
		return GPOINTER_TO_INT(days);
	return r->days;
}

/* The shortest period of any queue (0: none keeps less than forever). */
static gint64 shortest_days(const DkRetention *r)
{
	gint64 shortest = r->days;
	GHashTableIter it;
	gpointer days = NULL;
	g_hash_table_iter_init(&it, r->queues);
	while (g_hash_table_iter_next(&it, NULL, &days)) {
		gint64 d = GPOINTER_TO_INT(days);
		if (d > 0 && (shortest == 0 || d < shortest))
			shortest = d;
	}
	return shortest;
}

/* One purge under way. */
typedef struct {
	DkStore *store;
	const DkRetention *r;
	const DkPurgeOptions *o;
	DkPurgeStats *stats;
	GHashTable *seen;    /* "r:SHA"/"a:SHA" looked at in this purge */
	GHashTable *touched; /* ticket -> Lost, in this batch */
	GHashTable *tickets; /* every ticket that lost raw mail in this purge */
	guint batch;         /* tickets (and files) per transaction */
	GHashTable *dirs;    /* the folders of unlinked */
	GPtrArray *unlinked; /* of DkPurgedFile*: files removed, their folders not yet synced */
	GPtrArray *synced;   /* files removed and synced, to record as removed */
} Purge;

static void purge_clear(Purge *p)
{
	g_hash_table_unref(p->seen);
	g_hash_table_unref(p->touched);
	g_hash_table_unref(p->tickets);
	g_hash_table_unref(p->dirs);
	g_ptr_array_unref(p->unlinked);
	g_ptr_array_unref(p->synced);
}

/* What one ticket lost in a batch. */
typedef struct {
	gint64 raw_messages, attachments;
} Lost;

/* Whether ticket t's raw mail is due to go. */
static gboolean due(const Purge *p, const DkRetentionTicket *t)
{
	gint64 days = dk_retention_days(p->r, t->queue);
	return days > 0 && t->closed_at > 0 && !t->outbox_pending &&
	       t->closed_at <= p->o->now - days * 86400;
}

/* Whether every holder of a content is due. */
static gboolean all_due(const Purge *p, GPtrArray *holders)
{
	for (guint i = 0; i < holders->len; i++)
		if (!due(p, g_ptr_array_index(holders, i)))
			return FALSE;
	return TRUE;
}

/* Counts a content's loss on each of its holders. */
static void count_loss(Purge *p, GPtrArray *holders, gboolean attachment)
{
	for (guint i = 0; i < holders->len; i++) {
		const DkRetentionTicket *t = g_ptr_array_index(holders, i);
		Lost *lost = g_hash_table_lookup(p->touched, &t->number);
		if (lost == NULL) {
			lost = g_new0(Lost, 1);
			g_hash_table_insert(p->touched, g_memdup2(&t->number, sizeof t->number),
			                    lost);
		}
		if (!g_hash_table_contains(p->tickets, &t->number)) {
			g_hash_table_add(p->tickets, g_memdup2(&t->number, sizeof t->number));
			p->stats->tickets++;
		}
		if (attachment)
			lost->attachments++;
		else
			lost->raw_messages++;
	}
}

/* Purges content c (a raw message, or an attachment's) unless something
 * that is not due still needs it. */
static gboolean purge_content(Purge *p, gboolean attachment, const DkRetainedContent *c,
                              GError **error)
{
	g_autofree char *key = g_strconcat(attachment ? "a:" : "r:", c->sha256, NULL);
	if (g_hash_table_contains(p->seen, key))
		return TRUE;
	g_hash_table_add(p->seen, g_steal_pointer(&key));
	gboolean needed = FALSE;
	g_autoptr(GPtrArray) holders =
	    dk_store_content_holders(p->store, attachment, c->sha256, error);
	if (holders == NULL ||
	    (!attachment && !dk_store_raw_needed(p->store, c->sha256, &needed, error)))
		return FALSE;
	if (needed || !all_due(p, holders)) {
		p->stats->kept++;
		return TRUE;
	}
	count_loss(p, holders, attachment);
	if (attachment)
		p->stats->attachments++;
	else
		p->stats->raw_messages++;
	p->stats->bytes += c->size;
	if (p->o->dry_run && c->file)
		p->stats->files++;
	return dk_store_content_purge(p->store, attachment, c->sha256, p->o->now, error);
}

/* Purges what ticket number holds, when it is due. */
static gboolean purge_ticket(Purge *p, gint64 number, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(DkRetentionTicket) t = dk_store_retention_ticket(p->store, number, &local);
	if (t == NULL) {
		if (g_error_matches(local, DK_ERROR, DK_ERROR_NOT_FOUND))
			return TRUE; /* gone since the page was read */
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (!due(p, t))
		return TRUE;
	g_autoptr(GPtrArray) raws = dk_store_ticket_raws(p->store, number, error);
	g_autoptr(GPtrArray) contents =
	    raws ? dk_store_ticket_contents(p->store, number, error) : NULL;
	if (contents == NULL)
		return FALSE;
	for (guint i = 0; i < raws->len; i++)
		if (!purge_content(p, FALSE, g_ptr_array_index(raws, i), error))
			return FALSE;
	for (guint i = 0; i < contents->len; i++)
		if (!purge_content(p, TRUE, g_ptr_array_index(contents, i), error))
			return FALSE;
	return TRUE;
}

/* A "raw_purged" event on each ticket that lost raw mail in the batch. */
static gboolean record_events(Purge *p, GError **error)
{
	GHashTableIter it;
	gpointer key = NULL, value = NULL;
	g_hash_table_iter_init(&it, p->touched);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		const Lost *lost = value;
		g_autofree char *detail = g_strdup_printf("{\"raw_messages\":%" G_GINT64_FORMAT
		                                          ",\"attachments\":%" G_GINT64_FORMAT "}",
		                                          lost->raw_messages, lost->attachments);
		if (!p->o->dry_run && !dk_store_event_add(p->store, *(gint64 *)key, 0, "raw_purged",
		                                          detail, p->o->now, error))
			return FALSE;
	}
	return TRUE;
}

/* Notes how long a write transaction begun at start held the lock. */
static void held(Purge *p, gint64 start)
{
	gint64 took = g_get_monotonic_time() - start;
	p->stats->longest_us = MAX(p->stats->longest_us, took);
	/* The writers' turn. One that found the lock taken sleeps in SQLite's
	 * busy handler, up to 100 ms between tries: a pause at least that
	 * long lets it in before the next transaction. */
	g_usleep((gulong)(p->o->pause_us > 0 ? p->o->pause_us : MAX(took, DK_RETENTION_PAUSE_US)));
}

/* Removes f's file if its content is still purged (under the write
 * lock, so that no writer stores the same bytes meanwhile); FALSE when
 * the file cannot be removed. *removed_out whether it was. */
static gboolean remove_file(Purge *p, const DkPurgedFile *f, gboolean *removed_out, GError **error)
{
	if (!dk_store_purged_file_check(p->store, f, removed_out, error))
		return FALSE;
	if (!*removed_out)
		return TRUE;
	if (g_unlink(f->path) == 0 || errno == ENOENT) {
		g_hash_table_add(p->dirs, g_path_get_dirname(f->path));
		return TRUE;
	}
	g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "retention: removing %s: %s", f->path,
	            g_strerror(errno));
	return FALSE;
}

/* Inside a write transaction: records the removals made durable since
 * the last one, then removes up to the batch's number of files of purged
 * contents (whose purge committed before); *looked_out how many it found. */
static gboolean remove_files(Purge *p, guint *looked_out, GError **error)
{
	for (guint i = 0; i < p->synced->len; i++)
		if (!dk_store_purged_file_done(p->store, g_ptr_array_index(p->synced, i), error))
			return FALSE;
	p->stats->files += p->synced->len;
	g_ptr_array_set_size(p->synced, 0);
	g_autoptr(GPtrArray) files = dk_store_purged_files(p->store, p->batch, error);
	if (files == NULL)
		return FALSE;
	*looked_out = files->len;
	for (guint i = 0; i < files->len; i++) {
		gboolean removed = FALSE;
		if (!remove_file(p, g_ptr_array_index(files, i), &removed, error))
			return FALSE;
		if (removed)
			g_ptr_array_add(p->unlinked, g_steal_pointer(&files->pdata[i]));
	}
	return TRUE;
}

/* After the commit, without the lock: makes the removals durable (an
 * fsync of their folders), to be recorded by the next transaction. A
 * crash before that leaves them recorded as still to remove: the next
 * purge removes them (again) and records it. */
static gboolean sync_removed(Purge *p, GError **error)
{
	GHashTableIter it;
	gpointer dir = NULL;
	g_hash_table_iter_init(&it, p->dirs);
	while (g_hash_table_iter_next(&it, &dir, NULL)) {
		int fd = g_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 || fsync(fd) != 0) {
			int saved = errno;
			if (fd >= 0)
				close(fd);
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
			            "retention: syncing %s: %s", (char *)dir, g_strerror(saved));
			return FALSE;
		}
		close(fd);
	}
	g_hash_table_remove_all(p->dirs);
	for (guint i = 0; i < p->unlinked->len; i++)
		g_ptr_array_add(p->synced, g_steal_pointer(&p->unlinked->pdata[i]));
	g_ptr_array_set_size(p->unlinked, 0);
	return TRUE;
}

/* One batch in one write transaction (rolled back in a dry run): the
 * files of what earlier batches purged, then the tickets of page. */
static gboolean purge_batch(Purge *p, GPtrArray *page, GError **error)
{
	g_hash_table_remove_all(p->touched);
	if (!dk_store_begin(p->store, error))
		return FALSE;
	gint64 start = g_get_monotonic_time();
	guint looked = 0;
	gboolean ok = p->o->dry_run || remove_files(p, &looked, error);
	for (guint i = 0; ok && i < page->len; i++)
		ok = purge_ticket(p, ((DkRetentionTicket *)g_ptr_array_index(page, i))->number,
		                  error);
	if (!ok || !record_events(p, error) || p->o->dry_run) {
		dk_store_rollback(p->store);
		return ok && p->o->dry_run;
	}
	if (!dk_store_commit(p->store, error))
		return FALSE;
	held(p, start);
	if (g_hash_table_size(p->touched) > 0)
		p->stats->batches++;
	return sync_removed(p, error);
}

/* Removes every file of purged contents still there, a transaction for
 * each batch of them. */
static gboolean drain(Purge *p, GError **error)
{
	for (guint looked = p->batch; looked == p->batch || p->synced->len > 0;) {
		if (!dk_store_begin(p->store, error))
			return FALSE;
		gint64 start = g_get_monotonic_time();
		if (!remove_files(p, &looked, error)) {
			dk_store_rollback(p->store);
			return FALSE;
		}
		if (!dk_store_commit(p->store, error))
			return FALSE;
		held(p, start);
		if (!sync_removed(p, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean cancelled(const DkPurgeOptions *o)
{
	return o->cancel != NULL && g_atomic_int_get(o->cancel) != 0;
}

/* The batches, from the oldest closed ticket on, then the files left. */
static gboolean purge_batches(Purge *p, gint64 before, GError **error)
{
	gint64 after_at = 0, after_number = 0;
	for (guint n = 0; !cancelled(p->o); n++) {
		if (p->o->max_batches != 0 && n >= p->o->max_batches)
			break;
		g_autoptr(GPtrArray) page = dk_store_retention_candidates(
		    p->store, before, after_at, after_number, p->batch, error);
		if (page == NULL)
			return FALSE;
		if (page->len == 0)
			break;
		const DkRetentionTicket *last = g_ptr_array_index(page, page->len - 1);
		after_at = last->closed_at;
		after_number = last->number;
		if (!purge_batch(p, page, error))
			return FALSE;
		if (p->o->after_commit != NULL && !p->o->after_commit(p->o->data))
			return TRUE;
	}
	return p->o->dry_run || drain(p, error);
}

gboolean dk_retention_purge(DkStore *store, const DkRetention *r, const DkPurgeOptions *o,
                            DkPurgeStats *stats, GError **error)
{
	Purge p = {
	    .store = store,
	    .r = r,
	    .o = o,
	    .stats = stats,
	    .batch = o->batch > 0 ? o->batch : DK_RETENTION_BATCH,
	    .seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
	    .touched = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free),
	    .tickets = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL),
	    .dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
	    .unlinked = g_ptr_array_new_with_free_func(dk_purged_file_free),
	    .synced = g_ptr_array_new_with_free_func(dk_purged_file_free),
	};
	gint64 days = shortest_days(r);
	gboolean ok = (o->dry_run || drain(&p, error)) &&
	              (days == 0 || purge_batches(&p, o->now - days * 86400, error));
	purge_clear(&p);
	return ok;
}
