/* `docket serve`: the long-running gateway. LMTP listener, writer thread
 * (group commit), signals: SIGTERM/SIGINT finish in-flight transactions and
 * exit; SIGHUP reloads the configuration. */
#include "gateway/cli/cli.h"
#include "gateway/desk/desk.h"
#include "gateway/desk/retention.h"
#include "gateway/outbox/connector-events.h"
#include "gateway/core/pipeline.h"
#include "gateway/outbox/effects.h"
#include "gateway/store/store-outbox.h"
#include "gateway/core/writer.h"
#include "gateway/intake/imap-poller.h"
#include "gateway/intake/lmtp-server.h"
#include "gateway/outbox/worker.h"
#include "gateway/outbox/connectors/connector.h"
#include "gateway/ops/metrics.h"
#include "gateway/web/web.h"

#include <glib-unix.h>
#include <unistd.h>

/* Desk work that may take many batches (the SLA check of a large
 * backlog, the purge) runs on a thread of its own, so that the main loop
 * goes on accepting connections; one run at a time. */
typedef struct {
	const struct DeskJob *job;
	GThread *thread;        /* the last run's, or NULL */
	const DkConfig *config; /* the configuration it runs with */
	gint running;           /* 1 while it runs */
} Background;

typedef struct {
	GMainLoop *loop;
	DkLmtpServer *lmtp;
	DkWebServer *http;
	DkPipeline *pipeline;
	DkOutboxWorker *outbox;
	DkImapPollerSet *pollers;
	DkStore *reader; /* a read connection for the probe, under reader_lock */
	GMutex reader_lock;
	GPtrArray *configs; /* every configuration loaded; the newest is last */
	gboolean stopping;
	Background sla, retention; /* the SLA check's and the purge's threads */
} Serve;

/* Set at stop: the SLA check or purge under way stops after its batch. */
static gint stop_batches;

/* A whole SLA check is due (at start, after a reload: the policy may have
 * moved every due time); the others recompute only the tickets with a
 * target due by then. */
static gint sla_whole = 1;

static gboolean on_stop(gpointer data)
{
	Serve *s = data;
	g_message("serve event=stopping");
	s->stopping = TRUE;
	g_main_loop_quit(s->loop);
	return G_SOURCE_CONTINUE;
}

/* A new configuration applies whole or not at all where it can fail: a
 * file that does not load, or notification settings the outbox cannot use,
 * keep the old one everywhere; a broken rules script keeps the old script. */
static gboolean on_reload(gpointer data)
{
	Serve *s = data;
	g_autoptr(GError) error = NULL;
	const DkConfig *current = g_ptr_array_index(s->configs, s->configs->len - 1);
	DkConfig *fresh = dk_config_load(dk_config_path(current), &error);
	if (fresh == NULL || !dk_outbox_worker_reload(s->outbox, fresh, &error)) {
		/* One log line: the validator's errors, one a line, joined. */
		g_strdelimit(error->message, "\n", ';');
		g_warning("serve event=reload result=failed keeping=previous error=%s",
		          error->message);
		dk_config_free(fresh);
		return G_SOURCE_CONTINUE;
	}
	g_ptr_array_add(s->configs, fresh);
	dk_lmtp_server_reload(s->lmtp, fresh);
	/* IMAP accounts added start, removed ones stop, changed ones restart. */
	if (!dk_imap_poller_set_reload(s->pollers, fresh, s->pipeline, &error)) {
		g_warning("serve event=reload imap=failed error=\"%s\"", error->message);
		g_clear_error(&error);
	}
	if (!dk_pipeline_reload_rules(s->pipeline, fresh, &error)) {
		g_warning("serve event=reload rules=failed keeping=previous error=%s",
		          error->message);
		return G_SOURCE_CONTINUE;
	}
	g_atomic_int_set(&sla_whole, 1); /* the policy may have changed */
	g_message("serve event=reload result=ok");
	return G_SOURCE_CONTINUE;
}

