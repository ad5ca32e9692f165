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

/* An inbound public article of ticket with that subject and text, made at
 * at; its id. The test stops when the store refuses it. */
static inline gint64 dk_test_article_add(DkStore *s, gint64 ticket, const char *subject,
                                         const char *text, gint64 at)
{
	DkArticle a = {.ticket = ticket,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .subject = (char *)subject,
	               .new_text = (char *)text,
	               .full_text = (char *)text,
	               .created_at = at};
	g_autoptr(GError) error = NULL;
	gint64 id = dk_store_article_add(s, &a, &error);
	g_assert_no_error(error);
	return id;
}
