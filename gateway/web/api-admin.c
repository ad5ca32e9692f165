/* The API's quarantine and outbox: what became no article, and what
 * waits to be sent. */
#include "gateway/web/api-private.h"

#include "gateway/error.h"
#include "gateway/store/store-outbox.h"

#include <string.h>

json_t *dk_api_quarantine_list(DkApiRequest *r, GError **error)
{
	g_autoptr(GPtrArray) entries = dk_store_quarantine_list(dk_web_store(r->web), error);
	if (entries == NULL)
		return NULL;
	json_t *arr = json_array();
	for (guint i = 0; i < entries->len; i++)
		json_array_append_new(arr, dk_quarantined_json(g_ptr_array_index(entries, i)));
	return json_pack("{so}", "quarantine", arr);
}

json_t *dk_api_quarantine_show(DkApiRequest *r, GError **error)
{
	g_autoptr(DkQuarantined) q = dk_store_quarantine_get(dk_web_store(r->web), r->id, error);
	return q ? dk_quarantined_json(q) : NULL;
}

/* The body is optional: {"release": true} makes it an article whatever
 * set it aside. */
static gboolean release_of(DkApiRequest *r, gboolean *release_out, GError **error)
{
	SoupMessageBody *body = soup_server_message_get_request_body(r->msg);
	*release_out = FALSE;
	if (body->length == 0)
		return TRUE;
	g_autoptr(json_t) doc = dk_api_body(r, error);
	if (doc == NULL)
		return FALSE;
	json_t *release = json_object_get(doc, "release");
	if (release != NULL && !json_is_boolean(release))
		return dk_api_invalid(error, "release: true or false");
	*release_out = json_is_true(release);
	return TRUE;
}

json_t *dk_api_quarantine_reprocess(DkApiRequest *r, GError **error)
{
	gboolean release = FALSE;
	gint64 ticket = 0;
	if (!release_of(r, &release, error) ||
	    !dk_web_quarantine_reprocess(r->web, r->user, r->id, release, &ticket, error))
		return NULL;
	return json_pack("{sI so}", "id", (json_int_t)r->id, "ticket",
	                 ticket ? json_integer(ticket) : json_null());
}

json_t *dk_api_outbox_list(DkApiRequest *r, GError **error)
{
	static const char *const states[] = {"pending", "done", "failed", "held", NULL};
	const char *state = dk_api_param(r, "state");
	gint64 limit = 0;
	if (state != NULL && !g_strv_contains(states, state)) {
		dk_api_invalid(error, "state: pending, done, failed or held");
		return NULL;
	}
	if (!dk_api_param_int(r, "limit", 1, 1000, 100, &limit, error))
		return NULL;
	g_autoptr(GPtrArray) rows =
	    dk_store_outbox_list(dk_web_store(r->web), state, (guint)limit, error);
	if (rows == NULL)
		return NULL;
	json_t *arr = json_array();
	for (guint i = 0; i < rows->len; i++)
		json_array_append_new(arr, dk_outbox_row_json(g_ptr_array_index(rows, i)));
	return json_pack("{so}", "outbox", arr);
}

json_t *dk_api_outbox_retry(DkApiRequest *r, GError **error)
{
	if (!dk_web_outbox_retry(r->web, r->user, r->id, error))
		return NULL;
	g_autoptr(DkOutboxRow) row = dk_store_outbox_get(dk_web_store(r->web), r->id, error);
	return row ? dk_outbox_row_json(row) : NULL;
}
