/* Who a reply goes to, what it may carry, and what replies do to the
 * ticket's status. */
#include "gateway/desk/conversation.h"

#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/desk/desk.h"

#include <string.h>

struct DkConversation {
	DkStaff *staff;
	gboolean copy_participants; /* [desk] copy_participants */
	GHashTable *queue_copies;   /* queue name -> GINT_TO_POINTER(1 or 2): false or true */
	gboolean reply_waiting;     /* [desk] reply_status = waiting */
	gsize file_max, total_max;  /* [notify] attachment_max_size, attachment_max_total */
	gboolean notify_customer;   /* [notify] customer_reply = assignee */
	char **team;                /* [notify] team_addresses */
};

DkConversation *dk_conversation_new(const DkConfig *config)
{
	DkConversation *c = g_new0(DkConversation, 1);
	c->staff = dk_staff_new(config);
	c->copy_participants = dk_config_get_bool(config, "desk", "copy_participants");
	c->queue_copies = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_auto(GStrv) queues = dk_config_get_instances(config, "queue");
	for (int i = 0; queues[i] != NULL; i++) {
		g_autofree char *section = g_strconcat("queue:", queues[i], NULL);
		const char *v = dk_config_get_string(config, section, "copy_participants");
		if (strcmp(v, "desk") != 0)
			g_hash_table_insert(c->queue_copies, g_strdup(queues[i]),
			                    GINT_TO_POINTER(strcmp(v, "true") == 0 ? 2 : 1));
	}
	c->reply_waiting =
	    strcmp(dk_config_get_string(config, "desk", "reply_status"), "waiting") == 0;
	c->file_max = (gsize)dk_config_get_int(config, "notify", "attachment_max_size");
	c->total_max = (gsize)dk_config_get_int(config, "notify", "attachment_max_total");
	c->notify_customer =
	    strcmp(dk_config_get_string(config, "notify", "customer_reply"), "assignee") == 0;
	c->team = dk_config_get_list(config, "notify", "team_addresses");
	return c;
}

void dk_conversation_free(DkConversation *c)
{
	if (c == NULL)
		return;
	dk_staff_free(c->staff);
	g_hash_table_unref(c->queue_copies);
	g_strfreev(c->team);
	g_free(c);
}

const DkStaff *dk_conversation_staff(const DkConversation *c)
{
	return c->staff;
}

gboolean dk_conversation_copies(const DkConversation *c, const char *queue)
{
	int v = GPOINTER_TO_INT(g_hash_table_lookup(c->queue_copies, queue ? queue : ""));
	return v == 0 ? c->copy_participants : v == 2;
}

static gboolean among(const GPtrArray *list, const char *address)
{
	for (guint i = 0; i < list->len; i++)
		if (g_ascii_strcasecmp(g_ptr_array_index(list, i), address) == 0)
			return TRUE;
	return FALSE;
}

gboolean dk_conversation_recipients(const DkConversation *c, DkStore *store, const DkTicket *t,
                                    GPtrArray *out, GError **error)
{
	if (t->requester == NULL)
		return TRUE;
	g_ptr_array_add(out, g_ascii_strdown(t->requester, -1));
	if (!dk_conversation_copies(c, t->queue))
		return TRUE;
	g_autoptr(GPtrArray) people = dk_store_participants(store, t->number, error);
	if (people == NULL)
		return FALSE;
	for (guint i = 0; i < people->len; i++) {
		const DkParticipant *p = g_ptr_array_index(people, i);
		if (p->role == DK_ROLE_CC && !among(out, p->address) &&
		    !dk_staff_is_support_address(c->staff, p->address) &&
		    !dk_staff_is_agent(c->staff, p->address))
			g_ptr_array_add(out, g_strdup(p->address));
	}
	return TRUE;
}

