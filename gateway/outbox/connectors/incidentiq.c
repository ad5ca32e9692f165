/* Incident IQ API v1.0: tickets by GUID under /tickets, comments as ticket
 * activities with IsPublic, status changes through the action endpoints or
 * a workflow step, a Bearer token with the SiteId, ProductId and Client
 * headers. The tickets, their fields and the action endpoints are in the
 * vendor's Swagger file of its Tickets API [SPEC]; the rest is listed
 * below. */
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"
#include "gateway/json.h"

#include <curl/curl.h>
#include <string.h>

/* What is not in the vendor's Swagger file, in one place (tagged as
 * connector.h says):
 * - the Ticketing module's ProductId, the default for product_id [SPEC
 *   sample body; that it is the same on every site is INF];
 * - comments: POST /tickets/{id}/activities/new with one comment item and
 *   GET /tickets/{id}/activities [3P];
 * - the paths of the user search POST /users [SPEC: its body,
 *   GetUsersRequestV1; the path is the Users controller's] and of the
 *   ticket search POST /tickets [SPEC prose; body GetTicketsRequest], and
 *   their $p/$s paging and $o/$d order [3P]. No facet that matches an
 *   address or our reference is documented (FilterMatch needs a filter
 *   Id), so both read pages without filters and compare the fields;
 * - no direction field: the author and side lead the comment's text [INF];
 * - the default vocabularies below (statuses are per workflow; priorities
 *   are urgent or not, numbers are tenant-defined) [INF];
 * - what the flags every ticket write carries do (the schema requires
 *   them and says nothing more): RunRules true (the district's routing
 *   applies as to any ticket), SendNotifications and SendEmails false
 *   (docket mails the customer itself) [INF]. */
#define TICKETING_PRODUCT "88df910c-91aa-e711-80c2-0004ffa00010"
#define COMMENT_TYPE "Spark.Shared.Models.TicketActivityComment, Spark.Shared"
#define USER_PAGE 100    /* $s: "some views max 100" [3P] */
#define USER_PAGES 1000  /* 100,000 users at most */
#define USER_REFRESH 600 /* seconds before a miss reads the users again */
#define TICKET_PAGE 50
#define TICKET_PAGES 20 /* newest tickets read after a lost create */
#define CLOCK_SLACK 900 /* seconds Incident IQ's clock may lag docket's */
/* The close reasons of POST /tickets/{id}/close and /cancel [SPEC]. */
#define CLOSE_RESOLVED "C98AE44E-ADA0-4AE7-AE30-817785C00002"
#define CLOSE_CANCELED "C98AE44E-ADA0-4AE7-AE30-817785C00001"
#define ACTIVITY_COMMENT 6 /* ActivityTypes [SPEC] */

/* Map values: "none" (leave it), an action below, else a status or
 * workflow step name (statuses) or a Priority number (priorities). */
static const char *const default_statuses[][2] = {
    {"new", "none"},
    {"open", "requestor-responded"},
    {"in_progress", "In Progress"},
    {"waiting", "waiting-on-requestor"},
    {"on_hold", "On Hold"},
    {"resolved", "close"},
    {"closed", "none"},
};
static const char *const default_priorities[][2] = {
    {"critical", "urgent"}, {"high", "not-urgent"}, {"medium", "not-urgent"},
    {"low", "not-urgent"},  {"none", "not-urgent"},
};

/* The action endpoints under /tickets/{id}/ [SPEC] and their bodies. */
static const char *const actions[][3] = {
    {"waiting-on-requestor", "status/waiting-on-requestor", ""},
    {"requestor-responded", "status/requestor-responded", ""},
    {"close", "close", "{\"CloseReasonTypeId\":\"" CLOSE_RESOLVED "\"}"},
    {"cancel", "cancel", "{\"CloseReasonTypeId\":\"" CLOSE_CANCELED "\"}"},
    {"urgent", "mark-urgent", ""},
    {"not-urgent", "mark-not-urgent", ""},
};

/* The properties of UpdateTicketRequest [SPEC]: what an update copies
 * from the ticket it read. */
