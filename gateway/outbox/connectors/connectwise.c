/* ConnectWise PSA (Manage) REST 3.0: tickets under /service/tickets, notes
 * with Discussion/Internal flags, JSON Patch updates, our reference in
 * externalXRef. The vendor's OpenAPI document is not public: the paths and
 * fields are those of the clients generated from it [3P], the Basic
 * company+public:private authentication with a clientId header is the
 * vendor's [DOC]. */
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/json.h"

#include <curl/curl.h>
#include <string.h>

/* What is inferred [INF], in one place: the default
 * vocabularies (tenants rename them: status_map, priority_map), the
 * owner's identifier taken from the assignee's local part, summary's
 * 100-character limit, and the documents of a ticket: POST
 * /system/documents as multipart/form-data with recordType Ticket,
 * recordId, title and file, listed by GET with the same recordType and
 * recordId (the vendor reference notes mark this endpoint unverified) [3P]. */
static const char *const default_statuses[][2] = {
    {"new", "New"},
    {"open", "In Progress"},
    {"in_progress", "In Progress"},
    {"waiting", "Waiting on Client"},
    {"on_hold", "On Hold"},
    {"resolved", "Resolved"},
    {"closed", "Closed"},
};
static const char *const default_priorities[][2] = {
    {"critical", "Priority 1 - Emergency Response"},
    {"high", "Priority 2 - Quick Response"},
    {"medium", "Priority 3 - Normal Response"},
    {"low", "Priority 4 - Schedule Maintenance"},
};
#define SUMMARY_MAX 100
#define FILE_LIMIT (10 * 1024 * 1024) /* one document; none documented [INF] */
#define DOCUMENTS "/system/documents"

static const char *status_name(const DkConnector *c, const char *ours)
{
	const char *mapped = g_hash_table_lookup(c->status_map, ours);
	for (gsize i = 0; mapped == NULL && i < G_N_ELEMENTS(default_statuses); i++)
		if (g_strcmp0(default_statuses[i][0], ours) == 0)
			mapped = default_statuses[i][1];
	return mapped;
}

/* NULL for "none" and unknown values: the board's default. */
static const char *priority_name(const DkConnector *c, const char *ours)
{
	const char *mapped = g_hash_table_lookup(c->priority_map, ours);
	for (gsize i = 0; mapped == NULL && i < G_N_ELEMENTS(default_priorities); i++)
		if (g_strcmp0(default_priorities[i][0], ours) == 0)
			mapped = default_priorities[i][1];
	return mapped;
}

/* Basic company+public:private and the integrator's clientId header. */
static gboolean auth(DkConnector *c, struct curl_slist **headers, GError **error)
{
	const char *company = dk_connector_credential(c, "company");
	const char *pub = dk_connector_credential(c, "public_key");
	const char *priv = dk_connector_credential(c, "private_key");
	const char *client = dk_connector_credential(c, "client_id");
	if (company == NULL || pub == NULL || priv == NULL || client == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s: the credentials file needs company, public_key, private_key and "
		            "client_id",
		            c->name);
		return FALSE;
	}
	g_autofree char *pair = g_strdup_printf("%s+%s:%s", company, pub, priv);
	g_autofree char *b64 = g_base64_encode((const guchar *)pair, strlen(pair));
	g_autofree char *basic = g_strconcat("Authorization: Basic ", b64, NULL);
	g_autofree char *id = g_strconcat("clientId: ", client, NULL);
	*headers = curl_slist_append(*headers, basic);
	*headers = curl_slist_append(*headers, id);
	return TRUE;
}

/* A reference object: {"id": n} for a number, else {key: value}. */
static json_t *ref(const char *key, const char *value)
{
	char *end = NULL;
	gint64 n = g_ascii_strtoll(value, &end, 10);
	if (*value != '\0' && *end == '\0')
		return json_pack("{sI}", "id", (json_int_t)n);
	return json_pack("{ss}", key, value);
}

static char *summary(const char *subject)
{
	const char *s = subject && *subject ? subject : "(no subject)";
	if (g_utf8_strlen(s, -1) <= SUMMARY_MAX)
		return g_strdup(s);
	return g_utf8_substring(s, 0, SUMMARY_MAX);
}