gboolean dk_conversation_files_fit(const DkConversation *c, const char *const *names,
                                   const gsize *sizes, guint n, GError **error)
{
	guint64 total = 0;
	for (guint i = 0; i < n; i++) {
		if (sizes[i] > c->file_max) {
			g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
			            "the attachment %s is %" G_GSIZE_FORMAT " bytes, over [notify]"
			            " attachment_max_size (%" G_GSIZE_FORMAT " bytes)",
			            names[i] ? names[i] : "(no name)", sizes[i], c->file_max);
			return FALSE;
		}
		total += sizes[i];
	}
	if (total > c->total_max) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "the %u attachments are %" G_GUINT64_FORMAT
		            " bytes together, over [notify]"
		            " attachment_max_total (%" G_GSIZE_FORMAT " bytes)",
		            n, total, c->total_max);
		return FALSE;
	}
	return TRUE;
}

/* Records an event on ticket with detail (stolen). */
static gboolean event(DkStore *store, gint64 ticket, gint64 article, const char *type,
                      json_t *detail, gint64 now, GError **error)
{
	g_autoptr(json_t) o = detail;
	g_autofree char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_event_add(store, ticket, article, type, text, now, error);
}

static gboolean delivered_to(const DkReplyOut *r, const char *address)
{
	for (guint i = 0; r->delivered != NULL && r->delivered[i] != NULL; i++)
		if (g_ascii_strcasecmp(r->delivered[i], address) == 0)
			return TRUE;
	return FALSE;
}

/* The relay row to one recipient: To the requester, Cc the others. */
static gboolean queue_relay(DkStore *store, const DkTicket *t, const DkReplyOut *r,
                            GPtrArray *everyone, const char *target, gint64 now, GError **error)
{
	g_autoptr(json_t) cc = json_array();
	for (guint i = 1; i < everyone->len; i++)
		json_array_append_new(cc, json_string(g_ptr_array_index(everyone, i)));
	g_autoptr(json_t) payload = json_pack("{sI sI ss sO}", "ticket", (json_int_t)t->number,
	                                      "article", (json_int_t)r->article, "to",
	                                      (char *)g_ptr_array_index(everyone, 0), "cc", cc);
	if (r->author != NULL)
		json_object_set_new(payload, "from", json_string(r->author));
	if (r->author_name != NULL && *r->author_name != '\0')
		json_object_set_new(payload, "agent_name", json_string(r->author_name));
	if (r->answers != NULL)
		json_object_set_new(payload, "answers", json_string(r->answers));
	g_autofree char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	gint64 id = 0;
	return dk_store_outbox_add(store, dk_outbox_kind_name(DK_OUTBOX_RELAY), target, t->number,
	                           text, now, &id, error) &&
	       event(store, t->number, r->article, "outbound_relay_queued",
	             json_pack("{ss sI ss?}", "to", target, "outbox", (json_int_t)id, "by",
	                       r->author),
	             now, error);
}

gboolean dk_conversation_replied(const DkConversation *c, DkStore *store, const DkTicket *t,
                                 const DkReplyOut *r, gint64 now, GError **error)
{
	g_autoptr(GPtrArray) everyone = g_ptr_array_new_with_free_func(g_free);
	if (!dk_conversation_recipients(c, store, t, everyone, error) ||
	    !dk_desk_first_response(store, t->number, now, error))
		return FALSE;
	for (guint i = 0; i < everyone->len; i++) {
		const char *to = g_ptr_array_index(everyone, i);
		gboolean ok = delivered_to(r, to)
		                  ? event(store, t->number, r->article, "outbound_delivered",
		                          json_pack("{ss}", "to", to), now, error)
		                  : queue_relay(store, t, r, everyone, to, now, error);
		if (!ok)
			return FALSE;
	}
	if (!c->reply_waiting || (t->status != DK_STATUS_NEW && t->status != DK_STATUS_OPEN))
		return TRUE;
	/* The ticket as this reply's own commands (#status) may have left it. */
	g_autoptr(DkTicket) now_t = dk_store_ticket_get(store, t->number, error);
	if (now_t == NULL)
		return FALSE;
	if (now_t->status != DK_STATUS_NEW && now_t->status != DK_STATUS_OPEN)
		return TRUE;
	return dk_desk_set_status(store, t->number, dk_ticket_status_name(DK_STATUS_WAITING),
	                          r->by ? r->by : "reply", now, error);
}

