/* The ticket list (dk_store_ticket_query): the tickets the filters keep,
 * in urgency order, read so that a first page costs about a page of rows
 * at a million tickets.
 *
 * The order, as store.h says: tickets with an SLA target to count to by the
 * time left (running clocks: the next target's time minus now; paused
 * ones: what they had left when the pause began; on equal time a running
 * clock first), then those without one (resolved, closed, no target) by
 * priority and age. Migration 17 keeps the parts of that order that do not
 * depend on now as columns of each ticket (sla_class, sla_key,
 * priority_rank) and indexes them by (status, sla_class, sla_key,
 * priority_rank, created_at), alone and after the requester, the
 * assignee, the queue and the priority: within one (status, class) range,
 * and one requester, assignee, queue or priority where the list asks for
 * one, the index is in the list's order. So the list is one arm per
 * status and class, each the first page of its index range (the other
 * filters checked row by row), merged by SQLite; the tickets without a
 * target are read only when those with one fill no page, and those of a
 * status that a recent "created since" or "updated since" narrows to a
 * few are read by (status, created_at) or (status, updated_at) instead.
 *
 * The statement depends on the filters given, so it is prepared for each
 * call (a fraction of a millisecond) instead of kept. */
#include "gateway/store/store-private.h"

/* A time filter that keeps at most this many of a status's tickets
 * without a target reads them by its own index (time_indexes()). */
#define TIME_NARROW 5000

/* The statuses q asks for, each once (all when none). */
static guint query_statuses(const DkTicketQuery *q, DkTicketStatus *out)
{
	gboolean asked[DK_STATUS_COUNT] = {FALSE};
	for (guint i = 0; q->statuses != NULL && i < q->n_statuses; i++)
		if (q->statuses[i] < DK_STATUS_COUNT)
			asked[q->statuses[i]] = TRUE;
	guint n = 0;
	for (guint i = 0; i < DK_STATUS_COUNT; i++)
		if (asked[i])
			out[n++] = (DkTicketStatus)i;
	if (n == 0)
		for (guint i = 0; i < DK_STATUS_COUNT; i++)
			out[n++] = (DkTicketStatus)i;
	return n;
}

static gboolean given(const char *text)
{
	return text != NULL && *text != '\0';
}

/* The conditions on t other than the status, with the parameter numbers
 * that prepare() binds. */
static void append_filters(GString *sql, const DkTicketQuery *q)
{
	if (given(q->priority))
		g_string_append(sql, " AND t.priority = ?2");
	if (given(q->queue))
		g_string_append(sql, " AND t.queue = ?3");
	if (given(q->assignee))
		g_string_append(sql, " AND lower(t.assignee) = lower(?4)");
	if (given(q->requester))
		g_string_append(sql, " AND lower(t.requester) = lower(?5)");
	if (q->created_since != 0)
		g_string_append(sql, " AND t.created_at >= ?6");
	if (q->updated_since != 0)
		g_string_append(sql, " AND t.updated_at >= ?7");
	if (!q->include_merged)
		g_string_append(sql, " AND t.merged_into IS NULL");
	if (q->breached)
		g_string_append(sql, " AND (t.first_response_breached_at IS NOT NULL"
		                     " OR t.resolution_breached_at IS NOT NULL)");
}

/* Prepares sql and binds what append_filters() and the queries below use:
 * ?8 the limit (-1: none), ?9 now. A parameter the statement lacks is
 * left alone (dk_stmt_bind_* ignores it). */
static DkStmt *prepare(DkStore *store, const char *sql, const DkTicketQuery *q, gint64 limit,
                       GError **error)
{
	DkStmt *st = dk_store_prepare_once(store, sql, error);
	if (st == NULL)
		return NULL;
	const char *texts[] = {q->priority, q->queue, q->assignee, q->requester};
	for (guint i = 0; i < G_N_ELEMENTS(texts); i++)
		if (given(texts[i]))
			dk_stmt_bind_static(st, (int)i + 2, texts[i]);
	dk_stmt_bind_int64(st, 6, q->created_since);
	dk_stmt_bind_int64(st, 7, q->updated_since);
	dk_stmt_bind_int64(st, 8, limit);
	dk_stmt_bind_int64(st, 9, q->now);
	return st;
}

