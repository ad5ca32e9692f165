/* `docket ticket list|show|search` and the dispatcher of every ticket
 * subcommand (the changes are in cmd-ticket-edit.c): the tickets as a
 * table, or as JSON for scripts. The JSON shape is documented in README.md
 * and kept stable. */
#include "gateway/cli/cmd-ticket.h"

#include "gateway/desk/desk.h"
#include "gateway/desk/ticket-view.h"
#include "gateway/error.h"
#include "gateway/desk/retention.h"
#include "gateway/store/store-attachments.h"
#include "gateway/store/store-retention.h"

#include <stdio.h>
#include <string.h>

static gboolean as_json;

char *dk_ticket_iso_time(gint64 t)
{
	return dk_iso_time(t);
}

void dk_ticket_print_json(json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	puts(text);
	free(text);
}

/* A date ("2026-11-01", midnight UTC) or an ISO 8601 time as Unix time. */
static gboolean parse_since(const char *option, const char *text, gint64 *out)
{
	if (text == NULL)
		return TRUE;
	if (dk_time_parse(text, out))
		return TRUE;
	dk_cli_error("ticket list: %s “%s” is not a date (2026-11-01) or ISO 8601 time", option,
	             text);
	return FALSE;
}

/* "3d", "5h", "12m": how long ago t was. */
static char *age(gint64 now, gint64 t)
{
	gint64 s = MAX(now - t, 0);
	if (s >= 86400)
		return g_strdup_printf("%" G_GINT64_FORMAT "d", s / 86400);
	if (s >= 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT "h", s / 3600);
	return g_strdup_printf("%" G_GINT64_FORMAT "m", s / 60);
}

/* The --status filters into statuses (room for DK_STATUS_COUNT). */
static gboolean valid_filters(const DkTicketOptions *o, DkTicketStatus *statuses, guint *n_out)
{
	*n_out = 0;
	for (guint i = 0; o->statuses && o->statuses[i]; i++) {
		DkTicketStatus status;
		if (!dk_ticket_status_parse(o->statuses[i], &status)) {
			dk_cli_error("ticket list: “%s” is no status", o->statuses[i]);
			return FALSE;
		}
		dk_ticket_status_set_add(statuses, n_out, status);
	}
	return TRUE;
}

static int list(DkStore *store, const DkConfig *config, const DkTicketOptions *o)
{
	DkTicketStatus statuses[DK_STATUS_COUNT];
	DkTicketQuery q = {
	    .statuses = statuses,
	    .priority = o->priority,
	    .queue = o->queue,
	    .assignee = o->assignee,
	    .requester = o->requester,
	    .include_merged = o->all,
	    .breached = o->breached,
	    .limit = (guint)MAX(o->limit, 0),
	};
	gint64 now = 0;
	if (!valid_filters(o, statuses, &q.n_statuses) ||
	    !parse_since("--created-since", o->created_since, &q.created_since) ||
	    !parse_since("--updated-since", o->updated_since, &q.updated_since) ||
	    !dk_ticket_now(o, &now))
		return DK_EXIT_USAGE;
	q.now = now;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tickets = dk_store_ticket_query(store, &q, &error);
	if (tickets == NULL)
		return dk_ticket_fail("ticket list", error);
	const char *prefix = dk_config_get_string(config, "threading", "token_prefix");
	g_autoptr(GPtrArray) left = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(json_t) arr = json_array();
	g_autoptr(GArray) slas = dk_store_tickets_sla_get(store, tickets, 0, tickets->len, &error);
	if (slas == NULL)
		return dk_ticket_fail("ticket list", error);
	for (guint i = 0; i < tickets->len; i++) {
		const DkTicket *t = g_ptr_array_index(tickets, i);
		const DkTicketSla *sla = &g_array_index(slas, DkTicketSla, i);
		g_ptr_array_add(left, dk_desk_sla_left(t, sla, now));
		if (as_json) {
			json_t *o = dk_ticket_json(t, prefix);
			json_object_set_new(o, "sla", json_string(g_ptr_array_index(left, i)));
			json_object_set_new(o, "sla_left_seconds",
			                    dk_ticket_sla_left_json(t, sla, now));
			json_object_set_new(o, "sla_paused",
			                    json_boolean(dk_ticket_status_is_paused(t->status)));
			json_array_append_new(arr, o);
		}
	}
	if (as_json) {
		g_autoptr(json_t) doc = json_pack("{sO}", "tickets", arr);
		dk_ticket_print_json(doc);
		return DK_EXIT_OK;
	}
	printf("%6s  %-11s  %-8s  %-10s  %4s  %13s  %-16s  %-24s  %s\n", "NUMBER", "STATUS",
	       "PRIORITY", "QUEUE", "AGE", "SLA", "UPDATED", "REQUESTER", "SUBJECT");
	for (guint i = 0; i < tickets->len; i++) {
		const DkTicket *t = g_ptr_array_index(tickets, i);
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(t->updated_at);
		g_autofree char *when = g_date_time_format(dt, "%Y-%m-%d %H:%M");
		g_autofree char *old = age(now, t->created_at);
		printf("%6" G_GINT64_FORMAT
		       "  %-11s  %-8s  %-10s  %4s  %13s  %-16s  %-24.24s  %s\n",
		       t->number, dk_ticket_status_name(t->status), t->priority, t->queue, old,
		       (char *)g_ptr_array_index(left, i), when, t->requester ? t->requester : "-",
		       t->subject);
	}
	return DK_EXIT_OK;
}

