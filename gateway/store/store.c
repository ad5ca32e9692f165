/* The SQLite store: connection, transactions, and every statement docket
 * runs, prepared once and bound by parameter. */
#include "gateway/store/store-private.h"

#include "parsers/digest.h"
#include "gateway/store/store-file.h"
#include "gateway/store/store-retention.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void finalize_statement(gpointer st)
{
	sqlite3_finalize(st);
}

gboolean dk_store_set_error(sqlite3 *db, GError **error, const char *doing)
{
	int code = sqlite3_extended_errcode(db);
	int primary = code & 0xff;
	gboolean temporary = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ||
	                     primary == SQLITE_FULL || primary == SQLITE_IOERR ||
	                     primary == SQLITE_CANTOPEN || primary == SQLITE_NOMEM ||
	                     primary == SQLITE_PROTOCOL || primary == SQLITE_READONLY;
	g_set_error(error, DK_ERROR, temporary ? DK_ERROR_TEMPORARY : DK_ERROR_PERMANENT,
	            "store: %s: %s", doing, sqlite3_errmsg(db));
	return FALSE;
}

/* The statement prepared for this text, found by its address first:
 * callers pass string literals, and hashing the whole text of a statement
 * for every use was a twentieth of the writer's work. The text confirms
 * what the address found. */
static sqlite3_stmt *prepared(DkStore *s, const char *sql)
{
	sqlite3_stmt *st = g_hash_table_lookup(s->by_address, sql);
	if (st != NULL && strcmp(sqlite3_sql(st), sql) == 0)
		return st;
	st = g_hash_table_lookup(s->statements, sql);
	if (st != NULL)
		g_hash_table_insert(s->by_address, (gpointer)sql, st);
	return st;
}

sqlite3_stmt *dk_store_prepare(DkStore *s, const char *sql, GError **error)
{
	sqlite3_stmt *st = prepared(s, sql);
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		dk_store_set_error(s->db, error, "preparing a statement");
		return NULL;
	}
	g_hash_table_insert(s->statements, (gpointer)sql, st);
	g_hash_table_insert(s->by_address, (gpointer)sql, st);
	return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static void bind_id(sqlite3_stmt *st, int i, gint64 v)
{
	if (v <= 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

/* Steps a statement that returns no rows. */
static gboolean run(DkStore *s, sqlite3_stmt *st, const char *doing, GError **error)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return dk_store_set_error(s->db, error, doing);
	return TRUE;
}

static void bind_values(sqlite3_stmt *st, const char *types, va_list ap)
{
	for (int i = 0; types[i] != '\0'; i++) {
		if (types[i] == 's')
			bind_text(st, i + 1, va_arg(ap, const char *));
		else if (types[i] == 'n')
			bind_id(st, i + 1, va_arg(ap, gint64));
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, gint64));
	}
}

static sqlite3_stmt *query_va(DkStore *store, const char *sql, GError **error, const char *types,
                              va_list ap)
{
	sqlite3_stmt *st = dk_store_prepare(store, sql, error);
	if (st != NULL)
		bind_values(st, types, ap);
	return st;
}

sqlite3_stmt *dk_store_query(DkStore *store, const char *sql, GError **error, const char *types,
                             ...)
{
	va_list ap;
	va_start(ap, types);
	sqlite3_stmt *st = query_va(store, sql, error, types, ap);
	va_end(ap);
	return st;
}

gboolean dk_store_write(DkStore *store, const char *sql, const char *doing, GError **error,
                        const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	sqlite3_stmt *st = query_va(store, sql, error, types, ap);
	va_end(ap);
	return st != NULL && run(store, st, doing, error);
}

