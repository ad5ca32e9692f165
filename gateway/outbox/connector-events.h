/* Ticket events for the help-desk connectors, written as outbox rows of
 * kind "connector" in the writer's transaction (the connectors themselves,
 * which need libcurl, are in outbox/connectors/ and run in the worker). */
#pragma once

#include "gateway/config.h"
#include "gateway/core/effects.h"
#include "gateway/store/store.h"

G_BEGIN_DECLS

/* For a message that stored an article (fx->article_event; effects.h):
 * for each [connector:NAME] whose queues take its ticket, one row
 * (target NAME) per event: "ticket.created" for a ticket new to the
 * connector (a new one, one that came into its queues, one older than
 * the connector), else "article.created"; then one "ticket.updated" per status, priority or
 * assignee change the message made (agent commands, rules, a reopening
 * reply). The payload is {"event", "ticket", "article"[, "field", "old",
 * "new", "by"]}. Imported mail is history and sends nothing. */
gboolean dk_connector_enqueue(DkStore *store, const DkConfig *config, const DkEffects *fx,
                              GError **error);

/* The same for changes made outside the pipeline, by the agent's command
 * line, in its transaction: every status, priority or assignee event after
 * event id after_event (of any ticket) becomes a "ticket.updated" row, and
 * article (0: none), a note or reply written on ticket, an
 * "article.created" row, for the connectors taking each ticket; a ticket
 * a connector has not seen is created there first, with its first
 * article. */
gboolean dk_connector_enqueue_desk(DkStore *store, const DkConfig *config, gint64 after_event,
                                   gint64 ticket, gint64 article, gint64 now, GError **error);

/* Whether a connector with these queues ("*" is every queue) takes a
 * ticket in queue. */
gboolean dk_connector_queue_matches(char **queues, const char *queue);

G_END_DECLS
