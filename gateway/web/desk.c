/* The web desk's handlers (desk.h): routing, log-in and log-out, the
 * pages that read, the attachments and the static files. The forms that
 * write are in desk-forms.c. */
#include "gateway/web/desk.h"

#include "gateway/error.h"
#include "gateway/store/store-attachments.h"
#include "gateway/web/desk-private.h"
#include "gateway/web/desk-view-private.h"
#include "gateway/web/desk-view.h"

#include <string.h>

static const char *query_get(DkDeskRequest *r, const char *key)
{
	return r->query != NULL ? g_hash_table_lookup(r->query, key) : NULL;
}

static SoupMessageHeaders *response_headers(DkDeskRequest *r)
{
	return soup_server_message_get_response_headers(r->msg);
}

gboolean dk_desk_parse_id(const char *text, gint64 *id_out)
{
	guint64 v = 0;
	if (text == NULL || *text == '\0' || strlen(text) > 15 ||
	    !g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &v, NULL))
		return FALSE;
	*id_out = (gint64)v;
	return TRUE;
}

/* The values the layout shows on every page. */
static void add_layout(DkDeskRequest *r, json_t *data)
{
	json_object_set_new(data, "base", json_string(DK_DESK_BASE));
	if (r->user != NULL) {
		const char *name = r->user->display_name ? r->user->display_name : r->user->name;
		json_object_set_new(
		    data, "user",
		    json_pack("{ss ss}", "name", name, "role", dk_user_role_name(r->user->role)));
		if (json_object_get(data, "can_write") == NULL) /* a page may ask for more */
			json_object_set_new(data, "can_write",
			                    json_boolean(dk_user_can(r->user, DK_USER_AGENT)));
	}
	if (r->session != NULL)
		json_object_set_new(data, "csrf", json_string(r->session->csrf));
	const char *q = query_get(r, "q");
	if (q != NULL && json_object_get(data, "query") == NULL)
		json_object_set_new(data, "query", json_string(q));
}

void dk_desk_page(DkDeskRequest *r, guint status, const char *page, json_t *data)
{
	g_autoptr(json_t) d = data != NULL ? data : json_object();
	add_layout(r, d);
	g_autoptr(GError) error = NULL;
	g_autofree char *html = dk_desk_pages_render(r->desk->pages, page, d, &error);
	if (html == NULL) {
		g_warning("desk event=render page=%s error=\"%s\"", page, error->message);
		const char *text = "the page could not be rendered\n";
		dk_web_respond(r->msg, 500, "text/plain; charset=utf-8", text, strlen(text));
		return;
	}
	soup_message_headers_replace(response_headers(r), "Content-Security-Policy", DK_DESK_CSP);
	dk_web_respond(r->msg, status, "text/html; charset=utf-8", html, strlen(html));
}

void dk_desk_fail(DkDeskRequest *r, const GError *error)
{
	guint status = dk_web_error_status(error);
	const char *heading = status == 404   ? "Not found"
	                      : status == 410 ? "Gone"
	                      : status == 403 ? "Not allowed"
	                      : status == 409 ? "Not possible"
	                      : status >= 500 ? "Something went wrong"
	                                      : "Not accepted";
	const char *message = status >= 500 && status != 503
	                          ? "docket could not do this: see its log."
	                          : error->message;
	if (status >= 500)
		g_warning("desk event=error path=%s error=\"%s\"", r->path, error->message);
	dk_desk_page(r, status, "error.html",
	             json_pack("{ss ss}", "heading", heading, "message", message));
}

void dk_desk_redirect(DkDeskRequest *r, const char *location)
{
	soup_message_headers_replace(response_headers(r), "Location", location);
	dk_web_respond(r->msg, 303, "text/plain; charset=utf-8", "", 0);
}

static void not_found(DkDeskRequest *r)
{
	g_autoptr(GError) error =
	    g_error_new(DK_ERROR, DK_ERROR_NOT_FOUND, "There is no page %s here.", r->path);
	dk_desk_fail(r, error);
}