/* Steps st once: the first column of the row, if there is one. */
static gboolean lookup(DkStore *store, sqlite3_stmt *st, const char *doing, gint64 *number_out,
                       char **text_out, gboolean *found_out, GError **error)
{
	if (st == NULL)
		return FALSE;
	int rc = sqlite3_step(st);
	gboolean found = rc == SQLITE_ROW;
	if (found_out != NULL)
		*found_out = found;
	if (found && number_out != NULL)
		*number_out = sqlite3_column_int64(st, 0);
	if (found && text_out != NULL)
		*text_out = dk_store_column_text(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dk_store_set_error(store->db, error, doing);
	return TRUE;
}

gboolean dk_store_lookup_int64(DkStore *store, sqlite3_stmt *st, const char *doing,
                               gint64 *value_out, gboolean *found_out, GError **error)
{
	return lookup(store, st, doing, value_out, NULL, found_out, error);
}

gboolean dk_store_lookup_text(DkStore *store, sqlite3_stmt *st, const char *doing, char **value_out,
                              GError **error)
{
	*value_out = NULL;
	return lookup(store, st, doing, NULL, value_out, NULL, error);
}

char *dk_store_column_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? g_strdup((const char *)t) : NULL;
}

gboolean dk_store_each_row(DkStore *store, sqlite3_stmt *st, const char *doing,
                           gboolean (*row)(sqlite3_stmt *st, gpointer data), gpointer data,
                           GError **error)
{
	if (st == NULL)
		return FALSE;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!row(st, data)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return dk_store_set_error(store->db, error, doing);
	return TRUE;
}

static gboolean exec(DkStore *s, const char *sql, GError **error)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return dk_store_set_error(s->db, error, sql);
	return TRUE;
}

/* SQLite's automatic checkpoint (a passive one past this many WAL frames),
 * kept, and the WAL's size after each commit noted for dk_store_close(). */
#define AUTO_CHECKPOINT_FRAMES 1000

static int wal_committed(void *data, sqlite3 *db, const char *name, int frames)
{
	DkStore *s = data;
	s->wal_frames = frames;
	if (frames >= AUTO_CHECKPOINT_FRAMES)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

/* Switches a new store to WAL (an existing one is in WAL already: the mode
 * is kept in the file). The switch needs the file to itself and SQLite
 * answers SQLITE_BUSY at once, without its busy handler, while another
 * process holds it: several `docket deliver` processes creating one store
 * together retry here, within the busy timeout. */
static gboolean set_wal(DkStore *s, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)s->options.busy_timeout_ms * 1000;
	int rc;
	while ((rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) !=
	           SQLITE_OK &&
	       (rc & 0xFF) == SQLITE_BUSY && g_get_monotonic_time() < deadline)
		g_usleep(2000);
	if (rc != SQLITE_OK)
		return dk_store_set_error(s->db, error, "PRAGMA journal_mode = WAL");
	return TRUE;
}

static gboolean configure(DkStore *s, GError **error)
{
	sqlite3_busy_timeout(s->db, s->options.busy_timeout_ms);
	sqlite3_extended_result_codes(s->db, 1);
	s->wal_frames = -1;
	sqlite3_wal_hook(s->db, wal_committed, s);
	/* In WAL mode synchronous=NORMAL does not sync at commit; FULL does,
	 * and an acknowledged message must be on disk. */
	if (!set_wal(s, error) || !exec(s, "PRAGMA synchronous = FULL", error) ||
	    !exec(s, "PRAGMA foreign_keys = ON", error))
		return FALSE;
	/* The writer may give every message its own savepoint (a batch it
	 * starts over), and SQLite keeps the pages a savepoint changes in a
	 * statement journal, which spills
	 * to a temporary file past 64 KiB: one batch would write and read it
	 * back through the kernel. It is only needed until the transaction
	 * ends, so memory holds it; durability rests on the WAL alone. */
	if (!exec(s, "PRAGMA temp_store = MEMORY", error))
		return FALSE;
	/* Keep the WAL file when the last connection closes (its checkpoint
	 * empties it instead): no unlink and re-create, and no folder sync,
	 * for every `docket deliver`. */
	int persist = 1;
	sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	/* SQLite's default page cache is 2 MiB: under a stream of LMTP
	 * deliveries the writer's hot pages (index leaves, the tails of
	 * tables, the search index) did not fit and were read back from the
	 * file, 8.6 preads per message; with 8 MiB, about 5. A short-lived
	 * process never fills it. */
	if (!exec(s, "PRAGMA cache_size = -8192", error))
		return FALSE;
	/* After a checkpoint the WAL starts over from its beginning and is cut
	 * down to this size. Above the ~4 MiB that the automatic checkpoint
	 * lets it reach, `docket serve` keeps writing over blocks the file
	 * has already, and an fdatasync of a file whose size did not change
	 * needs no journal commit of the file system: 314-346 us per commit
	 * with a 1 MiB limit, 173-198 us with 8 MiB. A closing connection that
	 * checkpoints still empties the WAL (see dk_store_close()). */
	return exec(s, "PRAGMA journal_size_limit = 8388608", error);
}

