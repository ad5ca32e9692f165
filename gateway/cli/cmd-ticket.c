/* `docket ticket list|show`: the tickets as a table, or as JSON for
 * scripts. The JSON shape is documented in README.md and kept stable. */
#include "gateway/cli/cli.h"
#include "gateway/core/error.h"
#include "gateway/core/json.h"

#include <stdio.h>
#include <string.h>

static gboolean as_json;

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static char *iso_time(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
	return dt ? g_date_time_format_iso8601(dt) : g_strdup("");
}

static json_t *jtime(gint64 t)
{
	g_autofree char *s = iso_time(t);
	return json_string(s);
}

static json_t *ticket_json(const DkTicket *t, const char *prefix)
{
	g_autofree char *token = g_strdup_printf("[%s #%" G_GINT64_FORMAT "]", prefix, t->number);
	return json_pack("{sI ss so ss ss ss so so so sI so so}", "number", (json_int_t)t->number, "token", token,
			 "subject", jstr(t->subject), "status", t->status, "priority", t->priority, "queue",
			 t->queue, "requester", jstr(t->requester), "organisation", jstr(t->organisation),
			 "assignee", jstr(t->assignee), "articles", (json_int_t)t->articles, "created_at",
			 jtime(t->created_at), "updated_at", jtime(t->updated_at));
}

static void print_json(json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	puts(text);
	free(text);
}

