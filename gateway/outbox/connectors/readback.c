/* The way back: what agents do in a help desk reaches the customer through
 * docket. A pass reads each ticket's changes since its watermark and
 * applies them in one transaction with the same desk functions `docket
 * ticket reply|set` use, so a public comment leaves as a tokened, threaded
 * reply through the outbox and a status change is the ticket's own. */
#define G_LOG_DOMAIN "connector"
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/desk/desk.h"
#include "gateway/outbox/connector-events.h"

#include <string.h>

typedef struct {
	const DkConfig *config;
	DkStore *store;
	DkConnector *c;
	const DkSlaPolicy *sla;
	gint64 ticket, now;
	GPtrArray *changes; /* DkConnectorChange */
	const char *cursor; /* the new watermark */
	DkReadBackStats *stats;
} Apply;

/* Whether the remote comment is already ours: docket's own (recorded when
 * it was sent) or one taken before. */
static gboolean comment_known(Apply *a, const char *id, gboolean *known_out, GError **error)
{
	return dk_store_external_ref_taken(a->store, a->c->name, "article", id, known_out, error);
}

/* A public comment becomes a reply to the customer, recorded against the
 * comment's id so that it is neither taken twice nor sent back. */
static gboolean apply_comment(Apply *a, const DkConnectorChange *ch, GError **error)
{
	gboolean known = FALSE;
	if (!comment_known(a, ch->id, &known, error))
		return FALSE;
	if (known)
		return TRUE;
	gint64 last_event = 0;
	g_autoptr(GError) refused = NULL;
	if (!dk_store_last_event(a->store, &last_event, error))
		return FALSE;
	g_autoptr(DkConversation) conversation = dk_conversation_new(a->config);
	DkReply reply = {.text = ch->text, .author = ch->author};
	gint64 article = dk_desk_reply(a->store, conversation, a->ticket, &reply, a->now, &refused);
	if (article == 0 && refused != NULL && refused->code == DK_ERROR_PERMANENT) {
		/* no requester to write to: the watermark passes it by */
		g_message("connector %s ticket=%" G_GINT64_FORMAT " comment=%s result=skipped "
		          "error=\"%s\"",
		          a->c->name, a->ticket, ch->id, refused->message);
		a->stats->skipped++;
		return TRUE;
	}
	if (article == 0) {
		g_propagate_error(error, g_steal_pointer(&refused));
		return FALSE;
	}
	a->stats->comments++;
	return dk_store_external_ref_set(a->store, a->c->name, "article", article, ch->id, error) &&
	       dk_desk_sla_update(a->store, a->sla, a->ticket, a->now, error) &&
	       dk_connector_enqueue_desk(a->store, a->config, last_event, a->ticket, article,
	                                 a->now, error);
}

/* The system's status, mirrored where the lifecycle allows it. ch->status
 * lists our statuses that send the system's (comma-joined): docket's own
 * among them is no change, else the first the lifecycle allows. */
static gboolean apply_status(Apply *a, const DkConnectorChange *ch, GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(a->store, a->ticket, error);
	if (t == NULL)
		return FALSE;
	g_auto(GStrv) words = g_strsplit(ch->status, ",", -1);
	const char *current = dk_ticket_status_name(t->status);
	if (g_strv_contains((const char *const *)words, current))
		return TRUE;
	const char *status = NULL;
	for (guint i = 0; words[i] != NULL && status == NULL; i++) {
		DkTicketStatus to;
		if (dk_ticket_status_parse(words[i], &to) &&
		    dk_desk_transition_allowed(t->status, to))
			status = words[i];
	}
	if (status == NULL) {
		g_message("connector %s ticket=%" G_GINT64_FORMAT " status=%s result=skipped "
		          "error=\"not allowed from %s\"",
		          a->c->name, a->ticket, ch->status, current);
		a->stats->skipped++;
		return TRUE;
	}
	gint64 last_event = 0;
	g_autofree char *by = dk_connector_origin(a->c);
	a->stats->statuses++;
	return dk_store_last_event(a->store, &last_event, error) &&
	       dk_desk_set_status(a->store, a->ticket, status, by, a->now, error) &&
	       dk_desk_sla_update(a->store, a->sla, a->ticket, a->now, error) &&
	       dk_connector_enqueue_desk(a->store, a->config, last_event, a->ticket, 0, a->now,
	                                 error);
}