/* The database, and its -wal and -shm files, which SQLite creates with
 * the database's mode, are kept from other users whatever the umask: made
 * 0640 like every other file of the store, and an older database that
 * others could read loses those bits.
 *
 * An existing database is never opened here: closing any descriptor of a
 * database file drops every POSIX lock this process holds on it, those of
 * its other connections included, and lets another process write under
 * them (SQLite's "How To Corrupt" 2.2). Only a file that does not exist yet
 * is created, exclusively, so no connection can have it open; an existing
 * one is changed by name. */
static gboolean private_mode(const char *path, GError **error)
{
	GStatBuf st;
	if (g_lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07) == 0)
		return TRUE;
	if (g_chmod(path, st.st_mode & 0770) != 0 && errno != EPERM) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: %s: %s", path,
		            g_strerror(errno));
		return FALSE;
	}
	return TRUE; /* EPERM: another user's store, opened to read */
}

static gboolean private_database(const char *path, GError **error)
{
	int fd = g_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd >= 0)
		close(fd); /* new and empty: no connection holds a lock on it */
	else if (errno != EEXIST && errno != EACCES) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: %s: %s", path,
		            g_strerror(errno));
		return FALSE;
	}
	const char *const suffixes[] = {"", "-wal", "-shm"};
	for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		g_autofree char *file = g_strconcat(path, suffixes[i], NULL);
		if (!private_mode(file, error))
			return FALSE;
	}
	return TRUE;
}

/* SQLite keeps statistics of its memory (sqlite3_status()) by default,
 * taking a global mutex on every allocation and release: a twentieth of
 * the writer's instructions, for figures docket never reads. The setting
 * only takes before SQLite initialises, so the first store opened in a
 * process makes it (later calls are refused by SQLite, harmlessly). */
static void configure_library(void)
{
	static gsize done;
	if (g_once_init_enter(&done)) {
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		g_once_init_leave(&done, 1);
	}
}

DkStore *dk_store_open(const char *data_dir, const DkStoreOptions *options, GError **error)
{
	configure_library();
	if (g_mkdir_with_parents(data_dir, 0750) != 0) {
		int saved = errno;
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "store: cannot create %s: %s",
		            data_dir, g_strerror(saved));
		return NULL;
	}
	g_autoptr(DkStore) s = g_new0(DkStore, 1);
	s->data_dir = g_strdup(data_dir);
	s->options.inline_max = options ? options->inline_max : 256 * 1024;
	s->options.busy_timeout_ms = options ? options->busy_timeout_ms : 5000;
	s->statements = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, finalize_statement);
	s->by_address = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_autofree char *path = g_build_filename(data_dir, "docket.db", NULL);
	if (!private_database(path, error))
		return NULL;
	int rc = sqlite3_open_v2(
	    path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		dk_store_set_error(s->db, error, "opening the database");
		g_prefix_error(error, "%s: ", path);
		return NULL;
	}
	if (!configure(s, error) || !dk_store_schema_migrate(s->db, error)) {
		g_prefix_error(error, "%s: ", path);
		return NULL;
	}
	return g_steal_pointer(&s);
}

DkStore *dk_store_open_config(const DkConfig *config, GError **error)
{
	DkStoreOptions options = {
	    .inline_max = (gsize)dk_config_get_int(config, "store", "inline_max"),
	    .busy_timeout_ms = (int)dk_config_get_int(config, "store", "busy_timeout_ms"),
	};
	return dk_store_open(dk_config_get_string(config, "store", "data_dir"), &options, error);
}

