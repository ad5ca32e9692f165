/* The PostgreSQL backend's statements read what a page needs, not the
 * table: the tuples a query read are counted by the server in its
 * transaction (pg_stat_xact_user_tables), so a plan that sorts every row
 * fails here while the result stays right. At 1,000,000 tickets such a
 * plan took 0.7 s a page (tests/bench/bench-scale.c). */
#include "dk-test-store.h"
#include "gateway/store/store-private.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define TICKETS 5000

static char *conninfo;

static int setup(void **state)
{
	(void)state;
	g_autofree char *db = dk_test_pg_create_database("pgplans");
	g_free(conninfo);
	conninfo = dk_test_pg_conninfo(db);
	return 0;
}

/* A store of TICKETS closed tickets without SLA targets (ticket n created
 * at time n), with the planner's statistics. */
static DkStore *open_closed_store(void)
{
	g_autoptr(GError) error = NULL;
	DkStore *s = dk_store_pg_open(conninfo, NULL, &error);
	g_assert_no_error(error);
	g_autofree char *fill = g_strdup_printf(
	    "INSERT INTO tickets (number, subject, status, created_at, updated_at, closed_at)"
	    " SELECT n, 'old', 'closed', n, n, n FROM generate_series(1, %d) n;"
	    " ANALYZE tickets",
	    TICKETS);
	assert_true(dk_store_exec(s, fill, &error));
	g_assert_no_error(error);
	return s;
}

/* The tuples of tickets this transaction has read so far. */
static gint64 tickets_read(DkStore *s)
{
	return dk_test_store_number(s,
	                            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
	                            " FROM pg_stat_xact_user_tables WHERE relname = 'tickets'");
}

/* Lists the closed tickets of a store of closed tickets as q asks (5 a
 * page): the page must be first, first + 1, ... and the query must read at
 * most 100 tuples of tickets (the page, the tickets read for it, a few
 * more), not the 5,000. */
static void assert_page_read_narrowly(DkTicketQuery *q, gint64 first)
{
	g_autoptr(DkStore) s = open_closed_store();
	g_autoptr(GError) error = NULL;
	static const DkTicketStatus closed[] = {DK_STATUS_CLOSED};
	q->statuses = closed;
	q->n_statuses = 1;
	q->limit = 5;
	q->now = TICKETS;
	assert_true(dk_store_begin(s, &error));
	gint64 before = tickets_read(s);
	g_autoptr(GPtrArray) page = dk_store_ticket_query(s, q, &error);
	g_assert_no_error(error);
	gint64 read = tickets_read(s) - before;
	assert_int_equal(page->len, 5);
	for (guint i = 0; i < page->len; i++)
		assert_int_equal(((DkTicket *)g_ptr_array_index(page, i))->number, first + i);
	assert_in_range(read, 5, 100);
	dk_store_rollback(s);
}

/* The first page of the closed tickets (the arm of the tickets without a
 * target, where most of a store is) is read in the urgency index's order,
 * oldest first, a page's worth of rows; then the page's tickets, by their
 * numbers in one statement, through the primary key. */
static void test_closed_page_reads_a_page(void **state)
{
	(void)state;
	DkTicketQuery q = {0};
	assert_page_read_narrowly(&q, 1);
}

/* The closed tickets updated since a recent time: few, so the arm reads
 * them by the time's index (status, updated_at) and sorts them. (At this
 * size the planner does so even when the arm's order is the urgency
 * index's; at 1,000,000 tickets it then skipped the old ones one by one.) */
static void test_recent_closed_reads_the_recent(void **state)
{
	(void)state;
	DkTicketQuery q = {.updated_since = TICKETS - 9};
	assert_page_read_narrowly(&q, TICKETS - 9);
}

int main(void)
{
	dk_test_pg_setenv();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_closed_page_reads_a_page, setup),
	    cmocka_unit_test_setup(test_recent_closed_reads_the_recent, setup),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	g_free(conninfo);
	return failed;
}
