/* The writer: the one place that writes messages into the store. It takes a
 * batch of prepared messages, threads and stores each inside one
 * transaction (each in its own savepoint), and commits once. */
#pragma once

#include "gateway/core/pipeline.h"

G_BEGIN_DECLS

/* See dk_pipeline_commit(). */
gboolean dk_writer_commit(DkStore *store, DkPipelineItem **items, guint n, GError **error);

G_END_DECLS