/* One "assignee-reply" notice to to (agent: the assignee it names, or NULL). */
static gboolean queue_notice(DkStore *store, const DkTicket *t, gint64 article, const char *to,
                             const char *agent, gint64 now, GError **error)
{
	g_autoptr(json_t) o = json_pack("{ss ss sI}", "template", "assignee-reply", "to", to,
	                                "article", (json_int_t)article);
	if (agent != NULL)
		json_object_set_new(o, "agent_address", json_string(agent));
	g_autofree char *payload = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_outbox_add(store, dk_outbox_kind_name(DK_OUTBOX_NOTICE), to, t->number,
	                           payload, now, NULL, error);
}

gboolean dk_conversation_customer_replied(const DkConversation *c, DkStore *store,
                                          const DkTicket *t, gint64 article, const char *sender,
                                          gint64 now, GError **error)
{
	if (!dk_desk_customer_reply(store, t, article, now, error))
		return FALSE;
	/* The team already heard of the new ticket; it hears again when the
	 * customer comes back to a ticket that waited on them or was done. */
	gboolean back = t->status == DK_STATUS_WAITING || dk_ticket_status_is_closed(t->status);
	if (!c->notify_customer || (t->assignee == NULL && !back))
		return TRUE;
	if (t->assignee != NULL)
		return (sender != NULL && g_ascii_strcasecmp(sender, t->assignee) == 0) ||
		       !dk_staff_address_ok(t->assignee) ||
		       queue_notice(store, t, article, t->assignee, t->assignee, now, error);
	for (guint i = 0; c->team[i] != NULL; i++) {
		if (sender != NULL && g_ascii_strcasecmp(sender, c->team[i]) == 0)
			continue;
		if (!queue_notice(store, t, article, c->team[i], NULL, now, error))
			return FALSE;
	}
	return TRUE;
}

/* The participant event {address, by}. */
static gboolean participant_event(DkStore *store, gint64 ticket, const char *type,
                                  const char *address, const char *by, gint64 now, GError **error)
{
	return dk_store_ticket_touch(store, ticket, now, error) &&
	       event(store, ticket, 0, type, json_pack("{ss ss?}", "address", address, "by", by),
	             now, error);
}

gboolean dk_conversation_participant_add(const DkConversation *c, DkStore *store, gint64 ticket,
                                         const char *address, const char *by, gint64 now,
                                         GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return FALSE;
	const char *why = !dk_staff_address_ok(address) ? "is not an address docket can write to"
	                  : dk_staff_is_support_address(c->staff, address)
	                      ? "is one of docket's own"
	                  : dk_staff_is_agent(c->staff, address) ? "is an agent's"
	                                                         : NULL;
	if (why != NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "“%s” %s: not added to #%" G_GINT64_FORMAT, address ? address : "", why,
		            ticket);
		return FALSE;
	}
	DkParticipantRole role;
	gboolean found = FALSE;
	if (!dk_store_participant_role(store, ticket, address, &role, &found, error))
		return FALSE;
	if (found)
		return TRUE;
	g_autofree char *lower = g_ascii_strdown(address, -1);
	return dk_store_participant_add(store, ticket, lower, DK_ROLE_CC, error) &&
	       participant_event(store, ticket, "participant_added", lower, by, now, error);
}

gboolean dk_conversation_participant_remove(const DkConversation *c, DkStore *store, gint64 ticket,
                                            const char *address, const char *by, gint64 now,
                                            GError **error)
{
	(void)c;
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return FALSE;
	if (t->requester != NULL && address != NULL &&
	    g_ascii_strcasecmp(t->requester, address) == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s opened #%" G_GINT64_FORMAT ": the requester stays a participant",
		            address, ticket);
		return FALSE;
	}
	gboolean removed = FALSE;
	if (!dk_store_participant_remove(store, ticket, address ? address : "", &removed, error))
		return FALSE;
	if (!removed) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "“%s” is no participant of #%" G_GINT64_FORMAT, address ? address : "",
		            ticket);
		return FALSE;
	}
	g_autofree char *lower = g_ascii_strdown(address, -1);
	return participant_event(store, ticket, "participant_removed", lower, by, now, error);
}
