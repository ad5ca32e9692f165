/* NinjaOne ticketing (the vendor's OpenAPI document of its Public API 2.0
 * [SPEC]): an OAuth2 client-credentials token cached and refreshed,
 * tickets with the tenant's status ids, multipart comments with a public
 * flag, full PUT updates carrying the current version. */
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/json.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

/* What is inferred or seen only in third-party clients [INF]/[3P], in one
 * place: the /api prefix, the token path and scope, the refresh margin,
 * the default status names (NEW, OPEN and CLOSED are seen in fixtures;
 * WAITING, PAUSED and RESOLVED are not verified; CLOSED is reported not
 * settable, so closed goes to RESOLVED), and that a board run's
 * lastCursorId, with sortBy id descending, continues below that id. The
 * priorities (no CRITICAL:
 * critical is HIGH with severity CRITICAL) are the spec's. */
#define API "/api/v2"
#define TOKEN_PATH "/ws/oauth/token"
#define DEFAULT_SCOPE "monitoring management"
#define REFRESH_MARGIN 60 /* seconds before expiry */
#define SUBJECT_MAX 200
#define LOOKUP_PAGE 50
#define FILE_LIMIT (10 * 1024 * 1024)                   /* one attachment; none documented [INF] */
#define FIRST_FILES "The attachments of the first mail" /* docket's own comment */
#define LOOKUP_PAGES 20 /* newest tickets read after a lost create: 1,000 */
#define CLOCK_SLACK 900 /* seconds NinjaOne's clock may lag docket's */
static const char *const default_statuses[][2] = {
    {"new", "NEW"},         {"open", "OPEN"},      {"in_progress", "OPEN"},
    {"waiting", "WAITING"}, {"on_hold", "PAUSED"}, {"resolved", "RESOLVED"},
    {"closed", "RESOLVED"},
};
/* PRIORITY or PRIORITY+SEVERITY. */
static const char *const default_priorities[][2] = {
    {"critical", "HIGH+CRITICAL"},
    {"high", "HIGH"},
    {"medium", "MEDIUM"},
    {"low", "LOW"},
    {"none", "NONE"},
};

typedef struct {
	gint64 form;               /* ticketFormId */
	GHashTable *organisations; /* domain or docket organisation -> clientId; "*" */
	char *token;               /* or NULL */
	gint64 expires_at;         /* real time, seconds */
	gboolean fetching;         /* the token request carries no Bearer */
	gboolean token_failed;     /* the last request failed getting a token */
	json_t *statuses;          /* the tenant's, read once */
} Ninja;

static void ninja_free(gpointer p)
{
	Ninja *n = p;
	g_hash_table_unref(n->organisations);
	g_free(n->token);
	json_decref(n->statuses);
	g_free(n);
}

static gboolean parse_id(const char *s, gint64 *out)
{
	char *end = NULL;
	gint64 v = s ? g_ascii_strtoll(s, &end, 10) : 0;
	if (s == NULL || *s == '\0' || *end != '\0' || v <= 0 || v > G_MAXINT32)
		return FALSE;
	*out = v;
	return TRUE;
}

static gboolean init(DkConnector *c, const DkConfig *config, const char *section, GError **error)
{
	Ninja *n = g_new0(Ninja, 1);
	n->organisations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	c->state = n;
	c->state_free = ninja_free;
	const char *form = dk_config_get_string(config, section, "ticket_form");
	if (!parse_id(form, &n->form)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "[%s] ticket_form must be a NinjaOne ticket form id, not “%s”", section,
		            form);
		return FALSE;
	}
	g_auto(GStrv) items = dk_config_get_list(config, section, "organisation_map");
	for (guint i = 0; items[i] != NULL; i++) {
		char *eq = strchr(items[i], '=');
		gint64 id = 0;
		if (eq == NULL || !parse_id(g_strstrip(eq + 1), &id)) {
			g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
			            "[%s] organisation_map: “%s” is not domain=organisation id",
			            section, items[i]);
			return FALSE;
		}
		*eq = '\0';
		g_hash_table_replace(n->organisations, g_ascii_strdown(g_strstrip(items[i]), -1),
		                     GINT_TO_POINTER((gint)id));
	}
	return TRUE;
}

static gboolean is_status(const GError *e, long status)
{
	g_autofree char *needle = g_strdup_printf(": HTTP %ld: ", status);
	return e != NULL && strstr(e->message, needle) != NULL;
}