/* clang-format off */
static const char *const update_fields[] = {
    "Activities", "AdditionalDetails", "AssetGroups", "Assets", "AssignedToTeam",
    "AssignedToTeamId", "AssignedToUser", "AssignedToUserId", "Attachments", "CloseReason",
    "CloseReasonTypeId", "ClosedDate", "CreatedDate", "CustomFieldValues", "DueDate", "For",
    "ForId", "GuestTicketId", "HasSensitiveInformation", "IsClosed", "IsDeleted",
    "IsIssueConfirmed", "IsPastDue", "IsTraining", "IsUrgent", "Issue", "IssueDescription",
    "IssueId", "Location", "LocationDetails", "LocationId", "LocationRoom", "LocationRoomId",
    "LocationTypes", "Locations", "Meta", "ModifiedDate", "OverallSurveyRating", "Owner",
    "OwnerId", "Priority", "PriorityLevel", "ProductId", "Registration", "Roles", "Site",
    "SiteId", "Sla", "SlaId", "SourceId", "StartedDate", "Subject", "SurveyId",
    "SurveyResponseId", "SurveyUserId", "Tags", "Teams", "TicketFollowerTeamIds",
    "TicketFollowerUserIds", "TicketId", "TicketNumber", "TicketTemplateId",
    "TicketWizardCategoryId", "Users", "WorkflowStep", "WorkflowStepId",
};
/* clang-format on */

/* What a connector keeps between events: the statuses, read once, and
 * the users' addresses, read again when one is missing and they are older
 * than USER_REFRESH. */
typedef struct {
	json_t *statuses;
	GHashTable *users; /* lower-case e-mail -> UserId */
	gint64 users_read; /* monotonic seconds, 0: never */
} State;

static void state_free(gpointer p)
{
	State *s = p;
	json_decref(s->statuses);
	if (s->users != NULL)
		g_hash_table_unref(s->users);
	g_free(s);
}

static State *state_of(DkConnector *c)
{
	if (c->state == NULL) {
		c->state = g_new0(State, 1);
		c->state_free = state_free;
	}
	return c->state;
}

static const char *mapped(GHashTable *map, const char *const (*defaults)[2], gsize n,
                          const char *ours)
{
	const char *v = ours ? g_hash_table_lookup(map, ours) : NULL;
	for (gsize i = 0; v == NULL && ours != NULL && i < n; i++)
		if (strcmp(defaults[i][0], ours) == 0)
			v = defaults[i][1];
	return v ? v : "none";
}

static const char *status_value(const DkConnector *c, const char *ours)
{
	return mapped(c->status_map, default_statuses, G_N_ELEMENTS(default_statuses), ours);
}

static const char *priority_value(const DkConnector *c, const char *ours)
{
	return mapped(c->priority_map, default_priorities, G_N_ELEMENTS(default_priorities), ours);
}

static const char *const *action(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(actions); i++)
		if (g_strcmp0(actions[i][0], name) == 0)
			return actions[i];
	return NULL;
}

static const char *product(const DkConnector *c)
{
	const char *p = dk_connector_credential(c, "product_id");
	return p != NULL && *p != '\0' ? p : TICKETING_PRODUCT;
}

/* Bearer token, the site, the module, and Client: ApiClient [3P]. */
static gboolean auth(DkConnector *c, struct curl_slist **headers, GError **error)
{
	const char *token = dk_connector_credential(c, "token");
	const char *site = dk_connector_credential(c, "site_id");
	if (token == NULL || *token == '\0' || site == NULL || *site == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: the credentials file needs token and site_id", c->name);
		return FALSE;
	}
	g_autofree char *bearer = g_strconcat("Authorization: Bearer ", token, NULL);
	g_autofree char *siteh = g_strconcat("SiteId: ", site, NULL);
	g_autofree char *producth = g_strconcat("ProductId: ", product(c), NULL);
	*headers = curl_slist_append(*headers, bearer);
	*headers = curl_slist_append(*headers, siteh);
	*headers = curl_slist_append(*headers, producth);
	*headers = curl_slist_append(*headers, "Client: ApiClient");
	return TRUE;
}

/* After a 401: the credentials file read again; TRUE when its token or
 * site changed (an administrator replaced an expired token). */