/* Closing leaves a WAL of fewer frames than this as it is (see
 * dk_store_close()): 512 KiB of 4 KiB pages, a few dozen deliveries. A
 * process that opens the store first rebuilds the WAL's index by reading
 * every frame, which costs less than the fsyncs saved only while the WAL
 * stays this small. */
#define CLOSE_CHECKPOINT_FRAMES 128

void dk_store_close(DkStore *store)
{
	if (store == NULL)
		return;
	if (store->by_address != NULL)
		g_hash_table_unref(store->by_address);
	if (store->statements != NULL)
		g_hash_table_unref(store->statements);
	/* The last connection to close checkpoints the WAL into the database
	 * and empties it: two more fsyncs, the most costly part of a
	 * short-lived `docket deliver`. While the WAL is small, leave it: the
	 * commit is durable in the WAL already, and the next process to open
	 * the store rebuilds its index from these few frames. A connection
	 * that saw the WAL grow past the limit still checkpoints, and so does
	 * one that committed nothing (it does not know the WAL's size), so
	 * the WAL stays small between processes. */
	if (store->db != NULL && store->wal_frames >= 0 &&
	    store->wal_frames < CLOSE_CHECKPOINT_FRAMES)
		sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (store->db != NULL)
		sqlite3_close(store->db);
	g_free(store->data_dir);
	g_free(store);
}

int dk_store_schema_version(DkStore *store)
{
	sqlite3_stmt *st = dk_store_prepare(store, "PRAGMA user_version", NULL);
	int v = (st && sqlite3_step(st) == SQLITE_ROW) ? sqlite3_column_int(st, 0) : -1;
	if (st)
		sqlite3_reset(st);
	return v;
}

/* Runs one of the fixed statements that frame transactions. They are
 * prepared once like every other: the writer may run a savepoint and its
 * release for every message, and parsing them anew each time cost more
 * than some of the writes they frame. */
static gboolean control(DkStore *s, const char *sql, GError **error)
{
	sqlite3_stmt *st = dk_store_prepare(s, sql, error);
	return st != NULL && run(s, st, sql, error);
}

gboolean dk_store_begin(DkStore *store, GError **error)
{
	return control(store, "BEGIN IMMEDIATE", error);
}

gboolean dk_store_search_defer(DkStore *store, GError **error)
{
	store->search_after = 0;
	if (!dk_store_lookup_int64(
	        store,
	        dk_store_query(store, "SELECT coalesce(max(id), 0) FROM articles", error, ""),
	        "reading the last article", &store->search_after, NULL, error))
		return FALSE;
	store->search_deferred = TRUE;
	return TRUE;
}

/* Indexes the articles of this transaction that dk_store_search_defer()
 * held back. Article ids only grow (INTEGER PRIMARY KEY, nothing deletes
 * articles in a batch), so they are the ones above the last id before it;
 * an article rolled back with its savepoint is simply not there. */
static gboolean search_index_deferred(DkStore *store, GError **error)
{
	if (!store->search_deferred)
		return TRUE;
	store->search_deferred = FALSE;
	gboolean cjk = store->search_cjk; /* the trigram index only when needed */
	store->search_cjk = FALSE;
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
	if (search_index_deferred(store, error) && control(store, "COMMIT", error))
		return TRUE;
	dk_store_rollback(store);
	return FALSE;
}

