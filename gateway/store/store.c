/* The store's transactions and its writes of tickets, articles and raw
 * messages, each statement prepared once and bound by parameter through
 * the statement seam (store-private.h). */
#include "gateway/store/store-private.h"

#include "parsers/digest.h"
#include "gateway/store/store-chunks.h"
#include "gateway/store/store-file.h"
#include "gateway/store/store-retention.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Runs one of the fixed statements that frame transactions. They are
 * prepared once like every other: the writer may run a savepoint and its
 * release for every message, and parsing them anew each time cost more
 * than some of the writes they frame. */
static gboolean control(DkStore *s, const char *sql, GError **error)
{
	DkStmt *st = dk_store_prepare(s, sql, error);
	return st != NULL && dk_store_run(s, st, sql, error);
}

gboolean dk_store_begin(DkStore *store, GError **error)
{
	if (store->backend != NULL)
		return store->backend->begin(store, error);
	return control(store, "BEGIN IMMEDIATE", error);
}

gboolean dk_store_conflicted(DkStore *store)
{
	return dk_store_failed_unique(store);
}

gboolean dk_store_job_try(DkStore *store, const char *job, gboolean *mine_out, GError **error)
{
	return store->group->job_try(store, job, mine_out, error);
}

gboolean dk_store_lease_hold(DkStore *store, const char *name, gboolean *held_out, GError **error)
{
	return store->group->lease_hold(store, name, held_out, error);
}

gboolean dk_store_search_defer(DkStore *store, GError **error)
{
	if (store->backend != NULL)
		return TRUE; /* PostgreSQL indexes a row as it is written */
	store->search_after = 0;
	if (!dk_store_lookup_int64(
	        store,
	        dk_store_query(store, "SELECT coalesce(max(id), 0) FROM articles", error, ""),
	        "reading the last article", &store->search_after, NULL, error))
		return FALSE;
	store->search_deferred = TRUE;
	return TRUE;
}

/* Indexes the noted articles (dk_store_search_lag()) in the open
 * transaction and forgets them; *indexed_out (may be NULL): how many. Each goes into the
 * trigram index too when its text needs it: the GLOB reads the whole text
 * (a 4 KiB article 0.2 ms), so only for the articles of a transaction that
 * had one (see search_index_deferred()). The index's triggers leave noted
 * articles alone: a deleted one has lost its note, a changed one is
 * indexed as it is now (store-schema.c, migration 22). */
static gboolean index_noted(DkStore *store, gint64 *indexed_out, GError **error)
{
	if (!dk_store_write(store,
	                    "INSERT INTO article_search (rowid, subject, new_text)"
	                    " SELECT a.id, a.subject, a.new_text FROM article_search_pending p"
	                    " JOIN articles a ON a.id = p.article ORDER BY p.article",
	                    "indexing articles for search", error, "") ||
	    !dk_store_write(
	        store,
	        "INSERT INTO article_search_cjk (rowid, subject, new_text)"
	        " SELECT a.id, a.subject, a.new_text FROM article_search_pending p"
	        " JOIN articles a ON a.id = p.article WHERE p.cjk AND " DK_STORE_CJK_GLOB
	        " ORDER BY p.article",
	        "indexing articles for search", error, "") ||
	    !dk_store_write(store, "DELETE FROM article_search_pending",
	                    "indexing articles for search", error, ""))
		return FALSE;
	if (indexed_out != NULL)
		*indexed_out = dk_store_last_changes(store);
	store->search_flushed = TRUE;
	return TRUE;
}

/* Indexes the articles of this transaction that dk_store_search_defer()
 * held back. Article ids only grow (INTEGER PRIMARY KEY, nothing deletes
 * articles in a batch), so they are the ones above the last id before it;
 * an article rolled back with its savepoint is simply not there. With a
 * lag they are noted instead, and indexed with the others noted when they
 * make up the lag's batch. */
static gboolean search_index_deferred(DkStore *store, GError **error)
{
	if (!store->search_deferred)
		return TRUE;
	store->search_deferred = FALSE;
	gboolean cjk = store->search_cjk; /* the trigram index only when needed */
	store->search_cjk = FALSE;
	if (store->search_lag > 0) {
		if (!dk_store_write(store,
		                    "INSERT INTO article_search_pending (article, cjk)"
		                    " SELECT id, ? FROM articles WHERE id > ? ORDER BY id",
		                    "noting articles for search", error, "ii", (gint64)cjk,
		                    store->search_after))
			return FALSE;
		store->search_noted = dk_store_last_changes(store);
		return store->search_pending + store->search_noted < (gint64)store->search_lag ||
		       index_noted(store, NULL, error);
	}
	return dk_store_write(
	           store,
	           "INSERT INTO article_search (rowid, subject, new_text)"
	           " SELECT id, subject, new_text FROM articles WHERE id > ? ORDER BY id",
	           "indexing articles for search", error, "i", store->search_after) &&
	       (!cjk ||
	        dk_store_write(store,
	                       "INSERT INTO article_search_cjk (rowid, subject, new_text)"
	                       " SELECT id, subject, new_text FROM articles WHERE id > ? "
	                       "AND " DK_STORE_CJK_GLOB " ORDER BY id",
	                       "indexing articles for search", error, "i", store->search_after));
}