static int list(DkStore *store, const DkConfig *config, const char *status, guint limit)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tickets = dk_store_ticket_list(store, status, limit, &error);
	if (tickets == NULL) {
		dk_cli_error("ticket list: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	const char *prefix = dk_config_get_string(config, "threading", "token_prefix");
	if (as_json) {
		g_autoptr(json_t) arr = json_array();
		for (guint i = 0; i < tickets->len; i++)
			json_array_append_new(arr, ticket_json(g_ptr_array_index(tickets, i), prefix));
		g_autoptr(json_t) doc = json_pack("{sO}", "tickets", arr);
		print_json(doc);
		return DK_EXIT_OK;
	}
	printf("%6s  %-11s  %-8s  %-10s  %-16s  %-28s  %s\n", "NUMBER", "STATUS", "PRIORITY", "QUEUE", "UPDATED",
	       "REQUESTER", "SUBJECT");
	for (guint i = 0; i < tickets->len; i++) {
		const DkTicket *t = g_ptr_array_index(tickets, i);
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(t->updated_at);
		g_autofree char *when = g_date_time_format(dt, "%Y-%m-%d %H:%M");
		printf("%6" G_GINT64_FORMAT "  %-11s  %-8s  %-10s  %-16s  %-28.28s  %s\n", t->number, t->status,
		       t->priority, t->queue, when, t->requester ? t->requester : "-", t->subject);
	}
	return DK_EXIT_OK;
}

static json_t *strings_json(GPtrArray *items)
{
	json_t *arr = json_array();
	for (guint i = 0; items != NULL && i < items->len; i++)
		json_array_append_new(arr, json_string(g_ptr_array_index(items, i)));
	return arr;
}

/* "address role" rows as {"address", "role"} objects. */
static json_t *participants_json(GPtrArray *rows)
{
	json_t *arr = json_array();
	for (guint i = 0; i < rows->len; i++) {
		g_auto(GStrv) parts = g_strsplit(g_ptr_array_index(rows, i), " ", 2);
		json_array_append_new(arr, json_pack("{ss ss}", "address", parts[0], "role", parts[1] ? parts[1] : ""));
	}
	return arr;
}

/* "number reason" rows as {"ticket", "reason"} objects. */
static json_t *links_json(GPtrArray *rows)
{
	json_t *arr = json_array();
	for (guint i = 0; i < rows->len; i++) {
		g_auto(GStrv) parts = g_strsplit(g_ptr_array_index(rows, i), " ", 2);
		json_array_append_new(arr, json_pack("{sI ss}", "ticket", (json_int_t)g_ascii_strtoll(parts[0], NULL, 10),
						     "reason", parts[1] ? parts[1] : ""));
	}
	return arr;
}

/* "name number" rows as {"name", "number"} objects. */
static json_t *foreign_json(GPtrArray *rows)
{
	json_t *arr = json_array();
	for (guint i = 0; i < rows->len; i++) {
		g_auto(GStrv) parts = g_strsplit(g_ptr_array_index(rows, i), " ", 2);
		json_array_append_new(arr, json_pack("{ss ss}", "name", parts[0], "number", parts[1] ? parts[1] : ""));
	}
	return arr;
}

static json_t *article_json(const DkArticle *a)
{
	return json_pack("{sI ss ss ss so so so so so so so so sb}", "id", (json_int_t)a->id, "direction",
			 a->direction, "visibility", a->visibility, "evidence", a->evidence, "from",
			 jstr(a->sender), "to", jstr(a->recipients), "subject", jstr(a->subject), "message_id",
			 jstr(a->message_id), "created_at", jtime(a->created_at), "new_text", jstr(a->new_text),
			 "text", jstr(a->full_text), "raw_sha256", jstr(a->raw_sha256), "internal",
			 strcmp(a->visibility, "internal") == 0);
}

static json_t *event_json(const DkEvent *e)
{
	json_t *detail = json_loads(e->detail, 0, NULL);
	return json_pack("{sI ss so so so}", "id", (json_int_t)e->id, "type", e->type, "article",
			 e->article ? json_integer(e->article) : json_null(), "created_at", jtime(e->created_at),
			 "detail", detail ? detail : json_object());
}

typedef struct {
	DkTicket *ticket;
	GPtrArray *articles, *events, *message_ids, *tags, *participants, *links, *foreign, *addresses;
} TicketView;

static void view_clear(TicketView *v)
{
	dk_ticket_free(v->ticket);
	g_clear_pointer(&v->articles, g_ptr_array_unref);
	g_clear_pointer(&v->events, g_ptr_array_unref);
	g_clear_pointer(&v->message_ids, g_ptr_array_unref);
	g_clear_pointer(&v->tags, g_ptr_array_unref);
	g_clear_pointer(&v->participants, g_ptr_array_unref);
	g_clear_pointer(&v->links, g_ptr_array_unref);
	g_clear_pointer(&v->foreign, g_ptr_array_unref);
	g_clear_pointer(&v->addresses, g_ptr_array_unref);
}

static gboolean view_load(DkStore *store, gint64 number, TicketView *v, GError **error)
{
	return (v->ticket = dk_store_ticket_get(store, number, error)) != NULL &&
	       (v->articles = dk_store_articles(store, number, error)) != NULL &&
	       (v->events = dk_store_events(store, number, error)) != NULL &&
	       (v->message_ids = dk_store_message_ids(store, number, error)) != NULL &&
	       (v->tags = dk_store_tags(store, number, error)) != NULL &&
	       (v->participants = dk_store_participants(store, number, error)) != NULL &&
	       (v->links = dk_store_links(store, number, error)) != NULL &&
	       (v->foreign = dk_store_foreign_refs(store, number, error)) != NULL &&
	       (v->addresses = dk_store_ticket_addresses(store, number, error)) != NULL;
}

static void show_json(const TicketView *v, const char *prefix)
{
	json_t *ticket = ticket_json(v->ticket, prefix);
	json_object_set_new(ticket, "tags", strings_json(v->tags));
	json_object_set_new(ticket, "participants", participants_json(v->participants));
	json_object_set_new(ticket, "links", links_json(v->links));
	json_object_set_new(ticket, "foreign_refs", foreign_json(v->foreign));
	json_object_set_new(ticket, "addresses", strings_json(v->addresses));
	json_object_set_new(ticket, "closed_at", v->ticket->closed_at ? jtime(v->ticket->closed_at) : json_null());
	json_t *articles = json_array(), *events = json_array();
	for (guint i = 0; i < v->articles->len; i++)
		json_array_append_new(articles, article_json(g_ptr_array_index(v->articles, i)));
	for (guint i = 0; i < v->events->len; i++)
		json_array_append_new(events, event_json(g_ptr_array_index(v->events, i)));
	g_autoptr(json_t) doc = json_pack("{so so so so}", "ticket", ticket, "articles", articles, "message_ids",
					  strings_json(v->message_ids), "events", events);
	print_json(doc);
}

static void show_text(const TicketView *v, const char *prefix)
{
	const DkTicket *t = v->ticket;
	g_autofree char *created = iso_time(t->created_at);
	printf("[%s #%" G_GINT64_FORMAT "] %s\n", prefix, t->number, t->subject);
	printf("  status %s · priority %s · queue %s · assignee %s\n", t->status, t->priority, t->queue,
	       t->assignee ? t->assignee : "-");
	printf("  requester %s · created %s\n", t->requester ? t->requester : "-", created);
	for (guint i = 0; i < v->participants->len; i++)
		printf("  participant %s\n", (char *)g_ptr_array_index(v->participants, i));
	for (guint i = 0; i < v->links->len; i++)
		printf("  linked to #%s\n", (char *)g_ptr_array_index(v->links, i));
	for (guint i = 0; i < v->foreign->len; i++)
		printf("  foreign %s\n", (char *)g_ptr_array_index(v->foreign, i));
	for (guint i = 0; i < v->addresses->len; i++)
		printf("  came to %s\n", (char *)g_ptr_array_index(v->addresses, i));
	for (guint i = 0; i < v->articles->len; i++) {
		const DkArticle *a = g_ptr_array_index(v->articles, i);
		g_autofree char *when = iso_time(a->created_at);
		printf("\n── article %" G_GINT64_FORMAT " · %s · %s · %s · from %s · evidence %s\n", a->id,
		       a->direction, a->visibility, when, a->sender ? a->sender : "-", a->evidence);
		printf("   Message-ID: <%s>\n   Subject: %s\n\n", a->message_id, a->subject);
		g_auto(GStrv) lines = g_strsplit(a->new_text ? a->new_text : "", "\n", -1);
		for (int l = 0; lines[l] != NULL; l++)
			printf("   %s\n", lines[l]);
	}
	printf("\nevents:\n");
	for (guint i = 0; i < v->events->len; i++) {
		const DkEvent *e = g_ptr_array_index(v->events, i);
		g_autofree char *when = iso_time(e->created_at);
		printf("  %s  %-20s %s\n", when, e->type, e->detail);
	}
}

static int show(DkStore *store, const DkConfig *config, const char *arg)
{
	gint64 number = 0;
	if (!g_ascii_string_to_signed(arg[0] == '#' ? arg + 1 : arg, 10, 1, G_MAXINT64, &number, NULL)) {
		dk_cli_error("ticket show: “%s” is not a ticket number", arg);
		return DK_EXIT_USAGE;
	}
	g_autoptr(GError) error = NULL;
	TicketView v = {0};
	if (!view_load(store, number, &v, &error)) {
		view_clear(&v);
		dk_cli_error("ticket show: %s", error->message);
		return g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND) ? DK_EXIT_NOINPUT : DK_EXIT_TEMPFAIL;
	}
	const char *prefix = dk_config_get_string(config, "threading", "token_prefix");
	if (as_json)
		show_json(&v, prefix);
	else
		show_text(&v, prefix);
	view_clear(&v);
	return DK_EXIT_OK;
}

int dk_cmd_ticket(int argc, char **argv)
{
	g_autofree char *status = NULL;
	int limit = 0;
	as_json = FALSE;
	const GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON", NULL},
		{"status", 's', 0, G_OPTION_ARG_STRING, &status, "list: only tickets with this status", "STATUS"},
		{"limit", 'n', 0, G_OPTION_ARG_INT, &limit, "list: at most N tickets", "N"},
		G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new("list | show NUMBER");
	g_option_context_set_summary(context, "list: the tickets, most recently updated first.\n"
					      "show NUMBER: one ticket with its articles and events.");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	gboolean is_list = argc == 2 && strcmp(argv[1], "list") == 0;
	gboolean is_show = argc == 3 && strcmp(argv[1], "show") == 0;
	if (!is_list && !is_show) {
		dk_cli_error("ticket: expected “list” or “show NUMBER” (see --help)");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = NULL;
	g_autoptr(DkStore) store = NULL;
	int rc = dk_cli_open("ticket", &config, &store);
	if (rc != DK_EXIT_OK)
		return rc;
	return is_list ? list(store, config, status, (guint)MAX(limit, 0)) : show(store, config, argv[2]);
}
