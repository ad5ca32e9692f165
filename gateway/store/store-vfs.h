/* The SQLite file system the store opens its database with: the
 * platform's, with a connection's writes to its WAL gathered into one
 * write a commit (store-vfs.c). */
#ifndef DK_STORE_VFS_H
#define DK_STORE_VFS_H

#include <glib.h>

/* Registers the file system with SQLite once (not as the default) and
 * returns its name for sqlite3_open_v2(); NULL if SQLite's own default
 * could not be found, and then the caller opens with that default. */
const char *dk_store_vfs_name(void);

/* How many writes this process has made to WAL files through it, each of
 * one or more of SQLite's (for tests). */
guint dk_store_vfs_wal_writes(void);

#endif
