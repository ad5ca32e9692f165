/* Tests of the ticket list (gateway/store/store-list.c) and of the rank of
 * search hits (store-rank.c): the list's order and filters, read by each
 * of its indexes, against the same list worked out here ticket by ticket; search
 * ranks equal to FTS5's bm25() where a word is in fewer rows than the rank
 * counts, and a word in more articles than a search ranks answered from
 * the newest. */
#include "dk-test-store.h"
#include "gateway/store/store-private.h"

#include <sqlite3.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

/* Enough tickets for every status, class and filter to hold many, and
 * ties in the time left (times are multiples of 600 s). */
#define TICKETS 2000
#define NOW 480000 /* a multiple of 600, as the times are */

typedef struct {
	char *dir;
	DkStore *store;
} Fixture;

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = dk_test_tmpdir();
	f->store = dk_test_store_open(f->dir, NULL, NULL);
	assert_non_null(f->store);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_store_close(f->store);
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static const char *const priorities[] = {"critical", "high", "medium", "low", "none"};

/* A ticket drawn at random, its clocks as the desk keeps them: paused
 * since a time in waiting and on hold, stopped once resolved or closed. */
static void add_ticket(DkStore *s, GRand *rand, guint i)
{
	g_autofree char *requester =
	    g_strdup_printf("c%d@example.com", g_rand_int_range(rand, 0, 40));
	gint64 created = 600 * g_rand_int_range(rand, 0, NOW / 600);
	gint64 n = dk_store_ticket_create(s, "a ticket", requester, created, NULL);
	assert_true(n > 0);
	const char *priority = priorities[g_rand_int_range(rand, 0, 5)];
	DkTicketStatus status = (DkTicketStatus)g_rand_int_range(rand, 0, DK_STATUS_COUNT);
	const char *assignee = g_rand_int_range(rand, 0, 50) ? "Busy@Example.com"
	                       : g_rand_boolean(rand)        ? "idle@example.com"
	                                                     : NULL;
	assert_true(dk_store_ticket_set(s, n, DK_TICKET_PRIORITY, priority, created, NULL));
	assert_true(dk_store_ticket_set(s, n, DK_TICKET_ASSIGNEE, assignee, created, NULL));
	assert_true(dk_store_ticket_set(s, n, DK_TICKET_QUEUE, i % 97 == 3 ? "legal" : "default",
	                                created, NULL));
	assert_true(dk_store_ticket_set_status(s, n, status, created, NULL));
	DkTicketSla sla = {0};
	if (strcmp(priority, "none") != 0) {
		/* coarse times, so that equal times left show the ties' order */
		sla.first_response_due = created + 600 * g_rand_int_range(rand, 1, 40);
		sla.resolution_due = sla.first_response_due + 600 * g_rand_int_range(rand, 1, 40);
		if (g_rand_boolean(rand))
			sla.first_response_at = created + 60;
		else if (g_rand_boolean(rand))
			sla.first_response_breached_at = sla.first_response_due;
	}
	if (dk_ticket_status_is_paused(status) || dk_ticket_status_is_closed(status))
		sla.paused_since = created + 30;
	if (dk_ticket_status_is_paused(status) && sla.resolution_due != 0 &&
	    g_rand_int_range(rand, 0, 8)) {
		sla.has_paused_left = TRUE;
		sla.paused_left = 600 * g_rand_int_range(rand, -20, 40);
	}
	assert_true(dk_store_ticket_sla_set(s, n, &sla, NULL));
}

static void add_tickets(DkStore *s)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(11);
	assert_true(dk_store_begin(s, NULL));
	for (guint i = 0; i < TICKETS; i++)
		add_ticket(s, rand, i);
	assert_true(dk_store_commit(s, NULL));
	/* a few merged */
	assert_true(
	    dk_store_exec(s, "UPDATE tickets SET merged_into = 1 WHERE number % 89 = 5", NULL));
}

/* A ticket as the reference order sees it. */
typedef struct {
	DkTicket *ticket;
	DkTicketSla sla;
	gboolean has_left;
	gint64 left;
	gboolean paused;
	int rank;
	gboolean merged;
} Row;

