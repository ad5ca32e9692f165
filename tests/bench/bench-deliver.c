/* Benchmark of the MTA pipe: N distinct messages of a given size, each
 * delivered by its own `docket deliver` process as an MTA pipe would, into a
 * fresh store with synchronous=FULL, side by side with the two floors of any
 * pipe that stores mail durably:
 *
 *   start   starting `/bin/true` (fork, exec, dynamic loading of libc, exit);
 *   commit  one durable SQLite commit: open a store (WAL, synchronous=FULL),
 *           insert one row of the message's size, commit, close. The WAL is
 *           checkpointed outside the timing every few commits, so that each
 *           timed open reads a short WAL, as SQLite at its cheapest does.
 *
 * Each round runs the three in turn, N times each, and measures wall time
 * and CPU time (user + system, from the kernel's accounting of the
 * processes). The ratio docket / (start + commit) is printed per round and
 * for the medians. On a machine shared with other work, wall time swings
 * with the load; CPU time much less so.
 *
 * With JOBS above 1, that many deliver processes run at once, as an MTA's
 * pipe transport runs them (Postfix: up to default_destination_concurrency_limit,
 * 20); the floors then still run one at a time.
 *
 * usage: bench-deliver [DOCKET_BINARY [MESSAGES [SIZE [ROUNDS [JOBS]]]]] */
#include "bench.h"
#include "dk-test.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ROUNDS 64
/* The floor's WAL is checkpointed (untimed) after this many commits. */
#define FLOOR_CHECKPOINT_EVERY 8

typedef struct {
	double wall_ms; /* per message */
	double cpu_ms;  /* per message, user + system */
	double faults;  /* minor page faults per message */
} Cost;

typedef struct {
	double cpu_ms;
	double faults;
	long peak_kib;
} Children;

static char *make_message(int round, int i, gsize size)
{
	GString *m = g_string_new(NULL);
	g_string_append_printf(
	    m,
	    "From: Customer %d <customer%d@example.com>\r\nTo: support@example.com\r\n"
	    "Subject: Benchmark message %d of round %d\r\n"
	    "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <bench-%d-%d@example.com>\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
	    i % 97, i % 97, i, round, round, i);
	while (m->len < size)
		g_string_append(
		    m, "The quick brown fox jumps over the lazy dog, again and again.\r\n");
	g_string_truncate(m, size);
	return g_string_free(m, FALSE);
}

static double rusage_ms(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e3 +
	       (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e3;
}

/* Starts `docket -c conf deliver` with text on its stdin (a pipe: the
 * message fits in the pipe's buffer, so this does not wait); returns the
 * child. */
static pid_t deliver_start(const char *docket, const char *conf, const char *text)
{
	int fds[2];
	if (pipe(fds) != 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[0], STDIN_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(docket, docket, "-c", conf, "deliver", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	gsize len = strlen(text);
	for (gsize off = 0; off < len;) {
		ssize_t w = write(fds[1], text + off, len - off);
		if (w <= 0)
			break;
		off += (gsize)w;
	}
	close(fds[1]);
	return pid;
}

/* Waits for any one child and adds its CPU time, faults and RSS. */
static void reap(Children *acc, const char *what)
{
	int status = 0;
	struct rusage ru;
	while (wait4(-1, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "bench-deliver: wait4: %s\n", g_strerror(errno));
			exit(1);
		}
	}
	acc->cpu_ms += rusage_ms(&ru);
	acc->faults += (double)ru.ru_minflt;
	acc->peak_kib = MAX(acc->peak_kib, ru.ru_maxrss);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-deliver: %s failed (status %d)\n", what, status);
		exit(1);
	}
}

static Cost run_docket(const char *docket, int round, int count, gsize size, int jobs,
                       long *peak_kib)
{
	g_autofree char *dir = dk_test_tmpdir();
	g_autofree char *conf = g_build_filename(dir, "docket.conf", NULL);
	g_autofree char *text = g_strdup_printf("[store]\ndata_dir = %s/var\n", dir);
	g_file_set_contents(conf, text, -1, NULL);
	GPtrArray *messages = g_ptr_array_new_with_free_func(g_free);
	for (int i = 0; i < count; i++)
		g_ptr_array_add(messages, make_message(round, i, size));
	Children acc = {0};
	gint64 start = g_get_monotonic_time();
	int running = 0;
	for (int i = 0; i < count; i++) {
		if (running == jobs) {
			reap(&acc, "docket deliver");
			running--;
		}
		deliver_start(docket, conf, g_ptr_array_index(messages, i));
		running++;
	}
	for (; running > 0; running--)
		reap(&acc, "docket deliver");
	double wall = (double)(g_get_monotonic_time() - start) / 1000.0;
	g_ptr_array_unref(messages);
	dk_test_rmtree(dir);
	*peak_kib = MAX(*peak_kib, acc.peak_kib);
	return (Cost){wall / count, acc.cpu_ms / count, acc.faults / count};
}

/* The first floor: fork, exec and exit of a program that does nothing. */
static Cost run_true(int count)
{
	Children acc = {0};
	gint64 start = g_get_monotonic_time();
	for (int i = 0; i < count; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		reap(&acc, "/bin/true");
	}
	double wall = (double)(g_get_monotonic_time() - start) / 1000.0;
	return (Cost){wall / count, acc.cpu_ms / count, acc.faults / count};
}

static void must(int rc, sqlite3 *db, const char *doing)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE) {
		fprintf(stderr, "bench-deliver: commit floor: %s: %s\n", doing,
		        db ? sqlite3_errmsg(db) : "?");
		exit(1);
	}
}