static gboolean reload_credentials(DkConnector *c)
{
	g_autoptr(DkConnector) fresh = dk_connector_new(c->config, c->name, NULL);
	if (fresh == NULL)
		return FALSE;
	const char *const keys[] = {"token", "site_id", "product_id"};
	gboolean changed = FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
		changed = changed || g_strcmp0(dk_connector_credential(c, keys[i]),
		                               dk_connector_credential(fresh, keys[i])) != 0;
	if (changed) {
		GHashTable *old = c->credentials;
		c->credentials = g_hash_table_ref(fresh->credentials);
		g_hash_table_unref(old);
	}
	return changed;
}

static gboolean refused(const GError *e)
{
	return e->code == DK_ERROR_PERMANENT && strstr(e->message, ": HTTP 401: ") != NULL;
}

/* dk_connector_http; on a 401 the request is made again when the
 * credentials file has a new token, and is otherwise temporary: the token
 * is an administrator's and expires, and the rows wait for the new one
 * instead of failing one by one. */
static gboolean call(DkConnector *c, const char *method, const char *path, const char *body,
                     json_t **out, GError **error)
{
	g_autoptr(GError) local = NULL;
	if (dk_connector_http(c, method, path, body, NULL, out, &local))
		return TRUE;
	if (refused(local) && reload_credentials(c)) {
		g_clear_error(&local);
		if (dk_connector_http(c, method, path, body, NULL, out, &local))
			return TRUE;
	}
	if (refused(local)) {
		local->code = DK_ERROR_TEMPORARY;
		g_prefix_error(&local, "the token was refused (replace it in credentials_file): ");
	}
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

static const char *str_at(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The "Item" of an answer's envelope, with its id field, copied. */
static gboolean item_id(DkConnector *c, const json_t *reply, const char *key, char **id_out,
                        GError **error)
{
	const char *id = str_at(json_object_get(reply, "Item"), key);
	id = id ? id : str_at(reply, "Uid");
	if ((*id_out = g_strdup(id)) != NULL)
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: the answer carries no %s", c->name,
	            key);
	return FALSE;
}

static char *dumps(const json_t *o)
{
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

static char *text_of(const DkArticle *a)
{
	char *t = g_strdup(a != NULL && a->new_text != NULL ? a->new_text : "");
	g_strstrip(t);
	if (*t != '\0')
		return t;
	g_free(t);
	return g_strdup("(no text)");
}

/* One page of the users (GetUsersRequestV1, no filter) into the map;
 * *more_out whether another page follows. */
static gboolean users_page(DkConnector *c, guint page, GHashTable *map, gboolean *more_out,
                           GError **error)
{
	g_autoptr(json_t) q = json_pack("{sb sb}", "OnlyShowDeleted", 0, "ExcludeNoAccess", 0);
	g_autofree char *body = dumps(q);
	g_autofree char *path = g_strdup_printf("/users?$p=%u&$s=%d", page, USER_PAGE);
	g_autoptr(json_t) reply = NULL;
	if (!call(c, "POST", path, body, &reply, error))
		return FALSE;
	json_t *items = json_object_get(reply, "Items");
	size_t i;
	json_t *u;
	json_array_foreach(items, i, u)
	{
		const char *email = str_at(u, "Email"), *id = str_at(u, "UserId");
		if (email != NULL && id != NULL)
			g_hash_table_insert(map, g_ascii_strdown(email, -1), g_strdup(id));
	}
	json_t *count = json_object_get(json_object_get(reply, "Paging"), "PageCount");
	*more_out = json_is_integer(count) ? (gint64)page + 1 < json_integer_value(count)
	                                   : json_array_size(items) == USER_PAGE;
	return TRUE;
}

/* The UserId of the user with this address, or NULL. */
static gboolean find_user(DkConnector *c, const char *email, char **id_out, GError **error)
{
	State *s = state_of(c);
	g_autofree char *key = g_ascii_strdown(email, -1);
	gint64 now = g_get_monotonic_time() / G_USEC_PER_SEC;
	*id_out = NULL;
	if (s->users != NULL && g_hash_table_contains(s->users, key)) {
		*id_out = g_strdup(g_hash_table_lookup(s->users, key));
		return TRUE;
	}
	if (s->users != NULL && now - s->users_read < USER_REFRESH)
		return TRUE;
	g_autoptr(GHashTable) map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	gboolean more = TRUE;
	for (guint page = 0; more && page < USER_PAGES; page++)
		if (!users_page(c, page, map, &more, error))
			return FALSE;
	if (s->users != NULL)
		g_hash_table_unref(s->users);
	s->users = g_steal_pointer(&map);
	s->users_read = now;
	*id_out = g_strdup(g_hash_table_lookup(s->users, key));
	return TRUE;
}

/* ForId: the requester's user, else default_requester_id. */
static gboolean requester_id(DkConnector *c, const DkTicket *t, char **id_out, GError **error)
{
	if (t->requester != NULL && !find_user(c, t->requester, id_out, error))
		return FALSE;
	if (*id_out != NULL)
		return TRUE;
	const char *fallback = dk_connector_setting(c, "default_requester_id");
	if (*fallback != '\0') {
		*id_out = g_strdup(fallback);
		return TRUE;
	}
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
	            "%s: %s is not an Incident IQ user and default_requester_id is not set",
	            c->name, t->requester ? t->requester : "the requester");
	return FALSE;
}

/* The reference closes the description: the search after a lost answer
 * looks for it. */
static char *description(const DkConnectorEvent *e)
{
	g_autofree char *text = text_of(e->article);
	g_autofree char *left = dk_connector_files_left_out(e->files, 0);
	return g_strdup_printf("%s%s\n\n[%s]", text, left, e->reference);
}

static gboolean create_ticket(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                              GError **error)
{
	*remote_out = NULL;
	const char *location = dk_connector_setting(c, "location_id"),
	           *type = dk_connector_setting(c, "issue_type_id");
	if (*location == '\0' || *type == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: location_id and issue_type_id are needed", c->name);
		return FALSE;
	}
	g_autofree char *for_id = NULL;
	if (!requester_id(c, e->ticket, &for_id, error))
		return FALSE;
	g_autofree char *desc = description(e);
	const char *subject =
	    e->ticket->subject && *e->ticket->subject ? e->ticket->subject : "(no subject)";
	gboolean urgent = g_strcmp0(priority_value(c, e->ticket->priority), "urgent") == 0;
	g_autoptr(json_t) o = json_pack(
	    "{ss ss ss ss ss ss sb sb sb sb sb sb}", "Subject", subject, "IssueDescription", desc,
	    "ForId", for_id, "LocationId", location, "IssueTypeId", type, "ProductId", product(c),
	    "IsUrgent", urgent, "HasSensitiveInformation", 0, "IsTraining", 0, "SendNotifications",
	    0, "RunRules", 1, "SendEmails", 0);
	const char *const optional[][2] = {{"IssueCategoryId", "issue_category_id"},
	                                   {"IssueId", "issue_id"}};
	for (gsize i = 0; i < G_N_ELEMENTS(optional); i++)
		if (*dk_connector_setting(c, optional[i][1]) != '\0')
			json_object_set_new(o, optional[i][0],
			                    json_string(dk_connector_setting(c, optional[i][1])));
	g_autofree char *body = dumps(o);
	g_autoptr(json_t) reply = NULL;
	return call(c, "POST", "/tickets/new", body, &reply, error) &&
	       item_id(c, reply, "TicketId", remote_out, error);
}

static char *comment_text(const DkArticle *a, const GPtrArray *files)
{
	g_autofree char *left = dk_connector_files_left_out(files, 0);
	g_autofree char *own = text_of(a);
	g_autofree char *text = g_strconcat(own, left, NULL);
	if (a->sender == NULL || *a->sender == '\0')
		return g_steal_pointer(&text);
	gboolean inbound = a->direction == DK_INBOUND;
	return g_strdup_printf("%s (%s) wrote:\n\n%s", a->sender, inbound ? "customer" : "support",
	                       text);
}

static json_t *comment_json(const DkConnectorEvent *e)
{
	g_autofree char *text = comment_text(e->article, e->files);
	gboolean public = e->article->visibility != DK_INTERNAL;
	return json_pack("{ss sb sb sb s[{ss si ss}]}", "TicketId", e->remote_ticket, "IsPublic",
	                 public, "WaitForResponse", 0, "TicketWasUpdated", 0, "ActivityItems",
	                 "$type", COMMENT_TYPE, "TicketActivityTypeId", ACTIVITY_COMMENT,
	                 "Comments", text);
}

static gboolean add_comment(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                            GError **error)
{
	*remote_out = NULL;
	g_autoptr(json_t) o = comment_json(e);
	g_autofree char *body = dumps(o);
	g_autofree char *path = g_strdup_printf("/tickets/%s/activities/new", e->remote_ticket);
	g_autoptr(json_t) reply = NULL;
	return call(c, "POST", path, body, &reply, error) &&
	       item_id(c, reply, "TicketActivityId", remote_out, error);
}

static gboolean has_comment(const json_t *activity, const char *text)
{
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(activity, "ActivityItems"), i, it)
	{
		if (g_strcmp0(str_at(it, "Comments"), text) == 0)
			return TRUE;
	}
	return FALSE;
}