gboolean dk_store_commit(DkStore *store, GError **error)
{
	if (search_index_deferred(store, error) && control(store, "COMMIT", error)) {
		store->search_pending =
		    store->search_flushed ? 0 : store->search_pending + store->search_noted;
		store->search_noted = 0;
		store->search_flushed = FALSE;
		return TRUE;
	}
	dk_store_rollback(store);
	return FALSE;
}

void dk_store_rollback(DkStore *store)
{
	store->search_deferred = FALSE;
	store->search_noted = 0;
	store->search_flushed = FALSE;
	if (dk_store_in_transaction(store))
		dk_store_exec(store, "ROLLBACK", NULL);
}

void dk_store_search_lag(DkStore *store, guint batch)
{
	store->search_lag = store->backend == NULL ? batch : 0;
}

gint64 dk_store_search_pending(DkStore *store)
{
	return store->search_pending;
}

gboolean dk_store_search_catch_up(DkStore *store, gint64 *indexed_out, GError **error)
{
	gint64 indexed = 0;
	if (indexed_out != NULL)
		*indexed_out = 0;
	if (store->backend != NULL)
		return TRUE;
	if (!dk_store_begin(store, error))
		return FALSE;
	if (!index_noted(store, &indexed, error)) {
		dk_store_rollback(store);
		return FALSE;
	}
	if (!dk_store_commit(store, error)) /* which rolls back */
		return FALSE;
	if (indexed_out != NULL)
		*indexed_out = indexed;
	return TRUE;
}

gboolean dk_store_savepoint(DkStore *store, GError **error)
{
	return control(store, "SAVEPOINT item", error);
}

gboolean dk_store_release(DkStore *store, GError **error)
{
	return control(store, "RELEASE item", error);
}

gboolean dk_store_rollback_savepoint(DkStore *store, GError **error)
{
	if (!dk_store_in_transaction(store)) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
		            "store: the database rolled back the transaction");
		return FALSE;
	}
	if (control(store, "ROLLBACK TO item", error) && control(store, "RELEASE item", error))
		return TRUE;
	dk_store_rollback(store);
	return FALSE;
}

/* Writes data to dir/name durably: a temporary file, fsync, rename, fsync of
 * the folder. An existing file of that name is kept (content-addressed). */
static gboolean write_durable(const char *dir, const char *name, GBytes *data, GError **error)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	if (g_file_test(path, G_FILE_TEST_EXISTS))
		return TRUE;
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
	if (g_mkdir_with_parents(dir, 0750) != 0)
		goto fail;
	int fd = g_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto fail;
	gsize n = 0;
	const char *p = g_bytes_get_data(data, &n);
	if (!dk_store_file_write_all(fd, p, n)) {
		int saved = errno;
		close(fd);
		g_unlink(tmp);
		errno = saved;
		goto fail;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || g_rename(tmp, path) != 0)
		goto fail;
	int dfd = g_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0 || fsync(dfd) != 0) {
		if (dfd >= 0)
			close(dfd);
		goto fail;
	}
	close(dfd);
	return TRUE;
fail:
	g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: writing %s: %s", path,
	            g_strerror(errno));
	return FALSE;
}

static char *blob_dir(DkStore *s, const char *kind, const char *sha256)
{
	char shard[3] = {sha256[0], sha256[1], '\0'};
	return g_build_filename(s->data_dir, kind, shard, NULL);
}

gboolean dk_store_raw_put(DkStore *store, GBytes *raw, gint64 now, char sha256_out[65],
                          GError **error)
{
	gsize n = 0;
	const guint8 *p = g_bytes_get_data(raw, &n);
	dk_sha256_hex(p, n, sha256_out);
	return dk_store_raw_put_digest(store, raw, sha256_out, now, error);
}

gboolean dk_store_raw_put_digest(DkStore *store, GBytes *raw, const char *sha, gint64 now,
                                 GError **error)
{
	gsize n = 0;
	const guint8 *p = g_bytes_get_data(raw, &n);
	/* PostgreSQL's store keeps every raw message in the database (several
	 * gateways share no folder), a large one in pieces */
	if (n > store->options.inline_max && store->backend != NULL)
		return dk_store_chunks_put(store, sha, -1, p, n, now, error);
	DkStmt *st =
	    dk_store_prepare(store,
	                     "INSERT INTO raw_messages (sha256, size, data, path, received_at)"
	                     " VALUES (?, ?, ?, ?, ?)" DK_STORE_RAW_REVIVE,
	                     error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, sha);
	dk_stmt_bind_int64(st, 2, (gint64)n);
	if (n <= store->options.inline_max) {
		dk_stmt_bind_blob_static(st, 3, p, n);
	} else {
		g_autofree char *dir = blob_dir(store, "raw", sha);
		if (!write_durable(dir, sha, raw, error))
			return FALSE;
		g_autofree char *rel =
		    g_build_filename("raw", (char[]){sha[0], sha[1], 0}, sha, NULL);
		dk_stmt_bind_text(st, 4, rel);
	}
	dk_stmt_bind_int64(st, 5, now);
	return dk_store_run_later(store, st, "storing a raw message", error);
}

