/* Omnidesk (omnidesk.com, API v2): a ticket, then its messages through
 * /message, status and priority through setstatus/setPriority; the API
 * key as a query parameter or a header as the vendor's API
 * documentation and product notes describe them [DOC]. There is no vendor OpenAPI
 * document; what is inferred is marked below.
 *
 * Bodies are form data, as the documents show them: /message as
 * multipart/form-data, the others as application/x-www-form-urlencoded
 * (setstatus's field is written ticketIDs[], a form array). Answers are
 * JSON envelopes. */
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/json.h"
#include "parsers/html.h"

#include <curl/curl.h>
#include <string.h>

#define API "/api/v2"
#define FORM "application/x-www-form-urlencoded"
#define MESSAGE_MIN 5   /* documented: shorter messages are refused */
#define LOOKUP_LIMIT 50 /* tickets read per search for our reference */

/* Documented [DOC]: setstatus's options. Inferred [INF]: the priorities
 * (only "medium" appears in the documentation). */
static const char *const statuses[] = {"new",    "open",   "pending", "holding",
                                       "solved", "closed", NULL};
static const char *const priorities[] = {"low", "medium", "high", "urgent", NULL};

static const DkConnectorWord default_statuses[] = {
    {"new", "new"},         {"open", "open"},       {"in_progress", "open"}, {"waiting", "pending"},
    {"on_hold", "holding"}, {"resolved", "solved"}, {"closed", "closed"},
};
static const DkConnectorWord default_priorities[] = {
    {"critical", "urgent"}, {"high", "high"}, {"medium", "medium"}, {"low", "low"}};
static const DkConnectorVocabulary status_words = {"status", default_statuses,
                                                   G_N_ELEMENTS(default_statuses), statuses};
static const DkConnectorVocabulary priority_words = {"priority", default_priorities,
                                                     G_N_ELEMENTS(default_priorities), priorities};

/* What /message's documented types do with a customer's mail: a channel
 * type ("1", e-mail) needs toAddress and sends the message out on the
 * channel, so Omnidesk would mail the customer a copy of their own mail,
 * or of a reply docket already mailed. The documents name no note type and
 * no way to record an inbound message. So the customer's mail goes as
 * "contactform" (a message a customer sent; toAddress may be left out),
 * and support's replies and internal notes as note_type (default
 * "calllog": a record agents keep, sent to no one), each led by who wrote
 * it. Nothing docket sends is mailed by Omnidesk. [INF: that neither type
 * mails anyone is read from toAddress being optional for them.] */
#define INBOUND_TYPE "contactform"

/* Inferred [INF], kept in the functions up to auth(): our reference at
 * the end of the title, "[docket-1]", as the only field docket can set
 * that a search (`query`) finds; the list answer's tickets in "items"; the
 * id of a new ticket in item.id (or ticketID); a message's text coming
 * back unchanged as the timeline item's "content"; setPriority's body
 * shaped like setstatus's. */
static char *title_of(const DkConnectorEvent *e)
{
	const char *s =
	    e->ticket->subject && *e->ticket->subject ? e->ticket->subject : "(no subject)";
	return g_strdup_printf("%s [%s]", s, e->reference);
}

static gboolean has_reference(const json_t *ticket, const char *reference)
{
	g_autofree char *suffix = g_strdup_printf("[%s]", reference);
	const char *title = json_string_value(json_object_get(ticket, "title"));
	return title != NULL && g_str_has_suffix(title, suffix);
}

static json_t *items_of(json_t *list)
{
	return json_is_array(list) ? list : json_object_get(list, "items");
}

static char *created_id(const json_t *reply)
{
	char *id = dk_connector_member_id(json_object_get(reply, "item"), "id");
	return id ? id : dk_connector_member_id(reply, "ticketID");
}

/* The address list's first address, or NULL. */
static char *first_address(const char *list)
{
	if (list == NULL || *list == '\0')
		return NULL;
	const char *comma = strchr(list, ',');
	g_autofree char *one = g_strndup(list, comma ? (gsize)(comma - list) : strlen(list));
	return g_strdup(g_strstrip(one));
}

