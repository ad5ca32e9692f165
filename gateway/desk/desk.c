/* The ticket desk: lifecycle transitions, the agent's changes with their
 * events, notes and replies, time entries, merging and auto-closing. */
#include "gateway/desk/desk.h"

#include "gateway/error.h"
#include "gateway/json.h"
#include "parsers/digest.h"

#include <string.h>

#define MERGE_CHAIN_MAX 16
#define DURATION_MAX_MINUTES (1000 * 60)

static gboolean working(DkTicketStatus s)
{
	return s == DK_STATUS_OPEN || s == DK_STATUS_IN_PROGRESS || dk_ticket_status_is_paused(s);
}

gboolean dk_desk_transition_allowed(DkTicketStatus from, DkTicketStatus to)
{
	if (from == to)
		return TRUE;
	if (to == DK_STATUS_NEW)
		return FALSE; /* a ticket is new once */
	if (to == DK_STATUS_CLOSED)
		return from == DK_STATUS_RESOLVED;
	if (from == DK_STATUS_CLOSED)
		return to == DK_STATUS_OPEN; /* reopened */
	if (from == DK_STATUS_RESOLVED)
		return to == DK_STATUS_OPEN || to == DK_STATUS_IN_PROGRESS;
	/* new and the working statuses go to any working status or resolved */
	return working(to) || to == DK_STATUS_RESOLVED;
}

gboolean dk_desk_parse_duration(const char *text, gint64 *minutes_out, GError **error)
{
	gint64 total = 0;
	const char *p = text;
	gboolean any = FALSE;
	while (p != NULL && *p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (!g_ascii_isdigit(*p))
			goto bad;
		gint64 n = 0;
		while (g_ascii_isdigit(*p) && n <= DURATION_MAX_MINUTES)
			n = n * 10 + (*p++ - '0');
		if (*p == 'h' || *p == 'H')
			n *= 60;
		else if (*p != 'm' && *p != 'M')
			goto bad;
		p++;
		total += n;
		any = TRUE;
		if (total > DURATION_MAX_MINUTES)
			goto bad;
	}
	if (!any || total == 0)
		goto bad;
	*minutes_out = total;
	return TRUE;
bad:
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
	            "“%s” is not a duration like 30m, 1h15m or 2h (at most 1000h)",
	            text ? text : "");
	return FALSE;
}

char *dk_desk_format_duration(gint64 minutes)
{
	if (minutes < 0) {
		g_autofree char *positive = dk_desk_format_duration(-minutes);
		return g_strconcat("-", positive, NULL);
	}
	if (minutes > 0 && minutes % 60 == 0)
		return g_strdup_printf("%" G_GINT64_FORMAT "h", minutes / 60);
	if (minutes < 60)
		return g_strdup_printf("%" G_GINT64_FORMAT "m", minutes);
	return g_strdup_printf("%" G_GINT64_FORMAT "h%" G_GINT64_FORMAT "m", minutes / 60,
	                       minutes % 60);
}

/* Records an event with detail (stolen) and "by". */
static gboolean event(DkStore *store, gint64 ticket, gint64 article, const char *type,
                      json_t *detail, const char *by, gint64 now, GError **error)
{
	g_autoptr(json_t) o = detail;
	if (by != NULL)
		json_object_set_new(o, "by", json_string(by));
	g_autofree char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_event_add(store, ticket, article, type, text, now, error);
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *change(const char *old, const char *new)
{
	return json_pack("{so so}", "old", jstr(old), "new", jstr(new));
}

/* Moves ticket t to status after checking the transition, with its event. */
static gboolean change_status(DkStore *store, const DkTicket *t, DkTicketStatus status,
                              const char *by, gint64 now, GError **error)
{
	const char *from = dk_ticket_status_name(t->status), *to = dk_ticket_status_name(status);
	if (!dk_desk_transition_allowed(t->status, status)) {
		g_set_error(
		    error, DK_ERROR, DK_ERROR_PERMANENT,
		    "ticket #%" G_GINT64_FORMAT " cannot go from %s to %s%s", t->number, from, to,
		    status == DK_STATUS_CLOSED ? ": a ticket is resolved before it is closed" : "");
		return FALSE;
	}
	if (t->status == status)
		return TRUE;
	return dk_store_ticket_set_status(store, t->number, status, now, error) &&
	       event(store, t->number, 0, "status_change", change(from, to), by, now, error);
}

static gboolean set_status(DkStore *store, gint64 ticket, DkTicketStatus status, const char *by,
                           gint64 now, GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	return t != NULL && change_status(store, t, status, by, now, error);
}

gboolean dk_desk_set_status(DkStore *store, gint64 ticket, const char *status, const char *by,
                            gint64 now, GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return FALSE;
	DkTicketStatus to;
	if (!dk_ticket_status_parse(status, &to)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "“%s” is no status (new, open, in_progress, waiting, on_hold, "
		            "resolved, closed)",
		            status);
		return FALSE;
	}
	return change_status(store, t, to, by, now, error);
}