static gboolean read_failed(GError **error)
{
	g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: reading a raw message: %s",
	            g_strerror(errno));
	return FALSE;
}

gboolean dk_store_raw_put_fd(DkStore *store, int fd, gsize size, gint64 now, char sha256_out[65],
                             GError **error)
{
	if (!dk_store_file_sha256(fd, size, sha256_out))
		return read_failed(error);
	return dk_store_raw_put_fd_digest(store, fd, size, sha256_out, now, error);
}

gboolean dk_store_raw_put_fd_digest(DkStore *store, int fd, gsize size, const char *sha, gint64 now,
                                    GError **error)
{
	if (store->backend != NULL && size > store->options.inline_max)
		return dk_store_chunks_put(store, sha, fd, NULL, size, now, error);
	if (size <= store->options.inline_max) {
		g_autofree guint8 *all = g_malloc(size + 1);
		if (!dk_store_file_read(fd, all, size))
			return read_failed(error);
		g_autoptr(GBytes) raw = g_bytes_new_static(all, size);
		return dk_store_raw_put_digest(store, raw, sha, now, error);
	}
	DkStmt *st =
	    dk_store_prepare(store,
	                     "INSERT INTO raw_messages (sha256, size, data, path, received_at)"
	                     " VALUES (?, ?, ?, ?, ?)" DK_STORE_RAW_REVIVE,
	                     error);
	if (st == NULL)
		return FALSE;
	g_autofree char *dir = blob_dir(store, "raw", sha);
	if (!dk_store_file_link(dir, sha, fd, 0, size, error)) {
		dk_stmt_reset(st);
		return FALSE;
	}
	g_autofree char *rel = g_build_filename("raw", (char[]){sha[0], sha[1], 0}, sha, NULL);
	dk_stmt_bind_text(st, 1, sha);
	dk_stmt_bind_int64(st, 2, (gint64)size);
	dk_stmt_bind_text(st, 4, rel);
	dk_stmt_bind_int64(st, 5, now);
	return dk_store_run(store, st, "storing a raw message", error);
}

/* dk_store_chunks_read(), outside any transaction of the reader's: a
 * purge that committed between two pieces leaves the rest missing, which
 * is said as the purge (DK_ERROR_GONE), not as damage. */
static gboolean read_pieces(DkStore *store, const char *sha256, gint64 chunks, gint64 size,
                            DkStoreRawSink sink, gpointer data, GError **error)
{
	g_autoptr(GError) local = NULL;
	if (dk_store_chunks_read(store, DK_STORE_CHUNKS_RAW, sha256, chunks, size, sink, data,
	                         &local))
		return TRUE;
	gint64 purged_at = 0;
	if (g_error_matches(local, DK_ERROR, DK_ERROR_PERMANENT) &&
	    dk_store_lookup_int64(store,
	                          dk_store_query(store,
	                                         "SELECT purged_at FROM raw_messages"
	                                         " WHERE sha256 = ? AND purged_at IS NOT NULL",
	                                         NULL, "s", sha256),
	                          "reading a raw message", &purged_at, NULL, NULL) &&
	    purged_at != 0)
		return dk_store_raw_gone(sha256, purged_at, error);
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

gboolean dk_store_raw_read(DkStore *store, const char *sha256, DkStoreRawSink sink, gpointer data,
                           GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store, "SELECT data, path, purged_at, chunks, size FROM raw_messages WHERE sha256 = ?",
	    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, sha256);
	int rc = dk_stmt_step(st);
	if (rc != DK_STMT_ROW) {
		if (rc == DK_STMT_DONE)
			g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no raw message %s",
			            sha256);
		else
			dk_store_set_error(store, error, "reading a raw message");
		dk_stmt_reset(st);
		return FALSE;
	}
	gint64 purged_at = dk_stmt_is_null(st, 2) ? 0 : dk_stmt_int64(st, 2);
	gint64 chunks = dk_stmt_int64(st, 3), size = dk_stmt_int64(st, 4);
	g_autofree char *path = dk_store_column_text(st, 1);
	if (purged_at == 0 && path == NULL && chunks == 0) { /* the one value */
		gsize n = 0;
		const guint8 *bytes = dk_stmt_blob(st, 0, &n);
		GError *local = NULL;
		sink(bytes, n, data, &local);
		dk_stmt_reset(st);
		if (local != NULL)
			g_propagate_error(error, local);
		return local == NULL;
	}
	dk_stmt_reset(st);
	if (purged_at != 0)
		return dk_store_raw_gone(sha256, purged_at, error);
	if (chunks > 0)
		return read_pieces(store, sha256, chunks, size, sink, data, error);
	g_autofree char *file = g_build_filename(store->data_dir, path, NULL);
	return dk_store_chunks_read_file(file, size, sink, data, error);
}

