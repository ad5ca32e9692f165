/* The per-sender rate limit of the intake (sender-limit.h). */
#include "gateway/core/sender-limit.h"

#include "gateway/error.h"
#include "gateway/core/pipeline-private.h"
#include "gateway/store/store-limits.h"

#include <string.h>

#define WINDOW_SECONDS 3600

static gboolean exempt(const DkPipelineItem *item, const DkThreadPolicy *policy)
{
	const char *why = NULL;
	return item->message->from == NULL || item->requeued_from != 0 || item->release ||
	       g_strcmp0(item->intake, "import") == 0 || g_strcmp0(item->intake, "history") == 0 ||
	       dk_thread_agent_trust(policy, item->message, &why) == DK_AGENT_VERIFIED;
}

gboolean dk_sender_limit_check(DkStore *store, const DkPipelineItem *item,
                               const DkThreadPolicy *policy, char **hold_reason_out, GError **error)
{
	*hold_reason_out = NULL;
	if (item->config == NULL)
		return TRUE;
	gint64 limit = dk_config_get_int(item->config, "limits", "sender_per_hour");
	if (limit == 0 || exempt(item, policy))
		return TRUE;
	const char *sender = item->message->from->address;
	gint64 recent = 0;
	if (!dk_store_sender_recent(store, sender, item->received_at - WINDOW_SECONDS + 1, limit,
	                            &recent, error))
		return FALSE;
	if (recent < limit)
		return TRUE;
	g_message("writer message_id=%s event=rate_limited from=%s recent=%" G_GINT64_FORMAT
	          " limit=%" G_GINT64_FORMAT,
	          item->message->message_id, sender, recent, limit);
	if (strcmp(dk_config_get_string(item->config, "limits", "sender_action"), "hold") == 0) {
		*hold_reason_out =
		    g_strdup_printf("held: %s sent more than %" G_GINT64_FORMAT
		                    " messages within an hour ([limits] sender_per_hour)",
		                    sender, limit);
		return TRUE;
	}
	g_set_error(error, DK_ERROR, DK_ERROR_RATE_LIMITED,
	            "%s sent more than %" G_GINT64_FORMAT " messages within an hour"
	            " ([limits] sender_per_hour): try again later",
	            sender, limit);
	return FALSE;
}
