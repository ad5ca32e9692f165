/* Benchmark of retention's purge: builds a store of TICKETS tickets
 * through the store API, each with an inbound article (a raw message of
 * 600 bytes inside the database, or every fourth one of 4 KiB in a file)
 * and an attachment (every tenth one the same content as an open
 * ticket's), four in five closed 40 days ago; then purges them with
 * [store] keep_raw_days = 30 in batches of BATCH tickets and prints how
 * long the whole purge took and the longest write transaction (the time
 * a delivery may wait for the lock). Meanwhile a second connection
 * commits a new ticket with an article (a delivery's write) every
 * millisecond: the latency of those commits, lock waits included, is
 * what deliveries see during a purge. Usage: bench-retention [TICKETS]
 * [BATCH] [DIR [PAUSE_US]]] (default 20000, 50, a temporary folder
 * removed afterwards, the purge's own pause). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dk-test.h"
#include "gateway/desk/retention.h"
#include "parsers/digest.h"

#define NOW 1800000000
#define DAY 86400
#define FILL 2000 /* tickets per transaction while building */

static gboolean add_attachment(DkStore *store, gint64 article, const char *content, GError **error)
{
	char sha[65];
	dk_sha256_hex(content, strlen(content), sha);
	g_autoptr(GBytes) data = g_bytes_new(content, strlen(content));
	DkAttachmentIn in = {.filename = "report.pdf",
	                     .content_type = "application/pdf",
	                     .size = strlen(content),
	                     .sha256 = sha,
	                     .data = data};
	return dk_store_attachment_add(store, article, 0, &in, error);
}

/* Ticket i: its mail, its attachment, closed or open. */
static gboolean add_ticket(DkStore *store, guint i, GError **error)
{
	gboolean open = i % 5 == 0;
	gint64 at = NOW - 41 * DAY;
	gint64 t = dk_store_ticket_create(store, "subject", "customer@example.com", at, error);
	g_autofree char *pad = g_strnfill(i % 4 == 0 ? 4096 : 600, 'r');
	g_autofree char *raw = g_strdup_printf("Subject: ticket %u\n\n%s\n", i, pad);
	g_autoptr(GBytes) bytes = g_bytes_new(raw, strlen(raw));
	char sha[65];
	if (t == 0 || !dk_store_raw_put(store, bytes, at, sha, error))
		return FALSE;
	DkArticle a = {.ticket = t,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .subject = "subject",
	               .new_text = "text",
	               .full_text = "text",
	               .raw_sha256 = sha,
	               .created_at = at};
	gint64 article = dk_store_article_add(store, &a, error);
	g_autofree char *content = i % 10 == 0 || i % 10 == 3 ? g_strdup("the shared report")
	                                                      : g_strdup_printf("report %u", i);
	if (article == 0 || !add_attachment(store, article, content, error))
		return FALSE;
	if (open)
		return TRUE;
	return dk_store_ticket_set_status(store, t, DK_STATUS_RESOLVED, at, error) &&
	       dk_store_ticket_set_status(store, t, DK_STATUS_CLOSED, NOW - 40 * DAY, error);
}

/* The second connection's writes while the purge runs. */
typedef struct {
	const char *dir;
	gint stop;
	GArray *ms; /* of double: each commit's latency */
	GError *error;
} Writer;

static gboolean write_one(DkStore *store, GError **error)
{
	if (!dk_store_begin(store, error))
		return FALSE;
	gint64 t = dk_store_ticket_create(store, "delivered", "customer@example.com", NOW, error);
	DkArticle a = {.ticket = t,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .subject = "delivered",
	               .new_text = "text",
	               .full_text = "text",
	               .created_at = NOW};
	if (t == 0 || dk_store_article_add(store, &a, error) == 0) {
		dk_store_rollback(store);
		return FALSE;
	}
	return dk_store_commit(store, error);
}

