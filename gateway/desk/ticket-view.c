/* A ticket as docket shows it: everything read of it at once
 * (DkTicketView) and its JSON, the shape of `docket ticket show --json`
 * and of the HTTP API (contrib/openapi.yaml), so both stay the same. */
#include "gateway/desk/ticket-view.h"

#include "gateway/desk/desk.h"

#include <string.h>

char *dk_iso_time(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
	return dt ? g_date_time_format_iso8601(dt) : g_strdup("");
}

gboolean dk_time_parse(const char *text, gint64 *out)
{
	g_autofree char *full =
	    strlen(text) == 10 ? g_strconcat(text, "T00:00:00Z", NULL) : g_strdup(text);
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(full, utc);
	if (dt == NULL)
		return FALSE;
	*out = g_date_time_to_unix(dt);
	return TRUE;
}

json_t *dk_json_string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *dk_json_time(gint64 t)
{
	g_autofree char *s = dk_iso_time(t);
	return json_string(s);
}

json_t *dk_ticket_json(const DkTicket *t, const char *prefix)
{
	g_autofree char *token = g_strdup_printf("[%s #%" G_GINT64_FORMAT "]", prefix, t->number);
	return json_pack("{sI ss so ss ss ss so so so sI so so}", "number", (json_int_t)t->number,
	                 "token", token, "subject", dk_json_string_or_null(t->subject), "status",
	                 dk_ticket_status_name(t->status), "priority", t->priority, "queue",
	                 t->queue, "requester", dk_json_string_or_null(t->requester),
	                 "organisation", dk_json_string_or_null(t->organisation), "assignee",
	                 dk_json_string_or_null(t->assignee), "articles", (json_int_t)t->articles,
	                 "created_at", dk_json_time(t->created_at), "updated_at",
	                 dk_json_time(t->updated_at));
}

/* The seconds left to the next SLA target (negative: exceeded), or null. */
json_t *dk_ticket_sla_left_json(const DkTicket *t, const DkTicketSla *sla, gint64 now)
{
	gint64 left = 0;
	return dk_desk_sla_left_seconds(t, sla, now, &left) ? json_integer(left) : json_null();
}

json_t *dk_json_strings(GPtrArray *items)
{
	json_t *arr = json_array();
	for (guint i = 0; items != NULL && i < items->len; i++)
		json_array_append_new(arr, json_string(g_ptr_array_index(items, i)));
	return arr;
}

json_t *dk_json_participants(GPtrArray *rows)
{
	json_t *arr = json_array();
	for (guint i = 0; i < rows->len; i++) {
		const DkParticipant *p = g_ptr_array_index(rows, i);
		json_array_append_new(arr, json_pack("{ss ss}", "address", p->address, "role",
		                                     dk_participant_role_name(p->role)));
	}
	return arr;
}

json_t *dk_json_links(GPtrArray *rows)
{
	json_t *arr = json_array();
	for (guint i = 0; i < rows->len; i++) {
		const DkLink *l = g_ptr_array_index(rows, i);
		json_array_append_new(arr, json_pack("{sI ss}", "ticket", (json_int_t)l->ticket,
		                                     "reason", l->reason));
	}
	return arr;
}

/* Of DkForeignRef*: {"name", "number"} objects. */
static json_t *foreign_json(GPtrArray *rows)
{
	json_t *arr = json_array();
	for (guint i = 0; i < rows->len; i++) {
		const DkForeignRef *r = g_ptr_array_index(rows, i);
		json_array_append_new(arr,
		                      json_pack("{ss ss}", "name", r->name, "number", r->number));
	}
	return arr;
}

gboolean dk_stored_attachment_inline(const DkStoredAttachment *a)
{
	return g_strcmp0(a->disposition, "inline") == 0;
}

/* The attachments of article among all (DkStoredAttachment*, by article). */
json_t *dk_attachments_json(GPtrArray *all, gint64 article)
{
	json_t *arr = json_array();
	for (guint i = 0; i < all->len; i++) {
		const DkStoredAttachment *a = g_ptr_array_index(all, i);
		if (a->article != article)
			continue;
		json_array_append_new(
		    arr,
		    json_pack("{sI so ss sI so sb so sb so}", "id", (json_int_t)a->id, "filename",
		              dk_json_string_or_null(a->filename), "content_type", a->content_type,
		              "size", (json_int_t)a->size, "sha256",
		              dk_stored_attachment_kept(a) ? json_string(a->sha256) : json_null(),
		              "inline", dk_stored_attachment_inline(a), "content_id",
		              dk_json_string_or_null(a->content_id), "stored",
		              dk_stored_attachment_kept(a) && a->purged_at == 0, "purged_at",
		              dk_json_time_or_null(a->purged_at)));
	}
	return arr;
}