/* POST token_url with the client-credentials grant (RFC 6749 section 4.4). */
static gboolean fetch_token(DkConnector *c, GError **error)
{
	Ninja *n = c->state;
	const char *id = dk_connector_credential(c, "client_id");
	const char *secret = dk_connector_credential(c, "client_secret");
	const char *url = dk_connector_credential(c, "token_url");
	const char *scope = dk_connector_credential(c, "scope");
	if (id == NULL || secret == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: the credentials file needs client_id and client_secret", c->name);
		return FALSE;
	}
	g_autofree char *fallback = g_strconcat(c->base_url, TOKEN_PATH, NULL);
	g_autofree char *eid = g_uri_escape_string(id, NULL, FALSE);
	g_autofree char *esecret = g_uri_escape_string(secret, NULL, FALSE);
	g_autofree char *escope = g_uri_escape_string(scope ? scope : DEFAULT_SCOPE, NULL, FALSE);
	g_autofree char *body =
	    g_strdup_printf("grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s",
	                    eid, esecret, escope);
	const char *extra[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	g_autoptr(json_t) reply = NULL;
	n->fetching = TRUE;
	gboolean ok =
	    dk_connector_http(c, "POST", url && *url ? url : fallback, body, extra, &reply, error);
	n->fetching = FALSE;
	if (!ok)
		return FALSE;
	const char *token = json_string_value(json_object_get(reply, "access_token"));
	if (token == NULL || *token == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
		            "%s: the token endpoint answered without access_token", c->name);
		return FALSE;
	}
	json_t *expires = json_object_get(reply, "expires_in");
	gint64 lifetime = json_is_integer(expires) ? json_integer_value(expires) : 3600;
	g_free(n->token);
	n->token = g_strdup(token);
	n->expires_at = g_get_real_time() / G_USEC_PER_SEC + lifetime;
	return TRUE;
}

/* The cached token, fetched again when it is about to expire. */
static gboolean ensure_token(DkConnector *c, GError **error)
{
	Ninja *n = c->state;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	return (n->token != NULL && now < n->expires_at - REFRESH_MARGIN) || fetch_token(c, error);
}

static gboolean auth(DkConnector *c, struct curl_slist **headers, GError **error)
{
	Ninja *n = c->state;
	if (n->fetching)
		return TRUE;
	if (!ensure_token(c, error)) {
		n->token_failed = TRUE;
		return FALSE;
	}
	g_autofree char *bearer = g_strconcat("Authorization: Bearer ", n->token, NULL);
	*headers = curl_slist_append(*headers, bearer);
	return TRUE;
}

/* A request to the API (body NULL: none); a 401 (the token revoked or
 * expired early) gets a new token and the request once more. A failure of
 * the token request itself is not retried here. */
static gboolean call_bytes(DkConnector *c, const char *method, const char *path, GBytes *body,
                           const char *const *extra, json_t **reply_out, GError **error)
{
	Ninja *n = c->state;
	g_autoptr(GError) first = NULL;
	g_autofree char *full = g_strconcat(API, path, NULL);
	n->token_failed = FALSE;
	if (body ? dk_connector_http_bytes(c, method, full, body, extra, reply_out, &first)
	         : dk_connector_http(c, method, full, NULL, extra, reply_out, &first))
		return TRUE;
	if (n->token_failed || !is_status(first, 401)) {
		g_propagate_error(error, g_steal_pointer(&first));
		return FALSE;
	}
	g_clear_pointer(&n->token, g_free);
	return body ? dk_connector_http_bytes(c, method, full, body, extra, reply_out, error)
	            : dk_connector_http(c, method, full, NULL, extra, reply_out, error);
}

static gboolean call(DkConnector *c, const char *method, const char *path, const char *body,
                     const char *const *extra, json_t **reply_out, GError **error)
{
	g_autoptr(GBytes) bytes = body ? g_bytes_new_static(body, strlen(body)) : NULL;
	return call_bytes(c, method, path, bytes, extra, reply_out, error);
}

static gboolean load_statuses(DkConnector *c, GError **error)
{
	Ninja *n = c->state;
	if (n->statuses != NULL)
		return TRUE;
	json_t *list = NULL;
	if (!call(c, "GET", "/ticketing/statuses", NULL, NULL, &list, error))
		return FALSE;
	if (!json_is_array(list)) {
		json_decref(list);
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "%s: GET statuses: not a list",
		            c->name);
		return FALSE;
	}
	n->statuses = list;
	return TRUE;
}

static const char *map_or_default(GHashTable *map, const char *const (*pairs)[2], gsize n,
                                  const char *ours)
{
	const char *mapped = ours ? g_hash_table_lookup(map, ours) : NULL;
	for (gsize i = 0; mapped == NULL && i < n; i++)
		if (g_strcmp0(pairs[i][0], ours) == 0)
			mapped = pairs[i][1];
	return mapped;
}

/* The tenant's status id (a string) for our status: the map's name
 * (or id) looked up among the tenant's statuses by name or display name. */