/* One timed durable commit: open, insert a row of size bytes, commit,
 * close (leaving the WAL, as docket does). */
static void floor_commit(const char *path, const char *row, gsize size)
{
	sqlite3 *db = NULL;
	must(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), db, "open");
	int persist = 1;
	sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	must(sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL), db, "synchronous");
	sqlite3_stmt *st = NULL;
	must(sqlite3_prepare_v2(db, "INSERT INTO messages (data) VALUES (?)", -1, &st, NULL), db,
	     "prepare");
	sqlite3_bind_blob(st, 1, row, (int)size, SQLITE_STATIC);
	must(sqlite3_step(st), db, "insert");
	sqlite3_finalize(st);
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_close(db);
}

static double self_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return rusage_ms(&ru);
}

static double self_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_minflt;
}

/* The second floor, in this process (its start is the first floor's). */
static Cost run_commit(int count, gsize size)
{
	g_autofree char *dir = dk_test_tmpdir();
	g_autofree char *path = g_build_filename(dir, "floor.db", NULL);
	sqlite3 *db = NULL;
	must(sqlite3_open(path, &db), db, "create");
	must(sqlite3_exec(db,
	                  "PRAGMA journal_mode = WAL;"
	                  "CREATE TABLE messages (id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
	                  NULL, NULL, NULL),
	     db, "schema");
	sqlite3_close(db);
	char *row = g_malloc(size);
	memset(row, 'x', size);
	double wall = 0, cpu = 0, faults = 0;
	for (int i = 0; i < count; i++) {
		gint64 t0 = g_get_monotonic_time();
		double c0 = self_cpu_ms(), f0 = self_faults();
		floor_commit(path, row, size);
		cpu += self_cpu_ms() - c0;
		faults += self_faults() - f0;
		wall += (double)(g_get_monotonic_time() - t0) / 1000.0;
		if ((i + 1) % FLOOR_CHECKPOINT_EVERY == 0) {
			must(sqlite3_open(path, &db), db, "open");
			must(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
			                               NULL),
			     db, "checkpoint");
			sqlite3_close(db);
		}
	}
	g_free(row);
	dk_test_rmtree(dir);
	return (Cost){wall / count, cpu / count, faults / count};
}

static double median(double *v, int n)
{
	double copy[MAX_ROUNDS];
	memcpy(copy, v, sizeof v[0] * (size_t)n);
	dk_bench_sort(copy, (size_t)n);
	return copy[n / 2];
}