typedef struct {
	GByteArray *bytes;
	gsize max; /* G_MAXSIZE: all */
} Gather;

static gboolean gather(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	(void)error;
	Gather *g = data;
	g_byte_array_append(g->bytes, bytes, (guint)MIN(size, g->max - g->bytes->len));
	return g->bytes->len < g->max;
}

GBytes *dk_store_raw_head(DkStore *store, const char *sha256, gsize max, GError **error)
{
	Gather g = {g_byte_array_new(), max};
	if (dk_store_raw_read(store, sha256, gather, &g, error))
		return g_byte_array_free_to_bytes(g.bytes);
	g_byte_array_unref(g.bytes);
	return NULL;
}

GBytes *dk_store_raw_get(DkStore *store, const char *sha256, GError **error)
{
	return dk_store_raw_head(store, sha256, G_MAXSIZE, error);
}

gboolean dk_store_message_id_find(DkStore *store, const char *message_id, gint64 *ticket_out,
                                  gboolean *found_out, GError **error)
{
	return dk_store_lookup_int64(
	    store,
	    dk_store_query(store, "SELECT ticket FROM message_ids WHERE message_id = ?", error, "s",
	                   message_id),
	    "looking up a Message-ID", ticket_out, found_out, error);
}

gboolean dk_store_article_find(DkStore *store, const char *message_id, const char *fingerprint,
                               gint64 *ticket_out, gint64 *article_out, gboolean *found_out,
                               gint64 *owner_out, gboolean *known_out, GError **error)
{
	DkStmt *st = dk_store_query(
	    store,
	    "SELECT a.ticket, a.id, m.ticket FROM (SELECT 1 AS one) x"
	    " LEFT JOIN (SELECT ticket, id FROM articles WHERE message_id = ?1 AND fingerprint = ?2"
	    " ORDER BY id LIMIT 1) a ON TRUE LEFT JOIN message_ids m ON m.message_id = ?1",
	    error, "ss", message_id, fingerprint);
	if (st == NULL)
		return FALSE;
	int rc = dk_stmt_step(st);
	*found_out = rc == DK_STMT_ROW && !dk_stmt_is_null(st, 0);
	if (*found_out) {
		*ticket_out = dk_stmt_int64(st, 0);
		*article_out = dk_stmt_int64(st, 1);
	}
	if (owner_out != NULL) {
		*known_out = rc == DK_STMT_ROW && !dk_stmt_is_null(st, 2);
		if (*known_out)
			*owner_out = dk_stmt_int64(st, 2);
	}
	dk_stmt_reset(st);
	if (rc != DK_STMT_ROW)
		return dk_store_set_error(store, error, "looking up an article");
	return TRUE;
}

/* The first number after the run of taken numbers that starts at from,
 * into number_out. */
static gboolean after_run(DkStore *store, gint64 from, gint64 *number_out, GError **error)
{
	return dk_store_lookup_int64(
	    store,
	    dk_store_query(store,
	                   "SELECT t.number + 1 FROM tickets t WHERE t.number >= ? AND NOT EXISTS"
	                   " (SELECT 1 FROM tickets u WHERE u.number = t.number + 1)"
	                   " ORDER BY t.number LIMIT 1",
	                   error, "i", from),
	    "numbering a ticket", number_out, NULL, error);
}

static gint64 insert_ticket(DkStore *store, gint64 number, const char *subject,
                            const char *requester, gboolean history, gint64 now, GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store,
	    "INSERT INTO tickets (number, subject, requester, status, history, closed_at,"
	    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    error);
	if (st == NULL)
		return 0;
	dk_stmt_bind_int64(st, 1, number);
	dk_stmt_bind_text(st, 2, subject ? subject : "");
	dk_stmt_bind_text(st, 3, requester);
	dk_stmt_bind_text(st, 4, dk_ticket_status_name(history ? DK_STATUS_CLOSED : DK_STATUS_NEW));
	dk_stmt_bind_int64(st, 5, history);
	if (history)
		dk_stmt_bind_int64(st, 6, now);
	dk_stmt_bind_int64(st, 7, now);
	dk_stmt_bind_int64(st, 8, now);
	/* its answer is not needed: the writers' lock (dk_store_begin())
	 * keeps the number free until the commit */
	if (!dk_store_run_later(store, st, "creating a ticket", error))
		return 0;
	return number;
}