/* After a lost answer: the activities with the same comment and IsPublic. */
static gboolean find_comment(DkConnector *c, const DkConnectorEvent *e, GPtrArray *ids_out,
                             GError **error)
{
	g_autofree char *path = g_strdup_printf("/tickets/%s/activities", e->remote_ticket);
	g_autoptr(json_t) reply = NULL;
	if (!call(c, "GET", path, NULL, &reply, error))
		return FALSE;
	g_autoptr(json_t) want = comment_json(e);
	const char *text =
	    str_at(json_array_get(json_object_get(want, "ActivityItems"), 0), "Comments");
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(reply, "Items"), i, a)
	{
		if (str_at(a, "TicketActivityId") != NULL && has_comment(a, text) &&
		    json_equal(json_object_get(a, "IsPublic"), json_object_get(want, "IsPublic")))
			g_ptr_array_add(ids_out, g_strdup(str_at(a, "TicketActivityId")));
	}
	return TRUE;
}

static gboolean run_action(DkConnector *c, const char *ticket, const char *const *act,
                           GError **error)
{
	g_autofree char *path = g_strdup_printf("/tickets/%s/%s", ticket, act[1]);
	return call(c, "POST", path, act[2], NULL, error);
}

/* POST /tickets/{id} takes the whole ticket [SPEC]: the current one with
 * field set to value (stolen) and the flags the request requires. */
