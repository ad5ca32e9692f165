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
} Purge;

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
	p->stats->longest_us = MAX(p->stats->longest_us, g_get_monotonic_time() - start);
}

/* One batch: the tickets of page, in one transaction (rolled back in a
 * dry run). */
static gboolean purge_batch(Purge *p, GPtrArray *page, GError **error)
{
	g_hash_table_remove_all(p->touched);
	if (!dk_store_begin(p->store, error))
		return FALSE;
	gint64 start = g_get_monotonic_time();
	for (guint i = 0; i < page->len; i++) {
		const DkRetentionTicket *t = g_ptr_array_index(page, i);
		if (!purge_ticket(p, t->number, error)) {
			dk_store_rollback(p->store);
			return FALSE;
		}
	}
	if (!record_events(p, error)) {
		dk_store_rollback(p->store);
		return FALSE;
	}
	if (p->o->dry_run) {
		dk_store_rollback(p->store);
		return TRUE;
	}
	if (!dk_store_commit(p->store, error))
		return FALSE;
	held(p, start);
	if (g_hash_table_size(p->touched) > 0)
		p->stats->batches++;
	return TRUE;
}

/* Removes f's file if its content is still purged (under the write
 * lock, so that no writer stores the same bytes meanwhile); keeps f in
 * removed and its folder in dirs. */
static gboolean remove_file(Purge *p, DkPurgedFile *f, GPtrArray *removed, GHashTable *dirs,
                            GError **error)
{
	gboolean purged = FALSE;
	if (!dk_store_purged_file_check(p->store, f, &purged, error))
		return FALSE;
	if (!purged)
		return TRUE;
	if (g_unlink(f->path) != 0 && errno != ENOENT) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "retention: removing %s: %s",
		            f->path, g_strerror(errno));
		return FALSE;
	}
	g_hash_table_add(dirs, g_path_get_dirname(f->path));
	g_ptr_array_add(removed, f);
	return TRUE;
}

/* Makes the removals in dirs durable. */
static gboolean sync_dirs(GHashTable *dirs, GError **error)
{
	GHashTableIter it;
	gpointer dir = NULL;
	g_hash_table_iter_init(&it, dirs);
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
	return TRUE;
}

/* The files of files whose content is still purged, removed in one short
 * transaction, into removed. */
static gboolean unlink_some(Purge *p, GPtrArray *files, GPtrArray *removed, GHashTable *dirs,
                            GError **error)
{
	if (!dk_store_begin(p->store, error))
		return FALSE;
	gint64 start = g_get_monotonic_time();
	for (guint i = 0; i < files->len; i++)
		if (!remove_file(p, g_ptr_array_index(files, i), removed, dirs, error)) {
			dk_store_rollback(p->store);
			return FALSE;
		}
	if (!dk_store_commit(p->store, error))
		return FALSE;
	held(p, start);
	return TRUE;
}

/* Records the removals (of the same purge: a content stored again and
 * purged anew since keeps its file). */
static gboolean record_removed(Purge *p, GPtrArray *removed, GError **error)
{
	if (!dk_store_begin(p->store, error))
		return FALSE;
	gint64 start = g_get_monotonic_time();
	for (guint i = 0; i < removed->len; i++)
		if (!dk_store_purged_file_done(p->store, g_ptr_array_index(removed, i), error)) {
			dk_store_rollback(p->store);
			return FALSE;
		}
	if (!dk_store_commit(p->store, error))
		return FALSE;
	held(p, start);
	p->stats->files += removed->len;
	return TRUE;
}

/* Removes up to limit files of purged contents: unlinked under the write
 * lock, made durable (fsync of their folders) without it, then recorded
 * under it. A crash in between leaves them recorded as still to remove:
 * the next purge removes them (again) and records it. *count_out: how
 * many it looked at. */
static gboolean remove_some(Purge *p, guint limit, guint *count_out, GError **error)
{
	g_autoptr(GPtrArray) files = dk_store_purged_files(p->store, limit, error);
	if (files == NULL)
		return FALSE;
	*count_out = files->len;
	if (files->len == 0)
		return TRUE;
	g_autoptr(GPtrArray) removed = g_ptr_array_new();
	g_autoptr(GHashTable) dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return unlink_some(p, files, removed, dirs, error) && sync_dirs(dirs, error) &&
	       record_removed(p, removed, error);
}

/* Removes the files of every purged content, a batch at a time. */
static gboolean remove_files(Purge *p, guint limit, GError **error)
{
	guint count = limit;
	while (count == limit)
		if (!remove_some(p, limit, &count, error))
			return FALSE;
	return TRUE;
}

static gboolean cancelled(const DkPurgeOptions *o)
{
	return o->cancel != NULL && g_atomic_int_get(o->cancel) != 0;
}

/* The batches, from the oldest closed ticket on. */
static gboolean purge_batches(Purge *p, guint batch, gint64 before, GError **error)
{
	gint64 after_at = 0, after_number = 0;
	for (guint n = 0; !cancelled(p->o); n++) {
		if (p->o->max_batches != 0 && n >= p->o->max_batches)
			return TRUE;
		g_autoptr(GPtrArray) page = dk_store_retention_candidates(
		    p->store, before, after_at, after_number, batch, error);
		if (page == NULL)
			return FALSE;
		if (page->len == 0)
			return TRUE;
		const DkRetentionTicket *last = g_ptr_array_index(page, page->len - 1);
		after_at = last->closed_at;
		after_number = last->number;
		gint64 start = g_get_monotonic_time();
		if (!purge_batch(p, page, error))
			return FALSE;
		gint64 took = g_get_monotonic_time() - start;
		if (p->o->after_commit != NULL && !p->o->after_commit(p->o->data))
			return TRUE;
		if (!p->o->dry_run && !remove_files(p, batch, error))
			return FALSE;
		/* The writer's turn: it waits for the lock in a busy handler. */
		g_usleep((gulong)(p->o->pause_us > 0 ? p->o->pause_us : MAX(took, 1000)));
	}
	return TRUE;
}

gboolean dk_retention_purge(DkStore *store, const DkRetention *r, const DkPurgeOptions *o,
                            DkPurgeStats *stats, GError **error)
{
	guint batch = o->batch > 0 ? o->batch : DK_RETENTION_BATCH;
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) touched =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	g_autoptr(GHashTable) tickets =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	Purge p = {store, r, o, stats, seen, touched, tickets};
	if (!o->dry_run && !remove_files(&p, batch, error))
		return FALSE;
	gint64 days = shortest_days(r);
	if (days == 0)
		return TRUE;
	return purge_batches(&p, batch, o->now - days * 86400, error);
}