static gboolean apply_all(Apply *a, GError **error)
{
	for (guint i = 0; i < a->changes->len; i++) {
		const DkConnectorChange *ch = g_ptr_array_index(a->changes, i);
		if (!(ch->status != NULL ? apply_status(a, ch, error)
		                         : apply_comment(a, ch, error)))
			return FALSE;
	}
	return dk_store_external_ref_set(a->store, a->c->name, "cursor", a->ticket, a->cursor,
	                                 error);
}

static gboolean in_transaction(Apply *a, GError **error)
{
	if (!dk_store_begin(a->store, error))
		return FALSE;
	if (!apply_all(a, error)) {
		dk_store_rollback(a->store);
		return FALSE;
	}
	return dk_store_commit(a->store, error);
}

/* Whether the ticket is to be read now: not closed, and nothing of ours
 * still on its way there (what the system shows would be half ours). */
static gboolean due(DkStore *store, DkConnector *c, gint64 ticket, gboolean *due_out,
                    GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	gboolean unsettled = FALSE;
	if (t == NULL ||
	    !dk_store_outbox_unsettled(store, "connector", c->name, ticket, &unsettled, error))
		return FALSE;
	*due_out = !unsettled && t->status != DK_STATUS_CLOSED;
	return TRUE;
}

/* Reads one ticket back and applies what it found. */
static gboolean read_ticket(DkConnector *c, const DkConfig *config, DkStore *store,
                            const DkSlaPolicy *sla, gint64 ticket, gint64 now,
                            DkReadBackStats *stats, GError **error)
{
	g_autofree char *remote = NULL, *cursor = NULL, *next = NULL;
	gboolean is_due = FALSE;
	if (!due(store, c, ticket, &is_due, error))
		return FALSE;
	if (!is_due)
		return TRUE;
	if (!dk_store_external_ref_get(store, c->name, "ticket", ticket, &remote, error) ||
	    !dk_store_external_ref_get(store, c->name, "cursor", ticket, &cursor, error))
		return FALSE;
	g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(dk_connector_change_free);
	g_autoptr(GError) failure = NULL;
	stats->tickets++;
	if (!c->ops->read_back(c, remote, cursor, changes, &next, &failure)) {
		g_message("connector %s ticket=%" G_GINT64_FORMAT " remote=%s result=deferred "
		          "error=\"%s\"",
		          c->name, ticket, remote, failure->message);
		stats->failed++;
		return TRUE;
	}
	Apply a = {.config = config,
	           .store = store,
	           .c = c,
	           .sla = sla,
	           .ticket = ticket,
	           .now = now,
	           .changes = changes,
	           .cursor = next ? next : "",
	           .stats = stats};
	return in_transaction(&a, error);
}

static gboolean read_connector(DkConnector *c, const DkConfig *config, DkStore *store,
                               const DkSlaPolicy *sla, gint64 now, DkReadBackStats *stats,
                               GError **error)
{
	g_autoptr(GArray) tickets = g_array_new(FALSE, FALSE, sizeof(gint64));
	if (!dk_store_external_refs(store, c->name, "ticket", tickets, error))
		return FALSE;
	for (guint i = 0; i < tickets->len; i++)
		if (!read_ticket(c, config, store, sla, g_array_index(tickets, gint64, i), now,
		                 stats, error))
			return FALSE;
	return TRUE;
}

gboolean dk_connectors_read_back(DkConnectors *set, const DkConfig *config, DkStore *store,
                                 const char *name, gint64 now, DkReadBackStats *stats,
                                 GError **error)
{
	g_autoptr(DkSlaPolicy) sla = dk_sla_policy_new(config, error);
	if (sla == NULL)
		return FALSE;
	g_auto(GStrv) names = dk_config_get_instances(config, "connector");
	for (guint i = 0; names[i] != NULL; i++) {
		DkConnector *c = dk_connectors_get(set, names[i]);
		if ((name != NULL && strcmp(name, names[i]) != 0) || c == NULL || c->ops == NULL ||
		    c->ops->read_back == NULL || dk_connector_setting_int(c, "poll_seconds") <= 0)
			continue;
		if (!read_connector(c, config, store, sla, now, stats, error))
			return FALSE;
	}
	return TRUE;
}