/* application/x-www-form-urlencoded: name=value pairs (NULL-ended). */
static char *form_encode(const char *const *pairs)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2) {
		g_autofree char *k = g_uri_escape_string(pairs[i], NULL, FALSE);
		g_autofree char *v = g_uri_escape_string(pairs[i + 1], NULL, FALSE);
		g_string_append_printf(out, "%s%s=%s", i ? "&" : "", k, v);
	}
	return g_string_free(out, FALSE);
}

/* Inbound: from the requester to our address; outbound (an agent opened
 * it): the other way round, as the documentation asks. */
static GPtrArray *ticket_form(const DkConnector *c, const DkConnectorEvent *e, gint64 brand)
{
	GPtrArray *f = g_ptr_array_new_with_free_func(g_free);
	const DkArticle *a = e->article;
	gboolean outbound = a != NULL && a->direction == DK_OUTBOUND;
	g_autofree char *ours =
	    a ? (outbound ? g_strdup(a->sender) : first_address(a->recipients)) : NULL;
	const char *theirs = e->ticket->requester;
	const char *from = outbound ? ours : theirs, *to = outbound ? theirs : ours;
	g_ptr_array_add(f, g_strdup("title"));
	g_ptr_array_add(f, title_of(e));
	g_ptr_array_add(f, g_strdup("direction"));
	g_ptr_array_add(f, g_strdup(outbound ? "outbound" : "inbound"));
	g_ptr_array_add(f, g_strdup("channelID"));
	g_ptr_array_add(
	    f, g_strdup_printf("%" G_GINT64_FORMAT, dk_connector_setting_int(c, "channel")));
	if (from != NULL) {
		g_ptr_array_add(f, g_strdup("from"));
		g_ptr_array_add(f, g_strdup(from));
	}
	if (to != NULL) {
		g_ptr_array_add(f, g_strdup("to"));
		g_ptr_array_add(f, g_strdup(to));
	}
	if (brand > 0) {
		g_ptr_array_add(f, g_strdup("brandID"));
		g_ptr_array_add(f, g_strdup_printf("%" G_GINT64_FORMAT, brand));
	}
	g_ptr_array_add(f, NULL);
	return f;
}

/* The message an article becomes: its type (see INBOUND_TYPE) and text,
 * support's led by who wrote it; texts under the 5 characters Omnidesk
 * requires get our reference appended. */
typedef struct {
	char *type;
	char *message;
} Message;

static void message_clear(Message *m)
{
	g_free(m->type);
	g_free(m->message);
}

static void message_of(const DkConnector *c, const DkConnectorEvent *e, Message *m)
{
	const DkArticle *a = e->article;
	g_autofree char *left = dk_connector_files_left_out(e->files, 0);
	g_autofree char *text = g_strconcat(dk_connector_text(a), left, NULL);
	gboolean inbound = a->direction == DK_INBOUND && a->visibility != DK_INTERNAL;
	g_autofree char *led =
	    inbound
	        ? g_strdup(text)
	        : g_strdup_printf("%s (%s):\n\n%s", a->sender && *a->sender ? a->sender : "docket",
	                          a->visibility == DK_INTERNAL
	                              ? "internal note"
	                              : "support's reply, mailed by docket",
	                          text);
	m->type = g_strdup(inbound ? INBOUND_TYPE : dk_connector_setting(c, "note_type"));
	m->message = g_utf8_strlen(led, -1) >= MESSAGE_MIN
	                 ? g_steal_pointer(&led)
	                 : g_strdup_printf("%s [%s]", led, e->reference);
}

/* The message as multipart/form-data (RFC 7578) with its boundary. */
static GBytes *message_multipart(gint64 ticket, const Message *m, const char *boundary)
{
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, ticket);
	const char *const fields[] = {"ticketID", id, "type", m->type, "message", m->message, NULL};
	GByteArray *out = g_byte_array_new();
	for (guint i = 0; fields[i] != NULL; i += 2)
		dk_connector_form_field(out, boundary, fields[i], "text/plain; charset=utf-8",
		                        fields[i + 1]);
	return dk_connector_form_end(out, boundary);
}

