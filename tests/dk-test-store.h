/* A scratch store for gateway tests: a temporary folder, the default
 * configuration, an open store and a pipeline over it. */
#pragma once

#include "dk-test.h"
#include "gateway/core/pipeline.h"
#include "gateway/outbox/effects.h"

typedef struct {
	char *dir;
	DkConfig *config;
	DkStore *store;
	DkPipeline *pipeline;
} DkTestStore;

static inline DkTestStore *dk_test_store_new(void)
{
	DkTestStore *f = g_new0(DkTestStore, 1);
	f->dir = dk_test_tmpdir();
	f->config = dk_config_new_default();
	f->store = dk_store_open(f->dir, NULL, NULL);
	g_assert_nonnull(f->store);
	f->pipeline = dk_pipeline_new(f->config, f->store, &dk_outbox_effects);
	return f;
}

static inline void dk_test_store_free(DkTestStore *f)
{
	dk_pipeline_free(f->pipeline);
	dk_store_close(f->store);
	dk_config_free(f->config);
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
}
