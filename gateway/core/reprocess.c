/* A quarantined message through the pipeline again (reprocess.h). */
#include "gateway/core/reprocess.h"

#include "gateway/error.h"

gboolean dk_pipeline_reprocess(DkPipeline *pipeline, DkStore *store, const DkQuarantined *q,
                               gboolean release, DkOutcome *outcome_out, gint64 *ticket_out,
                               GError **error)
{
	g_autoptr(GBytes) raw = dk_store_raw_get(store, q->raw_sha256, error);
	if (raw == NULL)
		return FALSE;
	g_auto(GStrv) recipients = q->recipients ? g_strsplit(q->recipients, ",", -1) : NULL;
	DkIntake intake = {.intake = q->intake,
	                   .envelope_from = q->envelope_from,
	                   .recipients = (const char *const *)recipients,
	                   .received_at = q->received_at};
	g_autoptr(DkPipelineItem) item = dk_pipeline_prepare(pipeline, raw, &intake, error);
	if (item == NULL)
		return FALSE;
	if (dk_pipeline_item_message(item) == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "still unreadable: %s",
		            dk_pipeline_item_quarantine_reason(item));
		return FALSE;
	}
	dk_pipeline_item_set_requeued_from(item, q->id);
	dk_pipeline_item_set_release(item, release);
	if (!dk_pipeline_commit(pipeline, &item, 1, error))
		return FALSE;
	GError *own = dk_pipeline_item_steal_error(item);
	if (own != NULL) {
		g_propagate_error(error, own);
		return FALSE;
	}
	const DkDelivery *result = dk_pipeline_item_result(item);
	*outcome_out = result->outcome;
	*ticket_out = result->ticket;
	return TRUE;
}