static gboolean probe(gint64 *depth_out, gint64 *age_out, gpointer data)
{
	Serve *s = data;
	g_autoptr(GError) error = NULL;
	g_mutex_lock(&s->reader_lock);
	gint64 failed = 0, held = 0;
	g_autoptr(GHashTable) set_aside = NULL;
	gboolean ok = dk_store_outbox_stats(s->reader, g_get_real_time() / G_USEC_PER_SEC,
	                                    depth_out, age_out, &error) &&
	              dk_store_outbox_count(s->reader, "failed", &failed, &error) &&
	              dk_store_outbox_count(s->reader, "held", &held, &error) &&
	              (set_aside = dk_store_quarantine_counts(s->reader, &error)) != NULL;
	g_mutex_unlock(&s->reader_lock);
	if (ok) {
		dk_metrics_outbox_settled(failed, held);
		dk_metrics_set_aside(set_aside);
	}
	if (!ok)
		g_warning("http event=probe error=%s", error->message);
	return ok;
}

/* The web server (/healthz, /metrics, the API, the web desk), when
 * [http] listen is set. */
static gboolean start_http(Serve *s, const DkConfig *config, GError **error)
{
	const char *listen = dk_config_get_string(config, "http", "listen");
	if (*listen == '\0')
		return TRUE;
	s->reader = dk_store_open_config(config, error);
	if (s->reader == NULL)
		return FALSE;
	s->http = dk_web_server_new(config, probe, s, error);
	return s->http != NULL;
}

/* One periodic piece of desk work: does it and says how many tickets it
 * changed. */
typedef gboolean (*DeskWork)(DkStore *store, const DkConfig *config, gint64 now, guint *count_out,
                             GError **error);

typedef struct DeskJob {
	const char *name, *key; /* for the log: "desk event=NAME KEY=count" */
	DeskWork work;
	gboolean batched; /* it takes short transactions of its own */
} DeskJob;

/* The body of a desk transaction: its work, told how many tickets it
 * changed. */
typedef gboolean (*DeskBody)(DkStore *store, gpointer data, guint *count_out, GError **error);

/* Ends a transaction of desk work begun by the caller: body, then the
 * events it recorded queued for the help-desk connectors, then the commit;
 * a rollback on any failure. */
static gboolean commit_desk_work(DkStore *store, const DkConfig *config, gint64 now, DeskBody body,
                                 gpointer data, guint *count_out, GError **error)
{
	gint64 last_event = 0;
	if (dk_store_last_event(store, &last_event, error) && body(store, data, count_out, error) &&
	    dk_connector_enqueue_desk(store, config, last_event, 0, 0, now, error) &&
	    dk_store_commit(store, error))
		return TRUE;
	dk_store_rollback(store);
	return FALSE;
}

typedef struct {
	const DeskJob *job;
	const DkConfig *config;
	gint64 now;
} JobRun;

static gboolean job_body(DkStore *store, gpointer data, guint *count_out, GError **error)
{
	JobRun *r = data;
	return r->job->work(store, r->config, r->now, count_out, error);
}

/* Runs the job inside one transaction, its status changes queued for the
 * help-desk connectors; unless another gateway sharing the PostgreSQL
 * store runs it now (*mine_out FALSE). */
static gboolean in_transaction(DkStore *store, const DkConfig *config, const DeskJob *job,
                               gint64 now, gboolean *mine_out, guint *count_out, GError **error)
{
	if (!dk_store_begin(store, error))
		return FALSE;
	gboolean asked = dk_store_job_try(store, job->name, mine_out, error);
	if (!asked || !*mine_out) {
		dk_store_rollback(store);
		return asked; /* asked and not ours: another gateway runs it */
	}
	JobRun run = {job, config, now};
	return commit_desk_work(store, config, now, job_body, &run, count_out, error);
}

/* Runs a job that takes short transactions of its own, on one gateway of
 * those sharing a PostgreSQL store at a time: the job's lease is held by
 * this connection until desk_work() closes it. */
static gboolean batched(DkStore *store, const DkConfig *config, const DeskJob *job, gint64 now,
                        gboolean *mine_out, guint *count_out, GError **error)
{
	g_autofree char *lease = g_strdup_printf("desk %s", job->name);
	if (!dk_store_lease_hold(store, lease, mine_out, error))
		return FALSE;
	return !*mine_out || job->work(store, config, now, count_out, error);
}

/* Runs job on a connection of its own with config (in one short
 * transaction unless it is batched); logs "desk event=NAME KEY=count"
 * when it did anything, and errors. */
