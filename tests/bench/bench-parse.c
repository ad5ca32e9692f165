/* Prints how fast dk_message_parse() normalises mail, next to GMime's bare
 * parse of the same files in the same run.
 *
 *   bench-parse [-n REPS] [-r ROUNDS] [-o bare|full|hash] [PATH...]
 *
 * PATHs are files or folders (read recursively); without any, the corpus
 * under $DOCKET_SHARED is used. Each round parses every message REPS times
 * both ways; the median round is reported. Times are the thread's CPU
 * time, so other load on the machine does not skew the ratio. With -o,
 * only that side runs and nothing is printed: for instruction counts
 * under perf stat or callgrind. */
#include "bench.h"
#include "parsers/digest.h"
#include "parsers/message.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void load(const char *path, GPtrArray *out, guint depth)
{
	if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
		g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
		const char *name;
		while (d != NULL && depth < 16 && (name = g_dir_read_name(d)) != NULL) {
			if (name[0] == '.' || g_str_has_prefix(name, "LICENSE") ||
			    g_str_has_suffix(name, ".md") || g_str_has_suffix(name, ".json"))
				continue;
			g_autofree char *child = g_build_filename(path, name, NULL);
			load(child, out, depth + 1);
		}
		return;
	}
	char *data = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &data, &len, NULL))
		return;
	GBytes *b = g_bytes_new_take(data, len);
	g_autoptr(DkMessage) m = dk_message_parse(b, NULL, NULL);
	if (m != NULL)
		g_ptr_array_add(out, b); /* only what docket accepts as mail */
	else
		g_bytes_unref(b);
}

static void bare_parse(GBytes *b)
{
	gsize n = 0;
	const char *p = g_bytes_get_data(b, &n);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(p, n);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	if (m != NULL)
		g_object_unref(m);
	g_object_unref(parser);
	g_object_unref(stream);
}

static void full_parse(GBytes *b)
{
	DkParseOptions o = {.arrival_time = 1700000000};
	DkMessage *m = dk_message_parse(b, &o, NULL);
	dk_message_free(m);
}

/* What the fingerprint alone costs: SHA-256 (parsers/digest.h) over the
 * raw bytes. */
static void hash_only(GBytes *b)
{
	char hex[65];
	dk_sha256_hex(g_bytes_get_data(b, NULL), g_bytes_get_size(b), hex);
}

/* The CPU time of this thread: on a shared machine, time spent waiting
 * for a core does not count against either side. */
static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double time_round(GPtrArray *msgs, guint reps, void (*fn)(GBytes *))
{
	double start = cpu_seconds();
	for (guint r = 0; r < reps; r++)
		for (guint i = 0; i < msgs->len; i++)
			fn(g_ptr_array_index(msgs, i));
	return cpu_seconds() - start;
}

int main(int argc, char **argv)
{
	guint reps = 5, rounds = 5;
	const char *only = NULL; /* "bare", "full" or "hash": for profilers */
	int opt = 1;
	for (; opt + 1 < argc && argv[opt][0] == '-'; opt += 2) {
		if (strcmp(argv[opt], "-n") == 0)
			reps = (guint)MAX(1, atoi(argv[opt + 1]));
		else if (strcmp(argv[opt], "-r") == 0)
			rounds = (guint)MAX(1, atoi(argv[opt + 1]));
		else if (strcmp(argv[opt], "-o") == 0)
			only = argv[opt + 1];
	}
	g_mime_init();
	g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autofree char *corpus = g_getenv("DOCKET_SHARED")
	                              ? g_build_filename(g_getenv("DOCKET_SHARED"), "corpus", NULL)
	                              : NULL;
	if (opt < argc)
		for (int i = opt; i < argc; i++)
			load(argv[i], msgs, 0);
	else if (corpus != NULL)
		load(corpus, msgs, 0);
	if (msgs->len == 0) {
		fprintf(stderr,
		        "usage: bench-parse [-n REPS] [-r ROUNDS] [-o bare|full|hash] PATH... "
		        "(or set DOCKET_SHARED)\n");
		return 2;
	}
	gsize bytes = 0;
	for (guint i = 0; i < msgs->len; i++)
		bytes += g_bytes_get_size(g_ptr_array_index(msgs, i));
	double bare[64], full[64], hash[64];
	rounds = MIN(rounds, 64);
	if (only != NULL) {
		for (guint r = 0; r < rounds; r++)
			time_round(msgs, reps,
			           strcmp(only, "bare") == 0   ? bare_parse
			           : strcmp(only, "full") == 0 ? full_parse
			                                       : hash_only);
		return 0;
	}
	for (guint r = 0; r < rounds; r++) { /* interleaved, so drift hits both */
		bare[r] = time_round(msgs, reps, bare_parse);
		full[r] = time_round(msgs, reps, full_parse);
		hash[r] = time_round(msgs, reps, hash_only);
	}
	dk_bench_sort(bare, rounds);
	dk_bench_sort(full, rounds);
	dk_bench_sort(hash, rounds);
	double tb = bare[rounds / 2], tf = full[rounds / 2], th = hash[rounds / 2];
	double n = (double)msgs->len * reps, mb = (double)bytes * reps / 1e6;
	printf("messages: %u (%.2f MB), %u repetitions, median of %u rounds, CPU time\n", msgs->len,
	       bytes / 1e6, reps, rounds);
	printf("gmime bare parse:  %9.0f messages/s  %7.1f MB/s\n", n / tb, mb / tb);
	printf("dk_message_parse:  %9.0f messages/s  %7.1f MB/s\n", n / tf, mb / tf);
	printf("normalisation / bare parse time: %.2fx\n", tf / tb);
	printf("of which SHA-256 of the raw bytes (the fingerprint; Nettle, %.0f MB/s): %.2fx\n",
	       mb / th, th / tb);
	return 0;
}
