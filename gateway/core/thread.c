/* Threading lookups against the store's Message-ID index. */
#include "gateway/core/thread.h"

static gboolean find_id(DkStore *store, const char *id, gint64 *ticket_out, gboolean *found_out,
			GError **error)
{
	*found_out = FALSE;
	if (id == NULL || *id == '\0')
		return TRUE;
	return dk_store_message_id_find(store, id, ticket_out, found_out, error);
}

gboolean dk_thread_find(DkStore *store, const DkMessage *message, DkThreadMatch *match_out,
			GError **error)
{
	gint64 ticket = 0;
	gboolean found = FALSE;
	match_out->ticket = 0;
	match_out->evidence = "new";
	if (!find_id(store, message->in_reply_to, &ticket, &found, error))
		return FALSE;
	/* The newest reference is the likeliest to be ours; older ones still
	 * count, since a client may trim or reorder the list. */
	for (guint i = message->references->len; !found && i > 0; i--) {
		if (!find_id(store, g_ptr_array_index(message->references, i - 1), &ticket, &found, error))
			return FALSE;
	}
	if (found) {
		match_out->ticket = ticket;
		match_out->evidence = "header";
	}
	return TRUE;
}