json_t *dk_article_json(const DkArticle *a, GPtrArray *attachments)
{
	json_t *o = json_pack(
	    "{sI ss ss ss so so so so so so so so sb}", "id", (json_int_t)a->id, "direction",
	    dk_direction_name(a->direction), "visibility", dk_visibility_name(a->visibility),
	    "evidence", a->evidence, "from", dk_json_string_or_null(a->sender), "to",
	    dk_json_string_or_null(a->recipients), "subject", dk_json_string_or_null(a->subject),
	    "message_id", dk_json_string_or_null(a->message_id), "created_at",
	    dk_json_time(a->created_at), "new_text", dk_json_string_or_null(a->new_text), "text",
	    dk_json_string_or_null(a->full_text), "raw_sha256",
	    dk_json_string_or_null(a->raw_sha256), "internal", a->visibility == DK_INTERNAL);
	json_object_set_new(o, "raw_purged_at", dk_json_time_or_null(a->raw_purged_at));
	json_object_set_new(o, "attachments", dk_attachments_json(attachments, a->id));
	return o;
}

json_t *dk_event_json(const DkEvent *e)
{
	json_t *detail = json_loads(e->detail, 0, NULL);
	return json_pack("{sI ss so so so}", "id", (json_int_t)e->id, "type", e->type, "article",
	                 e->article ? json_integer(e->article) : json_null(), "created_at",
	                 dk_json_time(e->created_at), "detail", detail ? detail : json_object());
}

void dk_ticket_view_clear(DkTicketView *v)
{
	dk_ticket_free(v->ticket);
	g_clear_pointer(&v->articles, g_ptr_array_unref);
	g_clear_pointer(&v->events, g_ptr_array_unref);
	g_clear_pointer(&v->message_ids, g_ptr_array_unref);
	g_clear_pointer(&v->tags, g_ptr_array_unref);
	g_clear_pointer(&v->participants, g_ptr_array_unref);
	g_clear_pointer(&v->links, g_ptr_array_unref);
	g_clear_pointer(&v->foreign, g_ptr_array_unref);
	g_clear_pointer(&v->addresses, g_ptr_array_unref);
	g_clear_pointer(&v->fields, g_ptr_array_unref);
	g_clear_pointer(&v->time_entries, g_ptr_array_unref);
	g_clear_pointer(&v->attachments, g_ptr_array_unref);
}

gboolean dk_ticket_view_load(DkStore *store, gint64 number, DkTicketView *v, GError **error)
{
	return (v->ticket = dk_store_ticket_get_counted(store, number, error)) != NULL &&
	       (v->articles = dk_store_articles(store, number, error)) != NULL &&
	       (v->events = dk_store_events(store, number, error)) != NULL &&
	       (v->message_ids = dk_store_message_ids(store, number, error)) != NULL &&
	       (v->tags = dk_store_tags(store, number, error)) != NULL &&
	       (v->participants = dk_store_participants(store, number, error)) != NULL &&
	       (v->links = dk_store_links(store, number, error)) != NULL &&
	       (v->foreign = dk_store_foreign_refs(store, number, error)) != NULL &&
	       (v->addresses = dk_store_ticket_addresses(store, number, error)) != NULL &&
	       (v->fields = dk_store_ticket_fields(store, number, error)) != NULL &&
	       (v->time_entries = dk_store_time_entries(store, number, error)) != NULL &&
	       (v->attachments = dk_store_ticket_attachments(store, number, error)) != NULL &&
	       dk_store_ticket_merged_into(store, number, &v->merged_into, error) &&
	       dk_store_ticket_sla_get(store, number, &v->sla, error);
}

json_t *dk_json_time_or_null(gint64 t)
{
	return t ? dk_json_time(t) : json_null();
}

/* The stored clocks, and what the list shows as of now. */
static json_t *sla_json(const DkTicketView *v)
{
	const DkTicketSla *s = &v->sla;
	g_autofree char *left = dk_desk_sla_left(v->ticket, s, v->now);
	return json_pack("{so so so sI sb ss so}", "first_response_due",
	                 dk_json_time_or_null(s->first_response_due), "resolution_due",
	                 dk_json_time_or_null(s->resolution_due), "first_response_at",
	                 dk_json_time_or_null(s->first_response_at), "paused_seconds",
	                 (json_int_t)s->paused_seconds, "paused", s->paused_since != 0, "left",
	                 left, "left_seconds", dk_ticket_sla_left_json(v->ticket, s, v->now));
}

