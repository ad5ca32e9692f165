/* The API's tickets: the list (the filters and urgency order of `docket
 * ticket list`, by cursor), one ticket, creation, changes, merges and
 * time entries. */
#include "gateway/web/api-private.h"

#include "gateway/desk/desk.h"
#include "gateway/error.h"

#include <string.h>

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

/* The list's cursor: the clock the first page was ordered by and where
 * the next page starts, so that every page follows the same order.
 * Opaque to clients: "c" and base64url of "NOW.OFFSET". */
static char *cursor_make(gint64 now, gint64 offset)
{
	g_autofree char *plain =
	    g_strdup_printf("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, now, offset);
	g_autofree char *b64 = g_base64_encode((const guchar *)plain, strlen(plain));
	g_strdelimit(b64, "+", '-');
	g_strdelimit(b64, "/", '_');
	return g_strconcat("c", b64, NULL);
}

static gboolean cursor_read(const char *cursor, gint64 *now_out, gint64 *offset_out, GError **error)
{
	if (cursor[0] == 'c' && strlen(cursor) < 64) {
		g_autofree char *b64 = g_strdup(cursor + 1);
		g_strdelimit(b64, "-", '+');
		g_strdelimit(b64, "_", '/');
		gsize len = 0;
		g_autofree guchar *plain = g_base64_decode(b64, &len);
		g_autofree char *text = g_strndup((const char *)plain, len);
		g_auto(GStrv) parts = g_strsplit(text, ".", 3);
		if (g_strv_length(parts) == 2 &&
		    g_ascii_string_to_signed(parts[0], 10, 0, G_MAXINT64, now_out, NULL) &&
		    g_ascii_string_to_signed(parts[1], 10, 1, G_MAXINT32, offset_out, NULL))
			return TRUE;
	}
	return dk_api_invalid(error, "cursor: not one this API gave");
}

/* "open,new" into statuses (room for DK_STATUS_COUNT). */
static gboolean statuses_parse(const char *text, DkTicketStatus *statuses, guint *n_out,
                               GError **error)
{
	g_auto(GStrv) names = g_strsplit(text, ",", -1);
	*n_out = 0;
	for (guint i = 0; names[i] != NULL; i++) {
		DkTicketStatus status;
		if (!dk_ticket_status_parse(g_strstrip(names[i]), &status))
			return dk_api_invalid(error, "status: “%s” is no status", names[i]);
		dk_ticket_status_set_add(statuses, n_out, status);
	}
	return TRUE;
}

/* A boolean parameter: absent is FALSE; "true" or "false" else. */
static gboolean param_bool(DkApiRequest *r, const char *key, gboolean *out, GError **error)
{
	const char *text = dk_api_param(r, key);
	*out = g_strcmp0(text, "true") == 0;
	if (text == NULL || *out || strcmp(text, "false") == 0)
		return TRUE;
	return dk_api_invalid(error, "%s: true or false", key);
}

/* An ISO 8601 time or a date parameter as Unix time (0 when absent). */
static gboolean param_time(DkApiRequest *r, const char *key, gint64 *out, GError **error)
{
	const char *text = dk_api_param(r, key);
	*out = 0;
	if (text == NULL)
		return TRUE;
	if (dk_time_parse(text, out))
		return TRUE;
	return dk_api_invalid(error, "%s: a date (2026-11-01) or ISO 8601 time", key);
}

/* The list's filters from the query into q. */
static gboolean query_parse(DkApiRequest *r, DkTicketQuery *q, DkTicketStatus *statuses,
                            GError **error)
{
	const char *status = dk_api_param(r, "status");
	q->statuses = statuses;
	q->priority = dk_api_param(r, "priority");
	q->queue = dk_api_param(r, "queue");
	q->assignee = dk_api_param(r, "assignee");
	q->requester = dk_api_param(r, "requester");
	return (status == NULL || statuses_parse(status, statuses, &q->n_statuses, error)) &&
	       param_bool(r, "include_merged", &q->include_merged, error) &&
	       param_bool(r, "breached", &q->breached, error) &&
	       param_time(r, "created_since", &q->created_since, error) &&
	       param_time(r, "updated_since", &q->updated_since, error);
}

static json_t *list_item(const DkTicket *t, const DkTicketSla *sla, const char *prefix, gint64 now)
{
	g_autofree char *left = dk_desk_sla_left(t, sla, now);
	json_t *o = dk_ticket_json(t, prefix);
	json_object_set_new(o, "sla", json_string(left));
	json_object_set_new(o, "sla_left_seconds", dk_ticket_sla_left_json(t, sla, now));
	json_object_set_new(o, "sla_paused", json_boolean(dk_ticket_status_is_paused(t->status)));
	return o;
}

json_t *dk_api_tickets_list(DkApiRequest *r, GError **error)
{
	DkTicketStatus statuses[DK_STATUS_COUNT];
	DkTicketQuery q = {0};
	gint64 limit = 0, offset = 0, now = g_get_real_time() / G_USEC_PER_SEC;
	const char *cursor = dk_api_param(r, "cursor");
	if (!query_parse(r, &q, statuses, error) ||
	    !dk_api_param_int(r, "limit", 1, LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT, &limit, error) ||
	    (cursor != NULL && !cursor_read(cursor, &now, &offset, error)))
		return NULL;
	q.now = now;
	q.limit = (guint)(offset + limit + 1); /* one more: is there a next page? */
	DkStore *store = dk_web_store(r->web);
	g_autoptr(GPtrArray) tickets = dk_store_ticket_query(store, &q, error);
	if (tickets == NULL)
		return NULL;
	const char *prefix =
	    dk_config_get_string(dk_web_config(r->web), "threading", "token_prefix");
	g_autoptr(GArray) slas =
	    dk_store_tickets_sla_get(store, tickets, (guint)offset, (guint)(offset + limit), error);
	if (slas == NULL)
		return NULL;
	g_autoptr(json_t) arr = json_array();
	for (guint i = 0; i < slas->len; i++)
		json_array_append_new(arr,
		                      list_item(g_ptr_array_index(tickets, (guint)offset + i),
		                                &g_array_index(slas, DkTicketSla, i), prefix, now));
	gboolean more = tickets->len > (guint)(offset + limit);
	g_autofree char *next = more ? cursor_make(now, offset + limit) : NULL;
	return json_pack("{sO so}", "tickets", arr, "next_cursor", dk_json_string_or_null(next));
}

json_t *dk_api_ticket_show(DkApiRequest *r, GError **error)
{
	return dk_api_ticket_doc(r->web, r->id, error);
}

json_t *dk_api_ticket_create(DkApiRequest *r, GError **error)
{
	g_autoptr(json_t) body = dk_api_body(r, error);
	DkTicketNew n = {0};
	gint64 number = 0;
	if (body == NULL || !dk_api_string(body, "subject", &n.subject, error) ||
	    !dk_api_string(body, "requester", &n.requester, error) ||
	    !dk_api_string(body, "text", &n.text, error) ||
	    !dk_api_string(body, "priority", &n.priority, error) ||
	    !dk_api_string(body, "queue", &n.queue, error) ||
	    !dk_api_string(body, "assignee", &n.assignee, error) ||
	    !dk_web_ticket_create(r->web, r->user, &n, &number, error))
		return NULL;
	r->status = 201;
	g_autofree char *location = g_strdup_printf("/api/v1/tickets/%" G_GINT64_FORMAT, number);
	soup_message_headers_replace(soup_server_message_get_response_headers(r->msg), "Location",
	                             location);
	return dk_api_ticket_doc(r->web, number, error);
}

/* A member that is an array of strings, as a NULL-terminated vector
 * (NULL when absent). */
static gboolean string_list(json_t *body, const char *key, GStrv *out, GError **error)
{
	json_t *v = json_object_get(body, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return TRUE;
	if (!json_is_array(v))
		return dk_api_invalid(error, "%s: an array of strings", key);
	GPtrArray *items = g_ptr_array_new();
	for (gsize i = 0; i < json_array_size(v); i++) {
		json_t *item = json_array_get(v, i);
		const char *text = json_string_value(item);
		if (text == NULL || *text == '\0') {
			g_ptr_array_free(items, TRUE);
			return dk_api_invalid(error, "%s: an array of strings, none empty", key);
		}
		g_ptr_array_add(items, g_strdup(text));
	}
	g_ptr_array_add(items, NULL);
	*out = (GStrv)g_ptr_array_free(items, FALSE);
	return TRUE;
}

static const char *const update_keys[] = {"status",   "priority",    "queue", "assignee",
                                          "tags_add", "tags_remove", NULL};

json_t *dk_api_ticket_update(DkApiRequest *r, GError **error)
{
	g_autoptr(json_t) body = dk_api_body(r, error);
	if (body == NULL)
		return NULL;
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value)
	{
		if (!g_strv_contains(update_keys, key)) {
			dk_api_invalid(error, "%s: not a field a change sets", key);
			return NULL;
		}
	}
	DkTicketChange c = {0};
	g_auto(GStrv) add = NULL;
	g_auto(GStrv) remove = NULL;
	json_t *assignee = json_object_get(body, "assignee");
	if (!dk_api_string(body, "status", &c.status, error) ||
	    !dk_api_string(body, "priority", &c.priority, error) ||
	    !dk_api_string(body, "queue", &c.queue, error) ||
	    !dk_api_string(body, "assignee", &c.assignee, error) ||
	    !string_list(body, "tags_add", &add, error) ||
	    !string_list(body, "tags_remove", &remove, error))
		return NULL;
	if (assignee != NULL && json_is_null(assignee))
		c.assignee = ""; /* null unassigns */
	c.tags_add = (const char *const *)add;
	c.tags_remove = (const char *const *)remove;
	if (!dk_web_ticket_update(r->web, r->user, r->id, &c, error))
		return NULL;
	return dk_api_ticket_doc(r->web, r->id, error);
}

json_t *dk_api_ticket_merge(DkApiRequest *r, GError **error)
{
	g_autoptr(json_t) body = dk_api_body(r, error);
	if (body == NULL)
		return NULL;
	json_t *source = json_object_get(body, "source");
	if (!json_is_integer(source) || json_integer_value(source) < 1) {
		dk_api_invalid(error, "source: the number of the ticket to merge into this one");
		return NULL;
	}
	if (!dk_web_merge(r->web, r->user, r->id, json_integer_value(source), error))
		return NULL;
	return dk_api_ticket_doc(r->web, r->id, error);
}

static json_t *time_entry_json(const DkTimeEntry *e)
{
	return json_pack("{sI sI ss so so}", "id", (json_int_t)e->id, "minutes",
	                 (json_int_t)e->minutes, "note", e->note ? e->note : "", "author",
	                 dk_json_string_or_null(e->author), "created_at",
	                 dk_json_time(e->created_at));
}

/* The ticket's time entries, after checking it exists. */
static GPtrArray *time_entries(DkApiRequest *r, GError **error)
{
	DkStore *store = dk_web_store(r->web);
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, r->id, error);
	return t ? dk_store_time_entries(store, r->id, error) : NULL;
}