/* Whether a timeline item is the message m made (how the timeline shows
 * a contactform or calllog item is not documented: its text decides). */
static gboolean timeline_matches(const json_t *item, const Message *m)
{
	return g_strcmp0(json_string_value(json_object_get(item, "content")), m->message) == 0;
}

static const char *api_key(DkConnector *c, GError **error)
{
	const char *key = dk_connector_credential(c, "api_key");
	if (key == NULL || *key == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: the credentials file needs api_key", c->name);
		return NULL;
	}
	return key;
}

static gboolean key_in_header(const DkConnector *c)
{
	return g_strcmp0(dk_connector_setting(c, "api_key_in"), "header") == 0;
}

static gboolean auth(DkConnector *c, struct curl_slist **headers, GError **error)
{
	if (!key_in_header(c))
		return TRUE;
	const char *key = api_key(c, error);
	if (key == NULL)
		return FALSE;
	g_autofree char *header = g_strconcat("apiKey: ", key, NULL);
	*headers = curl_slist_append(*headers, header);
	return TRUE;
}

static gboolean auth_query(DkConnector *c, char **param_out, GError **error)
{
	*param_out = NULL;
	if (key_in_header(c))
		return TRUE;
	const char *key = api_key(c, error);
	if (key == NULL)
		return FALSE;
	g_autofree char *escaped = g_uri_escape_string(key, NULL, FALSE);
	*param_out = g_strconcat("apiKey=", escaped, NULL);
	return TRUE;
}

/* One request with a body of content type (NULL: none); the answer in
 * *reply_out (NULL to ignore it). A 2xx answer saying {"status":
 * "error"} is refused with its message. */
static gboolean call_bytes(DkConnector *c, const char *method, const char *path, GBytes *body,
                           const char *type, json_t **reply_out, GError **error)
{
	g_autoptr(json_t) reply = NULL;
	g_autofree char *header = type ? g_strconcat("Content-Type: ", type, NULL) : NULL;
	const char *extra[] = {header, NULL};
	if (body ? !dk_connector_http_bytes(c, method, path, body, extra, &reply, error)
	         : !dk_connector_http(c, method, path, NULL, extra, &reply, error))
		return FALSE;
	if (g_strcmp0(json_string_value(json_object_get(reply, "status")), "error") == 0) {
		const char *why = json_string_value(json_object_get(reply, "message"));
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: %s %s: %s", c->name, method,
		            path, why ? why : "error");
		return FALSE;
	}
	if (reply_out != NULL)
		*reply_out = g_steal_pointer(&reply);
	return TRUE;
}

static gboolean call(DkConnector *c, const char *method, const char *path, const char *body,
                     const char *type, json_t **reply_out, GError **error)
{
	g_autoptr(GBytes) bytes = body ? g_bytes_new_static(body, strlen(body)) : NULL;
	return call_bytes(c, method, path, bytes, type, reply_out, error);
}

/* A whole number, or a permanent error naming what it is. */
static gboolean is_number(const char *text, gint64 *out)
{
	char *end = NULL;
	*out = text ? g_ascii_strtoll(text, &end, 10) : 0;
	return text != NULL && *text != '\0' && *end == '\0' && *out > 0;
}

static gboolean number(DkConnector *c, const char *what, const char *text, gint64 *out,
                       GError **error)
{
	if (is_number(text, out))
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: %s \"%s\" is not a number", c->name,
	            what, text ? text : "");
	return FALSE;
}

/* The ticket whose title ends with our reference, or NULL. */
static gboolean find_ticket(DkConnector *c, const char *reference, char **remote_out,
                            GError **error)
{
	*remote_out = NULL;
	g_autofree char *q = g_uri_escape_string(reference, NULL, FALSE);
	g_autofree char *path = g_strdup_printf(
	    API "/ticket?query=%s&searchArchived=yes&itemStart=0&itemLimit=%d", q, LOOKUP_LIMIT);
	g_autoptr(json_t) list = NULL;
	if (!call(c, "GET", path, NULL, NULL, &list, error))
		return FALSE;
	size_t i;
	json_t *t;
	json_array_foreach(items_of(list), i, t)
	{
		if (*remote_out == NULL && has_reference(t, reference))
			*remote_out = dk_connector_member_id(t, "id");
	}
	return TRUE;
}