static char *status_id(DkConnector *c, const char *ours, GError **error)
{
	const char *want =
	    map_or_default(c->status_map, default_statuses, G_N_ELEMENTS(default_statuses), ours);
	gint64 id = 0;
	if (want != NULL && parse_id(want, &id))
		return g_strdup(want);
	if (!load_statuses(c, error))
		return NULL;
	Ninja *n = c->state;
	size_t i;
	json_t *s;
	json_array_foreach(n->statuses, i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));
		const char *shown = json_string_value(json_object_get(s, "displayName"));
		json_t *sid = json_object_get(s, "statusId");
		if (want != NULL && json_is_integer(sid) &&
		    ((name && g_ascii_strcasecmp(name, want) == 0) ||
		     (shown && g_ascii_strcasecmp(shown, want) == 0)))
			return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(sid));
	}
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
	            "%s: status %s (for %s) is not among the tenant's statuses (status_map)",
	            c->name, want ? want : "(none)", ours ? ours : "(none)");
	return NULL;
}

/* Our priority as NinjaOne's priority and severity (NULL: leave it). */
static void priority_of(const DkConnector *c, const char *ours, char **priority_out,
                        char **severity_out)
{
	const char *v = map_or_default(c->priority_map, default_priorities,
	                               G_N_ELEMENTS(default_priorities), ours);
	const char *plus = v ? strchr(v, '+') : NULL;
	*priority_out = v ? g_strndup(v, plus ? (gsize)(plus - v) : strlen(v)) : NULL;
	*severity_out = plus ? g_strdup(plus + 1) : NULL;
}

/* The organisation (clientId) for the ticket: its docket organisation,
 * the requester's domain or a parent of it, else "*". */
static gint64 organisation_of(const DkConnector *c, const DkTicket *t)
{
	Ninja *n = c->state;
	gpointer v = NULL;
	if (t->organisation != NULL) {
		g_autofree char *org = g_ascii_strdown(t->organisation, -1);
		v = g_hash_table_lookup(n->organisations, org);
	}
	const char *at = t->requester ? strrchr(t->requester, '@') : NULL;
	g_autofree char *domain = at ? g_ascii_strdown(at + 1, -1) : NULL;
	for (const char *d = domain; v == NULL && d != NULL; d = strchr(d + 1, '.'))
		v = g_hash_table_lookup(n->organisations, *d == '.' ? d + 1 : d);
	if (v == NULL)
		v = g_hash_table_lookup(n->organisations, "*");
	return GPOINTER_TO_INT(v);
}

/* The user or contact with this e-mail address (userType NULL: any). */
static gboolean find_person(DkConnector *c, const char *email, const char *type, json_t **found_out,
                            GError **error)
{
	*found_out = NULL;
	g_autofree char *q = g_uri_escape_string(email, NULL, FALSE);
	g_autofree char *path = g_strdup_printf("/ticketing/app-user-contact?pageSize=50&"
	                                        "searchCriteria=%s%s%s",
	                                        q, type ? "&userType=" : "", type ? type : "");
	g_autoptr(json_t) list = NULL;
	if (!call(c, "GET", path, NULL, NULL, &list, error))
		return FALSE;
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
	{
		const char *e = json_string_value(json_object_get(p, "email"));
		if (e != NULL && g_ascii_strcasecmp(e, email) == 0) {
			*found_out = json_incref(p);
			return TRUE;
		}
	}
	return TRUE;
}

static json_t *log_entry_json(const DkArticle *a)
{
	return json_pack("{sb ss}", "public", a == NULL || a->visibility != DK_INTERNAL, "body",
	                 dk_connector_text(a));
}

/* A comment's entry: the article's text, with a line for each attachment
 * left out (over the limit). */
static json_t *comment_entry(const DkConnector *c, const DkConnectorEvent *e, const char *text)
{
	json_t *entry = log_entry_json(e->article);
	g_autofree char *left =
	    dk_connector_files_left_out(e->files, dk_connector_file_limit(c, FILE_LIMIT));
	if (*left != '\0' || text != NULL) {
		g_autofree char *body =
		    g_strconcat(text ? text : dk_connector_text(e->article), left, NULL);
		json_object_set_new(entry, "body", json_string(body));
	}
	return entry;
}

/* The requester: a known user or contact by uid, else a copy by e-mail. */
static gboolean add_requester(DkConnector *c, const DkTicket *t, json_t *o, GError **error)
{
	if (t->requester == NULL)
		return TRUE;
	g_autoptr(json_t) person = NULL;
	if (!find_person(c, t->requester, NULL, &person, error))
		return FALSE;
	const char *uid = json_string_value(json_object_get(person, "uid"));
	if (uid != NULL)
		json_object_set_new(o, "requesterUid", json_string(uid));
	else
		json_object_set_new(o, "cc",
		                    json_pack("{s[] s[s]}", "uids", "emails", t->requester));
	return TRUE;
}

