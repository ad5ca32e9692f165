/* Tests of the SQLite file system the store opens its database with
 * (gateway/store/store-vfs.c): a commit reaches the WAL file as one write,
 * is in the file as soon as SQLite has written its commit frame (whatever
 * the connection's synchronous setting, and in a process that ends right
 * after), and a transaction larger than one write still commits whole. */
#include "dk-test.h"
#include "gateway/store/store-private.h"
#include "gateway/store/store-vfs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

static int setup(void **state)
{
	*state = dk_test_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	dk_test_rmtree(*state);
	g_free(*state);
	return 0;
}

static DkStore *open_store(const char *dir)
{
	g_autoptr(GError) error = NULL;
	DkStore *s = dk_store_open(dir, NULL, &error);
	g_assert_no_error(error);
	/* the migrations' frames into the database, the WAL empty */
	assert_int_equal(
	    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
	    SQLITE_OK);
	return s;
}

static goffset wal_size(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "docket.db-wal", NULL);
	GStatBuf st;
	return g_stat(path, &st) == 0 ? st.st_size : -1;
}

/* Subjects of the tickets, read through SQLite's own file system (not the
 * store's), as another program would. */
static char *subjects_seen_by_others(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "docket.db", NULL);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT group_concat(subject, ',') FROM tickets", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *text = sqlite3_column_text(st, 0);
	char *out = g_strdup(text ? (const char *)text : "");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static void create_ticket(DkStore *s, const char *subject)
{
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_ticket_create(s, subject, "a@example.com", 1, &error) > 0);
	assert_true(dk_store_commit(s, &error));
	g_assert_no_error(error);
}

/* Adds n tickets (in the caller's transaction) whose subjects are their
 * number and size characters c. */
static void add_tickets(DkStore *s, int n, char c, gsize size)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *filler = g_strnfill(size, c);
	for (int i = 0; i < n; i++) {
		g_autofree char *subject = g_strdup_printf("%03d %s", i, filler);
		assert_true(dk_store_ticket_create(s, subject, NULL, 1, &error) > 0);
	}
}

/* Waits for the child, which must have exited with 0. */
static void assert_exited_well(pid_t child)
{
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A commit of many pages: its frames (a header and a page each, which
 * SQLite writes separately) reach the file in one write, two when the
 * WAL starts over (its header is synced on its own first). */
static void test_commit_is_one_write(void **state)
{
	g_autoptr(DkStore) s = open_store(*state);
	create_ticket(s, "first"); /* the WAL starts over here */
	goffset before = wal_size(*state);
	guint writes = dk_store_vfs_wal_writes();
	create_ticket(s, "second");
	guint frames = (guint)((wal_size(*state) - before) / (24 + 4096));
	assert_true(frames >= 5); /* the ticket's row and its indexes */
	assert_int_equal(dk_store_vfs_wal_writes() - writes, 1);
	g_autofree char *seen = subjects_seen_by_others(*state);
	assert_string_equal(seen, "first,second");
}

/* With no sync at commit, only the commit frame tells the file system to
 * write: another connection still finds the commit at once. (The first
 * commit starts the WAL over, and SQLite then asks the file's size, which
 * writes too: the second is the one that shows.) */
static void test_commit_without_sync_is_in_the_file(void **state)
{
	g_autoptr(DkStore) s = open_store(*state);
	g_autoptr(GError) error = NULL;
	create_ticket(s, "first");
	assert_true(dk_store_exec(s, "PRAGMA synchronous = OFF", &error));
	create_ticket(s, "unsynced");
	g_autofree char *seen = subjects_seen_by_others(*state);
	assert_string_equal(seen, "first,unsynced");
}

/* A process that ends right after its commit, without closing the store,
 * leaves the commit in the WAL (synchronous = NORMAL: no sync to flush it
 * then). */
static void test_commit_outlives_its_process(void **state)
{
	g_autoptr(DkStore) first = open_store(*state);
	dk_store_close(g_steal_pointer(&first));
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		DkStore *s = dk_store_open(*state, NULL, NULL);
		if (s == NULL || !dk_store_exec(s, "PRAGMA synchronous = NORMAL", NULL))
			_exit(2);
		gboolean ok = TRUE;
		for (int i = 0; i < 2; i++)
			ok = ok && dk_store_begin(s, NULL) &&
			     dk_store_ticket_create(s, i ? "before the end" : "first", NULL, 1,
			                            NULL) > 0 &&
			     dk_store_commit(s, NULL);
		_exit(ok ? 0 : 3);
	}
	assert_exited_well(child);
	g_autofree char *seen = subjects_seen_by_others(*state);
	assert_string_equal(seen, "first,before the end");
}

/* A transaction that spilled pages and then changed one of them again
 * has SQLite write that page over its frame and, at commit, rewrite the
 * checksums of the frames from there on: those writes come after the
 * commit frame, and in a process that ends right after its commit
 * (synchronous = NORMAL) they are in the file too. The WAL's index is
 * removed after, so that the store opened next rebuilds it from the WAL,
 * checking every checksum. */
