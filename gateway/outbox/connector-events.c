/* Ticket events become connector outbox rows in the writer's transaction. */
#include "gateway/outbox/connector-events.h"

#include "gateway/json.h"
#include "gateway/store/store-outbox.h"

#include <string.h>

gboolean dk_connector_queue_matches(char **queues, const char *queue)
{
	for (guint i = 0; queues != NULL && queues[i] != NULL; i++)
		if (strcmp(queues[i], "*") == 0 || g_strcmp0(queues[i], queue) == 0)
			return TRUE;
	return FALSE;
}

/* The field a change event names, or NULL for other events. */
static const char *changed_field(const char *type)
{
	if (strcmp(type, "status_change") == 0)
		return "status";
	if (strcmp(type, "priority_change") == 0)
		return "priority";
	if (strcmp(type, "assignment") == 0)
		return "assignee";
	return NULL;
}

static json_t *base_payload(const char *event, gint64 ticket, gint64 article)
{
	return json_pack("{ss sI sI}", "event", event, "ticket", (json_int_t)ticket, "article",
	                 (json_int_t)article);
}

static gboolean add_row(DkStore *store, const char *name, gint64 ticket, json_t *o, gint64 at,
                        GError **error)
{
	g_autofree char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_outbox_add(store, dk_outbox_kind_name(DK_OUTBOX_CONNECTOR), name, ticket,
	                           text, at, NULL, error);
}

/* The "ticket.updated" payload of a change event, or NULL for another
 * event. */
static json_t *change_payload(const DkEvent *e, const json_t *detail, gint64 article)
{
	const char *field = changed_field(e->type);
	if (field == NULL)
		return NULL;
	json_t *o = base_payload("ticket.updated", e->ticket, article);
	json_t *value = json_object_get(detail, "new"); /* rules say "value" */
	json_object_set_new(o, "field", json_string(field));
	json_object_set(o, "old", json_object_get(detail, "old"));
	json_object_set(o, "new", value ? value : json_object_get(detail, "value"));
	/* who made it: a change mirrored from a connector's system is not sent
	 * back there (dispatch.c) */
	if (json_is_string(json_object_get(detail, "by")))
		json_object_set(o, "by", json_object_get(detail, "by"));
	return o;
}

/* For each [connector:NAME] whose queues take the ticket: the article as
 * "ticket.created" when the connector has not seen the ticket (created:
 * the ticket is new; else it is created with first_article), and as
 * "article.created" when it is another article (article 0: none); then
 * the changes. */
static gboolean enqueue_ticket(DkStore *store, const DkConfig *config, const DkTicket *ticket,
                               gint64 article, gint64 first_article, gboolean created,
                               GPtrArray *changes, gint64 at, GError **error)
{
	g_auto(GStrv) names = dk_config_get_instances(config, "connector");
	for (guint i = 0; names[i] != NULL; i++) {
		g_autofree char *section = g_strconcat("connector:", names[i], NULL);
		g_auto(GStrv) queues = dk_config_get_list(config, section, "queues");
		if (!dk_connector_queue_matches(queues, ticket->queue))
			continue;
		/* A ticket the connector has not seen yet (it came into the
		 * queue, or was older than the connector) is created there. */
		gboolean known = FALSE;
		if (!created &&
		    !dk_store_outbox_has(store, dk_outbox_kind_name(DK_OUTBOX_CONNECTOR), names[i],
		                         ticket->number, &known, error))
			return FALSE;
		gint64 description = created ? article : first_article;
		if (!known) {
			g_autoptr(json_t) o =
			    base_payload("ticket.created", ticket->number, description);
			if (!add_row(store, names[i], ticket->number, o, at, error))
				return FALSE;
		}
		if (article != 0 && (known || article != description)) {
			g_autoptr(json_t) o =
			    base_payload("article.created", ticket->number, article);
			if (!add_row(store, names[i], ticket->number, o, at, error))
				return FALSE;
		}
		for (guint j = 0; j < changes->len; j++)
			if (!add_row(store, names[i], ticket->number, g_ptr_array_index(changes, j),
			             at, error))
				return FALSE;
	}
	return TRUE;
}

/* Whether event e was caused by the message: it names the message's
 * article (agent commands, a reopening reply), or the rules wrote it (with
 * no article) after the message's first event, the writer handing over
 * each message's effects right after its rows. */