/* The time left as the store's documentation (store.h) counts it. */
static void row_left(Row *r, gint64 now)
{
	const DkTicketSla *sla = &r->sla;
	r->paused = sla->paused_since != 0;
	if (dk_ticket_status_is_closed(r->ticket->status))
		r->has_left = FALSE;
	else if (r->paused)
		r->has_left = sla->has_paused_left, r->left = sla->paused_left;
	else if (sla->first_response_at == 0 && sla->first_response_due != 0)
		r->has_left = TRUE, r->left = sla->first_response_due - now;
	else
		r->has_left = sla->resolution_due != 0, r->left = sla->resolution_due - now;
}

static int compare_rows(gconstpointer pa, gconstpointer pb)
{
	const Row *a = pa, *b = pb;
	if (a->has_left != b->has_left)
		return a->has_left ? -1 : 1;
	if (a->has_left && a->left != b->left)
		return a->left < b->left ? -1 : 1;
	if (a->has_left && a->paused != b->paused)
		return a->paused ? 1 : -1;
	if (a->rank != b->rank)
		return a->rank - b->rank;
	if (a->ticket->created_at != b->ticket->created_at)
		return a->ticket->created_at < b->ticket->created_at ? -1 : 1;
	return a->ticket->number < b->ticket->number ? -1 : 1;
}

static gboolean row_kept(const Row *r, const DkTicketQuery *q)
{
	const DkTicket *t = r->ticket;
	gboolean status_kept = q->n_statuses == 0;
	for (guint i = 0; i < q->n_statuses; i++)
		status_kept = status_kept || q->statuses[i] == t->status;
	gboolean breached =
	    r->sla.first_response_breached_at != 0 || r->sla.resolution_breached_at != 0;
	return status_kept && (q->priority == NULL || strcmp(q->priority, t->priority) == 0) &&
	       (q->queue == NULL || strcmp(q->queue, t->queue) == 0) &&
	       (q->assignee == NULL ||
	        (t->assignee != NULL && g_ascii_strcasecmp(q->assignee, t->assignee) == 0)) &&
	       (q->requester == NULL ||
	        (t->requester != NULL && g_ascii_strcasecmp(q->requester, t->requester) == 0)) &&
	       t->created_at >= q->created_since && t->updated_at >= q->updated_since &&
	       (q->include_merged || !r->merged) && (!q->breached || breached);
}

/* Every ticket with its clocks, read once. */
static GArray *load_rows(DkStore *s)
{
	GArray *rows = g_array_new(FALSE, TRUE, sizeof(Row));
	for (gint64 n = 1; n <= TICKETS; n++) {
		Row r = {.ticket = dk_store_ticket_get(s, n, NULL)};
		assert_non_null(r.ticket);
		assert_true(dk_store_ticket_sla_get(s, n, &r.sla, NULL));
		gint64 into = 0;
		assert_true(dk_store_ticket_merged_into(s, n, &into, NULL));
		r.merged = into != 0;
		for (r.rank = 0; strcmp(priorities[r.rank], r.ticket->priority) != 0; r.rank++)
			;
		g_array_append_val(rows, r);
	}
	return rows;
}

static void free_rows(GArray *rows)
{
	for (guint i = 0; i < rows->len; i++)
		dk_ticket_free(g_array_index(rows, Row, i).ticket);
	g_array_unref(rows);
}

/* The numbers the list should show, worked out ticket by ticket. */
static GArray *expected(GArray *all, const DkTicketQuery *q)
{
	g_autoptr(GArray) rows = g_array_new(FALSE, TRUE, sizeof(Row));
	for (guint i = 0; i < all->len; i++) {
		Row r = g_array_index(all, Row, i);
		row_left(&r, q->now);
		if (row_kept(&r, q))
			g_array_append_val(rows, r);
	}
	g_array_sort(rows, compare_rows);
	GArray *numbers = g_array_new(FALSE, FALSE, sizeof(gint64));
	for (guint i = 0; i < rows->len && (q->limit == 0 || i < q->limit); i++)
		g_array_append_val(numbers, g_array_index(rows, Row, i).ticket->number);
	return numbers;
}

static void check_query(DkStore *s, GArray *rows, DkTicketQuery q)
{
	static const guint limits[] = {0, 1, 7, 50};
	for (guint l = 0; l < G_N_ELEMENTS(limits); l++) {
		q.limit = limits[l];
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) listed = dk_store_ticket_query(s, &q, &error);
		assert_non_null(listed);
		g_autoptr(GArray) want = expected(rows, &q);
		assert_int_equal(listed->len, want->len);
		for (guint i = 0; i < listed->len; i++)
			assert_int_equal(((DkTicket *)g_ptr_array_index(listed, i))->number,
			                 g_array_index(want, gint64, i));
	}
}

