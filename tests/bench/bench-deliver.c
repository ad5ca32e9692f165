/* Benchmark of the MTA pipe: N distinct messages of a given size, each
 * delivered by its own `docket deliver` process as an MTA pipe would, into a
 * fresh store with synchronous=FULL. Prints messages/s per round, their
 * median, and the peak RSS of any one deliver process. With JOBS above 1,
 * that many deliver processes run at once, as an MTA's pipe transport runs
 * them (Postfix: up to default_destination_concurrency_limit, 20); 1, one
 * after the other, is the default.
 *
 * usage: bench-deliver [DOCKET_BINARY [MESSAGES [SIZE [ROUNDS [JOBS]]]]] */
#include "bench.h"
#include "dk-test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char *make_message(int round, int i, gsize size)
{
	GString *m = g_string_new(NULL);
	g_string_append_printf(m,
			       "From: Customer %d <customer%d@example.com>\r\nTo: support@example.com\r\n"
			       "Subject: Benchmark message %d of round %d\r\n"
			       "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <bench-%d-%d@example.com>\r\n"
			       "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
			       i % 97, i % 97, i, round, round, i);
	while (m->len < size)
		g_string_append(m, "The quick brown fox jumps over the lazy dog, again and again.\r\n");
	g_string_truncate(m, size);
	return g_string_free(m, FALSE);
}

static double cpu_seconds; /* user + system time of all deliver processes */

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

/* Waits for any one deliver process; returns its max RSS in KiB. */
static long deliver_reap(void)
{
	int status = 0;
	struct rusage ru;
	while (wait4(-1, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "bench-deliver: wait4: %s\n", g_strerror(errno));
			exit(1);
		}
	}
	cpu_seconds += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-deliver: docket deliver failed (status %d)\n", status);
		exit(1);
	}
	return ru.ru_maxrss;
}

/* The floor of any pipe: starting the binary and letting it exit
 * (`docket --version`), timed the same way, in milliseconds. */
static double start_floor_ms(const char *docket, int count)
{
	gint64 start = g_get_monotonic_time();
	for (int i = 0; i < count; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, STDOUT_FILENO);
			execl(docket, docket, "--version", (char *)NULL);
			_exit(127);
		}
		int status = 0;
		waitpid(pid, &status, 0);
	}
	return (double)(g_get_monotonic_time() - start) / 1000.0 / count;
}

int main(int argc, char **argv)
{
	const char *docket = argc > 1 ? argv[1] : g_getenv("DOCKET_BINARY");
	int count = argc > 2 ? atoi(argv[2]) : 300;
	gsize size = argc > 3 ? (gsize)atol(argv[3]) : 4096;
	int rounds = argc > 4 ? atoi(argv[4]) : 3;
	int jobs = argc > 5 ? atoi(argv[5]) : 1;
	if (docket == NULL || count <= 0 || rounds <= 0 || rounds > 64 || jobs <= 0) {
		fprintf(stderr, "usage: bench-deliver DOCKET_BINARY [MESSAGES [SIZE [ROUNDS [JOBS]]]]\n");
		return 64;
	}
	double rates[64];
	long peak = 0;
	printf("docket deliver, one process per message, %d messages of %zu bytes, synchronous=FULL, "
	       "%d at a time\n",
	       count, size, jobs);
	for (int r = 0; r < rounds; r++) {
		g_autofree char *dir = dk_test_tmpdir();
		g_autofree char *conf = g_build_filename(dir, "docket.conf", NULL);
		g_autofree char *text = g_strdup_printf("[store]\ndata_dir = %s/var\n", dir);
		g_file_set_contents(conf, text, -1, NULL);
		GPtrArray *messages = g_ptr_array_new_with_free_func(g_free);
		for (int i = 0; i < count; i++)
			g_ptr_array_add(messages, make_message(r, i, size));
		gint64 start = g_get_monotonic_time();
		int running = 0;
		for (int i = 0; i < count; i++) {
			if (running == jobs) {
				long rss = deliver_reap();
				peak = MAX(peak, rss);
				running--;
			}
			deliver_start(docket, conf, g_ptr_array_index(messages, i));
			running++;
		}
		for (; running > 0; running--) {
			long rss = deliver_reap();
			peak = MAX(peak, rss);
		}
		double seconds = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
		rates[r] = count / seconds;
		printf("  round %d: %.1f messages/s (%.2f ms per message)\n", r + 1, rates[r], 1000.0 * seconds / count);
		g_ptr_array_unref(messages);
		dk_test_rmtree(dir);
	}
	dk_bench_sort(rates, (size_t)rounds);
	printf("process start alone (docket --version): %.2f ms\n", start_floor_ms(docket, 100));
	printf("median: %.1f messages/s; peak RSS of one deliver: %.1f MiB\n", rates[rounds / 2], peak / 1024.0);
	/* Wall time suffers from whatever else the machine runs; CPU time per
	 * message says what one idle core could do. */
	double per = cpu_seconds / ((double)count * rounds);
	printf("CPU per message: %.2f ms (user+system), i.e. %.0f messages/s per idle core before fsync waits\n",
	       per * 1000, 1 / per);
	printf("target: 175 messages/s (4096-byte messages); median / target = %.2f\n", rates[rounds / 2] / 175.0);
	return 0;
}
