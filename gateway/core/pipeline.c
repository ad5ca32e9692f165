/* The pipeline: prepare (parse) and the entry points every intake calls. */
#include "gateway/core/pipeline-private.h"
#include "gateway/core/crypto.h"

#include "gateway/error.h"
#include "gateway/core/rules-apply.h"
#include "gateway/desk/conversation.h"
#include "gateway/desk/sla-policy.h"
#include "gateway/store/store-attachments.h"
#include "gateway/store/store-file.h"
#include "gateway/core/writer.h"
#include "parsers/digest.h"

#include <errno.h>
#include <unistd.h>

struct DkPipeline {
	const DkConfig *config;
	DkStore *store;
	const DkEffectsOps *effects;
	DkWriter *writer;
	DkParseOptions parse;
	char *fallback_charset;
	char **own_domains;
	DkThreadPolicy *policy;
	GMutex rules_lock;
	const DkConfig *items_config; /* what items carry; under rules_lock */
	DkRules *rules;               /* under rules_lock */
	GError *rules_error;          /* the script given could not be loaded */
	DkSlaPolicy *sla;             /* under rules_lock */
	GError *sla_error;            /* [sla] or a [queue:NAME] is wrong */
	GPtrArray *old_sla; /* policies replaced by a reload: items in flight may hold them */
	DkConversation *conversation; /* under rules_lock */
	GPtrArray *old_conversations; /* replaced by a reload, as old_sla */
};

/* docket's own domains, for loop detection: [parse] own_domains and the
 * domain of the Message-IDs docket makes. */
static char **own_domains(const DkConfig *config)
{
	g_auto(GStrv) listed = dk_config_get_list(config, "parse", "own_domains");
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	for (int i = 0; listed[i] != NULL; i++) {
		g_autofree char *lower = g_ascii_strdown(listed[i], -1);
		g_strv_builder_add(b, lower);
	}
	const char *domain = dk_config_get_string(config, "threading", "domain");
	if (*domain != '\0') {
		g_autofree char *lower = g_ascii_strdown(domain, -1);
		g_strv_builder_add(b, lower);
	}
	return g_strv_builder_end(b);
}

/* The parser's spill: a file for a large attachment's decoded content
 * (dk_store_attachment_spill()). Without one the parser decodes it into
 * memory, which works but is not what the administrator expects: said in
 * the log. */
static int spill(gpointer store)
{
	if (store == NULL)
		return -1;
	int fd = dk_store_attachment_spill(store);
	if (fd < 0)
		g_warning("pipeline event=spill result=memory error=\"%s\"", g_strerror(errno));
	return fd;
}

DkPipeline *dk_pipeline_new(const DkConfig *config, DkStore *store, const DkEffectsOps *effects)
{
	DkPipeline *p = g_new0(DkPipeline, 1);
	p->config = config;
	p->store = store;
	p->effects = effects;
	p->fallback_charset = g_strdup(dk_config_get_string(config, "parse", "fallback_charset"));
	p->parse.fallback_charset = p->fallback_charset;
	dk_crypto_setup(dk_config_get_string(config, "crypto", "gnupg_home"));
	p->parse.max_depth = (guint)dk_config_get_int(config, "parse", "max_depth");
	p->parse.max_parts = (guint)dk_config_get_int(config, "parse", "max_parts");
	p->parse.max_header_bytes = (gsize)dk_config_get_int(config, "parse", "max_header_size");
	p->parse.max_decoded_bytes = (gsize)dk_config_get_int(config, "parse", "max_decoded_size");
	p->parse.max_text_bytes = (gsize)dk_config_get_int(config, "parse", "max_text_size");
	p->parse.max_millis = (guint)dk_config_get_int(config, "parse", "time_limit_ms");
	p->own_domains = own_domains(config);
	p->parse.own_domains = (const char *const *)p->own_domains;
	p->parse.spill = spill;
	p->parse.spill_data = store;
	p->policy = dk_thread_policy_new(config);
	g_mutex_init(&p->rules_lock);
	p->items_config = config;
	p->rules = dk_rules_load(config, &p->rules_error);
	p->sla = dk_sla_policy_new(config, &p->sla_error);
	p->old_sla = g_ptr_array_new_with_free_func((GDestroyNotify)dk_sla_policy_free);
	p->conversation = dk_conversation_new(config);
	p->old_conversations = g_ptr_array_new_with_free_func((GDestroyNotify)dk_conversation_free);
	return p;
}

gboolean dk_pipeline_check(DkPipeline *pipeline, GError **error)
{
	const GError *wrong = pipeline->rules_error ? pipeline->rules_error : pipeline->sla_error;
	if (wrong == NULL)
		return TRUE;
	g_propagate_error(error, g_error_copy(wrong));
	return FALSE;
}