static gboolean caused_by_item(const DkEvent *e, const json_t *detail, const DkEffects *fx,
                               gboolean seen_item)
{
	if (e->article == fx->article)
		return TRUE;
	return seen_item && e->article == 0 &&
	       g_strcmp0(json_string_value(json_object_get(detail, "by")), "rules") == 0;
}

/* The change events this message caused, as payloads. */
static GPtrArray *change_payloads(DkStore *store, const DkEffects *fx, GError **error)
{
	g_autoptr(GPtrArray) events = dk_store_events(store, fx->ticket, error);
	if (events == NULL)
		return NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
	gboolean seen_item = FALSE;
	for (guint i = 0; i < events->len; i++) {
		const DkEvent *e = g_ptr_array_index(events, i);
		const char *field = changed_field(e->type);
		g_autoptr(json_t) detail = json_loads(e->detail ? e->detail : "{}", 0, NULL);
		gboolean ours = caused_by_item(e, detail, fx, seen_item);
		seen_item = seen_item || e->article == fx->article;
		if (field == NULL || !ours)
			continue;
		g_ptr_array_add(out, change_payload(e, detail, fx->article));
	}
	return out;
}

gboolean dk_connector_enqueue(DkStore *store, const DkConfig *config, const DkEffects *fx,
                              GError **error)
{
	if (config == NULL || !fx->article_event || fx->ticket == 0 || fx->article == 0 ||
	    g_strcmp0(fx->intake, "import") == 0)
		return TRUE;
	g_auto(GStrv) names = dk_config_get_instances(config, "connector");
	if (names[0] == NULL)
		return TRUE;
	g_autoptr(DkTicket) ticket = dk_store_ticket_get(store, fx->ticket, error);
	g_autoptr(GPtrArray) changes = ticket ? change_payloads(store, fx, error) : NULL;
	if (changes == NULL)
		return FALSE;
	/* Mail to a ticket new to the connector creates it there with this
	 * mail as its description. */
	return enqueue_ticket(store, config, ticket, fx->article, fx->article, fx->ticket_created,
	                      changes, fx->at, error);
}

/* The first article of a ticket, 0 when it has none. */
static gboolean first_article(DkStore *store, gint64 ticket, gint64 *id_out, GError **error)
{
	g_autoptr(GPtrArray) articles = dk_store_articles(store, ticket, error);
	if (articles == NULL)
		return FALSE;
	*id_out = articles->len > 0 ? ((DkArticle *)g_ptr_array_index(articles, 0))->id : 0;
	return TRUE;
}

gboolean dk_connector_enqueue_desk(DkStore *store, const DkConfig *config, gint64 after_event,
                                   gint64 ticket, gint64 article, gint64 now, GError **error)
{
	g_auto(GStrv) names = config ? dk_config_get_instances(config, "connector") : NULL;
	if (names == NULL || names[0] == NULL)
		return TRUE;
	g_autoptr(GPtrArray) events = dk_store_events_after(store, after_event, error);
	if (events == NULL)
		return FALSE;
	/* The tickets touched, in the order they were first touched. */
	g_autoptr(GArray) tickets = g_array_new(FALSE, FALSE, sizeof(gint64));
	if (ticket != 0 && article != 0)
		g_array_append_val(tickets, ticket);
	for (guint i = 0; i < events->len; i++) {
		const DkEvent *e = g_ptr_array_index(events, i);
		gboolean seen = FALSE;
		for (guint k = 0; k < tickets->len && !seen; k++)
			seen = g_array_index(tickets, gint64, k) == e->ticket;
		if (!seen && changed_field(e->type) != NULL)
			g_array_append_val(tickets, e->ticket);
	}
	for (guint k = 0; k < tickets->len; k++) {
		gint64 number = g_array_index(tickets, gint64, k);
		g_autoptr(DkTicket) t = dk_store_ticket_get(store, number, error);
		gint64 first = 0;
		if (t == NULL || !first_article(store, number, &first, error))
			return FALSE;
		g_autoptr(GPtrArray) changes =
		    g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
		for (guint i = 0; i < events->len; i++) {
			const DkEvent *e = g_ptr_array_index(events, i);
			if (e->ticket != number)
				continue;
			g_autoptr(json_t) detail =
			    json_loads(e->detail ? e->detail : "{}", 0, NULL);
			json_t *o = change_payload(e, detail, number == ticket ? article : 0);
			if (o != NULL)
				g_ptr_array_add(changes, o);
		}
		gint64 own = number == ticket ? article : 0;
		if (!enqueue_ticket(store, config, t, own, first, FALSE, changes, now, error))
			return FALSE;
	}
	return TRUE;
}