static int search(DkStore *store, const DkTicketOptions *o, int argc, char **argv)
{
	if (argc < 3) {
		dk_cli_error("ticket search: expected the words to look for");
		return DK_EXIT_USAGE;
	}
	g_autofree char *text = g_strjoinv(" ", argv + 2);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) hits =
	    dk_store_search(store, text, o->limit > 0 ? (guint)o->limit : 50, &error);
	if (hits == NULL)
		return dk_ticket_fail("ticket search", error);
	if (as_json) {
		g_autoptr(json_t) doc = dk_search_json(store, text, hits, &error);
		if (doc == NULL)
			return dk_ticket_fail("ticket search", error);
		dk_ticket_print_json(doc);
		return DK_EXIT_OK;
	}
	g_autoptr(GPtrArray) tickets = dk_search_tickets(store, hits, &error);
	if (tickets == NULL)
		return dk_ticket_fail("ticket search", error);
	for (guint i = 0; i < hits->len; i++) {
		const DkSearchHit *h = g_ptr_array_index(hits, i);
		const DkTicket *t = g_ptr_array_index(tickets, i);
		printf("#%-6" G_GINT64_FORMAT " %-11s %s\n        article %" G_GINT64_FORMAT
		       ": %s\n",
		       h->ticket, dk_ticket_status_name(t->status), t->subject, h->article,
		       h->snippet ? h->snippet : "");
	}
	return DK_EXIT_OK;
}

static void show_time(const DkTicketView *v)
{
	if (v->merged_into)
		printf("\nmerged into #%" G_GINT64_FORMAT "\n", v->merged_into);
	if (v->time_entries->len == 0)
		return;
	gint64 total = 0;
	printf("\ntime:\n");
	for (guint i = 0; i < v->time_entries->len; i++) {
		const DkTimeEntry *e = g_ptr_array_index(v->time_entries, i);
		g_autofree char *when = dk_ticket_iso_time(e->created_at);
		g_autofree char *d = dk_desk_format_duration(e->minutes);
		printf("  %s  %-6s %s  %s\n", when, d, e->author ? e->author : "-", e->note);
		total += e->minutes;
	}
	g_autofree char *sum = dk_desk_format_duration(total);
	printf("  total %s\n", sum);
}

/* "attachment 7: report.pdf · application/pdf · 12345 bytes · sha256 …". */
static void show_attachments(GPtrArray *all, gint64 article)
{
	gboolean first = TRUE;
	for (guint i = 0; i < all->len; i++) {
		const DkStoredAttachment *a = g_ptr_array_index(all, i);
		if (a->article != article)
			continue;
		if (first)
			printf("\n");
		first = FALSE;
		g_autofree char *day = dk_store_retention_date(a->purged_at);
		g_autofree char *purged = g_strdup_printf("content purged on %s", day);
		printf("   attachment %" G_GINT64_FORMAT ": %s · %s · %" G_GSIZE_FORMAT
		       " bytes%s%s%s · %s\n",
		       a->id, a->filename ? a->filename : "(no name)", a->content_type, a->size,
		       dk_stored_attachment_inline(a) ? " · inline" : "",
		       a->content_id ? " · cid:" : "", a->content_id ? a->content_id : "",
		       !dk_stored_attachment_kept(a) ? "not kept (over a parse limit)"
		       : a->purged_at != 0           ? purged
		                                     : a->sha256);
	}
}