static gboolean create_ticket(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                              GError **error)
{
	Ninja *n = c->state;
	*remote_out = NULL;
	gint64 client = organisation_of(c, e->ticket);
	if (client == 0) {
		g_set_error(
		    error, DK_ERROR, DK_ERROR_PERMANENT,
		    "%s: no organisation for %s (organisation_map, * for a default)", c->name,
		    e->ticket->requester ? e->ticket->requester : "a ticket without requester");
		return FALSE;
	}
	/* born new: later status events replay in order, and comments do not
	 * land on a ticket that is already resolved */
	g_autofree char *status = status_id(c, "new", error);
	if (status == NULL)
		return FALSE;
	const char *s =
	    e->ticket->subject && *e->ticket->subject ? e->ticket->subject : "(no subject)";
	g_autofree char *subject = g_utf8_substring(s, 0, MIN(g_utf8_strlen(s, -1), SUBJECT_MAX));
	g_autofree char *priority = NULL, *severity = NULL;
	priority_of(c, e->ticket->priority, &priority, &severity);
	g_autoptr(json_t) o =
	    json_pack("{sI sI ss ss so s[s]}", "clientId", (json_int_t)client, "ticketFormId",
	              (json_int_t)n->form, "subject", subject, "status", status, "description",
	              log_entry_json(e->article), "tags", e->reference);
	if (priority != NULL)
		json_object_set_new(o, "priority", json_string(priority));
	if (severity != NULL)
		json_object_set_new(o, "severity", json_string(severity));
	if (!add_requester(c, e->ticket, o, error))
		return FALSE;
	g_autofree char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	g_autoptr(json_t) reply = NULL;
	return call(c, "POST", "/ticketing/ticket", body, NULL, &reply, error) &&
	       dk_connector_take_id(c, reply, remote_out, error);
}

/* The comments on the ticket with this entry's body and public flag, as
 * ids (char*) oldest first. */
static gboolean matching_comments(DkConnector *c, const char *ticket, const json_t *want,
                                  GPtrArray *ids_out, GError **error)
{
	g_autofree char *path =
	    g_strdup_printf("/ticketing/ticket/%s/log-entry?type=COMMENT&pageSize=500", ticket);
	g_autoptr(json_t) entries = NULL;
	if (!call(c, "GET", path, NULL, NULL, &entries, error))
		return FALSE;
	g_autofree char *body =
	    g_strstrip(g_strdup(json_string_value(json_object_get(want, "body"))));
	size_t i;
	json_t *entry;
	json_array_foreach(entries, i, entry)
	{
		const char *got = json_string_value(json_object_get(entry, "body"));
		g_autofree char *stripped = g_strstrip(g_strdup(got ? got : ""));
		char *id = dk_connector_id(entry);
		if (id != NULL && g_strcmp0(stripped, body) == 0 &&
		    json_equal(json_object_get(entry, "publicEntry"),
		               json_object_get(want, "public")))
			g_ptr_array_add(ids_out, id);
		else
			g_free(id);
	}
	return TRUE;
}

/* multipart/form-data (RFC 7578): the "comment" part, then a "files" part
 * for each attachment within the limit. */
static GBytes *multipart(const char *boundary, const json_t *entry, const GPtrArray *files)
{
	g_autofree char *json = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
	GByteArray *out = g_byte_array_new();
	dk_connector_form_field(out, boundary, "comment", "application/json", json);
	for (guint i = 0; files != NULL && i < files->len; i++) {
		const DkConnectorFile *f = g_ptr_array_index(files, i);
		if (f->data != NULL)
			dk_connector_form_file(out, boundary, "files", f);
	}
	return dk_connector_form_end(out, boundary);
}

/* POSTs a comment with the files within the limit. */
static gboolean post_comment(DkConnector *c, const char *ticket, const json_t *entry,
                             const GPtrArray *files, json_t **reply_out, GError **error)
{
	g_autofree char *uuid = dk_ids_uuid();
	g_autofree char *boundary = g_strconcat("docket-", uuid, NULL);
	g_autoptr(GBytes) body = multipart(boundary, entry, files);
	g_autofree char *type =
	    g_strconcat("Content-Type: multipart/form-data; boundary=", boundary, NULL);
	const char *extra[] = {type, NULL};
	g_autofree char *path = g_strdup_printf("/ticketing/ticket/%s/comment", ticket);
	return call_bytes(c, "POST", path, body, extra, reply_out, error);
}

/* The spec gives the comment's answer no shape: its id when it has one,
 * else the newest comment like it. */
static gboolean add_comment(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                            GError **error)
{
	*remote_out = NULL;
	g_autoptr(json_t) entry = comment_entry(c, e, NULL);
	g_autoptr(json_t) reply = NULL;
	if (!post_comment(c, e->remote_ticket, entry, e->files, &reply, error))
		return FALSE;
	if ((*remote_out = dk_connector_id(reply)) != NULL)
		return TRUE;
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	if (!matching_comments(c, e->remote_ticket, entry, ids, error))
		return FALSE;
	if (ids->len > 0)
		*remote_out = g_strdup(g_ptr_array_index(ids, ids->len - 1));
	return TRUE;
}