static void test_list_order_and_filters(void **state)
{
	DkStore *s = ((Fixture *)*state)->store;
	add_tickets(s);
	static const DkTicketStatus working[] = {DK_STATUS_NEW, DK_STATUS_OPEN,
	                                         DK_STATUS_IN_PROGRESS, DK_STATUS_WAITING,
	                                         DK_STATUS_ON_HOLD};
	static const DkTicketStatus closed[] = {DK_STATUS_CLOSED, DK_STATUS_RESOLVED};
	static const DkTicketStatus waiting[] = {DK_STATUS_WAITING, DK_STATUS_WAITING};
	const DkTicketQuery queries[] = {
	    {.now = NOW},
	    {.now = NOW / 2},
	    {.now = NOW, .statuses = working, .n_statuses = G_N_ELEMENTS(working)},
	    {.now = NOW, .statuses = closed, .n_statuses = G_N_ELEMENTS(closed)},
	    {.now = NOW, .statuses = waiting, .n_statuses = G_N_ELEMENTS(waiting)},
	    {.now = NOW, .priority = "critical"},
	    {.now = NOW, .breached = TRUE, .include_merged = TRUE},
	    {.now = NOW, .created_since = NOW - 20000, .updated_since = NOW - 30000},
	    /* read by (status, created_at) and (status, updated_at) */
	    {.now = NOW, .created_since = NOW / 2, .statuses = closed, .n_statuses = 2},
	    {.now = NOW, .updated_since = NOW - 100000},
	    /* by the assignee's, the queue's and the requester's indexes */
	    {.now = NOW, .assignee = "busy@example.com"},
	    {.now = NOW, .queue = "default", .priority = "high"},
	    {.now = NOW, .assignee = "busy@example.com", .statuses = closed, .n_statuses = 2},
	    {.now = NOW, .assignee = "IDLE@example.com"},
	    {.now = NOW, .queue = "legal"},
	    {.now = NOW, .requester = "c7@example.com", .queue = "default"},
	    {.now = NOW,
	     .requester = "c9@example.com",
	     .assignee = "busy@example.com",
	     .statuses = working,
	     .n_statuses = 5,
	     .include_merged = TRUE},
	    {.now = NOW, .requester = "nobody@example.com"},
	};
	GArray *rows = load_rows(s);
	for (guint i = 0; i < G_N_ELEMENTS(queries); i++)
		check_query(s, rows, queries[i]);
	free_rows(rows);
}

/* An article of its own ticket with that subject and text, at time at. */
static gint64 add_article(DkStore *s, const char *subject, const char *text, gint64 at)
{
	gint64 n = dk_store_ticket_create(s, subject, "alice@example.com", at, NULL);
	return dk_test_article_add(s, n, subject, text, at);
}

static double bm25_of(DkStore *s, const char *match, gint64 article)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(s->db,
	                       "SELECT bm25(article_search, 2.0, 1.0) FROM article_search"
	                       " WHERE article_search MATCH ? AND rowid = ?",
	                       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, article);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	double rank = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return rank;
}

/* Below the count the rank keeps, dk_rank() is bm25(). */
static void test_rank_is_bm25(void **state)
{
	DK_TEST_SQLITE_ONLY(); /* PostgreSQL ranks by ts_rank_cd */
	DkStore *s = ((Fixture *)*state)->store;
	assert_true(dk_store_begin(s, NULL));
	add_article(s, "Printer", "the printer prints nothing at all", 10);
	add_article(s, "Toner", "the toner of the printer is low; printer toner", 20);
	add_article(s, "Lunch", "nothing about printers here, the toner is fine", 30);
	add_article(s, "Printer toner printer", "printer", 40);
	assert_true(dk_store_commit(s, NULL));
	const char *queries[][2] = {{"printer", "\"printer\""},
	                            {"toner printer", "\"toner\" \"printer\""},
	                            {"the", "\"the\""}};
	for (guint q = 0; q < G_N_ELEMENTS(queries); q++) {
		g_autoptr(GPtrArray) hits = dk_store_search(s, queries[q][0], 0, NULL);
		assert_non_null(hits);
		assert_true(hits->len > 0);
		for (guint i = 0; i < hits->len; i++) {
			const DkSearchHit *h = g_ptr_array_index(hits, i);
			assert_float_equal(h->rank, bm25_of(s, queries[q][1], h->article), 1e-12);
			if (i > 0)
				assert_true(((DkSearchHit *)g_ptr_array_index(hits, i - 1))->rank <=
				            h->rank);
		}
	}
}