/* The article's text, with a line for each attachment left out. */
static char *text_of(const DkConnector *c, const DkConnectorEvent *e)
{
	g_autofree char *left =
	    dk_connector_files_left_out(e->files, dk_connector_file_limit(c, FILE_LIMIT));
	return g_strconcat(dk_connector_text(e->article), left, NULL);
}

static gboolean create_ticket(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                              GError **error)
{
	*remote_out = NULL;
	if (*c->board == '\0' || *c->company == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: board and company are needed",
		            c->name);
		return FALSE;
	}
	g_autofree char *sum = summary(e->ticket->subject);
	g_autofree char *text = text_of(c, e);
	g_autoptr(json_t) o = json_pack(
	    "{ss so so ss ss sb s[s]}", "summary", sum, "board", ref("name", c->board), "company",
	    ref("identifier", c->company), "initialDescription", text, "externalXRef", e->reference,
	    "processNotifications", 0, "integratorTags", "docket");
	if (e->ticket->requester != NULL)
		json_object_set_new(o, "contactEmailAddress", json_string(e->ticket->requester));
	const char *priority = priority_name(c, e->ticket->priority);
	if (priority != NULL)
		json_object_set_new(o, "priority", ref("name", priority));
	g_autofree char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	g_autoptr(json_t) reply = NULL;
	return dk_connector_http(c, "POST", "/service/tickets", body, NULL, &reply, error) &&
	       dk_connector_take_id(c, reply, remote_out, error);
}

static json_t *note_json(const DkConnector *c, const DkConnectorEvent *e)
{
	const DkArticle *a = e->article;
	gboolean internal = a->visibility == DK_INTERNAL;
	gboolean inbound = a->direction == DK_INBOUND;
	g_autofree char *text = text_of(c, e);
	return json_pack("{ss sb sb sb sb sb}", "text", text, "detailDescriptionFlag", !internal,
	                 "internalAnalysisFlag", internal, "resolutionFlag", 0,
	                 "customerUpdatedFlag", inbound, "processNotifications", 0);
}

static gboolean add_comment(DkConnector *c, const DkConnectorEvent *e, char **remote_out,
                            GError **error)
{
	*remote_out = NULL;
	g_autoptr(json_t) o = note_json(c, e);
	g_autofree char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	g_autofree char *path = g_strdup_printf("/service/tickets/%s/notes", e->remote_ticket);
	g_autoptr(json_t) reply = NULL;
	return dk_connector_http(c, "POST", path, body, NULL, &reply, error) &&
	       dk_connector_take_id(c, reply, remote_out, error);
}

/* After a lost answer: the notes with the same text and flags. */
static gboolean find_comment(DkConnector *c, const DkConnectorEvent *e, GPtrArray *ids_out,
                             GError **error)
{
	g_autofree char *path =
	    g_strdup_printf("/service/tickets/%s/notes?pageSize=1000", e->remote_ticket);
	g_autoptr(json_t) notes = NULL;
	if (!dk_connector_http(c, "GET", path, NULL, NULL, &notes, error))
		return FALSE;
	g_autoptr(json_t) want = note_json(c, e);
	size_t i;
	json_t *n;
	json_array_foreach(notes, i, n)
	{
		char *id = dk_connector_id(n);
		if (id != NULL &&
		    g_strcmp0(json_string_value(json_object_get(n, "text")),
		              json_string_value(json_object_get(want, "text"))) == 0 &&
		    json_equal(json_object_get(n, "internalAnalysisFlag"),
		               json_object_get(want, "internalAnalysisFlag")))
			g_ptr_array_add(ids_out, id);
		else
			g_free(id);
	}
	return TRUE;
}

/* One JSON Patch operation, {op, path, value}, replacing a whole
 * reference object ({"name": ...}) as the generated clients do [3P]. */
