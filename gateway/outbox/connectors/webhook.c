/* The generic webhook: each event is POSTed as versioned JSON (README.md,
 * "Connectors") with an HMAC-SHA256 signature over the body (RFC 2104). */
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"
#include "gateway/json.h"

#include <string.h>

#define EVENT_VERSION 1

static json_t *opt_string(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *ticket_json(const DkTicket *t)
{
	return json_pack(
	    "{sI ss ss ss ss so so so sI sI}", "number", (json_int_t)t->number, "subject",
	    t->subject ? t->subject : "", "status", dk_ticket_status_name(t->status), "priority",
	    t->priority, "queue", t->queue, "requester", opt_string(t->requester), "organisation",
	    opt_string(t->organisation), "assignee", opt_string(t->assignee), "created_at",
	    (json_int_t)t->created_at, "updated_at", (json_int_t)t->updated_at);
}

static json_t *article_json(const DkArticle *a)
{
	return json_pack("{sI ss ss so so so so so sI}", "id", (json_int_t)a->id, "direction",
	                 dk_direction_name(a->direction), "visibility",
	                 dk_visibility_name(a->visibility), "sender", opt_string(a->sender),
	                 "recipients", opt_string(a->recipients), "subject", opt_string(a->subject),
	                 "message_id", opt_string(a->message_id), "text", opt_string(a->new_text),
	                 "created_at", (json_int_t)a->created_at);
}

json_t *dk_connector_event_json(const DkConnector *c, const DkConnectorEvent *e)
{
	g_autofree char *id = g_strdup_printf("%s-%" G_GINT64_FORMAT, c->name, e->outbox_id);
	json_t *o = json_pack("{si ss ss ss so}", "version", EVENT_VERSION, "event", e->event, "id",
	                      id, "reference", e->reference, "ticket", ticket_json(e->ticket));
	if (e->article != NULL)
		json_object_set_new(o, "article", article_json(e->article));
	if (e->field != NULL)
		json_object_set_new(o, "change",
		                    json_pack("{ss so so}", "field", e->field, "old",
		                              opt_string(e->old_value), "new",
		                              opt_string(e->new_value)));
	return o;
}

static gboolean post(DkConnector *c, const DkConnectorEvent *e, GError **error)
{
	const char *secret = dk_connector_credential(c, "secret");
	if (secret == NULL || *secret == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: the credentials file has no secret", c->name);
		return FALSE;
	}
	g_autoptr(json_t) o = dk_connector_event_json(c, e);
	g_autofree char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	g_autofree char *mac = g_compute_hmac_for_string(G_CHECKSUM_SHA256, (const guchar *)secret,
	                                                 strlen(secret), body, -1);
	g_autofree char *sig = g_strconcat("X-Docket-Signature: sha256=", mac, NULL);
	g_autofree char *event = g_strconcat("X-Docket-Event: ", e->event, NULL);
	g_autofree char *delivery =
	    g_strdup_printf("X-Docket-Delivery: %s-%" G_GINT64_FORMAT, c->name, e->outbox_id);
	const char *extra[] = {sig, event, delivery, NULL};
	return dk_connector_http(c, "POST", "", body, extra, NULL, error);
}

static gboolean create_ticket(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                              GError **error)
{
	*remote_out = NULL;
	return post(c, e, error);
}

static gboolean update(DkConnector *c, const DkConnectorEvent *e, GError **error)
{
	return post(c, e, error);
}

/* Sends a ping event (no ticket) and expects 2xx. */
static gboolean check(DkConnector *c, GString *report, GError **error)
{
	DkTicket t = {.subject = "docket connector check",
	              .status = DK_STATUS_NEW,
	              .priority = "none",
	              .queue = "default"};
	DkConnectorEvent e = {.event = "ping", .ticket = &t, .reference = "check"};
	if (!post(c, &e, error))
		return FALSE;
	g_string_append_printf(report, "%s: the webhook accepted a ping event\n", c->name);
	return TRUE;
}

const DkConnectorOps dk_connector_webhook = {
    .type = "webhook",
    .remote_ids = FALSE,
    .create_ticket = create_ticket,
    .add_comment = create_ticket,
    .update = update,
    .check = check,
};