json_t *dk_ticket_view_json(const DkTicketView *v, const char *prefix)
{
	json_t *ticket = dk_ticket_json(v->ticket, prefix);
	json_object_set_new(ticket, "tags", dk_json_strings(v->tags));
	json_t *fields = json_object();
	for (guint i = 0; i < v->fields->len; i++) {
		const DkCustomField *f = g_ptr_array_index(v->fields, i);
		json_object_set_new(fields, f->name, json_string(f->value ? f->value : ""));
	}
	json_object_set_new(ticket, "fields", fields);
	json_object_set_new(ticket, "participants", dk_json_participants(v->participants));
	json_object_set_new(ticket, "links", dk_json_links(v->links));
	json_object_set_new(ticket, "foreign_refs", foreign_json(v->foreign));
	json_object_set_new(ticket, "addresses", dk_json_strings(v->addresses));
	json_object_set_new(ticket, "closed_at",
	                    v->ticket->closed_at ? dk_json_time(v->ticket->closed_at)
	                                         : json_null());
	json_object_set_new(ticket, "merged_into",
	                    v->merged_into ? json_integer(v->merged_into) : json_null());
	json_t *entries = json_array();
	gint64 total = 0;
	for (guint i = 0; i < v->time_entries->len; i++) {
		const DkTimeEntry *e = g_ptr_array_index(v->time_entries, i);
		total += e->minutes;
		json_array_append_new(entries,
		                      json_pack("{sI sI ss so so}", "id", (json_int_t)e->id,
		                                "minutes", (json_int_t)e->minutes, "note", e->note,
		                                "author", dk_json_string_or_null(e->author),
		                                "created_at", dk_json_time(e->created_at)));
	}
	json_object_set_new(ticket, "time_entries", entries);
	json_object_set_new(ticket, "time_minutes", json_integer(total));
	json_object_set_new(ticket, "sla", sla_json(v));
	json_t *articles = json_array(), *events = json_array();
	for (guint i = 0; i < v->articles->len; i++)
		json_array_append_new(
		    articles, dk_article_json(g_ptr_array_index(v->articles, i), v->attachments));
	for (guint i = 0; i < v->events->len; i++)
		json_array_append_new(events, dk_event_json(g_ptr_array_index(v->events, i)));
	return json_pack("{so so so so}", "ticket", ticket, "articles", articles, "message_ids",
	                 dk_json_strings(v->message_ids), "events", events);
}

json_t *dk_outbox_row_json(const DkOutboxRow *r)
{
	json_t *payload = json_loads(r->payload, 0, NULL);
	return json_pack("{sI ss ss sI ss sI sI ss? sI so}", "id", (json_int_t)r->id, "kind",
	                 r->kind, "target", r->target, "ticket", (json_int_t)r->ticket, "state",
	                 r->state, "attempts", (json_int_t)r->attempts, "next_attempt_at",
	                 (json_int_t)r->next_attempt_at, "last_error", r->last_error, "created_at",
	                 (json_int_t)r->created_at, "payload", payload ? payload : json_object());
}

json_t *dk_quarantined_json(const DkQuarantined *q)
{
	json_t *o =
	    json_pack("{sI ss ss ss ss ss? ss? sI sI}", "id", (json_int_t)q->id, "raw_sha256",
	              q->raw_sha256, "kind", q->kind, "reason", q->reason, "intake", q->intake,
	              "envelope_from", q->envelope_from, "recipients", q->recipients, "size",
	              (json_int_t)q->size, "received_at", (json_int_t)q->received_at);
	json_object_set_new(o, "ticket",
	                    q->ticket ? json_integer((json_int_t)q->ticket) : json_null());
	return o;
}

/* One hit with its ticket t. */
static json_t *search_hit_json(const DkSearchHit *h, const DkTicket *t)
{
	return json_pack("{sI sI sf ss ss ss}", "ticket", (json_int_t)h->ticket, "article",
	                 (json_int_t)h->article, "rank", h->rank, "status",
	                 dk_ticket_status_name(t->status), "subject", t->subject, "snippet",
	                 h->snippet ? h->snippet : "");
}

GPtrArray *dk_search_tickets(DkStore *store, GPtrArray *hits, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)dk_ticket_free);
	for (guint i = 0; i < hits->len; i++) {
		const DkSearchHit *h = g_ptr_array_index(hits, i);
		DkTicket *t = dk_store_ticket_get(store, h->ticket, error);
		if (t == NULL)
			return NULL;
		g_ptr_array_add(out, t);
	}
	return g_steal_pointer(&out);
}

json_t *dk_search_json(DkStore *store, const char *query, GPtrArray *hits, GError **error)
{
	g_autoptr(GPtrArray) tickets = dk_search_tickets(store, hits, error);
	if (tickets == NULL)
		return NULL;
	json_t *arr = json_array();
	for (guint i = 0; i < hits->len; i++)
		json_array_append_new(arr, search_hit_json(g_ptr_array_index(hits, i),
		                                           g_ptr_array_index(tickets, i)));
	return json_pack("{ss so}", "query", query, "hits", arr);
}