static void test_rewritten_checksums_reach_the_file(void **state)
{
	g_autoptr(DkStore) first = open_store(*state);
	create_ticket(first, "first");
	dk_store_close(g_steal_pointer(&first));
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		DkStore *s = dk_store_open(*state, NULL, NULL);
		gboolean ok = s != NULL && dk_store_exec(s, "PRAGMA synchronous = NORMAL", NULL) &&
		              dk_store_exec(s, "PRAGMA cache_size = 10", NULL) &&
		              dk_store_begin(s, NULL);
		g_autofree char *spilled = g_strnfill(1000, 's');
		for (int i = 0; ok && i < 200; i++)
			ok = dk_store_ticket_create(s, spilled, NULL, 1, NULL) > 0;
		ok = ok &&
		     dk_store_exec(s, "UPDATE tickets SET subject = 'changed' WHERE number = 2",
		                   NULL) &&
		     dk_store_commit(s, NULL);
		_exit(ok ? 0 : 3);
	}
	assert_exited_well(child);
	g_autofree char *shm = g_build_filename(*state, "docket.db-shm", NULL);
	assert_int_equal(g_unlink(shm), 0);
	g_autofree char *seen = subjects_seen_by_others(*state);
	assert_true(g_str_has_prefix(seen, "first,changed,sss"));
	assert_int_equal(strlen(seen), strlen("first,changed") + 199 * 1001);
}

/* A transaction of far more than one write can hold (128 KiB): committed
 * whole, read back whole by another connection, and again after the store
 * is opened anew. */
static void test_large_transaction(void **state)
{
	g_autoptr(GError) error = NULL;
	DkStore *s = open_store(*state);
	guint writes = dk_store_vfs_wal_writes();
	assert_true(dk_store_begin(s, &error));
	add_tickets(s, 300, 'x', 3000);
	assert_true(dk_store_commit(s, &error));
	g_assert_no_error(error);
	assert_true(wal_size(*state) > 4 * 128 * 1024);
	assert_true(dk_store_vfs_wal_writes() - writes > 4);
	dk_store_close(s);
	s = dk_store_open(*state, NULL, &error);
	g_assert_no_error(error);
	DkStmt *st = dk_store_prepare(
	    s, "SELECT count(*), sum(length(subject)) FROM tickets WHERE subject LIKE '%xxx'",
	    &error);
	assert_non_null(st);
	assert_int_equal(dk_stmt_step(st), DK_STMT_ROW);
	assert_int_equal(dk_stmt_int64(st, 0), 300);
	assert_int_equal(dk_stmt_int64(st, 1), 300 * 3004);
	dk_stmt_reset(st);
	dk_store_close(s);
}

/* A transaction that spilled pages into the WAL before it was rolled back
 * leaves nothing behind: another connection's commit written over the
 * same part of the WAL afterwards stays as it was, whatever the first
 * connection does next. */
static void test_rolled_back_spill_is_dropped(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) a = open_store(*state);
	/* a page cache of 10 pages: the transaction below spills; with the
	 * WAL empty, its rollback reads nothing back from the WAL */
	assert_true(dk_store_exec(a, "PRAGMA cache_size = 10", &error));
	assert_true(dk_store_begin(a, &error));
	add_tickets(a, 100, 'y', 2000);
	dk_store_rollback(a);
	/* b's one commit covers the part of the WAL a wrote */
	g_autoptr(DkStore) b = dk_store_open(*state, NULL, &error);
	g_assert_no_error(error);
	assert_true(dk_store_begin(b, &error));
	add_tickets(b, 100, 'z', 2000);
	assert_true(dk_store_commit(b, &error));
	/* a reads and writes again */
	DkStmt *st = dk_store_prepare(a, "SELECT count(*) FROM tickets", &error);
	assert_int_equal(dk_stmt_step(st), DK_STMT_ROW);
	assert_int_equal(dk_stmt_int64(st, 0), 100);
	dk_stmt_reset(st);
	create_ticket(a, "last");
	dk_store_close(g_steal_pointer(&a));
	dk_store_close(g_steal_pointer(&b));
	g_autofree char *path = g_build_filename(*state, "docket.db", NULL);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *check = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(check), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(check, 0), "ok");
	sqlite3_finalize(check);
	sqlite3_close(db);
	DkStore *s = dk_store_open(*state, NULL, &error);
	g_assert_no_error(error);
	DkStmt *zs = dk_store_prepare(
	    s, "SELECT count(*) FROM tickets WHERE subject LIKE '%zzzz' AND length(subject) = 2004",
	    &error);
	assert_int_equal(dk_stmt_step(zs), DK_STMT_ROW);
	assert_int_equal(dk_stmt_int64(zs, 0), 100);
	dk_stmt_reset(zs);
	dk_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commit_is_one_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_without_sync_is_in_the_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_commit_outlives_its_process, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rewritten_checksums_reach_the_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_large_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rolled_back_spill_is_dropped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