json_t *dk_api_time_list(DkApiRequest *r, GError **error)
{
	g_autoptr(GPtrArray) entries = time_entries(r, error);
	if (entries == NULL)
		return NULL;
	json_t *arr = json_array();
	gint64 total = 0;
	for (guint i = 0; i < entries->len; i++) {
		const DkTimeEntry *e = g_ptr_array_index(entries, i);
		total += e->minutes;
		json_array_append_new(arr, time_entry_json(e));
	}
	return json_pack("{so sI}", "time_entries", arr, "time_minutes", (json_int_t)total);
}

/* {"minutes": 75} or {"duration": "1h15m"}, and a "note". */
static gboolean minutes_of(json_t *body, gint64 *minutes_out, GError **error)
{
	json_t *minutes = json_object_get(body, "minutes");
	const char *duration = NULL;
	if (!dk_api_string(body, "duration", &duration, error))
		return FALSE;
	if ((minutes != NULL) == (duration != NULL))
		return dk_api_invalid(error,
		                      "minutes (a number) or duration (\"1h15m\"), one of them");
	if (minutes != NULL) {
		if (!json_is_integer(minutes))
			return dk_api_invalid(error, "minutes: a whole number");
		*minutes_out = json_integer_value(minutes);
		return TRUE;
	}
	g_autoptr(GError) local = NULL;
	if (dk_desk_parse_duration(duration, minutes_out, &local))
		return TRUE;
	return dk_api_invalid(error, "duration: %s", local->message);
}

json_t *dk_api_time_add(DkApiRequest *r, GError **error)
{
	g_autoptr(json_t) body = dk_api_body(r, error);
	gint64 minutes = 0, id = 0;
	const char *note = NULL;
	if (body == NULL || !minutes_of(body, &minutes, error) ||
	    !dk_api_string(body, "note", &note, error) ||
	    !dk_web_time_add(r->web, r->user, r->id, minutes, note, &id, error))
		return NULL;
	g_autoptr(GPtrArray) entries = time_entries(r, error);
	for (guint i = 0; entries != NULL && i < entries->len; i++) {
		const DkTimeEntry *e = g_ptr_array_index(entries, i);
		if (e->id == id) {
			r->status = 201;
			return json_pack("{so}", "time_entry", time_entry_json(e));
		}
	}
	return NULL;
}
