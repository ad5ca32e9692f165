/* OpsPilot MSP portal: tickets under /api/msp-portal/tickets, a Bearer API
 * key, answers in the {success, data, meta} envelope. There is no vendor
 * OpenAPI document: the endpoint list, the envelope, the error codes,
 * paging and the vocabularies are in the vendor's product notes [DOC]; the
 * field names are not (see below). */
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"
#include "gateway/json.h"

#include <curl/curl.h>
#include <string.h>

#define TICKETS "/api/msp-portal/tickets"
#define PAGE_LIMIT 100  /* the documented maximum of limit */
#define LOOKUP_PAGES 50 /* a lost create is searched for in 5,000 tickets */

/* Documented [DOC]: the exact display names. */
static const char *const statuses[] = {"New",      "In Progress", "Waiting on Customer",
                                       "Resolved", "Closed",      NULL};
static const char *const priorities[] = {"Critical", "High", "Medium", "Low", NULL};

/* Our vocabulary onto theirs (the portal's documented priorities and
 * statuses [DOC]): on_hold has no status of its own; priority none is left
 * out (the portal's default). */
static const DkConnectorWord default_statuses[] = {
    {"new", "New"},
    {"open", "In Progress"},
    {"in_progress", "In Progress"},
    {"waiting", "Waiting on Customer"},
    {"on_hold", "Waiting on Customer"},
    {"resolved", "Resolved"},
    {"closed", "Closed"},
};
static const DkConnectorWord default_priorities[] = {
    {"critical", "Critical"}, {"high", "High"}, {"medium", "Medium"}, {"low", "Low"}};
static const DkConnectorVocabulary status_words = {"status", default_statuses,
                                                   G_N_ELEMENTS(default_statuses), statuses};
static const DkConnectorVocabulary priority_words = {"priority", default_priorities,
                                                     G_N_ELEMENTS(default_priorities), priorities};

/* Inferred [INF], a proposed contract and nothing the vendor documents:
 * the field names of a ticket (subject, description, customerId,
 * requesterEmail, priority, tags) and of a comment (body, isInternal,
 * direction), string ids in data.id, our reference carried as a tag (there
 * is no external-reference field), PUT with only the changed field, and
 * the comments listed in data.comments of GET /tickets/:ticketId. Correct
 * these four functions when the real shapes are known. */
static json_t *ticket_body(const DkConnector *c, const DkConnectorEvent *e, const char *customer)
{
	const char *subject =
	    e->ticket->subject && *e->ticket->subject ? e->ticket->subject : "(no subject)";
	g_autofree char *left = dk_connector_files_left_out(e->files, 0);
	g_autofree char *text = g_strconcat(dk_connector_text(e->article), left, NULL);
	json_t *o = json_pack("{ss ss ss s[ss]}", "subject", subject, "description", text,
	                      "customerId", customer, "tags", "docket", e->reference);
	if (e->ticket->requester != NULL)
		json_object_set_new(o, "requesterEmail", json_string(e->ticket->requester));
	const char *priority = dk_connector_word(c, &priority_words, e->ticket->priority);
	if (priority != NULL)
		json_object_set_new(o, "priority", json_string(priority));
	return o;
}

static json_t *comment_body(const DkConnectorEvent *e)
{
	const DkArticle *a = e->article;
	g_autofree char *left = dk_connector_files_left_out(e->files, 0);
	g_autofree char *text = g_strconcat(dk_connector_text(a), left, NULL);
	return json_pack("{ss sb ss}", "body", text, "isInternal", a->visibility == DK_INTERNAL,
	                 "direction", a->direction == DK_INBOUND ? "inbound" : "outbound");
}

static gboolean has_tag(const json_t *ticket, const char *tag)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(ticket, "tags"), i, t)
	{
		if (g_strcmp0(json_string_value(t), tag) == 0)
			return TRUE;
	}
	return FALSE;
}

static json_t *comments_of(const json_t *ticket)
{
	return json_object_get(ticket, "comments");
}

static gboolean auth(DkConnector *c, struct curl_slist **headers, GError **error)
{
	const char *key = dk_connector_credential(c, "api_key");
	if (key == NULL || *key == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: the credentials file needs api_key", c->name);
		return FALSE;
	}
	g_autofree char *bearer = g_strconcat("Authorization: Bearer ", key, NULL);
	*headers = curl_slist_append(*headers, bearer);
	return TRUE;
}