/* Where a log-in may lead: a page of the desk, never another site. */
static const char *safe_next(const char *next)
{
	if (next != NULL && g_str_has_prefix(next, DK_DESK_BASE "/") && next[1] != '/' &&
	    strchr(next, '\\') == NULL && strstr(next, "//") == NULL)
		return next;
	return DK_DESK_BASE "/";
}

static void login_page(DkDeskRequest *r, guint status, const char *name, const char *flash)
{
	json_t *data = json_pack("{ss so}", "next", safe_next(query_get(r, "next")), "login_name",
	                         name ? json_string(name) : json_null());
	if (flash != NULL)
		json_object_set_new(data, "flash",
		                    json_pack("{ss ss}", "kind", "error", "text", flash));
	dk_desk_page(r, status, "login.html", data);
}

/* The fields of a form sent urlencoded (a new table, or NULL for another
 * encoding). */
static GHashTable *form_fields(SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	const char *type = soup_message_headers_get_content_type(h, NULL);
	if (type == NULL || g_ascii_strcasecmp(type, "application/x-www-form-urlencoded") != 0)
		return NULL;
	g_autoptr(GBytes) body =
	    soup_message_body_flatten(soup_server_message_get_request_body(msg));
	g_autofree char *text = g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
	return soup_form_decode(text);
}

static void login_post(DkDeskRequest *r)
{
	g_autoptr(GHashTable) form = form_fields(r->msg);
	const char *name = form ? g_hash_table_lookup(form, "name") : NULL;
	const char *password = form ? g_hash_table_lookup(form, "password") : NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(DkUser) user = NULL;
	if (name == NULL || password == NULL) {
		login_page(r, 400, name, "Give a name and a password.");
		return;
	}
	user = dk_auth_login(dk_web_store(r->desk->web), name, password, &error);
	if (user == NULL && !g_error_matches(error, DK_WEB_ERROR, DK_WEB_ERROR_UNAUTHORIZED)) {
		dk_desk_fail(r, error); /* the store, not the password */
		return;
	}
	if (user == NULL) {
		g_message("desk event=login name=%s result=refused", name);
		login_page(r, dk_web_error_status(error), name, "Wrong name or password.");
		return;
	}
	g_autoptr(DkSession) session = dk_session_start(r->desk->web, r->msg, user, &error);
	if (session == NULL) {
		dk_desk_fail(r, error);
		return;
	}
	g_message("desk event=login name=%s result=ok", name);
	dk_desk_redirect(r, safe_next(g_hash_table_lookup(form, "next")));
}

/* NULL, or nothing but white space. */
static gboolean blank(const char *text)
{
	while (text != NULL && g_ascii_isspace(*text))
		text++;
	return text == NULL || *text == '\0';
}

/* A filter that names no status or state: the request is wrong (400). */
static void fail_filter(DkDeskRequest *r, const GError *error)
{
	if (!g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT)) {
		dk_desk_fail(r, error);
		return;
	}
	g_autoptr(GError) invalid =
	    g_error_new_literal(DK_WEB_ERROR, DK_WEB_ERROR_INVALID, error->message);
	dk_desk_fail(r, invalid);
}

