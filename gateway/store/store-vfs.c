/* SQLite's file system as the store uses it: the platform's, except that a
 * connection's writes to its WAL file are gathered into one write.
 *
 * SQLite appends a transaction to the WAL a frame at a time, each frame as
 * two writes (its 24-byte header, then the page), so a commit of 30 pages
 * was 60 system calls, each finding and dirtying one or two pages of the
 * kernel's cache, before the one sync. Here the writes that continue one
 * another wait in memory and go to the file as one when the transaction's
 * commit frame is complete (its header says so), or sooner when anything
 * else is asked of the file within the transaction: a sync, a read, its
 * size, a truncation. So whatever SQLite does after writing a commit (sync
 * it, then tell other connections of it in the WAL's index) finds the file
 * as the platform's own writes would have left it, whatever the
 * connection's synchronous setting; a write that fails late fails the
 * commit as it would have.
 *
 * A transaction that wrote pages to the WAL before its end (a large one
 * spills them) and was then rolled back leaves frames that no commit
 * covers, and once it ends another connection may write its own commit
 * over that part of the file: what is still held of them then must never
 * reach the file. A transaction ends when its connection gives up the
 * WAL's write lock, in the database file's shared-memory locks; so the
 * database file is wrapped too, and that unlock drops what the WAL file
 * of the connection that last wrote to it still holds. */
#include "gateway/store/store-vfs.h"

#include <sqlite3.h>
#include <string.h>

#define VFS_NAME "docket"
/* Bytes held before they go to the file: the most the platform's write
 * takes at once (SQLite's Unix file system writes at most 128 KiB - 1
 * bytes a call and reports a longer write as a full disk). */
#define GATHER_MAX 0x1ffff
#define WAL_HEADER 32   /* the WAL file's header; its frames follow */
#define FRAME_HEADER 24 /* a frame's header; its page follows */

/* The shared-memory lock a writer holds for the whole of its transaction
 * (SQLite's WAL_WRITE_LOCK, the first of the WAL's locks). */
#define WAL_WRITE_LOCK 0

typedef struct WalFile WalFile;

/* One per WAL in this process, shared by every connection to its
 * database: the WAL file that wrote last, while its transaction lasts. */
typedef struct {
	char *path; /* the WAL's */
	int users;  /* files open on it, database and WAL */
	WalFile *writer;
} Shared;

struct WalFile {
	sqlite3_file base;  /* its methods: wal_methods */
	sqlite3_file *real; /* the platform's file, in the memory after this */
	Shared *shared;
	unsigned char *held;
	sqlite3_int64 held_at; /* the file offset of held[0] */
	int held_len;
	int held_cap;
	gboolean commit; /* the frame header held last is a commit's */
	gboolean direct; /* no database file of this process shares it: no holding */
	/* the transaction's commit frame is in the file: what SQLite writes
	 * after it (checksums rewritten, padding) goes straight through */
	gboolean committed;
};

typedef struct {
	sqlite3_file base; /* its methods: db_methods */
	sqlite3_file *real;
	Shared *shared;
} DbFile;

static sqlite3_vfs *platform;
static sqlite3_vfs vfs;
static gint writes; /* writes to WAL files that reached the platform */
static GMutex shared_lock;
static GHashTable *shared_by_path; /* WAL path -> Shared* */

/* The entry of wal_path, taken; users_out: its users with this one. */
static Shared *shared_take(const char *wal_path, int *users_out)
{
	g_mutex_lock(&shared_lock);
	if (shared_by_path == NULL)
		shared_by_path = g_hash_table_new(g_str_hash, g_str_equal);
	Shared *sh = g_hash_table_lookup(shared_by_path, wal_path);
	if (sh == NULL) {
		sh = g_new0(Shared, 1);
		sh->path = g_strdup(wal_path);
		g_hash_table_insert(shared_by_path, sh->path, sh);
	}
	*users_out = ++sh->users;
	g_mutex_unlock(&shared_lock);
	return sh;
}

static void shared_drop(Shared *sh, WalFile *closing)
{
	g_mutex_lock(&shared_lock);
	if (closing != NULL && sh->writer == closing)
		sh->writer = NULL;
	if (--sh->users == 0) {
		g_hash_table_remove(shared_by_path, sh->path);
		g_free(sh->path);
		g_free(sh);
	}
	g_mutex_unlock(&shared_lock);
}