static void show_text(const DkTicketView *v, const char *prefix)
{
	const DkTicket *t = v->ticket;
	g_autofree char *created = dk_ticket_iso_time(t->created_at);
	printf("[%s #%" G_GINT64_FORMAT "] %s\n", prefix, t->number, t->subject);
	printf("  status %s · priority %s · queue %s · assignee %s\n",
	       dk_ticket_status_name(t->status), t->priority, t->queue,
	       t->assignee ? t->assignee : "-");
	printf("  requester %s · created %s\n", t->requester ? t->requester : "-", created);
	if (v->sla.resolution_due != 0) {
		g_autofree char *left = dk_desk_sla_left(t, &v->sla, v->now);
		g_autofree char *first = dk_ticket_iso_time(v->sla.first_response_due);
		g_autofree char *resolution = dk_ticket_iso_time(v->sla.resolution_due);
		printf("  sla %s · first response due %s%s · resolution due %s\n", left, first,
		       v->sla.first_response_at == 0                           ? ""
		       : v->sla.first_response_at <= v->sla.first_response_due ? " (met)"
		                                                               : " (late)",
		       resolution);
	}
	for (guint i = 0; i < v->participants->len; i++) {
		const DkParticipant *p = g_ptr_array_index(v->participants, i);
		printf("  participant %s %s\n", p->address, dk_participant_role_name(p->role));
	}
	for (guint i = 0; i < v->links->len; i++) {
		const DkLink *l = g_ptr_array_index(v->links, i);
		printf("  linked to #%" G_GINT64_FORMAT " %s\n", l->ticket, l->reason);
	}
	for (guint i = 0; i < v->foreign->len; i++) {
		const DkForeignRef *r = g_ptr_array_index(v->foreign, i);
		printf("  foreign %s %s\n", r->name, r->number);
	}
	for (guint i = 0; i < v->addresses->len; i++)
		printf("  came to %s\n", (char *)g_ptr_array_index(v->addresses, i));
	for (guint i = 0; i < v->articles->len; i++) {
		const DkArticle *a = g_ptr_array_index(v->articles, i);
		g_autofree char *when = dk_ticket_iso_time(a->created_at);
		printf("\n── article %" G_GINT64_FORMAT " · %s · %s · %s · from %s · evidence %s\n",
		       a->id, dk_direction_name(a->direction), dk_visibility_name(a->visibility),
		       when, a->sender ? a->sender : "-", a->evidence);
		if (a->message_id != NULL)
			printf("   Message-ID: <%s>\n", a->message_id);
		if (a->raw_purged_at != 0) {
			g_autofree char *day = dk_store_retention_date(a->raw_purged_at);
			printf("   raw message purged on %s\n", day);
		}
		printf("   Subject: %s\n\n", a->subject);
		g_auto(GStrv) lines = g_strsplit(a->new_text ? a->new_text : "", "\n", -1);
		for (int l = 0; lines[l] != NULL; l++)
			printf("   %s\n", lines[l]);
		show_attachments(v->attachments, a->id);
	}
	show_time(v);
	printf("\nevents:\n");
	for (guint i = 0; i < v->events->len; i++) {
		const DkEvent *e = g_ptr_array_index(v->events, i);
		g_autofree char *when = dk_ticket_iso_time(e->created_at);
		printf("  %s  %-20s %s\n", when, e->type, e->detail);
	}
}

static int show(DkStore *store, const DkConfig *config, const DkTicketOptions *o, const char *arg)
{
	gint64 number = 0;
	DkTicketView v = {0};
	if (!dk_ticket_number("ticket show", arg, &number) || !dk_ticket_now(o, &v.now))
		return DK_EXIT_USAGE;
	g_autoptr(GError) error = NULL;
	if (!dk_ticket_view_load(store, number, &v, &error)) {
		dk_ticket_view_clear(&v);
		dk_cli_error("ticket show: %s", error->message);
		return g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND) ? DK_EXIT_NOINPUT
		                                                            : DK_EXIT_TEMPFAIL;
	}
	const char *prefix = dk_config_get_string(config, "threading", "token_prefix");
	if (as_json) {
		g_autoptr(json_t) doc = dk_ticket_view_json(&v, prefix);
		dk_ticket_print_json(doc);
	} else
		show_text(&v, prefix);
	dk_ticket_view_clear(&v);
	return DK_EXIT_OK;
}