static gboolean find_comment(DkConnector *c, const DkConnectorEvent *e, GPtrArray *ids_out,
                             GError **error)
{
	g_autoptr(json_t) entry = comment_entry(c, e, NULL);
	return matching_comments(c, e->remote_ticket, entry, ids_out, error);
}

/* NewTicket takes no files: the first mail's attachments follow as a
 * comment of their own, with the description's visibility, made once (a
 * comment with its text found in the log entries is the one an earlier
 * attempt made). A later article's files ride on its comment. */
static gboolean attach(DkConnector *c, const DkConnectorEvent *e, const char *remote,
                       GError **error)
{
	if (g_strcmp0(e->event, "ticket.created") != 0 || e->files == NULL || e->files->len == 0)
		return TRUE;
	g_autofree char *text = g_strdup_printf(FIRST_FILES " [%s]:", e->reference);
	g_autoptr(GString) names = g_string_new(text);
	for (guint i = 0; i < e->files->len; i++)
		g_string_append_printf(
		    names, " %s",
		    ((const DkConnectorFile *)g_ptr_array_index(e->files, i))->filename);
	g_autoptr(json_t) entry = comment_entry(c, e, names->str);
	g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func(g_free);
	if (!matching_comments(c, remote, entry, made, error))
		return FALSE;
	return made->len > 0 || post_comment(c, remote, entry, e->files, NULL, error);
}

/* UpdateTicket from the current TicketDTO: the writable fields, the
 * status object as its id, ccList as cc, attribute values as strings. */
static json_t *update_from(const json_t *t)
{
	static const char *const copied[] = {
	    "version",      "clientId",
	    "ticketFormId", "locationId",
	    "nodeId",       "subject",
	    "type",         "assignedAppUserId",
	    "requesterUid", "severity",
	    "priority",     "parentTicketId",
	    "tags",         "additionalAssignedTechnicianIds",
	    "followupTime",
	};
	json_t *o = json_object();
	for (gsize i = 0; i < G_N_ELEMENTS(copied); i++) {
		json_t *v = json_object_get(t, copied[i]);
		if (v != NULL && !json_is_null(v))
			json_object_set(o, copied[i], v);
	}
	json_t *sid = json_object_get(json_object_get(t, "status"), "statusId");
	if (json_is_integer(sid))
		json_object_set_new(o, "status",
		                    json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(sid)));
	json_t *cc = json_object_get(t, "ccList");
	if (json_is_object(cc))
		json_object_set(o, "cc", cc);
	json_t *attrs = json_array(), *a;
	size_t i;
	json_array_foreach(json_object_get(t, "attributeValues"), i, a)
	{
		json_t *v = json_object_get(a, "value");
		g_autofree char *text = json_is_string(v)
		                            ? g_strdup(json_string_value(v))
		                            : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		json_array_append_new(
		    attrs, json_pack("{sO? sO? ss}", "id", json_object_get(a, "id"), "attributeId",
		                     json_object_get(a, "attributeId"), "value", text ? text : ""));
	}
	json_object_set_new(o, "attributes", attrs);
	return o;
}

/* The change on an UpdateTicket; FALSE with an error when it cannot be
 * expressed. */
static gboolean apply_change(DkConnector *c, const DkConnectorEvent *e, json_t *o, GError **error)
{
	const char *v = e->new_value;
	if (g_strcmp0(e->field, "status") == 0) {
		g_autofree char *id = status_id(c, v, error);
		if (id != NULL)
			json_object_set_new(o, "status", json_string(id));
		return id != NULL;
	}
	if (g_strcmp0(e->field, "priority") == 0) {
		g_autofree char *priority = NULL, *severity = NULL, *old_p = NULL, *old_s = NULL;
		priority_of(c, v, &priority, &severity);
		priority_of(c, e->old_value, &old_p, &old_s);
		if (priority != NULL)
			json_object_set_new(o, "priority", json_string(priority));
		/* leaving critical takes its severity away; others keep theirs */
		if (severity != NULL || old_s != NULL)
			json_object_set_new(o, "severity",
			                    json_string(severity ? severity : "NONE"));
		return TRUE;
	}
	if (v == NULL || *v == '\0') {
		json_object_set_new(o, "assignedAppUserId", json_null());
		return TRUE;
	}
	g_autoptr(json_t) tech = NULL;
	if (!find_person(c, v, "TECHNICIAN", &tech, error))
		return FALSE;
	json_t *id = json_object_get(tech, "id");
	if (!json_is_integer(id)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: no technician with address %s", c->name, v);
		return FALSE;
	}
	json_object_set(o, "assignedAppUserId", id);
	return TRUE;
}

/* GET the ticket, change the field, PUT it back with its version; once
 * more when that version went stale meanwhile (409). */
