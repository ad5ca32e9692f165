/* What the web desk's pages show, read from the store: one JSON object
 * per page, the data its template (desk-pages/) is rendered against. The
 * handlers (desk.c) add who is logged in, the CSRF token and messages.
 * Reads only; nothing here writes. Errors are the store's (DK_ERROR),
 * and DK_ERROR_PERMANENT for a filter that names no status or state. */
#pragma once

#include "gateway/config.h"
#include "gateway/desk/conversation.h"
#include "gateway/json.h"
#include "gateway/store/store.h"

G_BEGIN_DECLS

/* Tickets on one page of the list when no limit is asked for. */
#define DK_DESK_PAGE_SIZE 50
/* The most tickets one page lists. */
#define DK_DESK_PAGE_MAX 1000
/* Outbox rows (and quarantined messages) one page lists, newest first. */
#define DK_DESK_OUTBOX_ROWS 200

/* The list's filters, as the page's form sends them; NULL or "" for a
 * text field does not filter. */
typedef struct {
	const char *status; /* "working" (NULL, ""): all but resolved and closed;
	                     * "all"; or one status's name */
	const char *priority;
	const char *queue;
	const char *assignee;
	gboolean breached; /* only tickets that missed an SLA target */
	guint limit;       /* 0: DK_DESK_PAGE_SIZE; at most DK_DESK_PAGE_MAX */
} DkDeskFilters;

/* The ticket list (list.html), most urgent first as `docket ticket list`
 * orders it, each with its SLA column as of now: {tickets, has_tickets,
 * filters, more (the query string of a longer page, or absent)}. */
json_t *dk_desk_view_list(DkStore *store, const DkDeskFilters *filters, gint64 now, GError **error);

/* A search of subjects and article text (list.html's search part):
 * {search: {query, hits: [{ticket, subject, status, snippet: [{text,
 * hit}]}], has_hits}}, one hit per ticket, best first. */
json_t *dk_desk_view_search(DkStore *store, const char *query, GError **error);

/* One ticket (ticket.html): {ticket, articles, events, statuses (the ones
 * it may go to), priorities, recipients (of a public reply)} with every
 * article's direction, visibility, threading evidence and attachments.
 * DK_ERROR_NOT_FOUND for no such ticket. */
json_t *dk_desk_view_ticket(DkStore *store, const DkConfig *config,
                            const DkConversation *conversation, gint64 number, gint64 now,
                            GError **error);

/* The quarantine (quarantine.html): {entries, has_entries, counts}, the
 * newest DK_DESK_OUTBOX_ROWS entries, each with the From and Subject of
 * its message where its header block can be read. */
json_t *dk_desk_view_quarantine(DkStore *store, GError **error);

/* One quarantined message (quarantine-entry.html): {entry} with its
 * reason, From, Subject and the start of its raw text (at most
 * DK_DESK_RAW_SHOWN bytes, invalid UTF-8 replaced), and whether it was
 * cut. DK_ERROR_NOT_FOUND for no such entry. */
json_t *dk_desk_view_quarantined(DkStore *store, gint64 id, GError **error);

/* How much of a quarantined message its page shows. */
#define DK_DESK_RAW_SHOWN (256 * 1024)

/* The outbox (outbox.html): the rows in state ("pending", "failed",
 * "done", "held"; NULL, "" or "all": every row), newest first, with the
 * files a relayed reply carries: {rows, has_rows, states}. */
json_t *dk_desk_view_outbox(DkStore *store, const char *state, GError **error);

/* "2026-12-06 20:15 UTC" for a Unix time. */
char *dk_desk_view_time(gint64 t);

G_END_DECLS
