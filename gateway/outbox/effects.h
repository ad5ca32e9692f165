/* docket's implementation of core's effects interface (core/effects.h):
 * the effects of each stored message become outbox rows in the writer's
 * transaction, sent after commit by the outbox worker. */
#pragma once

#include "gateway/core/effects.h"

G_BEGIN_DECLS

/* Marks a bouncing address (store.h), then writes the connector rows
 * (connector-events.h) and, for a new ticket, the acknowledgement and the
 * team's notices (notify.h). Pass it to dk_pipeline_new(). */
extern const DkEffectsOps dk_outbox_effects;

G_END_DECLS