gint64 dk_store_ticket_create(DkStore *store, const char *subject, const char *requester,
                              gint64 now, GError **error)
{
	/* the number after the last live ticket's, when free (positive), or
	 * the first free after it (negated, it is taken by a ticket of
	 * history): one statement for the common case */
	gint64 next = 0, number = 0;
	if (!dk_store_lookup_int64(
	        store,
	        dk_store_query(store,
	                       "SELECT CASE WHEN EXISTS (SELECT 1 FROM tickets WHERE number = m.n)"
	                       " THEN -m.n ELSE m.n END FROM (SELECT coalesce(max(number), 0) + 1"
	                       " AS n FROM tickets WHERE history = 0) m",
	                       error, ""),
	        "numbering a ticket", &next, NULL, error))
		return 0;
	if (next > 0)
		number = next;
	else if (!after_run(store, -next, &number, error))
		return 0;
	return insert_ticket(store, number, subject, requester, FALSE, now, error);
}

gint64 dk_store_ticket_create_history(DkStore *store, const char *subject, const char *requester,
                                      gint64 wanted, gint64 from, gint64 at, GError **error)
{
	gint64 number = 0;
	gboolean taken = TRUE;
	if (wanted > 0 &&
	    !dk_store_lookup_int64(
	        store,
	        dk_store_query(store, "SELECT 1 FROM tickets WHERE number = ?", error, "i", wanted),
	        "numbering a ticket", &number, &taken, error))
		return 0;
	if (wanted > 0 && !taken)
		return insert_ticket(store, wanted, subject, requester, TRUE, at, error);
	gint64 highest = 0;
	gboolean any = FALSE;
	if (!dk_store_lookup_int64(
	        store,
	        dk_store_query(store,
	                       "SELECT max(number) FROM tickets WHERE number >= ?"
	                       " HAVING count(*) > 0",
	                       error, "i", MAX(from, 1)),
	        "numbering a ticket", &highest, &any, error))
		return 0;
	number = any ? highest + 1 : MAX(from, 1);
	return insert_ticket(store, number, subject, requester, TRUE, at, error);
}

gboolean dk_store_ticket_is_history(DkStore *store, gint64 ticket, gboolean *history_out,
                                    GError **error)
{
	gint64 history = 0;
	gboolean ok = dk_store_lookup_int64(
	    store,
	    dk_store_query(store, "SELECT history FROM tickets WHERE number = ?", error, "i",
	                   ticket),
	    "reading a ticket", &history, NULL, error);
	*history_out = history != 0;
	return ok;
}

gboolean dk_store_ticket_history_span(DkStore *store, gint64 ticket, gint64 at, GError **error)
{
	return dk_store_write(
	    store,
	    "UPDATE tickets SET created_at = min(created_at, ?1), updated_at = max(updated_at, ?1),"
	    " closed_at = max(coalesce(closed_at, 0), ?1) WHERE number = ?2 AND history = 1",
	    "dating a ticket of history", error, "ii", at, ticket);
}

gboolean dk_store_ticket_touch(DkStore *store, gint64 ticket, gint64 now, GError **error)
{
	return dk_store_write_later(
	    store, "UPDATE tickets SET updated_at = max(updated_at, ?) WHERE number = ?",
	    "updating a ticket", error, "ii", now, ticket);
}

/* Indexes an article for search on SQLite (FTS5 tables; held back to the
 * commit after dk_store_search_defer()). PostgreSQL's index is a column of
 * the article. */
static gboolean index_article(DkStore *store, gint64 id, const char *subject, const char *text,
                              GError **error)
{
	if (!store->search_deferred &&
	    !dk_store_write(
	        store, "INSERT INTO article_search (rowid, subject, new_text) VALUES (?, ?, ?)",
	        "indexing an article for search", error, "iss", id, subject, text))
		return FALSE;
	gboolean cjk = dk_store_has_cjk(subject) || dk_store_has_cjk(text);
	store->search_cjk |= store->search_deferred && cjk; /* indexed at commit */
	if (!store->search_deferred && cjk &&
	    !dk_store_write(
	        store, "INSERT INTO article_search_cjk (rowid, subject, new_text) VALUES (?, ?, ?)",
	        "indexing an article for search", error, "iss", id, subject, text))
		return FALSE;
	return TRUE;
}

static gboolean has_text(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (!g_ascii_isspace(*s))
			return TRUE;
	return FALSE;
}

/* A full text that is the new text and white space after it (a message
 * that quotes nothing, a note, a notification: the new text is the full
 * one trimmed) keeps only that white space: new_text holds the rest. A
 * full text always contains its new text, so one of white space alone
 * beside a new text that is more never meant anything else. */
const char *dk_store_full_text_stored(const char *new_text, const char *full_text)
{
	const char *full = full_text ? full_text : "";
	gsize n = new_text ? strlen(new_text) : 0;
	if (has_text(new_text) && strncmp(full, new_text, n) == 0 && !has_text(full + n))
		return full + n;
	return full;
}

