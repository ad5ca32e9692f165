/* The quarantine's second chance: a message set aside runs through the
 * pipeline again (`docket quarantine reprocess|release`, the API). */
#pragma once

#include "gateway/core/pipeline.h"
#include "gateway/store/store.h"

G_BEGIN_DECLS

/* Runs quarantined message q through pipeline again and commits it
 * (release: it becomes an article whatever set it aside). Its outcome
 * and ticket (0 when set aside again) into outcome_out and ticket_out.
 * FALSE and DK_ERROR_PERMANENT ("still unreadable: REASON") when it still
 * cannot be read; the store's or the message's own error otherwise. */
gboolean dk_pipeline_reprocess(DkPipeline *pipeline, DkStore *store, const DkQuarantined *q,
                               gboolean release, DkOutcome *outcome_out, gint64 *ticket_out,
                               GError **error);

G_END_DECLS
