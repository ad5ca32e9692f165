/* The outbox worker: due rows are sent, then recorded; failures retried
 * with backoff or given up with an event on the ticket. */
#define G_LOG_DOMAIN "outbox"
#include "gateway/outbox/worker.h"

#include "gateway/core/error.h"
#include "gateway/core/ids.h"
#include "gateway/core/json.h"
#include "gateway/outbox/compose.h"
#include "gateway/outbox/connectors/connector.h"
#include "gateway/outbox/send.h"

#include <curl/curl.h>
#include <string.h>

#define BATCH 64

struct DkOutbox {
	const DkConfig *config;
	DkStore *store;
	DkNotifySettings *settings;
	const DkSendOps *send;
	DkConnectors *connectors;
};

static gpointer init_curl(gpointer unused)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return NULL;
}

DkOutbox *dk_outbox_new(const DkConfig *config, DkStore *store, GError **error)
{
	static GOnce curl_once = G_ONCE_INIT;
	g_once(&curl_once, init_curl, NULL);
	DkNotifySettings *settings = dk_notify_settings_new(config, error);
	if (settings == NULL)
		return NULL;
	DkOutbox *o = g_new0(DkOutbox, 1);
	o->config = config;
	o->store = store;
	o->settings = settings;
	o->send = dk_send_for_config(config);
	o->connectors = dk_connectors_new(config, NULL);
	return o;
}

void dk_outbox_free(DkOutbox *o)
{
	if (o == NULL)
		return;
	dk_notify_settings_free(o->settings);
	dk_connectors_free(o->connectors);
	g_free(o);
}

static char *event_json(const DkOutboxRow *row, const char *message_id, const char *error_text)
{
	g_autoptr(json_t) o =
	    json_pack("{sI ss ss s* s*}", "outbox", (json_int_t)row->id, "kind", row->kind, "to",
	              row->target, "message_id", message_id, "error", error_text);
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

/* Runs body inside one transaction; rolls back when it fails. */
static gboolean in_transaction(DkStore *store, gboolean (*body)(DkOutbox *, gpointer, GError **),
                               DkOutbox *o, gpointer data, GError **error)
{
	if (!dk_store_begin(store, error))
		return FALSE;
	if (!body(o, data, error)) {
		dk_store_rollback(store);
		return FALSE;
	}
	return dk_store_commit(store, error);
}

typedef struct {
	const DkOutboxRow *row;
	json_t *payload;
	DkComposed *mail;
	const char *message_id;
	const GError *failure;
	gint64 now;
	gboolean claimed;
} RowCtx;

/* Before each attempt the row is claimed (store-outbox.h); before the
 * first, its Message-ID is fixed in the payload and recorded in
 * message_ids, so retries send the same message and a reply threads at
 * once. */
static gboolean claim(DkOutbox *o, gpointer data, GError **error)
{
	RowCtx *c = data;
	/* Longer than an SMTP attempt can take (curl's whole-transfer timeout). */
	gint64 lease = 5 * dk_config_get_int(o->config, "smtp", "timeout_seconds") + 60;
	if (!dk_store_outbox_claim(o->store, c->row->id, c->now, c->now + lease, &c->claimed,
	                           error))
		return FALSE;
	if (!c->claimed || json_object_get(c->payload, "sent_message_id") != NULL)
		return TRUE;
	g_autofree char *mid =
	    dk_ids_message_id(o->settings->secret, c->row->ticket, o->settings->domain);
	json_object_set_new(c->payload, "sent_message_id", json_string(mid));
	g_autofree char *text = json_dumps(c->payload, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_outbox_set_payload(o->store, c->row->id, text, error) &&
	       (c->row->ticket == 0 ||
	        dk_store_message_id_add(o->store, mid, c->row->ticket, 0, error));
}

/* After sending: the outbound article (a relay's exists already), the row
 * done, the event. */
static gboolean record_sent(DkOutbox *o, gpointer data, GError **error)
{
	RowCtx *c = data;
	const DkOutboxRow *row = c->row;
	gint64 article = c->mail->article;
	if (row->ticket != 0 && g_strcmp0(row->kind, "relay") != 0) {
		char sha[65];
		if (!dk_store_raw_put(o->store, c->mail->bytes, c->now, sha, error))
			return FALSE;
		DkArticle a = {
		    .ticket = row->ticket,
		    .direction = "outbound",
		    .visibility = "public",
		    .evidence = "notification",
		    .sender = o->settings->from,
		    .recipients = row->target,
		    .subject = c->mail->subject,
		    .message_id = (char *)c->message_id,
		    .new_text = c->mail->text,
		    .full_text = c->mail->text,
		    .raw_sha256 = sha,
		    .intake = "outbox",
		    .created_at = c->now,
		};
		if ((article = dk_store_article_add(o->store, &a, error)) == 0)
			return FALSE;
	}
	g_autofree char *detail = event_json(row, c->message_id, NULL);
	return dk_store_outbox_done(o->store, row->id, error) &&
	       (row->ticket == 0 ||
	        ((article == 0 ||
	          dk_store_outbox_sent_article(o->store, c->message_id, article, c->now, error)) &&
	         dk_store_event_add(o->store, row->ticket, article, "notification_sent", detail,
	                            c->now, error)));
}

static gint64 backoff(const DkOutbox *o, gint64 attempts)
{
	gint64 delay = dk_config_get_int(o->config, "notify", "retry_initial_seconds");
	gint64 max = dk_config_get_int(o->config, "notify", "retry_max_seconds");
	for (gint64 i = 0; i < attempts && delay < max; i++)
		delay *= 2;
	return MIN(delay, max);
}

static gboolean record_failure(DkOutbox *o, gpointer data, GError **error)
{
	RowCtx *c = data;
	const DkOutboxRow *row = c->row;
	gboolean too_old =
	    c->now - row->created_at >= dk_config_get_int(o->config, "notify", "max_age_seconds");
	if (dk_error_is_temporary(c->failure) && !too_old)
		return dk_store_outbox_defer(o->store, row->id, c->now + backoff(o, row->attempts),
		                             c->failure->message, error);
	g_autofree char *detail = event_json(row, c->message_id, c->failure->message);
	return dk_store_outbox_fail(o->store, row->id, c->failure->message, error) &&
	       (row->ticket == 0 ||
	        dk_store_event_add(o->store, row->ticket, 0, "notification_failed", detail, c->now,
	                           error));
}

/* Composes and sends; FALSE with the row's own failure in error. An
 * address marked bouncing since the row was written gets no automatic
 * mail; an agent's reply (a relay) is still tried: a person wrote it. */
static gboolean attempt(DkOutbox *o, RowCtx *c, GError **error)
{
	gboolean bouncing = FALSE;
	if (strcmp(c->row->kind, "relay") != 0 &&
	    !dk_store_bouncing_get(o->store, c->row->target, &bouncing, error))
		return FALSE;
	if (bouncing) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s is marked as bouncing",
		            c->row->target);
		return FALSE;
	}
	c->mail = dk_compose(o->store, o->settings, c->row, c->payload, c->now, error);
	if (c->mail == NULL)
		return FALSE;
	g_autofree char *bounce = dk_notify_bounce_address(o->settings, c->row->id);
	DkOutgoing out = {
	    .envelope_from = bounce, .recipient = c->row->target, .message = c->mail->bytes};
	return o->send->send(o->config, &out, error);
}

