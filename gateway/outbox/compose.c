/* Composes notification mail from an outbox row: template data from the
 * ticket and article, the rendered template, the headers. */
#include "gateway/outbox/compose.h"

#include "gateway/core/error.h"
#include "gateway/core/ids.h"
#include "gateway/core/json.h"

#include <string.h>

gboolean dk_compose_handles(DkOutboxKind kind)
{
	return kind == DK_OUTBOX_ACK || kind == DK_OUTBOX_RELAY || kind == DK_OUTBOX_NOTICE;
}

static const char *template_for(DkOutboxKind kind, json_t *payload)
{
	const char *t = json_string_value(json_object_get(payload, "template"));
	if (t != NULL)
		return t;
	if (kind == DK_OUTBOX_RELAY)
		return "agent-reply";
	return kind == DK_OUTBOX_NOTICE ? "team-new" : "ack";
}

/* The payload's article, and the Message-ID of the ticket's latest inbound
 * article (what a relay answers when the payload names none). */
static gboolean find_articles(DkStore *store, gint64 ticket, gint64 id, DkArticle **article_out,
                              char **last_inbound_out, GError **error)
{
	g_autoptr(GPtrArray) articles = dk_store_articles(store, ticket, error);
	if (articles == NULL)
		return FALSE;
	for (guint i = 0; i < articles->len; i++) {
		DkArticle *a = g_ptr_array_index(articles, i);
		if (a->direction == DK_INBOUND && a->message_id != NULL) {
			g_free(*last_inbound_out);
			*last_inbound_out = g_strdup(a->message_id);
		}
		if (a->id == id && *article_out == NULL)
			*article_out = g_ptr_array_steal_index(articles, i--);
	}
	return TRUE;
}

static json_t *person(const char *name, const char *address)
{
	return json_pack("{ss ss}", "name", name ? name : "", "address", address ? address : "");
}

/* The data the templates see (templates/notification.h). */
static json_t *template_data(const DkNotifySettings *s, const DkTicket *t, const DkArticle *a,
                             json_t *payload, const char *token)
{
	const char *to_name = json_string_value(json_object_get(payload, "to_name"));
	const char *to = json_string_value(json_object_get(payload, "to"));
	gboolean to_requester =
	    t->requester != NULL && to != NULL && g_ascii_strcasecmp(t->requester, to) == 0;
	const char *requester_name =
	    to_requester ? to_name : json_string_value(json_object_get(payload, "requester_name"));
	json_t *data = json_object();
	json_object_set_new(data, "ticket",
	                    json_pack("{sI ss ss ss ss ss}", "number", (json_int_t)t->number,
	                              "token", token, "subject", t->subject, "status", dk_ticket_status_name(t->status),
	                              "priority", t->priority, "queue", t->queue));
	if (a != NULL)
		json_object_set_new(data, "article",
		                    json_pack("{ss ss ss}", "new_text",
		                              a->new_text ? a->new_text : "", "full_text",
		                              a->full_text ? a->full_text : "", "sender",
		                              a->sender ? a->sender : ""));
	json_object_set_new(data, "requester", person(requester_name, t->requester));
	/* Relays queued by the writer name the agent as "from". */
	const char *agent = json_string_value(json_object_get(payload, "agent_address"));
	if (agent == NULL)
		agent = json_string_value(json_object_get(payload, "from"));
	json_object_set_new(
	    data, "agent",
	    person(json_string_value(json_object_get(payload, "agent_name")), agent));
	json_object_set_new(data, "organisation", json_pack("{ss}", "name", s->organisation));
	/* A breach notice names the target missed and when it was due. */
	json_t *sla = json_object_get(payload, "sla");
	if (json_is_object(sla))
		json_object_set(data, "sla", sla);
	return data;
}

static GPtrArray *references(json_t *payload)
{
	GPtrArray *refs = g_ptr_array_new();
	json_t *arr = json_object_get(payload, "references");
	for (gsize i = 0; i < json_array_size(arr); i++)
		if (json_is_string(json_array_get(arr, i)))
			g_ptr_array_add(refs, (gpointer)json_string_value(json_array_get(arr, i)));
	return refs;
}

static DkComposed *compose_message(const DkNotifySettings *s, const DkOutboxRow *row,
                                   json_t *payload, const DkTicket *t, const DkArticle *a,
                                   gint64 now, GError **error)
{
	DkOutboxKind kind = dk_outbox_kind_from_name(row->kind);
	g_autofree char *token = dk_ids_token(s->token_prefix, t->number);
	g_autoptr(json_t) data = template_data(s, t, a, payload, token);
	g_autoptr(GError) local = NULL;
	g_autoptr(DkNotification) n =
	    dk_notification_build(template_for(kind, payload), t->queue, data,
	                          dk_notify_template_loader, (gpointer)s, &local);
	if (n == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "template: %s", local->message);
		return NULL;
	}
	g_autoptr(GPtrArray) refs = references(payload);
	DkMailHeaders h = {
	    .to = row->target,
	    .to_name = json_string_value(json_object_get(payload, "to_name")),
	    .message_id = json_string_value(json_object_get(payload, "sent_message_id")),
	    .in_reply_to = json_string_value(json_object_get(payload, "in_reply_to")),
	    .references = refs,
	    .token = token,
	    .auto_submitted = kind == DK_OUTBOX_RELAY ? NULL
	                      : kind == DK_OUTBOX_ACK ? "auto-replied"
	                                              : "auto-generated",
	    .date = now,
	};
	GMimeMessage *msg = dk_notify_build_message(s, n, &h, error);
	if (msg == NULL)
		return NULL;
	DkComposed *c = g_new0(DkComposed, 1);
	c->message = msg;
	c->bytes = dk_notify_message_bytes(msg);
	c->subject = g_strdup(g_mime_message_get_subject(msg));
	c->text = g_strdup(n->text);
	c->article = a ? a->id : 0;
	return c;
}

DkComposed *dk_compose(DkStore *store, const DkNotifySettings *s, const DkOutboxRow *row,
                       json_t *payload, gint64 now, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, row->ticket, &local);
	if (t == NULL) {
		gboolean gone = g_error_matches(local, DK_ERROR, DK_ERROR_NOT_FOUND);
		g_set_error(error, DK_ERROR, gone ? DK_ERROR_PERMANENT : DK_ERROR_TEMPORARY,
		            "ticket %" G_GINT64_FORMAT ": %s", row->ticket, local->message);
		return NULL;
	}
	gint64 article_id = json_integer_value(json_object_get(payload, "article"));
	DkArticle *a = NULL;
	g_autofree char *last_inbound = NULL;
	if (!find_articles(store, t->number, article_id, &a, &last_inbound, error))
		return NULL;
	if (json_object_get(payload, "in_reply_to") == NULL && last_inbound != NULL &&
	    dk_outbox_kind_from_name(row->kind) == DK_OUTBOX_RELAY)
		json_object_set_new(payload, "in_reply_to", json_string(last_inbound));
	DkComposed *c = compose_message(s, row, payload, t, a, now, error);
	dk_article_free(a);
	return c;
}

void dk_composed_free(DkComposed *c)
{
	if (c == NULL)
		return;
	g_clear_object(&c->message);
	if (c->bytes != NULL)
		g_bytes_unref(c->bytes);
	g_free(c->subject);
	g_free(c->text);
	g_free(c);
}
