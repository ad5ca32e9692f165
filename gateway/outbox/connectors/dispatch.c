/* The outbox side of the connectors: a due "connector" row is claimed,
 * performed against its system, and recorded with the remote ids. */
#define G_LOG_DOMAIN "connector"
#include "gateway/outbox/connectors/connector.h"

#include "gateway/error.h"
#include "gateway/json.h"

#include "parsers/attachment.h"

#include <string.h>

struct DkConnectors {
	GHashTable *connectors; /* name -> DkConnector* */
	GHashTable *broken;     /* name -> why it could not be made */
};

DkConnectors *dk_connectors_new(const DkConfig *config, GError **error)
{
	(void)error;
	DkConnectors *set = g_new0(DkConnectors, 1);
	set->connectors =
	    g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)dk_connector_free);
	set->broken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_auto(GStrv) names = dk_config_get_instances(config, "connector");
	for (guint i = 0; names[i] != NULL; i++) {
		g_autoptr(GError) local = NULL;
		DkConnector *c = dk_connector_new(config, names[i], &local);
		if (c != NULL)
			g_hash_table_insert(set->connectors, c->name, c);
		else
			g_hash_table_insert(set->broken, g_strdup(names[i]),
			                    g_strdup(local->message));
	}
	return set;
}

void dk_connectors_free(DkConnectors *set)
{
	if (set == NULL)
		return;
	g_hash_table_unref(set->connectors);
	g_hash_table_unref(set->broken);
	g_free(set);
}

DkConnector *dk_connectors_get(DkConnectors *set, const char *name)
{
	return g_hash_table_lookup(set->connectors, name);
}

typedef struct {
	DkConnectors *set;
	const DkConfig *config;
	DkStore *store;
	const DkOutboxRow *row;
	DkConnector *c;
	json_t *payload;
	gint64 now;
	gboolean claimed;
	gboolean tried; /* an earlier attempt began: it may have been performed */
	DkTicket *ticket;
	DkArticle *article;
	char *remote_ticket; /* known before the attempt */
	char *new_ticket;    /* learnt by it */
	char *new_comment;
	GPtrArray *files; /* the article's (DkConnectorFile) */
	const GError *failure;
	guint held; /* rows held by this run */
} Run;

static void run_clear(Run *r)
{
	dk_ticket_free(r->ticket);
	dk_article_free(r->article);
	g_free(r->remote_ticket);
	g_free(r->new_ticket);
	g_free(r->new_comment);
	if (r->files != NULL)
		g_ptr_array_unref(r->files);
}

static gboolean in_transaction(DkStore *store, gboolean (*body)(Run *, GError **), Run *r,
                               GError **error)
{
	if (!dk_store_begin(store, error))
		return FALSE;
	if (!body(r, error)) {
		dk_store_rollback(store);
		return FALSE;
	}
	return dk_store_commit(store, error);
}

static gboolean is_create(const DkOutboxRow *row)
{
	g_autoptr(json_t) payload = json_loads(row->payload, 0, NULL);
	return g_strcmp0(json_string_value(json_object_get(payload, "event")), "ticket.created") ==
	       0;
}

/* Holds the rows after blocker, a create that failed for good: later
 * events of a ticket the system never got cannot go, and they must not
 * wait in silence either. One "connector_held" event names the cause. */
static gboolean hold_after(Run *r, const DkOutboxRow *blocker, GError **error)
{
	g_autofree char *reason = g_strdup_printf(
	    "held: the ticket's create (outbox row %" G_GINT64_FORMAT ") failed: %s", blocker->id,
	    blocker->last_error ? blocker->last_error : "(no error recorded)");
	gint64 held = 0;
	if (!dk_store_outbox_hold(r->store, blocker, reason, &held, error))
		return FALSE;
	if (held == 0)
		return TRUE;
	g_message("outbox id=%" G_GINT64_FORMAT
	          " kind=connector to=%s result=held rows=%" G_GINT64_FORMAT,
	          blocker->id, blocker->target, held);
	r->held += (guint)held;
	g_autoptr(json_t) o =
	    json_pack("{sI ss sI ss}", "outbox", (json_int_t)blocker->id, "connector",
	              blocker->target, "held", (json_int_t)held, "error", reason);
	g_autofree char *detail = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_event_add(r->store, blocker->ticket, 0, "connector_held", detail, r->now,
	                          error);
}