void dk_store_rollback(DkStore *store)
{
	store->search_deferred = FALSE;
	if (!sqlite3_get_autocommit(store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

gboolean dk_store_savepoint(DkStore *store, GError **error)
{
	return control(store, "SAVEPOINT item", error);
}

gboolean dk_store_release(DkStore *store, GError **error)
{
	return control(store, "RELEASE item", error);
}

gint64 dk_store_changes(DkStore *store)
{
	return sqlite3_total_changes64(store->db);
}

gboolean dk_store_in_transaction(DkStore *store)
{
	return !sqlite3_get_autocommit(store->db);
}

gboolean dk_store_rollback_savepoint(DkStore *store, GError **error)
{
	if (sqlite3_get_autocommit(store->db)) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
		            "store: SQLite rolled back the transaction");
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
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int saved = errno;
			close(fd);
			g_unlink(tmp);
			errno = saved;
			goto fail;
		}
		p += w;
		n -= (gsize)w;
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
	sqlite3_stmt *st =
	    dk_store_prepare(store,
	                     "INSERT INTO raw_messages (sha256, size, data, path, received_at)"
	                     " VALUES (?, ?, ?, ?, ?)" DK_STORE_RAW_REVIVE,
	                     error);
	if (st == NULL)
		return FALSE;
	bind_text(st, 1, sha);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
	if (n <= store->options.inline_max) {
		sqlite3_bind_blob64(st, 3, n ? (const void *)p : (const void *)"", n,
		                    SQLITE_STATIC);
	} else {
		g_autofree char *dir = blob_dir(store, "raw", sha);
		if (!write_durable(dir, sha, raw, error))
			return FALSE;
		g_autofree char *rel =
		    g_build_filename("raw", (char[]){sha[0], sha[1], 0}, sha, NULL);
		bind_text(st, 4, rel);
	}
	sqlite3_bind_int64(st, 5, now);
	return run(store, st, "storing a raw message", error);
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
	if (size <= store->options.inline_max) {
		g_autofree guint8 *all = g_malloc(size + 1);
		if (!dk_store_file_read(fd, all, size))
			return read_failed(error);
		g_autoptr(GBytes) raw = g_bytes_new_static(all, size);
		return dk_store_raw_put_digest(store, raw, sha, now, error);
	}
	sqlite3_stmt *st =
	    dk_store_prepare(store,
	                     "INSERT INTO raw_messages (sha256, size, data, path, received_at)"
	                     " VALUES (?, ?, ?, ?, ?)" DK_STORE_RAW_REVIVE,
	                     error);
	if (st == NULL)
		return FALSE;
	g_autofree char *dir = blob_dir(store, "raw", sha);
	if (!dk_store_file_link(dir, sha, fd, size, error)) {
		sqlite3_reset(st);
		return FALSE;
	}
	g_autofree char *rel = g_build_filename("raw", (char[]){sha[0], sha[1], 0}, sha, NULL);
	bind_text(st, 1, sha);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
	bind_text(st, 4, rel);
	sqlite3_bind_int64(st, 5, now);
	return run(store, st, "storing a raw message", error);
}

GBytes *dk_store_raw_get(DkStore *store, const char *sha256, GError **error)
{
	sqlite3_stmt *st = dk_store_prepare(
	    store, "SELECT data, path, purged_at FROM raw_messages WHERE sha256 = ?", error);
	if (st == NULL)
		return NULL;
	bind_text(st, 1, sha256);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no raw message %s",
			            sha256);
		else
			dk_store_set_error(store->db, error, "reading a raw message");
		sqlite3_reset(st);
		return NULL;
	}
	GBytes *out = NULL;
	if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
		dk_store_raw_gone(sha256, sqlite3_column_int64(st, 2), error);
	} else if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		out = g_bytes_new(sqlite3_column_blob(st, 0), (gsize)sqlite3_column_bytes(st, 0));
	} else {
		g_autofree char *path =
		    g_build_filename(store->data_dir, sqlite3_column_text(st, 1), NULL);
		g_autofree char *contents = NULL;
		gsize len = 0;
		GError *local = NULL;
		if (g_file_get_contents(path, &contents, &len, &local))
			out = g_bytes_new_take(g_steal_pointer(&contents), len);
		else
			g_propagate_error(error, local);
	}
	sqlite3_reset(st);
	return out;
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
                               GError **error)
{
	sqlite3_stmt *st = dk_store_prepare(
	    store,
	    "SELECT ticket, id FROM articles WHERE message_id = ? AND fingerprint = ?"
	    " ORDER BY id LIMIT 1",
	    error);
	if (st == NULL)
		return FALSE;
	bind_text(st, 1, message_id);
	bind_text(st, 2, fingerprint);
	int rc = sqlite3_step(st);
	*found_out = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW) {
		*ticket_out = sqlite3_column_int64(st, 0);
		*article_out = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dk_store_set_error(store->db, error, "looking up an article");
	return TRUE;
}

