/* The outbox's side of core/effects.h: one message's effects as rows. */
#include "gateway/outbox/effects.h"

#include "gateway/json.h"
#include "gateway/outbox/connector-events.h"
#include "gateway/outbox/notify.h"
#include "gateway/store/store-outbox.h"

/* A redirect row: the message as received, relayed by outbox/compose.c
 * to the address under docket's loop protection. */
static gboolean queue_redirects(DkStore *store, const DkEffects *e, GError **error)
{
	if (e->redirects == NULL)
		return TRUE;
	g_autoptr(json_t) payload = json_pack("{ss}", "raw_sha256", e->raw_sha256);
	g_autofree char *text = json_dumps(payload, JSON_COMPACT);
	for (guint i = 0; i < e->redirects->len; i++) {
		if (!dk_store_outbox_add(store, dk_outbox_kind_name(DK_OUTBOX_REDIRECT),
		                         g_ptr_array_index(e->redirects, i), e->ticket, text, e->at,
		                         NULL, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean write_effects(DkStore *store, const DkConfig *config, const DkEffects *e,
                              GError **error)
{
	if (!queue_redirects(store, e, error))
		return FALSE;
	if (e->bouncing_address != NULL &&
	    !dk_store_bouncing_mark(store, e->bouncing_address, e->bouncing_status, e->at, error))
		return FALSE;
	if (!dk_connector_enqueue(store, config, e, error))
		return FALSE;
	if (!e->ticket_created)
		return TRUE;
	return dk_notify_enqueue_ack(store, config, e, error) &&
	       dk_notify_enqueue_team(store, config, e, error);
}

static gpointer prepare_effects(const DkConfig *config, const DkMessage *message,
                                const char *const *recipients)
{
	return dk_notify_prepare(config, message, recipients);
}

static void free_prepared(gpointer prepared)
{
	g_free(prepared);
}

const DkEffectsOps dk_outbox_effects = {
    .write = write_effects,
    .prepare = prepare_effects,
    .free_prepared = free_prepared,
};