static gboolean update(DkConnector *c, const DkConnectorEvent *e, GError **error)
{
	if (g_strcmp0(e->field, "status") != 0 && g_strcmp0(e->field, "priority") != 0 &&
	    g_strcmp0(e->field, "assignee") != 0)
		return TRUE;
	g_autofree char *path = g_strdup_printf("/ticketing/ticket/%s", e->remote_ticket);
	for (int attempt = 0;; attempt++) {
		g_autoptr(json_t) current = NULL;
		if (!call(c, "GET", path, NULL, NULL, &current, error))
			return FALSE;
		g_autoptr(json_t) o = update_from(current);
		if (!json_is_string(json_object_get(o, "requesterUid"))) {
			g_set_error(
			    error, DK_ERROR, DK_ERROR_PERMANENT,
			    "%s: ticket %s has no requesterUid, which UpdateTicket requires: "
			    "the change cannot be sent",
			    c->name, e->remote_ticket);
			return FALSE;
		}
		if (!apply_change(c, e, o, error))
			return FALSE;
		g_autofree char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		g_autoptr(GError) local = NULL;
		if (call(c, "PUT", path, body, NULL, NULL, &local))
			return TRUE;
		if (attempt > 0 || !is_status(local, 409)) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
	}
}

/* The board searched for lost creates: board, else the first system one. */
static gboolean lookup_board(DkConnector *c, gint64 *board_out, GError **error)
{
	if (parse_id(c->board, board_out))
		return TRUE;
	g_autoptr(json_t) boards = NULL;
	if (!call(c, "GET", "/ticketing/trigger/boards", NULL, NULL, &boards, error))
		return FALSE;
	size_t i;
	json_t *b;
	json_array_foreach(boards, i, b)
	{
		json_t *id = json_object_get(b, "id");
		if (json_is_true(json_object_get(b, "system")) && json_is_integer(id)) {
			*board_out = json_integer_value(id);
			return TRUE;
		}
	}
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
	            "%s: no board to search (set board to a board id)", c->name);
	return FALSE;
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

/* One page of the board, newest ticket first (after cursor, 0: from the
 * newest): its rows' ids into ids_out, *cursor_out the page's
 * lastCursorId (0 when the answer has none). */
static gboolean board_page(DkConnector *c, gint64 board, gint64 cursor, GArray *ids_out,
                           gint64 *cursor_out, GError **error)
{
	g_autoptr(json_t) req = json_pack("{si s[{ss ss}]}", "pageSize", LOOKUP_PAGE, "sortBy",
	                                  "field", "id", "direction", "DESC");
	if (cursor > 0)
		json_object_set_new(req, "lastCursorId", json_integer(cursor));
	g_autofree char *body = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	g_autofree char *path =
	    g_strdup_printf("/ticketing/trigger/board/%" G_GINT64_FORMAT "/run", board);
	g_autoptr(json_t) page = NULL;
	if (!call(c, "POST", path, body, NULL, &page, error))
		return FALSE;
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(page, "data"), i, row)
	{
		json_t *id = json_object_get(row, "id");
		if (json_is_integer(id)) {
			gint64 v = json_integer_value(id);
			g_array_append_val(ids_out, v);
		}
	}
	json_t *next = json_object_get(json_object_get(page, "metadata"), "lastCursorId");
	*cursor_out = json_is_integer(next) ? json_integer_value(next) : 0;
	return TRUE;
}

/* Reads ticket id back: *found_out when it carries the reference tag,
 * *older_out when it was made before since (less the clock slack). */
static gboolean examine(DkConnector *c, gint64 id, const DkConnectorEvent *e, gboolean *found_out,
                        gboolean *older_out, GError **error)
{
	g_autofree char *path = g_strdup_printf("/ticketing/ticket/%" G_GINT64_FORMAT, id);
	g_autoptr(json_t) ticket = NULL;
	if (!call(c, "GET", path, NULL, NULL, &ticket, error))
		return FALSE;
	json_t *made = json_object_get(ticket, "createTime");
	*found_out = has_tag(ticket, e->reference);
	*older_out = json_is_number(made) && json_number_value(made) < e->since - CLOCK_SLACK;
	return TRUE;
}

/* NinjaOne takes no idempotency key and documents no search by tag or
 * description, so the ticket a lost create made is looked for among the
 * board's newest tickets (sortBy id, descending), each read back and
 * compared on the tag docket gave it, until a ticket older than the event
 * shows that the create never arrived. When the board's pages run out
 * before that answer, it fails for good rather than risk a second ticket. */
static gboolean lookup(DkConnector *c, const DkConnectorEvent *e, char **remote_out, GError **error)
{
	*remote_out = NULL;
	gint64 board = 0, cursor = 0;
	if (!lookup_board(c, &board, error))
		return FALSE;
	for (guint n = 0; n < LOOKUP_PAGES; n++) {
		g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
		if (!board_page(c, board, cursor, ids, &cursor, error))
			return FALSE;
		for (guint i = 0; i < ids->len; i++) {
			gboolean found = FALSE, older = FALSE;
			gint64 id = g_array_index(ids, gint64, i);
			if (!examine(c, id, e, &found, &older, error))
				return FALSE;
			if (found)
				*remote_out = g_strdup_printf("%" G_GINT64_FORMAT, id);
			if (found || older)
				return TRUE;
		}
		if (ids->len < LOOKUP_PAGE)
			return TRUE; /* the whole board read: it was never made */
		if (cursor == 0)
			break;
	}
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
	            "%s: cannot tell whether the lost create of %s made a ticket: board "
	            "%" G_GINT64_FORMAT " holds more than %d newer tickets; look for the tag %s",
	            c->name, e->reference, board, LOOKUP_PAGE * LOOKUP_PAGES, e->reference);
	return FALSE;
}