/* Sets field to value (NULL clears) and records type {old, new} when it
 * changes; old is the current value. */
static gboolean set_field(DkStore *store, gint64 ticket, DkTicketField field, const char *old,
                          const char *value, const char *type, const char *by, gint64 now,
                          GError **error)
{
	if (g_strcmp0(old, value) == 0)
		return TRUE;
	return dk_store_ticket_set(store, ticket, field, value, now, error) &&
	       event(store, ticket, 0, type, change(old, value), by, now, error);
}

gboolean dk_desk_set_priority(DkStore *store, gint64 ticket, const char *priority, const char *by,
                              gint64 now, GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return FALSE;
	if (!dk_priority_known(priority)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "“%s” is no priority (critical, high, medium, low, none)", priority);
		return FALSE;
	}
	return set_field(store, ticket, DK_TICKET_PRIORITY, t->priority, priority,
	                 "priority_change", by, now, error);
}

gboolean dk_desk_assign(DkStore *store, gint64 ticket, const char *assignee, const char *by,
                        gint64 now, GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return FALSE;
	const char *value = assignee != NULL && *assignee != '\0' ? assignee : NULL;
	return set_field(store, ticket, DK_TICKET_ASSIGNEE, t->assignee, value, "assignment", by,
	                 now, error);
}

gboolean dk_desk_set_queue(DkStore *store, gint64 ticket, const char *queue, const char *by,
                           gint64 now, GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return FALSE;
	if (queue == NULL || *queue == '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "a queue needs a name");
		return FALSE;
	}
	return set_field(store, ticket, DK_TICKET_QUEUE, t->queue, queue, "queue_change", by, now,
	                 error);
}

static gboolean has_tag(DkStore *store, gint64 ticket, const char *tag, gboolean *has_out,
                        GError **error)
{
	g_autoptr(GPtrArray) tags = dk_store_tags(store, ticket, error);
	if (tags == NULL)
		return FALSE;
	*has_out = g_ptr_array_find_with_equal_func(tags, tag, g_str_equal, NULL);
	return TRUE;
}

gboolean dk_desk_tag(DkStore *store, gint64 ticket, const char *tag, const char *by, gint64 now,
                     GError **error)
{
	gboolean has = FALSE;
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL || !has_tag(store, ticket, tag, &has, error))
		return FALSE;
	if (has)
		return TRUE;
	return dk_store_tag_add(store, ticket, tag, error) &&
	       dk_store_ticket_touch(store, ticket, now, error) &&
	       event(store, ticket, 0, "tag", json_pack("{ss}", "tag", tag), by, now, error);
}

gboolean dk_desk_untag(DkStore *store, gint64 ticket, const char *tag, const char *by, gint64 now,
                       GError **error)
{
	gboolean removed = FALSE;
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL || !dk_store_tag_remove(store, ticket, tag, &removed, error))
		return FALSE;
	if (!removed)
		return TRUE;
	return dk_store_ticket_touch(store, ticket, now, error) &&
	       event(store, ticket, 0, "untag", json_pack("{ss}", "tag", tag), by, now, error);
}

gboolean dk_desk_customer_reply(DkStore *store, const DkTicket *ticket, gint64 article, gint64 now,
                                GError **error)
{
	if (ticket->status != DK_STATUS_WAITING)
		return TRUE;
	return dk_store_ticket_set_status(store, ticket->number, DK_STATUS_OPEN, now, error) &&
	       event(store, ticket->number, article, "status_change",
	             change(dk_ticket_status_name(DK_STATUS_WAITING),
	                    dk_ticket_status_name(DK_STATUS_OPEN)),
	             "customer_reply", now, error);
}

