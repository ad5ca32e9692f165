/* The API's router: one handler under /api/v1 matches the method and the
 * path's segments against the route table, checks the user and the role
 * before anything else (a refused request reads and changes nothing), and
 * answers with the handler's JSON or the error's {"code", "message"}. */
#include "gateway/web/api-private.h"

#include "gateway/error.h"

#include <stdarg.h>
#include <string.h>

#define API_PREFIX "/api/v1"

typedef struct {
	const char *method;
	const char *path; /* segments after /api/v1/; "#" is a number */
	DkUserRole role;
	DkApiHandler handler;
} Route;

static const Route routes[] = {
    {"GET", "tickets", DK_USER_READ_ONLY, dk_api_tickets_list},
    {"POST", "tickets", DK_USER_AGENT, dk_api_ticket_create},
    {"GET", "tickets/#", DK_USER_READ_ONLY, dk_api_ticket_show},
    {"PATCH", "tickets/#", DK_USER_AGENT, dk_api_ticket_update},
    {"GET", "tickets/#/articles", DK_USER_READ_ONLY, dk_api_articles_list},
    {"POST", "tickets/#/replies", DK_USER_AGENT, dk_api_reply},
    {"POST", "tickets/#/notes", DK_USER_AGENT, dk_api_note},
    {"GET", "tickets/#/time", DK_USER_READ_ONLY, dk_api_time_list},
    {"POST", "tickets/#/time", DK_USER_AGENT, dk_api_time_add},
    {"POST", "tickets/#/merge", DK_USER_AGENT, dk_api_ticket_merge},
    {"GET", "attachments/#", DK_USER_READ_ONLY, dk_api_attachment_get},
    {"GET", "search", DK_USER_READ_ONLY, dk_api_search},
    {"GET", "quarantine", DK_USER_READ_ONLY, dk_api_quarantine_list},
    {"GET", "quarantine/#", DK_USER_READ_ONLY, dk_api_quarantine_show},
    {"POST", "quarantine/#/reprocess", DK_USER_ADMIN, dk_api_quarantine_reprocess},
    {"GET", "outbox", DK_USER_READ_ONLY, dk_api_outbox_list},
    {"POST", "outbox/#/retry", DK_USER_AGENT, dk_api_outbox_retry},
    {"GET", "me", DK_USER_READ_ONLY, dk_api_me},
};

gboolean dk_api_invalid(GError **error, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *message = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, DK_WEB_ERROR, DK_WEB_ERROR_INVALID, message);
	return FALSE;
}

/* Whether path (after the prefix) has the segments of pattern; the number
 * of a "#" segment into id_out. */
static gboolean path_matches(const char *pattern, char **segments, gint64 *id_out)
{
	g_auto(GStrv) want = g_strsplit(pattern, "/", -1);
	if (g_strv_length(want) != g_strv_length(segments))
		return FALSE;
	for (guint i = 0; want[i] != NULL; i++) {
		guint64 n = 0;
		if (strcmp(want[i], "#") == 0) {
			if (!g_ascii_string_to_unsigned(segments[i], 10, 1, G_MAXINT64, &n, NULL))
				return FALSE;
			*id_out = (gint64)n;
		} else if (strcmp(want[i], segments[i]) != 0) {
			return FALSE;
		}
	}
	return TRUE;
}

static void respond_json(SoupServerMessage *msg, guint status, json_t *doc)
{
	g_autofree char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	dk_web_respond(msg, status, "application/json", text, strlen(text));
}

static void respond_error(SoupServerMessage *msg, guint status, const char *code,
                          const char *message)
{
	g_autoptr(json_t) doc = json_pack("{ss ss}", "code", code, "message", message);
	respond_json(msg, status, doc);
}

static void respond_gerror(SoupServerMessage *msg, const GError *error)
{
	guint status = dk_web_error_status(error);
	if (status >= 500)
		g_warning("api event=error status=%u error=\"%s\"", status, error->message);
	if (status == 401)
		soup_message_headers_replace(soup_server_message_get_response_headers(msg),
		                             "WWW-Authenticate", "Bearer realm=\"docket\"");
	respond_error(msg, status, dk_web_error_code(error), error->message);
}

/* The route for msg's method and segments; NULL with *path_known TRUE
 * when the path exists under another method. */
static const Route *route_find(const char *method, char **segments, gint64 *id_out, GString *allow)
{
	const Route *found = NULL;
	for (guint i = 0; i < G_N_ELEMENTS(routes); i++) {
		if (!path_matches(routes[i].path, segments, id_out))
			continue;
		g_string_append_printf(allow, "%s%s", allow->len ? ", " : "", routes[i].method);
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
			found = &routes[i];
	}
	return found;
}