/* Our statuses that send the tenant's status sid, comma-joined in the
 * order of the defaults (the first is taken when docket's is not among
 * them); NULL when none does. */
static char *ours_for(DkConnector *c, gint64 sid, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(default_statuses); i++) {
		g_autofree char *id = status_id(c, default_statuses[i][0], error);
		if (id == NULL)
			return NULL;
		if (g_ascii_strtoll(id, NULL, 10) == sid)
			g_string_append_printf(out, "%s%s", out->len ? "," : "",
			                       default_statuses[i][0]);
	}
	return out->len ? g_strdup(out->str) : NULL;
}

/* Whether a log entry is an agent's public comment (not the comment
 * docket makes for the first mail's files, whose id it cannot record). */
static gboolean agent_comment(const DkConnector *c, const json_t *entry)
{
	const char *body = json_string_value(json_object_get(entry, "body"));
	g_autofree char *own = g_strdup_printf(FIRST_FILES " [%s-", c->reference_prefix);
	return g_strcmp0(json_string_value(json_object_get(entry, "type")), "COMMENT") == 0 &&
	       !(body != NULL && g_str_has_prefix(body, own)) &&
	       json_is_true(json_object_get(entry, "publicEntry")) &&
	       !json_is_true(json_object_get(entry, "system")) &&
	       g_strcmp0(json_string_value(json_object_get(entry, "appUserContactType")),
	                 "TECHNICIAN") == 0;
}

static gint by_entry_id(gconstpointer a, gconstpointer b)
{
	gint64 x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	gint64 y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
	return x < y ? -1 : x > y;
}

/* The agents' public comments after entry id after, oldest first. */
static gboolean comments_after(DkConnector *c, const char *ticket, gint64 after,
                               GPtrArray *changes_out, gint64 *last_out, GError **error)
{
	g_autofree char *path =
	    g_strdup_printf("/ticketing/ticket/%s/log-entry?type=COMMENT&pageSize=500", ticket);
	g_autoptr(json_t) entries = NULL;
	if (!call(c, "GET", path, NULL, NULL, &entries, error))
		return FALSE;
	g_autoptr(GPtrArray) found = g_ptr_array_new();
	size_t i;
	json_t *entry;
	*last_out = after;
	json_array_foreach(entries, i, entry)
	{
		gint64 id = json_integer_value(json_object_get(entry, "id"));
		if (id > after && agent_comment(c, entry))
			g_ptr_array_add(found, entry);
		*last_out = MAX(*last_out, id);
	}
	g_ptr_array_sort(found, by_entry_id);
	for (guint k = 0; k < found->len; k++) {
		json_t *e = g_ptr_array_index(found, k);
		g_autofree char *id = dk_connector_id(e);
		const char *body = json_string_value(json_object_get(e, "body"));
		g_ptr_array_add(changes_out,
		                dk_connector_change_new(id, body ? body : "", NULL, NULL));
	}
	return TRUE;
}

/* The way back: the agents' public comments in the log entries after the
 * cursor's entry id, and the ticket's status when it is not the one the
 * cursor saw. Cursor: "ENTRY:STATUS". NinjaOne names the author only as a
 * user uid; the reply goes without it. */
