/* The web desk's list, search and ticket pages, read from the store as the
 * JSON their templates take (desk-view.h; the quarantine and the outbox
 * are in desk-view-queues.c). */
#include "gateway/web/desk-view.h"

#include "gateway/desk/desk.h"
#include "gateway/desk/ticket-view.h"
#include "gateway/error.h"
#include "gateway/store/store-attachments.h"
#include "gateway/web/desk-view-private.h"

#include <string.h>

/* The working statuses: the list's default filter. */
static const DkTicketStatus working[] = {DK_STATUS_NEW, DK_STATUS_OPEN, DK_STATUS_IN_PROGRESS,
                                         DK_STATUS_WAITING, DK_STATUS_ON_HOLD};

json_t *dk_desk_jstr(const char *s)
{
	return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

char *dk_desk_view_time(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
	return dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M UTC") : g_strdup("");
}

void dk_desk_set_time(json_t *o, const char *key, gint64 t)
{
	g_autofree char *iso_key = g_strconcat(key, "_iso", NULL);
	g_autofree char *text = dk_desk_view_time(t);
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
	g_autofree char *iso = dt != NULL ? g_date_time_format_iso8601(dt) : g_strdup("");
	json_object_set_new(o, key, json_string(text));
	json_object_set_new(o, iso_key, json_string(iso));
}

/* "in progress" for in_progress: how a person reads a status. */
json_t *dk_desk_status_label(DkTicketStatus status)
{
	g_autofree char *label = g_strdup(dk_ticket_status_name(status));
	g_strdelimit(label, "_", ' ');
	return json_string(label);
}

/* One <option> of a select: {value, label, selected}. */
json_t *dk_desk_option(const char *value, json_t *label, gboolean selected)
{
	return json_pack("{ss so sb}", "value", value, "label", label, "selected", selected);
}

json_t *dk_desk_priority_options(const char *chosen)
{
	json_t *arr = json_array();
	for (const char *const *p = dk_priority_names; *p != NULL; p++)
		json_array_append_new(
		    arr, dk_desk_option(*p, json_string(*p), g_strcmp0(chosen, *p) == 0));
	return arr;
}

/* The SLA column's text and the class it is shown with: "overdue",
 * "paused", "met", "late", "none" or "running". */
const char *dk_desk_sla_state(const char *left)
{
	if (strcmp(left, "-") == 0)
		return "none";
	if (left[0] == '-')
		return "overdue";
	if (g_str_has_suffix(left, "paused"))
		return "paused";
	if (strcmp(left, "met") == 0 || strcmp(left, "late") == 0)
		return left;
	return "running";
}

static json_t *ticket_row(const DkTicket *t, const DkTicketSla *sla, gint64 now)
{
	g_autofree char *left = dk_desk_sla_left(t, sla, now);
	json_t *o = json_pack(
	    "{sI ss ss so ss ss so so ss ss}", "number", (json_int_t)t->number, "subject",
	    t->subject ? t->subject : "", "status", dk_ticket_status_name(t->status),
	    "status_label", dk_desk_status_label(t->status), "priority", t->priority, "queue",
	    t->queue, "assignee", dk_desk_jstr(t->assignee), "requester",
	    dk_desk_jstr(t->requester), "sla", left, "sla_state", dk_desk_sla_state(left));
	json_object_set_new(o, "sla_title",
	                    json_string(dk_ticket_status_is_paused(t->status)
	                                    ? "the time left when the ticket began waiting"
	                                    : "time left to the next SLA target"));
	dk_desk_set_time(o, "updated", t->updated_at);
	dk_desk_set_time(o, "created", t->created_at);
	return o;
}

/* The status filter into q (statuses has room for DK_STATUS_COUNT). */
static gboolean status_filter(const char *status, DkTicketStatus *statuses, DkTicketQuery *q,
                              GError **error)
{
	if (status == NULL || *status == '\0' || strcmp(status, "working") == 0) {
		memcpy(statuses, working, sizeof working);
		q->statuses = statuses;
		q->n_statuses = G_N_ELEMENTS(working);
		return TRUE;
	}
	if (strcmp(status, "all") == 0)
		return TRUE;
	if (!dk_ticket_status_parse(status, &statuses[0])) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "“%s” is no status", status);
		return FALSE;
	}
	q->statuses = statuses;
	q->n_statuses = 1;
	return TRUE;
}

static json_t *filters_json(const DkDeskFilters *f)
{
	const char *chosen = f->status != NULL && *f->status != '\0' ? f->status : "working";
	json_t *statuses = json_array();
	json_array_append_new(statuses,
	                      dk_desk_option("working", json_string("working (not resolved)"),
	                                     strcmp(chosen, "working") == 0));
	json_array_append_new(
	    statuses, dk_desk_option("all", json_string("all"), strcmp(chosen, "all") == 0));
	for (int s = 0; s < DK_STATUS_COUNT; s++)
		json_array_append_new(
		    statuses, dk_desk_option(dk_ticket_status_name(s), dk_desk_status_label(s),
		                             strcmp(chosen, dk_ticket_status_name(s)) == 0));
	return json_pack("{so so so so sb}", "statuses", statuses, "priorities",
	                 dk_desk_priority_options(f->priority), "queue", dk_desk_jstr(f->queue),
	                 "assignee", dk_desk_jstr(f->assignee), "breached", f->breached);
}

