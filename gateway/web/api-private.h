/* What the API's files share (api.c: the router and the helpers;
 * api-tickets.c, api-articles.c, api-admin.c: the handlers). */
#pragma once

#include "gateway/desk/ticket-view.h"
#include "gateway/json.h"
#include "gateway/web/actions.h"
#include "gateway/web/api.h"
#include "gateway/web/auth.h"

G_BEGIN_DECLS

/* One request the router matched. */
typedef struct {
	DkWeb *web;
	SoupServerMessage *msg;
	GHashTable *query; /* the decoded query parameters, or NULL */
	const DkUser *user;
	gint64 id;    /* the number in the path (tickets/{n}, outbox/{id}/retry), or 0 */
	guint status; /* the answer's status: 200 unless the handler sets 201 */
} DkApiRequest;

/* A handler: the JSON answer (a new reference), or NULL and an error. NULL
 * without an error: the handler answered msg itself. */
typedef json_t *(*DkApiHandler)(DkApiRequest *r, GError **error);

/* The handlers, each documented in contrib/openapi.yaml. */
json_t *dk_api_tickets_list(DkApiRequest *r, GError **error);
json_t *dk_api_ticket_create(DkApiRequest *r, GError **error);
json_t *dk_api_ticket_show(DkApiRequest *r, GError **error);
json_t *dk_api_ticket_update(DkApiRequest *r, GError **error);
json_t *dk_api_ticket_merge(DkApiRequest *r, GError **error);
json_t *dk_api_time_list(DkApiRequest *r, GError **error);
json_t *dk_api_time_add(DkApiRequest *r, GError **error);
json_t *dk_api_articles_list(DkApiRequest *r, GError **error);
json_t *dk_api_reply(DkApiRequest *r, GError **error);
json_t *dk_api_note(DkApiRequest *r, GError **error);
json_t *dk_api_attachment_get(DkApiRequest *r, GError **error);
json_t *dk_api_search(DkApiRequest *r, GError **error);
json_t *dk_api_quarantine_list(DkApiRequest *r, GError **error);
json_t *dk_api_quarantine_show(DkApiRequest *r, GError **error);
json_t *dk_api_quarantine_reprocess(DkApiRequest *r, GError **error);
json_t *dk_api_outbox_list(DkApiRequest *r, GError **error);
json_t *dk_api_outbox_retry(DkApiRequest *r, GError **error);
json_t *dk_api_me(DkApiRequest *r, GError **error);

/* The request's body as a JSON object; DK_WEB_ERROR_INVALID when it is
 * not one (or not application/json). */
json_t *dk_api_body(DkApiRequest *r, GError **error);

/* A string member of body: NULL when absent or null; FALSE and
 * DK_WEB_ERROR_INVALID when it is there and not a string. */
gboolean dk_api_string(json_t *body, const char *key, const char **value_out, GError **error);

/* A query parameter, or NULL. */
const char *dk_api_param(DkApiRequest *r, const char *key);

/* The integer query parameter key within [min, max] into value_out
 * (fallback when absent); DK_WEB_ERROR_INVALID otherwise. */
gboolean dk_api_param_int(DkApiRequest *r, const char *key, gint64 min, gint64 max, gint64 fallback,
                          gint64 *value_out, GError **error);

/* FALSE and DK_WEB_ERROR_INVALID with message. */
gboolean dk_api_invalid(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* The document GET tickets/{n} answers: the ticket with everything shown
 * of it (dk_ticket_view_json). */
json_t *dk_api_ticket_doc(DkWeb *web, gint64 number, GError **error);

G_END_DECLS
