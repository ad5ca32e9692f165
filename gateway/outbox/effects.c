/* The outbox's side of core/effects.h: one message's effects as rows. */
#include "gateway/outbox/effects.h"

#include "gateway/outbox/connector-events.h"
#include "gateway/outbox/notify.h"

static gboolean write_effects(DkStore *store, const DkConfig *config, const DkEffects *e,
                              GError **error)
{
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

const DkEffectsOps dk_outbox_effects = {
    .write = write_effects,
};
