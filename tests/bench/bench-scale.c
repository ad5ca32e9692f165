/* Benchmark of threading, the ticket list and search at the scale of a
 * large help desk: one store of 1,000,000 tickets and about 5,000,000
 * articles, built once, then timed through the store API, the CLI and the
 * HTTP API side by side on the same store. TARGET is a data directory (a
 * SQLite store) or a docket.conf, opened as docket opens its store (with
 * [store] backend = postgresql, the PostgreSQL database of [store] url).
 *
 *   bench-scale build TARGET [TICKETS]
 *     builds (or finishes building: it resumes after the last ticket
 *     written) a store through the store API: tickets spread over
 *     three years before a fixed clock, most of the old ones closed, the
 *     last month's in every status, with priorities, queues, requesters,
 *     assignees and SLA clocks; 1 to 9 articles each (5 on average), their
 *     text mail-like English drawn by Zipf's law (bench-scale-text.h),
 *     replies quoting the article before. (For PostgreSQL at a million
 *     tickets, bench-scale-copy.sh copies a built SQLite store instead.)
 *
 *   bench-scale ids TARGET
 *     records a Message-ID for every article in message_ids, as the
 *     pipeline records a message's, for the threading cases.
 *
 *   bench-scale size TARGET
 *     prints the store's rows and its size on disk per article (with
 *     PostgreSQL: the database, and each large table's heap, TOAST and
 *     indexes), and a last line "bytes N" for scripts.
 *
 *   bench-scale run TARGET [--docket BIN] [--api URL --token TOKEN] [--rounds N]
 *                       [--only PREFIX] [--slow MS] [--warm N] [--cache MIB]
 *     times the look-ups the pipeline makes to thread a reply (by
 *     In-Reply-To, or by References behind unknown ids) on articles drawn
 *     from the whole store, and the two rows such a look-up cannot do
 *     without (its Message-ID's, its ticket's) each alone, the first page
 *     (50) of the ticket list for the filters an agent uses, and search
 *     (top 50) for words from the
 *     most common ("the") to the rarest, each through the store API in
 *     this process, then (list and search) `BIN ticket list|search` (a
 *     process per query, with TARGET or the configuration
 *     DIR/bench-scale.conf), then GET on the API (keep-alive, the token as
 *     a bearer). Every figure is the median over N rounds (default 3) of
 *     that round's p50 and p99. --only: the cases whose name starts with
 *     PREFIX ("list", "search: rare", "thread"); --slow: prints each query
 *     that took MS or longer in this process; --warm: looks up N
 *     replies, untimed, before the threading cases (warm_up());
 *     --cache: SQLite's page cache for this process's connection, in MiB,
 *     instead of docket's (store-sqlite.c).
 *
 * Figures are in README.md ("Benchmarks") and in the notes of the change
 * that made the store meet them. Not a test: nothing here asserts a time. */
#include "bench.h"
#include "bench-scale-text.h"
#include <curl/curl.h>
#include <stdio.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config.h"
#include "gateway/core/thread.h"
#include "gateway/store/store-pg.h"
#include "gateway/store/store-private.h"
#include "parsers/message.h"

#include <sqlite3.h>

#define NOW 1800000000
#define SPAN (3 * 365 * 86400)
#define RECENT (30 * 86400)
#define BATCH 2000
#define CUSTOMERS 200000
#define AGENTS 40
#define PAGE 50
#define MAX_SAMPLES 400

/* ---- building ---------------------------------------------------------- */

static const char *const priorities[] = {"none", "low", "medium", "high", "critical"};
static const int priority_weights[] = {10, 30, 35, 20, 5};
static const char *const queues[] = {"default",  "billing",  "technical", "sales",
                                     "accounts", "shipping", "security",  "legal"};
static const int queue_weights[] = {30, 20, 25, 10, 6, 5, 3, 1};