char *dk_store_full_text_read(const char *new_text, const char *stored)
{
	if (has_text(new_text) && !has_text(stored))
		return g_strconcat(new_text, stored, NULL);
	return g_strdup(stored ? stored : "");
}

gint64 dk_store_article_add(DkStore *store, DkArticle *a, GError **error)
{
	DkStmt *st = dk_store_prepare_insert(
	    store,
	    "INSERT INTO articles (ticket, direction, visibility, evidence, "
	    "sender, recipients, subject,"
	    " message_id, fingerprint, new_text, full_text, raw_sha256, intake, "
	    "created_at, signature, signer)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    error);
	if (st == NULL)
		return 0;
	dk_stmt_bind_int64(st, 1, a->ticket);
	const char *full = dk_store_full_text_stored(a->new_text, a->full_text);
	const char *values[] = {dk_direction_name(a->direction),
	                        dk_visibility_name(a->visibility),
	                        a->evidence,
	                        a->sender,
	                        a->recipients,
	                        a->subject ? a->subject : "",
	                        a->message_id,
	                        a->fingerprint,
	                        a->new_text ? a->new_text : "",
	                        full,
	                        a->raw_sha256,
	                        a->intake};
	for (guint i = 0; i < G_N_ELEMENTS(values); i++)
		dk_stmt_bind_text(st, (int)i + 2, values[i]);
	/* The texts, the largest values, are bound without a copy: a lives
	 * until the statement has run, and the bindings go with it. */
	dk_stmt_bind_static(st, 10, values[8]);
	dk_stmt_bind_static(st, 11, values[9]);
	dk_stmt_bind_int64(st, 14, a->created_at);
	dk_stmt_bind_text(st, 15, a->signature);
	dk_stmt_bind_text(st, 16, a->signer);
	gboolean ok = dk_store_insert_run(store, st, "adding an article", &a->id, error);
	dk_stmt_clear(st);
	if (!ok)
		return 0;
	if (store->backend == NULL && !index_article(store, a->id, values[5], values[8], error))
		return 0;
	return a->id;
}

/* An attachment's bytes on PostgreSQL, in the database (several gateways
 * share no folder): one value up to inline_max, else in pieces of a MiB
 * (attachment_chunks), so that no statement carries the whole content. */
static gboolean attachment_keep_pg(DkStore *store, const DkAttachmentIn *att, GError **error)
{
	/* a content in a file: its pieces read from there, or, as one value,
	 * read into memory (it is small) */
	gboolean from_fd = att->in_file && att->size > store->options.inline_max;
	g_autoptr(GBytes) small = NULL;
	if (att->in_file && !from_fd) {
		guint8 *buf = g_malloc(att->size + 1);
		if (!dk_store_file_read_at(att->fd, buf, att->size, att->offset)) {
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
			            "store: reading an attachment's file: %s", g_strerror(errno));
			g_free(buf);
			return FALSE;
		}
		small = g_bytes_new_take(buf, att->size);
	}
	GBytes *data = small != NULL ? small : att->data;
	gsize n = from_fd ? att->size : 0;
	const guint8 *p = data ? g_bytes_get_data(data, &n) : NULL;
	gboolean pieces = from_fd || (p != NULL && n > store->options.inline_max);
	DkStmt *st =
	    dk_store_prepare(store,
	                     "INSERT INTO attachments (sha256, size, data, chunks)"
	                     " VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE"
	                     " SET data = excluded.data, chunks = excluded.chunks, purged_at = NULL"
	                     " WHERE attachments.purged_at IS NOT NULL",
	                     error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, att->sha256);
	dk_stmt_bind_int64(st, 2, (gint64)att->size);
	if (p != NULL && !pieces)
		dk_stmt_bind_blob_static(st, 3, p, n);
	dk_stmt_bind_int64(st, 4, pieces ? dk_store_chunks_count(n) : 0);
	if (!dk_store_run(store, st, "storing an attachment", error))
		return FALSE;
	/* the pieces unless the same bytes are kept already */
	return !pieces || dk_store_last_changes(store) == 0 ||
	       dk_store_chunks_write(store, DK_STORE_CHUNKS_ATTACHMENT, att->sha256,
	                             from_fd ? att->fd : -1, att->offset, p, n, error);
}

/* The bytes of an attachment, once per SHA-256: on SQLite a file under
 * data_dir/attachments/; on PostgreSQL in the database. */
static gboolean attachment_keep(DkStore *store, const DkAttachmentIn *att, GError **error)
{
	if (store->backend != NULL)
		return attachment_keep_pg(store, att, error);
	g_autofree char *dir = blob_dir(store, "attachments", att->sha256);
	if (att->in_file
	        ? !dk_store_file_link(dir, att->sha256, att->fd, att->offset, att->size, error)
	        : att->data != NULL && !write_durable(dir, att->sha256, att->data, error))
		return FALSE;
	g_autofree char *rel = g_build_filename(
	    "attachments", (char[]){att->sha256[0], att->sha256[1], 0}, att->sha256, NULL);
	return dk_store_write(store,
	                      "INSERT INTO attachments (sha256, size, path) VALUES (?, ?, ?)"
	                      " ON CONFLICT (sha256) DO UPDATE SET path = excluded.path,"
	                      " purged_at = NULL WHERE attachments.purged_at IS NOT NULL",
	                      "storing an attachment", error, "sis", att->sha256, (gint64)att->size,
	                      rel);
}

