/* The web desk's ticket page, read from the store (desk-view.h): the
 * ticket's fields and clocks, every article with its direction,
 * visibility, threading evidence and attachments, the history, and what
 * the forms offer. */
#include "gateway/web/desk-view.h"

#include "gateway/desk/desk.h"
#include "gateway/desk/ticket-view.h"
#include "gateway/store/store-attachments.h"
#include "gateway/store/store-retention.h"
#include "gateway/web/desk-view-private.h"

#include <string.h>

/* How an article came onto its ticket, in words (README: Threading). */
static const char *evidence_label(const char *evidence)
{
	static const struct {
		const char *name, *label;
	} labels[] = {
	    {"new", "opened the ticket"},
	    {"header", "In-Reply-To/References named this ticket's mail"},
	    {"reply-address", "sent to the ticket's signed reply address"},
	    {"token", "the subject's ticket token"},
	    {"foreign", "another system's ticket number"},
	    {"correlation", "a rule's correlation key"},
	    {"desk", "written at the desk"},
	    {"notification", "a notification docket sent"},
	    {"quarantine", "released from the quarantine"},
	};
	for (guint i = 0; evidence != NULL && i < G_N_ELEMENTS(labels); i++)
		if (strcmp(evidence, labels[i].name) == 0)
			return labels[i].label;
	return evidence != NULL ? evidence : "unknown";
}

static json_t *attachment_json(const DkStoredAttachment *a)
{
	g_autofree char *size = g_format_size(a->size);
	const char *name = a->filename != NULL && *a->filename != '\0' ? a->filename : "(unnamed)";
	json_t *o = json_pack("{sI ss ss ss sb sb}", "id", (json_int_t)a->id, "name", name,
	                      "content_type", a->content_type ? a->content_type : "", "size_label",
	                      size, "stored", dk_stored_attachment_kept(a) && a->purged_at == 0,
	                      "inline", g_strcmp0(a->disposition, "inline") == 0);
	g_autofree char *purged = a->purged_at ? dk_store_retention_date(a->purged_at) : NULL;
	if (purged != NULL)
		json_object_set_new(o, "purged_on", json_string(purged));
	return o;
}

/* The attachments of article among all (by article). */
static json_t *attachments_of(GPtrArray *all, gint64 article)
{
	json_t *arr = json_array();
	for (guint i = 0; i < all->len; i++) {
		const DkStoredAttachment *a = g_ptr_array_index(all, i);
		if (a->article == article)
			json_array_append_new(arr, attachment_json(a));
	}
	return arr;
}

/* Whether the whole message says more than the new text shown. */
static gboolean more_text(const char *full, const char *shown)
{
	if (full == NULL || shown == NULL)
		return full != NULL;
	g_autofree char *a = g_strstrip(g_strdup(full));
	g_autofree char *b = g_strstrip(g_strdup(shown));
	return strcmp(a, b) != 0;
}

static json_t *article_json(const DkArticle *a, GPtrArray *attachments)
{
	gboolean in = a->direction == DK_INBOUND, internal = a->visibility == DK_INTERNAL;
	const char *text = a->new_text != NULL && *a->new_text != '\0' ? a->new_text : a->full_text;
	json_t *files = attachments_of(attachments, a->id);
	json_t *o = json_pack(
	    "{sI ss ss ss ss so so so ss ss so ss so sb sb}", "id", (json_int_t)a->id, "direction",
	    dk_direction_name(a->direction), "direction_label",
	    in ? "from the customer" : "from support", "visibility",
	    dk_visibility_name(a->visibility), "visibility_label", internal ? "internal" : "public",
	    "from", dk_desk_jstr(a->sender), "to", dk_desk_jstr(a->recipients), "subject",
	    dk_desk_jstr(a->subject), "evidence", a->evidence ? a->evidence : "", "evidence_label",
	    evidence_label(a->evidence), "message_id", dk_desk_jstr(a->message_id), "new_text",
	    text ? text : "", "text", dk_desk_jstr(a->full_text), "has_more_text",
	    more_text(a->full_text, text), "has_attachments", json_array_size(files) > 0);
	json_object_set_new(o, "attachments", files);
	g_autofree char *purged =
	    a->raw_purged_at ? dk_store_retention_date(a->raw_purged_at) : NULL;
	if (purged != NULL)
		json_object_set_new(o, "raw_purged_on", json_string(purged));
	dk_desk_set_time(o, "created", a->created_at);
	return o;
}

static json_t *event_json(const DkEvent *e)
{
	json_t *o = json_pack("{sI ss so ss}", "id", (json_int_t)e->id, "type", e->type, "article",
	                      e->article ? json_integer(e->article) : json_null(), "detail",
	                      g_strcmp0(e->detail, "{}") == 0 ? "" : e->detail);
	dk_desk_set_time(o, "created", e->created_at);
	return o;
}

