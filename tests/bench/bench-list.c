/* Benchmark of `ticket list`'s query: builds a store of 100,000 tickets
 * through the store API (priorities, statuses and SLA clocks drawn at
 * random: about a quarter resolved or closed, a sixth paused, the rest
 * running, some past their targets), then times dk_store_ticket_query in
 * its order by urgency for the filters an agent uses, printing latency
 * percentiles. Usage: bench-list [TICKETS] [DIR] (default 100000, a
 * temporary folder that is removed afterwards). */
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>

#include "dk-test.h"
#include "gateway/store/store.h"

#define RUNS 30
#define BATCH 5000
#define NOW 1800000000

static const char *const priorities[] = {"critical", "high", "medium", "low", "none"};
static const DkTicketStatus statuses[] = {
    DK_STATUS_NEW,     DK_STATUS_OPEN,    DK_STATUS_IN_PROGRESS, DK_STATUS_OPEN,
    DK_STATUS_WAITING, DK_STATUS_ON_HOLD, DK_STATUS_RESOLVED,    DK_STATUS_CLOSED};

/* One ticket made at created with a random priority, status and clocks. */
static gboolean add_ticket(DkStore *store, GRand *rand, gint64 created, GError **error)
{
	g_autofree char *subject = g_strdup_printf("ticket made at %" G_GINT64_FORMAT, created);
	gint64 n = dk_store_ticket_create(store, subject, "customer@example.com", created, error);
	const char *priority = priorities[g_rand_int_range(rand, 0, G_N_ELEMENTS(priorities))];
	DkTicketStatus status = statuses[g_rand_int_range(rand, 0, G_N_ELEMENTS(statuses))];
	if (n == 0 ||
	    !dk_store_ticket_set(store, n, DK_TICKET_PRIORITY, priority, created, error) ||
	    !dk_store_ticket_set_status(store, n, status, created, error))
		return FALSE;
	DkTicketSla sla = {0};
	if (g_strcmp0(priority, "none") != 0) {
		sla.first_response_due = created + g_rand_int_range(rand, 900, 86400);
		sla.resolution_due =
		    sla.first_response_due + g_rand_int_range(rand, 3600, 3 * 86400);
		if (g_rand_boolean(rand))
			sla.first_response_at = created + 600;
		else if (sla.first_response_due < NOW)
			sla.first_response_breached_at = sla.first_response_due;
	}
	gboolean paused = dk_ticket_status_is_paused(status);
	gboolean stopped = dk_ticket_status_is_closed(status);
	if (paused || stopped)
		sla.paused_since = created + 1200;
	if (paused && sla.resolution_due != 0) {
		sla.has_paused_left = TRUE;
		sla.paused_left = g_rand_int_range(rand, -3600, 86400);
	}
	return dk_store_ticket_sla_set(store, n, &sla, error);
}

static gboolean build(DkStore *store, guint tickets, GRand *rand, GError **error)
{
	for (guint done = 0; done < tickets;) {
		if (!dk_store_begin(store, error))
			return FALSE;
		for (guint i = 0; i < BATCH && done < tickets; i++, done++) {
			/* spread over the 30 days before NOW */
			if (!add_ticket(store, rand,
			                NOW - 30 * 86400 + (gint64)done * 30 * 86400 / tickets,
			                error)) {
				dk_store_rollback(store);
				return FALSE;
			}
		}
		if (!dk_store_commit(store, error))
			return FALSE;
	}
	return TRUE;
}

/* Times RUNS queries q; prints the percentiles and how many were listed. */
static void run(DkStore *store, const char *name, const DkTicketQuery *q)
{
	double ms[RUNS];
	guint listed = 0;
	for (int i = 0; i < RUNS; i++) {
		g_autoptr(GError) error = NULL;
		gint64 start = g_get_monotonic_time();
		g_autoptr(GPtrArray) found = dk_store_ticket_query(store, q, &error);
		ms[i] = (g_get_monotonic_time() - start) / 1000.0;
		if (found == NULL) {
			fprintf(stderr, "%s: %s\n", name, error->message);
			exit(1);
		}
		listed = found->len;
	}
	dk_bench_sort(ms, RUNS);
	printf("%-34s p50 %8.2f ms  p95 %8.2f ms  max %8.2f ms  (%u listed)\n", name, ms[RUNS / 2],
	       ms[RUNS * 95 / 100], ms[RUNS - 1], listed);
}

int main(int argc, char **argv)
{
	guint tickets = argc > 1 ? (guint)strtoul(argv[1], NULL, 10) : 100000;
	g_autofree char *dir = argc > 2 ? g_strdup(argv[2]) : dk_test_tmpdir();
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);
	g_autoptr(GError) error = NULL;
	DkStore *store = dk_store_open(dir, NULL, &error);
	if (store == NULL) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	gint64 start = g_get_monotonic_time();
	if (!build(store, tickets, rand, &error)) {
		fprintf(stderr, "building: %s\n", error->message);
		return 1;
	}
	printf("built %u tickets in %.1f s\n", tickets, (g_get_monotonic_time() - start) / 1e6);
	static const DkTicketStatus working[] = {DK_STATUS_NEW, DK_STATUS_OPEN,
	                                         DK_STATUS_IN_PROGRESS, DK_STATUS_WAITING,
	                                         DK_STATUS_ON_HOLD};
	run(store, "all, top 50", &(DkTicketQuery){.now = NOW, .limit = 50});
	run(store, "working statuses, top 50",
	    &(DkTicketQuery){
	        .now = NOW, .statuses = working, .n_statuses = G_N_ELEMENTS(working), .limit = 50});
	run(store, "priority critical, top 50",
	    &(DkTicketQuery){.now = NOW, .priority = "critical", .limit = 50});
	run(store, "breached, top 50", &(DkTicketQuery){.now = NOW, .breached = TRUE, .limit = 50});
	run(store, "requester, all of theirs",
	    &(DkTicketQuery){.now = NOW, .requester = "nobody@example.com"});
	run(store, "working statuses, all",
	    &(DkTicketQuery){.now = NOW, .statuses = working, .n_statuses = G_N_ELEMENTS(working)});
	dk_store_close(store);
	if (argc <= 2)
		dk_test_rmtree(dir);
	return 0;
}