static gboolean run_row(DkOutbox *o, const DkOutboxRow *row, gint64 now, DkOutboxStats *stats,
                        GError **error)
{
	g_autoptr(json_t) payload = json_loads(row->payload, 0, NULL);
	if (!json_is_object(payload)) {
		json_decref(payload);
		payload = json_object();
	}
	RowCtx c = {.row = row, .payload = payload, .now = now};
	if (!in_transaction(o->store, claim, o, &c, error))
		return FALSE;
	if (!c.claimed)
		return TRUE; /* another worker has it */
	c.message_id = json_string_value(json_object_get(payload, "sent_message_id"));
	g_autoptr(GError) failure = NULL;
	gboolean sent = attempt(o, &c, &failure);
	g_autoptr(DkComposed) mail G_GNUC_UNUSED = c.mail; /* owner, for its cleanup */
	if (sent) {
		g_message("outbox id=%" G_GINT64_FORMAT " kind=%s to=%s via=%s result=sent",
		          row->id, row->kind, row->target, o->send->name);
		stats->sent++;
		return in_transaction(o->store, record_sent, o, &c, error);
	}
	c.failure = failure;
	gboolean temporary = dk_error_is_temporary(failure);
	g_message("outbox id=%" G_GINT64_FORMAT " kind=%s to=%s via=%s result=%s error=\"%s\"",
	          row->id, row->kind, row->target, o->send->name, temporary ? "deferred" : "failed",
	          failure->message);
	if (!in_transaction(o->store, record_failure, o, &c, error))
		return FALSE;
	if (temporary &&
	    now - row->created_at < dk_config_get_int(o->config, "notify", "max_age_seconds"))
		stats->deferred++;
	else
		stats->failed++;
	return TRUE;
}