/* One request; the envelope's data in *data_out (NULL to ignore it). A
 * 2xx answer without "success": true is refused with its error object. */
static gboolean call(DkConnector *c, const char *method, const char *path, const json_t *body,
                     json_t **data_out, GError **error)
{
	g_autoptr(json_t) reply = NULL;
	if (!dk_connector_http_json(c, method, path, body, &reply, error))
		return FALSE;
	if (!json_is_true(json_object_get(reply, "success"))) {
		g_autofree char *shown = reply ? json_dumps(json_object_get(reply, "error"),
		                                            JSON_COMPACT | JSON_ENCODE_ANY)
		                               : NULL;
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: %s %s: no success: %s",
		            c->name, method, path, shown ? shown : "(no envelope)");
		return FALSE;
	}
	if (data_out != NULL)
		*data_out = json_incref(json_object_get(reply, "data"));
	return TRUE;
}

static gboolean got_id(DkConnector *c, const json_t *data, char **remote_out, GError **error)
{
	if ((*remote_out = dk_connector_member_id(data, "id")) != NULL)
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: the answer carries no id", c->name);
	return FALSE;
}

static char *ticket_path(const char *remote, const char *rest)
{
	g_autofree char *id = g_uri_escape_string(remote, NULL, FALSE);
	return g_strconcat(TICKETS "/", id, rest, NULL);
}

static gboolean create_ticket(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                              GError **error)
{
	*remote_out = NULL;
	g_autofree char *customer = dk_connector_for_domain(c, e->ticket->requester, c->company);
	if (customer == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: no customer for %s: set company or organisation_map", c->name,
		            e->ticket->requester ? e->ticket->requester : "(no requester)");
		return FALSE;
	}
	g_autoptr(json_t) body = ticket_body(c, e, customer);
	g_autoptr(json_t) data = NULL;
	return call(c, "POST", TICKETS, body, &data, error) && got_id(c, data, remote_out, error);
}

static gboolean add_comment(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                            GError **error)
{
	*remote_out = NULL;
	g_autoptr(json_t) body = comment_body(e);
	g_autofree char *path = ticket_path(e->remote_ticket, "/comments");
	g_autoptr(json_t) data = NULL;
	return call(c, "POST", path, body, &data, error) && got_id(c, data, remote_out, error);
}

/* After a lost answer: the comments with the same body, visibility and
 * direction, as the ticket lists them. */
static gboolean find_comment(DkConnector *c, const DkConnectorEvent *e, GPtrArray *ids_out,
                             GError **error)
{
	g_autofree char *path = ticket_path(e->remote_ticket, "");
	g_autoptr(json_t) ticket = NULL;
	if (!call(c, "GET", path, NULL, &ticket, error))
		return FALSE;
	g_autoptr(json_t) want = comment_body(e);
	size_t i;
	json_t *item;
	json_array_foreach(comments_of(ticket), i, item)
	{
		const char *keys[] = {"body", "isInternal", "direction"};
		gboolean same = TRUE;
		for (gsize k = 0; k < G_N_ELEMENTS(keys); k++)
			same = same && json_equal(json_object_get(item, keys[k]),
			                          json_object_get(want, keys[k]));
		char *id = same ? dk_connector_member_id(item, "id") : NULL;
		if (id != NULL)
			g_ptr_array_add(ids_out, id);
	}
	return TRUE;
}

/* Status and priority by their display names; an assignee needs the
 * portal's user id, which nothing documented maps from an address, so
 * assignee changes are not sent. */
static gboolean update(DkConnector *c, const DkConnectorEvent *e, GError **error)
{
	const char *word = NULL;
	if (g_strcmp0(e->field, "status") == 0)
		word = dk_connector_word(c, &status_words, e->new_value);
	else if (g_strcmp0(e->field, "priority") == 0)
		word = dk_connector_word(c, &priority_words, e->new_value);
	if (word == NULL)
		return TRUE; /* nothing that maps: the portal keeps its value */
	g_autoptr(json_t) body = json_pack("{ss}", e->field, word);
	g_autofree char *path = ticket_path(e->remote_ticket, "");
	return call(c, "PUT", path, body, NULL, error);
}

