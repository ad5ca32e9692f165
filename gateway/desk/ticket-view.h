/* A ticket as docket shows it: everything read of it at once and its
 * JSON. `docket ticket show|list|search --json` and the HTTP API
 * (contrib/openapi.yaml) share these shapes. Times are ISO 8601 in UTC;
 * absent values are JSON null. Every json_t returned is a new reference. */
#pragma once

#include "gateway/json.h"
#include "gateway/store/store-attachments.h"
#include "gateway/store/store-outbox.h"
#include "gateway/store/store.h"

G_BEGIN_DECLS

/* Everything `ticket show` shows of a ticket. */
typedef struct {
	DkTicket *ticket;
	GPtrArray *articles, *events, *message_ids, *tags, *participants, *links, *foreign,
	    *addresses, *fields;
	GPtrArray *time_entries;
	GPtrArray *attachments; /* of DkStoredAttachment*, by article */
	gint64 merged_into;
	DkTicketSla sla;
	gint64 now; /* the clock the SLA time left is shown at */
} DkTicketView;

/* Reads ticket number into v (zeroed by the caller; v->now set by the
 * caller); DK_ERROR_NOT_FOUND for an unknown ticket. Clear v afterwards,
 * also on failure. */
gboolean dk_ticket_view_load(DkStore *store, gint64 number, DkTicketView *v, GError **error);
void dk_ticket_view_clear(DkTicketView *v);

/* {"ticket": {... tags, fields, participants, links, foreign_refs,
 * addresses, closed_at, merged_into, time_entries, time_minutes, sla},
 * "articles", "message_ids", "events"}; prefix: [threading] token_prefix. */
json_t *dk_ticket_view_json(const DkTicketView *v, const char *prefix);

/* A ticket's row: number, token, subject, status, priority, queue,
 * requester, organisation, assignee, articles, created_at, updated_at. */
json_t *dk_ticket_json(const DkTicket *t, const char *prefix);
/* The seconds left to the next SLA target (negative: exceeded), or null. */
json_t *dk_ticket_sla_left_json(const DkTicket *t, const DkTicketSla *sla, gint64 now);

/* The ticket of each of hits (of DkSearchHit*), in their order (of
 * DkTicket*); NULL and the store's error when one cannot be read. */
GPtrArray *dk_search_tickets(DkStore *store, GPtrArray *hits, GError **error);

/* `ticket search --json`'s document: {"query", "hits"}, each hit
 * {"ticket", "article", "rank", "status", "subject", "snippet"}; NULL and the store's error. */
json_t *dk_search_json(DkStore *store, const char *query, GPtrArray *hits, GError **error);

/* An article with the attachments of it among attachments (of
 * DkStoredAttachment*). */
json_t *dk_article_json(const DkArticle *a, GPtrArray *attachments);
/* The attachments of article among all, as an array. */
json_t *dk_attachments_json(GPtrArray *all, gint64 article);
json_t *dk_event_json(const DkEvent *e);

/* Whether a is an inline part (shown in the text, e.g. a cid: image). */
gboolean dk_stored_attachment_inline(const DkStoredAttachment *a);

/* An outbox row (`docket outbox list --json`, the API): id, kind,
 * target, ticket, state, attempts, next_attempt_at, last_error,
 * created_at (Unix seconds) and payload. */
json_t *dk_outbox_row_json(const DkOutboxRow *r);

/* A quarantined message (`docket quarantine list --json`, the API). */
json_t *dk_quarantined_json(const DkQuarantined *q);

/* A date ("2026-11-01", midnight UTC) or an ISO 8601 time as Unix time
 * into out; FALSE when text is neither. */
gboolean dk_time_parse(const char *text, gint64 *out);

/* "2026-12-06T20:15:00Z". */
char *dk_iso_time(gint64 t);
json_t *dk_json_time(gint64 t);
json_t *dk_json_time_or_null(gint64 t); /* 0: null */
json_t *dk_json_string_or_null(const char *s);
/* Of char*: an array of strings. */
json_t *dk_json_strings(GPtrArray *items);
/* Of DkParticipant*: {"address", "role"} objects. */
json_t *dk_json_participants(GPtrArray *rows);
/* Of DkLink*: {"ticket", "reason"} objects. */
json_t *dk_json_links(GPtrArray *rows);

G_END_DECLS