gboolean dk_desk_autoclose(DkStore *store, gint64 close_after_days, gint64 now, guint *closed_out,
                           GError **error)
{
	g_autoptr(GArray) due =
	    dk_store_tickets_resolved_before(store, now - close_after_days * 86400, error);
	if (due == NULL)
		return FALSE;
	for (guint i = 0; i < due->len; i++) {
		if (!set_status(store, g_array_index(due, gint64, i), DK_STATUS_CLOSED, "autoclose",
		                now, error))
			return FALSE;
	}
	if (closed_out != NULL)
		*closed_out = due->len;
	return TRUE;
}

/* An article support wrote, by author (its sender), with a "comment"
 * event by by. */
static gint64 add_article(DkStore *store, const DkTicket *t, DkVisibility visibility,
                          const char *text, const char *author, const char *by,
                          const char *recipients, gint64 now, GError **error)
{
	DkArticle a = {
	    .ticket = t->number,
	    .direction = DK_OUTBOUND,
	    .visibility = visibility,
	    .evidence = "desk",
	    .sender = (char *)author,
	    .recipients = (char *)recipients,
	    .subject = t->subject,
	    .new_text = (char *)text,
	    .full_text = (char *)text,
	    .intake = "desk",
	    .created_at = now,
	};
	if (dk_store_article_add(store, &a, error) == 0)
		return 0;
	if (!event(store, t->number, a.id, "comment",
	           json_pack("{ss}", "visibility", dk_visibility_name(visibility)), by, now,
	           error) ||
	    !dk_store_ticket_touch(store, t->number, now, error))
		return 0;
	return a.id;
}

gint64 dk_desk_note(DkStore *store, gint64 ticket, const char *text, const char *author, gint64 now,
                    GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return 0;
	return add_article(store, t, DK_INTERNAL, text, author, author, NULL, now, error);
}

/* The reply's files fit the limits of the conversation. */
static gboolean files_fit(const DkConversation *c, const DkReply *r, GError **error)
{
	g_autofree const char **names = g_new0(const char *, r->n_files + 1);
	g_autofree gsize *sizes = g_new0(gsize, r->n_files + 1);
	for (guint i = 0; i < r->n_files; i++) {
		names[i] = r->files[i].filename;
		sizes[i] = g_bytes_get_size(r->files[i].data);
	}
	return dk_conversation_files_fit(c, names, sizes, r->n_files, error);
}

/* Keeps the reply's files as the article's attachments. */
static gboolean store_files(DkStore *store, gint64 article, const DkReply *r, GError **error)
{
	for (guint i = 0; i < r->n_files; i++) {
		const DkReplyFile *f = &r->files[i];
		gsize size = 0;
		const void *data = g_bytes_get_data(f->data, &size);
		char sha[65];
		dk_sha256_hex(data, size, sha);
		DkAttachmentIn in = {
		    .filename = (char *)f->filename,
		    .content_type =
		        (char *)(f->content_type ? f->content_type : "application/octet-stream"),
		    .disposition = "attachment",
		    .size = size,
		    .sha256 = sha,
		    .data = f->data,
		};
		if (!dk_store_attachment_add(store, article, i, &in, error))
			return FALSE;
	}
	return TRUE;
}

gboolean dk_desk_first_response(DkStore *store, gint64 ticket, gint64 now, GError **error)
{
	DkTicketSla sla;
	if (!dk_store_ticket_sla_get(store, ticket, &sla, error))
		return FALSE;
	if (sla.first_response_at != 0)
		return TRUE;
	sla.first_response_at = now;
	return dk_store_ticket_sla_set(store, ticket, &sla, error);
}

/* Who the events of a reply or note name. */
static const char *reply_by(const DkReply *r)
{
	return r->by != NULL ? r->by : r->author;
}

gint64 dk_desk_note_files(DkStore *store, const DkConversation *conversation, gint64 ticket,
                          const DkReply *note, gint64 now, GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL || !files_fit(conversation, note, error))
		return 0;
	gint64 article = add_article(store, t, DK_INTERNAL, note->text, note->author,
	                             reply_by(note), NULL, now, error);
	if (article == 0 || !store_files(store, article, note, error))
		return 0;
	return article;
}