gboolean dk_outbox_run_due(DkOutbox *o, gint64 now, DkOutboxStats *stats, GError **error)
{
	/* Each pass ends every row it meets (done, failed, or deferred
	 * past now), so the passes end. */
	for (;;) {
		g_autoptr(GPtrArray) rows = dk_store_outbox_due(o->store, now, BATCH, error);
		if (rows == NULL)
			return FALSE;
		guint handled = 0;
		for (guint i = 0; i < rows->len; i++) {
			const DkOutboxRow *row = g_ptr_array_index(rows, i);
			guint before = stats->sent + stats->deferred + stats->failed + stats->held;
			gboolean ok;
			if (strcmp(row->kind, "connector") == 0)
				ok = dk_connectors_run_row(o->connectors, o->config, o->store, row,
				                           now, stats, error);
			else if (dk_compose_handles(row->kind))
				ok = run_row(o, row, now, stats, error);
			else
				continue;
			if (!ok)
				return FALSE;
			/* A row left waiting (or taken by another worker) is not
			 * handled: it would come back in the next batch. */
			if (stats->sent + stats->deferred + stats->failed + stats->held != before)
				handled++;
		}
		if (handled == 0 || rows->len < BATCH)
			return TRUE;
	}
}

struct DkOutboxWorker {
	GThread *thread;
	GMutex lock;
	GCond wake;
	gboolean stopping, woken;
	DkStore *store;
	DkOutbox *outbox;
	DkOutbox *reloaded; /* to take over before the next run, or NULL */
	gint64 poll_seconds;
	DkOutboxStats stats;
};

static gpointer worker_main(gpointer data)
{
	DkOutboxWorker *w = data;
	g_mutex_lock(&w->lock);
	while (!w->stopping) {
		w->woken = FALSE;
		if (w->reloaded != NULL) {
			dk_outbox_free(w->outbox);
			w->outbox = g_steal_pointer(&w->reloaded);
		}
		DkOutboxStats stats = w->stats;
		g_mutex_unlock(&w->lock);
		g_autoptr(GError) error = NULL;
		if (!dk_outbox_run_due(w->outbox, g_get_real_time() / G_USEC_PER_SEC, &stats,
		                       &error))
			g_warning("outbox event=run result=error error=\"%s\"", error->message);
		g_mutex_lock(&w->lock);
		w->stats = stats;
		gint64 until = g_get_monotonic_time() + w->poll_seconds * G_USEC_PER_SEC;
		while (!w->stopping && !w->woken)
			if (!g_cond_wait_until(&w->wake, &w->lock, until))
				break;
	}
	g_mutex_unlock(&w->lock);
	return NULL;
}

static DkStore *open_store(const DkConfig *config, GError **error)
{
	DkStoreOptions options = {
	    .inline_max = (gsize)dk_config_get_int(config, "store", "inline_max"),
	    .busy_timeout_ms = (int)dk_config_get_int(config, "store", "busy_timeout_ms"),
	};
	return dk_store_open(dk_config_get_string(config, "store", "data_dir"), &options, error);
}

DkOutboxWorker *dk_outbox_worker_start(const DkConfig *config, GError **error)
{
	DkStore *store = open_store(config, error);
	if (store == NULL)
		return NULL;
	DkOutbox *outbox = dk_outbox_new(config, store, error);
	if (outbox == NULL) {
		dk_store_close(store);
		return NULL;
	}
	DkOutboxWorker *w = g_new0(DkOutboxWorker, 1);
	g_mutex_init(&w->lock);
	g_cond_init(&w->wake);
	w->store = store;
	w->outbox = outbox;
	w->poll_seconds = dk_config_get_int(config, "notify", "poll_seconds");
	w->thread = g_thread_new("outbox", worker_main, w);
	return w;
}

void dk_outbox_worker_wake(DkOutboxWorker *w)
{
	g_mutex_lock(&w->lock);
	w->woken = TRUE;
	g_cond_signal(&w->wake);
	g_mutex_unlock(&w->lock);
}

gboolean dk_outbox_worker_reload(DkOutboxWorker *w, const DkConfig *config, GError **error)
{
	DkOutbox *fresh = dk_outbox_new(config, w->store, error);
	if (fresh == NULL)
		return FALSE;
	g_mutex_lock(&w->lock);
	dk_outbox_free(w->reloaded);
	w->reloaded = fresh;
	w->poll_seconds = dk_config_get_int(config, "notify", "poll_seconds");
	w->woken = TRUE;
	g_cond_signal(&w->wake);
	g_mutex_unlock(&w->lock);
	return TRUE;
}

void dk_outbox_worker_stats(DkOutboxWorker *w, DkOutboxStats *stats_out)
{
	g_mutex_lock(&w->lock);
	*stats_out = w->stats;
	g_mutex_unlock(&w->lock);
}

void dk_outbox_worker_stop(DkOutboxWorker *w)
{
	if (w == NULL)
		return;
	g_mutex_lock(&w->lock);
	w->stopping = TRUE;
	g_cond_signal(&w->wake);
	g_mutex_unlock(&w->lock);
	g_thread_join(w->thread);
	dk_outbox_free(w->reloaded);
	dk_outbox_free(w->outbox);
	dk_store_close(w->store);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->wake);
	g_free(w);
}