static gint compare_ids(gconstpointer a, gconstpointer b)
{
	gint64 x = g_ascii_strtoll(*(char *const *)a, NULL, 10);
	gint64 y = g_ascii_strtoll(*(char *const *)b, NULL, 10);
	return x < y ? -1 : x > y;
}

/* The ids of the ticket's timeline items that are m, oldest (lowest id)
 * first. */
static gboolean matching_items(DkConnector *c, gint64 ticket, const Message *m, GPtrArray *ids_out,
                               GError **error)
{
	g_autofree char *path = g_strdup_printf(API "/ticket/%" G_GINT64_FORMAT, ticket);
	g_autoptr(json_t) reply = NULL;
	if (!call(c, "GET", path, NULL, NULL, &reply, error))
		return FALSE;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(json_object_get(reply, "item"), "timeline"), i, item)
	{
		char *id = timeline_matches(item, m) ? dk_connector_member_id(item, "id") : NULL;
		if (id != NULL)
			g_ptr_array_add(ids_out, id);
	}
	g_ptr_array_sort(ids_out, compare_ids);
	return TRUE;
}

/* Posts the article as a message; *remote_out the timeline item it made
 * (the answer names none: the newest item like it), or NULL. */
static gboolean post_message(DkConnector *c, const DkConnectorEvent *e, gint64 ticket,
                             char **remote_out, GError **error)
{
	*remote_out = NULL;
	Message m = {0};
	message_of(c, e, &m);
	g_autofree char *uuid = dk_ids_uuid();
	g_autofree char *boundary = g_strconcat("docket-", uuid, NULL);
	g_autoptr(GBytes) body = message_multipart(ticket, &m, boundary);
	g_autofree char *type = g_strconcat("multipart/form-data; boundary=", boundary, NULL);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	gboolean ok = call_bytes(c, "POST", API "/message", body, type, NULL, error) &&
	              matching_items(c, ticket, &m, ids, error);
	message_clear(&m);
	if (ok && ids->len > 0)
		*remote_out = g_strdup(g_ptr_array_index(ids, ids->len - 1));
	return ok;
}

/* POST /ticket/ACTION with ticketIDs[]=ticket and field=word. */
static gboolean set_word(DkConnector *c, gint64 ticket, const char *action, const char *field,
                         const char *word, GError **error)
{
	g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, ticket);
	const char *const pairs[] = {"ticketIDs[]", id, field, word, NULL};
	g_autofree char *body = form_encode(pairs);
	g_autofree char *path = g_strconcat(API "/ticket/", action, NULL);
	return call(c, "POST", path, body, FORM, NULL, error);
}

/* The brand of the requester's domain, else brand; 0 for none. */
static gboolean brand_of(DkConnector *c, const char *requester, gint64 *out, GError **error)
{
	g_autofree char *brand =
	    dk_connector_for_domain(c, requester, dk_connector_setting(c, "brand"));
	*out = 0;
	return brand == NULL || number(c, "brand", brand, out, error);
}

/* Omnidesk creates an empty ticket, then takes its first message and
 * priority in further requests; there is no idempotency key. So the
 * ticket carrying our reference is searched for first, and each step is
 * done only if an earlier attempt did not do it. */