/* `ticket export NUMBER --to DIR`. */
static int export(DkStore *store, const DkConfig *config, const DkTicketOptions *o, const char *arg)
{
	gint64 number = 0, now = 0;
	if (!dk_ticket_number("ticket export", arg, &number) || !dk_ticket_now(o, &now))
		return DK_EXIT_USAGE;
	if (o->to == NULL) {
		dk_cli_error("ticket export: --to DIR says where to write it");
		return DK_EXIT_USAGE;
	}
	const char *prefix = dk_config_get_string(config, "threading", "token_prefix");
	g_autoptr(GError) error = NULL;
	DkExportReport report = {0};
	gboolean ok = dk_retention_export(store, number, prefix, o->to, now, &report, &error);
	for (guint i = 0; report.purged != NULL && i < report.purged->len; i++)
		printf("not exported: %s\n", (char *)g_ptr_array_index(report.purged, i));
	if (ok)
		printf("ticket %" G_GINT64_FORMAT " exported to %s: ticket.json, %u raw message(s),"
		       " %u attachment(s)\n",
		       number, o->to, report.articles, report.attachments);
	dk_export_report_clear(&report);
	return ok ? DK_EXIT_OK : dk_ticket_fail("ticket export", error);
}

gboolean dk_ticket_now(const DkTicketOptions *o, gint64 *now_out)
{
	if (o->now == NULL) {
		*now_out = g_get_real_time() / G_USEC_PER_SEC;
		return TRUE;
	}
	if (g_ascii_string_to_signed(o->now, 10, 0, G_MAXINT64, now_out, NULL))
		return TRUE;
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(o->now, utc);
	if (dt == NULL) {
		dk_cli_error("ticket: --now “%s” is neither Unix seconds nor an ISO 8601 time",
		             o->now);
		return FALSE;
	}
	*now_out = g_date_time_to_unix(dt);
	return TRUE;
}

gboolean dk_ticket_number(const char *command, const char *arg, gint64 *number_out)
{
	if (g_ascii_string_to_signed(arg[0] == '#' ? arg + 1 : arg, 10, 1, G_MAXINT64, number_out,
	                             NULL))
		return TRUE;
	dk_cli_error("%s: “%s” is not a ticket number", command, arg);
	return FALSE;
}

int dk_ticket_fail(const char *command, const GError *error)
{
	dk_cli_error("%s: %s", command, error->message);
	if (g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND))
		return DK_EXIT_NOINPUT;
	return dk_error_is_temporary(error) ? DK_EXIT_TEMPFAIL : DK_EXIT_DATAERR;
}

static void options_clear(DkTicketOptions *o)
{
	g_strfreev(o->statuses);
	g_strfreev(o->tags);
	g_strfreev(o->untags);
	g_strfreev(o->attach);
	char *strings[] = {o->priority,      o->queue,  o->assignee, o->requester, o->created_since,
	                   o->updated_since, o->assign, o->as,       o->now,       o->to};
	for (guint i = 0; i < G_N_ELEMENTS(strings); i++)
		g_free(strings[i]);
}

/* `ticket SUB --help`: SUB's own usage, text and options. */
static const struct {
	const char *name, *usage, *text;
} subcommands[] = {
    {"list", "list [OPTION…]",
     "The tickets, most urgent first: by the SLA time left to the next target, so\n"
     "those past it first (most overdue first); a waiting or on-hold ticket by the\n"
     "time it had left when the pause began, after a running one with as much left;\n"
     "then the tickets without a target to count to by priority and age.\n"
     "SLA column: time left (2h5m), exceeded (-35m), frozen while paused (1h\n"
     "paused), met or late once resolved, - without a target."},
    {"show", "show NUMBER", "One ticket with its articles, time entries and events."},
    {"export", "export NUMBER --to DIR",
     "Writes the ticket into a new or empty DIR: ticket.json (as show --json),\n"
     "each article's raw message (article-ID.eml) and each attachment's content,\n"
     "and names what retention ([store] keep_raw_days) purged already."},
    {"search", "search WORDS…", "Tickets whose subject or text has every word, best first."},
    {"set", "set NUMBER [OPTION…]", "Changes status, priority, assignee, queue or tags."},
    {"note", "note NUMBER", "An internal note (the text from stdin, or $EDITOR on a terminal)."},
    {"reply", "reply NUMBER",
     "A reply mailed to the requester (the text from stdin, or $EDITOR on a terminal)."},
    {"time", "time NUMBER DURATION [TEXT]", "Records work (30m, 1h15m, 2h)."},
    {"merge", "merge A B", "Moves B's articles and Message-IDs to A; B points to A."},
    {"autoclose", "autoclose [--days N]", "Closes the tickets resolved --days (7) ago or longer."},
    {"sla-check", "sla-check",
     "Records the SLA targets missed by now and tells the team (once each)."},
};