static gboolean add_number(DkStmt *st, gpointer out)
{
	gint64 n = dk_stmt_int64(st, 0);
	g_array_append_val((GArray *)out, n);
	return TRUE;
}

/* Appends the numbers sql selects to found. */
static gboolean select_numbers(DkStore *store, const char *sql, const DkTicketQuery *q,
                               gint64 limit, GArray *found, GError **error)
{
	DkStmt *st = prepare(store, sql, q, limit, error);
	if (st == NULL)
		return FALSE;
	gboolean ok = dk_store_each_row(store, st, "reading tickets", add_number, found, error);
	dk_stmt_free(st);
	return ok;
}

/* The index the arms read: the one that starts with the requester, the
 * assignee, the queue or the priority when the list asks for one (in that
 * order: the fewest tickets first), with the condition on it into
 * *leading. */
static const char *index_for(const DkTicketQuery *q, const char **leading)
{
	if (given(q->requester)) {
		*leading = "lower(t.requester) = lower(?5) AND ";
		return "tickets_requester_urgency";
	}
	if (given(q->assignee)) {
		*leading = "lower(t.assignee) = lower(?4) AND ";
		return "tickets_assignee_urgency";
	}
	if (given(q->queue)) {
		*leading = "t.queue = ?3 AND ";
		return "tickets_queue_urgency";
	}
	if (given(q->priority)) {
		*leading = "t.priority = ?2 AND ";
		return "tickets_priority_urgency";
	}
	*leading = "";
	return "tickets_urgency";
}

/* SQLite is told which index an arm reads (" INDEXED BY " and the name
 * that follows); PostgreSQL's planner takes no such hint. */
static const char *indexed(DkStore *store)
{
	return DK_SQL(store, " INDEXED BY ", "");
}

static const char *index_name(DkStore *store, const char *index)
{
	return store->backend == NULL ? index : "";
}

/* The arms for the classes first_class to last_class (0, 1: with a
 * target; 2: without), each its range's first ?8 tickets as (number, left,
 * paused, priority_rank, created_at), a status's class 2 read by
 * by_time[i] when that is set; how many (none for closed statuses asked
 * for the classes with a target). */
static guint append_arms(DkStore *store, GString *sql, const DkTicketQuery *q,
                         const DkTicketStatus *statuses, guint n, int first_class, int last_class,
                         const char *const *by_time)
{
	static const char *const left[] = {"t.sla_key - ?9", "t.sla_key", "NULL"};
	const char *leading = NULL;
	const char *urgency = index_for(q, &leading);
	guint arms = 0;
	for (guint i = 0; i < n; i++) {
		for (int c = first_class; c <= last_class; c++) {
			/* a resolved or closed ticket has nothing to count to */
			if (c < 2 && dk_ticket_status_is_closed(statuses[i]))
				continue;
			const char *index = c == 2 && by_time[i] != NULL ? by_time[i] : urgency;
			g_string_append_printf(
			    sql,
			    "%sSELECT * FROM (SELECT t.number, %s AS time_left, %d AS paused,"
			    " t.priority_rank, t.created_at FROM tickets t%s%s"
			    " WHERE %st.status = '%s' AND t.sla_class = %d%s",
			    arms ? " UNION ALL " : "", left[c], c == 1, indexed(store),
			    index_name(store, index), leading, dk_ticket_status_name(statuses[i]),
			    c, c == 2 ? " AND t.sla_key IS NULL" : "");
			append_filters(sql, q);
			/* class 2's sla_key is NULL throughout, so ordering by it
			 * too changes nothing, but tells PostgreSQL's planner that
			 * the urgency index's order (…, sla_key, priority_rank,
			 * created_at) is the arm's: it reads the first page
			 * instead of sorting every closed ticket (0.7 s at
			 * 1,000,000). Not where the arm reads a time's index and
			 * sorts what it finds: there the planner would take the
			 * urgency index's order and skip the old tickets one by one. */
			gboolean sla_order = c < 2 || (store->backend != NULL && index == urgency);
			g_string_append_printf(sql,
			                       " ORDER BY %st.priority_rank, t.created_at,"
			                       " t.number LIMIT ?8) AS arm%u",
			                       sla_order ? "t.sla_key, " : "", arms++);
		}
	}
	return arms;
}