static gboolean create_ticket(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                              GError **error)
{
	*remote_out = NULL;
	gint64 brand = 0, ticket = 0;
	g_autofree char *id = NULL;
	if (!brand_of(c, e->ticket->requester, &brand, error) ||
	    !find_ticket(c, e->reference, &id, error))
		return FALSE;
	gboolean found = id != NULL;
	if (!found) {
		g_autoptr(GPtrArray) fields = ticket_form(c, e, brand);
		g_autofree char *body = form_encode((const char *const *)fields->pdata);
		g_autoptr(json_t) reply = NULL;
		if (!call(c, "POST", API "/ticket", body, FORM, &reply, error))
			return FALSE;
		id = created_id(reply);
	}
	if (!number(c, "the new ticket's id", id, &ticket, error))
		return FALSE;
	if (e->article != NULL) {
		Message m = {0};
		message_of(c, e, &m);
		g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
		g_autofree char *made = NULL;
		gboolean ok = !found || matching_items(c, ticket, &m, ids, error);
		message_clear(&m);
		if (!ok || (ids->len == 0 && !post_message(c, e, ticket, &made, error)))
			return FALSE;
	}
	const char *priority = dk_connector_word(c, &priority_words, e->ticket->priority);
	if (priority != NULL && !set_word(c, ticket, "setPriority", "priority", priority, error))
		return FALSE;
	*remote_out = g_steal_pointer(&id);
	return TRUE;
}

static gboolean add_comment(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                            GError **error)
{
	gint64 ticket = 0;
	*remote_out = NULL;
	return number(c, "ticket id", e->remote_ticket, &ticket, error) &&
	       post_message(c, e, ticket, remote_out, error);
}

static gboolean find_comment(DkConnector *c, const DkConnectorEvent *e, GPtrArray *ids_out,
                             GError **error)
{
	gint64 ticket = 0;
	if (!number(c, "ticket id", e->remote_ticket, &ticket, error))
		return FALSE;
	Message m = {0};
	message_of(c, e, &m);
	gboolean ok = matching_items(c, ticket, &m, ids_out, error);
	message_clear(&m);
	return ok;
}

/* Status through setstatus, priority through setPriority; the API shows
 * no way to assign a user by address, so assignee changes are not sent. */
static gboolean update(DkConnector *c, const DkConnectorEvent *e, GError **error)
{
	gint64 ticket = 0;
	if (!number(c, "ticket id", e->remote_ticket, &ticket, error))
		return FALSE;
	if (g_strcmp0(e->field, "status") == 0) {
		const char *word = dk_connector_word(c, &status_words, e->new_value);
		return word == NULL || set_word(c, ticket, "setstatus", "status", word, error);
	}
	if (g_strcmp0(e->field, "priority") == 0) {
		const char *word = dk_connector_word(c, &priority_words, e->new_value);
		return word == NULL || set_word(c, ticket, "setPriority", "priority", word, error);
	}
	return TRUE;
}

/* An agent's reply in the timeline: a message going out on a channel
 * (docket's own are contact form messages and call logs). */
static gboolean agent_reply(const json_t *item)
{
	return g_strcmp0(json_string_value(json_object_get(item, "type")), "message") == 0 &&
	       g_strcmp0(json_string_value(json_object_get(item, "direction")), "outbound") == 0;
}

/* The way back: the ticket's timeline (GET /ticket/:ticketID) after the
 * cursor's item id, its agents' replies oldest first (their content, HTML
 * for e-mail, as plain text without the quoted history), and the
 * status when it is not the one the cursor saw. Cursor: "ITEM:status". */
