/* The SQLite side of the store: opening the database (WAL, its settings,
 * its migrations), closing it, and what the seam (store-stmt.c) does not
 * cover: the state of the connection's transaction. */
#include "gateway/store/store-private.h"
#include "gateway/store/store-vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean exec(DkStore *s, const char *sql, GError **error)
{
	return dk_store_exec(s, sql, error);
}

/* SQLite's automatic checkpoint (a passive one past this many WAL frames),
 * kept, and the WAL's size after each commit noted for dk_store_close().
 * SQLite's default is 1,000 frames; a checkpoint writes each page the
 * frames since the last one changed once, and syncs the database, so
 * fewer and larger ones write the pages every commit changes (the tails of
 * tables and indexes) less often: 4,000 frames (16.5 MB) took `docket
 * serve` at 20 LMTP sessions from 2,912 to 3,507 msg/s (medians of three
 * runs each, alternated). A checkpoint on a thread of its own, beside the
 * writer, was tried: its sync of the database delayed the writer's syncs
 * of the WAL, and 4 sessions lost a tenth. */
#define AUTO_CHECKPOINT_FRAMES 4000

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
		return dk_store_sqlite_error(s->db, error, "PRAGMA journal_mode = WAL");
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
	 * down to this size. Above the ~16.5 MB that the automatic checkpoint
	 * lets it reach, `docket serve` keeps writing over blocks the file
	 * has already, and an fdatasync of a file whose size did not change
	 * needs no journal commit of the file system: 314-346 us per commit
	 * with a 1 MiB limit, 173-198 us with one above the WAL's size. A
	 * closing connection that checkpoints still empties the WAL (see
	 * dk_store_close()). */
	return exec(s, "PRAGMA journal_size_limit = 33554432", error);
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

/* One process writes to a SQLite store at a time, and its one `docket
 * serve` runs each job: every job and lease is the caller's. */
static gboolean sqlite_job_try(DkStore *store, const char *job, gboolean *mine_out, GError **error)
{
	(void)store;
	(void)job;
	(void)error;
	*mine_out = TRUE;
	return TRUE;
}

static gboolean sqlite_lease_hold(DkStore *store, const char *name, gboolean *held_out,
                                  GError **error)
{
	(void)store;
	(void)name;
	(void)error;
	*held_out = TRUE;
	return TRUE;
}

static const DkStoreGroupOps sqlite_group = {
    .job_try = sqlite_job_try,
    .lease_hold = sqlite_lease_hold,
};

DkStore *dk_store_new(const char *data_dir, const DkStoreOptions *options)
{
	DkStore *s = g_new0(DkStore, 1);
	s->data_dir = g_strdup(data_dir);
	s->options.inline_max = options ? options->inline_max : 256 * 1024;
	s->options.busy_timeout_ms = options ? options->busy_timeout_ms : 5000;
	s->wal_frames = -1;
	s->group = &sqlite_group;
	dk_store_statements_init(s);
	return s;
}

/* The backends other than SQLite, registered by the program that has them. */
static const DkStoreOps *backends[4];

void dk_store_backend_register(const DkStoreOps *backend)
{
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		if (backends[i] == NULL || backends[i] == backend) {
			backends[i] = backend;
			return;
		}
	}
	g_assert_not_reached();
}

const DkStoreOps *dk_store_backend_find(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(backends) && backends[i] != NULL; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
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
	g_autoptr(DkStore) s = dk_store_new(data_dir, options);
	g_autofree char *path = g_build_filename(data_dir, "docket.db", NULL);
	if (!private_database(path, error))
		return NULL;
	int rc = sqlite3_open_v2(path, &s->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         dk_store_vfs_name());
	if (rc != SQLITE_OK) {
		dk_store_sqlite_error(s->db, error, "opening the database");
		g_prefix_error(error, "%s: ", path);
		return NULL;
	}
	if (!configure(s, error) || !dk_store_schema_migrate(s->db, error)) {
		g_prefix_error(error, "%s: ", path);
		return NULL;
	}
	return g_steal_pointer(&s);
}

/* The backend [store] backend names other than SQLite, or NULL for
 * SQLite. */
static const char *other_backend(const DkConfig *config)
{
	return dk_config_store_backend(config) == DK_STORE_BACKEND_POSTGRESQL ? "postgresql" : NULL;
}

gboolean dk_store_backend_available(const DkConfig *config)
{
	const char *name = other_backend(config);
	return name == NULL || dk_store_backend_find(name) != NULL;
}

DkStore *dk_store_open_config(const DkConfig *config, GError **error)
{
	DkStoreOptions options = {
	    .inline_max = (gsize)dk_config_get_int(config, "store", "inline_max"),
	    .busy_timeout_ms = (int)dk_config_get_int(config, "store", "busy_timeout_ms"),
	};
	const char *name = other_backend(config);
	if (name == NULL)
		return dk_store_open(dk_config_get_string(config, "store", "data_dir"), &options,
		                     error);
	const DkStoreOps *ops = dk_store_backend_find(name);
	if (ops == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "store: [store] backend = %s: not in this program (docket-net has it)",
		            name);
		return NULL;
	}
	g_autoptr(DkStore) s =
	    dk_store_new(dk_config_get_string(config, "store", "data_dir"), &options);
	if (!ops->open(s, config, error))
		return NULL;
	return g_steal_pointer(&s);
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
	if (store->backend != NULL)
		store->backend->close(store);
	g_free(store->data_dir);
	g_free(store);
}

int dk_store_schema_version(DkStore *store)
{
	if (store->backend != NULL)
		return store->backend->schema_version(store);
	DkStmt *st = dk_store_prepare(store, "PRAGMA user_version", NULL);
	int v = (st && dk_stmt_step(st) == DK_STMT_ROW) ? (int)dk_stmt_int64(st, 0) : -1;
	if (st)
		dk_stmt_reset(st);
	return v;
}

gint64 dk_store_changes(DkStore *store)
{
	if (store->backend != NULL)
		return store->backend->total_changes(store);
	return sqlite3_total_changes64(store->db);
}

gboolean dk_store_transaction_failed(DkStore *store)
{
	return store->backend != NULL && store->backend->transaction_failed(store);
}

gboolean dk_store_in_transaction(DkStore *store)
{
	if (store->backend != NULL)
		return store->backend->in_transaction(store);
	return !sqlite3_get_autocommit(store->db);
}