/* The query string of the same filters with a longer page. */
static char *more_query(const DkDeskFilters *f, guint limit)
{
	g_autoptr(GString) s = g_string_new(NULL);
	const char *keys[] = {"status", "priority", "queue", "assignee"};
	const char *values[] = {f->status, f->priority, f->queue, f->assignee};
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
		if (values[i] != NULL && *values[i] != '\0') {
			g_autofree char *v = g_uri_escape_string(values[i], NULL, FALSE);
			g_string_append_printf(s, "%s=%s&", keys[i], v);
		}
	if (f->breached)
		g_string_append(s, "breached=1&");
	g_string_append_printf(s, "limit=%u", MIN(limit * 2, DK_DESK_PAGE_MAX));
	return g_string_free(g_steal_pointer(&s), FALSE);
}

json_t *dk_desk_view_list(DkStore *store, const DkDeskFilters *f, gint64 now, GError **error)
{
	DkTicketStatus statuses[DK_STATUS_COUNT];
	guint limit = f->limit == 0 ? DK_DESK_PAGE_SIZE : MIN(f->limit, DK_DESK_PAGE_MAX);
	DkTicketQuery q = {
	    .priority = f->priority != NULL && *f->priority != '\0' ? f->priority : NULL,
	    .queue = f->queue != NULL && *f->queue != '\0' ? f->queue : NULL,
	    .assignee = f->assignee != NULL && *f->assignee != '\0' ? f->assignee : NULL,
	    .breached = f->breached,
	    .limit = limit + 1, /* one more tells whether there are more */
	    .now = now,
	};
	if (!status_filter(f->status, statuses, &q, error))
		return NULL;
	g_autoptr(GPtrArray) tickets = dk_store_ticket_query(store, &q, error);
	if (tickets == NULL)
		return NULL;
	g_autoptr(GArray) slas = dk_store_tickets_sla_get(store, tickets, 0, limit, error);
	if (slas == NULL)
		return NULL;
	g_autoptr(json_t) rows = json_array();
	for (guint i = 0; i < slas->len; i++)
		json_array_append_new(rows, ticket_row(g_ptr_array_index(tickets, i),
		                                       &g_array_index(slas, DkTicketSla, i), now));
	json_t *page = json_pack("{sO sb so}", "tickets", rows, "has_tickets",
	                         json_array_size(rows) > 0, "filters", filters_json(f));
	if (tickets->len > limit && limit < DK_DESK_PAGE_MAX) {
		g_autofree char *more = more_query(f, limit);
		json_object_set_new(page, "more", json_string(more));
	}
	return page;
}

/* The search index's snippet marks hits with [brackets]: as pieces of
 * text, each a hit or not, for the template to mark up. */
static json_t *snippet_pieces(const char *snippet)
{
	json_t *arr = json_array();
	const char *p = snippet != NULL ? snippet : "";
	while (*p != '\0') {
		gboolean hit = *p == '[';
		const char *start = hit ? p + 1 : p;
		const char *end = strchr(start, hit ? ']' : '[');
		if (end == NULL)
			end = start + strlen(start);
		if (end > start) {
			g_autofree char *text = g_strndup(start, (gsize)(end - start));
			json_array_append_new(arr, json_pack("{ss sb}", "text", text, "hit", hit));
		}
		p = *end == ']' ? end + 1 : end;
	}
	return arr;
}

json_t *dk_desk_view_search(DkStore *store, const char *query, GError **error)
{
	g_autoptr(GPtrArray) hits = dk_store_search(store, query, DK_DESK_PAGE_SIZE, error);
	if (hits == NULL)
		return NULL;
	g_autoptr(GPtrArray) tickets = dk_search_tickets(store, hits, error);
	if (tickets == NULL)
		return NULL;
	g_autoptr(json_t) arr = json_array();
	for (guint i = 0; i < hits->len; i++) {
		const DkSearchHit *h = g_ptr_array_index(hits, i);
		const DkTicket *t = g_ptr_array_index(tickets, i);
		json_array_append_new(arr,
		                      json_pack("{sI ss ss so so}", "ticket", (json_int_t)h->ticket,
		                                "subject", t->subject ? t->subject : "", "status",
		                                dk_ticket_status_name(t->status), "status_label",
		                                dk_desk_status_label(t->status), "snippet",
		                                snippet_pieces(h->snippet)));
	}
	return json_pack("{s{ss sO sb}}", "search", "query", query, "hits", arr, "has_hits",
	                 json_array_size(arr) > 0);
}