static gboolean update_field(DkConnector *c, const char *ticket, const char *field, json_t *value,
                             GError **error)
{
	g_autoptr(json_t) v = value;
	g_autofree char *path = g_strdup_printf("/tickets/%s", ticket);
	g_autoptr(json_t) reply = NULL;
	if (!call(c, "GET", path, NULL, &reply, error))
		return FALSE;
	json_t *t = json_object_get(reply, "Item");
	if (!json_is_object(t)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: GET %s: no Item", c->name,
		            path);
		return FALSE;
	}
	g_autoptr(json_t) o = json_object();
	for (gsize i = 0; i < G_N_ELEMENTS(update_fields); i++) {
		json_t *kept = json_object_get(t, update_fields[i]);
		if (kept != NULL && !json_is_null(kept)) /* null: none, as when absent */
			json_object_set(o, update_fields[i], kept);
	}
	json_object_set(o, field, v);
	const char *const off[] = {
	    "UpdateAssets",       "UpdateTags",        "UpdateTicketFollowers",
	    "UpdateCustomFields", "UpdateAttachments", "SendNotifications",
	    "SendEmails"};
	for (gsize i = 0; i < G_N_ELEMENTS(off); i++)
		json_object_set_new(o, off[i], json_false());
	json_object_set_new(o, "RunRules", json_true());
	g_autofree char *body = dumps(o);
	return call(c, "POST", path, body, NULL, error);
}

/* The statuses of GET /tickets/statuses, read once per connector. */
static gboolean statuses(DkConnector *c, json_t **out, GError **error)
{
	State *s = state_of(c);
	if (s->statuses == NULL) {
		g_autoptr(json_t) reply = NULL;
		if (!call(c, "GET", "/tickets/statuses", NULL, &reply, error))
			return FALSE;
		if (!json_is_array(json_object_get(reply, "Items"))) {
			g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
			            "%s: GET /tickets/statuses: no Items", c->name);
			return FALSE;
		}
		s->statuses = json_incref(json_object_get(reply, "Items"));
	}
	*out = s->statuses;
	return TRUE;
}

/* The WorkflowStepId of the status or step called name, or NULL. */
static const char *step_id(const json_t *list, const char *name)
{
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
	{
		if (g_strcmp0(str_at(s, "StatusName"), name) == 0 ||
		    g_strcmp0(str_at(s, "StepName"), name) == 0)
			return str_at(s, "WorkflowStepId");
	}
	return NULL;
}