/* The clocks as the page shows them. */
static json_t *sla_json(const DkTicket *t, const DkTicketSla *sla, gint64 now)
{
	g_autofree char *left = dk_desk_sla_left(t, sla, now);
	json_t *o = json_pack("{ss ss}", "left", left, "state", dk_desk_sla_state(left));
	const char *keys[] = {"first_response_due", "resolution_due", "first_response_at"};
	gint64 times[] = {sla->first_response_due, sla->resolution_due, sla->first_response_at};
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
		if (times[i] != 0)
			dk_desk_set_time(o, keys[i], times[i]);
	return o;
}

/* The ticket's own part: its fields, clocks, tags, participants, links. */
static json_t *ticket_json(DkStore *store, const DkConfig *config, const DkTicket *t, gint64 now,
                           GError **error)
{
	DkTicketSla sla;
	gint64 merged_into = 0;
	g_autoptr(GPtrArray) tags = dk_store_tags(store, t->number, error);
	g_autoptr(GPtrArray) people = tags ? dk_store_participants(store, t->number, error) : NULL;
	g_autoptr(GPtrArray) links = people ? dk_store_links(store, t->number, error) : NULL;
	if (links == NULL || !dk_store_ticket_sla_get(store, t->number, &sla, error) ||
	    !dk_store_ticket_merged_into(store, t->number, &merged_into, error))
		return NULL;
	const char *prefix = dk_config_get_string(config, "threading", "token_prefix");
	g_autofree char *token = g_strdup_printf("[%s #%" G_GINT64_FORMAT "]", prefix, t->number);
	json_t *o = json_pack(
	    "{sI ss ss ss so ss ss so so so sb so sb so so}", "number", (json_int_t)t->number,
	    "subject", t->subject ? t->subject : "", "token", token, "status",
	    dk_ticket_status_name(t->status), "status_label", dk_desk_status_label(t->status),
	    "priority", t->priority, "queue", t->queue, "assignee", dk_desk_jstr(t->assignee),
	    "requester", dk_desk_jstr(t->requester), "sla", sla_json(t, &sla, now), "has_tags",
	    tags->len > 0, "tags", dk_json_strings(tags), "has_links", links->len > 0, "links",
	    dk_json_links(links), "participants", dk_json_participants(people));
	g_ptr_array_add(tags, NULL);
	g_autofree char *tags_text = g_strjoinv(", ", (char **)tags->pdata);
	json_object_set_new(o, "tags_text", json_string(tags_text));
	json_object_set_new(o, "merged_into",
	                    merged_into ? json_integer(merged_into) : json_null());
	dk_desk_set_time(o, "created", t->created_at);
	dk_desk_set_time(o, "updated", t->updated_at);
	return o;
}

/* The statuses t may go to (its own first, selected). */
static json_t *status_options(const DkTicket *t)
{
	json_t *arr = json_array();
	for (int s = 0; s < DK_STATUS_COUNT; s++)
		if (dk_desk_transition_allowed(t->status, s))
			json_array_append_new(arr, dk_desk_option(dk_ticket_status_name(s),
			                                          dk_desk_status_label(s),
			                                          (DkTicketStatus)s == t->status));
	return arr;
}

/* The articles and the history. */
static gboolean add_conversation(DkStore *store, gint64 number, json_t *page, GError **error)
{
	g_autoptr(GPtrArray) articles = dk_store_articles(store, number, error);
	g_autoptr(GPtrArray) files =
	    articles ? dk_store_ticket_attachments(store, number, error) : NULL;
	g_autoptr(GPtrArray) events = files ? dk_store_events(store, number, error) : NULL;
	if (events == NULL)
		return FALSE;
	json_t *arr = json_array(), *history = json_array();
	for (guint i = 0; i < articles->len; i++)
		json_array_append_new(arr, article_json(g_ptr_array_index(articles, i), files));
	for (guint i = 0; i < events->len; i++)
		json_array_append_new(history, event_json(g_ptr_array_index(events, i)));
	json_object_set_new(page, "articles", arr);
	json_object_set_new(page, "events", history);
	json_object_set_new(page, "events_count", json_integer(events->len));
	return TRUE;
}

json_t *dk_desk_view_ticket(DkStore *store, const DkConfig *config,
                            const DkConversation *conversation, gint64 number, gint64 now,
                            GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, number, error);
	if (t == NULL)
		return NULL;
	g_autoptr(GPtrArray) recipients = g_ptr_array_new_with_free_func(g_free);
	if (!dk_conversation_recipients(conversation, store, t, recipients, error))
		return NULL;
	json_t *ticket = ticket_json(store, config, t, now, error);
	if (ticket == NULL)
		return NULL;
	g_autoptr(json_t) page = json_pack(
	    "{so so so so}", "ticket", ticket, "statuses", status_options(t), "priorities",
	    dk_desk_priority_options(t->priority), "recipients", dk_json_strings(recipients));
	if (!add_conversation(store, number, page, error))
		return NULL;
	return g_steal_pointer(&page);
}
