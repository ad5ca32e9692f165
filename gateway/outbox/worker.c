/* The outbox worker: due rows are sent, then recorded; failures retried
 * with backoff or given up with an event on the ticket. */
#define G_LOG_DOMAIN "outbox"
#include "gateway/outbox/worker.h"

#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/json.h"
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
	char *lane;    /* a connector's name: only its rows; NULL: the rest */
	char **except; /* the rest: not the rows of these connectors */
};

static gpointer init_curl(gpointer unused)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return NULL;
}

/* An outbox over one lane (dk_store_outbox_due_lane). */
static DkOutbox *outbox_for_lane(const DkConfig *config, DkStore *store, const char *lane,
                                 const char *const *except, GError **error)
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
	o->lane = g_strdup(lane);
	o->except = g_strdupv((char **)except);
	return o;
}

DkOutbox *dk_outbox_new(const DkConfig *config, DkStore *store, GError **error)
{
	return outbox_for_lane(config, store, NULL, NULL, error);
}

void dk_outbox_free(DkOutbox *o)
{
	if (o == NULL)
		return;
	dk_notify_settings_free(o->settings);
	dk_connectors_free(o->connectors);
	g_free(o->lane);
	g_strfreev(o->except);
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
	/* Longer than an SMTP attempt can take (curl's whole-transfer
	 * timeout), unless [smtp] claim_seconds says otherwise. */
	gint64 lease = dk_config_get_int(o->config, "smtp", "claim_seconds");
	if (lease == 0)
		lease = 5 * dk_config_get_int(o->config, "smtp", "timeout_seconds") + 60;
	if (!dk_store_outbox_claim(o->store, c->row->id, c->now,
	                           dk_store_outbox_claim_until(c->now, lease), &c->claimed, error))
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
	DkOutboxKind kind = dk_outbox_kind_from_name(row->kind);
	/* A relay's article is the reply itself; a redirect makes none. */
	if (row->ticket != 0 && kind != DK_OUTBOX_RELAY && kind != DK_OUTBOX_REDIRECT) {
		char sha[65];
		if (!dk_store_raw_put(o->store, c->mail->bytes, c->now, sha, error))
			return FALSE;
		DkArticle a = {
		    .ticket = row->ticket,
		    .direction = DK_OUTBOUND,
		    .visibility = DK_PUBLIC,
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
	gint64 expiry = dk_config_get_int(o->config, "notify", "bounce_expiry_days") * 86400;
	if (dk_outbox_kind_from_name(c->row->kind) != DK_OUTBOX_RELAY &&
	    !dk_store_bouncing_get(o->store, c->row->target, c->now - expiry, &bouncing, error))
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
	DkOutgoing out = {.envelope_from = bounce,
	                  .recipient = c->row->target,
	                  .message = c->mail->bytes,
	                  .fd = c->mail->fd,
	                  .size = c->mail->size};
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
	 * past now), so the passes end. A pass that ended some looks again:
	 * rows waiting behind them are due now (and left out of the batch
	 * until then, dk_store_outbox_due_lane). */
	for (;;) {
		g_autoptr(GPtrArray) rows = dk_store_outbox_due_lane(
		    o->store, now, o->lane, (const char *const *)o->except, BATCH, error);
		if (rows == NULL)
			return FALSE;
		guint handled = 0;
		for (guint i = 0; i < rows->len; i++) {
			const DkOutboxRow *row = g_ptr_array_index(rows, i);
			guint before = stats->sent + stats->deferred + stats->failed + stats->held;
			gboolean ok;
			DkOutboxKind kind = dk_outbox_kind_from_name(row->kind);
			if (kind == DK_OUTBOX_CONNECTOR)
				ok = dk_connectors_run_row(o->connectors, o->config, o->store, row,
				                           now, stats, error);
			else if (dk_compose_handles(kind))
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
		if (handled == 0)
			return TRUE;
	}
}

/* Lanes: every connector has its own runners ([connector:NAME]
 * max_parallel threads), and one runner takes the rest (mail, and rows
 * of connectors no longer configured). A runner is a thread with its own
 * store connection and its own DkOutbox, so it shares no connector state
 * (tokens, Retry-After) with another; the claim makes each row one
 * runner's, and a ticket's rows for one connector still go in order
 * (dk_connectors_run_row waits for the older ones). A slow or hanging
 * system therefore only occupies its own runners. */

typedef struct {
	DkOutboxWorker *worker; /* NULL in a single pass */
	char *lane;             /* the connector's name, NULL: the rest */
	guint slot;             /* which of the lane's runners */
	GThread *thread;
	DkStore *store;
	gboolean owns_store; /* FALSE: the caller's, in a single pass */
	DkOutbox *outbox;
	DkOutbox *reloaded; /* to take over before the next run, or NULL */
	gboolean stopping, woken, finished;
	gint64 now;          /* a single pass: its time */
	DkOutboxStats stats; /* a single pass: its counts */
	GError *error;       /* a single pass: why it stopped */
} Runner;

/* One lane of a layout, with how many runners it gets. */
typedef struct {
	const char *lane;
	guint runners;
} Lane;

/* The lanes of config: the rest first, then a lane per connector. The
 * names belong to names_out. */
static GArray *lanes_of(const DkConfig *config, char ***names_out)
{
	*names_out = dk_config_get_instances(config, "connector");
	GArray *lanes = g_array_new(FALSE, FALSE, sizeof(Lane));
	Lane rest = {.lane = NULL, .runners = 1};
	g_array_append_val(lanes, rest);
	for (guint i = 0; (*names_out)[i] != NULL; i++) {
		g_autofree char *section = g_strconcat("connector:", (*names_out)[i], NULL);
		Lane l = {.lane = (*names_out)[i],
		          .runners = (guint)dk_config_get_int(config, section, "max_parallel")};
		g_array_append_val(lanes, l);
	}
	return lanes;
}

static void runner_free(Runner *r)
{
	if (r == NULL)
		return;
	dk_outbox_free(r->outbox);
	dk_outbox_free(r->reloaded);
	if (r->owns_store && r->store != NULL)
		dk_store_close(r->store);
	g_clear_error(&r->error);
	g_free(r->lane);
	g_free(r);
}

/* A runner of lane over store (NULL: its own connection). */
static Runner *runner_new(const DkConfig *config, DkStore *store, const Lane *lane, guint slot,
                          char **names, GError **error)
{
	Runner *r = g_new0(Runner, 1);
	r->lane = g_strdup(lane->lane);
	r->slot = slot;
	r->owns_store = store == NULL;
	r->store = store != NULL ? store : dk_store_open_config(config, error);
	if (r->store != NULL)
		r->outbox = outbox_for_lane(config, r->store, lane->lane,
		                            lane->lane ? NULL : (const char *const *)names, error);
	if (r->outbox == NULL) {
		runner_free(r);
		return NULL;
	}
	return r;
}

static gpointer pass_main(gpointer data)
{
	Runner *r = data;
	dk_outbox_run_due(r->outbox, r->now, &r->stats, &r->error);
	return NULL;
}

static void stats_add(DkOutboxStats *to, const DkOutboxStats *from)
{
	to->sent += from->sent;
	to->deferred += from->deferred;
	to->failed += from->failed;
	to->held += from->held;
}

gboolean dk_outbox_run_lanes(const DkConfig *config, DkStore *store, gint64 now,
                             DkOutboxStats *stats, GError **error)
{
	g_auto(GStrv) names = NULL;
	g_autoptr(GArray) lanes = lanes_of(config, &names);
	g_autoptr(GPtrArray) runners = g_ptr_array_new();
	gboolean ok = TRUE;
	for (guint i = 0; i < lanes->len && ok; i++) {
		const Lane *l = &g_array_index(lanes, Lane, i);
		for (guint slot = 0; slot < l->runners && ok; slot++) {
			/* The rest runs on the caller's connection. */
			Runner *r =
			    runner_new(config, l->lane ? NULL : store, l, slot, names, error);
			ok = r != NULL;
			if (ok) {
				r->now = now;
				g_ptr_array_add(runners, r);
			}
		}
	}
	for (guint i = 0; i < runners->len && ok; i++) {
		Runner *r = g_ptr_array_index(runners, i);
		r->thread = g_thread_new("outbox-lane", pass_main, r);
	}
	for (guint i = 0; i < runners->len; i++) {
		Runner *r = g_ptr_array_index(runners, i);
		if (r->thread != NULL)
			g_thread_join(r->thread);
		stats_add(stats, &r->stats);
		if (r->error != NULL && ok) {
			g_propagate_error(error, g_steal_pointer(&r->error));
			ok = FALSE;
		}
		runner_free(r);
	}
	return ok;
}

struct DkOutboxWorker {
	GMutex lock;
	GCond wake;
	gboolean stopping;
	GPtrArray *runners; /* Runner*, the current layout */
	GPtrArray *retired; /* Runner*, told to stop, not yet joined */
	gint64 poll_seconds;
	DkOutboxStats stats;
};

/* Runs its lane's due rows every poll_seconds or when woken, taking up
 * new settings between runs, until told to stop. */
static gpointer runner_main(gpointer data)
{
	Runner *r = data;
	DkOutboxWorker *w = r->worker;
	g_mutex_lock(&w->lock);
	while (!r->stopping && !w->stopping) {
		r->woken = FALSE;
		if (r->reloaded != NULL) {
			dk_outbox_free(r->outbox);
			r->outbox = g_steal_pointer(&r->reloaded);
		}
		g_mutex_unlock(&w->lock);
		DkOutboxStats stats = {0};
		g_autoptr(GError) error = NULL;
		if (!dk_outbox_run_due(r->outbox, g_get_real_time() / G_USEC_PER_SEC, &stats,
		                       &error))
			g_warning("outbox lane=%s event=run result=error error=\"%s\"",
			          r->lane ? r->lane : "mail", error->message);
		g_mutex_lock(&w->lock);
		stats_add(&w->stats, &stats);
		gint64 until = g_get_monotonic_time() + w->poll_seconds * G_USEC_PER_SEC;
		while (!r->stopping && !w->stopping && !r->woken)
			if (!g_cond_wait_until(&w->wake, &w->lock, until))
				break;
	}
	r->finished = TRUE;
	g_mutex_unlock(&w->lock);
	return NULL;
}

static Runner *find_runner(GPtrArray *runners, const char *lane, guint slot)
{
	for (guint i = 0; i < runners->len; i++) {
		Runner *r = g_ptr_array_index(runners, i);
		if (g_strcmp0(r->lane, lane) == 0 && r->slot == slot)
			return r;
	}
	return NULL;
}

/* The settings of config for every runner of its layout: a runner that
 * stays gets a fresh DkOutbox on its own connection (taken up after the
 * row in progress), a new one is made. Nothing changes when one cannot
 * be made. fresh_out: Runner* in layout order; a runner that stays
 * appears as itself with reloaded set. */
static gboolean prepare_layout(DkOutboxWorker *w, const DkConfig *config, GPtrArray *fresh_out,
                               GError **error)
{
	g_auto(GStrv) names = NULL;
	g_autoptr(GArray) lanes = lanes_of(config, &names);
	g_autoptr(GPtrArray) outboxes = g_ptr_array_new(); /* for runners that stay */
	for (guint i = 0; i < lanes->len; i++) {
		const Lane *l = &g_array_index(lanes, Lane, i);
		for (guint slot = 0; slot < l->runners; slot++) {
			Runner *old = find_runner(w->runners, l->lane, slot);
			DkOutbox *o = NULL;
			Runner *r = NULL;
			if (old != NULL)
				o = outbox_for_lane(config, old->store, l->lane,
				                    l->lane ? NULL : (const char *const *)names,
				                    error);
			else
				r = runner_new(config, NULL, l, slot, names, error);
			if (o == NULL && r == NULL) {
				for (guint j = 0; j < fresh_out->len; j++) {
					Runner *f = g_ptr_array_index(fresh_out, j);
					if (f->worker == NULL)
						runner_free(f);
				}
				for (guint j = 0; j < outboxes->len; j++)
					dk_outbox_free(g_ptr_array_index(outboxes, j));
				g_ptr_array_set_size(fresh_out, 0);
				return FALSE;
			}
			g_ptr_array_add(fresh_out, old != NULL ? old : r);
			g_ptr_array_add(outboxes, o);
		}
	}
	/* Only now, when nothing can fail, do the runners that stay see it. */
	g_mutex_lock(&w->lock);
	for (guint i = 0; i < fresh_out->len; i++) {
		Runner *r = g_ptr_array_index(fresh_out, i);
		DkOutbox *o = g_ptr_array_index(outboxes, i);
		if (o == NULL)
			continue;
		dk_outbox_free(r->reloaded);
		r->reloaded = o;
	}
	g_mutex_unlock(&w->lock);
	return TRUE;
}

/* Joins the retired runners that have finished; with all, every one. */
static void join_retired(DkOutboxWorker *w, gboolean all)
{
	g_autoptr(GPtrArray) done = g_ptr_array_new();
	g_mutex_lock(&w->lock);
	for (guint i = 0; i < w->retired->len;) {
		Runner *r = g_ptr_array_index(w->retired, i);
		if (all || r->finished)
			g_ptr_array_add(done, g_ptr_array_steal_index(w->retired, i));
		else
			i++;
	}
	g_mutex_unlock(&w->lock);
	for (guint i = 0; i < done->len; i++) {
		Runner *r = g_ptr_array_index(done, i);
		g_thread_join(r->thread);
		runner_free(r);
	}
}

/* Makes config the worker's layout: runners that stay take it up, those
 * no longer in it stop after their row in progress, new ones start. */
static gboolean apply_layout(DkOutboxWorker *w, const DkConfig *config, GError **error)
{
	g_autoptr(GPtrArray) fresh = g_ptr_array_new();
	if (!prepare_layout(w, config, fresh, error))
		return FALSE;
	g_mutex_lock(&w->lock);
	for (guint i = 0; i < w->runners->len; i++) {
		Runner *r = g_ptr_array_index(w->runners, i);
		if (!g_ptr_array_find(fresh, r, NULL)) {
			r->stopping = TRUE;
			g_ptr_array_add(w->retired, r);
		}
	}
	g_ptr_array_set_size(w->runners, 0);
	for (guint i = 0; i < fresh->len; i++) {
		Runner *r = g_ptr_array_index(fresh, i);
		if (r->worker == NULL) {
			r->worker = w;
			r->thread = g_thread_new("outbox-lane", runner_main, r);
		}
		r->woken = TRUE;
		g_ptr_array_add(w->runners, r);
	}
	w->poll_seconds = dk_config_get_int(config, "notify", "poll_seconds");
	g_cond_broadcast(&w->wake);
	g_mutex_unlock(&w->lock);
	join_retired(w, FALSE);
	return TRUE;
}

DkOutboxWorker *dk_outbox_worker_start(const DkConfig *config, GError **error)
{
	DkOutboxWorker *w = g_new0(DkOutboxWorker, 1);
	g_mutex_init(&w->lock);
	g_cond_init(&w->wake);
	w->runners = g_ptr_array_new();
	w->retired = g_ptr_array_new();
	if (!apply_layout(w, config, error)) {
		dk_outbox_worker_stop(w);
		return NULL;
	}
	return w;
}

void dk_outbox_worker_wake(DkOutboxWorker *w)
{
	g_mutex_lock(&w->lock);
	for (guint i = 0; i < w->runners->len; i++)
		((Runner *)g_ptr_array_index(w->runners, i))->woken = TRUE;
	g_cond_broadcast(&w->wake);
	g_mutex_unlock(&w->lock);
}

gboolean dk_outbox_worker_reload(DkOutboxWorker *w, const DkConfig *config, GError **error)
{
	return apply_layout(w, config, error);
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
	g_ptr_array_extend_and_steal(w->retired, g_steal_pointer(&w->runners));
	g_cond_broadcast(&w->wake);
	g_mutex_unlock(&w->lock);
	join_retired(w, TRUE);
	g_ptr_array_unref(w->retired);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->wake);
	g_free(w);
}
