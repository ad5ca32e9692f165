/* Stores prepared messages: dedupe, thread, decide (follow-up policy,
 * closed tickets, auto-replies, bounces, agents), ticket, article,
 * participants, events. */
#include "gateway/core/writer.h"
#include "gateway/core/crypto.h"

#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/core/pipeline-private.h"
#include "gateway/core/rules-apply.h"
#include "gateway/core/sender-limit.h"
#include "gateway/core/thread.h"
#include "gateway/desk/desk.h"
#include "gateway/store/store-outbox.h"
#include "parsers/agent-commands.h"
#include "parsers/subject.h"

#include "gateway/json.h"

#include <string.h>

/* One message on its way into the store: what was decided so far. */
typedef struct {
	DkStore *store;
	DkPipelineItem *item;
	DkEffects *effects; /* what the outbox is to do for it */
	const DkMessage *m;
	DkThreadPolicy *policy;
	char raw_sha[65];
	gint64 owner;   /* the ticket that holds its Message-ID, if known */
	gboolean known; /* (looked up with the duplicate, dk_store_article_find()) */
	DkThreadMatch match;
	gboolean conflict;
	DkTicket *ticket;        /* the existing ticket it goes onto, or NULL */
	DkTicketSla sla;         /* its SLA clocks, read with it (load_ticket()) */
	gint64 linked_from;      /* a new ticket is linked to this one */
	const char *link_reason; /* "follow_up" or "closed" */
	gboolean reopen;
	DkAgentTrust agent;
	const char *agent_why;
	DkAgentCommands *commands; /* parsed when the From is an agent */
	DkDirection direction;
	DkVisibility visibility;
	const char *event;
	const char *set_aside;  /* why no article: a DK_SET_ASIDE_KINDS kind */
	char *bounce_mark;      /* the address a verified bounce marks, or NULL */
	const char *bounce_why; /* why a bounce marks nobody (static), or NULL */
	gint64 bounce_row;      /* the outbox row its VERP address names, or 0 */
	guint discard_line;     /* the rule's line, when the rules discarded it */
} Write;

static void write_clear(Write *w)
{
	dk_ticket_free(w->ticket);
	dk_agent_commands_free(w->commands);
	g_free(w->bounce_mark);
}

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

/* Mail taken in as history (`docket import --history`): stored, dated by
 * its Date, closed; no rules, lifecycle, clocks or mail. */
static gboolean history(const Write *w)
{
	return strcmp(w->item->intake, "history") == 0;
}

static const char *sender_of(const DkMessage *m)
{
	return m->from ? m->from->address : NULL;
}

/* The common detail of this message's events, with more fields from extra
 * (stolen; may be NULL). */