static gpointer writer_run(gpointer data)
{
	Writer *w = data;
	DkStoreOptions options = {.inline_max = 1024, .busy_timeout_ms = 5000};
	g_autoptr(DkStore) store = dk_store_open(w->dir, &options, &w->error);
	while (store != NULL && !g_atomic_int_get(&w->stop)) {
		gint64 start = g_get_monotonic_time();
		if (!write_one(store, &w->error))
			break;
		double ms = (double)(g_get_monotonic_time() - start) / 1000.0;
		g_array_append_val(w->ms, ms);
		g_usleep(1000);
	}
	return NULL;
}

static void print_writes(const char *when, GArray *ms)
{
	if (ms->len == 0)
		return;
	double *v = (double *)(void *)ms->data;
	dk_bench_sort(v, ms->len);
	printf("%s: %u writes on another connection, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", when,
	       ms->len, v[ms->len / 2], v[(guint)(ms->len * 0.99)], v[ms->len - 1]);
}

/* The writes alone for seconds: what the machine gives without a purge. */
static void writes_alone(const char *dir, guint seconds)
{
	Writer w = {.dir = dir, .ms = g_array_new(FALSE, FALSE, sizeof(double))};
	GThread *writer = g_thread_new("writer", writer_run, &w);
	g_usleep(seconds * G_USEC_PER_SEC);
	g_atomic_int_set(&w.stop, 1);
	g_thread_join(writer);
	print_writes("without a purge", w.ms);
	g_array_unref(w.ms);
	g_clear_error(&w.error);
}

static gboolean build(DkStore *store, guint tickets, GError **error)
{
	for (guint done = 0; done < tickets;) {
		if (!dk_store_begin(store, error))
			return FALSE;
		for (guint n = 0; n < FILL && done < tickets; n++, done++)
			if (!add_ticket(store, done, error)) {
				dk_store_rollback(store);
				return FALSE;
			}
		if (!dk_store_commit(store, error))
			return FALSE;
	}
	return TRUE;
}

int main(int argc, char **argv)
{
	guint tickets = argc > 1 ? (guint)atoi(argv[1]) : 20000;
	guint batch = argc > 2 ? (guint)atoi(argv[2]) : DK_RETENTION_BATCH;
	g_autofree char *dir = argc > 3 ? g_strdup(argv[3]) : dk_test_tmpdir();
	DkStoreOptions options = {.inline_max = 1024, .busy_timeout_ms = 5000};
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) store = dk_store_open(dir, &options, &error);
	if (store == NULL || !build(store, tickets, &error)) {
		fprintf(stderr, "bench-retention: %s\n", error->message);
		return 1;
	}
	const char conf[] = "[store]\nkeep_raw_days = 30\n";
	g_autoptr(DkConfig) config = dk_config_load_data(conf, strlen(conf), "bench", &error);
	g_autoptr(DkRetention) policy = dk_retention_new(config);
	DkPurgeOptions o = {.now = NOW, .batch = batch, .pause_us = argc > 4 ? atoi(argv[4]) : 0};
	DkPurgeStats s = {0};
	writes_alone(dir, 10);
	Writer w = {.dir = dir, .ms = g_array_new(FALSE, FALSE, sizeof(double))};
	GThread *writer = g_thread_new("writer", writer_run, &w);
	gint64 start = g_get_monotonic_time();
	gboolean ok = dk_retention_purge(store, policy, &o, &s, &error);
	double seconds = (double)(g_get_monotonic_time() - start) / 1e6;
	g_atomic_int_set(&w.stop, 1);
	g_thread_join(writer);
	if (!ok || w.error != NULL) {
		fprintf(stderr, "bench-retention: %s\n", ok ? w.error->message : error->message);
		return 1;
	}
	printf("tickets %u, batch %u: purged %u tickets, %u raw messages, %u attachments,"
	       " %u files, %" G_GINT64_FORMAT " bytes; kept %u; %u batches in %.2f s"
	       " (%.0f tickets/s); longest write transaction %.1f ms\n",
	       tickets, batch, s.tickets, s.raw_messages, s.attachments, s.files, s.bytes, s.kept,
	       s.batches, seconds, s.tickets / seconds, (double)s.longest_us / 1000.0);
	print_writes("during the purge", w.ms);
	g_array_unref(w.ms);
	if (argc <= 3)
		dk_test_rmtree(dir);
	return 0;
}
