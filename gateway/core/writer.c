/* Stores prepared messages: dedupe, thread, ticket, article, index, events. */
#include "gateway/core/writer.h"

#include "gateway/core/error.h"
#include "gateway/core/thread.h"
#include "gateway/ops/metrics.h"
#include "gateway/outbox/notify.h"

#include "gateway/core/json.h"

static char *join_addresses(const DkMessage *m)
{
	GString *out = g_string_new(NULL);
	const GPtrArray *lists[] = {m->to, m->cc};
	for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
		for (guint i = 0; i < lists[l]->len; i++) {
			const DkAddress *a = g_ptr_array_index(lists[l], i);
			g_string_append_printf(out, "%s%s", out->len ? ", " : "", a->address);
		}
	}
	return g_string_free(out, FALSE);
}

static char *event_detail(const DkPipelineItem *item)
{
	const DkMessage *m = item->message;
	g_autoptr(json_t) o = json_object();
	json_object_set_new(o, "message_id", json_string(m->message_id));
	if (m->from != NULL)
		json_object_set_new(o, "from", json_string(m->from->address));
	json_object_set_new(o, "intake", json_string(item->intake));
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

static gboolean record_participants(DkStore *store, gint64 ticket, const DkMessage *m, gboolean created,
				    GError **error)
{
	const char *role = created ? "requester" : "sender";
	if (m->from != NULL && !dk_store_participant_add(store, ticket, m->from->address, role, error))
		return FALSE;
	for (guint i = 0; i < m->cc->len; i++) {
		const DkAddress *a = g_ptr_array_index(m->cc, i);
		if (!dk_store_participant_add(store, ticket, a->address, "cc", error))
			return FALSE;
	}
	return TRUE;
}

static gboolean store_attachments(DkStore *store, gint64 article, const DkMessage *m, GError **error)
{
	for (guint i = 0; i < m->attachments->len; i++) {
		const DkAttachment *a = g_ptr_array_index(m->attachments, i);
		DkAttachmentIn in = {
			.filename = a->filename,
			.content_type = a->content_type,
			.content_id = a->content_id,
			.disposition = a->disposition,
			.size = a->size,
			.sha256 = a->sha256,
			.data = a->data,
		};
		if (!dk_store_attachment_add(store, article, i, &in, error))
			return FALSE;
	}
	return TRUE;
}

/* Where the message goes: a ticket it threads onto, or a new one. A known
 * Message-ID with different content (a conflict) stays with the ticket
 * that holds the first copy. */
static gboolean decide(DkStore *store, const DkMessage *m, DkThreadMatch *match, gboolean *conflict_out,
		       GError **error)
{
	gint64 owner = 0;
	gboolean known = FALSE;
	*conflict_out = FALSE;
	if (!dk_store_message_id_find(store, m->message_id, &owner, &known, error))
		return FALSE;
	if (known) {
		*conflict_out = TRUE;
		match->ticket = owner;
		match->evidence = "header";
		return TRUE;
	}
	return dk_thread_find(store, m, match, error);
}

static gboolean write_article(DkStore *store, DkPipelineItem *item, const DkThreadMatch *match,
			      const char *raw_sha, GError **error)
{
	const DkMessage *m = item->message;
	g_autofree char *recipients = join_addresses(m);
	DkArticle article = {
		.ticket = match->ticket,
		.direction = "inbound",
		.visibility = "public",
		.evidence = (char *)match->evidence,
		.sender = m->from ? m->from->address : NULL,
		.recipients = recipients,
		.subject = m->subject,
		.message_id = m->message_id,
		.fingerprint = (char *)m->fingerprint,
		.new_text = m->new_text,
		.full_text = m->text,
		.raw_sha256 = (char *)raw_sha,
		.intake = item->intake,
		.created_at = item->received_at,
	};
	if (dk_store_article_add(store, &article, error) == 0)
		return FALSE;
	item->result.article = article.id;
	return store_attachments(store, article.id, m, error) &&
	       dk_store_message_id_add(store, m->message_id, match->ticket, article.id, error);
}

static gboolean quarantine_item(DkStore *store, DkPipelineItem *item, GError **error)
{
	char raw_sha[65];
	if (!dk_store_raw_put(store, item->raw, item->received_at, raw_sha, error))
		return FALSE;
	g_autofree char *recipients = item->recipients ? g_strjoinv(",", item->recipients) : NULL;
	DkQuarantined entry = {
		.raw_sha256 = raw_sha,
		.reason = item->quarantine_reason,
		.intake = item->intake,
		.envelope_from = item->envelope_from,
		.recipients = recipients,
		.received_at = item->received_at,
	};
	item->result.outcome = DK_OUTCOME_QUARANTINED;
	item->result.evidence = "quarantine";
	return dk_store_quarantine_add(store, &entry, &item->result.quarantine, error);
}

static gboolean write_message(DkStore *store, DkPipelineItem *item, GError **error);

/* Notifications: the acknowledgement of a new ticket and the team's notice
 * are outbox rows in this same transaction (outbox/notify.h), sent after
 * commit. */
static gboolean notify(DkStore *store, DkPipelineItem *item, GError **error)
{
	if (item->result.outcome != DK_OUTCOME_CREATED)
		return TRUE;
	return dk_notify_enqueue_ack(store, item->config, item, error) &&
	       dk_notify_enqueue_team(store, item->config, item, error);
}

/* Stores one item; a message taken back from the quarantine leaves it in
 * the same transaction. */
static gboolean write_item(DkStore *store, DkPipelineItem *item, GError **error)
{
	if (item->message == NULL)
		return quarantine_item(store, item, error);
	return write_message(store, item, error) && notify(store, item, error) &&
	       (item->requeued_from == 0 || dk_store_quarantine_remove(store, item->requeued_from, error));
}

static gboolean write_message(DkStore *store, DkPipelineItem *item, GError **error)
{
	const DkMessage *m = item->message;
	DkDelivery *r = &item->result;
	gboolean duplicate = FALSE, conflict = FALSE;
	r->message_id = g_strdup(m->message_id);
	if (!dk_store_article_find(store, m->message_id, m->fingerprint, &r->ticket, &r->article, &duplicate,
				   error))
		return FALSE;
	if (duplicate) {
		r->outcome = DK_OUTCOME_DUPLICATE;
		r->evidence = "duplicate";
		return TRUE;
	}
	char raw_sha[65];
	DkThreadMatch match;
	if (!dk_store_raw_put(store, item->raw, item->received_at, raw_sha, error) ||
	    !decide(store, m, &match, &conflict, error))
		return FALSE;
	r->outcome = match.ticket ? DK_OUTCOME_APPENDED : DK_OUTCOME_CREATED;
	if (match.ticket == 0) {
		match.ticket = dk_store_ticket_create(store, m->subject, m->from ? m->from->address : NULL,
						      item->received_at, error);
		if (match.ticket == 0)
			return FALSE;
	}
	r->ticket = match.ticket;
	r->evidence = match.evidence;
	g_autofree char *detail = event_detail(item);
	const char *event = r->outcome == DK_OUTCOME_CREATED ? "created" : "comment";
	return write_article(store, item, &match, raw_sha, error) &&
	       record_participants(store, match.ticket, m, r->outcome == DK_OUTCOME_CREATED, error) &&
	       dk_store_event_add(store, match.ticket, r->article, event, detail, item->received_at, error) &&
	       (!conflict || dk_store_event_add(store, match.ticket, r->article, "message_id_conflict", detail,
						item->received_at, error)) &&
	       dk_store_ticket_touch(store, match.ticket, item->received_at, error);
}

static gboolean commit_items(DkStore *store, DkPipelineItem **items, guint n, GError **error)
{
	if (!dk_store_begin(store, error))
		return FALSE;
	for (guint i = 0; i < n; i++) {
		DkPipelineItem *item = items[i];
		g_clear_error(&item->error);
		dk_delivery_clear(&item->result);
		/* A savepoint that cannot start or end means the transaction
		 * itself is broken: the whole batch fails. */
		if (!dk_store_savepoint(store, error))
			goto broken;
		if (!write_item(store, item, &item->error))
			dk_store_rollback_savepoint(store);
		else if (!dk_store_release(store, error))
			goto broken;
	}
	return dk_store_commit(store, error);
broken:
	dk_store_rollback(store);
	return FALSE;
}

gboolean dk_writer_commit(DkStore *store, DkPipelineItem **items, guint n, GError **error)
{
	gint64 started = g_get_monotonic_time();
	gboolean ok = commit_items(store, items, n, error);
	if (ok)
		dk_metrics_observe_commit((double)(g_get_monotonic_time() - started) / G_USEC_PER_SEC);
	return ok;
}