static guint weighted(GRand *rand, const int *weights, guint n)
{
	int total = 0;
	for (guint i = 0; i < n; i++)
		total += weights[i];
	int x = g_rand_int_range(rand, 0, total);
	for (guint i = 0; i < n; i++) {
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	return n - 1;
}

/* Old tickets are nearly all closed; the last month's are in every status. */
static DkTicketStatus pick_status(GRand *rand, gint64 created)
{
	static const DkTicketStatus recent[] = {
	    DK_STATUS_NEW,     DK_STATUS_OPEN,    DK_STATUS_IN_PROGRESS, DK_STATUS_OPEN,
	    DK_STATUS_WAITING, DK_STATUS_ON_HOLD, DK_STATUS_RESOLVED,    DK_STATUS_CLOSED};
	if (NOW - created < RECENT)
		return recent[g_rand_int_range(rand, 0, G_N_ELEMENTS(recent))];
	int x = g_rand_int_range(rand, 0, 1000);
	return x < 960   ? DK_STATUS_CLOSED
	       : x < 980 ? DK_STATUS_RESOLVED
	       : x < 990 ? DK_STATUS_WAITING
	       : x < 995 ? DK_STATUS_ON_HOLD
	                 : DK_STATUS_OPEN;
}

static DkTicketSla pick_sla(GRand *rand, const char *priority, DkTicketStatus status,
                            gint64 created)
{
	DkTicketSla sla = {0};
	if (g_strcmp0(priority, "none") != 0) {
		sla.first_response_due = created + g_rand_int_range(rand, 900, 86400);
		sla.resolution_due =
		    sla.first_response_due + g_rand_int_range(rand, 3600, 3 * 86400);
		if (status != DK_STATUS_NEW && g_rand_int_range(rand, 0, 4) != 0)
			sla.first_response_at = created + g_rand_int_range(rand, 300, 7200);
		else if (sla.first_response_due < NOW)
			sla.first_response_breached_at = sla.first_response_due;
		if (dk_ticket_status_is_closed(status) && g_rand_int_range(rand, 0, 10) == 0)
			sla.resolution_breached_at = sla.resolution_due;
	}
	gboolean paused = dk_ticket_status_is_paused(status);
	if (paused || dk_ticket_status_is_closed(status))
		sla.paused_since = created + 1200;
	if (paused && sla.resolution_due != 0) {
		sla.has_paused_left = TRUE;
		sla.paused_left = g_rand_int_range(rand, -3600, 86400);
	}
	return sla;
}

static char *make_subject(const DkScaleVocabulary *v, GRand *rand)
{
	GString *s = g_string_new(NULL);
	guint words = 3 + g_rand_int_range(rand, 0, 5);
	for (guint i = 0; i < words; i++) /* topic words: past the commonest 60 */
		g_string_append_printf(s, "%s%s", i ? " " : "", dk_scale_word(v, rand, 60));
	s->str[0] = g_ascii_toupper(s->str[0]);
	return g_string_free(s, FALSE);
}

/* The articles of ticket n: inbound first, then replies and notes, each
 * quoting the one before in its full text. Returns the last one's time. */
static gint64 add_articles(DkStore *store, const DkScaleVocabulary *v, GRand *rand, gint64 n,
                           const char *subject, const char *requester, gint64 at, GError **error)
{
	guint count = 1 + g_rand_int_range(rand, 0, 9);
	g_autofree char *previous = NULL;
	g_autofree char *reply_subject = g_strconcat("Re: ", subject, NULL);
	for (guint a = 0; a < count; a++) {
		if (a > 0)
			at = MIN(at + g_rand_int_range(rand, 600, 2 * 86400), NOW - 60);
		g_autoptr(GString) text = g_string_new(NULL);
		dk_scale_text(text, v, rand, 20 + g_rand_int_range(rand, 0, 81));
		g_autoptr(GString) full = g_string_new(text->str);
		if (previous != NULL)
			g_string_append_printf(full, "\n\nOn an earlier day someone wrote:\n> %s",
			                       previous);
		gboolean inbound = a % 2 == 0;
		gboolean note = !inbound && g_rand_int_range(rand, 0, 10) == 0;
		DkArticle art = {.ticket = n,
		                 .direction = inbound ? DK_INBOUND : DK_OUTBOUND,
		                 .visibility = note ? DK_INTERNAL : DK_PUBLIC,
		                 .evidence = a ? "header" : "new",
		                 .sender = inbound ? (char *)requester : "agent@support.example",
		                 .subject = a ? reply_subject : (char *)subject,
		                 .new_text = text->str,
		                 .full_text = full->str,
		                 .created_at = at};
		if (dk_store_article_add(store, &art, error) == 0)
			return 0;
		g_free(previous);
		previous = g_strdup(text->str);
	}
	return at;
}

static gboolean add_ticket(DkStore *store, const DkScaleVocabulary *v, guint i, guint tickets,
                           GError **error)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(i + 1);
	gint64 created = NOW - SPAN + (gint64)i * SPAN / tickets;
	g_autofree char *subject = make_subject(v, rand);
	g_autofree char *requester =
	    g_strdup_printf("customer%d@company%d.example", g_rand_int_range(rand, 0, CUSTOMERS),
	                    g_rand_int_range(rand, 0, 5000));
	gint64 n = dk_store_ticket_create(store, subject, requester, created, error);
	if (n == 0)
		return FALSE;
	const char *priority = priorities[weighted(rand, priority_weights, 5)];
	const char *queue = queues[weighted(rand, queue_weights, G_N_ELEMENTS(queues))];
	DkTicketStatus status = pick_status(rand, created);
	g_autofree char *assignee =
	    status == DK_STATUS_NEW && g_rand_boolean(rand)
	        ? NULL
	        : g_strdup_printf("agent%d@support.example", g_rand_int_range(rand, 0, AGENTS));
	gint64 last = add_articles(store, v, rand, n, subject, requester, created, error);
	DkTicketSla sla = pick_sla(rand, priority, status, created);
	return last != 0 &&
	       dk_store_ticket_set(store, n, DK_TICKET_PRIORITY, priority, created, error) &&
	       dk_store_ticket_set(store, n, DK_TICKET_QUEUE, queue, created, error) &&
	       dk_store_ticket_set(store, n, DK_TICKET_ASSIGNEE, assignee, created, error) &&
	       dk_store_ticket_set_status(store, n, status, last, error) &&
	       dk_store_ticket_sla_set(store, n, &sla, error) &&
	       dk_store_ticket_touch(store, n, last, error);
}

static gint64 count_rows(DkStore *store, const char *sql)
{
	gint64 n = 0;
	DkStmt *st = dk_store_prepare_once(store, sql, NULL);
	if (st != NULL && dk_stmt_step(st) == DK_STMT_ROW)
		n = dk_stmt_int64(st, 0);
	dk_stmt_free(st);
	return n;
}

/* The store TARGET names: a data directory (SQLite), or a docket.conf
 * (any backend, as docket opens it: PostgreSQL with [store] backend). */
static DkStore *open_target(const char *target, GError **error)
{
	if (!g_str_has_suffix(target, ".conf"))
		return dk_store_open(target, NULL, error);
	dk_store_pg_register();
	g_autoptr(DkConfig) config = dk_config_load(target, error);
	return config ? dk_store_open_config(config, error) : NULL;
}

static int build(const char *dir, guint tickets)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) store = open_target(dir, &error);
	if (store == NULL) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	/* a benchmark's store: a crash means building again */
	if (store->db != NULL) {
		sqlite3_exec(store->db, "PRAGMA synchronous = OFF", NULL, NULL, NULL);
		sqlite3_exec(store->db, "PRAGMA cache_size = -262144", NULL, NULL, NULL);
	} else {
		dk_store_exec(store, "SET synchronous_commit = off", NULL);
	}
	DkScaleVocabulary v = dk_scale_vocabulary();
	guint done = (guint)count_rows(store, "SELECT coalesce(max(number), 0) FROM tickets");
	gint64 start = g_get_monotonic_time();
	printf("building tickets %u to %u in %s\n", done + 1, tickets, dir);
	while (done < tickets) {
		if (!dk_store_begin(store, &error) || !dk_store_search_defer(store, &error))
			break;
		for (guint i = 0; i < BATCH && done < tickets; i++, done++)
			if (!add_ticket(store, &v, done, tickets, &error))
				break;
		if (error != NULL) {
			dk_store_rollback(store);
			break;
		}
		if (!dk_store_commit(store, &error))
			break;
		if (done % 50000 == 0) {
			printf("  %u tickets, %.0f s\n", done,
			       (g_get_monotonic_time() - start) / 1e6);
			fflush(stdout);
		}
	}
	dk_scale_vocabulary_free(&v);
	if (error != NULL) {
		fprintf(stderr, "building: %s\n", error->message);
		return 1;
	}
	/* a few merged tickets, pointing at the ticket before them */
	dk_store_exec(store,
	              "UPDATE tickets SET merged_into = number - 1 WHERE number % 331 = 0"
	              " AND status = 'closed' AND merged_into IS NULL",
	              NULL);
	printf("built: %" G_GINT64_FORMAT " tickets, %" G_GINT64_FORMAT " articles in %.0f s\n",
	       count_rows(store, "SELECT count(*) FROM tickets"),
	       count_rows(store, "SELECT count(*) FROM articles"),
	       (g_get_monotonic_time() - start) / 1e6);
	return 0;
}