static json_t *patch_op(const DkConnector *c, const DkConnectorEvent *e)
{
	const char *v = e->new_value;
	if (g_strcmp0(e->field, "status") == 0 && status_name(c, v) != NULL)
		return json_pack("{ss ss so}", "op", "replace", "path", "status", "value",
		                 ref("name", status_name(c, v)));
	if (g_strcmp0(e->field, "priority") == 0 && priority_name(c, v) != NULL)
		return json_pack("{ss ss so}", "op", "replace", "path", "priority", "value",
		                 ref("name", priority_name(c, v)));
	if (g_strcmp0(e->field, "assignee") == 0 && (v == NULL || *v == '\0'))
		return json_pack("{ss ss}", "op", "remove", "path", "owner");
	if (g_strcmp0(e->field, "assignee") == 0) {
		const char *at = strchr(v, '@');
		g_autofree char *identifier = g_strndup(v, at ? (gsize)(at - v) : strlen(v));
		return json_pack("{ss ss s{ss}}", "op", "replace", "path", "owner", "value",
		                 "identifier", identifier);
	}
	return NULL;
}

static gboolean update(DkConnector *c, const DkConnectorEvent *e, GError **error)
{
	json_t *op = patch_op(c, e);
	if (op == NULL)
		return TRUE; /* nothing that maps: the board keeps its value */
	g_autoptr(json_t) ops = json_pack("[o]", op);
	g_autofree char *body = json_dumps(ops, JSON_COMPACT | JSON_SORT_KEYS);
	g_autofree char *path = g_strdup_printf("/service/tickets/%s", e->remote_ticket);
	return dk_connector_http(c, "PATCH", path, body, NULL, NULL, error);
}

/* GET path?conditions=cond; the answer array in *out. */
static gboolean query(DkConnector *c, const char *path, const char *cond, json_t **out,
                      GError **error)
{
	g_autofree char *escaped = g_uri_escape_string(cond, NULL, FALSE);
	g_autofree char *full = g_strdup_printf("%s?conditions=%s", path, escaped);
	if (!dk_connector_http(c, "GET", full, NULL, NULL, out, error))
		return FALSE;
	if (json_is_array(*out))
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: GET %s: not a list", c->name, path);
	return FALSE;
}

static gboolean lookup(DkConnector *c, const DkConnectorEvent *e, char **remote_out, GError **error)
{
	*remote_out = NULL;
	g_autofree char *cond = g_strdup_printf("externalXRef=\"%s\"", e->reference);
	g_autoptr(json_t) found = NULL;
	if (!query(c, "/service/tickets", cond, &found, error))
		return FALSE;
	if (json_array_size(found) > 0)
		*remote_out = dk_connector_id(json_array_get(found, 0));
	return TRUE;
}

/* A document's title: our reference, the article and the file's place,
 * its name; what a retry looks for. */
static char *document_title(const DkConnectorEvent *e, guint i, const DkConnectorFile *f)
{
	return g_strdup_printf("%s %" G_GINT64_FORMAT ".%u %s", e->reference, e->article->id, i,
	                       f->filename);
}

/* The ticket's document titles. */
static gboolean document_titles(DkConnector *c, const char *ticket, GHashTable *titles,
                                GError **error)
{
	g_autofree char *path =
	    g_strdup_printf(DOCUMENTS "?recordType=Ticket&recordId=%s&pageSize=1000", ticket);
	g_autoptr(json_t) docs = NULL;
	if (!dk_connector_http(c, "GET", path, NULL, NULL, &docs, error))
		return FALSE;
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d)
	{
		const char *title = json_string_value(json_object_get(d, "title"));
		if (title != NULL)
			g_hash_table_add(titles, g_strdup(title));
	}
	return TRUE;
}

/* POST /system/documents: multipart/form-data (RFC 7578). */
static gboolean upload(DkConnector *c, const char *ticket, const char *title,
                       const DkConnectorFile *f, GError **error)
{
	g_autofree char *uuid = dk_ids_uuid();
	g_autofree char *boundary = g_strconcat("docket-", uuid, NULL);
	GByteArray *out = g_byte_array_new();
	dk_connector_form_field(out, boundary, "recordType", NULL, "Ticket");
	dk_connector_form_field(out, boundary, "recordId", NULL, ticket);
	dk_connector_form_field(out, boundary, "title", NULL, title);
	dk_connector_form_file(out, boundary, "file", f);
	g_autoptr(GBytes) bytes = dk_connector_form_end(out, boundary);
	g_autofree char *type =
	    g_strconcat("Content-Type: multipart/form-data; boundary=", boundary, NULL);
	const char *extra[] = {type, NULL};
	return dk_connector_http_bytes(c, "POST", DOCUMENTS, bytes, extra, NULL, error);
}

