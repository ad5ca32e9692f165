/* Threading: which existing ticket a message belongs to, by the evidence
 * listed in DESIGN.md ("Threading, in order of trust"). Reads the store
 * inside the writer's transaction, so messages of one batch see each other. */
#pragma once

#include "gateway/core/store.h"
#include "parsers/message.h"

G_BEGIN_DECLS

typedef struct {
	gint64 ticket;        /* 0: no existing ticket, open a new one */
	const char *evidence; /* "header" or "new"; a static string */
} DkThreadMatch;

/* Looks for the ticket of message: its In-Reply-To, then every References
 * entry from the newest, against the Message-IDs in the store. FALSE only on
 * a store error. */
gboolean dk_thread_find(DkStore *store, const DkMessage *message, DkThreadMatch *match_out,
			GError **error);

G_END_DECLS