/* Whether an earlier attempt at the row began, read under the claim (the
 * row as listed may be older than another gateway's claim), and marks this
 * one as begun: an attempt whose gateway died before recording it counts
 * no attempt but left the mark, and may have been performed. */
static gboolean mark_begun(Run *r, GError **error)
{
	g_autoptr(DkOutboxRow) fresh = dk_store_outbox_get(r->store, r->row->id, error);
	if (fresh == NULL)
		return FALSE;
	g_autoptr(json_t) payload = json_loads(fresh->payload, 0, NULL);
	r->tried = fresh->attempts > 0 || json_object_get(payload, "begun_at") != NULL;
	if (r->tried || !json_is_object(payload))
		return TRUE;
	json_object_set_new(payload, "begun_at", json_integer(r->now));
	g_autofree char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_outbox_set_payload(r->store, r->row->id, text, error);
}

/* A ticket's events go out in order: a row waits while an older one of
 * the same connector and ticket is pending, and is held while the
 * ticket's create has failed (until `docket outbox retry` of the create). */
static gboolean claim(Run *r, GError **error)
{
	gint64 lease = r->c ? r->c->claim_seconds : 0;
	if (lease == 0)
		lease = 4 * (r->c ? r->c->timeout_seconds : 30) + 60;
	g_autoptr(DkOutboxRow) failed = NULL;
	if (!dk_store_outbox_earlier_failed(r->store, r->row, &failed, error))
		return FALSE;
	if (failed != NULL && is_create(failed))
		return hold_after(r, failed, error);
	gboolean waiting = FALSE;
	if (!dk_store_outbox_earlier_pending(r->store, r->row, &waiting, error))
		return FALSE;
	if (waiting)
		return TRUE;
	return dk_store_outbox_claim(r->store, r->row->id, r->now,
	                             dk_store_outbox_claim_until(r->now, lease), &r->claimed,
	                             error) &&
	       (!r->claimed || mark_begun(r, error));
}

static gint64 payload_int(const Run *r, const char *key)
{
	return json_integer_value(json_object_get(r->payload, key));
}

static const char *payload_str(const Run *r, const char *key)
{
	return json_string_value(json_object_get(r->payload, key));
}

/* The article's attachments: the bytes of those within the connector's
 * limit, the others named only. */
static gboolean load_files(Run *r, GError **error)
{
	r->files = g_ptr_array_new_with_free_func(dk_connector_file_free);
	if (r->article == NULL)
		return TRUE;
	g_autoptr(GPtrArray) stored = g_ptr_array_new_with_free_func(dk_stored_attachment_free);
	if (!dk_store_article_attachments(r->store, r->article->id, stored, error))
		return FALSE;
	gint64 limit = dk_connector_file_limit(r->c, r->c->ops->file_limit);
	for (guint i = 0; i < stored->len; i++) {
		const DkStoredAttachment *a = g_ptr_array_index(stored, i);
		DkConnectorFile *f = g_new0(DkConnectorFile, 1);
		/* The name as sent becomes a file on the help desk's side. */
		f->filename = dk_attachment_safe_filename(a->filename);
		if (f->filename == NULL)
			f->filename = g_strdup("attachment");
		f->content_type = g_strdup(a->content_type);
		f->size = a->size;
		g_ptr_array_add(r->files, f);
		char *bytes = NULL;
		gsize len = 0;
		g_autoptr(GError) local = NULL;
		if ((gint64)a->size > limit)
			continue;
		if (!g_file_get_contents(a->path, &bytes, &len, &local)) {
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "attachment %s: %s",
			            f->filename, local->message);
			return FALSE;
		}
		f->data = g_bytes_new_take(bytes, len);
	}
	return TRUE;
}

/* The ticket, the article and the remote ticket id, from the store. */
static gboolean load(Run *r, GError **error)
{
	r->ticket = dk_store_ticket_get(r->store, r->row->ticket, error);
	if (r->ticket == NULL)
		return FALSE;
	g_autoptr(GPtrArray) articles = dk_store_articles(r->store, r->row->ticket, error);
	if (articles == NULL)
		return FALSE;
	gint64 wanted = payload_int(r, "article");
	for (guint i = 0; i < articles->len && r->article == NULL; i++) {
		DkArticle *a = g_ptr_array_index(articles, i);
		if (a->id == wanted)
			r->article = g_ptr_array_steal_index(articles, i);
	}
	return load_files(r, error) &&
	       dk_store_external_ref_get(r->store, r->c->name, "ticket", r->row->ticket,
	                                 &r->remote_ticket, error);
}