/* The article's files as documents on the ticket, each once: those whose
 * title the ticket's documents already carry were uploaded before. */
static gboolean attach(DkConnector *c, const DkConnectorEvent *e, const char *remote,
                       GError **error)
{
	guint sending = 0;
	for (guint i = 0; e->files != NULL && i < e->files->len; i++)
		sending += ((const DkConnectorFile *)g_ptr_array_index(e->files, i))->data != NULL;
	if (sending == 0 || e->article == NULL)
		return TRUE;
	g_autoptr(GHashTable) titles = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (!document_titles(c, remote, titles, error))
		return FALSE;
	for (guint i = 0; i < e->files->len; i++) {
		const DkConnectorFile *f = g_ptr_array_index(e->files, i);
		g_autofree char *title = document_title(e, i, f);
		if (f->data != NULL && !g_hash_table_contains(titles, title) &&
		    !upload(c, remote, title, f, error))
			return FALSE;
	}
	return TRUE;
}

/* Our statuses whose board status name is name, comma-joined in the order
 * of the defaults (see DkConnectorChange), or NULL. */
static char *ours_for(const DkConnector *c, const char *name)
{
	g_autoptr(GString) out = g_string_new(NULL);
	for (gsize i = 0; name != NULL && i < G_N_ELEMENTS(default_statuses); i++)
		if (g_strcmp0(status_name(c, default_statuses[i][0]), name) == 0)
			g_string_append_printf(out, "%s%s", out->len ? "," : "",
			                       default_statuses[i][0]);
	return out->len ? g_strdup(out->str) : NULL;
}

/* An agent's public note: Discussion, not internal, written by a member. */
static gboolean agent_note(const json_t *n)
{
	return json_is_true(json_object_get(n, "detailDescriptionFlag")) &&
	       !json_is_true(json_object_get(n, "internalAnalysisFlag")) &&
	       json_is_object(json_object_get(n, "member"));
}

/* The way back: the notes after the cursor's note id (conditions id>N,
 * oldest first), the agents' public ones as comments, and the ticket's
 * status when its name is not the one the cursor saw. Cursor:
 * "NOTE:STATUS NAME". */
static gboolean read_back(DkConnector *c, const char *remote, const char *cursor,
                          GPtrArray *changes_out, char **cursor_out, GError **error)
{
	gint64 after = cursor ? g_ascii_strtoll(cursor, NULL, 10) : 0;
	const char *seen = cursor && strchr(cursor, ':') ? strchr(cursor, ':') + 1 : "";
	g_autofree char *cond = g_strdup_printf("id>%" G_GINT64_FORMAT, after);
	g_autofree char *escaped = g_uri_escape_string(cond, NULL, FALSE);
	g_autofree char *path = g_strdup_printf(
	    "/service/tickets/%s/notes?conditions=%s&orderBy=id%%20asc&pageSize=1000", remote,
	    escaped);
	g_autoptr(json_t) notes = NULL, ticket = NULL;
	if (!dk_connector_http(c, "GET", path, NULL, NULL, &notes, error))
		return FALSE;
	size_t i;
	json_t *n;
	gint64 last = after;
	json_array_foreach(notes, i, n)
	{
		gint64 id = json_integer_value(json_object_get(n, "id"));
		g_autofree char *sid = dk_connector_id(n);
		if (id > after && agent_note(n))
			g_ptr_array_add(
			    changes_out,
			    dk_connector_change_new(
			        sid, json_string_value(json_object_get(n, "text")), NULL, NULL));
		last = MAX(last, id);
	}
	g_autofree char *tpath = g_strdup_printf("/service/tickets/%s", remote);
	if (!dk_connector_http(c, "GET", tpath, NULL, NULL, &ticket, error))
		return FALSE;
	const char *name =
	    json_string_value(json_object_get(json_object_get(ticket, "status"), "name"));
	g_autofree char *ours = ours_for(c, name);
	if (name != NULL && g_strcmp0(name, seen) != 0 && ours != NULL)
		g_ptr_array_add(changes_out, dk_connector_change_new(NULL, NULL, NULL, ours));
	*cursor_out = g_strdup_printf("%" G_GINT64_FORMAT ":%s", last, name ? name : "");
	return TRUE;
}