/* The first number at or after from that no ticket has, into number_out. */
static gboolean first_free(DkStore *store, gint64 from, gint64 *number_out, GError **error)
{
	gboolean taken = FALSE;
	gint64 found = 0;
	if (!dk_store_lookup_int64(
	        store,
	        dk_store_query(store, "SELECT 1 FROM tickets WHERE number = ?", error, "i", from),
	        "numbering a ticket", &found, &taken, error))
		return FALSE;
	if (!taken) {
		*number_out = from;
		return TRUE;
	}
	/* the end of the run of numbers that starts at from */
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
	sqlite3_stmt *st = dk_store_prepare(
	    store,
	    "INSERT INTO tickets (number, subject, requester, status, history, closed_at,"
	    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    error);
	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, number);
	bind_text(st, 2, subject ? subject : "");
	bind_text(st, 3, requester);
	bind_text(st, 4, dk_ticket_status_name(history ? DK_STATUS_CLOSED : DK_STATUS_NEW));
	sqlite3_bind_int(st, 5, history);
	if (history)
		sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, now);
	if (!run(store, st, "creating a ticket", error))
		return 0;
	return number;
}

gint64 dk_store_ticket_create(DkStore *store, const char *subject, const char *requester,
                              gint64 now, GError **error)
{
	gint64 last = 0, number = 0;
	if (!dk_store_lookup_int64(
	        store,
	        dk_store_query(store,
	                       "SELECT coalesce(max(number), 0) FROM tickets WHERE history = 0",
	                       error, ""),
	        "numbering a ticket", &last, NULL, error) ||
	    !first_free(store, last + 1, &number, error))
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
	return dk_store_write(store,
	                      "UPDATE tickets SET updated_at = max(updated_at, ?) WHERE number = ?",
	                      "updating a ticket", error, "ii", now, ticket);
}

gint64 dk_store_article_add(DkStore *store, DkArticle *a, GError **error)
{
	sqlite3_stmt *st =
	    dk_store_prepare(store,
	                     "INSERT INTO articles (ticket, direction, visibility, evidence, "
	                     "sender, recipients, subject,"
	                     " message_id, fingerprint, new_text, full_text, raw_sha256, intake, "
	                     "created_at, signature, signer)"
	                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                     error);
	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, a->ticket);
	const char *values[] = {dk_direction_name(a->direction),
	                        dk_visibility_name(a->visibility),
	                        a->evidence,
	                        a->sender,
	                        a->recipients,
	                        a->subject ? a->subject : "",
	                        a->message_id,
	                        a->fingerprint,
	                        a->new_text ? a->new_text : "",
	                        a->full_text ? a->full_text : "",
	                        a->raw_sha256,
	                        a->intake};
	for (guint i = 0; i < G_N_ELEMENTS(values); i++)
		bind_text(st, (int)i + 2, values[i]);
	/* The texts, the largest values, are bound without a copy: a lives
	 * until the statement has run, and the bindings go with it. */
	sqlite3_bind_text(st, 10, values[8], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, values[9], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, a->created_at);
	bind_text(st, 15, a->signature);
	bind_text(st, 16, a->signer);
	gboolean ok = run(store, st, "adding an article", error);
	sqlite3_clear_bindings(st);
	if (!ok)
		return 0;
	a->id = sqlite3_last_insert_rowid(store->db);
	if (!store->search_deferred &&
	    !dk_store_write(
	        store, "INSERT INTO article_search (rowid, subject, new_text) VALUES (?, ?, ?)",
	        "indexing an article for search", error, "iss", a->id, values[5], values[8]))
		return 0;
	gboolean cjk = dk_store_has_cjk(values[5]) || dk_store_has_cjk(values[8]);
	store->search_cjk |= store->search_deferred && cjk; /* indexed at commit */
	if (!store->search_deferred && cjk &&
	    !dk_store_write(
	        store, "INSERT INTO article_search_cjk (rowid, subject, new_text) VALUES (?, ?, ?)",
	        "indexing an article for search", error, "iss", a->id, values[5], values[8]))
		return 0;
	return a->id;
}