/* The subcommand a --help is about, or -1. */
static int help_for(int argc, char **argv)
{
	gboolean help = FALSE;
	const char *sub = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			help = TRUE;
		else if (argv[i][0] != '-' && sub == NULL)
			sub = argv[i];
	}
	for (guint i = 0; help && sub != NULL && i < G_N_ELEMENTS(subcommands); i++)
		if (strcmp(sub, subcommands[i].name) == 0)
			return (int)i;
	return -1;
}

/* Whether an option is for sub: its description names the subcommands
 * it serves ("list, search: at most N"; "list: with this status; set: the
 * new status"); one that names none serves all. */
static gboolean option_for(const GOptionEntry *e, const char *sub)
{
	if (e->description == NULL)
		return TRUE;
	g_auto(GStrv) parts = g_strsplit(e->description, "; ", -1);
	gboolean named = FALSE;
	for (guint i = 0; parts[i] != NULL; i++) {
		const char *colon = strchr(parts[i], ':');
		if (colon == NULL)
			continue;
		g_autofree char *prefix = g_strndup(parts[i], (gsize)(colon - parts[i]));
		g_auto(GStrv) names = g_strsplit(prefix, ", ", -1);
		gboolean words = TRUE;
		for (guint n = 0; names[n] != NULL; n++)
			words = words && *names[n] != '\0' && strchr(names[n], ' ') == NULL;
		if (!words)
			continue;
		named = TRUE;
		if (g_strv_contains((const char *const *)names, sub))
			return TRUE;
	}
	return !named;
}

static const char summary[] =
    "list: the tickets, most urgent first: by the SLA time left to the next target,\n"
    "  so those past it first (most overdue first); a waiting or on-hold ticket by\n"
    "  the time it had left when the pause began, after a running one with as much\n"
    "  left; then the tickets without a target to count to by priority and age.\n"
    "  SLA column: time left (2h5m), exceeded (-35m), frozen while paused\n"
    "  (1h paused), met or late once resolved, - without a target.\n"
    "show NUMBER: one ticket with its articles, time entries and events.\n"
    "export NUMBER --to DIR: the ticket with its raw mail and attachments, as files.\n"
    "search WORDS: tickets whose subject or text has every word, best first.\n"
    "set NUMBER: change status, priority, assignee, queue or tags.\n"
    "note NUMBER / reply NUMBER: an internal note, or a reply mailed to the requester\n"
    "  and the participants copied on replies (the text from stdin, or $EDITOR on a\n"
    "  terminal); reply --attach FILE sends files with it.\n"
    "participants NUMBER [add|remove ADDRESS]: who is copied on public replies.\n"
    "time NUMBER DURATION [TEXT]: record work (30m, 1h15m, 2h).\n"
    "merge A B: move B's articles and Message-IDs to A; B points to A.\n"
    "autoclose: close the tickets resolved --days (7) ago or longer.\n"
    "sla-check: record the SLA targets missed by now and tell the team (once each).";