static gboolean read_back(DkConnector *c, const char *remote, const char *cursor,
                          GPtrArray *changes_out, char **cursor_out, GError **error)
{
	gint64 ticket = 0, after = cursor ? g_ascii_strtoll(cursor, NULL, 10) : 0, last = 0;
	const char *seen = cursor && strchr(cursor, ':') ? strchr(cursor, ':') + 1 : "";
	if (!number(c, "ticket id", remote, &ticket, error))
		return FALSE;
	g_autofree char *path = g_strdup_printf(API "/ticket/%" G_GINT64_FORMAT, ticket);
	g_autoptr(json_t) reply = NULL;
	if (!call(c, "GET", path, NULL, NULL, &reply, error))
		return FALSE;
	json_t *t = json_object_get(reply, "item");
	g_autoptr(GPtrArray) items = g_ptr_array_new();
	size_t i;
	json_t *item;
	last = after;
	json_array_foreach(json_object_get(t, "timeline"), i, item)
	{
		g_autofree char *sid = dk_connector_member_id(item, "id");
		gint64 id = sid ? g_ascii_strtoll(sid, NULL, 10) : 0;
		if (g_strcmp0(json_string_value(json_object_get(item, "type")), "event") == 0)
			continue; /* events have ids of their own series */
		if (id > after && agent_reply(item))
			g_ptr_array_add(items, item);
		last = MAX(last, id);
	}
	for (guint k = 0; k < items->len; k++) {
		json_t *it = g_ptr_array_index(items, k);
		g_autofree char *id = dk_connector_member_id(it, "id");
		const char *text = json_string_value(json_object_get(it, "content"));
		g_autoptr(DkHtmlText) plain = text ? dk_html_to_text(text, strlen(text)) : NULL;
		g_ptr_array_add(changes_out, dk_connector_change_new(
		                                 id, plain ? plain->new_text : "", NULL, NULL));
	}
	const char *status = json_string_value(json_object_get(t, "status"));
	g_autofree char *ours = dk_connector_words_back(c, &status_words, status);
	if (status != NULL && g_strcmp0(status, seen) != 0 && ours != NULL)
		g_ptr_array_add(changes_out, dk_connector_change_new(NULL, NULL, NULL, ours));
	*cursor_out = g_strdup_printf("%" G_GINT64_FORMAT ":%s", last, status ? status : "");
	return TRUE;
}

/* Whether organisation_map's brands and brand are numbers; reports those that
 * are not. */
static gboolean brands_are_numbers(DkConnector *c, GString *report)
{
	g_autoptr(GHashTable) brands = dk_connector_setting_map(c, "organisation_map");
	const char *fallback = dk_connector_setting(c, "brand");
	gboolean ok = TRUE;
	gint64 n = 0;
	if (*fallback != '\0' && !is_number(fallback, &n)) {
		g_string_append_printf(report, "%s: brand \"%s\" is not a number\n", c->name,
		                       fallback);
		ok = FALSE;
	}
	GHashTableIter iter;
	gpointer domain, brand;
	g_hash_table_iter_init(&iter, brands);
	while (g_hash_table_iter_next(&iter, &domain, &brand)) {
		if (!is_number(brand, &n)) {
			g_string_append_printf(
			    report, "%s: organisation_map %s: brand \"%s\" is not a number\n",
			    c->name, (const char *)domain, (const char *)brand);
			ok = FALSE;
		}
	}
	return ok;
}

/* Lists one ticket (the key and TICKET_READ), checks the maps against the
 * vocabularies and that brands are numbers. Brands cannot be listed and
 * the write permissions cannot be tried without writing. */
static gboolean check(DkConnector *c, GString *report, GError **error)
{
	if (!call(c, "GET", API "/ticket?itemStart=0&itemLimit=1", NULL, NULL, NULL, error)) {
		if (strstr((*error)->message, "HTTP 401") != NULL)
			g_string_append_printf(report,
			                       "%s: the API key was refused (api_key_in = %s)\n",
			                       c->name, dk_connector_setting(c, "api_key_in"));
		if (strstr((*error)->message, "HTTP 403") != NULL)
			g_string_append_printf(report, "%s: the API key lacks TICKET_READ\n",
			                       c->name);
		return FALSE;
	}
	g_string_append_printf(report, "%s: authenticated\n", c->name);
	gboolean ok = dk_connector_words_known(c, &status_words, &priority_words, report);
	ok = brands_are_numbers(c, report) && ok;
	if (ok)
		g_string_append_printf(report,
		                       "%s: statuses and priorities known; brands and the "
		                       "write permissions are not checked\n",
		                       c->name);
	return ok;
}

const DkConnectorOps dk_connector_omnidesk = {
    .type = "omnidesk",
    .remote_ids = TRUE,
    .auth = auth,
    .auth_query = auth_query,
    .create_ticket = create_ticket,
    .add_comment = add_comment,
    .update = update,
    .find_comment = find_comment,
    .check = check,
    .read_back = read_back,
};