/* ---- timing ------------------------------------------------------------ */

/* The p50 and p99 of one round, and the medians over the rounds: of the
 * time taken, and of the CPU time the query took (the store: this thread's;
 * the CLI: the process's, user and system; the API: not known here). On a
 * shared machine the time waits for the CPU, the CPU time does not. */
typedef struct {
	double p50[9], p99[9], cpu50[9], cpu99[9];
	guint rounds;
	guint found; /* tickets listed or hits, in the last sample */
} Figures;

/* The CPU time of the last sample, in ms; negative: not known. */
static double sample_cpu;

static void figures_add(Figures *f, double *ms, double *cpu, guint n)
{
	dk_bench_sort(ms, n);
	dk_bench_sort(cpu, n);
	guint p99 = MIN(n - 1, (guint)(n * 0.99));
	f->p50[f->rounds] = ms[n / 2];
	f->p99[f->rounds] = ms[p99];
	f->cpu50[f->rounds] = cpu[n / 2];
	f->cpu99[f->rounds] = cpu[p99];
	f->rounds++;
}

static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The monotonic clock in ms, to the nanosecond (g_get_monotonic_time()
 * counts whole microseconds). */
static double monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double children_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double median(double *values, guint n)
{
	double copy[9];
	memcpy(copy, values, n * sizeof copy[0]);
	dk_bench_sort(copy, n);
	return copy[n / 2];
}

static void figures_print(const char *way, const Figures *f)
{
	if (f->rounds == 0)
		return;
	Figures c = *f;
	/* a threading look-up takes hundredths of a millisecond */
	gboolean fine = median(c.p50, c.rounds) < 1;
	printf(fine ? "    %-6s p50 %8.4f ms  p99 %8.4f ms" : "    %-6s p50 %8.2f ms  p99 %8.2f ms",
	       way, median(c.p50, c.rounds), median(c.p99, c.rounds));
	if (median(c.cpu50, c.rounds) >= 0)
		printf(fine ? "   CPU p50 %7.4f ms  p99 %7.4f ms"
		            : "   CPU p50 %7.2f ms  p99 %7.2f ms",
		       median(c.cpu50, c.rounds), median(c.cpu99, c.rounds));
	printf("  (%u found)\n", f->found);
}

/* One case: what the store, the CLI and the API are asked for its n-th
 * sample (the CLI's arguments and the API's path and query). */
typedef struct Case Case;
struct Case {
	const char *name;
	gboolean search;
	/* list: the query; its requester, when "*", is drawn per sample */
	DkTicketQuery query;
	const char *statuses_arg; /* the CLI's --status options, comma-separated */
	/* search: the words of the n-th sample */
	char *(*words)(const DkScaleVocabulary *v, GRand *rand);
};

typedef struct {
	const char *dir;    /* the store's data directory or docket.conf */
	char *conf;         /* the CLI's configuration */
	const char *docket; /* NULL: no CLI figures */
	const char *api;    /* NULL: no API figures */
	const char *token;
	const char *only; /* NULL, or the cases whose name starts so */
	double slow;      /* print the store's samples that took this long (ms) */
	guint rounds;
	guint warm;      /* replies looked up, untimed, before the threading cases */
	gint64 replied;  /* the articles `bench-scale ids` gave a Message-ID */
	guint cache_mib; /* 0: SQLite's page cache as docket sets it */
	DkScaleVocabulary vocabulary;
	CURL *curl;
} Bench;

/* Requesters of the store's tickets, to draw from. */
static GPtrArray *requesters;

static void load_requesters(DkStore *store)
{
	requesters = g_ptr_array_new_with_free_func(g_free);
	DkStmt *st = dk_store_prepare_once(
	    store, "SELECT requester FROM tickets WHERE number % 997 = 1 LIMIT 1000", NULL);
	while (st != NULL && dk_stmt_step(st) == DK_STMT_ROW)
		g_ptr_array_add(requesters, dk_store_column_text(st, 0));
	dk_stmt_free(st);
	if (requesters->len == 0)
		g_ptr_array_add(requesters, g_strdup("nobody@example.com"));
}

static char *random_requester(GRand *rand)
{
	return g_strdup(g_ptr_array_index(requesters, g_rand_int_range(rand, 0, requesters->len)));
}

static char *word_in(const DkScaleVocabulary *v, GRand *rand, guint from, guint to)
{
	return g_strdup(g_ptr_array_index(v->words, g_rand_int_range(rand, from, to)));
}

static char *commonest(const DkScaleVocabulary *v, GRand *rand)
{
	return word_in(v, rand, 0, 10); /* the, to, and, a, i, ... */
}

static char *desk_word(const DkScaleVocabulary *v, GRand *rand)
{
	return word_in(v, rand, 70, 200); /* error, printer, invoice, ... */
}

static char *middling(const DkScaleVocabulary *v, GRand *rand)
{
	return word_in(v, rand, 1000, 5000);
}

static char *rare(const DkScaleVocabulary *v, GRand *rand)
{
	return word_in(v, rand, 20000, v->words->len);
}

static char *two_words(const DkScaleVocabulary *v, GRand *rand)
{
	return g_strdup_printf("%s %s", dk_scale_word(v, rand, 0), dk_scale_word(v, rand, 0));
}

static char *common_and_desk(const DkScaleVocabulary *v, GRand *rand)
{
	g_autofree char *a = commonest(v, rand), *b = desk_word(v, rand);
	return g_strdup_printf("%s %s", a, b);
}