static gboolean set_status(DkConnector *c, const char *ticket, const char *value, GError **error)
{
	if (strcmp(value, "none") == 0)
		return TRUE;
	if (action(value) != NULL)
		return run_action(c, ticket, action(value), error);
	json_t *list = NULL;
	if (!statuses(c, &list, error))
		return FALSE;
	const char *step = step_id(list, value);
	if (step == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: no status or workflow step is called \"%s\" (status_map)", c->name,
		            value);
		return FALSE;
	}
	return update_field(c, ticket, "WorkflowStepId", json_string(step), error);
}

static gboolean is_number(const char *s)
{
	char *end = NULL;
	g_ascii_strtoll(s, &end, 10);
	return *s != '\0' && *end == '\0';
}

static gboolean set_priority(DkConnector *c, const char *ticket, const char *value, GError **error)
{
	if (strcmp(value, "none") == 0)
		return TRUE;
	if (action(value) != NULL)
		return run_action(c, ticket, action(value), error);
	if (is_number(value))
		return update_field(c, ticket, "Priority",
		                    json_integer(g_ascii_strtoll(value, NULL, 10)), error);
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
	            "%s: priority_map value \"%s\" is not urgent, not-urgent, none or a number",
	            c->name, value);
	return FALSE;
}

static gboolean set_assignee(DkConnector *c, const char *ticket, const char *email, GError **error)
{
	if (email == NULL || *email == '\0') {
		g_autofree char *path = g_strdup_printf("/tickets/%s/unassign/user", ticket);
		return call(c, "POST", path, "", NULL, error);
	}
	g_autofree char *user = NULL;
	if (!find_user(c, email, &user, error))
		return FALSE;
	if (user == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: the assignee %s is not an Incident IQ user", c->name, email);
		return FALSE;
	}
	return update_field(c, ticket, "AssignedToUserId", json_string(user), error);
}

static gboolean update(DkConnector *c, const DkConnectorEvent *e, GError **error)
{
	if (g_strcmp0(e->field, "status") == 0)
		return set_status(c, e->remote_ticket, status_value(c, e->new_value), error);
	if (g_strcmp0(e->field, "priority") == 0)
		return set_priority(c, e->remote_ticket, priority_value(c, e->new_value), error);
	if (g_strcmp0(e->field, "assignee") == 0)
		return set_assignee(c, e->remote_ticket, e->new_value, error);
	return TRUE;
}

/* One page of the newest tickets (GetTicketsRequest, no filter, by
 * CreatedDate descending) into a new list of Items. */
static gboolean tickets_page(DkConnector *c, guint page, json_t **items_out, GError **error)
{
	g_autoptr(json_t) q =
	    json_pack("{ss sb sb sb sb sb ss}", "Schema", "All", "FilterByProduct", 1,
	              "OnlyShowDeleted", 0, "OnlyShowSupportTickets", 0, "ShowTicketsForAllSites",
	              0, "isGlobalAdmin", 0, "ProductId", product(c));
	g_autofree char *body = dumps(q);
	g_autofree char *path =
	    g_strdup_printf("/tickets?$p=%u&$s=%d&$o=CreatedDate&$d=Descending", page, TICKET_PAGE);
	g_autoptr(json_t) reply = NULL;
	if (!call(c, "POST", path, body, &reply, error))
		return FALSE;
	json_t *items = json_object_get(reply, "Items");
	*items_out = json_is_array(items) ? json_incref(items) : json_array();
	return TRUE;
}

/* Whether the ticket was made before since, less the clock slack. */
static gboolean older_than(const json_t *t, gint64 since)
{
	const char *made = str_at(t, "CreatedDate");
	g_autoptr(GDateTime) when = made ? g_date_time_new_from_iso8601(made, NULL) : NULL;
	return when != NULL && g_date_time_to_unix(when) < since - CLOCK_SLACK;
}

/* Incident IQ takes no idempotency key, and no search facet for our
 * reference is documented: the newest tickets are read, newest first,
 * until one's description ends with the reference (found) or one older
 * than the event shows that the create never arrived. When the pages
 * run out before that answer, it fails for good rather than risk a
 * second ticket. */