gboolean dk_pipeline_reload_rules(DkPipeline *pipeline, const DkConfig *config, GError **error)
{
	g_autoptr(GError) local = NULL;
	DkRules *fresh = dk_rules_load(config, &local);
	if (local != NULL) {
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	DkSlaPolicy *sla = dk_sla_policy_new(config, &local);
	if (sla == NULL) {
		dk_rules_unref(fresh);
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	g_mutex_lock(&pipeline->rules_lock);
	DkRules *old = pipeline->rules;
	pipeline->rules = fresh;
	pipeline->items_config = config;
	g_clear_error(&pipeline->rules_error);
	if (pipeline->sla != NULL)
		g_ptr_array_add(pipeline->old_sla, pipeline->sla);
	pipeline->sla = sla;
	g_clear_error(&pipeline->sla_error);
	g_ptr_array_add(pipeline->old_conversations, pipeline->conversation);
	pipeline->conversation = dk_conversation_new(config);
	g_mutex_unlock(&pipeline->rules_lock);
	dk_rules_unref(old);
	return TRUE;
}

static DkRules *current_rules(DkPipeline *pipeline)
{
	g_mutex_lock(&pipeline->rules_lock);
	DkRules *rules = pipeline->rules ? dk_rules_ref(pipeline->rules) : NULL;
	g_mutex_unlock(&pipeline->rules_lock);
	return rules;
}

void dk_pipeline_set_writer(DkPipeline *pipeline, DkWriter *writer)
{
	pipeline->writer = writer;
}

void dk_pipeline_free(DkPipeline *pipeline)
{
	if (pipeline == NULL)
		return;
	g_free(pipeline->fallback_charset);
	g_strfreev(pipeline->own_domains);
	dk_rules_unref(pipeline->rules);
	g_clear_error(&pipeline->rules_error);
	g_mutex_clear(&pipeline->rules_lock);
	dk_thread_policy_free(pipeline->policy);
	dk_sla_policy_free(pipeline->sla);
	g_ptr_array_unref(pipeline->old_sla);
	dk_conversation_free(pipeline->conversation);
	g_ptr_array_unref(pipeline->old_conversations);
	g_clear_error(&pipeline->sla_error);
	g_free(pipeline);
}

/* Parses raw, or the size bytes of fd when raw is NULL; the item keeps
 * what the message came from. */
static DkPipelineItem *prepare(DkPipeline *pipeline, GBytes *raw, int fd, gsize size,
                               const DkIntake *intake, GError **error)
{
	const GError *wrong = pipeline->rules_error ? pipeline->rules_error : pipeline->sla_error;
	if (wrong != NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "%s", wrong->message);
		return NULL;
	}
	gint64 now = intake->received_at ? intake->received_at : g_get_real_time() / G_USEC_PER_SEC;
	DkParseOptions options = pipeline->parse;
	options.arrival_time = now;
	g_autoptr(GError) local = NULL;
	DkMessage *message = raw ? dk_message_parse(raw, &options, &local)
	                         : dk_message_parse_fd(fd, size, &options, &local);
	/* Signatures and encryption (gateway/core/crypto.c). */
	if (message != NULL && raw != NULL)
		dk_crypto_check(raw, &options, &message);
	else if (message != NULL)
		dk_crypto_check_fd(fd, size, &options, &message);
	if (message == NULL && g_error_matches(local, DK_PARSE_ERROR, DK_PARSE_ERROR_NOT_MAIL)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	DkPipelineItem *item = g_new0(DkPipelineItem, 1);
	if (message == NULL)
		item->quarantine_reason = g_strdup(local ? local->message : "unreadable");
	item->raw = raw ? g_bytes_ref(raw) : NULL;
	/* The digest that names the raw message in the store, computed here
	 * on the intake's thread rather than by the one writer (for a large
	 * spool file, hashing it there would hold up every other intake). A
	 * file that cannot be read now leaves it to the writer, which then
	 * reports the error. */
	if (raw != NULL)
		dk_sha256_hex(g_bytes_get_data(raw, NULL), g_bytes_get_size(raw), item->raw_sha256);
	else if (!dk_store_file_sha256(fd, size, item->raw_sha256))
		item->raw_sha256[0] = '\0';
	item->raw_fd = raw ? -1 : dup(fd);
	item->raw_size = raw ? g_bytes_get_size(raw) : size;
	item->message = message;
	item->intake = g_strdup(intake->intake ? intake->intake : "stdin");
	item->envelope_from = g_strdup(intake->envelope_from);
	item->recipients = g_strdupv((char **)intake->recipients);
	item->received_at = now;
	/* History is dated by its own Date (the parser marks a missing or
	 * absurd one). */
	if (g_strcmp0(intake->intake, "history") == 0 && message != NULL && !message->date_missing)
		item->received_at = message->date;
	item->keep_numbers = g_strdup(intake->keep_numbers);
	item->number_from = intake->number_from;
	item->policy = pipeline->policy;
	item->effects = pipeline->effects;
	item->rules = current_rules(pipeline);
	g_mutex_lock(&pipeline->rules_lock);
	item->config = pipeline->items_config;
	item->sla = pipeline->sla;
	item->conversation = pipeline->conversation;
	g_mutex_unlock(&pipeline->rules_lock);
	if (message != NULL && item->config != NULL && item->effects != NULL &&
	    item->effects->prepare != NULL)
		item->effects_prepared = item->effects->prepare(
		    item->config, message, (const char *const *)item->recipients);
	if (!raw && item->raw_fd < 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
		            "duplicating a spool descriptor: %s", g_strerror(errno));
		dk_pipeline_item_free(item);
		return NULL;
	}
	return item;
}

DkPipelineItem *dk_pipeline_prepare(DkPipeline *pipeline, GBytes *raw, const DkIntake *intake,
                                    GError **error)
{
	return prepare(pipeline, raw, -1, 0, intake, error);
}

DkPipelineItem *dk_pipeline_prepare_fd(DkPipeline *pipeline, int fd, gsize size,
                                       const DkIntake *intake, GError **error)
{
	return prepare(pipeline, NULL, fd, size, intake, error);
}

gboolean dk_pipeline_commit(DkPipeline *pipeline, DkPipelineItem **items, guint n, GError **error)
{
	if (pipeline->writer != NULL)
		return dk_writer_submit(pipeline->writer, items, n, error);
	return dk_writer_commit(pipeline->store, items, n, error);
}

/* Commits item, a prepared message (NULL: not prepared, error set), and
 * hands its result over into out. */
static gboolean deliver_item(DkPipeline *pipeline, DkPipelineItem *prepared, DkDelivery *out,
                             GError **error)
{
	g_autoptr(DkPipelineItem) item = prepared;
	if (item == NULL)
		return FALSE;
	if (!dk_pipeline_commit(pipeline, &item, 1, error))
		return FALSE;
	if (item->error != NULL) {
		g_propagate_error(error, g_steal_pointer(&item->error));
		return FALSE;
	}
	dk_pipeline_item_steal_result(item, out);
	return TRUE;
}

gboolean dk_pipeline_deliver(DkPipeline *pipeline, GBytes *raw, const DkIntake *intake,
                             DkDelivery *out, GError **error)
{
	return deliver_item(pipeline, dk_pipeline_prepare(pipeline, raw, intake, error), out,
	                    error);
}

gboolean dk_pipeline_deliver_fd(DkPipeline *pipeline, int fd, gsize size, const DkIntake *intake,
                                DkDelivery *out, GError **error)
{
	return deliver_item(pipeline, dk_pipeline_prepare_fd(pipeline, fd, size, intake, error),
	                    out, error);
}

const GError *dk_pipeline_item_error(const DkPipelineItem *item)
{
	return item->error;
}

GError *dk_pipeline_item_steal_error(DkPipelineItem *item)
{
	return g_steal_pointer(&item->error);
}

const DkDelivery *dk_pipeline_item_result(const DkPipelineItem *item)
{
	return &item->result;
}

void dk_pipeline_item_steal_result(DkPipelineItem *item, DkDelivery *out)
{
	*out = item->result;
	item->result.message_id = NULL;
}

DkMessage *dk_pipeline_item_message(DkPipelineItem *item)
{
	return item->message;
}

const char *dk_pipeline_item_quarantine_reason(const DkPipelineItem *item)
{
	return item->quarantine_reason;
}

void dk_pipeline_item_set_requeued_from(DkPipelineItem *item, gint64 id)
{
	item->requeued_from = id;
}

void dk_pipeline_item_set_release(DkPipelineItem *item, gboolean release)
{
	item->release = release;
}

void dk_pipeline_item_free(DkPipelineItem *item)
{
	if (item == NULL)
		return;
	if (item->raw != NULL)
		g_bytes_unref(item->raw);
	if (item->raw_fd >= 0 && item->raw == NULL)
		close(item->raw_fd);
	if (item->effects_prepared != NULL)
		item->effects->free_prepared(item->effects_prepared);
	dk_message_free(item->message);
	g_free(item->quarantine_reason);
	g_free(item->ack_template);
	g_free(item->keep_numbers);
	g_free(item->bounce_mark);
	dk_rules_unref(item->rules);
	g_free(item->intake);
	g_free(item->envelope_from);
	g_strfreev(item->recipients);
	dk_delivery_clear(&item->result);
	g_clear_error(&item->error);
	g_free(item);
}

const char *dk_outcome_name(DkOutcome outcome)
{
	static const char *const names[] = {
	    [DK_OUTCOME_CREATED] = "created",     [DK_OUTCOME_APPENDED] = "appended",
	    [DK_OUTCOME_DUPLICATE] = "duplicate", [DK_OUTCOME_QUARANTINED] = "quarantined",
	    [DK_OUTCOME_DROPPED] = "dropped",
	};
	return names[outcome];
}

void dk_delivery_clear(DkDelivery *delivery)
{
	g_clear_pointer(&delivery->message_id, g_free);
}