static char *dk_scale_iso(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
	return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* The query of a list case's sample: a drawn requester where it says "*". */
static DkTicketQuery sample_query(const Case *c, GRand *rand, char **requester_out)
{
	DkTicketQuery q = c->query;
	*requester_out = NULL;
	if (g_strcmp0(q.requester, "*") == 0)
		q.requester = *requester_out = random_requester(rand);
	return q;
}

static double time_store(Bench *b, const Case *c, GRand *rand, DkStore *store, guint *found)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *requester = NULL;
	g_autofree char *words = c->search ? c->words(&b->vocabulary, rand) : NULL;
	DkTicketQuery q = sample_query(c, rand, &requester);
	double cpu = thread_cpu_ms();
	gint64 start = g_get_monotonic_time();
	g_autoptr(GPtrArray) out = c->search ? dk_store_search(store, words, PAGE, &error)
	                                     : dk_store_ticket_query(store, &q, &error);
	double ms = (g_get_monotonic_time() - start) / 1000.0;
	sample_cpu = thread_cpu_ms() - cpu;
	if (out == NULL) {
		fprintf(stderr, "%s: %s\n", c->name, error->message);
		exit(1);
	}
	if (b->slow > 0 && ms >= b->slow)
		fprintf(stderr, "slow: %.1f ms %s %s\n", ms, c->name, words ? words : "");
	*found = out->len;
	return ms;
}

/* The CLI's arguments after "docket -c CONF" for a sample. */
static GPtrArray *cli_args(Bench *b, const Case *c, GRand *rand)
{
	GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(args, g_strdup(b->docket));
	g_ptr_array_add(args, g_strdup("-c"));
	g_ptr_array_add(args, g_strdup(b->conf));
	g_ptr_array_add(args, g_strdup("ticket"));
	if (c->search) {
		g_ptr_array_add(args, g_strdup("search"));
		g_autofree char *text = c->words(&b->vocabulary, rand);
		g_auto(GStrv) words = g_strsplit(text, " ", -1);
		for (guint i = 0; words[i] != NULL; i++)
			g_ptr_array_add(args, g_strdup(words[i]));
	} else {
		g_ptr_array_add(args, g_strdup("list"));
		g_autofree char *requester = NULL;
		DkTicketQuery q = sample_query(c, rand, &requester);
		g_auto(GStrv) statuses =
		    g_strsplit(c->statuses_arg ? c->statuses_arg : "", ",", -1);
		for (guint i = 0; statuses[i] != NULL && *statuses[i]; i++)
			g_ptr_array_add(args, g_strdup_printf("--status=%s", statuses[i]));
		const char *opts[][2] = {{"--priority", q.priority},
		                         {"--queue", q.queue},
		                         {"--assignee", q.assignee},
		                         {"--requester", q.requester}};
		for (guint i = 0; i < G_N_ELEMENTS(opts); i++)
			if (opts[i][1] != NULL)
				g_ptr_array_add(args,
				                g_strdup_printf("%s=%s", opts[i][0], opts[i][1]));
		if (q.breached)
			g_ptr_array_add(args, g_strdup("--breached"));
		if (q.created_since) {
			g_autofree char *since = dk_scale_iso(q.created_since);
			g_ptr_array_add(args, g_strdup_printf("--created-since=%s", since));
		}
		if (q.updated_since) {
			g_autofree char *since = dk_scale_iso(q.updated_since);
			g_ptr_array_add(args, g_strdup_printf("--updated-since=%s", since));
		}
		g_ptr_array_add(args, g_strdup_printf("--now=%d", NOW));
	}
	g_ptr_array_add(args, g_strdup_printf("--limit=%d", PAGE));
	g_ptr_array_add(args, g_strdup("--json"));
	g_ptr_array_add(args, NULL);
	return args;
}

static double time_cli(Bench *b, const Case *c, GRand *rand, guint *found)
{
	g_autoptr(GPtrArray) args = cli_args(b, c, rand);
	g_autofree char *out = NULL, *err = NULL;
	int status = 0;
	g_autoptr(GError) error = NULL;
	double cpu = children_cpu_ms();
	gint64 start = g_get_monotonic_time();
	gboolean ok = g_spawn_sync(NULL, (char **)args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
	                           &out, &err, &status, &error);
	double ms = (g_get_monotonic_time() - start) / 1000.0;
	sample_cpu = children_cpu_ms() - cpu;
	if (!ok || !g_spawn_check_wait_status(status, NULL)) {
		fprintf(stderr, "%s: the CLI failed: %s\n", c->name, ok ? err : error->message);
		exit(1);
	}
	/* a ticket or a hit is one "number" or "article" key each */
	*found = 0;
	for (const char *p = out; (p = strstr(p, c->search ? "\"article\":" : "\"number\":")); p++)
		(*found)++;
	return ms;
}

static size_t keep_body(char *data, size_t size, size_t n, void *out)
{
	g_string_append_len(out, data, (gssize)(size * n));
	return size * n;
}

/* The API's path and query for a sample (GET, relative to the base URL). */
static char *api_path(Bench *b, const Case *c, GRand *rand)
{
	GString *path = g_string_new(NULL);
	if (c->search) {
		g_autofree char *words = c->words(&b->vocabulary, rand);
		char *q = curl_easy_escape(b->curl, words, 0);
		g_string_printf(path, "/api/v1/search?q=%s&limit=%d", q, PAGE);
		curl_free(q);
		return g_string_free(path, FALSE);
	}
	g_autofree char *requester = NULL;
	DkTicketQuery q = sample_query(c, rand, &requester);
	/* the API orders by its own clock: the same work, other times left */
	g_string_printf(path, "/api/v1/tickets?limit=%d", PAGE);
	if (c->statuses_arg != NULL)
		g_string_append_printf(path, "&status=%s", c->statuses_arg);
	const char *opts[][2] = {{"priority", q.priority},
	                         {"queue", q.queue},
	                         {"assignee", q.assignee},
	                         {"requester", q.requester}};
	for (guint i = 0; i < G_N_ELEMENTS(opts); i++) {
		if (opts[i][1] == NULL)
			continue;
		char *v = curl_easy_escape(b->curl, opts[i][1], 0);
		g_string_append_printf(path, "&%s=%s", opts[i][0], v);
		curl_free(v);
	}
	if (q.breached)
		g_string_append(path, "&breached=true");
	if (q.created_since) {
		g_autofree char *since = dk_scale_iso(q.created_since);
		g_string_append_printf(path, "&created_since=%s", since);
	}
	if (q.updated_since) {
		g_autofree char *since = dk_scale_iso(q.updated_since);
		g_string_append_printf(path, "&updated_since=%s", since);
	}
	return g_string_free(path, FALSE);
}