/* The ticket tagged with our reference, page by page (no filter on tags
 * is documented). */
static gboolean lookup(DkConnector *c, const DkConnectorEvent *e, char **remote_out, GError **error)
{
	const char *reference = e->reference;
	*remote_out = NULL;
	for (int page = 1; page <= LOOKUP_PAGES && *remote_out == NULL; page++) {
		g_autofree char *path =
		    g_strdup_printf(TICKETS "?page=%d&limit=%d", page, PAGE_LIMIT);
		g_autoptr(json_t) data = NULL;
		if (!call(c, "GET", path, NULL, &data, error))
			return FALSE;
		size_t i;
		json_t *ticket;
		json_array_foreach(data, i, ticket)
		{
			if (*remote_out == NULL && has_tag(ticket, reference))
				*remote_out = dk_connector_member_id(ticket, "id");
		}
		if (json_array_size(data) < PAGE_LIMIT)
			break;
	}
	return TRUE;
}

/* The way back: GET /tickets/:ticketId gives the ticket "including
 * comments and activity" [DOC]; its public outbound comments [INF: the
 * comment fields] are the agents' (docket's own are recorded when sent,
 * and comment ids do not order, so each is taken once by its id), and its
 * status when it is not the one the cursor saw (cursor: the status). */
static gboolean read_back(DkConnector *c, const char *remote, const char *cursor,
                          GPtrArray *changes_out, char **cursor_out, GError **error)
{
	g_autofree char *escaped = g_uri_escape_string(remote, NULL, FALSE);
	g_autofree char *path = g_strconcat(TICKETS "/", escaped, NULL);
	g_autoptr(json_t) ticket = NULL;
	if (!call(c, "GET", path, NULL, &ticket, error))
		return FALSE;
	size_t i;
	json_t *m;
	json_array_foreach(comments_of(ticket), i, m)
	{
		g_autofree char *id = dk_connector_member_id(m, "id");
		const char *body = json_string_value(json_object_get(m, "body"));
		if (id != NULL && body != NULL && !json_is_true(json_object_get(m, "isInternal")) &&
		    g_strcmp0(json_string_value(json_object_get(m, "direction")), "inbound") != 0)
			g_ptr_array_add(changes_out, dk_connector_change_new(id, body, NULL, NULL));
	}
	const char *status = json_string_value(json_object_get(ticket, "status"));
	g_autofree char *ours = dk_connector_words_back(c, &status_words, status);
	if (status != NULL && g_strcmp0(status, cursor) != 0 && ours != NULL)
		g_ptr_array_add(changes_out, dk_connector_change_new(NULL, NULL, NULL, ours));
	*cursor_out = g_strdup(status ? status : "");
	return TRUE;
}

/* Reads one ticket (authentication and permission to read), then checks
 * the maps against the documented vocabularies and that every ticket
 * gets a customer. Customers cannot be listed: their ids go unchecked. */
static gboolean check(DkConnector *c, GString *report, GError **error)
{
	if (!call(c, "GET", TICKETS "?page=1&limit=1", NULL, NULL, error)) {
		if (strstr((*error)->message, "HTTP 401") != NULL)
			g_string_append_printf(report, "%s: the API key was refused\n", c->name);
		return FALSE;
	}
	g_string_append_printf(report, "%s: authenticated\n", c->name);
	gboolean ok = dk_connector_words_known(c, &status_words, &priority_words, report);
	g_autoptr(GHashTable) domains = dk_connector_setting_map(c, "organisation_map");
	if (*c->company == '\0' && !g_hash_table_contains(domains, "*")) {
		g_string_append_printf(report,
		                       "%s: no default customer (company, or \"*\" in "
		                       "organisation_map): mail from other domains will fail\n",
		                       c->name);
		ok = ok && g_hash_table_size(domains) > 0;
	}
	if (ok)
		g_string_append_printf(report,
		                       "%s: statuses and priorities known; customer ids "
		                       "cannot be listed and are not checked\n",
		                       c->name);
	return ok;
}

const DkConnectorOps dk_connector_opspilot = {
    .type = "opspilot",
    .remote_ids = TRUE,
    .auth = auth,
    .create_ticket = create_ticket,
    .add_comment = add_comment,
    .update = update,
    .lookup = lookup,
    .find_comment = find_comment,
    .check = check,
    .read_back = read_back,
};