static void run_route(DkWeb *web, SoupServerMessage *msg, GHashTable *query, const Route *route,
                      gint64 id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkUser) user = dk_auth_request_user(web, msg, &error);
	if (user == NULL || !dk_user_require(user, route->role, &error)) {
		respond_gerror(msg, error);
		return;
	}
	DkApiRequest r = {
	    .web = web, .msg = msg, .query = query, .user = user, .id = id, .status = 200};
	g_autoptr(json_t) doc = route->handler(&r, &error);
	if (doc != NULL)
		respond_json(msg, r.status, doc);
	else if (error != NULL)
		respond_gerror(msg, error);
}

static void on_api(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                   gpointer data)
{
	const char *rest = path + strlen(API_PREFIX);
	while (*rest == '/')
		rest++;
	g_auto(GStrv) segments = g_strsplit(rest, "/", -1);
	g_autoptr(GString) allow = g_string_new(NULL);
	gint64 id = 0;
	const Route *route = route_find(soup_server_message_get_method(msg), segments, &id, allow);
	if (route != NULL) {
		run_route(data, msg, query, route, id);
	} else if (allow->len > 0) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
		                             allow->str);
		respond_error(msg, 405, "method_not_allowed", "this path takes another method");
	} else {
		respond_error(msg, 404, "not_found", "no such path in the API");
	}
	g_debug("api event=request method=%s path=%s status=%u",
	        soup_server_message_get_method(msg), path, soup_server_message_get_status(msg));
}

gboolean dk_api_register(DkWeb *web, SoupServer *server, GError **error)
{
	soup_server_add_handler(server, API_PREFIX, on_api, web, NULL);
	return TRUE;
}

json_t *dk_api_body(DkApiRequest *r, GError **error)
{
	const char *type = soup_message_headers_get_content_type(
	    soup_server_message_get_request_headers(r->msg), NULL);
	if (type == NULL || g_ascii_strcasecmp(type, "application/json") != 0) {
		dk_api_invalid(error, "the body must be application/json");
		return NULL;
	}
	SoupMessageBody *body = soup_server_message_get_request_body(r->msg);
	g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
	json_error_t jerr;
	gsize len = 0;
	const char *data = g_bytes_get_data(bytes, &len);
	json_t *doc = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		dk_api_invalid(error, "the body is not a JSON object%s%s", doc ? "" : ": ",
		               doc ? "" : jerr.text);
		return NULL;
	}
	return doc;
}

gboolean dk_api_string(json_t *body, const char *key, const char **value_out, GError **error)
{
	json_t *v = json_object_get(body, key);
	*value_out = NULL;
	if (v == NULL || json_is_null(v))
		return TRUE;
	if (!json_is_string(v))
		return dk_api_invalid(error, "%s: a string", key);
	*value_out = json_string_value(v);
	return TRUE;
}

const char *dk_api_param(DkApiRequest *r, const char *key)
{
	return r->query ? g_hash_table_lookup(r->query, key) : NULL;
}

gboolean dk_api_param_int(DkApiRequest *r, const char *key, gint64 min, gint64 max, gint64 fallback,
                          gint64 *value_out, GError **error)
{
	const char *text = dk_api_param(r, key);
	*value_out = fallback;
	if (text == NULL)
		return TRUE;
	if (!g_ascii_string_to_signed(text, 10, min, max, value_out, NULL))
		return dk_api_invalid(
		    error, "%s: a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, key,
		    min, max);
	return TRUE;
}

json_t *dk_api_ticket_doc(DkWeb *web, gint64 number, GError **error)
{
	DkTicketView v = {.now = g_get_real_time() / G_USEC_PER_SEC};
	json_t *doc = NULL;
	if (dk_ticket_view_load(dk_web_store(web), number, &v, error))
		doc = dk_ticket_view_json(
		    &v, dk_config_get_string(dk_web_config(web), "threading", "token_prefix"));
	dk_ticket_view_clear(&v);
	return doc;
}

json_t *dk_api_me(DkApiRequest *r, GError **error)
{
	const DkUser *u = r->user;
	return json_pack("{ss ss so so}", "name", u->name, "role", dk_user_role_name(u->role),
	                 "email", dk_json_string_or_null(u->email), "display_name",
	                 dk_json_string_or_null(u->display_name));
}