static double time_api(Bench *b, const Case *c, GRand *rand, guint *found)
{
	g_autofree char *path = api_path(b, c, rand);
	g_autofree char *url = g_strconcat(b->api, path, NULL);
	g_autoptr(GString) body = g_string_new(NULL);
	curl_easy_setopt(b->curl, CURLOPT_URL, url);
	curl_easy_setopt(b->curl, CURLOPT_WRITEDATA, body);
	gint64 start = g_get_monotonic_time();
	CURLcode rc = curl_easy_perform(b->curl);
	double ms = (g_get_monotonic_time() - start) / 1000.0;
	sample_cpu = -1;
	long code = 0;
	curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		fprintf(stderr, "%s: GET %s: %s %ld %s\n", c->name, url, curl_easy_strerror(rc),
		        code, body->str);
		exit(1);
	}
	*found = 0;
	for (const char *p = body->str; (p = strstr(p, c->search ? "\"article\":" : "\"number\":"));
	     p++)
		(*found)++;
	return ms;
}

/* samples per round: in this process, and through a process or a request */
static guint samples(const Case *c, gboolean in_process)
{
	return in_process ? (c->search ? 200 : 100) : 100;
}

enum { WAY_STORE, WAY_CLI, WAY_API, WAYS };

static void run_case(Bench *b, DkStore *store, const Case *c)
{
	static const char *const ways[] = {"store", "cli", "api"};
	Figures f[WAYS] = {0};
	double ms[MAX_SAMPLES], cpu[MAX_SAMPLES];
	for (guint way = 0; way < WAYS; way++) {
		if ((way == WAY_CLI && b->docket == NULL) || (way == WAY_API && b->api == NULL))
			continue;
		for (guint r = 0; r < b->rounds; r++) {
			/* the same samples in every round and every way */
			g_autoptr(GRand) rand = g_rand_new_with_seed(99);
			guint n = samples(c, way == WAY_STORE);
			for (guint i = 0; i < n; i++) {
				ms[i] = way == WAY_STORE
				            ? time_store(b, c, rand, store, &f[way].found)
				        : way == WAY_CLI ? time_cli(b, c, rand, &f[way].found)
				                         : time_api(b, c, rand, &f[way].found);
				cpu[i] = sample_cpu;
			}
			figures_add(&f[way], ms, cpu, n);
		}
	}
	printf("%s\n", c->name);
	for (guint way = 0; way < WAYS; way++)
		figures_print(ways[way], &f[way]);
	fflush(stdout);
}

static const DkTicketStatus working[] = {DK_STATUS_NEW, DK_STATUS_OPEN, DK_STATUS_IN_PROGRESS,
                                         DK_STATUS_WAITING, DK_STATUS_ON_HOLD};
static const DkTicketStatus only_new[] = {DK_STATUS_NEW};
static const DkTicketStatus only_closed[] = {DK_STATUS_CLOSED};
#define WORKING .statuses = working, .n_statuses = G_N_ELEMENTS(working)
#define WORKING_ARG "new,open,in_progress,waiting,on_hold"

static const Case cases[] = {
    {"list: all", FALSE, {.now = NOW, .limit = PAGE}, NULL, NULL},
    {"list: working statuses", FALSE, {.now = NOW, WORKING, .limit = PAGE}, WORKING_ARG, NULL},
    {"list: status new",
     FALSE,
     {.now = NOW, .statuses = only_new, .n_statuses = 1, .limit = PAGE},
     "new",
     NULL},
    {"list: status closed",
     FALSE,
     {.now = NOW, .statuses = only_closed, .n_statuses = 1, .limit = PAGE},
     "closed",
     NULL},
    {"list: priority critical",
     FALSE,
     {.now = NOW, .priority = "critical", .limit = PAGE},
     NULL,
     NULL},
    {"list: queue legal, working",
     FALSE,
     {.now = NOW, WORKING, .queue = "legal", .limit = PAGE},
     WORKING_ARG,
     NULL},
    {"list: assignee, working (my tickets)",
     FALSE,
     {.now = NOW, WORKING, .assignee = "agent7@support.example", .limit = PAGE},
     WORKING_ARG,
     NULL},
    {"list: assignee, every status",
     FALSE,
     {.now = NOW, .assignee = "agent7@support.example", .limit = PAGE},
     NULL,
     NULL},
    {"list: requester (drawn)", FALSE, {.now = NOW, .requester = "*", .limit = PAGE}, NULL, NULL},
    {"list: breached", FALSE, {.now = NOW, .breached = TRUE, .limit = PAGE}, NULL, NULL},
    {"list: created in the last 7 days",
     FALSE,
     {.now = NOW, .created_since = NOW - 7 * 86400, .limit = PAGE},
     NULL,
     NULL},
    {"list: closed, updated in the last 14 days",
     FALSE,
     {.now = NOW,
      .statuses = only_closed,
      .n_statuses = 1,
      .updated_since = NOW - 14 * 86400,
      .limit = PAGE},
     "closed",
     NULL},
    {"search: commonest words (the, to, and...)", TRUE, {0}, NULL, commonest},
    {"search: help-desk words (error, printer...)", TRUE, {0}, NULL, desk_word},
    {"search: middling word", TRUE, {0}, NULL, middling},
    {"search: rare word", TRUE, {0}, NULL, rare},
    {"search: two words by frequency (AND)", TRUE, {0}, NULL, two_words},
    {"search: commonest + help-desk word", TRUE, {0}, NULL, common_and_desk},
};

/* ---- threading ---------------------------------------------------------- */

/* The Message-ID `bench-scale ids` gives an article (without brackets, as
 * the parser gives them). */
#define ARTICLE_ID_FORMAT "article%" G_GINT64_FORMAT "@mail.bench.example"

/* A customer's reply to the article: by In-Reply-To (found at the first
 * look-up), or by References alone, the known id oldest behind two
 * unknown ones and an unknown In-Reply-To (four look-ups, as a client
 * that threads through a forwarded copy makes the pipeline do). */