static void desk_work(const DkConfig *config, const DeskJob *job)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) store = dk_store_open_config(config, &error);
	guint count = 0;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gboolean mine = TRUE;
	gboolean ok =
	    store != NULL &&
	    (job->batched ? batched(store, config, job, now, &mine, &count, &error)
	                  : in_transaction(store, config, job, now, &mine, &count, &error));
	if (!ok)
		g_warning("desk event=%s result=error error=%s", job->name,
		          error ? error->message : "?");
	else if (!mine) /* gateways sharing a PostgreSQL store: one at a time */
		g_debug("desk event=%s result=skipped reason=another-gateway", job->name);
	else if (count > 0)
		g_message("desk event=%s %s=%u", job->name, job->key, count);
}

static const DkConfig *newest(Serve *s)
{
	return g_ptr_array_index(s->configs, s->configs->len - 1);
}

static gboolean autoclose(DkStore *store, const DkConfig *config, gint64 now, guint *closed_out,
                          GError **error)
{
	int days = (int)dk_config_get_int(config, "desk", "close_after_days");
	return dk_desk_autoclose(store, days, now, closed_out, error);
}

/* Tickets the SLA check recomputes in one transaction: intake waits for
 * the write lock while it runs, and a store of PostgreSQL takes a few
 * round trips a ticket. */
#define SLA_BATCH 200

/* The next SLA_BATCH tickets above *after in one transaction, their
 * breaches' events and notices and the connectors' copies of them
 * committed together; *after: the last one, 0 when none was left. */
typedef struct {
	const DkSlaPolicy *policy;
	const char *const *team;
	gint64 now;
	gboolean whole;
	gint64 *after;
} SlaBatch;

static gboolean sla_batch_body(DkStore *store, gpointer data, guint *breaches_out, GError **error)
{
	SlaBatch *b = data;
	return dk_desk_sla_check_from(store, b->policy, b->team, b->now, !b->whole, *b->after,
	                              SLA_BATCH, b->after, breaches_out, error);
}

static gboolean sla_check_batch(DkStore *store, const DkConfig *config, const DkSlaPolicy *policy,
                                const char *const *team, gint64 now, gboolean whole, gint64 *after,
                                guint *breaches_out, GError **error)
{
	if (!dk_store_begin(store, error))
		return FALSE;
	SlaBatch batch = {policy, team, now, whole, after};
	return commit_desk_work(store, config, now, sla_batch_body, &batch, breaches_out, error);
}

static gboolean sla_check(DkStore *store, const DkConfig *config, gint64 now, guint *breaches_out,
                          GError **error)
{
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new(config, error);
	g_auto(GStrv) team = dk_config_get_list(config, "notify", "team_addresses");
	if (policy == NULL)
		return FALSE;
	gboolean whole = g_atomic_int_compare_and_exchange(&sla_whole, 1, 0);
	gint64 after = 0;
	*breaches_out = 0;
	do {
		guint n = 0;
		gint64 started = g_get_monotonic_time();
		if (!sla_check_batch(store, config, policy, (const char *const *)team, now, whole,
		                     &after, &n, error)) {
			if (whole)
				g_atomic_int_set(&sla_whole, 1);
			return FALSE;
		}
		*breaches_out += n;
		/* as long again for intake, which waited for the write lock */
		if (after != 0)
			g_usleep((gulong)(g_get_monotonic_time() - started));
	} while (after != 0 && !g_atomic_int_get(&stop_batches));
	return TRUE;
}

/* Retention (desk/retention.h): the raw mail of tickets closed longer
 * than their queue's keep_raw_days, in batches. */
static gboolean purge(DkStore *store, const DkConfig *config, gint64 now, guint *tickets_out,
                      GError **error)
{
	g_autoptr(DkRetention) policy = dk_retention_new(config);
	DkPurgeOptions o = {.now = now, .cancel = &stop_batches};
	DkPurgeStats stats = {0};
	gboolean ok = dk_retention_purge(store, policy, &o, &stats, error);
	if (stats.tickets > 0 || stats.files > 0)
		g_message("desk event=retention tickets=%u raw_messages=%u attachments=%u files=%u"
		          " bytes=%" G_GINT64_FORMAT " kept=%u",
		          stats.tickets, stats.raw_messages, stats.attachments, stats.files,
		          stats.bytes, stats.kept);
	*tickets_out = 0; /* said above, with its figures */
	return ok;
}