gboolean dk_store_attachment_add(DkStore *store, gint64 article, guint position,
                                 const DkAttachmentIn *att, GError **error)
{
	g_autofree char *dir = blob_dir(store, "attachments", att->sha256);
	if (att->data != NULL && !write_durable(dir, att->sha256, att->data, error))
		return FALSE;
	sqlite3_stmt *st =
	    dk_store_prepare(store,
	                     "INSERT INTO attachments (sha256, size, path) VALUES (?, ?, ?)"
	                     " ON CONFLICT (sha256) DO UPDATE SET path = excluded.path,"
	                     " purged_at = NULL WHERE attachments.purged_at IS NOT NULL",
	                     error);
	if (st == NULL)
		return FALSE;
	g_autofree char *rel = g_build_filename(
	    "attachments", (char[]){att->sha256[0], att->sha256[1], 0}, att->sha256, NULL);
	bind_text(st, 1, att->sha256);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)att->size);
	bind_text(st, 3, rel);
	if (!run(store, st, "storing an attachment", error))
		return FALSE;
	st = dk_store_prepare(
	    store,
	    "INSERT INTO article_attachments (article, position, sha256, filename, content_type,"
	    " content_id, disposition) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    error);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, article);
	sqlite3_bind_int(st, 2, (int)position);
	bind_text(st, 3, att->sha256);
	bind_text(st, 4, att->filename);
	bind_text(st, 5, att->content_type ? att->content_type : "application/octet-stream");
	bind_text(st, 6, att->content_id);
	bind_text(st, 7, att->disposition ? att->disposition : "attachment");
	return run(store, st, "linking an attachment", error);
}

gboolean dk_store_message_id_add(DkStore *store, const char *message_id, gint64 ticket,
                                 gint64 article, GError **error)
{
	return dk_store_write(
	    store,
	    "INSERT INTO message_ids (message_id, ticket, article) VALUES (?, ?, ?)"
	    " ON CONFLICT DO NOTHING",
	    "recording a Message-ID", error, "sin", message_id, ticket, article);
}

gboolean dk_store_participant_add(DkStore *store, gint64 ticket, const char *address,
                                  DkParticipantRole role, GError **error)
{
	return dk_store_write(
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
	*removed_out = sqlite3_changes(store->db) > 0;
	return TRUE;
}

gboolean dk_store_event_add(DkStore *store, gint64 ticket, gint64 article, const char *type,
                            const char *detail_json, gint64 now, GError **error)
{
	return dk_store_write(
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
	return dk_store_write(store,
	                      "UPDATE tickets SET status = ?1, updated_at = max(updated_at, ?3),"
	                      " closed_at = CASE WHEN ?4 THEN coalesce(closed_at, ?3) ELSE NULL END"
	                      " WHERE number = ?2",
	                      "changing a ticket", error, "siii", dk_ticket_status_name(status),
	                      ticket, now, (gint64)dk_ticket_status_is_closed(status));
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
	return dk_store_write(
	    store,
	    "INSERT INTO ticket_addresses (ticket, address, first_seen) VALUES (?, lower(?), ?)"
	    " ON CONFLICT DO NOTHING",
	    "recording a support address", error, "isi", ticket, address, now);
}

gboolean dk_store_outbox_add(DkStore *store, const char *kind, const char *target, gint64 ticket,
                             const char *payload_json, gint64 now, gint64 *id_out, GError **error)
{
	sqlite3_stmt *st = dk_store_prepare(
	    store,
	    "INSERT INTO outbox (kind, target, ticket, payload, next_attempt_at, created_at)"
	    " VALUES (?, ?, ?, ?, ?, ?)",
	    error);
	if (st == NULL)
		return FALSE;
	bind_text(st, 1, kind);
	bind_text(st, 2, target);
	bind_id(st, 3, ticket);
	bind_text(st, 4, payload_json ? payload_json : "{}");
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now);
	if (!run(store, st, "queueing outbox work", error))
		return FALSE;
	if (id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(store->db);
	return TRUE;
}