static DkMessage *reply_to(gint64 article, guint n, gboolean by_references, GBytes **raw_out)
{
	g_autofree char *known = g_strdup_printf("<" ARTICLE_ID_FORMAT ">", article);
	g_autofree char *threading =
	    by_references ? g_strdup_printf("In-Reply-To: <elsewhere%u@other.example>\r\n"
	                                    "References: %s <lost%u@other.example>"
	                                    " <gone%u@other.example>\r\n",
	                                    n, known, n, n)
	                  : g_strdup_printf("In-Reply-To: %s\r\nReferences: <lost%u@other.example>"
	                                    " %s\r\n",
	                                    known, n, known);
	char *text =
	    g_strdup_printf("From: A customer <customer%u@company.example>\r\n"
	                    "To: support@support.example\r\n"
	                    "Subject: Re: the printer again\r\n"
	                    "Message-ID: <reply%u.%" G_GINT64_FORMAT "@company.example>\r\n"
	                    "%s\r\nThank you, that helped.\r\n",
	                    n, n, article, threading);
	*raw_out = g_bytes_new_take(text, strlen(text));
	g_autoptr(GError) error = NULL;
	DkMessage *m = dk_message_parse(*raw_out, NULL, &error);
	if (m == NULL) {
		fprintf(stderr, "parsing a reply: %s\n", error->message);
		exit(1);
	}
	return m;
}

/* Pages SQLite read from the file (missed in its cache) over the look-ups
 * of a case; PostgreSQL's are not counted. */
static gint64 thread_misses;

static int misses_since(DkStore *store)
{
	int current = 0, high = 0;
	if (store->db == NULL || sqlite3_db_status(store->db, SQLITE_DBSTATUS_CACHE_MISS, &current,
	                                           &high, 1) != SQLITE_OK)
		return 0;
	return current;
}

/* What the pipeline's writer looks up for one message before it writes:
 * the duplicate (Message-ID and fingerprint), its own Message-ID, the
 * threading evidence, then the ticket found. */
static double time_thread(DkStore *store, DkThreadPolicy *policy, const DkMessage *m,
                          gint64 *ticket_out)
{
	g_autoptr(GError) error = NULL;
	gint64 ticket = 0, article = 0;
	gboolean duplicate = FALSE, known = FALSE;
	DkThreadMatch match = {0};
	misses_since(store);
	double start = monotonic_ms();
	gboolean ok = dk_store_article_find(store, m->message_id, m->fingerprint, &ticket, &article,
	                                    &duplicate, &ticket, &known, &error) &&
	              dk_thread_find(store, policy, m, NULL, &match, &error);
	g_autoptr(DkTicket) t =
	    ok && match.ticket != 0 ? dk_store_ticket_get(store, match.ticket, &error) : NULL;
	double ms = monotonic_ms() - start;
	thread_misses += misses_since(store);
	if (!ok || (match.ticket != 0 && t == NULL)) {
		fprintf(stderr, "threading: %s\n", error->message);
		exit(1);
	}
	*ticket_out = match.ticket;
	return ms;
}

/* One round's replies: to articles drawn from the whole store, new ones
 * each round and each case, so that no round finds the pages an earlier
 * one read in the store's cache (a long-running gateway keeps the
 * B-trees' upper pages there, not the leaves of the tickets customers
 * answer: --warm). */
typedef struct {
	DkMessage *messages[MAX_SAMPLES];
	GBytes *raws[MAX_SAMPLES];
	gint64 wanted[MAX_SAMPLES]; /* the articles they answer */
} Replies;

static void replies_draw(Replies *r, gint64 articles, guint round, gboolean by_references)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(7 + round + (by_references ? 100 : 0));
	for (guint i = 0; i < MAX_SAMPLES; i++) {
		gint64 article = 1 + (gint64)g_rand_double_range(rand, 0, (double)articles);
		r->messages[i] = reply_to(article, i, by_references, &r->raws[i]);
		r->wanted[i] = article;
	}
}

/* How many of the tickets found (found[i] for the reply to article
 * wanted[i]) are the ones the replies belong on: their article's ticket,
 * or the one that ticket was merged into (the fill merges a few, one
 * level). Read after all the rounds' timed look-ups, whose pages it would
 * otherwise have put in the cache (an article's row and text, for each). */
static guint replies_found(DkStore *store, const gint64 *wanted, const gint64 *found)
{
	guint right = 0;
	for (guint i = 0; i < MAX_SAMPLES; i++) {
		g_autofree char *sql = g_strdup_printf(
		    "SELECT coalesce(t.merged_into, t.number) FROM articles a JOIN tickets t"
		    " ON t.number = a.ticket WHERE a.id = %" G_GINT64_FORMAT,
		    wanted[i]);
		right += count_rows(store, sql) == found[i];
	}
	return right;
}

static void replies_clear(Replies *r)
{
	for (guint i = 0; i < MAX_SAMPLES; i++) {
		dk_message_free(r->messages[i]);
		g_bytes_unref(r->raws[i]);
	}
}

static void run_thread(Bench *b, DkStore *store, gboolean by_references)
{
	const char *name =
	    by_references ? "thread: References (4 look-ups)" : "thread: In-Reply-To (1 look-up)";
	if (b->only != NULL && !g_str_has_prefix(name, b->only))
		return;
	g_autoptr(DkConfig) config = dk_config_new_default();
	g_autoptr(DkThreadPolicy) policy = dk_thread_policy_new(config);
	Figures f = {0};
	double ms[MAX_SAMPLES], cpu[MAX_SAMPLES];
	g_autofree gint64 *wanted = g_new(gint64, b->rounds * MAX_SAMPLES);
	g_autofree gint64 *found = g_new(gint64, b->rounds * MAX_SAMPLES);
	for (guint r = 0; r < b->rounds; r++) {
		Replies replies;
		replies_draw(&replies, b->replied, r, by_references);
		for (guint i = 0; i < MAX_SAMPLES; i++) {
			double before = thread_cpu_ms();
			ms[i] = time_thread(store, policy, replies.messages[i],
			                    &found[r * MAX_SAMPLES + i]);
			cpu[i] = thread_cpu_ms() - before;
			wanted[r * MAX_SAMPLES + i] = replies.wanted[i];
		}
		figures_add(&f, ms, cpu, MAX_SAMPLES);
		replies_clear(&replies);
	}
	double misses = thread_misses / ((double)b->rounds * MAX_SAMPLES);
	thread_misses = 0;
	/* the fewest a round threaded right */
	f.found = MAX_SAMPLES;
	for (guint r = 0; r < b->rounds; r++)
		f.found = MIN(f.found, replies_found(store, wanted + r * MAX_SAMPLES,
		                                     found + r * MAX_SAMPLES));
	printf("%s\n", name);
	figures_print("store", &f);
	if (store->db != NULL)
		printf("    pages read from the file (not in SQLite's cache) a look-up: %.2f\n",
		       misses);
	fflush(stdout);
}

