/* A quarantined message through the pipeline again (reprocess.h). */
#include "gateway/core/reprocess.h"
#include "gateway/store/store-file.h"

#include "gateway/error.h"

#include <errno.h>
#include <unistd.h>

/* Past this size a message is parsed again from a file, read in chunks,
 * as LMTP parses one past the same size (lmtp-session.c): a large raw
 * message is never held whole. */
#define LARGE_MESSAGE (1024 * 1024)

static gboolean write_failed(GError **error)
{
	g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "reprocess: writing a temporary file: %s",
	            g_strerror(errno));
	return FALSE;
}

/* q's raw message ready for the pipeline: read whole when small, else
 * copied a piece at a time into a file the pipeline reads. */
static DkPipelineItem *prepare(DkPipeline *pipeline, DkStore *store, const DkQuarantined *q,
                               const DkIntake *intake, GError **error)
{
	if (q->size <= LARGE_MESSAGE) {
		g_autoptr(GBytes) raw = dk_store_raw_get(store, q->raw_sha256, error);
		return raw != NULL ? dk_pipeline_prepare(pipeline, raw, intake, error) : NULL;
	}
	int fd = dk_store_file_temporary("reprocess");
	if (fd < 0) {
		write_failed(error);
		return NULL;
	}
	DkPipelineItem *item = NULL;
	DkStoreFileSink sink = {fd, "reprocess: writing a temporary file"};
	if (dk_store_raw_read(store, q->raw_sha256, dk_store_file_sink_write, &sink, error))
		item = dk_pipeline_prepare_fd(pipeline, fd, (gsize)q->size, intake, error);
	close(fd); /* the item holds a descriptor of its own */
	return item;
}

gboolean dk_pipeline_reprocess(DkPipeline *pipeline, DkStore *store, const DkQuarantined *q,
                               gboolean release, DkOutcome *outcome_out, gint64 *ticket_out,
                               GError **error)
{
	g_auto(GStrv) recipients = q->recipients ? g_strsplit(q->recipients, ",", -1) : NULL;
	DkIntake intake = {.intake = q->intake,
	                   .envelope_from = q->envelope_from,
	                   .recipients = (const char *const *)recipients,
	                   .received_at = q->received_at};
	g_autoptr(DkPipelineItem) item = prepare(pipeline, store, q, &intake, error);
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