/* What a look-up for an earlier attempt's work found (found: its remote
 * id, or NULL). */
static void log_lookup(const Run *r, const char *event, const char *found)
{
	g_message("outbox id=%" G_GINT64_FORMAT
	          " kind=connector to=%s event=%s result=%s remote=%s",
	          r->row->id, r->c->name, event, found ? "found" : "none", found ? found : "-");
}

static gboolean create(Run *r, const DkConnectorEvent *e, GError **error)
{
	const DkConnectorOps *ops = r->c->ops;
	if (r->remote_ticket != NULL)
		return TRUE; /* made by an earlier attempt that recorded it */
	/* An earlier attempt may have created it and lost the answer, or
	 * died before recording it. */
	if (r->tried && ops->lookup != NULL) {
		if (!ops->lookup(r->c, e, &r->new_ticket, error))
			return FALSE;
		log_lookup(r, "lookup", r->new_ticket);
	}
	if (r->new_ticket == NULL && !ops->create_ticket(r->c, e, &r->new_ticket, error))
		return FALSE;
	return ops->attach == NULL || r->new_ticket == NULL ||
	       ops->attach(r->c, e, r->new_ticket, error);
}

/* A comment like the event's that no other article of ours claims: the
 * one an earlier attempt made (the same text twice stays twice). */
static gboolean find_comment(Run *r, const DkConnectorEvent *e, GError **error)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	if (!r->c->ops->find_comment(r->c, e, ids, error))
		return FALSE;
	for (guint i = 0; i < ids->len && r->new_comment == NULL; i++) {
		gboolean taken = FALSE;
		if (!dk_store_external_ref_taken(r->store, r->c->name, "article",
		                                 g_ptr_array_index(ids, i), &taken, error))
			return FALSE;
		if (!taken)
			r->new_comment = g_strdup(g_ptr_array_index(ids, i));
	}
	return TRUE;
}

static gboolean comment(Run *r, const DkConnectorEvent *e, GError **error)
{
	const DkConnectorOps *ops = r->c->ops;
	g_autofree char *known = NULL;
	if (!dk_store_external_ref_get(r->store, r->c->name, "article", e->article->id, &known,
	                               error))
		return FALSE;
	if (known != NULL)
		return TRUE;
	if (r->tried && ops->find_comment != NULL) {
		if (!find_comment(r, e, error))
			return FALSE;
		log_lookup(r, "lookup_comment", r->new_comment);
	}
	if (r->new_comment == NULL && !ops->add_comment(r->c, e, &r->new_comment, error))
		return FALSE;
	return ops->attach == NULL || ops->attach(r->c, e, e->remote_ticket, error);
}

/* Whether the row's change was read back from this connector's system. */
static gboolean mirrored(const Run *r)
{
	g_autofree char *origin = dk_connector_origin(r->c);
	return g_strcmp0(payload_str(r, "by"), origin) == 0;
}

static gboolean perform(Run *r, GError **error)
{
	if (!load(r, error))
		return FALSE;
	g_autofree char *reference =
	    g_strdup_printf("%s-%" G_GINT64_FORMAT, r->c->reference_prefix, r->row->ticket);
	const char *event = payload_str(r, "event");
	DkConnectorEvent e = {
	    .event = event,
	    .ticket = r->ticket,
	    .article = r->article,
	    .field = payload_str(r, "field"),
	    .old_value = payload_str(r, "old"),
	    .new_value = payload_str(r, "new"),
	    .reference = reference,
	    .remote_ticket = r->remote_ticket,
	    .outbox_id = r->row->id,
	    .since = r->row->created_at,
	    .files = r->files,
	};
	if (g_strcmp0(event, "ticket.created") == 0)
		return create(r, &e, error);
	if (r->c->ops->remote_ids && r->remote_ticket == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
		            "%s: ticket %" G_GINT64_FORMAT " is not created there yet", r->c->name,
		            r->row->ticket);
		return FALSE;
	}
	if (g_strcmp0(event, "article.created") == 0 && r->article != NULL)
		return comment(r, &e, error);
	if (g_strcmp0(event, "ticket.updated") == 0 && mirrored(r))
		return TRUE; /* the system made this change: nothing to send back */
	if (g_strcmp0(event, "ticket.updated") == 0)
		return r->c->ops->update(r->c, &e, error);
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: unknown event %s", r->c->name,
	            event ? event : "(none)");
	return FALSE;
}