/* Whether --only leaves a threading case to run. */
static gboolean threading_wanted(const Bench *b)
{
	return b->only == NULL || g_str_has_prefix("thread", b->only) ||
	       g_str_has_prefix(b->only, "thread");
}

/* Looks up b->warm replies, untimed, to articles drawn apart from the
 * rounds' (another seed): what a gateway that has threaded mail for a
 * while holds in SQLite's cache, the B-trees' upper pages, the cases then
 * find there. Prints the pages read from the file a look-up, by the
 * warm-up's batches of MAX_SAMPLES: the first and the last. */
static void warm_up(Bench *b, DkStore *store)
{
	if (b->warm == 0 || !threading_wanted(b))
		return;
	g_autoptr(DkConfig) config = dk_config_new_default();
	g_autoptr(DkThreadPolicy) policy = dk_thread_policy_new(config);
	guint batches = (b->warm + MAX_SAMPLES - 1) / MAX_SAMPLES;
	double first = 0, last = 0, start = monotonic_ms();
	for (guint n = 0; n < batches; n++) {
		Replies replies;
		replies_draw(&replies, b->replied, 100000 + n, n % 2 == 1);
		for (guint i = 0; i < MAX_SAMPLES; i++) {
			gint64 found = 0;
			time_thread(store, policy, replies.messages[i], &found);
		}
		replies_clear(&replies);
		last = thread_misses / (double)MAX_SAMPLES;
		if (n == 0)
			first = last;
		thread_misses = 0;
	}
	printf("warm-up: %u look-ups, %.1f s; pages read from the file a look-up:"
	       " %.2f first, %.2f last\n",
	       batches * MAX_SAMPLES, (monotonic_ms() - start) / 1000, first, last);
	fflush(stdout);
}

/* The two reads a reply's threading cannot do without, each alone: its
 * In-Reply-To's row of message_ids and its ticket's row, drawn as the
 * threading cases draw them (new ones each round). What a look-up costs
 * at a million tickets over a thousand, where every page is in the cache,
 * is at least what these two cost more there. */
static void run_rows(Bench *b, DkStore *store)
{
	const char *name = "thread: one row each (message_ids, tickets)";
	if (b->only != NULL && !g_str_has_prefix(name, b->only))
		return;
	gint64 articles = b->replied,
	       tickets = count_rows(store, "SELECT max(number) FROM tickets");
	printf("%s\n", name);
	const char *sql[] = {"SELECT ticket FROM message_ids WHERE message_id = ?",
	                     "SELECT status, merged_into FROM tickets WHERE number = ?"};
	for (guint q = 0; q < G_N_ELEMENTS(sql); q++) {
		Figures f = {0};
		double ms[MAX_SAMPLES], cpu[MAX_SAMPLES];
		for (guint r = 0; r < b->rounds; r++) {
			g_autoptr(GRand) rand = g_rand_new_with_seed(1000 + 10 * r + q);
			for (guint i = 0; i < MAX_SAMPLES; i++) {
				gint64 n = 1 + (gint64)g_rand_double_range(
				                   rand, 0, (double)(q == 0 ? articles : tickets));
				g_autofree char *id = g_strdup_printf(ARTICLE_ID_FORMAT, n);
				double before = thread_cpu_ms(), start = monotonic_ms();
				DkStmt *st = q == 0 ? dk_store_query(store, sql[q], NULL, "s", id)
				                    : dk_store_query(store, sql[q], NULL, "i", n);
				if (st == NULL || dk_stmt_step(st) != DK_STMT_ROW) {
					fprintf(stderr, "%s: no row for %" G_GINT64_FORMAT "\n",
					        sql[q], n);
					exit(1);
				}
				dk_stmt_reset(st);
				ms[i] = monotonic_ms() - start;
				cpu[i] = thread_cpu_ms() - before;
			}
			figures_add(&f, ms, cpu, MAX_SAMPLES);
		}
		/* a row takes microseconds */
		printf("    %-6s p50 %6.2f us  p99 %6.2f us   CPU p50 %6.2f us\n",
		       q == 0 ? "ids" : "ticket", 1000 * median(f.p50, f.rounds),
		       1000 * median(f.p99, f.rounds), 1000 * median(f.cpu50, f.rounds));
	}
	fflush(stdout);
}

/* Gives every article the Message-ID the threading cases look up, in
 * message_ids as the pipeline records a message's (the fill writes
 * articles without one). */