static const DeskJob autoclose_job = {"autoclose", "closed", autoclose, FALSE};
static const DeskJob sla_job = {"sla_check", "breaches", sla_check, TRUE};
static const DeskJob retention_job = {"retention", "tickets", purge, TRUE};

/* Hourly: resolved tickets close by themselves after [desk]
 * close_after_days. */
static gboolean on_autoclose(gpointer data)
{
	desk_work(newest(data), &autoclose_job);
	return G_SOURCE_CONTINUE;
}

static gpointer background_thread(gpointer data)
{
	Background *b = data;
	desk_work(b->config, b->job);
	g_atomic_int_set(&b->running, 0);
	return NULL;
}

/* Starts a run of b's job with the newest configuration, unless the last
 * one still runs. */
static void background_start(Serve *s, Background *b)
{
	if (!g_atomic_int_compare_and_exchange(&b->running, 0, 1))
		return;
	if (b->thread != NULL)
		g_thread_join(b->thread);
	b->config = newest(s);
	b->thread = g_thread_new(b->job->name, background_thread, b);
}

/* Every [sla] check_seconds: the SLA targets missed by now are recorded
 * and the team told, once each (desk/desk.h). */
static gboolean on_sla_check(gpointer data)
{
	Serve *s = data;
	background_start(s, &s->sla);
	return G_SOURCE_CONTINUE;
}

/* Hourly, and at start: the purge. */
static gboolean on_retention(gpointer data)
{
	Serve *s = data;
	background_start(s, &s->retention);
	return G_SOURCE_CONTINUE;
}

/* Stops the SLA check and the purge under way after their batch and waits
 * for them. */
static void background_stop(Serve *s)
{
	g_atomic_int_set(&stop_batches, 1);
	Background *all[] = {&s->sla, &s->retention};
	for (gsize i = 0; i < G_N_ELEMENTS(all); i++)
		if (all[i]->thread != NULL)
			g_thread_join(g_steal_pointer(&all[i]->thread));
}

/* A start that failed: logged as a failure with its reason (and, when
 * the log goes to syslog, said on stderr too). Returns rc. */
static int start_failed(Serve *s, int rc, const GError *error)
{
	const DkConfig *config = g_ptr_array_index(s->configs, s->configs->len - 1);
	g_autofree char *reason = g_strdelimit(g_strdup(error->message), "\n", ';');
	g_warning("serve event=failed exit=%d error=\"%s\"", rc, reason);
	if (dk_config_get_bool(config, "log", "syslog"))
		dk_cli_error("serve: %s", error->message);
	return rc;
}

/* Starts the listeners and runs the main loop until a stop signal. */
static int run(Serve *s, const DkConfig *config, char **listen, DkPipeline *pipeline)
{
	g_autoptr(GError) error = NULL;
	s->pipeline = pipeline;
	if (!dk_pipeline_check(pipeline, &error)) {
		return start_failed(s, DK_EXIT_CONFIG, error);
	}
	/* The signals are ours before anyone can connect: a SIGHUP (or a
	 * SIGTERM) sent as soon as the port answers must not meet the
	 * default action and kill the gateway. They are handled once the
	 * loop runs. */
	s->loop = g_main_loop_new(NULL, FALSE);
	guint sources[] = {
	    g_unix_signal_add(SIGTERM, on_stop, s),
	    g_unix_signal_add(SIGINT, on_stop, s),
	    g_unix_signal_add(SIGHUP, on_reload, s),
	    g_timeout_add_seconds(3600, on_autoclose, s),
	    g_timeout_add_seconds((guint)dk_config_get_int(config, "sla", "check_seconds"),
	                          on_sla_check, s),
	    g_timeout_add_seconds(3600, on_retention, s)};
	s->lmtp = dk_lmtp_server_new(config, listen, pipeline, &error);
	if (s->lmtp == NULL || !start_http(s, config, &error)) {
		dk_lmtp_server_free(s->lmtp);
		for (gsize i = 0; i < G_N_ELEMENTS(sources); i++)
			g_source_remove(sources[i]);
		g_main_loop_unref(s->loop);
		return start_failed(s, DK_EXIT_CONFIG, error);
	}
	on_autoclose(s);
	on_sla_check(s);
	on_retention(s);
	g_message("serve event=ready version=%s", DOCKET_VERSION);
	g_main_loop_run(s->loop);
	background_stop(s);
	dk_lmtp_server_shutdown(s->lmtp, 30);
	for (gsize i = 0; i < G_N_ELEMENTS(sources); i++)
		g_source_remove(sources[i]);
	g_main_loop_unref(s->loop);
	dk_web_server_free(s->http);
	if (dk_lmtp_server_active(s->lmtp) > 0) {
		/* Sessions past the grace period still use the server and the
		 * writer: what they hold is uncommitted, so the client retries. */
		g_warning("serve event=stopped forced=yes");
		_exit(DK_EXIT_OK);
	}
	dk_lmtp_server_free(s->lmtp);
	return DK_EXIT_OK;
}