static int put_held(WalFile *f)
{
	if (f->held_len == 0)
		return SQLITE_OK;
	int len = f->held_len;
	f->held_len = 0;
	g_atomic_int_inc(&writes);
	return f->real->pMethods->xWrite(f->real, f->held, len, f->held_at);
}

/* Closed between transactions: anything still held is no commit's. */
static int wal_close(sqlite3_file *file)
{
	WalFile *f = (WalFile *)file;
	int closed = f->real->pMethods->xClose(f->real);
	shared_drop(f->shared, f);
	g_free(f->held);
	f->held = NULL;
	return closed;
}

static int wal_read(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset)
{
	WalFile *f = (WalFile *)file;
	int rc = put_held(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, buffer, amount, offset);
}

static int wal_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
	WalFile *f = (WalFile *)file;
	/* only the connection holding the write lock writes */
	f->shared->writer = f;
	gboolean follows = f->held_len > 0 && offset == f->held_at + f->held_len;
	if (!follows || f->held_len + amount > GATHER_MAX || f->direct || f->committed) {
		int rc = put_held(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (amount > GATHER_MAX || f->direct || f->committed) {
		f->commit = FALSE;
		g_atomic_int_inc(&writes);
		return f->real->pMethods->xWrite(f->real, data, amount, offset);
	}
	if (f->held_len == 0)
		f->held_at = offset;
	if (f->held_cap < f->held_len + amount) {
		f->held_cap = GATHER_MAX;
		f->held = g_realloc(f->held, (gsize)f->held_cap);
	}
	memcpy(f->held + f->held_len, data, (size_t)amount);
	f->held_len += amount;
	if (amount == FRAME_HEADER && offset >= WAL_HEADER) {
		/* bytes 4-7: the database's size in pages after a commit, else 0 */
		const unsigned char *h = data;
		f->commit = (h[4] | h[5] | h[6] | h[7]) != 0;
		return SQLITE_OK;
	}
	if (f->commit) {
		f->commit = FALSE;
		f->committed = TRUE;
		return put_held(f);
	}
	return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	WalFile *f = (WalFile *)file;
	int rc = put_held(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wal_sync(sqlite3_file *file, int flags)
{
	WalFile *f = (WalFile *)file;
	int rc = put_held(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wal_file_size(sqlite3_file *file, sqlite3_int64 *size_out)
{
	WalFile *f = (WalFile *)file;
	int rc = put_held(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size_out);
}

static int wal_lock(sqlite3_file *file, int level)
{
	WalFile *f = (WalFile *)file;
	return f->real->pMethods->xLock(f->real, level);
}

static int wal_unlock(sqlite3_file *file, int level)
{
	WalFile *f = (WalFile *)file;
	return f->real->pMethods->xUnlock(f->real, level);
}

static int wal_check_reserved(sqlite3_file *file, int *reserved_out)
{
	WalFile *f = (WalFile *)file;
	return f->real->pMethods->xCheckReservedLock(f->real, reserved_out);
}

static int wal_file_control(sqlite3_file *file, int op, void *arg)
{
	WalFile *f = (WalFile *)file;
	int rc = put_held(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wal_sector_size(sqlite3_file *file)
{
	WalFile *f = (WalFile *)file;
	return f->real->pMethods->xSectorSize(f->real);
}

static int wal_device(sqlite3_file *file)
{
	WalFile *f = (WalFile *)file;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Version 1: a WAL file is never memory-mapped and has no shared memory
 * of its own (the database file's holds the WAL's index). */
static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = wal_sector_size,
    .xDeviceCharacteristics = wal_device,
};

/* The database file: the platform's, but for the end of a transaction. */
#define REAL(file) (((DbFile *)(file))->real)

static int db_close(sqlite3_file *file)
{
	DbFile *f = (DbFile *)file;
	int rc = f->real->pMethods->xClose(f->real);
	shared_drop(f->shared, NULL);
	return rc;
}

static int db_read(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset)
{
	return REAL(file)->pMethods->xRead(REAL(file), buffer, amount, offset);
}

static int db_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
	return REAL(file)->pMethods->xWrite(REAL(file), data, amount, offset);
}

static int db_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	return REAL(file)->pMethods->xTruncate(REAL(file), size);
}

static int db_sync(sqlite3_file *file, int flags)
{
	return REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int db_file_size(sqlite3_file *file, sqlite3_int64 *size_out)
{
	return REAL(file)->pMethods->xFileSize(REAL(file), size_out);
}

static int db_lock(sqlite3_file *file, int level)
{
	return REAL(file)->pMethods->xLock(REAL(file), level);
}

static int db_unlock(sqlite3_file *file, int level)
{
	return REAL(file)->pMethods->xUnlock(REAL(file), level);
}

static int db_check_reserved(sqlite3_file *file, int *reserved_out)
{
	return REAL(file)->pMethods->xCheckReservedLock(REAL(file), reserved_out);
}

static int db_file_control(sqlite3_file *file, int op, void *arg)
{
	return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int db_sector_size(sqlite3_file *file)
{
	return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int db_device(sqlite3_file *file)
{
	return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

static int db_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
	return REAL(file)->pMethods->xShmMap(REAL(file), region, size, extend, out);
}

/* Giving up the WAL's write lock ends the transaction: what its WAL file
 * still holds was written by no commit (a commit's frames went to the
 * file with its commit frame, and what followed it went straight
 * through), and is dropped before another connection can take the lock
 * and write over that part of the WAL. */
static int db_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	DbFile *f = (DbFile *)file;
	if (offset <= WAL_WRITE_LOCK && WAL_WRITE_LOCK < offset + n &&
	    (flags & SQLITE_SHM_UNLOCK) && (flags & SQLITE_SHM_EXCLUSIVE)) {
		WalFile *w = f->shared->writer;
		if (w != NULL) {
			w->held_len = 0;
			w->commit = FALSE;
			w->committed = FALSE;
			f->shared->writer = NULL;
		}
	}
	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void db_shm_barrier(sqlite3_file *file)
{
	REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int db_shm_unmap(sqlite3_file *file, int delete_flag)
{
	return REAL(file)->pMethods->xShmUnmap(REAL(file), delete_flag);
}

static int db_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
	return REAL(file)->pMethods->xFetch(REAL(file), offset, amount, out);
}

static int db_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page)
{
	return REAL(file)->pMethods->xUnfetch(REAL(file), offset, page);
}

static const sqlite3_io_methods db_methods = {
    .iVersion = 3,
    .xClose = db_close,
    .xRead = db_read,
    .xWrite = db_write,
    .xTruncate = db_truncate,
    .xSync = db_sync,
    .xFileSize = db_file_size,
    .xLock = db_lock,
    .xUnlock = db_unlock,
    .xCheckReservedLock = db_check_reserved,
    .xFileControl = db_file_control,
    .xSectorSize = db_sector_size,
    .xDeviceCharacteristics = db_device,
    .xShmMap = db_shm_map,
    .xShmLock = db_shm_lock,
    .xShmBarrier = db_shm_barrier,
    .xShmUnmap = db_shm_unmap,
    .xFetch = db_fetch,
    .xUnfetch = db_unfetch,
};

/* Opens name with the platform's file system into real, then gives file
 * the methods; NULL methods when it failed (SQLite then does not close
 * it). */
static int open_wrapped(const char *name, sqlite3_file *file, sqlite3_file *real, int flags,
                        int *flags_out, const sqlite3_io_methods *methods)
{
	int rc = platform->xOpen(platform, name, real, flags, flags_out);
	file->pMethods = rc == SQLITE_OK ? methods : NULL;
	return rc;
}

static int vfs_open(sqlite3_vfs *self, const char *name, sqlite3_file *file, int flags,
                    int *flags_out)
{
	(void)self;
	if (name != NULL && (flags & SQLITE_OPEN_WAL)) {
		WalFile *f = (WalFile *)file;
		memset(f, 0, sizeof *f);
		f->real = (sqlite3_file *)(f + 1);
		int rc = open_wrapped(name, file, f->real, flags, flags_out, &wal_methods);
		if (rc == SQLITE_OK) {
			int users = 0;
			f->shared = shared_take(name, &users);
			/* the end of a transaction is seen by the database file's
			 * locks: without that file here (a WAL named otherwise than
			 * its database, which SQLite does not do), write through */
			f->direct = users < 2;
		}
		return rc;
	}
	/* A database whose WAL is SQLite's own (a platform without shared
	 * memory, or the real file's methods older than version 3) is never
	 * this file system's case: every other file is the platform's own,
	 * in the memory given. */
	if (name == NULL || !(flags & SQLITE_OPEN_MAIN_DB))
		return platform->xOpen(platform, name, file, flags, flags_out);
	DbFile *f = (DbFile *)file;
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	int rc = open_wrapped(name, file, f->real, flags, flags_out, &db_methods);
	if (rc == SQLITE_OK) {
		g_autofree char *wal = g_strconcat(name, "-wal", NULL);
		int users = 0;
		f->shared = shared_take(wal, &users);
	}
	return rc;
}

/* The rest is the platform's, called with the platform's own vfs. */
static int vfs_delete(sqlite3_vfs *self, const char *name, int sync_dir)
{
	(void)self;
	return platform->xDelete(platform, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *self, const char *name, int flags, int *result_out)
{
	(void)self;
	return platform->xAccess(platform, name, flags, result_out);
}

static int vfs_full_pathname(sqlite3_vfs *self, const char *name, int size, char *out)
{
	(void)self;
	return platform->xFullPathname(platform, name, size, out);
}

static void *vfs_dl_open(sqlite3_vfs *self, const char *name)
{
	(void)self;
	return platform->xDlOpen(platform, name);
}

static void vfs_dl_error(sqlite3_vfs *self, int size, char *out)
{
	(void)self;
	platform->xDlError(platform, size, out);
}

static void (*vfs_dl_sym(sqlite3_vfs *self, void *handle, const char *symbol))(void)
{
	(void)self;
	return platform->xDlSym(platform, handle, symbol);
}

static void vfs_dl_close(sqlite3_vfs *self, void *handle)
{
	(void)self;
	platform->xDlClose(platform, handle);
}

static int vfs_randomness(sqlite3_vfs *self, int size, char *out)
{
	(void)self;
	return platform->xRandomness(platform, size, out);
}

static int vfs_sleep(sqlite3_vfs *self, int microseconds)
{
	(void)self;
	return platform->xSleep(platform, microseconds);
}

static int vfs_current_time(sqlite3_vfs *self, double *out)
{
	(void)self;
	return platform->xCurrentTime(platform, out);
}

static int vfs_last_error(sqlite3_vfs *self, int size, char *out)
{
	(void)self;
	return platform->xGetLastError(platform, size, out);
}

static int vfs_current_time_int64(sqlite3_vfs *self, sqlite3_int64 *out)
{
	(void)self;
	return platform->xCurrentTimeInt64(platform, out);
}

static gpointer register_vfs(gpointer data)
{
	(void)data;
	platform = sqlite3_vfs_find(NULL);
	if (platform == NULL || platform->iVersion < 2)
		return NULL;
	vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)MAX(sizeof(WalFile), sizeof(DbFile)) + platform->szOsFile,
	    .mxPathname = platform->mxPathname,
	    .zName = VFS_NAME,
	    .xOpen = vfs_open,
	    .xDelete = vfs_delete,
	    .xAccess = vfs_access,
	    .xFullPathname = vfs_full_pathname,
	    .xDlOpen = vfs_dl_open,
	    .xDlError = vfs_dl_error,
	    .xDlSym = vfs_dl_sym,
	    .xDlClose = vfs_dl_close,
	    .xRandomness = vfs_randomness,
	    .xSleep = vfs_sleep,
	    .xCurrentTime = vfs_current_time,
	    .xGetLastError = vfs_last_error,
	    .xCurrentTimeInt64 = vfs_current_time_int64,
	};
	return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK ? (gpointer)VFS_NAME : NULL;
}

const char *dk_store_vfs_name(void)
{
	static GOnce once = G_ONCE_INIT;
	return g_once(&once, register_vfs, NULL);
}

guint dk_store_vfs_wal_writes(void)
{
	return (guint)g_atomic_int_get(&writes);
}