static gboolean read_back(DkConnector *c, const char *remote, const char *cursor,
                          GPtrArray *changes_out, char **cursor_out, GError **error)
{
	gint64 after = 0, seen = 0, last = 0;
	if (cursor != NULL &&
	    sscanf(cursor, "%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, &after, &seen) < 1)
		after = seen = 0;
	if (!comments_after(c, remote, after, changes_out, &last, error))
		return FALSE;
	g_autofree char *path = g_strdup_printf("/ticketing/ticket/%s", remote);
	g_autoptr(json_t) ticket = NULL;
	if (!call(c, "GET", path, NULL, NULL, &ticket, error))
		return FALSE;
	json_t *sid = json_object_get(json_object_get(ticket, "status"), "statusId");
	gint64 now = json_is_integer(sid) ? json_integer_value(sid) : 0;
	if (now != 0 && now != seen) {
		g_autofree char *ours = ours_for(c, now, error);
		if (ours == NULL && error != NULL && *error != NULL)
			return FALSE;
		if (ours != NULL)
			g_ptr_array_add(changes_out,
			                dk_connector_change_new(NULL, NULL, NULL, ours));
	}
	*cursor_out = g_strdup_printf("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, last, now);
	return TRUE;
}

/* Each mapped status name among the tenant's statuses. */
static gboolean check_statuses(DkConnector *c, GString *report)
{
	gboolean ok = TRUE;
	for (gsize i = 0; i < G_N_ELEMENTS(default_statuses); i++) {
		g_autoptr(GError) local = NULL;
		g_autofree char *id = status_id(c, default_statuses[i][0], &local);
		if (id == NULL) {
			g_string_append_printf(report, "%s\n", local->message);
			ok = FALSE;
		}
	}
	return ok;
}

/* Each mapped priority and severity among the spec's values. */
static gboolean check_priorities(DkConnector *c, GString *report)
{
	static const char *const priorities[] = {"NONE", "LOW", "MEDIUM", "HIGH", NULL};
	static const char *const severities[] = {"NONE",  "MINOR",    "MODERATE",
	                                         "MAJOR", "CRITICAL", NULL};
	gboolean ok = TRUE;
	for (gsize i = 0; i < G_N_ELEMENTS(default_priorities); i++) {
		g_autofree char *priority = NULL, *severity = NULL;
		priority_of(c, default_priorities[i][0], &priority, &severity);
		if (!g_strv_contains(priorities, priority) ||
		    (severity != NULL && !g_strv_contains(severities, severity))) {
			g_string_append_printf(
			    report,
			    "%s: priority %s%s%s (for %s) is not NONE, LOW, MEDIUM or "
			    "HIGH with a severity NONE, MINOR, MODERATE, MAJOR or "
			    "CRITICAL\n",
			    c->name, priority, severity ? "+" : "", severity ? severity : "",
			    default_priorities[i][0]);
			ok = FALSE;
		}
	}
	return ok;
}

/* Whether the list holds an object whose "id" is id. */
static gboolean listed(const json_t *list, gint64 id)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		if (json_integer_value(json_object_get(item, "id")) == id)
			return TRUE;
	}
	return FALSE;
}

static gboolean check_organisations(DkConnector *c, const json_t *orgs, GString *report)
{
	Ninja *n = c->state;
	gboolean ok = TRUE;
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, n->organisations);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		if (!listed(orgs, GPOINTER_TO_INT(value))) {
			g_string_append_printf(report,
			                       "%s: organisation %d (for %s) does not exist\n",
			                       c->name, GPOINTER_TO_INT(value), (const char *)key);
			ok = FALSE;
		}
	}
	if (g_hash_table_lookup(n->organisations, "*") == NULL)
		g_string_append_printf(report,
		                       "%s: no default organisation (organisation_map *=ID): "
		                       "unmapped domains fail\n",
		                       c->name);
	return ok;
}

/* The token, the statuses, the priorities, the ticket form, the
 * organisations and the board; reads only. */
static gboolean check(DkConnector *c, GString *report, GError **error)
{
	Ninja *n = c->state;
	if (!load_statuses(c, error))
		return FALSE;
	g_string_append_printf(report, "%s: authenticated, %zu statuses\n", c->name,
	                       json_array_size(n->statuses));
	gboolean ok = check_statuses(c, report);
	ok = check_priorities(c, report) && ok;
	g_autoptr(json_t) forms = NULL, orgs = NULL;
	gint64 board = 0;
	if (!call(c, "GET", "/ticketing/ticket-form", NULL, NULL, &forms, error) ||
	    !call(c, "GET", "/organizations", NULL, NULL, &orgs, error))
		return FALSE;
	if (!listed(forms, n->form)) {
		g_string_append_printf(report,
		                       "%s: ticket form %" G_GINT64_FORMAT " does not exist\n",
		                       c->name, n->form);
		ok = FALSE;
	}
	ok = check_organisations(c, orgs, report) && ok;
	g_autoptr(json_t) boards = NULL;
	if (!lookup_board(c, &board, error) ||
	    !call(c, "GET", "/ticketing/trigger/boards", NULL, NULL, &boards, error))
		return FALSE;
	if (!listed(boards, board)) {
		g_string_append_printf(report, "%s: board %" G_GINT64_FORMAT " does not exist\n",
		                       c->name, board);
		ok = FALSE;
	}
	if (ok)
		g_string_append_printf(report,
		                       "%s: ticket form %" G_GINT64_FORMAT
		                       ", statuses, organisations and board %" G_GINT64_FORMAT
		                       " found\n",
		                       c->name, n->form, board);
	return ok;
}

const DkConnectorOps dk_connector_ninjaone = {
    .type = "ninjaone",
    .remote_ids = TRUE,
    .auth = auth,
    .create_ticket = create_ticket,
    .add_comment = add_comment,
    .update = update,
    .lookup = lookup,
    .find_comment = find_comment,
    .check = check,
    .init = init,
    .read_back = read_back,
    .attach = attach,
    .file_limit = FILE_LIMIT,
};