static int dispatch(DkTicketOptions *o, int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";
	gboolean is_list = argc == 2 && strcmp(sub, "list") == 0;
	gboolean is_show = argc == 3 && strcmp(sub, "show") == 0;
	gboolean is_search = strcmp(sub, "search") == 0;
	gboolean is_export = argc == 3 && strcmp(sub, "export") == 0;
	static const char *const edits[] = {"set",          "note",      "reply",
	                                    "participants", "time",      "merge",
	                                    "autoclose",    "sla-check", NULL};
	if (!is_list && !is_show && !is_search && !is_export && !g_strv_contains(edits, sub)) {
		dk_cli_error("ticket: expected list, show, export, search, set, note, reply,"
		             " participants, time, merge, autoclose or sla-check (see --help)");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = NULL;
	g_autoptr(DkStore) store = NULL;
	int rc = dk_cli_open("ticket", FALSE, &config, &store);
	if (rc == DK_EXIT_OK && o->days < 0)
		o->days = (int)dk_config_get_int(config, "desk", "close_after_days");
	if (rc != DK_EXIT_OK)
		return rc;
	if (is_list)
		return list(store, config, o);
	if (is_show)
		return show(store, config, o, argv[2]);
	if (is_search)
		return search(store, o, argc, argv);
	if (is_export)
		return export(store, config, o, argv[2]);
	return dk_ticket_edit(store, config, o, argc, argv);
}

int dk_cmd_ticket(int argc, char **argv)
{
	DkTicketOptions o = {.days = -1};
	as_json = FALSE;
	const GOptionEntry entries[] = {
	    {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON", NULL},
	    {"status", 's', 0, G_OPTION_ARG_STRING_ARRAY, &o.statuses,
	     "list: with this status (repeatable); set: the new status", "STATUS"},
	    {"priority", 'p', 0, G_OPTION_ARG_STRING, &o.priority,
	     "list: with this priority; set: the new one", "P"},
	    {"queue", 'q', 0, G_OPTION_ARG_STRING, &o.queue, "list: in this queue; set: move to it",
	     "Q"},
	    {"assignee", 0, 0, G_OPTION_ARG_STRING, &o.assignee, "list: assigned to ADDR", "ADDR"},
	    {"requester", 0, 0, G_OPTION_ARG_STRING, &o.requester, "list: requested by ADDR",
	     "ADDR"},
	    {"created-since", 0, 0, G_OPTION_ARG_STRING, &o.created_since,
	     "list: created on or after", "DATE"},
	    {"updated-since", 0, 0, G_OPTION_ARG_STRING, &o.updated_since,
	     "list: updated on or after", "DATE"},
	    {"all", 'a', 0, G_OPTION_ARG_NONE, &o.all, "list: merged tickets too", NULL},
	    {"breached", 0, 0, G_OPTION_ARG_NONE, &o.breached,
	     "list: only tickets that missed an SLA target", NULL},
	    {"limit", 'n', 0, G_OPTION_ARG_INT, &o.limit, "list, search: at most N", "N"},
	    {"assign", 0, 0, G_OPTION_ARG_STRING, &o.assign, "set: assign to ADDR", "ADDR"},
	    {"unassign", 0, 0, G_OPTION_ARG_NONE, &o.unassign, "set: assign to nobody", NULL},
	    {"tag", 't', 0, G_OPTION_ARG_STRING_ARRAY, &o.tags, "set: add a tag (repeatable)",
	     "TAG"},
	    {"untag", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.untags, "set: remove a tag (repeatable)",
	     "TAG"},
	    {"as", 0, 0, G_OPTION_ARG_STRING, &o.as,
	     "the agent acting, ADDR or \"Name <ADDR>\" (default $DOCKET_AGENT)", "ADDR"},
	    {"attach", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.attach,
	     "reply: send FILE with it (repeatable)", "FILE"},
	    {"to", 0, 0, G_OPTION_ARG_FILENAME, &o.to, "export: write into DIR (new or empty)",
	     "DIR"},
	    {"days", 0, 0, G_OPTION_ARG_INT, &o.days,
	     "autoclose: days after resolution (default [desk] close_after_days, 7)", "N"},
	    {"now", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &o.now, "the clock, for tests",
	     "TIME"},
	    G_OPTION_ENTRY_NULL,
	};
	int sub = help_for(argc, argv);
	g_autoptr(GOptionContext) context =
	    g_option_context_new(sub >= 0 ? subcommands[sub].usage : "COMMAND [ARGS]");
	g_option_context_set_summary(context, sub >= 0 ? subcommands[sub].text : summary);
	GOptionEntry own[G_N_ELEMENTS(entries)];
	guint n = 0;
	for (guint i = 0; i < G_N_ELEMENTS(entries); i++)
		if (sub < 0 || entries[i].long_name == NULL ||
		    option_for(&entries[i], subcommands[sub].name))
			own[n++] = entries[i];
	g_option_context_add_main_entries(context, own, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	int rc =
	    dk_cli_parse_options(context, &argc, &argv) ? dispatch(&o, argc, argv) : DK_EXIT_USAGE;
	options_clear(&o);
	return rc;
}
