/* Round trips to PostgreSQL per delivered message: the pipeline on a
 * PostgreSQL store (a new database of the test cluster, see
 * tests/pg/pg-cluster.py), counting the requests its connection waits for
 * (dk_store_pg_round_trips). Each figure is for messages delivered after
 * a warm-up, so that every statement is prepared already: new tickets
 * and replies to them, one message per transaction (`docket deliver`) and
 * in batches as the LMTP writer's group commit makes them. The network's
 * latency multiplies these figures: 0.1-0.5 ms a round trip on a LAN.
 *
 * usage: DOCKET_TEST_PG_ENV=FILE bench-pg-trips [MESSAGES [BATCH]]
 *   FILE: written by `tests/pg/pg-cluster.py start FILE`. */
#include "dk-test-store.h"

#include <stdio.h>

static GBytes *message(int i, gboolean reply)
{
	g_autofree char *parent =
	    reply ? g_strdup_printf("In-Reply-To: <new-%d@example.com>\r\n", i) : g_strdup("");
	char *text = g_strdup_printf(
	    "From: Customer %d <customer%d@example.com>\r\nTo: support@example.com\r\n"
	    "Subject: %sPrinter %d prints nothing\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
	    "Message-ID: <%s-%d@example.com>\r\n%s"
	    "\r\nThe printer on floor %d stays silent.\r\n",
	    i, i, reply ? "Re: " : "", i, reply ? "reply" : "new", i, parent, i);
	return g_bytes_new_take(text, strlen(text));
}

/* Delivers messages first..first+n (replies or new tickets), batch to a
 * transaction; the round trips per message. */
static double deliver(DkPipeline *pipeline, DkStore *store, int first, int n, int batch,
                      gboolean reply)
{
	DkIntake intake = {.intake = "bench"};
	guint64 before = dk_store_pg_round_trips(store);
	g_autofree DkPipelineItem **items = g_new0(DkPipelineItem *, batch);
	for (int i = first; i < first + n; i += batch) {
		int m = MIN(batch, first + n - i);
		for (int k = 0; k < m; k++) {
			g_autoptr(GBytes) raw = message(i + k, reply);
			g_autoptr(GError) error = NULL;
			items[k] = dk_pipeline_prepare(pipeline, raw, &intake, &error);
			g_assert_no_error(error);
		}
		g_autoptr(GError) error = NULL;
		g_assert_true(dk_pipeline_commit(pipeline, items, (guint)m, &error));
		for (int k = 0; k < m; k++) {
			g_assert_null(dk_pipeline_item_error(items[k]));
			dk_pipeline_item_free(items[k]);
		}
	}
	return (double)(dk_store_pg_round_trips(store) - before) / n;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	int batch = argc > 2 ? atoi(argv[2]) : 20;
	if (n < 1 || batch < 1) {
		fprintf(stderr, "usage: bench-pg-trips [MESSAGES [BATCH]]\n");
		return 2;
	}
	dk_test_pg_setenv();
	g_autofree char *db = dk_test_pg_create_database("trips");
	g_autofree char *conninfo = dk_test_pg_conninfo(db);
	g_autoptr(GError) error = NULL;
	DkStore *store = dk_store_pg_open(conninfo, NULL, &error);
	g_assert_no_error(error);
	g_autoptr(DkConfig) config = dk_config_new_default();
	DkPipeline *pipeline = dk_pipeline_new(config, store, &dk_outbox_effects);

	/* the warm-up: every statement of both kinds, in both shapes */
	deliver(pipeline, store, 0, 2 * batch, 1, FALSE);
	deliver(pipeline, store, 0, 2 * batch, 1, TRUE);
	deliver(pipeline, store, 2 * batch, 2 * batch, batch, FALSE);
	deliver(pipeline, store, 2 * batch, 2 * batch, batch, TRUE);
	int from = 4 * batch;
	printf("round trips per message, %d messages each:\n", n);
	printf("  new ticket, one per transaction  %.2f\n",
	       deliver(pipeline, store, from, n, 1, FALSE));
	printf("  reply, one per transaction       %.2f\n",
	       deliver(pipeline, store, from, n, 1, TRUE));
	printf("  new ticket, %d per transaction   %.2f\n", batch,
	       deliver(pipeline, store, from + n, n, batch, FALSE));
	printf("  reply, %d per transaction        %.2f\n", batch,
	       deliver(pipeline, store, from + n, n, batch, TRUE));

	dk_pipeline_free(pipeline);
	dk_store_close(store);
	dk_test_pg_drop_database(db);
	return 0;
}