gboolean dk_store_attachment_add(DkStore *store, gint64 article, guint position,
                                 const DkAttachmentIn *att, GError **error)
{
	if (!attachment_keep(store, att, error))
		return FALSE;
	DkStmt *st = dk_store_prepare(
	    store,
	    "INSERT INTO article_attachments (article, position, sha256, filename, content_type,"
	    " content_id, disposition) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, article);
	dk_stmt_bind_int64(st, 2, (int)position);
	dk_stmt_bind_text(st, 3, att->sha256);
	dk_stmt_bind_text(st, 4, att->filename);
	dk_stmt_bind_text(st, 5,
	                  att->content_type ? att->content_type : "application/octet-stream");
	dk_stmt_bind_text(st, 6, att->content_id);
	dk_stmt_bind_text(st, 7, att->disposition ? att->disposition : "attachment");
	return dk_store_run(store, st, "linking an attachment", error);
}

gboolean dk_store_message_id_add(DkStore *store, const char *message_id, gint64 ticket,
                                 gint64 article, GError **error)
{
	return dk_store_write_later(
	    store,
	    "INSERT INTO message_ids (message_id, ticket, article) VALUES (?, ?, ?)"
	    " ON CONFLICT DO NOTHING",
	    "recording a Message-ID", error, "sin", message_id, ticket, article);
}

gboolean dk_store_participant_add(DkStore *store, gint64 ticket, const char *address,
                                  DkParticipantRole role, GError **error)
{
	return dk_store_write_later(
	    store,
	    "INSERT INTO participants (ticket, address, role) VALUES (?, lower(?), ?)"
	    " ON CONFLICT DO NOTHING",
	    "recording a participant", error, "iss", ticket, address,
	    dk_participant_role_name(role));
}

gboolean dk_store_participant_remove(DkStore *store, gint64 ticket, const char *address,
                                     gboolean *removed_out, GError **error)
{
	if (!dk_store_write(store,
	                    "DELETE FROM participants WHERE ticket = ? AND address = lower(?)",
	                    "removing a participant", error, "is", ticket, address))
		return FALSE;
	*removed_out = dk_store_last_changes(store) > 0;
	return TRUE;
}

gboolean dk_store_event_add(DkStore *store, gint64 ticket, gint64 article, const char *type,
                            const char *detail_json, gint64 now, GError **error)
{
	return dk_store_write_later(
	    store,
	    "INSERT INTO events (ticket, article, type, detail, created_at) VALUES (?, ?, ?, ?, ?)",
	    "recording an event", error, "inssi", ticket, article, type,
	    detail_json ? detail_json : "{}", now);
}

gboolean dk_store_ticket_set(DkStore *store, gint64 ticket, DkTicketField field, const char *value,
                             gint64 now, GError **error)
{
	static const char *const sql[] = {
	    [DK_TICKET_PRIORITY] =
	        "UPDATE tickets SET priority = ?1, updated_at = max(updated_at, ?3)"
	        " WHERE number = ?2",
	    [DK_TICKET_ASSIGNEE] =
	        "UPDATE tickets SET assignee = nullif(?1, ''), updated_at = max(updated_at, ?3)"
	        " WHERE number = ?2",
	    [DK_TICKET_QUEUE] =
	        "UPDATE tickets SET queue = ?1, updated_at = max(updated_at, ?3) WHERE number = ?2",
	    [DK_TICKET_ORGANISATION] = "UPDATE tickets SET organisation = nullif(?1, ''),"
	                               " updated_at = max(updated_at, ?3) WHERE number = ?2",
	    [DK_TICKET_CORRELATION] = "UPDATE tickets SET correlation_key = nullif(?1, ''),"
	                              " updated_at = max(updated_at, ?3) WHERE number = ?2",
	};
	return dk_store_write(store, sql[field], "changing a ticket", error, "sii", value, ticket,
	                      now);
}

gboolean dk_store_ticket_set_status(DkStore *store, gint64 ticket, DkTicketStatus status,
                                    gint64 now, GError **error)
{
	return dk_store_write(
	    store,
	    "UPDATE tickets SET status = ?1, updated_at = max(updated_at, ?3),"
	    " closed_at = CASE WHEN ?4 <> 0 THEN coalesce(closed_at, ?3) ELSE NULL END"
	    " WHERE number = ?2",
	    "changing a ticket", error, "siii", dk_ticket_status_name(status), ticket, now,
	    (gint64)dk_ticket_status_is_closed(status));
}

gboolean dk_store_ticket_field_set(DkStore *store, gint64 ticket, const char *name,
                                   const char *value, GError **error)
{
	return dk_store_write(store,
	                      "INSERT INTO ticket_fields (ticket, name, value) VALUES (?, ?, ?)"
	                      " ON CONFLICT (ticket, name) DO UPDATE SET value = excluded.value",
	                      "setting a ticket field", error, "iss", ticket, name,
	                      value ? value : "");
}

gboolean dk_store_ticket_find_correlated(DkStore *store, const char *key, gint64 *ticket_out,
                                         GError **error)
{
	*ticket_out = 0;
	return dk_store_lookup_int64(
	    store,
	    dk_store_query(store,
	                   "SELECT number FROM tickets WHERE correlation_key = ?"
	                   " AND status NOT IN ('resolved', 'closed') ORDER BY number DESC LIMIT 1",
	                   error, "s", key),
	    "looking up a correlation key", ticket_out, NULL, error);
}

gboolean dk_store_tag_add(DkStore *store, gint64 ticket, const char *tag, GError **error)
{
	return dk_store_write(
	    store, "INSERT INTO tags (ticket, tag) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	    "adding a tag", error, "is", ticket, tag);
}

gboolean dk_store_participant_role(DkStore *store, gint64 ticket, const char *address,
                                   DkParticipantRole *role_out, gboolean *found_out, GError **error)
{
	g_autofree char *role = NULL;
	if (!dk_store_lookup_text(
	        store,
	        dk_store_query(
	            store, "SELECT role FROM participants WHERE ticket = ? AND address = lower(?)",
	            error, "is", ticket, address),
	        "looking up a participant", &role, error))
		return FALSE;
	/* The schema admits only the four roles. */
	*found_out = role != NULL && dk_participant_role_parse(role, role_out);
	return TRUE;
}

gboolean dk_store_link_add(DkStore *store, gint64 ticket, gint64 linked, const char *reason,
                           gint64 now, GError **error)
{
	return dk_store_write(store,
	                      "INSERT INTO ticket_links (ticket, linked, reason, created_at)"
	                      " VALUES (?1, ?2, ?3, ?4), (?2, ?1, ?3, ?4) ON CONFLICT DO NOTHING",
	                      "linking tickets", error, "iisi", ticket, linked, reason, now);
}

gboolean dk_store_foreign_ref_add(DkStore *store, const char *name, const char *number,
                                  gint64 ticket, GError **error)
{
	return dk_store_write(store,
	                      "INSERT INTO foreign_refs (name, number, ticket) VALUES (?, ?, ?) ON "
	                      "CONFLICT DO NOTHING",
	                      "recording a foreign ticket number", error, "ssi", name, number,
	                      ticket);
}

gboolean dk_store_foreign_ref_find(DkStore *store, const char *name, const char *number,
                                   gint64 *ticket_out, gboolean *found_out, GError **error)
{
	return dk_store_lookup_int64(
	    store,
	    dk_store_query(store, "SELECT ticket FROM foreign_refs WHERE name = ? AND number = ?",
	                   error, "ss", name, number),
	    "looking up a foreign ticket number", ticket_out, found_out, error);
}

gboolean dk_store_ticket_address_add(DkStore *store, gint64 ticket, const char *address, gint64 now,
                                     GError **error)
{
	return dk_store_write_later(
	    store,
	    "INSERT INTO ticket_addresses (ticket, address, first_seen) VALUES (?, lower(?), ?)"
	    " ON CONFLICT DO NOTHING",
	    "recording a support address", error, "isi", ticket, address, now);
}

gboolean dk_store_outbox_add(DkStore *store, const char *kind, const char *target, gint64 ticket,
                             const char *payload_json, gint64 now, gint64 *id_out, GError **error)
{
	/* without its id wanted, a write whose answer is not waited for: a
	 * text of its own (one text, one way to prepare it) */
	DkStmt *st = id_out != NULL
	                 ? dk_store_prepare_insert(store,
	                                           "INSERT INTO outbox (kind, target, ticket, "
	                                           "payload, next_attempt_at, created_at)"
	                                           " VALUES (?, ?, ?, ?, ?, ?)",
	                                           error)
	                 : dk_store_prepare(store,
	                                    "INSERT INTO outbox (kind, target, ticket, payload, "
	                                    "next_attempt_at, created_at)"
	                                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	                                    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, kind);
	dk_stmt_bind_text(st, 2, target);
	dk_stmt_bind_id(st, 3, ticket);
	dk_stmt_bind_text(st, 4, payload_json ? payload_json : "{}");
	dk_stmt_bind_int64(st, 5, now);
	dk_stmt_bind_int64(st, 6, now);
	if (id_out == NULL)
		return dk_store_run_later(store, st, "queueing outbox work", error);
	return dk_store_insert_run(store, st, "queueing outbox work", id_out, error);
}