/* For the arms without a target, where the resolved and closed tickets
 * (most of a store) are: when the list asks for tickets updated or created
 * since a time and no requester, assignee, queue or priority, by_time[i]
 * is the index of that time (by status) if it keeps at most TIME_NARROW
 * of statuses[i]'s tickets, whose arm then reads them by it and sorts
 * them, instead of reading that status's tickets in order until a page of
 * them is recent enough; else NULL. */
static gboolean time_indexes(DkStore *store, const DkTicketQuery *q, const DkTicketStatus *statuses,
                             guint n, const char **by_time, GError **error)
{
	const char *leading = NULL, *index = NULL, *condition = NULL;
	for (guint i = 0; i < n; i++)
		by_time[i] = NULL;
	index_for(q, &leading);
	if (*leading != '\0')
		return TRUE;
	if (q->updated_since != 0)
		index = "tickets_status", condition = "t.updated_at >= ?7";
	else if (q->created_since != 0)
		index = "tickets_status_created", condition = "t.created_at >= ?6";
	else
		return TRUE;
	for (guint i = 0; i < n; i++) {
		g_autofree char *sql =
		    g_strdup_printf("SELECT count(*) FROM (SELECT 1 FROM tickets t%s%s"
		                    " WHERE t.status = '%s' AND %s LIMIT ?8) AS recent",
		                    indexed(store), index_name(store, index),
		                    dk_ticket_status_name(statuses[i]), condition);
		g_autoptr(GArray) count = g_array_new(FALSE, FALSE, sizeof(gint64));
		if (!select_numbers(store, sql, q, TIME_NARROW + 1, count, error))
			return FALSE;
		if (g_array_index(count, gint64, 0) <= TIME_NARROW)
			by_time[i] = index;
	}
	return TRUE;
}

static const char ORDER[] =
    " ORDER BY time_left IS NULL, time_left, paused, priority_rank, created_at, number"
    " LIMIT ?8";

/* The numbers of the tickets listed: those with a target, then, when they
 * fill no page, those without. */
static gboolean by_urgency(DkStore *store, const DkTicketQuery *q, const DkTicketStatus *statuses,
                           guint n, GArray *found, GError **error)
{
	gint64 limit = q->limit ? (gint64)q->limit : -1;
	const char *by_time[DK_STATUS_COUNT] = {NULL};
	for (int part = 0; part < 2; part++) {
		if (part == 1 && !time_indexes(store, q, statuses, n, by_time, error))
			return FALSE;
		g_autoptr(GString) sql = g_string_new("SELECT number FROM (");
		if (append_arms(store, sql, q, statuses, n, part ? 2 : 0, part ? 2 : 1, by_time) ==
		    0)
			continue;
		g_string_append_printf(sql, ") AS arms%s", ORDER);
		if (!select_numbers(store, sql->str, q, limit, found, error))
			return FALSE;
		if (limit >= 0 && found->len >= (guint)limit)
			break;
		if (limit >= 0)
			limit -= found->len;
	}
	return TRUE;
}

GPtrArray *dk_store_ticket_query(DkStore *store, const DkTicketQuery *q, GError **error)
{
	DkTicketStatus statuses[DK_STATUS_COUNT];
	guint n = query_statuses(q, statuses);
	g_autoptr(GArray) found = g_array_new(FALSE, FALSE, sizeof(gint64));
	if (!by_urgency(store, q, statuses, n, found, error))
		return NULL;
	return dk_store_tickets_get(store, (const gint64 *)(gpointer)found->data, found->len,
	                            error);
}