static gboolean lookup(DkConnector *c, const DkConnectorEvent *e, char **remote_out, GError **error)
{
	*remote_out = NULL;
	g_autofree char *marker = g_strdup_printf("\n\n[%s]", e->reference);
	for (guint page = 0; page < TICKET_PAGES; page++) {
		g_autoptr(json_t) items = NULL;
		if (!tickets_page(c, page, &items, error))
			return FALSE;
		size_t i;
		json_t *t;
		json_array_foreach(items, i, t)
		{
			const char *d = str_at(t, "IssueDescription");
			if (d != NULL && g_str_has_suffix(d, marker)) {
				*remote_out = g_strdup(str_at(t, "TicketId"));
				return TRUE;
			}
			if (older_than(t, e->since))
				return TRUE;
		}
		if (json_array_size(items) < TICKET_PAGE)
			return TRUE; /* every ticket read: it was never made */
	}
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
	            "%s: cannot tell whether the lost create of %s made a ticket: more than %d "
	            "newer tickets; look for [%s] at the end of a description",
	            c->name, e->reference, TICKET_PAGE * TICKET_PAGES, e->reference);
	return FALSE;
}

/* Our statuses for a ticket as Incident IQ shows it (comma-joined, see
 * DkConnectorChange): closed is resolved or closed; a step whose status
 * or step name a status value names is those; one that needs the
 * requestor is waiting; any other open step is open (or new, or in
 * progress: docket's own is kept). */
static char *ours_for(DkConnector *c, const json_t *ticket, const json_t *list)
{
	if (json_is_true(json_object_get(ticket, "IsClosed")))
		return g_strdup("resolved,closed");
	const char *step = str_at(ticket, "WorkflowStepId");
	const json_t *found = NULL;
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
	{
		const char *id = str_at(s, "WorkflowStepId");
		if (step != NULL && id != NULL && g_ascii_strcasecmp(step, id) == 0)
			found = s;
	}
	g_autoptr(GString) out = g_string_new(NULL);
	for (gsize k = 0; found != NULL && k < G_N_ELEMENTS(default_statuses); k++) {
		const char *v = status_value(c, default_statuses[k][0]);
		if (g_strcmp0(v, str_at(found, "StatusName")) == 0 ||
		    g_strcmp0(v, str_at(found, "StepName")) == 0)
			g_string_append_printf(out, "%s%s", out->len ? "," : "",
			                       default_statuses[k][0]);
	}
	if (out->len == 0 && json_is_true(json_object_get(found, "IsRequestorInputNeeded")))
		g_string_append(out, "waiting");
	if (out->len == 0)
		g_string_append(out, "open,new,in_progress");
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Whether an activity is a public comment, and its text. */
static const char *public_comment(const json_t *activity)
{
	if (!json_is_true(json_object_get(activity, "IsPublic")))
		return NULL;
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(activity, "ActivityItems"), i, it)
	{
		if (json_integer_value(json_object_get(it, "TicketActivityTypeId")) ==
		        ACTIVITY_COMMENT &&
		    str_at(it, "Comments") != NULL)
			return str_at(it, "Comments");
	}
	return NULL;
}

/* Every public comment of the ticket, oldest first (activities carry
 * GUIDs, which do not order: the way back keeps no comment watermark and
 * takes each comment id once, docket's own being recorded when sent). */
static gboolean public_comments(DkConnector *c, const char *ticket, GPtrArray *changes_out,
                                GError **error)
{
	for (guint page = 0; page < USER_PAGES; page++) {
		g_autofree char *path =
		    g_strdup_printf("/tickets/%s/activities?$p=%u&$s=%d", ticket, page, USER_PAGE);
		g_autoptr(json_t) reply = NULL;
		if (!call(c, "GET", path, NULL, &reply, error))
			return FALSE;
		json_t *items = json_object_get(reply, "Items");
		size_t i;
		json_t *a;
		json_array_foreach(items, i, a)
		{
			const char *text = public_comment(a), *id = str_at(a, "TicketActivityId");
			if (text != NULL && id != NULL)
				g_ptr_array_add(changes_out,
				                dk_connector_change_new(id, text, NULL, NULL));
		}
		if (json_array_size(items) < USER_PAGE)
			return TRUE;
	}
	return TRUE;
}

/* The way back: the ticket's public comments, and its status when it is
 * not the one the cursor saw ("STEP" or "closed"). */