static int add_ids(const char *target)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) store = open_target(target, &error);
	gint64 start = g_get_monotonic_time();
	if (store == NULL ||
	    !dk_store_exec(store,
	                   "INSERT INTO message_ids (message_id, ticket, article)"
	                   " SELECT 'article' || id || '@mail.bench.example', ticket, id"
	                   " FROM articles ORDER BY id",
	                   &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	printf("message_ids: %" G_GINT64_FORMAT " rows in %.0f s\n",
	       count_rows(store, "SELECT count(*) FROM message_ids"),
	       (g_get_monotonic_time() - start) / 1e6);
	return 0;
}

/* ---- size ---------------------------------------------------------------- */

/* The bytes of the files under path (a file or a folder), recursively. */
static gint64 du(const char *path)
{
	GStatBuf st;
	if (g_lstat(path, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? (gint64)st.st_size : 0;
	gint64 total = 0;
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	for (const char *name; dir != NULL && (name = g_dir_read_name(dir)) != NULL;) {
		g_autofree char *child = g_build_filename(path, name, NULL);
		total += du(child);
	}
	return total;
}

static void size_line(const char *what, gint64 bytes, gint64 articles)
{
	printf("  %-34s %14" G_GINT64_FORMAT " bytes %9.0f per article\n", what, bytes,
	       articles ? (double)bytes / (double)articles : 0.0);
}

/* The store's size: its rows, and the bytes it takes on disk (SQLite: the
 * data directory's files, database and raw mail; PostgreSQL: the database,
 * its largest tables with their TOAST and indexes, and the data directory
 * docket keeps beside it), per article. */
static int print_size(const char *target)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) store = open_target(target, &error);
	if (store == NULL) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	gint64 tickets = count_rows(store, "SELECT count(*) FROM tickets");
	gint64 articles = count_rows(store, "SELECT count(*) FROM articles");
	gint64 raws = count_rows(store, "SELECT count(*) FROM raw_messages");
	gint64 files = du(store->data_dir);
	printf("tickets %" G_GINT64_FORMAT " articles %" G_GINT64_FORMAT
	       " raw_messages %" G_GINT64_FORMAT "\n",
	       tickets, articles, raws);
	if (store->db != NULL) {
		size_line("data directory (database, raw mail)", files, articles);
		printf("bytes %" G_GINT64_FORMAT "\n", files);
		return 0;
	}
	static const char *const tables[] = {"tickets", "articles", "message_ids", "events",
	                                     "raw_messages"};
	for (guint i = 0; i < G_N_ELEMENTS(tables); i++) {
		g_autofree char *heap = g_strdup_printf("SELECT pg_relation_size('%s')", tables[i]);
		g_autofree char *toast = g_strdup_printf(
		    "SELECT coalesce(pg_total_relation_size(reltoastrelid), 0) FROM pg_class"
		    " WHERE oid = '%s'::regclass",
		    tables[i]);
		g_autofree char *indexes =
		    g_strdup_printf("SELECT pg_indexes_size('%s')", tables[i]);
		g_autofree char *l1 = g_strdup_printf("%s: table", tables[i]);
		g_autofree char *l2 = g_strdup_printf("%s: TOAST", tables[i]);
		g_autofree char *l3 = g_strdup_printf("%s: indexes", tables[i]);
		size_line(l1, count_rows(store, heap), articles);
		size_line(l2, count_rows(store, toast), articles);
		size_line(l3, count_rows(store, indexes), articles);
	}
	gint64 database = count_rows(store, "SELECT pg_database_size(current_database())");
	size_line("pg_database_size", database, articles);
	size_line("data directory (raw mail in files)", files, articles);
	printf("bytes %" G_GINT64_FORMAT "\n", database + files);
	return 0;
}

/* The machine's load average: the CLI's figures (a process per query)
 * move with what else runs on it. */
static void print_load(const char *when)
{
	g_autofree char *load = NULL;
	if (g_file_get_contents("/proc/loadavg", &load, NULL, NULL))
		printf("load average %s: %s", when, load);
}

/* The CLI's configuration: the target's own, or one written for a data
 * directory. */
static gboolean write_config(Bench *b)
{
	if (g_str_has_suffix(b->dir, ".conf")) {
		b->conf = g_strdup(b->dir);
		return TRUE;
	}
	b->conf = g_build_filename(b->dir, "bench-scale.conf", NULL);
	g_autofree char *text = g_strdup_printf("[store]\ndata_dir = %s\n", b->dir);
	return g_file_set_contents(b->conf, text, -1, NULL);
}

static int run(int argc, char **argv)
{
	Bench b = {.dir = argv[2], .rounds = 3};
	for (int i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--docket") == 0)
			b.docket = argv[i + 1];
		else if (strcmp(argv[i], "--api") == 0)
			b.api = argv[i + 1];
		else if (strcmp(argv[i], "--token") == 0)
			b.token = argv[i + 1];
		else if (strcmp(argv[i], "--slow") == 0)
			b.slow = g_ascii_strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--only") == 0)
			b.only = argv[i + 1];
		else if (strcmp(argv[i], "--rounds") == 0)
			b.rounds = CLAMP((guint)strtoul(argv[i + 1], NULL, 10), 1, 9);
		else if (strcmp(argv[i], "--warm") == 0)
			b.warm = (guint)strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--cache") == 0)
			b.cache_mib = (guint)strtoul(argv[i + 1], NULL, 10);
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) store = open_target(b.dir, &error);
	if (store != NULL && store->db != NULL && b.cache_mib > 0) {
		g_autofree char *pragma =
		    g_strdup_printf("PRAGMA cache_size = -%u", b.cache_mib * 1024);
		if (sqlite3_exec(store->db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "%s: %s\n", pragma, sqlite3_errmsg(store->db));
			return 1;
		}
	}
	if (store == NULL || !write_config(&b)) {
		fprintf(stderr, "%s\n", error ? error->message : "cannot write the configuration");
		return 1;
	}
	printf("store %s: %" G_GINT64_FORMAT " tickets, %" G_GINT64_FORMAT " articles;"
	       " medians of %u rounds\n",
	       b.dir, count_rows(store, "SELECT count(*) FROM tickets"),
	       count_rows(store, "SELECT max(id) FROM articles"), b.rounds);
	b.vocabulary = dk_scale_vocabulary();
	load_requesters(store);
	struct curl_slist *headers = NULL;
	if (b.api != NULL) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		b.curl = curl_easy_init();
		g_autofree char *auth = g_strdup_printf("Authorization: Bearer %s", b.token);
		headers = curl_slist_append(NULL, auth);
		curl_easy_setopt(b.curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(b.curl, CURLOPT_WRITEFUNCTION, keep_body);
	}
	print_load("before");
	/* read once, before the threading cases: a scan of message_ids */
	if (threading_wanted(&b))
		b.replied = count_rows(
		    store, "SELECT max(article) FROM message_ids WHERE message_id LIKE 'article%'");
	warm_up(&b, store);
	run_thread(&b, store, FALSE);
	run_thread(&b, store, TRUE);
	run_rows(&b, store);
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
		if (b.only == NULL || g_str_has_prefix(cases[i].name, b.only))
			run_case(&b, store, &cases[i]);
	print_load("after");
	if (b.curl != NULL) {
		curl_easy_cleanup(b.curl);
		curl_slist_free_all(headers);
	}
	dk_scale_vocabulary_free(&b.vocabulary);
	g_ptr_array_unref(requesters);
	g_free(b.conf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "build") == 0)
		return build(argv[2], argc > 3 ? (guint)strtoul(argv[3], NULL, 10) : 1000000);
	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return run(argc, argv);
	if (argc == 3 && strcmp(argv[1], "ids") == 0)
		return add_ids(argv[2]);
	if (argc == 3 && strcmp(argv[1], "size") == 0)
		return print_size(argv[2]);
	fprintf(stderr, "usage: bench-scale build TARGET [TICKETS]\n"
	                "       bench-scale ids TARGET\n"
	                "       bench-scale size TARGET\n"
	                "       bench-scale run TARGET [--docket BIN] [--api URL --token TOKEN]"
	                " [--rounds N] [--only PREFIX] [--slow MS] [--warm N] [--cache MIB]\n");
	return 2;
}