int main(int argc, char **argv)
{
	const char *docket = argc > 1 ? argv[1] : g_getenv("DOCKET_BINARY");
	int count = argc > 2 ? atoi(argv[2]) : 300;
	gsize size = argc > 3 ? (gsize)atol(argv[3]) : 4096;
	int rounds = argc > 4 ? atoi(argv[4]) : 3;
	int jobs = argc > 5 ? atoi(argv[5]) : 1;
	if (docket == NULL || count <= 0 || size < 512 || rounds <= 0 || rounds > MAX_ROUNDS ||
	    jobs <= 0) {
		fprintf(stderr,
		        "usage: bench-deliver DOCKET_BINARY [MESSAGES [SIZE [ROUNDS [JOBS]]]]\n");
		return 64;
	}
	double d_wall[MAX_ROUNDS], d_cpu[MAX_ROUNDS], d_flt[MAX_ROUNDS];
	double t_wall[MAX_ROUNDS], t_cpu[MAX_ROUNDS], t_flt[MAX_ROUNDS];
	double c_wall[MAX_ROUNDS], c_cpu[MAX_ROUNDS], c_flt[MAX_ROUNDS];
	double r_wall[MAX_ROUNDS], r_cpu[MAX_ROUNDS], rate[MAX_ROUNDS];
	long peak = 0;
	printf(
	    "docket deliver, one process per message, %d messages of %zu bytes, synchronous=FULL, "
	    "%d at a time;\nfloors: /bin/true, and one durable SQLite commit (open, insert, "
	    "commit, close)\n",
	    count, size, jobs);
	printf("%-6s %-28s %-28s %-28s %s\n", "", "docket deliver", "start (/bin/true)", "commit",
	       "docket / (start + commit)");
	printf("%-6s %-28s %-28s %-28s %s\n", "", "wall ms  cpu ms  faults",
	       "wall ms  cpu ms  faults", "wall ms  cpu ms  faults", "wall   cpu");
	for (int r = 0; r < rounds; r++) {
		Cost d = run_docket(docket, r, count, size, jobs, &peak);
		Cost t = run_true(count);
		Cost c = run_commit(count, size);
		d_wall[r] = d.wall_ms, d_cpu[r] = d.cpu_ms, d_flt[r] = d.faults;
		t_wall[r] = t.wall_ms, t_cpu[r] = t.cpu_ms, t_flt[r] = t.faults;
		c_wall[r] = c.wall_ms, c_cpu[r] = c.cpu_ms, c_flt[r] = c.faults;
		r_wall[r] = d.wall_ms / (t.wall_ms + c.wall_ms);
		r_cpu[r] = d.cpu_ms / (t.cpu_ms + c.cpu_ms);
		rate[r] = 1000.0 / d.wall_ms;
		printf("round %d %7.2f %7.2f %6.0f    %7.2f %7.2f %6.0f    %7.2f %7.2f %6.0f    "
		       "%5.2f  %5.2f\n",
		       r + 1, d.wall_ms, d.cpu_ms, d.faults, t.wall_ms, t.cpu_ms, t.faults,
		       c.wall_ms, c.cpu_ms, c.faults, r_wall[r], r_cpu[r]);
	}
	double dw = median(d_wall, rounds), dc = median(d_cpu, rounds);
	double tw = median(t_wall, rounds), tc = median(t_cpu, rounds);
	double cw = median(c_wall, rounds), cc = median(c_cpu, rounds);
	printf(
	    "median  %7.2f %7.2f %6.0f    %7.2f %7.2f %6.0f    %7.2f %7.2f %6.0f    %5.2f  %5.2f\n",
	    dw, dc, median(d_flt, rounds), tw, tc, median(t_flt, rounds), cw, cc,
	    median(c_flt, rounds), dw / (tw + cw), dc / (tc + cc));
	printf("docket: median %.1f messages/s (wall), %.0f messages/s per core in CPU time; peak "
	       "RSS of one "
	       "deliver %.1f MiB\n",
	       median(rate, rounds), 1000.0 / dc, peak / 1024.0);
	dk_bench_sort(r_wall, (size_t)rounds);
	dk_bench_sort(r_cpu, (size_t)rounds);
	printf("target: docket / (start + commit) <= 3: wall %.2f (rounds %.2f-%.2f), CPU %.2f "
	       "(rounds %.2f-%.2f)\n",
	       dw / (tw + cw), r_wall[0], r_wall[rounds - 1], dc / (tc + cc), r_cpu[0],
	       r_cpu[rounds - 1]);
	return 0;
}