static gboolean read_back(DkConnector *c, const char *remote, const char *cursor,
                          GPtrArray *changes_out, char **cursor_out, GError **error)
{
	g_autofree char *path = g_strdup_printf("/tickets/%s", remote);
	g_autoptr(json_t) reply = NULL;
	json_t *list = NULL;
	if (!public_comments(c, remote, changes_out, error) ||
	    !call(c, "GET", path, NULL, &reply, error) || !statuses(c, &list, error))
		return FALSE;
	json_t *t = json_object_get(reply, "Item");
	const char *step = str_at(t, "WorkflowStepId");
	g_autofree char *seen =
	    g_strdup(json_is_true(json_object_get(t, "IsClosed")) ? "closed" : (step ? step : ""));
	if (g_strcmp0(seen, cursor) != 0 && json_is_object(t)) {
		g_autofree char *ours = ours_for(c, t, list);
		g_ptr_array_add(changes_out, dk_connector_change_new(NULL, NULL, NULL, ours));
	}
	*cursor_out = g_steal_pointer(&seen);
	return TRUE;
}

/* Whether every status value names an action or a status of the list. */
static gboolean check_statuses(DkConnector *c, const json_t *list, GString *report)
{
	gboolean ok = TRUE;
	for (gsize i = 0; i < G_N_ELEMENTS(default_statuses); i++) {
		const char *v = status_value(c, default_statuses[i][0]);
		if (strcmp(v, "none") == 0 || action(v) != NULL || step_id(list, v) != NULL)
			continue;
		g_string_append_printf(report, "%s: status %s (for %s) is not a status or step\n",
		                       c->name, v, default_statuses[i][0]);
		ok = FALSE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(default_priorities); i++) {
		const char *v = priority_value(c, default_priorities[i][0]);
		if (strcmp(v, "none") == 0 || action(v) != NULL || is_number(v))
			continue;
		g_string_append_printf(report,
		                       "%s: priority %s (for %s) is not urgent, not-urgent, "
		                       "none or a number\n",
		                       c->name, v, default_priorities[i][0]);
		ok = FALSE;
	}
	return ok;
}

/* Whether the keys a new ticket needs are set, and the fallback user
 * exists. */
static gboolean check_settings(DkConnector *c, GString *report, GError **error)
{
	gboolean ok = TRUE;
	const char *const needed[] = {"location_id", "issue_type_id"};
	for (gsize i = 0; i < G_N_ELEMENTS(needed); i++)
		if (*dk_connector_setting(c, needed[i]) == '\0') {
			g_string_append_printf(report, "%s: %s is not set: new tickets need it\n",
			                       c->name, needed[i]);
			ok = FALSE;
		}
	const char *fallback = dk_connector_setting(c, "default_requester_id");
	if (*fallback == '\0')
		return ok;
	g_autofree char *path = g_strdup_printf("/users/%s", fallback);
	g_autoptr(GError) local = NULL;
	if (dk_connector_http(c, "GET", path, NULL, NULL, NULL, &local))
		return ok;
	if (local->code != DK_ERROR_PERMANENT) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	g_string_append_printf(report, "%s: default_requester_id %s: %s\n", c->name, fallback,
	                       local->message);
	return FALSE;
}

/* Authenticates by reading the statuses, then checks the maps and keys.
 * Reads only. */
static gboolean check(DkConnector *c, GString *report, GError **error)
{
	g_autoptr(json_t) reply = NULL;
	if (!dk_connector_http(c, "GET", "/tickets/statuses", NULL, NULL, &reply, error)) {
		if (refused(*error))
			g_string_append_printf(report,
			                       "%s: the token was refused: check token and "
			                       "site_id in the credentials file\n",
			                       c->name);
		return FALSE;
	}
	const json_t *list = json_object_get(reply, "Items");
	g_string_append_printf(report, "%s: authenticated; %zu statuses\n", c->name,
	                       json_array_size(list));
	gboolean ok = check_statuses(c, list, report);
	ok = check_settings(c, report, error) && ok;
	if (error != NULL && *error != NULL)
		return FALSE;
	if (ok)
		g_string_append_printf(report,
		                       "%s: statuses, priorities, location and issue type "
		                       "set\n",
		                       c->name);
	return ok;
}

const DkConnectorOps dk_connector_incidentiq = {
    .type = "incidentiq",
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