static char *event_detail(const Write *w, json_t *extra)
{
	const DkMessage *m = w->m;
	g_autoptr(json_t) o = extra ? extra : json_object();
	json_object_set_new(o, "message_id", json_string(m->message_id));
	if (m->from != NULL)
		json_object_set_new(o, "from", json_string(m->from->address));
	json_object_set_new(o, "intake", json_string(w->item->intake));
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

static gboolean add_event(Write *w, gint64 ticket, const char *type, json_t *extra, GError **error)
{
	g_autofree char *detail = event_detail(w, extra);
	return dk_store_event_add(w->store, ticket, w->item->result.article, type, detail,
	                          w->item->received_at, error);
}

/* The envelope recipients are the support addresses the mail came to;
 * a subaddress ("support+12.3f9a0c1d2e@", RFC 5233) counts as its base. */
static gboolean record_addresses(DkStore *store, const DkPipelineItem *item, gint64 ticket,
                                 GError **error)
{
	for (guint i = 0; item->recipients != NULL && item->recipients[i] != NULL; i++) {
		const char *address = item->recipients[i];
		const char *plus = strchr(address, '+'), *at = strrchr(address, '@');
		g_autofree char *base =
		    plus && at && plus < at
		        ? g_strdup_printf("%.*s%s", (int)(plus - address), address, at)
		        : g_strdup(address);
		if (!dk_store_ticket_address_add(store, ticket, base, item->received_at, error))
			return FALSE;
	}
	return TRUE;
}

/* Whether address is docket's own (a support address, an envelope
 * recipient of this message): never a participant. */
static gboolean ours(const Write *w, const char *address)
{
	char **recipients = w->item->recipients;
	for (guint i = 0; recipients != NULL && recipients[i] != NULL; i++) {
		if (g_ascii_strcasecmp(recipients[i], address) == 0)
			return TRUE;
	}
	return dk_thread_is_support_address(w->policy, address);
}

static gboolean record_participants(Write *w, gint64 ticket, gboolean created, GError **error)
{
	const DkMessage *m = w->m;
	if (strcmp(w->event, "comment") != 0 && strcmp(w->event, "created") != 0)
		return TRUE; /* auto-replies and bounces make nobody a participant */
	DkParticipantRole role = w->agent == DK_AGENT_VERIFIED ? DK_ROLE_AGENT
	                         : created                     ? DK_ROLE_REQUESTER
	                                                       : DK_ROLE_SENDER;
	if (m->from != NULL &&
	    !dk_store_participant_add(w->store, ticket, m->from->address, role, error))
		return FALSE;
	/* The customer's Cc recipients are in the conversation: public
	 * replies copy them (desk/conversation.h). An agent's Cc is the
	 * agent's business. */
	if (w->direction != DK_INBOUND || w->agent == DK_AGENT_VERIFIED)
		return TRUE;
	for (guint i = 0; i < m->cc->len; i++) {
		const DkAddress *a = g_ptr_array_index(m->cc, i);
		if (!ours(w, a->address) && !dk_thread_is_agent(w->policy, a->address) &&
		    !dk_store_participant_add(w->store, ticket, a->address, DK_ROLE_CC, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean store_attachments(DkStore *store, gint64 article, const DkMessage *m,
                                  GError **error)
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
		    .in_file = a->fd >= 0,
		    .fd = a->fd,
		    .offset = a->offset,
		};
		if (!dk_store_attachment_add(store, article, i, &in, error))
			return FALSE;
	}
	return TRUE;
}

/* Makes ticket number the one the message goes onto, read with its SLA
 * clocks (for the rules' ticket_sla) and, with merged_into_out, what it
 * was merged into (0: nothing): one statement. */
static gboolean load_ticket(Write *w, gint64 number, gint64 *merged_into_out, GError **error)
{
	dk_ticket_free(w->ticket);
	w->ticket = dk_store_ticket_get_with_sla(w->store, number, &w->sla, merged_into_out, error);
	return w->ticket != NULL;
}

/* Where the message goes by the evidence: a ticket it threads onto, or a
 * new one. A known Message-ID with different content (a conflict) stays
 * with the ticket that holds the first copy. */
static gboolean find_ticket(Write *w, GError **error)
{
	if (w->known) { /* the ticket that holds its Message-ID already */
		w->conflict = TRUE;
		w->match = (DkThreadMatch){.ticket = w->owner, .evidence = "header"};
		return w->match.ticket == 0 || load_ticket(w, w->match.ticket, NULL, error);
	}
	if (!dk_thread_find_unmerged(w->store, w->policy, w->m, w->item->recipients, &w->match,
	                             error))
		return FALSE;
	if (w->match.ticket == 0)
		return TRUE;
	gint64 into = 0;
	if (!load_ticket(w, w->match.ticket, &into, error))
		return FALSE;
	/* A merged ticket's mail goes to the ticket it was merged into
	 * (dk_thread_find()), known from the ticket's own row. */
	return into == 0 || (dk_desk_resolve_merged(w->store, into, &w->match.ticket, error) &&
	                     load_ticket(w, w->match.ticket, NULL, error));
}

/* Leaves the ticket found: the message opens a new one linked to it. */
static void open_linked(Write *w, const char *reason)
{
	w->linked_from = w->ticket->number;
	w->link_reason = reason;
	g_clear_pointer(&w->ticket, dk_ticket_free);
	w->match.ticket = 0;
	w->match.evidence = "new";
}

/* Whether only a number anyone can write names the ticket (docket's
 * subject token, or another system's number) and the sender is no
 * participant of it: then the follow-up policy decides. */
static gboolean stranger_by_token(Write *w, gboolean *stranger_out, GError **error)
{
	gboolean participant = FALSE;
	*stranger_out = FALSE;
	if (w->ticket == NULL ||
	    (strcmp(w->match.evidence, "token") != 0 &&
	     strcmp(w->match.evidence, "foreign") != 0) ||
	    w->agent == DK_AGENT_VERIFIED)
		return TRUE;
	if (!dk_thread_is_participant(w->store, w->policy, w->ticket, sender_of(w->m), &participant,
	                              error))
		return FALSE;
	*stranger_out = !participant;
	return TRUE;
}

static gboolean apply_follow_up(Write *w, GError **error)
{
	gboolean stranger = FALSE;
	if (!stranger_by_token(w, &stranger, error))
		return FALSE;
	if (!stranger || w->policy->follow_up == DK_FOLLOW_UP_ACCEPT)
		return TRUE;
	if (w->policy->follow_up == DK_FOLLOW_UP_NEW_TICKET) {
		open_linked(w, "follow_up");
		return TRUE;
	}
	const char *sender = sender_of(w->m);
	g_set_error(
	    error, DK_ERROR, DK_ERROR_PERMANENT,
	    "the subject names ticket #%" G_GINT64_FORMAT
	    " but %s is not one of its participants, and"
	    " [threading] follow_up = reject: write a new message without the ticket's token",
	    w->ticket->number, sender ? sender : "the sender");
	return FALSE;
}

/* A reply to a closed ticket reopens it within reopen_days of its closing;
 * later it opens a new ticket linked to the old. An agent's mail reopens
 * nothing (a "#status" command does). */
static void apply_closed(Write *w)
{
	if (w->ticket == NULL || !dk_ticket_status_is_closed(w->ticket->status) ||
	    w->agent == DK_AGENT_VERIFIED)
		return;
	gint64 closed_at = w->ticket->closed_at ? w->ticket->closed_at : w->ticket->updated_at;
	if (w->item->received_at - closed_at <= w->policy->reopen_seconds)
		w->reopen = TRUE;
	else
		open_linked(w, "closed");
}

/* An auto-reply never opens a ticket, changes no status and makes nobody a
 * participant: on a ticket it is an internal article; naming none (or a
 * ticket only by the token of a stranger, unless the policy accepts
 * that) it is dropped, the raw message kept. */
static gboolean decide_auto_reply(Write *w, gboolean *drop_out, GError **error)
{
	gboolean stranger = FALSE;
	if (!stranger_by_token(w, &stranger, error))
		return FALSE;
	*drop_out = w->ticket == NULL || (stranger && w->policy->follow_up != DK_FOLLOW_UP_ACCEPT);
	w->visibility = DK_INTERNAL;
	w->event = "auto_reply";
	w->set_aside = "auto_reply";
	return TRUE;
}

/* The outbox row named by a VERP address among the bounce's envelope
 * recipients and delivery headers (docket's bounce address with a valid
 * MAC: only the mail server that received that notification knows it), or
 * 0. Only rows that were sent count. */
static gboolean verp_row(Write *w, DkOutboxRow **row_out, GError **error)
{
	*row_out = NULL;
	g_autoptr(GBytes) secret = dk_thread_policy_secret(w->policy);
	g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; w->item->recipients != NULL && w->item->recipients[i] != NULL; i++)
		g_ptr_array_add(candidates, g_strdup(w->item->recipients[i]));
	for (guint i = 0; i < w->m->to->len; i++)
		g_ptr_array_add(candidates,
		                g_strdup(((DkAddress *)g_ptr_array_index(w->m->to, i))->address));
	const char *const headers[] = {"delivered-to", "x-original-to"};
	for (guint h = 0; h < G_N_ELEMENTS(headers); h++) {
		const GPtrArray *all = dk_message_header_all(w->m, headers[h]);
		for (guint i = 0; all != NULL && i < all->len; i++)
			g_ptr_array_add(candidates,
			                g_strstrip(g_strdelimit(g_strdup(g_ptr_array_index(all, i)),
			                                        "<>", ' ')));
	}
	for (guint i = 0; secret != NULL && i < candidates->len; i++) {
		gint64 id = dk_ids_bounce_id(secret, g_ptr_array_index(candidates, i));
		if (id == 0)
			continue;
		g_autoptr(GError) local = NULL;
		g_autoptr(DkOutboxRow) row = dk_store_outbox_get(w->store, id, &local);
		if (row == NULL && !g_error_matches(local, DK_ERROR, DK_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		if (row != NULL && (row->attempts > 0 || strcmp(row->state, "done") == 0)) {
			*row_out = g_steal_pointer(&row);
			return TRUE;
		}
	}
	return TRUE;
}

/* A bounce counts against an address only when it came back to the VERP
 * address of a notification docket sent to that address, and reports a
 * failure: a delay report (Action: delayed, 4.x.x) marks nobody, nor does
 * a report that merely names a docket Message-ID (anyone can write one). */
static gboolean bounce_mark(Write *w, gint64 *ticket_out, GError **error)
{
	const DkBounce *b = w->m->classification.bounce;
	g_autoptr(DkOutboxRow) row = NULL;
	if (!verp_row(w, &row, error))
		return FALSE;
	if (row == NULL) {
		w->bounce_why = "not addressed to the bounce address of a notification docket sent";
		return TRUE;
	}
	w->bounce_row = row->id;
	*ticket_out = row->ticket;
	if (b->delayed || (b->status != NULL && b->status[0] == '4'))
		w->bounce_why = "a delay report: delivery is still being tried";
	else
		w->bounce_mark = g_strdup(row->target);
	return TRUE;
}

/* A bounce names the message that bounced: when that is ours, the bounce
 * goes onto its ticket (or the ticket its VERP address or the headers
 * name) as an internal article with a "bounce" event; only a verified
 * bounce (bounce_mark) marks the address as bouncing. A bounce naming no
 * ticket is set aside in the quarantine. */
static gboolean decide_bounce(Write *w, gboolean *drop_out, GError **error)
{
	const DkBounce *b = w->m->classification.bounce;
	gint64 ticket = 0;
	gboolean found = FALSE;
	if (!bounce_mark(w, &ticket, error))
		return FALSE;
	found = ticket != 0;
	if (!found && !dk_thread_find_message_id(w->store, w->policy, b->original_message_id,
	                                         &ticket, &found, error))
		return FALSE;
	if (found && (w->ticket == NULL || w->ticket->number != ticket)) {
		if (!load_ticket(w, ticket, NULL, error))
			return FALSE;
		w->match = (DkThreadMatch){.ticket = ticket, .evidence = "header"};
	}
	/* A token or a foreign number alone does not place a bounce. */
	if (w->ticket != NULL && strcmp(w->match.evidence, "header") != 0 &&
	    strcmp(w->match.evidence, "reply-address") != 0)
		g_clear_pointer(&w->ticket, dk_ticket_free);
	*drop_out = w->ticket == NULL;
	w->visibility = DK_INTERNAL;
	w->event = "bounce";
	w->set_aside = "bounce";
	return TRUE;
}

/* Who sent it: a verified agent's mail on an existing ticket is outbound
 * (outbound_events() then records it as delivered or queues its relay),
 * internal with "#internal". An unverified agent's mail stays inbound;
 * its commands are parsed only to be reported as ignored. */
static void decide_agent(Write *w)
{
	w->agent = dk_thread_agent_trust(w->policy, w->m, &w->agent_why);
	if (w->agent == DK_AGENT_NONE)
		return;
	w->commands = dk_agent_commands_parse(w->m->new_text);
	if (w->agent != DK_AGENT_VERIFIED)
		return;
	if (w->commands->internal)
		w->visibility = DK_INTERNAL;
	if (w->ticket != NULL)
		w->direction = DK_OUTBOUND;
}

/* History keeps another system's ticket number where asked (`docket
 * import --history --keep-numbers NAME`): the number [foreign:NAME]
 * finds, or 0. */
static gint64 kept_number(const Write *w)
{
	gint64 number = 0;
	if (w->item->keep_numbers == NULL)
		return 0;
	g_autoptr(GPtrArray) pairs = dk_thread_foreign_numbers(w->policy, w->m);
	for (guint i = 0; i + 1 < pairs->len && number == 0; i += 2)
		if (strcmp(g_ptr_array_index(pairs, i), w->item->keep_numbers) == 0 &&
		    !g_ascii_string_to_signed(g_ptr_array_index(pairs, i + 1), 10, 1,
		                              G_MAXINT64 / 2, &number, NULL))
			number = 0;
	return number;
}

static gboolean create_ticket(Write *w, GError **error)
{
	const DkMessage *m = w->m;
	g_autofree char *subject = w->linked_from
	                               ? dk_subject_clean(m->subject, w->policy->token_prefix)
	                               : g_strdup(m->subject);
	gint64 number =
	    history(w)
	        ? dk_store_ticket_create_history(w->store, subject, sender_of(m), kept_number(w),
	                                         w->item->number_from, w->item->received_at, error)
	        : dk_store_ticket_create(w->store, subject, sender_of(m), w->item->received_at,
	                                 error);
	if (number == 0)
		return FALSE;
	w->match.ticket = number;
	return TRUE;
}

static json_t *command_lines(const DkAgentCommands *c)
{
	json_t *arr = json_array();
	for (guint i = 0; i < c->commands->len; i++) {
		const DkAgentCommand *cmd = g_ptr_array_index(c->commands, i);
		g_autofree char *line =
		    g_strdup_printf("#%s%s%s", dk_agent_command_name(cmd->kind),
		                    cmd->value ? " " : "", cmd->value ? cmd->value : "");
		json_array_append_new(arr, json_string(line));
	}
	return arr;
}

/* One command of a verified agent: the change and its event. */
static gboolean apply_command(Write *w, const DkTicket *t, const DkAgentCommand *c, GError **error)
{
	gint64 now = w->item->received_at;
	switch (c->kind) {
	case DK_AGENT_STATUS: {
		/* The lifecycle holds for mail as for the command line. */
		DkTicketStatus to;
		if (!dk_ticket_status_parse(c->value, &to) ||
		    !dk_desk_transition_allowed(t->status, to))
			return add_event(w, t->number, "agent_command_invalid",
			                 json_pack("{ss ss}", "command", "status", "why",
			                           "that status cannot follow the ticket's"),
			                 error);
		return dk_store_ticket_set_status(w->store, t->number, to, now, error) &&
		       add_event(w, t->number, "status_change",
		                 json_pack("{ss ss ss}", "old", dk_ticket_status_name(t->status),
		                           "new", c->value, "by", "command"),
		                 error);
	}
	case DK_AGENT_PRIORITY:
		return dk_store_ticket_set(w->store, t->number, DK_TICKET_PRIORITY, c->value, now,
		                           error) &&
		       add_event(w, t->number, "priority_change",
		                 json_pack("{ss ss}", "old", t->priority, "new", c->value), error);
	case DK_AGENT_ASSIGN:
		return dk_store_ticket_set(w->store, t->number, DK_TICKET_ASSIGNEE, c->value, now,
		                           error) &&
		       add_event(w, t->number, "assignment",
		                 json_pack("{so ss}", "old",
		                           t->assignee ? json_string(t->assignee) : json_null(),
		                           "new", c->value),
		                 error);
	case DK_AGENT_TAG:
		return dk_store_tag_add(w->store, t->number, c->value, error) &&
		       add_event(w, t->number, "tag", json_pack("{ss}", "tag", c->value), error);
	case DK_AGENT_INTERNAL:
		return TRUE; /* the article's visibility */
	}
	return TRUE;
}

/* A verified agent's commands apply; anyone else's are ignored, with an
 * event that says why. */
static gboolean apply_commands(Write *w, gint64 ticket, GError **error)
{
	const DkAgentCommands *c = w->commands;
	if (c == NULL || history(w))
		return TRUE;
	gboolean any = c->commands->len > 0 || c->errors->len > 0;
	if (w->agent != DK_AGENT_VERIFIED) {
		if (!any)
			return add_event(w, ticket, "agent_unverified",
			                 json_pack("{ss}", "why", w->agent_why), error);
		return add_event(
		    w, ticket, "agent_commands_ignored",
		    json_pack("{ss so}", "why", w->agent_why, "commands", command_lines(c)), error);
	}
	for (guint i = 0; i < c->errors->len; i++) {
		if (!add_event(
		        w, ticket, "agent_command_invalid",
		        json_pack("{ss}", "command", (char *)g_ptr_array_index(c->errors, i)),
		        error))
			return FALSE;
	}
	for (guint i = 0; i < c->commands->len; i++) {
		/* Each command sees the ticket as the one before left it. */
		g_autoptr(DkTicket) t = dk_store_ticket_get(w->store, ticket, error);
		if (t == NULL || !apply_command(w, t, g_ptr_array_index(c->commands, i), error))
			return FALSE;
	}
	return TRUE;
}

static gboolean write_article(Write *w, GError **error)
{
	const DkMessage *m = w->m;
	g_autofree char *recipients = join_addresses(m);
	/* A verified agent's command lines are instructions, not text. */
	const char *new_text =
	    w->agent == DK_AGENT_VERIFIED && w->commands ? w->commands->text : m->new_text;
	DkArticle article = {
	    .ticket = w->match.ticket,
	    .direction = w->direction,
	    .visibility = w->visibility,
	    .evidence = (char *)w->match.evidence,
	    .sender = (char *)sender_of(m),
	    .recipients = recipients,
	    .subject = m->subject,
	    .message_id = m->message_id,
	    .fingerprint = (char *)m->fingerprint,
	    .new_text = (char *)new_text,
	    .full_text = m->text,
	    .raw_sha256 = w->raw_sha,
	    .intake = w->item->intake,
	    .signature = w->m->crypto.kind == DK_CRYPTO_NONE
	                     ? NULL
	                     : dk_signature_status_name(w->m->crypto.signature),
	    /* Only a verified signature names who signed: an untrusted key's
	     * address is a claim nobody vouched for. */
	    .signer = w->m->crypto.signature == DK_SIGNATURE_VERIFIED ? w->m->crypto.signer : NULL,
	    .created_at = w->item->received_at,
	};
	if (dk_store_article_add(w->store, &article, error) == 0)
		return FALSE;
	w->item->result.article = article.id;
	return store_attachments(w->store, article.id, m, error) &&
	       dk_store_message_id_add(w->store, m->message_id, w->match.ticket, article.id, error);
}

/* The conversation of items made without a pipeline: the defaults. */
static const DkConversation *default_conversation(void)
{
	static DkConversation *conversation;
	if (g_once_init_enter(&conversation)) {
		g_autoptr(DkConfig) config = dk_config_new_default();
		g_once_init_leave(&conversation, dk_conversation_new(config));
	}
	return conversation;
}

static const DkConversation *conversation_of(const Write *w)
{
	return w->item->conversation ? w->item->conversation : default_conversation();
}

/* The addresses an agent's mail reached by itself (To and Cc),
 * NULL-terminated. */
static GPtrArray *reached(const DkMessage *m)
{
	GPtrArray *out = g_ptr_array_new();
	const GPtrArray *lists[] = {m->to, m->cc};
	for (guint l = 0; l < G_N_ELEMENTS(lists); l++)
		for (guint i = 0; i < lists[l]->len; i++)
			g_ptr_array_add(out,
			                ((DkAddress *)g_ptr_array_index(lists[l], i))->address);
	g_ptr_array_add(out, NULL);
	return out;
}

/* The outbound side of an agent's public mail, as for `docket ticket
 * reply`: relayed to whoever it did not reach by itself, the first
 * response, the status (desk/conversation.h). */
static gboolean outbound_events(Write *w, GError **error)
{
	if (w->direction != DK_OUTBOUND || w->visibility != DK_PUBLIC || history(w))
		return TRUE;
	g_autoptr(GPtrArray) to = reached(w->m);
	DkReplyOut out = {
	    .article = w->item->result.article,
	    .author = sender_of(w->m),
	    .author_name = w->m->from ? w->m->from->name : NULL,
	    .by = sender_of(w->m),
	    .delivered = (const char *const *)to->pdata,
	    .answers = w->m->in_reply_to,
	};
	return dk_conversation_replied(conversation_of(w), w->store, w->ticket, &out,
	                               w->item->received_at, error);
}

/* An agent's public reply by mail is refused, before anything is written,
 * when the files it would relay are over the limits of [notify]
 * attachment_max_size or attachment_max_total: the agent's mail server
 * then tells the agent why (a permanent refusal, LMTP 550). */
static gboolean relay_files_fit(Write *w, GError **error)
{
	const DkMessage *m = w->m;
	if (w->direction != DK_OUTBOUND || w->visibility != DK_PUBLIC || history(w) ||
	    m->attachments->len == 0)
		return TRUE;
	g_autofree const char **names = g_new0(const char *, m->attachments->len + 1);
	g_autofree gsize *sizes = g_new0(gsize, m->attachments->len + 1);
	for (guint i = 0; i < m->attachments->len; i++) {
		const DkAttachment *a = g_ptr_array_index(m->attachments, i);
		names[i] = a->filename;
		sizes[i] = a->size;
	}
	if (dk_conversation_files_fit(conversation_of(w), names, sizes, m->attachments->len, error))
		return TRUE;
	g_prefix_error(
	    error, "your reply to ticket #%" G_GINT64_FORMAT " was not sent: ", w->ticket->number);
	return FALSE;
}

static gboolean link_events(Write *w, gint64 ticket, GError **error)
{
	if (w->linked_from == 0)
		return TRUE;
	return dk_store_link_add(w->store, ticket, w->linked_from, w->link_reason,
	                         w->item->received_at, error) &&
	       add_event(w, ticket, "linked",
	                 json_pack("{sI ss}", "ticket", (json_int_t)w->linked_from, "reason",
	                           w->link_reason),
	                 error) &&
	       add_event(
	           w, w->linked_from, "linked",
	           json_pack("{sI ss}", "ticket", (json_int_t)ticket, "reason", w->link_reason),
	           error);
}

/* The detail of a bounce event: who bounced, with which status, which
 * address it marks as bouncing (so notifications skip it: an effect) or
 * why none. */
static json_t *bounce_detail(Write *w, json_t *extra)
{
	const DkBounce *b = w->m->classification.bounce;
	json_object_set_new(extra, "recipient",
	                    b->recipient ? json_string(b->recipient) : json_null());
	json_object_set_new(extra, "status", b->status ? json_string(b->status) : json_null());
	json_object_set_new(extra, "original_message_id",
	                    b->original_message_id ? json_string(b->original_message_id)
	                                           : json_null());
	json_object_set_new(extra, "marked",
	                    w->bounce_mark ? json_string(w->bounce_mark) : json_null());
	if (w->bounce_why != NULL)
		json_object_set_new(extra, "why", json_string(w->bounce_why));
	if (w->bounce_row != 0)
		json_object_set_new(extra, "outbox", json_integer((json_int_t)w->bounce_row));
	/* The effects borrow from the item, which outlives this Write. */
	g_free(w->item->bounce_mark);
	w->item->bounce_mark = g_strdup(w->bounce_mark);
	w->effects->bouncing_address = w->item->bounce_mark;
	w->effects->bouncing_status = b->status;
	return extra;
}

static gboolean foreign_refs(Write *w, gint64 ticket, GError **error)
{
	g_autoptr(GPtrArray) pairs = dk_thread_foreign_numbers(w->policy, w->m);
	for (guint i = 0; i + 1 < pairs->len; i += 2) {
		if (!dk_store_foreign_ref_add(w->store, g_ptr_array_index(pairs, i),
		                              g_ptr_array_index(pairs, i + 1), ticket, error))
			return FALSE;
	}
	return TRUE;
}

/* Everything after the article: the ticket's state and its events. */
static gboolean write_consequences(Write *w, gboolean created, GError **error)
{
	gint64 ticket = w->match.ticket, now = w->item->received_at;
	json_t *extra = json_pack("{ss}", "evidence", w->match.evidence);
	if (strcmp(w->event, "bounce") == 0)
		extra = bounce_detail(w, extra);
	if (!add_event(w, ticket, w->event, extra, error) ||
	    (w->conflict && !add_event(w, ticket, "message_id_conflict", NULL, error)) ||
	    (w->match.forged && !add_event(w, ticket, "forged_reply_address", NULL, error)) ||
	    !link_events(w, ticket, error))
		return FALSE;
	if (w->reopen &&
	    (!dk_store_ticket_set_status(w->store, ticket, DK_STATUS_OPEN, now, error) ||
	     !add_event(w, ticket, "status_change",
	                json_pack("{ss ss ss}", "old", dk_ticket_status_name(w->ticket->status),
	                          "new", dk_ticket_status_name(DK_STATUS_OPEN), "by", "reply"),
	                error)))
		return FALSE;
	/* The desk's lifecycle: a customer's answer to a waiting ticket, and
	 * the assignee (or the team) hears of it. */
	if (!created && w->ticket != NULL && strcmp(w->event, "comment") == 0 &&
	    w->direction == DK_INBOUND && w->visibility == DK_PUBLIC &&
	    w->agent != DK_AGENT_VERIFIED && !history(w) &&
	    !dk_conversation_customer_replied(conversation_of(w), w->store, w->ticket,
	                                      w->item->result.article, sender_of(w->m), now, error))
		return FALSE;
	return apply_commands(w, ticket, error) && outbound_events(w, error) &&
	       record_participants(w, ticket, created, error) && foreign_refs(w, ticket, error) &&
	       record_addresses(w->store, w->item, ticket, error) &&
	       /* A ticket created by this message has updated_at = now already. */
	       (created || dk_store_ticket_touch(w->store, ticket, now, error));
}

/* Classification and policy: where the message goes, or that it is
 * dropped (drop_out) or refused (an error). */
static gboolean decide(Write *w, gboolean *drop_out, GError **error)
{
	const DkClassification *c = &w->m->classification;
	*drop_out = FALSE;
	if (!find_ticket(w, error))
		return FALSE;
	if (c->bounce != NULL)
		return decide_bounce(w, drop_out, error);
	if (c->auto_reply)
		return decide_auto_reply(w, drop_out, error);
	decide_agent(w);
	if (!apply_follow_up(w, error))
		return FALSE;
	if (!history(w)) /* history goes onto its ticket, closed or not */
		apply_closed(w);
	return TRUE;
}

/* Keeps the item's raw, from memory or from its file. */
static gboolean raw_put(DkStore *store, const DkPipelineItem *item, char sha[65], GError **error)
{
	if (item->raw_sha256[0] == '\0') {
		if (item->raw == NULL)
			return dk_store_raw_put_fd(store, item->raw_fd, item->raw_size,
			                           item->received_at, sha, error);
		return dk_store_raw_put(store, item->raw, item->received_at, sha, error);
	}
	memcpy(sha, item->raw_sha256, 65);
	if (item->raw == NULL)
		return dk_store_raw_put_fd_digest(store, item->raw_fd, item->raw_size, sha,
		                                  item->received_at, error);
	return dk_store_raw_put_digest(store, item->raw, sha, item->received_at, error);
}

/* The line of the action that cancelled the implicit keep (discard, or a
 * redirect without :copy). */
static guint discard_line(const DkRulesVerdict *v)
{
	for (guint i = 0; i < v->result->actions->len; i++) {
		const DkSieveAction *a = g_ptr_array_index(v->result->actions, i);
		if (a->type == DK_SIEVE_ACTION_DISCARD || a->type == DK_SIEVE_ACTION_REDIRECT)
			return a->line;
	}
	return 0;
}

/* Whether the script kept or filed the message by a command of its own. */
static gboolean kept_explicitly(const DkRulesVerdict *v)
{
	for (guint i = 0; i < v->result->actions->len; i++) {
		const DkSieveAction *a = g_ptr_array_index(v->result->actions, i);
		if (!a->implicit &&
		    (a->type == DK_SIEVE_ACTION_KEEP || a->type == DK_SIEVE_ACTION_FILEINTO))
			return TRUE;
	}
	return FALSE;
}

/* A message set aside by its class (an auto-reply or bounce naming no
 * ticket) that the rules, or a release, keep after all: a ticket of its
 * own. */
static void keep_set_aside(Write *w)
{
	g_clear_pointer(&w->ticket, dk_ticket_free);
	w->match = (DkThreadMatch){.ticket = 0, .evidence = "new"};
	w->linked_from = 0;
	w->visibility = DK_PUBLIC;
	w->set_aside = NULL;
}

/* The administrator's rules see every message, auto-replies and bounces
 * included: they may refuse it, discard it, keep one that its class sets
 * aside (by an explicit keep or fileinto), or send it to the open ticket
 * of its correlation key (DESIGN.md, threading 4). */
static gboolean run_rules(Write *w, DkRulesVerdict *v, gboolean *drop_out, GError **error)
{
	DkPipelineItem *item = w->item;
	const char *to = item->recipients && item->recipients[0] ? item->recipients[0] : NULL;
	const DkTicket *ticket = w->match.ticket != 0 ? w->ticket : NULL;
	/* What the ticket's SLA clocks say, for ticket_sla. */
	g_auto(GStrv) states = ticket ? dk_desk_sla_states(&w->sla, item->received_at) : NULL;
	dk_rules_run(item->rules, w->m, item->raw_size, item->envelope_from, to, ticket,
	             (const char *const *)states, w->agent == DK_AGENT_VERIFIED, item->received_at,
	             v);
	if (v->reject != NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "rejected by the rules: %s",
		            v->reject);
		return FALSE;
	}
	if (v->discard && !item->release) {
		*drop_out = TRUE;
		w->set_aside = "discarded";
		w->discard_line = discard_line(v);
		return TRUE;
	}
	if (*drop_out) {
		if (!kept_explicitly(v))
			return TRUE;
		*drop_out = FALSE;
		keep_set_aside(w);
	}
	w->effects->suppress_ack = v->noack;
	g_free(item->ack_template);
	item->ack_template = g_strdup(v->template_name);
	w->effects->ack_template = item->ack_template;
	if (v->correlation == NULL || w->match.ticket != 0)
		return TRUE;
	gint64 open = 0;
	if (!dk_store_ticket_find_correlated(w->store, v->correlation, &open, error))
		return FALSE;
	if (open == 0)
		return TRUE;
	w->match.ticket = open;
	w->match.evidence = "correlation";
	w->linked_from = 0;
	return load_ticket(w, open, NULL, error);
}

/* The sentence of a set-aside kind, for `docket quarantine list`. */
static char *set_aside_reason(const Write *w)
{
	if (strcmp(w->set_aside, "discarded") == 0)
		return g_strdup_printf("discarded by the rules (line %u)", w->discard_line);
	if (strcmp(w->set_aside, "bounce") == 0)
		return g_strdup("a bounce that names no message of a ticket");
	return g_strdup(w->ticket ? "an auto-reply from someone who is no participant of the ticket"
	                          : "an auto-reply that names no ticket");
}

/* A message that becomes no article is kept, findable, in the quarantine
 * with its kind; a rule's discard of mail for a ticket is an event there
 * too, naming the line. */
static gboolean set_aside_message(Write *w, GError **error)
{
	DkPipelineItem *item = w->item;
	g_autofree char *recipients = item->recipients ? g_strjoinv(",", item->recipients) : NULL;
	g_autofree char *reason = set_aside_reason(w);
	gint64 ticket = w->ticket ? w->ticket->number : 0;
	DkQuarantined entry = {
	    .raw_sha256 = w->raw_sha,
	    .kind = (char *)w->set_aside,
	    .reason = reason,
	    .ticket = ticket,
	    .intake = item->intake,
	    .envelope_from = item->envelope_from,
	    .recipients = recipients,
	    .received_at = item->received_at,
	};
	if (!dk_store_quarantine_add(w->store, &entry, &item->result.quarantine, error))
		return FALSE;
	g_message("writer message_id=%s event=set_aside reason=%s quarantine=%" G_GINT64_FORMAT
	          " size=%zu raw=%s",
	          w->m->message_id, w->set_aside, item->result.quarantine, item->raw_size,
	          w->raw_sha);
	if (ticket == 0 || strcmp(w->set_aside, "discarded") != 0)
		return TRUE;
	return add_event(w, ticket, "discarded",
	                 json_pack("{sI sI}", "line", (json_int_t)w->discard_line, "quarantine",
	                           (json_int_t)item->result.quarantine),
	                 error);
}

static gboolean quarantine_item(DkStore *store, DkPipelineItem *item, GError **error)
{
	char raw_sha[65];
	if (!raw_put(store, item, raw_sha, error))
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
	entry.kind = g_str_has_prefix(item->quarantine_reason, "held:") ? "held" : "unreadable";
	item->result.outcome = DK_OUTCOME_QUARANTINED;
	item->result.evidence = "quarantine";
	return dk_store_quarantine_add(store, &entry, &item->result.quarantine, error);
}

/* The SLA policy of items made without a pipeline: the defaults. */
static const DkSlaPolicy *default_sla(void)
{
	static DkSlaPolicy *policy;
	if (g_once_init_enter(&policy))
		g_once_init_leave(&policy, dk_sla_policy_new_default());
	return policy;
}

static gboolean write_message(DkStore *store, DkPipelineItem *item, DkThreadPolicy *policy,
                              DkEffects *effects, GError **error)
{
	DkDelivery *r = &item->result;
	const DkMessage *m = item->message;
	gboolean duplicate = FALSE, drop = FALSE;
	r->message_id = g_strdup(m->message_id);
	gint64 owner = 0;
	gboolean known = FALSE;
	if (!dk_store_article_find(store, m->message_id, m->fingerprint, &r->ticket, &r->article,
	                           &duplicate, &owner, &known, error))
		return FALSE;
	if (duplicate) {
		r->outcome = DK_OUTCOME_DUPLICATE;
		r->evidence = "duplicate";
		/* The same mail by another route: its support address counts. */
		return record_addresses(store, item, r->ticket, error);
	}
	/* A sender over its hourly limit: tempfailed (an error) or held. */
	g_autofree char *held = NULL;
	if (!dk_sender_limit_check(store, item, policy, &held, error))
		return FALSE;
	if (held != NULL) {
		g_free(item->quarantine_reason);
		item->quarantine_reason = g_steal_pointer(&held);
		return quarantine_item(store, item, error);
	}
	Write w = {.store = store,
	           .owner = owner,
	           .known = known,
	           .item = item,
	           .effects = effects,
	           .m = m,
	           .policy = policy,
	           .direction = DK_INBOUND,
	           .visibility = DK_PUBLIC,
	           .event = "comment"};
	DkRulesVerdict verdict = {0};
	/* Everything that may refuse the message only reads, and comes before
	 * its first write (the raw): a refusal leaves the transaction as it
	 * was, which dk_writer_commit() counts on. */
	gboolean ok = decide(&w, &drop, error);
	/* Released from the quarantine: an article, whatever its class says. */
	if (ok && drop && item->release) {
		drop = FALSE;
		keep_set_aside(&w);
	}
	ok = ok && (drop || relay_files_fit(&w, error));
	if (ok && item->rules != NULL && !history(&w))
		ok = run_rules(&w, &verdict, &drop, error);
	ok = ok && raw_put(store, item, w.raw_sha, error);
	if (ok && drop) {
		r->outcome = DK_OUTCOME_DROPPED;
		r->evidence = "dropped";
		ok = set_aside_message(&w, error);
	} else if (ok) {
		gboolean created = w.match.ticket == 0;
		if (created) {
			w.event = "created";
			ok = create_ticket(&w, error);
		}
		r->outcome = created ? DK_OUTCOME_CREATED : DK_OUTCOME_APPENDED;
		r->ticket = w.match.ticket;
		r->evidence = w.match.evidence;
		/* An auto-reply's rules change no field of the ticket it joins. */
		if (!created && m->classification.auto_reply)
			verdict.fields_locked = "an auto-reply changes no ticket field";
		ok = ok && write_article(&w, error) && write_consequences(&w, created, error) &&
		     (!created || verdict.correlation == NULL ||
		      dk_store_ticket_set(store, w.match.ticket, DK_TICKET_CORRELATION,
		                          verdict.correlation, item->received_at, error)) &&
		     dk_rules_apply(store, &verdict, w.match.ticket, r->article, item->received_at,
		                    error) &&
		     (history(&w) ? dk_store_ticket_history_span(store, w.match.ticket,
		                                                 item->received_at, error)
		                  : dk_desk_sla_update(store, item->sla ? item->sla : default_sla(),
		                                       w.match.ticket, item->received_at, error));
	}
	effects->redirects = dk_rules_redirects(&verdict);
	memcpy(effects->raw_sha256, w.raw_sha, sizeof effects->raw_sha256);
	dk_rules_verdict_clear(&verdict);
	write_clear(&w);
	return ok;
}

/* The policy of items made without a pipeline: the defaults. */
static DkThreadPolicy *default_policy(void)
{
	static DkThreadPolicy *policy;
	if (g_once_init_enter(&policy)) {
		g_autoptr(DkConfig) config = dk_config_new_default();
		g_once_init_leave(&policy, dk_thread_policy_new(config));
	}
	return policy;
}

/* Hands the item's effects to the outbox (core/effects.h), which writes
 * its rows in this same transaction, right after the item's own: the
 * connectors hear of every new article, a new ticket earns its
 * acknowledgement and the team's notice, a bounce marks its address, the
 * rules' redirects are queued. */
static gboolean carry_out(DkStore *store, DkPipelineItem *item, DkEffects *effects, GError **error)
{
	const DkDelivery *r = &item->result;
	effects->intake = item->intake;
	effects->at = item->received_at;
	effects->ticket = r->ticket;
	effects->article = r->article;
	effects->message = item->message;
	effects->envelope_from = item->envelope_from;
	effects->recipients = (const char *const *)item->recipients;
	effects->prepared = item->effects_prepared;
	effects->article_event =
	    r->outcome == DK_OUTCOME_CREATED || r->outcome == DK_OUTCOME_APPENDED;
	effects->ticket_created = r->outcome == DK_OUTCOME_CREATED;
	/* History asks nothing of the world: no mail, no connector rows, and
	 * an old bounce marks no address now. */
	if (strcmp(item->intake, "history") == 0)
		return TRUE;
	return item->effects == NULL || item->effects->write(store, item->config, effects, error);
}

/* Stores one item; a message taken back from the quarantine leaves it in
 * the same transaction. */
static gboolean write_item(DkStore *store, DkPipelineItem *item, GError **error)
{
	if (item->message == NULL)
		return quarantine_item(store, item, error);
	DkThreadPolicy *policy = item->policy ? item->policy : default_policy();
	DkEffects effects = {0};
	/* Set aside again, the entry stays (with its newest kind and reason). */
	gboolean ok = write_message(store, item, policy, &effects, error) &&
	              carry_out(store, item, &effects, error) &&
	              (item->requeued_from == 0 || item->result.quarantine == item->requeued_from ||
	               dk_store_quarantine_remove(store, item->requeued_from, error));
	g_clear_pointer(&effects.redirects, g_ptr_array_unref);
	return ok;
}

/* write_item() in a savepoint: the answers of its writes are read before
 * the savepoint ends (PostgreSQL sends some without waiting), so that a
 * failure among them is this item's. */
static gboolean write_answered(DkStore *store, DkPipelineItem *item)
{
	return write_item(store, item, &item->error) && dk_store_written(store, &item->error);
}

/* Runs one item in the open transaction. Guarded, in a savepoint of its
 * own: a failure undoes its writes and the batch goes on. Unguarded, with
 * none (a savepoint copies every page its item changes, a tenth of the
 * writer's work): a failure before the item's first write changes nothing
 * either, but one after it sets *redo_out, as only a rollback of the
 * whole transaction undoes it. FALSE when the transaction itself is
 * broken. */
static gboolean run_item(DkStore *store, DkPipelineItem *item, gboolean guarded, gboolean *redo_out,
                         GError **error)
{
	g_clear_error(&item->error);
	dk_delivery_clear(&item->result);
	if (!guarded) {
		gint64 before = dk_store_changes(store);
		/* A write whose answer was not waited for (PostgreSQL) that
		 * failed shows in the next item, which then fails too: the
		 * transaction is aborted, and the batch begins again guarded. */
		if (write_item(store, item, &item->error))
			return TRUE;
		if (!dk_store_in_transaction(store)) {
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
			            "%s: store: SQLite rolled back the transaction",
			            item->error->message);
			return FALSE;
		}
		/* PostgreSQL refuses the rest of a transaction after a failed
		 * statement: only the batch begun again can go on. */
		*redo_out = dk_store_changes(store) != before || dk_store_transaction_failed(store);
		return TRUE;
	}
	/* A savepoint that cannot start or end means the transaction itself
	 * is broken: the whole batch fails. */
	if (!dk_store_savepoint(store, error))
		return FALSE;
	/* A failed item may have cost the whole transaction (SQLite rolls it
	 * back after a full disk or an I/O error): then the items before it
	 * are gone too, and the batch fails. */
	gboolean written = write_answered(store, item);
	/* A row that another gateway committed first (the same message taken
	 * by both, Postfix retrying on the other after a timeout): once more,
	 * which finds it stored. */
	if (!written && dk_store_conflicted(store)) {
		if (!dk_store_rollback_savepoint(store, error) || !dk_store_savepoint(store, error))
			return FALSE;
		g_clear_error(&item->error);
		dk_delivery_clear(&item->result);
		written = write_answered(store, item);
	}
	if (written ? dk_store_release(store, error) : dk_store_rollback_savepoint(store, error))
		return TRUE;
	if (item->error != NULL)
		g_prefix_error(error, "%s: ", item->error->message);
	return FALSE;
}

/* Begins a transaction and runs the items in it (see run_item()); leaves
 * it open unless it broke. */
static gboolean run_batch(DkStore *store, DkPipelineItem **items, guint n, gboolean guarded,
                          gboolean *redo_out, GError **error)
{
	*redo_out = FALSE;
	if (!dk_store_begin(store, error))
		return FALSE;
	if (!dk_store_search_defer(store, error))
		goto broken;
	for (guint i = 0; i < n && !*redo_out; i++) {
		if (!run_item(store, items[i], guarded, redo_out, error))
			goto broken;
	}
	return TRUE;
broken:
	dk_store_rollback(store);
	return FALSE;
}

/* Runs the batch without savepoints first; only when an item failed after
 * writing does it start over, every item in a savepoint of its own. */
gboolean dk_writer_commit(DkStore *store, DkPipelineItem **items, guint n, GError **error)
{
	gboolean redo = FALSE;
	if (!run_batch(store, items, n, FALSE, &redo, error))
		return FALSE;
	/* the last items' writes whose answers were not waited for: when one
	 * of them failed, which item it was is told only guarded */
	if (!redo && !dk_store_written(store, NULL))
		redo = TRUE;
	if (redo) {
		dk_store_rollback(store);
		if (!run_batch(store, items, n, TRUE, &redo, error))
			return FALSE;
	}
	return dk_store_commit(store, error);
}