int dk_cmd_serve(int argc, char **argv)
{
	g_auto(GStrv) listen = NULL;
	const GOptionEntry entries[] = {
	    {"listen", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &listen,
	     "LMTP address, repeatable (instead of [lmtp] listen): 127.0.0.1:2424, [::1]:2424, "
	     "unix:/path",
	     "ADDR"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	g_option_context_set_summary(
	    context, "Runs the gateway: the LMTP listener and the writer, the IMAP\n"
	             "pollers, the outbox worker and, with [http] listen, the web\n"
	             "server: /healthz, /metrics, the API and the web desk. SIGTERM\n"
	             "finishes transactions in progress and exits; SIGHUP reloads.");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	DkConfig *config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_CONFIG;
	Serve s = {.configs = g_ptr_array_new_with_free_func((GDestroyNotify)dk_config_free),
	           .sla = {.job = &sla_job},
	           .retention = {.job = &retention_job}};
	g_mutex_init(&s.reader_lock);
	g_ptr_array_add(s.configs, config);
	g_autoptr(GError) error = NULL;
	DkStore *store = dk_store_open_config(config, &error);
	if (store == NULL) {
		int rc = start_failed(&s, DK_EXIT_TEMPFAIL, error);
		g_ptr_array_unref(s.configs);
		return rc;
	}
	/* Said once at start: a default that delivers nothing, an insecure
	 * setting (`docket config check` prints the same). */
	for (const char *const *note = dk_config_notes(config); *note != NULL; note++)
		g_warning("serve event=note %s", *note);
	DkWriter *writer = dk_writer_start(store, 0, dk_metrics_observe_commit);
	DkPipeline *pipeline = dk_pipeline_new(config, store, &dk_outbox_effects);
	dk_pipeline_set_writer(pipeline, writer);
	/* The IMAP accounts poll beside the LMTP listener, through the same
	 * pipeline and writer. */
	DkImapPollerSet *pollers = dk_imap_poller_set_new(config, NULL, pipeline, &error);
	/* The outbox worker sends what committed transactions queued. */
	DkOutboxWorker *outbox = pollers ? dk_outbox_worker_start(config, &error) : NULL;
	int rc = DK_EXIT_CONFIG;
	if (pollers == NULL || outbox == NULL) {
		rc = start_failed(&s, DK_EXIT_CONFIG, error);
	} else {
		dk_imap_poller_set_start(pollers);
		s.outbox = outbox;
		s.pollers = pollers;
		/* The way back: what agents write in the help desks. */
		DkReadBackWorker *read_back = dk_read_back_start(config);
		rc = run(&s, config, listen, pipeline);
		dk_read_back_stop(read_back);
	}
	dk_imap_poller_set_free(pollers); /* stops them; before the writer stops */
	dk_outbox_worker_stop(outbox);
	dk_store_close(s.reader);
	dk_writer_stop(writer);
	dk_pipeline_free(pipeline);
	dk_store_close(store);
	g_ptr_array_unref(s.configs);
	g_mutex_clear(&s.reader_lock);
	if (rc == DK_EXIT_OK)
		g_message("serve event=stopped");
	return rc;
}