static char *detail_json(const Run *r, const char *remote, const char *error_text)
{
	g_autoptr(json_t) o = json_pack(
	    "{sI ss s? s* s*}", "outbox", (json_int_t)r->row->id, "connector", r->row->target,
	    "event", json_object_get(r->payload, "event"), "remote", remote, "error", error_text);
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

static gboolean record_done(Run *r, GError **error)
{
	const char *name = r->row->target;
	if (r->new_ticket != NULL &&
	    !dk_store_external_ref_set(r->store, name, "ticket", r->row->ticket, r->new_ticket,
	                               error))
		return FALSE;
	if (r->new_comment != NULL && r->article != NULL &&
	    !dk_store_external_ref_set(r->store, name, "article", r->article->id, r->new_comment,
	                               error))
		return FALSE;
	g_autofree char *detail =
	    detail_json(r, r->new_ticket ? r->new_ticket : r->new_comment, NULL);
	return dk_store_outbox_done(r->store, r->row->id, error) &&
	       dk_store_event_add(r->store, r->row->ticket, 0, "connector_sent", detail, r->now,
	                          error);
}

static gint64 backoff(const Run *r)
{
	gint64 delay = dk_config_get_int(r->config, "notify", "retry_initial_seconds");
	gint64 max = dk_config_get_int(r->config, "notify", "retry_max_seconds");
	for (gint64 i = 0; i < r->row->attempts && delay < max; i++)
		delay *= 2;
	delay = MIN(delay, max);
	return r->c != NULL ? MAX(delay, r->c->retry_after) : delay;
}

static gboolean too_old(const Run *r)
{
	return r->now - r->row->created_at >=
	       dk_config_get_int(r->config, "notify", "max_age_seconds");
}

static gboolean record_failure(Run *r, GError **error)
{
	if (dk_error_is_temporary(r->failure) && !too_old(r))
		return dk_store_outbox_defer(r->store, r->row->id, r->now + backoff(r),
		                             r->failure->message, error);
	g_autofree char *detail = detail_json(r, NULL, r->failure->message);
	if (!dk_store_outbox_fail(r->store, r->row->id, r->failure->message, error) ||
	    !dk_store_event_add(r->store, r->row->ticket, 0, "connector_failed", detail, r->now,
	                        error))
		return FALSE;
	if (!is_create(r->row))
		return TRUE;
	DkOutboxRow blocker = *r->row;
	blocker.last_error = (char *)r->failure->message;
	return hold_after(r, &blocker, error);
}

static gboolean attempt(Run *r, GError **error)
{
	const char *broken = g_hash_table_lookup(r->set->broken, r->row->target);
	if (r->c == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "connector %s: %s", r->row->target,
		            broken ? broken : "not configured");
		return FALSE;
	}
	if (r->c->ops == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "connector %s: unknown type",
		            r->c->name);
		return FALSE;
	}
	return perform(r, error);
}

gboolean dk_connectors_run_row(DkConnectors *set, const DkConfig *config, DkStore *store,
                               const DkOutboxRow *row, gint64 now, DkOutboxStats *stats,
                               GError **error)
{
	g_autoptr(json_t) payload = json_loads(row->payload, 0, NULL);
	if (!json_is_object(payload)) {
		json_decref(payload);
		payload = json_object();
	}
	Run r = {.set = set,
	         .config = config,
	         .store = store,
	         .row = row,
	         .payload = payload,
	         .now = now,
	         .c = g_hash_table_lookup(set->connectors, row->target)};
	gboolean ok = in_transaction(store, claim, &r, error);
	stats->held += r.held;
	if (!ok || !r.claimed)
		return ok;
	g_autoptr(GError) failure = NULL;
	r.held = 0;
	if (attempt(&r, &failure)) {
		g_message(
		    "outbox id=%" G_GINT64_FORMAT " kind=connector to=%s event=%s result=sent",
		    row->id, row->target, json_string_value(json_object_get(payload, "event")));
		stats->sent++;
		ok = in_transaction(store, record_done, &r, error);
	} else {
		r.failure = failure;
		gboolean deferred = dk_error_is_temporary(failure) && !too_old(&r);
		g_message("outbox id=%" G_GINT64_FORMAT
		          " kind=connector to=%s result=%s error=\"%s\"",
		          row->id, row->target, deferred ? "deferred" : "failed", failure->message);
		if (deferred)
			stats->deferred++;
		else
			stats->failed++;
		ok = in_transaction(store, record_failure, &r, error);
		stats->held += r.held;
	}
	run_clear(&r);
	return ok;
}