gint64 dk_desk_reply(DkStore *store, const DkConversation *conversation, gint64 ticket,
                     const DkReply *reply, gint64 now, GError **error)
{
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return 0;
	if (t->requester == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "ticket #%" G_GINT64_FORMAT " has no requester to reply to", ticket);
		return 0;
	}
	g_autoptr(GPtrArray) to = g_ptr_array_new_with_free_func(g_free);
	if (!files_fit(conversation, reply, error) ||
	    !dk_conversation_recipients(conversation, store, t, to, error))
		return 0;
	g_ptr_array_add(to, NULL);
	g_autofree char *recipients = g_strjoinv(", ", (char **)to->pdata);
	gint64 article = add_article(store, t, DK_PUBLIC, reply->text, reply->author,
	                             reply_by(reply), recipients, now, error);
	DkReplyOut out = {
	    .article = article,
	    .author = reply->author,
	    .author_name = reply->author_name,
	    .by = reply_by(reply),
	};
	if (article == 0 || !store_files(store, article, reply, error) ||
	    !dk_conversation_replied(conversation, store, t, &out, now, error))
		return 0;
	return article;
}

gboolean dk_desk_add_time(DkStore *store, gint64 ticket, gint64 minutes, const char *note,
                          const char *author, gint64 now, GError **error)
{
	gint64 id = 0;
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return FALSE;
	return dk_store_time_entry_add(store, ticket, minutes, note, author, now, &id, error) &&
	       dk_store_ticket_touch(store, ticket, now, error) &&
	       event(store, ticket, 0, "time_entry",
	             json_pack("{sI sI ss}", "id", (json_int_t)id, "minutes", (json_int_t)minutes,
	                       "note", note ? note : ""),
	             author, now, error);
}

/* Refuses what cannot be merged. */
static gboolean merge_check(DkStore *store, const DkTicket *target, const DkTicket *source,
                            GError **error)
{
	gint64 into_target = 0, into_source = 0;
	if (!dk_store_ticket_merged_into(store, target->number, &into_target, error) ||
	    !dk_store_ticket_merged_into(store, source->number, &into_source, error))
		return FALSE;
	const char *why = target->number == source->number ? "a ticket cannot be merged into itself"
	                  : into_source != 0 ? "the ticket to merge was merged already"
	                  : into_target != 0 ? "the target was merged into another ticket"
	                                     : NULL;
	if (why != NULL)
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "merging #%" G_GINT64_FORMAT " into #%" G_GINT64_FORMAT ": %s",
		            source->number, target->number, why);
	return why == NULL;
}

gboolean dk_desk_merge(DkStore *store, gint64 target, gint64 source, const char *by, gint64 now,
                       GError **error)
{
	g_autoptr(DkTicket) to = dk_store_ticket_get(store, target, error);
	if (to == NULL)
		return FALSE;
	g_autoptr(DkTicket) from = dk_store_ticket_get(store, source, error);
	if (from == NULL || !merge_check(store, to, from, error) ||
	    !dk_store_ticket_merge(store, target, source, error))
		return FALSE;
	/* The merged ticket is done: resolved, then closed, like any other. */
	if ((!dk_ticket_status_is_closed(from->status) &&
	     !set_status(store, source, DK_STATUS_RESOLVED, "merge", now, error)) ||
	    !set_status(store, source, DK_STATUS_CLOSED, "merge", now, error))
		return FALSE;
	return dk_store_link_add(store, target, source, "merged", now, error) &&
	       event(store, target, 0, "merged", json_pack("{sI}", "from", (json_int_t)source), by,
	             now, error) &&
	       event(store, source, 0, "merged", json_pack("{sI}", "into", (json_int_t)target), by,
	             now, error) &&
	       dk_store_ticket_touch(store, target, now, error);
}

gboolean dk_desk_resolve_merged(DkStore *store, gint64 ticket, gint64 *resolved_out, GError **error)
{
	gint64 current = ticket;
	for (int i = 0; i < MERGE_CHAIN_MAX; i++) {
		gint64 into = 0;
		if (!dk_store_ticket_merged_into(store, current, &into, error))
			return FALSE;
		if (into == 0)
			break;
		current = into;
	}
	*resolved_out = current;
	return TRUE;
}
