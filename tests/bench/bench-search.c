/* Benchmark of ticket search: builds a store of 100,000 articles (20,000
 * tickets of 5) through the store API in large transactions, with text
 * drawn from a 5,000-word vocabulary by a Zipf-like law, then times
 * dk_store_search (top 20, FTS5 bm25) for common, middling and rare single
 * words and two-word queries, printing latency percentiles. Usage:
 * bench-search [ARTICLES] [DIR] (default 100000, a temporary folder that
 * is removed afterwards). */
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk-test.h"
#include "gateway/store/store.h"

#define VOCABULARY 5000
#define PER_TICKET 5
#define WORDS_PER_ARTICLE 60
#define QUERIES 400
#define BATCH 10000

static char *vocabulary[VOCABULARY];
static double cumulative[VOCABULARY];

/* Pronounceable made-up words, the same on every run. */
static void make_vocabulary(GRand *rand)
{
	static const char *const syllables[] = {"ka",  "lo",  "mi",  "ne",  "ru",  "sa",  "te",
	                                        "vo",  "zi",  "pa",  "dor", "fen", "gil", "hak",
	                                        "jun", "bre", "cly", "wen", "tor", "qua"};
	double total = 0;
	for (int i = 0; i < VOCABULARY; i++) {
		GString *w = g_string_new(NULL);
		int n = 2 + g_rand_int_range(rand, 0, 3);
		for (int s = 0; s < n; s++)
			g_string_append(
			    w, syllables[g_rand_int_range(rand, 0, G_N_ELEMENTS(syllables))]);
		g_string_append_printf(w, "%d", i % 10); /* keeps the words distinct enough */
		vocabulary[i] = g_string_free(w, FALSE);
		total += 1.0 / (i + 1);
		cumulative[i] = total;
	}
	for (int i = 0; i < VOCABULARY; i++)
		cumulative[i] /= total;
}

static const char *zipf_word(GRand *rand)
{
	double x = g_rand_double(rand);
	int lo = 0, hi = VOCABULARY - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (cumulative[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return vocabulary[lo];
}

static char *sentence(GRand *rand, int words)
{
	GString *s = g_string_new(NULL);
	for (int i = 0; i < words; i++)
		g_string_append_printf(s, "%s%s", i ? " " : "", zipf_word(rand));
	return g_string_free(s, FALSE);
}

static gboolean add_ticket(DkStore *store, GRand *rand, gint64 now, GError **error)
{
	g_autofree char *subject = sentence(rand, 5);
	gint64 n = dk_store_ticket_create(store, subject, "customer@example.com", now, error);
	if (n == 0)
		return FALSE;
	for (int a = 0; a < PER_TICKET; a++) {
		g_autofree char *text = sentence(rand, WORDS_PER_ARTICLE);
		DkArticle art = {.ticket = n,
		                 .direction = a % 2 ? DK_OUTBOUND : DK_INBOUND,
		                 .visibility = DK_PUBLIC,
		                 .evidence = "bench",
		                 .subject = subject,
		                 .new_text = text,
		                 .full_text = text,
		                 .created_at = now};
		if (dk_store_article_add(store, &art, error) == 0)
			return FALSE;
	}
	return TRUE;
}

static gboolean build(DkStore *store, guint articles, GRand *rand, GError **error)
{
	guint tickets = articles / PER_TICKET;
	for (guint done = 0; done < tickets;) {
		if (!dk_store_begin(store, error))
			return FALSE;
		for (guint i = 0; i < BATCH / PER_TICKET && done < tickets; i++, done++) {
			if (!add_ticket(store, rand, 1700000000 + done, error)) {
				dk_store_rollback(store);
				return FALSE;
			}
		}
		if (!dk_store_commit(store, error))
			return FALSE;
	}
	return TRUE;
}

/* Times QUERIES searches made by make_query; prints the percentiles. */
static void run_class(DkStore *store, const char *name, GRand *rand, char *(*make_query)(GRand *))
{
	double ms[QUERIES];
	guint hits = 0;
	for (int i = 0; i < QUERIES; i++) {
		g_autofree char *q = make_query(rand);
		gint64 start = g_get_monotonic_time();
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) found = dk_store_search(store, q, 20, &error);
		ms[i] = (g_get_monotonic_time() - start) / 1000.0;
		if (found == NULL) {
			fprintf(stderr, "search “%s”: %s\n", q, error->message);
			exit(1);
		}
		hits += found->len;
	}
	dk_bench_sort(ms, QUERIES);
	printf("%-22s p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (%.1f hits/query)\n",
	       name, ms[QUERIES / 2], ms[QUERIES * 95 / 100], ms[QUERIES * 99 / 100],
	       ms[QUERIES - 1], (double)hits / QUERIES);
}

static char *common_word(GRand *rand)
{
	return g_strdup(vocabulary[g_rand_int_range(rand, 0, 20)]);
}

static char *middling_word(GRand *rand)
{
	return g_strdup(vocabulary[g_rand_int_range(rand, 100, 1000)]);
}

static char *rare_word(GRand *rand)
{
	return g_strdup(vocabulary[g_rand_int_range(rand, 3000, VOCABULARY)]);
}

static char *two_words(GRand *rand)
{
	return g_strdup_printf("%s %s", zipf_word(rand), zipf_word(rand));
}

int main(int argc, char **argv)
{
	guint articles = argc > 1 ? (guint)strtoul(argv[1], NULL, 10) : 100000;
	g_autofree char *dir = argc > 2 ? g_strdup(argv[2]) : dk_test_tmpdir();
	g_autoptr(GRand) rand = g_rand_new_with_seed(42);
	make_vocabulary(rand);
	g_autoptr(GError) error = NULL;
	DkStore *store = dk_store_open(dir, NULL, &error);
	if (store == NULL) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	gint64 start = g_get_monotonic_time();
	if (!build(store, articles, rand, &error)) {
		fprintf(stderr, "building: %s\n", error->message);
		return 1;
	}
	printf("built %u articles (%u tickets) in %.1f s, FTS index kept by triggers\n", articles,
	       articles / PER_TICKET, (g_get_monotonic_time() - start) / 1e6);
	run_class(store, "common word (top 20)", rand, common_word);
	run_class(store, "middling word", rand, middling_word);
	run_class(store, "rare word", rand, rare_word);
	run_class(store, "two words (AND)", rand, two_words);
	dk_store_close(store);
	if (argc <= 2)
		dk_test_rmtree(dir);
	for (int i = 0; i < VOCABULARY; i++)
		g_free(vocabulary[i]);
	return 0;
}