/* A word in more articles than a search ranks: the newest are ranked, so
 * an old article, however well it matches, gives way to recent mail. */
static void test_search_common_word_newest(void **state)
{
	DkStore *s = ((Fixture *)*state)->store;
	assert_true(dk_store_begin(s, NULL));
	gint64 old = add_article(s, "zebra zebra", "zebra zebra zebra zebra", 1);
	for (gint64 i = 0; i < 2100; i++)
		add_article(s, "a question", "one zebra among many other words of a long mail text",
		            10 + i);
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(GPtrArray) hits = dk_store_search(s, "zebra", 3, NULL);
	assert_int_equal(hits->len, 3);
	for (guint i = 0; i < hits->len; i++)
		assert_true(((DkSearchHit *)g_ptr_array_index(hits, i))->article != old);
	/* a rare word is ranked among all its articles */
	assert_true(dk_store_begin(s, NULL));
	gint64 rare = add_article(s, "okapi", "an okapi and a zebra", 5000);
	assert_true(dk_store_commit(s, NULL));
	g_autoptr(GPtrArray) okapi = dk_store_search(s, "okapi", 0, NULL);
	assert_int_equal(okapi->len, 1);
	assert_int_equal(((DkSearchHit *)g_ptr_array_index(okapi, 0))->article, rare);
}

/* More matches than a search ranks, the newest of them behind thousands
 * of newer articles that do not match: PostgreSQL reads the newest slice
 * of ids first, as wide as its statistics say 1,000 matches need (here
 * they say every article matches: they were taken before the newer
 * articles came), then older slices, wider. Either way the newest 1,000
 * matches are ranked, the best of them first, and a word in two
 * articles far apart is found in both. */
static void test_search_across_id_slices(void **state)
{
	DkStore *s = ((Fixture *)*state)->store;
	assert_true(dk_store_begin(s, NULL));
	gint64 old[102] = {add_article(s, "quagga quagga", "quagga quagga quagga quagga", 1),
	                   add_article(s, "okapi", "an okapi and a quagga", 2)};
	gint64 best = 0;
	for (gint64 i = 0; i < 1100; i++) {
		gint64 id =
		    add_article(s, "a question", "one quagga among the words of a mail", 10 + i);
		if (i < 100)
			old[2 + i] = id;
		if (i == 500)
			best = add_article(s, "quagga quagga", "quagga quagga quagga quagga quagga",
			                   700);
	}
	assert_true(dk_store_commit(s, NULL));
	if (dk_test_store_is_pg())
		assert_true(dk_store_exec(s, "ANALYZE articles", NULL));
	assert_true(dk_store_begin(s, NULL));
	gint64 lunch = dk_store_ticket_create(s, "lunch", "bob@example.com", 2000, NULL);
	for (gint64 i = 0; i < 3000; i++)
		dk_test_article_add(s, lunch, "lunch", "nothing to see here", 2000 + i);
	gint64 okapi = dk_test_article_add(s, lunch, "okapi", "an okapi", 6000);
	assert_true(dk_store_commit(s, NULL));

	/* 1,102 articles hold "quagga": the 102 oldest are not ranked */
	g_autoptr(GPtrArray) hits = dk_store_search(s, "quagga", 0, NULL);
	assert_non_null(hits);
	assert_int_equal(hits->len, 50);
	assert_int_equal(((DkSearchHit *)g_ptr_array_index(hits, 0))->article, best);
	g_autoptr(GHashTable) tickets = g_hash_table_new(g_int64_hash, g_int64_equal);
	for (guint i = 0; i < hits->len; i++) {
		DkSearchHit *h = g_ptr_array_index(hits, i);
		for (guint j = 0; j < G_N_ELEMENTS(old); j++)
			assert_true(h->article != old[j]);
		assert_true(g_hash_table_add(tickets, &h->ticket));
		assert_non_null(strstr(h->snippet, "[quagga]"));
		if (i > 0)
			assert_true(((DkSearchHit *)g_ptr_array_index(hits, i - 1))->rank <=
			            h->rank);
	}
	/* a word in two articles, the oldest and the newest */
	g_autoptr(GPtrArray) found = dk_store_search(s, "okapi", 0, NULL);
	assert_int_equal(found->len, 2);
	assert_int_equal(((DkSearchHit *)g_ptr_array_index(found, 0))->ticket, lunch);
	assert_int_equal(((DkSearchHit *)g_ptr_array_index(found, 0))->article, okapi);
	assert_int_equal(((DkSearchHit *)g_ptr_array_index(found, 1))->article, old[1]);
}