static gint64 now_seconds(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* What a form that succeeded says on the page it leads back to. */
static void add_flash(DkDeskRequest *r, json_t *data)
{
	static const struct {
		const char *done, *text;
	} done[] = {
	    {"new", "The ticket is open."},
	    {"reply", "The reply is in the outbox, on its way to the customer."},
	    {"note", "The note is added."},
	    {"set", "The ticket is saved."},
	    {"reprocess", "The message went through the pipeline again."},
	    {"retry", "The row is due again."},
	};
	const char *what = query_get(r, "done");
	for (guint i = 0; what != NULL && i < G_N_ELEMENTS(done); i++)
		if (strcmp(what, done[i].done) == 0)
			json_object_set_new(
			    data, "flash",
			    json_pack("{ss ss}", "kind", "ok", "text", done[i].text));
}

static void list_page(DkDeskRequest *r)
{
	DkStore *store = dk_web_store(r->desk->web);
	g_autoptr(GError) error = NULL;
	const char *q = query_get(r, "q");
	json_t *data = NULL;
	if (!blank(q)) {
		data = dk_desk_view_search(store, q, &error);
	} else {
		guint64 limit = 0;
		const char *l = query_get(r, "limit");
		if (l != NULL &&
		    !g_ascii_string_to_unsigned(l, 10, 1, DK_DESK_PAGE_MAX, &limit, NULL))
			limit = 0;
		DkDeskFilters f = {
		    .status = query_get(r, "status"),
		    .priority = query_get(r, "priority"),
		    .queue = query_get(r, "queue"),
		    .assignee = query_get(r, "assignee"),
		    .breached = g_strcmp0(query_get(r, "breached"), "1") == 0,
		    .limit = (guint)limit,
		};
		data = dk_desk_view_list(store, &f, now_seconds(), &error);
	}
	if (data == NULL) {
		fail_filter(r, error);
		return;
	}
	json_object_set_new(data, "nav", json_pack("{sb}", "tickets", TRUE));
	dk_desk_page(r, 200, "list.html", data);
}

static void ticket_page(DkDeskRequest *r, gint64 number)
{
	g_autoptr(GError) error = NULL;
	json_t *data = dk_desk_view_ticket(dk_web_store(r->desk->web), dk_web_config(r->desk->web),
	                                   r->desk->conversation, number, now_seconds(), &error);
	if (data == NULL) {
		dk_desk_fail(r, error);
		return;
	}
	add_flash(r, data);
	dk_desk_page(r, 200, "ticket.html", data);
}

/* The file name for Content-Disposition: RFC 6266's filename* in UTF-8,
 * and a plain ASCII fallback. */
static char *disposition(const char *filename)
{
	const char *name = filename != NULL && *filename != '\0' ? filename : "attachment";
	g_autofree char *ascii = g_str_to_ascii(name, "C");
	g_strcanon(ascii, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_ ",
	           '_');
	g_autofree char *escaped = g_uri_escape_string(name, NULL, FALSE);
	return g_strdup_printf("attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, escaped);
}

static void attachment_get(DkDeskRequest *r, gint64 id)
{
	DkStore *store = dk_web_store(r->desk->web);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStoredAttachment) a = dk_store_attachment_get(store, id, &error);
	g_autoptr(GInputStream) in =
	    a != NULL ? dk_store_attachment_stream(store, a, &error) : NULL;
	if (in == NULL) {
		dk_desk_fail(r, error);
		return;
	}
	g_autofree char *cd = disposition(a->filename);
	SoupMessageHeaders *h = response_headers(r);
	soup_message_headers_replace(h, "Content-Disposition", cd);
	/* Never a page of the desk's origin, whatever the file holds. */
	soup_message_headers_replace(h, "Content-Security-Policy", "default-src 'none'; sandbox");
	dk_web_respond_stream(r->msg, 200, "application/octet-stream", in, (goffset)a->size);
}

static void quarantine_page(DkDeskRequest *r)
{
	g_autoptr(GError) error = NULL;
	json_t *data = dk_desk_view_quarantine(dk_web_store(r->desk->web), &error);
	if (data == NULL) {
		dk_desk_fail(r, error);
		return;
	}
	add_flash(r, data);
	json_object_set_new(data, "nav", json_pack("{sb}", "quarantine", TRUE));
	json_object_set_new(data, "can_write", json_boolean(dk_user_can(r->user, DK_USER_ADMIN)));
	dk_desk_page(r, 200, "quarantine.html", data);
}

static void quarantined_page(DkDeskRequest *r, gint64 id)
{
	g_autoptr(GError) error = NULL;
	json_t *data = dk_desk_view_quarantined(dk_web_store(r->desk->web), id, &error);
	if (data == NULL) {
		dk_desk_fail(r, error);
		return;
	}
	json_object_set_new(data, "nav", json_pack("{sb}", "quarantine", TRUE));
	json_object_set_new(data, "can_write", json_boolean(dk_user_can(r->user, DK_USER_ADMIN)));
	dk_desk_page(r, 200, "quarantined.html", data);
}

static void new_page(DkDeskRequest *r)
{
	json_t *data = json_pack("{so s{ss}}", "priorities", dk_desk_priority_options("none"),
	                         "ticket", "queue", "default");
	dk_desk_page(r, 200, "new.html", data);
}

static void outbox_page(DkDeskRequest *r)
{
	g_autoptr(GError) error = NULL;
	json_t *data =
	    dk_desk_view_outbox(dk_web_store(r->desk->web), query_get(r, "state"), &error);
	if (data == NULL) {
		fail_filter(r, error);
		return;
	}
	add_flash(r, data);
	json_object_set_new(data, "nav", json_pack("{sb}", "outbox", TRUE));
	if (!dk_user_can(r->user, DK_USER_AGENT)) {
		json_t *rows = json_object_get(data, "rows");
		for (gsize i = 0; i < json_array_size(rows); i++)
			json_object_set_new(json_array_get(rows, i), "can_retry", json_false());
	}
	dk_desk_page(r, 200, "outbox.html", data);
}

static void static_file(DkDeskRequest *r, const char *name)
{
	const char *type = NULL;
	const char *body = dk_desk_pages_static(name, &type);
	if (body == NULL) {
		not_found(r);
		return;
	}
	soup_message_headers_replace(response_headers(r), "Cache-Control", "max-age=3600");
	dk_web_respond(r->msg, 200, type, body, strlen(body));
}

/* The pages that read, for a logged-in user. */
static void get_page(DkDeskRequest *r)
{
	g_auto(GStrv) parts = g_strsplit(r->path + 1, "/", 3);
	guint n = g_strv_length(parts);
	gint64 id = 0;
	if (strcmp(r->path, "/") == 0)
		list_page(r);
	else if (n == 2 && strcmp(parts[0], "tickets") == 0 && dk_desk_parse_id(parts[1], &id))
		ticket_page(r, id);
	else if (n == 2 && strcmp(parts[0], "attachments") == 0 && dk_desk_parse_id(parts[1], &id))
		attachment_get(r, id);
	else if (strcmp(r->path, "/quarantine") == 0)
		quarantine_page(r);
	else if (n == 2 && strcmp(parts[0], "quarantine") == 0 && dk_desk_parse_id(parts[1], &id))
		quarantined_page(r, id);
	else if (strcmp(r->path, "/outbox") == 0)
		outbox_page(r);
	else if (strcmp(r->path, "/new") == 0 && dk_user_can(r->user, DK_USER_AGENT))
		new_page(r);
	else
		not_found(r);
}

/* A form posted from another site (the browser says so): refused before
 * anything is read. SameSite=Strict keeps the session cookie away from
 * such requests already; this also covers the log-in form. Browsers send
 * Sec-Fetch-Site; under the desk's Referrer-Policy (no-referrer) their
 * Origin is "null", so Origin is compared only where it names a site. */
static gboolean cross_site(SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	const char *site = soup_message_headers_get_one(h, "Sec-Fetch-Site");
	if (site != NULL)
		return strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0;
	const char *origin = soup_message_headers_get_one(h, "Origin");
	const char *host = soup_message_headers_get_one(h, "Host");
	if (origin == NULL || strcmp(origin, "null") == 0)
		return FALSE;
	g_autoptr(GUri) uri = g_uri_parse(origin, G_URI_FLAGS_NONE, NULL);
	if (uri == NULL || host == NULL || g_uri_get_host(uri) == NULL)
		return TRUE;
	g_autofree char *theirs =
	    g_uri_get_port(uri) > 0
	        ? g_strdup_printf("%s:%d", g_uri_get_host(uri), g_uri_get_port(uri))
	        : g_strdup(g_uri_get_host(uri));
	return g_ascii_strcasecmp(theirs, host) != 0;
}

static void route(DkDeskRequest *r)
{
	const char *method = soup_server_message_get_method(r->msg);
	gboolean get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	gboolean post = strcmp(method, "POST") == 0;
	if (get && g_str_has_prefix(r->path, "/static/")) {
		static_file(r, r->path + strlen("/static/"));
		return;
	}
	if (!get && !post) {
		soup_message_headers_replace(response_headers(r), "Allow", "GET, HEAD, POST");
		dk_web_respond(r->msg, 405, "text/plain; charset=utf-8", "", 0);
		return;
	}
	if (post && cross_site(r->msg)) {
		g_autoptr(GError) refused = g_error_new(DK_WEB_ERROR, DK_WEB_ERROR_CSRF,
		                                        "This form was sent from another site.");
		dk_desk_fail(r, refused);
		return;
	}
	g_autoptr(GError) error = NULL;
	r->user = dk_session_user(r->desk->web, r->msg, &r->session, &error);
	if (r->user == NULL && !g_error_matches(error, DK_WEB_ERROR, DK_WEB_ERROR_UNAUTHORIZED)) {
		dk_desk_fail(r, error); /* the store could not say: not "logged out" */
		return;
	}
	if (strcmp(r->path, "/login") == 0) {
		if (post)
			login_post(r);
		else if (r->user != NULL)
			dk_desk_redirect(r, safe_next(query_get(r, "next")));
		else
			login_page(r, 200, NULL, NULL);
		return;
	}
	if (r->user == NULL && get) {
		g_autofree char *next = g_uri_escape_string(
		    g_uri_get_path(soup_server_message_get_uri(r->msg)), "/", FALSE);
		g_autofree char *to = g_strdup_printf("%s/login?next=%s", DK_DESK_BASE, next);
		dk_desk_redirect(r, to);
		return;
	}
	if (r->user == NULL) {
		login_page(r, 401, NULL, "Your session has ended: log in again.");
		return;
	}
	if (get)
		get_page(r);
	else if (!dk_desk_forms_post(r))
		not_found(r);
}

static void on_desk(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                    gpointer data)
{
	(void)server;
	DkDeskRequest r = {.desk = data, .msg = msg, .query = query};
	r.path = path + strlen(DK_DESK_BASE);
	if (*r.path == '\0')
		dk_desk_redirect(&r, DK_DESK_BASE "/");
	else if (*r.path != '/')
		not_found(&r);
	else
		route(&r);
	dk_user_free(r.user);
	dk_session_free(r.session);
}

/* "/": the desk, and a page of the desk for any path no one else serves. */
static void on_root(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                    gpointer data)
{
	(void)server;
	DkDeskRequest r = {.desk = data, .msg = msg, .path = path, .query = query};
	if (strcmp(path, "/") == 0) {
		dk_desk_redirect(&r, DK_DESK_BASE "/");
		return;
	}
	r.user = dk_session_user(r.desk->web, msg, &r.session, NULL);
	not_found(&r);
	dk_user_free(r.user);
	dk_session_free(r.session);
}

static void desk_free(gpointer data)
{
	DkDesk *desk = data;
	dk_desk_pages_free(desk->pages);
	dk_conversation_free(desk->conversation);
	g_free(desk);
}

gboolean dk_desk_register(DkWeb *web, SoupServer *server, GError **error)
{
	DkDeskPages *pages = dk_desk_pages_new(error);
	if (pages == NULL)
		return FALSE;
	DkDesk *desk = g_new0(DkDesk, 1);
	desk->web = web;
	desk->pages = pages;
	desk->conversation = dk_conversation_new(dk_web_config(web));
	soup_server_add_handler(server, DK_DESK_BASE, on_desk, desk, desk_free);
	soup_server_add_handler(server, "/", on_root, desk, NULL);
	return TRUE;
}