/* Whether every name (NULL-terminated pairs' second halves) is among the
 * list's "name" fields; reports those that are not. */
static gboolean names_present(DkConnector *c, const json_t *list, const char *const (*pairs)[2],
                              gsize n, GHashTable *map, const char *what, GString *report)
{
	gboolean ok = TRUE;
	for (gsize i = 0; i < n; i++) {
		const char *want = g_hash_table_lookup(map, pairs[i][0]);
		want = want ? want : pairs[i][1];
		gboolean seen = FALSE;
		size_t k;
		json_t *item;
		json_array_foreach(list, k, item)
		{
			seen = seen || g_strcmp0(json_string_value(json_object_get(item, "name")),
			                         want) == 0;
		}
		if (!seen) {
			g_string_append_printf(report, "%s: %s %s (for %s) does not exist\n",
			                       c->name, what, want, pairs[i][0]);
			ok = FALSE;
		}
	}
	return ok;
}

/* Reads the board, its statuses, the priorities and the company. */
static gboolean check(DkConnector *c, GString *report, GError **error)
{
	g_autoptr(json_t) boards = NULL, statuses = NULL, priorities = NULL, companies = NULL;
	g_autofree char *bcond = g_strdup_printf("name=\"%s\"", c->board);
	g_autofree char *ccond = g_strdup_printf("identifier=\"%s\"", c->company);
	if (!query(c, "/service/boards", bcond, &boards, error)) {
		/* Some ConnectWise clouds answer wrong keys with 404, not 401 [3P]. */
		if (strstr((*error)->message, "HTTP 404") != NULL)
			g_string_append_printf(report,
			                       "%s: 404 on /service/boards: check base_url, "
			                       "and the company and keys\n",
			                       c->name);
		return FALSE;
	}
	g_string_append_printf(report, "%s: authenticated\n", c->name);
	if (json_array_size(boards) == 0) {
		g_string_append_printf(report, "%s: board \"%s\" does not exist\n", c->name,
		                       c->board);
		return FALSE;
	}
	g_autofree char *board = dk_connector_id(json_array_get(boards, 0));
	g_autofree char *spath = g_strdup_printf("/service/boards/%s/statuses", board);
	if (!dk_connector_http(c, "GET", spath, NULL, NULL, &statuses, error) ||
	    !dk_connector_http(c, "GET", "/service/priorities", NULL, NULL, &priorities, error) ||
	    !query(c, "/company/companies", ccond, &companies, error))
		return FALSE;
	gboolean ok = names_present(c, statuses, default_statuses, G_N_ELEMENTS(default_statuses),
	                            c->status_map, "status", report);
	ok = names_present(c, priorities, default_priorities, G_N_ELEMENTS(default_priorities),
	                   c->priority_map, "priority", report) &&
	     ok;
	if (json_array_size(companies) == 0) {
		g_string_append_printf(report, "%s: company \"%s\" does not exist\n", c->name,
		                       c->company);
		ok = FALSE;
	}
	if (ok)
		g_string_append_printf(report,
		                       "%s: board %s, statuses, priorities and company found\n",
		                       c->name, c->board);
	return ok;
}

const DkConnectorOps dk_connector_connectwise = {
    .type = "connectwise",
    .remote_ids = TRUE,
    .auth = auth,
    .create_ticket = create_ticket,
    .add_comment = add_comment,
    .update = update,
    .lookup = lookup,
    .find_comment = find_comment,
    .read_back = read_back,
    .attach = attach,
    .file_limit = FILE_LIMIT,
    .check = check,
};