/* The tickets of a list of numbers, read by one statement: in the order
 * asked for, the numbers of no ticket left out, each ticket whole. */
static void test_tickets_by_numbers(void **state)
{
	Fixture *f = *state;
	DkStore *s = f->store;
	assert_true(dk_store_begin(s, NULL));
	for (int i = 1; i <= 5; i++)
		assert_int_equal(dk_store_ticket_create(s, "a ticket", "c@example.com", i, NULL),
		                 i);
	assert_true(dk_test_article_add(s, 4, "one", "its first article", 10) > 0);
	assert_true(dk_store_commit(s, NULL));
	static const gint64 numbers[] = {4, 99, 2, 5};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) got = dk_store_tickets_get(s, numbers, G_N_ELEMENTS(numbers), &error);
	g_assert_no_error(error);
	assert_int_equal(got->len, 3);
	static const gint64 expected[] = {4, 2, 5};
	for (guint i = 0; i < got->len; i++) {
		DkTicket *t = g_ptr_array_index(got, i);
		g_autoptr(DkTicket) one = dk_store_ticket_get_counted(s, t->number, NULL);
		assert_int_equal(t->number, expected[i]);
		assert_string_equal(t->subject, one->subject);
		assert_string_equal(t->requester, one->requester);
		assert_int_equal(t->created_at, one->created_at);
		assert_int_equal(t->articles, one->articles);
	}
	g_autoptr(GPtrArray) none = dk_store_tickets_get(s, NULL, 0, &error);
	g_assert_no_error(error);
	assert_int_equal(none->len, 0);
}

/* The SLA clocks of a page of the list in one statement: each ticket's
 * own, in the page's order, from the slice asked for; a ticket gone is an
 * error. */
static void test_page_sla_in_one_read(void **state)
{
	Fixture *f = *state;
	DkStore *s = f->store;
	add_tickets(s);
	DkTicketQuery q = {.now = NOW, .limit = 30};
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) page = dk_store_ticket_query(s, &q, &error);
	g_assert_no_error(error);
	assert_int_equal(page->len, 30);
	g_autoptr(GArray) slas = dk_store_tickets_sla_get(s, page, 5, 25, &error);
	g_assert_no_error(error);
	assert_int_equal(slas->len, 20);
	guint running = 0;
	for (guint i = 0; i < slas->len; i++) {
		const DkTicket *t = g_ptr_array_index(page, 5 + i);
		const DkTicketSla *got = &g_array_index(slas, DkTicketSla, i);
		DkTicketSla one;
		assert_true(dk_store_ticket_sla_get(s, t->number, &one, NULL));
		const gint64 a[] = {got->first_response_due,
		                    got->resolution_due,
		                    got->first_response_at,
		                    got->paused_seconds,
		                    got->paused_since,
		                    got->first_response_breached_at,
		                    got->resolution_breached_at,
		                    got->has_paused_left,
		                    got->paused_left};
		const gint64 b[] = {
		    one.first_response_due,     one.resolution_due,  one.first_response_at,
		    one.paused_seconds,         one.paused_since,    one.first_response_breached_at,
		    one.resolution_breached_at, one.has_paused_left, one.paused_left};
		assert_memory_equal(a, b, sizeof a);
		running += got->resolution_due != 0;
	}
	assert_true(running > 0); /* the clocks compared are not all zero */
	g_autoptr(GArray) none = dk_store_tickets_sla_get(s, page, 30, 40, &error);
	g_assert_no_error(error);
	assert_int_equal(none->len, 0);
	const DkTicket *first = g_ptr_array_index(page, 0);
	g_autofree char *drop =
	    g_strdup_printf("DELETE FROM tickets WHERE number = %" G_GINT64_FORMAT, first->number);
	assert_true(dk_store_exec(s, drop, NULL));
	g_autoptr(GArray) gone = dk_store_tickets_sla_get(s, page, 0, 3, &error);
	assert_null(gone);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_list_order_and_filters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rank_is_bm25, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_common_word_newest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_across_id_slices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tickets_by_numbers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_page_sla_in_one_read, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
