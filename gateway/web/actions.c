/* The ticket actions the API and the web desk share (actions.h): the
 * role check, then one transaction through the desk (desk/desk.h) with
 * the SLA clocks recomputed and the connectors told, as `docket ticket`
 * does on the command line. */
#include "gateway/web/actions.h"

#include "gateway/core/reprocess.h"
#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/outbox/connector-events.h"
#include "gateway/outbox/effects.h"
#include "gateway/store/store-outbox.h"

#include <string.h>

/* One action: its inputs and what it gives back. */
typedef struct {
	DkWeb *web;
	const DkUser *user;
	gint64 ticket, other, minutes, id;
	const DkTicketChange *change;
	const DkTicketNew *create;
	const char *text;
	const DkReplyFile *files;
	guint n_files;
	gint64 article_out, id_out;
} Action;

typedef gboolean (*ActionFunc)(DkStore *store, Action *a, gint64 now, GError **error);

static gint64 now_seconds(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

static gboolean invalid(GError **error, const char *message)
{
	g_set_error_literal(error, DK_WEB_ERROR, DK_WEB_ERROR_INVALID, message);
	return FALSE;
}

/* Runs f in one transaction, with the ticket's SLA clocks recomputed
 * after it and its changes queued for the help-desk connectors: all of it
 * or nothing. */
static gboolean in_transaction(Action *a, ActionFunc f, GError **error)
{
	DkStore *store = dk_web_store(a->web);
	const DkConfig *config = dk_web_config(a->web);
	g_autoptr(DkSlaPolicy) sla = dk_sla_policy_new(config, error);
	gint64 now = now_seconds(), last_event = 0;
	if (sla == NULL || !dk_store_begin(store, error))
		return FALSE;
	if (!dk_store_last_event(store, &last_event, error) || !f(store, a, now, error) ||
	    (a->ticket != 0 && !dk_desk_sla_update(store, sla, a->ticket, now, error)) ||
	    !dk_connector_enqueue_desk(store, config, last_event, a->ticket, a->article_out, now,
	                               error)) {
		dk_store_rollback(store);
		return FALSE;
	}
	return dk_store_commit(store, error);
}

static gboolean do_update(DkStore *s, Action *a, gint64 now, GError **error)
{
	const DkTicketChange *c = a->change;
	const char *by = a->user->name;
	if (c->priority && !dk_desk_set_priority(s, a->ticket, c->priority, by, now, error))
		return FALSE;
	if (c->assignee &&
	    !dk_desk_assign(s, a->ticket, *c->assignee ? c->assignee : NULL, by, now, error))
		return FALSE;
	if (c->queue && !dk_desk_set_queue(s, a->ticket, c->queue, by, now, error))
		return FALSE;
	for (guint i = 0; c->tags_add && c->tags_add[i]; i++)
		if (!dk_desk_tag(s, a->ticket, c->tags_add[i], by, now, error))
			return FALSE;
	for (guint i = 0; c->tags_remove && c->tags_remove[i]; i++)
		if (!dk_desk_untag(s, a->ticket, c->tags_remove[i], by, now, error))
			return FALSE;
	/* Last, so that a ticket resolved here carries the rest already. */
	return c->status == NULL || dk_desk_set_status(s, a->ticket, c->status, by, now, error);
}

/* The values of a change that are wrong whatever the ticket: 400, not 409. */
static gboolean change_valid(const DkTicketChange *c, GError **error)
{
	DkTicketStatus status;
	if (!c->status && !c->priority && !c->queue && !c->assignee && !c->tags_add &&
	    !c->tags_remove)
		return invalid(error,
		               "nothing to change (status, priority, queue, assignee, tags)");
	if (c->status && !dk_ticket_status_parse(c->status, &status))
		return invalid(error, "unknown status (new, open, in_progress, waiting, on_hold, "
		                      "resolved, closed)");
	if (c->priority && !dk_priority_known(c->priority))
		return invalid(error, "unknown priority (critical, high, medium, low, none)");
	if (c->queue && *c->queue == '\0')
		return invalid(error, "the queue must not be empty");
	return TRUE;
}

gboolean dk_web_ticket_update(DkWeb *web, const DkUser *user, gint64 ticket,
                              const DkTicketChange *change, GError **error)
{
	Action a = {.web = web, .user = user, .ticket = ticket, .change = change};
	return dk_user_require(user, DK_USER_AGENT, error) && change_valid(change, error) &&
	       in_transaction(&a, do_update, error);
}

static gboolean do_create(DkStore *s, Action *a, gint64 now, GError **error)
{
	const DkTicketNew *n = a->create;
	g_autofree char *requester = g_ascii_strdown(n->requester, -1);
	gint64 number = dk_store_ticket_create(s, n->subject, requester, now, error);
	if (number == 0)
		return FALSE;
	a->ticket = number;
	DkArticle article = {
	    .ticket = number,
	    .direction = DK_INBOUND,
	    .visibility = DK_PUBLIC,
	    .evidence = "new",
	    .sender = requester,
	    .subject = (char *)n->subject,
	    .new_text = (char *)n->text,
	    .full_text = (char *)n->text,
	    .intake = "web",
	    .created_at = now,
	};
	g_autoptr(json_t) detail =
	    json_pack("{ss ss ss}", "intake", "web", "from", requester, "by", a->user->name);
	g_autofree char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	if (dk_store_article_add(s, &article, error) == 0 ||
	    !dk_store_participant_add(s, number, requester, DK_ROLE_REQUESTER, error) ||
	    !dk_store_event_add(s, number, article.id, "created", text, now, error))
		return FALSE;
	a->article_out = article.id;
	const char *by = a->user->name;
	return (n->priority == NULL ||
	        dk_desk_set_priority(s, number, n->priority, by, now, error)) &&
	       (n->queue == NULL || dk_desk_set_queue(s, number, n->queue, by, now, error)) &&
	       (n->assignee == NULL || dk_desk_assign(s, number, n->assignee, by, now, error));
}

static gboolean create_valid(const DkTicketNew *n, GError **error)
{
	if (n->subject == NULL || *n->subject == '\0' || strchr(n->subject, '\n') != NULL)
		return invalid(error, "subject: one line, not empty");
	if (n->requester == NULL || strchr(n->requester, '@') == NULL ||
	    strpbrk(n->requester, " <>,\r\n") != NULL)
		return invalid(error, "requester: an address (name@example.com)");
	if (n->text == NULL || *n->text == '\0')
		return invalid(error, "text: the customer's request, not empty");
	DkTicketChange fields = {.priority = n->priority, .queue = n->queue, .assignee = ""};
	return change_valid(&fields, error);
}

gboolean dk_web_ticket_create(DkWeb *web, const DkUser *user, const DkTicketNew *ticket,
                              gint64 *number_out, GError **error)
{
	Action a = {.web = web, .user = user, .create = ticket};
	if (!dk_user_require(user, DK_USER_AGENT, error) || !create_valid(ticket, error) ||
	    !in_transaction(&a, do_create, error))
		return FALSE;
	*number_out = a.ticket;
	return TRUE;
}

/* The files within the [limits] a reply's files meet; else 413. */
static gboolean files_fit(const DkConversation *conversation, const DkReplyFile *files, guint n,
                          GError **error)
{
	g_autofree const char **names = g_new0(const char *, n + 1);
	g_autofree gsize *sizes = g_new0(gsize, n + 1);
	for (guint i = 0; i < n; i++) {
		names[i] = files[i].filename;
		sizes[i] = g_bytes_get_size(files[i].data);
	}
	g_autoptr(GError) local = NULL;
	if (dk_conversation_files_fit(conversation, names, sizes, n, &local))
		return TRUE;
	g_set_error_literal(error, DK_WEB_ERROR, DK_WEB_ERROR_TOO_LARGE, local->message);
	return FALSE;
}

static gboolean do_article(DkStore *s, Action *a, gint64 now, gboolean public, GError **error)
{
	g_autoptr(DkConversation) conversation = dk_conversation_new(dk_web_config(a->web));
	const DkUser *u = a->user;
	DkReply reply = {
	    .text = a->text,
	    .author = u->email ? u->email : u->name,
	    .author_name = u->display_name,
	    .files = a->files,
	    .n_files = a->n_files,
	    .by = u->name,
	};
	a->article_out = public
	                     ? dk_desk_reply(s, conversation, a->ticket, &reply, now, error)
	                     : dk_desk_note_files(s, conversation, a->ticket, &reply, now, error);
	return a->article_out != 0;
}

static gboolean do_reply(DkStore *s, Action *a, gint64 now, GError **error)
{
	return do_article(s, a, now, TRUE, error);
}

static gboolean do_note(DkStore *s, Action *a, gint64 now, GError **error)
{
	return do_article(s, a, now, FALSE, error);
}

static gboolean article(DkWeb *web, const DkUser *user, gint64 ticket, const char *text,
                        const DkReplyFile *files, guint n_files, gboolean public,
                        gint64 *article_out, GError **error)
{
	Action one = {.web = web,
	              .user = user,
	              .ticket = ticket,
	              .text = text,
	              .files = files,
	              .n_files = n_files};
	Action *a = &one;
	g_autoptr(DkConversation) conversation = dk_conversation_new(dk_web_config(a->web));
	if (!dk_user_require(a->user, DK_USER_AGENT, error))
		return FALSE;
	g_autofree char *stripped = a->text ? g_strstrip(g_strdup(a->text)) : NULL;
	if (stripped == NULL || *stripped == '\0')
		return invalid(error, "text: not empty");
	if (!g_utf8_validate(a->text, -1, NULL))
		return invalid(error, "text: not UTF-8");
	if (!files_fit(conversation, a->files, a->n_files, error) ||
	    !in_transaction(a, public ? do_reply : do_note, error))
		return FALSE;
	if (article_out != NULL)
		*article_out = a->article_out;
	return TRUE;
}

gboolean dk_web_reply(DkWeb *web, const DkUser *user, gint64 ticket, const char *text,
                      const DkReplyFile *files, guint n_files, gint64 *article_out, GError **error)
{
	return article(web, user, ticket, text, files, n_files, TRUE, article_out, error);
}

gboolean dk_web_note(DkWeb *web, const DkUser *user, gint64 ticket, const char *text,
                     const DkReplyFile *files, guint n_files, gint64 *article_out, GError **error)
{
	return article(web, user, ticket, text, files, n_files, FALSE, article_out, error);
}

static gboolean do_time(DkStore *s, Action *a, gint64 now, GError **error)
{
	if (!dk_desk_add_time(s, a->ticket, a->minutes, a->text ? a->text : "", a->user->name, now,
	                      error))
		return FALSE;
	g_autoptr(GPtrArray) entries = dk_store_time_entries(s, a->ticket, error);
	if (entries == NULL)
		return FALSE;
	const DkTimeEntry *last = g_ptr_array_index(entries, entries->len - 1);
	a->id_out = last->id;
	return TRUE;
}

gboolean dk_web_time_add(DkWeb *web, const DkUser *user, gint64 ticket, gint64 minutes,
                         const char *note, gint64 *id_out, GError **error)
{
	Action a = {.web = web, .user = user, .ticket = ticket, .minutes = minutes, .text = note};
	if (!dk_user_require(user, DK_USER_AGENT, error))
		return FALSE;
	if (minutes <= 0 || minutes > 1000 * 60)
		return invalid(error, "minutes: 1 to 60000");
	if (!in_transaction(&a, do_time, error))
		return FALSE;
	if (id_out != NULL)
		*id_out = a.id_out;
	return TRUE;
}

static gboolean do_merge(DkStore *s, Action *a, gint64 now, GError **error)
{
	return dk_desk_merge(s, a->ticket, a->other, a->user->name, now, error);
}

gboolean dk_web_merge(DkWeb *web, const DkUser *user, gint64 target, gint64 source, GError **error)
{
	Action a = {.web = web, .user = user, .ticket = target, .other = source};
	return dk_user_require(user, DK_USER_AGENT, error) && in_transaction(&a, do_merge, error);
}

/* An event by user on ticket about a row that is not the ticket's own
 * (an outbox row, a quarantined message), in its own transaction. */
static gboolean record(DkWeb *web, const DkUser *user, gint64 ticket, const char *type,
                       const char *key, gint64 id, GError **error)
{
	DkStore *store = dk_web_store(web);
	g_autoptr(json_t) detail = json_pack("{ss sI}", "by", user->name, key, (json_int_t)id);
	g_autofree char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	if (!dk_store_begin(store, error))
		return FALSE;
	if (!dk_store_event_add(store, ticket, 0, type, text, now_seconds(), error)) {
		dk_store_rollback(store);
		return FALSE;
	}
	return dk_store_commit(store, error);
}

gboolean dk_web_quarantine_reprocess(DkWeb *web, const DkUser *user, gint64 id, gboolean release,
                                     gint64 *ticket_out, GError **error)
{
	if (!dk_user_require(user, DK_USER_ADMIN, error))
		return FALSE;
	DkStore *store = dk_web_store(web);
	g_autoptr(DkQuarantined) q = dk_store_quarantine_get(store, id, error);
	if (q == NULL)
		return FALSE;
	g_autoptr(DkPipeline) pipeline =
	    dk_pipeline_new(dk_web_config(web), store, &dk_outbox_effects);
	DkOutcome outcome = DK_OUTCOME_QUARANTINED;
	if (!dk_pipeline_reprocess(pipeline, store, q, release, &outcome, ticket_out, error))
		return FALSE;
	g_message("web event=reprocess id=%" G_GINT64_FORMAT " by=%s outcome=%s", id, user->name,
	          dk_outcome_name(outcome));
	/* The message is stored: the record of who did it follows. */
	return *ticket_out == 0 ||
	       record(web, user, *ticket_out, "quarantine_reprocess", "quarantine", id, error);
}

gboolean dk_web_outbox_retry(DkWeb *web, const DkUser *user, gint64 id, GError **error)
{
	if (!dk_user_require(user, DK_USER_AGENT, error))
		return FALSE;
	DkStore *store = dk_web_store(web);
	g_autoptr(DkOutboxRow) row = NULL;
	gint64 now = now_seconds();
	if (!dk_store_begin(store, error))
		return FALSE;
	g_autoptr(json_t) detail = json_pack("{ss sI}", "by", user->name, "outbox", (json_int_t)id);
	g_autofree char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	if ((row = dk_store_outbox_get(store, id, error)) == NULL ||
	    !dk_store_outbox_retry(store, id, now, error) ||
	    (row->ticket != 0 &&
	     !dk_store_event_add(store, row->ticket, 0, "outbox_retry", text, now, error))) {
		dk_store_rollback(store);
		return FALSE;
	}
	g_message("web event=outbox_retry id=%" G_GINT64_FORMAT " by=%s", id, user->name);
	return dk_store_commit(store, error);
}
