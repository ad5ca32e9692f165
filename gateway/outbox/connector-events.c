/* Ticket events become connector outbox rows in the writer's transaction. */
#include "gateway/outbox/connector-events.h"

#include "gateway/core/json.h"
#include "gateway/core/store-outbox.h"

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

static json_t *base_payload(const char *event, const DkPipelineItem *item)
{
	return json_pack("{ss sI sI}", "event", event, "ticket", (json_int_t)item->result.ticket,
	                 "article", (json_int_t)item->result.article);
}

static gboolean add_row(DkStore *store, const char *name, const DkPipelineItem *item, json_t *o,
                        GError **error)
{
	g_autofree char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_outbox_add(store, "connector", name, item->result.ticket, text,
	                           item->received_at, NULL, error);
}

/* Whether event e was caused by the item: it names the item's article
 * (agent commands, a reopening reply), or the rules wrote it (with no
 * article) after the item's first event, the writer running this hook
 * right after each item. */
static gboolean caused_by_item(const DkEvent *e, const json_t *detail,
                               const DkPipelineItem *item, gboolean seen_item)
{
	if (e->article == item->result.article)
		return TRUE;
	return seen_item && e->article == 0 &&
	       g_strcmp0(json_string_value(json_object_get(detail, "by")), "rules") == 0;
}

/* The change events this item caused, as payloads. */
static GPtrArray *change_payloads(DkStore *store, const DkPipelineItem *item, GError **error)
{
	g_autoptr(GPtrArray) events = dk_store_events(store, item->result.ticket, error);
	if (events == NULL)
		return NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
	gboolean seen_item = FALSE;
	for (guint i = 0; i < events->len; i++) {
		const DkEvent *e = g_ptr_array_index(events, i);
		const char *field = changed_field(e->type);
		g_autoptr(json_t) detail = json_loads(e->detail ? e->detail : "{}", 0, NULL);
		gboolean ours = caused_by_item(e, detail, item, seen_item);
		seen_item = seen_item || e->article == item->result.article;
		if (field == NULL || !ours)
			continue;
		json_t *o = base_payload("ticket.updated", item);
		json_t *value = json_object_get(detail, "new"); /* rules say "value" */
		json_object_set_new(o, "field", json_string(field));
		json_object_set(o, "old", json_object_get(detail, "old"));
		json_object_set(o, "new", value ? value : json_object_get(detail, "value"));
		g_ptr_array_add(out, o);
	}
	return out;
}

gboolean dk_connector_enqueue(DkStore *store, const DkConfig *config, const DkPipelineItem *item,
                              GError **error)
{
	if (config == NULL || item->result.ticket == 0 || item->result.article == 0 ||
	    g_strcmp0(item->intake, "import") == 0 ||
	    (item->result.outcome != DK_OUTCOME_CREATED &&
	     item->result.outcome != DK_OUTCOME_APPENDED))
		return TRUE;
	g_auto(GStrv) names = dk_config_get_instances(config, "connector");
	if (names[0] == NULL)
		return TRUE;
	g_autoptr(DkTicket) ticket = dk_store_ticket_get(store, item->result.ticket, error);
	g_autoptr(GPtrArray) changes = ticket ? change_payloads(store, item, error) : NULL;
	if (changes == NULL)
		return FALSE;
	for (guint i = 0; names[i] != NULL; i++) {
		g_autofree char *section = g_strconcat("connector:", names[i], NULL);
		g_auto(GStrv) queues = dk_config_get_list(config, section, "queues");
		if (!dk_connector_queue_matches(queues, ticket->queue))
			continue;
		/* A ticket the connector has not seen yet (it came into the
		 * queue, or was older than the connector) is created there. */
		gboolean known = FALSE;
		if (item->result.outcome != DK_OUTCOME_CREATED &&
		    !dk_store_outbox_has(store, "connector", names[i], ticket->number, &known, error))
			return FALSE;
		g_autoptr(json_t) o = base_payload(known ? "article.created" : "ticket.created", item);
		if (!add_row(store, names[i], item, o, error))
			return FALSE;
		for (guint j = 0; j < changes->len; j++)
			if (!add_row(store, names[i], item, g_ptr_array_index(changes, j), error))
				return FALSE;
	}
	return TRUE;
}
