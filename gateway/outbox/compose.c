/* Composes notification mail from an outbox row: template data from the
 * ticket and article, the rendered template, the headers. */
#include "gateway/outbox/compose.h"

#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/json.h"
#include "gateway/store/store-attachments.h"
#include "gateway/store/store-file.h"
#include "templates/mustache.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define REFERENCES_MAX 30 /* the newest Message-IDs a reply's References keeps */

gboolean dk_compose_handles(DkOutboxKind kind)
{
	return kind == DK_OUTBOX_ACK || kind == DK_OUTBOX_RELAY || kind == DK_OUTBOX_NOTICE ||
	       kind == DK_OUTBOX_REDIRECT;
}

/* Renders a Mustache setting of [notify] (one line) against data; NULL
 * when it does not render or renders empty. */
static char *render_setting(const char *source, json_t *data)
{
	if (source == NULL)
		return NULL;
	g_autoptr(DkTemplate) t = dk_template_parse(source, NULL);
	DkTemplateOptions opts = {.escape = DK_TEMPLATE_ESCAPE_NONE};
	g_autofree char *out = t ? dk_template_render_with(t, data, &opts, NULL) : NULL;
	if (out == NULL)
		return NULL;
	g_strstrip(g_strdelimit(out, "\r\n", ' '));
	return *out ? g_steal_pointer(&out) : NULL;
}

static const char *template_for(DkOutboxKind kind, json_t *payload)
{
	const char *t = json_string_value(json_object_get(payload, "template"));
	if (t != NULL)
		return t;
	if (kind == DK_OUTBOX_RELAY)
		return "agent-reply";
	return kind == DK_OUTBOX_NOTICE ? "team-new" : "ack";
}

static json_t *person(const char *name, const char *address)
{
	return json_pack("{ss ss}", "name", name ? name : "", "address", address ? address : "");
}

/* The data the templates see (templates/notification.h). */
static json_t *template_data(const DkNotifySettings *s, const DkTicket *t, const DkArticle *a,
                             json_t *payload, const char *token)
{
	const char *to_name = json_string_value(json_object_get(payload, "to_name"));
	const char *to = json_string_value(json_object_get(payload, "to"));
	gboolean to_requester =
	    t->requester != NULL && to != NULL && g_ascii_strcasecmp(t->requester, to) == 0;
	const char *requester_name =
	    to_requester ? to_name : json_string_value(json_object_get(payload, "requester_name"));
	json_t *data = json_object();
	json_t *ticket =
	    json_pack("{sI ss ss ss ss ss}", "number", (json_int_t)t->number, "token", token,
	              "subject", t->subject, "status", dk_ticket_status_name(t->status), "priority",
	              t->priority, "queue", t->queue);
	json_object_set_new(data, "ticket", ticket);
	/* ticket.link only when [notify] ticket_link makes one */
	char *link = render_setting(s->ticket_link, data);
	if (link != NULL)
		json_object_set_new(ticket, "link", json_string(link));
	g_free(link);
	if (a != NULL)
		json_object_set_new(data, "article",
		                    json_pack("{ss ss ss}", "new_text",
		                              a->new_text ? a->new_text : "", "full_text",
		                              a->full_text ? a->full_text : "", "sender",
		                              a->sender ? a->sender : ""));
	json_object_set_new(data, "requester", person(requester_name, t->requester));
	/* Relays queued by the writer name the agent as "from". */
	const char *agent = json_string_value(json_object_get(payload, "agent_address"));
	if (agent == NULL)
		agent = json_string_value(json_object_get(payload, "from"));
	json_object_set_new(
	    data, "agent",
	    person(json_string_value(json_object_get(payload, "agent_name")), agent));
	json_object_set_new(data, "organisation", json_pack("{ss}", "name", s->organisation));
	/* A breach notice names the target missed and when it was due. */
	json_t *sla = json_object_get(payload, "sla");
	if (json_is_object(sla))
		json_object_set(data, "sla", sla);
	return data;
}

static GPtrArray *string_array(json_t *arr)
{
	GPtrArray *out = g_ptr_array_new();
	for (gsize i = 0; i < json_array_size(arr); i++)
		if (json_is_string(json_array_get(arr, i)))
			g_ptr_array_add(out, (gpointer)json_string_value(json_array_get(arr, i)));
	return out;
}

/* Whether address is the sender or among the recipients of a. */
static gboolean article_reached(const DkArticle *a, const char *address)
{
	if (a->sender != NULL && g_ascii_strcasecmp(a->sender, address) == 0)
		return TRUE;
	g_auto(GStrv) to = g_strsplit(a->recipients ? a->recipients : "", ",", -1);
	for (guint i = 0; to[i] != NULL; i++)
		if (g_ascii_strcasecmp(g_strstrip(to[i]), address) == 0)
			return TRUE;
	return FALSE;
}

typedef struct {
	gint64 at;
	const char *message_id; /* borrowed */
	gboolean automatic;     /* docket's acknowledgement or notice */
} Received;

static gint by_time(gconstpointer a, gconstpointer b)
{
	const Received *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* The Message-IDs of the ticket's mail that address has: what it wrote
 * or was a recipient of, and what docket sent it (each relay copy has
 * its own), oldest first; *parent_out the message a reply answers:
 * answers (what the agent's mail answered) when address has it, else the
 * newest; never an automatic notice (an acknowledgement); or NULL. A reply's In-Reply-To and
 * References name only these, so no client is pointed at mail it never
 * received. */
static GPtrArray *received_by(DkStore *store, const DkTicket *t, GPtrArray *articles,
                              const char *address, const char *answers, GPtrArray *rows_out,
                              const char **parent_out, GError **error)
{
	g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(Received));
	for (guint i = 0; i < articles->len; i++) {
		const DkArticle *a = g_ptr_array_index(articles, i);
		if (a->message_id != NULL && a->visibility == DK_PUBLIC &&
		    !g_str_has_suffix(a->message_id, "@synthetic.docket.invalid") &&
		    article_reached(a, address))
			g_array_append_val(
			    seen, ((Received){a->created_at, a->message_id,
			                      g_strcmp0(a->evidence, "notification") == 0}));
	}
	g_autoptr(GPtrArray) rows = dk_store_outbox_sent_to(store, t->number, address, error);
	if (rows == NULL)
		return NULL;
	for (guint i = 0; i < rows->len; i++) {
		DkOutboxRow *row = g_ptr_array_index(rows, i);
		g_autoptr(json_t) p = json_loads(row->payload, 0, NULL);
		const char *id = json_string_value(json_object_get(p, "sent_message_id"));
		if (id == NULL || dk_outbox_kind_from_name(row->kind) != DK_OUTBOX_RELAY)
			continue;
		/* the row's payload stays alive in rows_out */
		char *kept = g_strdup(id);
		g_ptr_array_add(rows_out, kept);
		g_array_append_val(seen, ((Received){row->created_at, kept, FALSE}));
	}
	g_array_sort(seen, by_time);
	*parent_out = NULL;
	for (guint i = 0; answers != NULL && i < seen->len && *parent_out == NULL; i++)
		if (strcmp(g_array_index(seen, Received, i).message_id, answers) == 0 &&
		    !g_array_index(seen, Received, i).automatic)
			*parent_out = g_array_index(seen, Received, i).message_id;
	for (guint i = seen->len; i > 0 && *parent_out == NULL; i--)
		if (!g_array_index(seen, Received, i - 1).automatic)
			*parent_out = g_array_index(seen, Received, i - 1).message_id;
	GPtrArray *ids = g_ptr_array_new();
	guint first = seen->len > REFERENCES_MAX ? seen->len - REFERENCES_MAX : 0;
	for (guint i = first; i < seen->len; i++)
		g_ptr_array_add(ids, (gpointer)g_array_index(seen, Received, i).message_id);
	return ids;
}

/* The support mailbox the ticket's mail came to first (staff.h), or NULL:
 * mail to the customer comes from the address the customer wrote to. */
static char *support_mailbox(DkStore *store, const DkNotifySettings *s, gint64 ticket,
                             GError **error)
{
	g_autoptr(GPtrArray) addresses = dk_store_ticket_addresses_seen(store, ticket, error);
	if (addresses == NULL)
		return NULL;
	for (guint i = 0; i < addresses->len; i++) {
		char *mailbox = dk_staff_support_mailbox(s->staff, g_ptr_array_index(addresses, i));
		if (mailbox != NULL)
			return mailbox;
	}
	return g_strdup("");
}

/* The article's attachments, read back as files to send. */
static GPtrArray *article_files(DkStore *store, gint64 article, GError **error)
{
	g_autoptr(GPtrArray) stored = g_ptr_array_new_with_free_func(dk_stored_attachment_free);
	if (!dk_store_article_attachments(store, article, stored, error))
		return NULL;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(dk_mail_file_free);
	for (guint i = 0; i < stored->len; i++) {
		const DkStoredAttachment *a = g_ptr_array_index(stored, i);
		if (!dk_stored_attachment_kept(a))
			continue; /* over a parse limit when it came: nothing to send */
		GBytes *data = dk_store_attachment_read(store, a, error);
		if (data == NULL)
			return NULL;
		DkMailFile *f = g_new0(DkMailFile, 1);
		f->filename = g_strdup(a->filename);
		f->content_type = g_strdup(a->content_type);
		f->content_id = g_strdup(a->content_id);
		f->inline_part = g_strcmp0(a->disposition, "inline") == 0;
		f->data = data;
		g_ptr_array_add(files, f);
	}
	return g_steal_pointer(&files);
}

/* What a mail to a customer adds to the headers: From the support mailbox
 * the customer wrote to, a relay's display name "Agent via Support", the
 * signed reply address as Reply-To, and a relay's threading by what its
 * recipient received, with the reply's files. */
typedef struct {
	char *from, *from_name, *reply_to;
	GPtrArray *references; /* of const char*, or NULL */
	GPtrArray *kept;       /* of char*: strings references borrows */
	GPtrArray *files;      /* of DkMailFile*, or NULL */
	const char *in_reply_to;
} Customer;

static void customer_clear(Customer *c)
{
	g_free(c->from);
	g_free(c->from_name);
	g_free(c->reply_to);
	g_clear_pointer(&c->references, g_ptr_array_unref);
	g_clear_pointer(&c->kept, g_ptr_array_unref);
	g_clear_pointer(&c->files, g_ptr_array_unref);
}

static gboolean customer_headers(DkStore *store, const DkNotifySettings *s, const DkOutboxRow *row,
                                 json_t *payload, const DkTicket *t, GPtrArray *articles,
                                 const DkArticle *a, Customer *c, GError **error)
{
	if ((c->from = support_mailbox(store, s, t->number, error)) == NULL)
		return FALSE;
	if (s->reply_address != NULL)
		c->reply_to = dk_ids_reply_address(s->secret, s->reply_address, t->number);
	if (dk_outbox_kind_from_name(row->kind) != DK_OUTBOX_RELAY)
		return TRUE;
	const char *agent = json_string_value(json_object_get(payload, "from"));
	g_autoptr(json_t) who = json_pack("{s{ss? ss?} ss}", "agent", "name",
	                                  json_string_value(json_object_get(payload, "agent_name")),
	                                  "address", agent, "from_name", s->from_name);
	c->from_name = render_setting(s->reply_from_name, who);
	c->kept = g_ptr_array_new_with_free_func(g_free);
	c->references = received_by(store, t, articles, row->target,
	                            json_string_value(json_object_get(payload, "answers")), c->kept,
	                            &c->in_reply_to, error);
	if (c->references == NULL)
		return FALSE;
	return a == NULL || (c->files = article_files(store, a->id, error)) != NULL;
}

static DkComposed *compose_message(DkStore *store, const DkNotifySettings *s,
                                   const DkOutboxRow *row, json_t *payload, const DkTicket *t,
                                   GPtrArray *articles, const DkArticle *a, gint64 now,
                                   GError **error)
{
	DkOutboxKind kind = dk_outbox_kind_from_name(row->kind);
	g_autofree char *token = dk_ids_token(s->token_prefix, t->number);
	g_autoptr(json_t) data = template_data(s, t, a, payload, token);
	g_autoptr(GError) local = NULL;
	g_autoptr(DkNotification) n =
	    dk_notification_build(template_for(kind, payload), t->queue, data,
	                          dk_notify_template_loader, (gpointer)s, &local);
	if (n == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "template: %s", local->message);
		return NULL;
	}
	Customer c = {0};
	if ((kind == DK_OUTBOX_ACK || kind == DK_OUTBOX_RELAY) &&
	    !customer_headers(store, s, row, payload, t, articles, a, &c, error)) {
		customer_clear(&c);
		return NULL;
	}
	g_autoptr(GPtrArray) refs = string_array(json_object_get(payload, "references"));
	g_autoptr(GPtrArray) cc = string_array(json_object_get(payload, "cc"));
	const char *to = json_string_value(json_object_get(payload, "to"));
	DkMailHeaders h = {
	    .to = kind == DK_OUTBOX_RELAY && to != NULL ? to : row->target,
	    .to_name = json_string_value(json_object_get(payload, "to_name")),
	    .cc = cc,
	    .from = c.from,
	    .from_name = c.from_name ? c.from_name : s->from_name,
	    .reply_to = c.reply_to,
	    .files = c.files,
	    .message_id = json_string_value(json_object_get(payload, "sent_message_id")),
	    .in_reply_to = kind == DK_OUTBOX_RELAY
	                       ? c.in_reply_to
	                       : json_string_value(json_object_get(payload, "in_reply_to")),
	    .references = kind == DK_OUTBOX_RELAY ? c.references : refs,
	    .token = token,
	    .auto_submitted = kind == DK_OUTBOX_RELAY ? NULL
	                      : kind == DK_OUTBOX_ACK ? "auto-replied"
	                                              : "auto-generated",
	    .date = now,
	};
	GMimeMessage *msg = dk_notify_build_message(s, n, &h, error);
	customer_clear(&c);
	if (msg == NULL)
		return NULL;
	DkComposed *out = g_new0(DkComposed, 1);
	out->fd = -1;
	out->message = msg;
	out->bytes = dk_notify_message_bytes(msg);
	out->subject = g_strdup(g_mime_message_get_subject(msg));
	out->text = g_strdup(n->text);
	out->article = a ? a->id : 0;
	return out;
}

/* The payload's article among the ticket's, or NULL. */
static const DkArticle *article_of(GPtrArray *articles, gint64 id)
{
	for (guint i = 0; id != 0 && i < articles->len; i++) {
		const DkArticle *a = g_ptr_array_index(articles, i);
		if (a->id == id)
			return a;
	}
	return NULL;
}

/* What the loop check reads of a redirect's message: its header, which
 * mail rarely has longer than 100 KiB (Postfix's header_size_limit). */
#define HEAD_MAX (256 * 1024)

/* Whether the header block of head, the first bytes of a message (all of
 * it when whole), has an X-Loop field naming value: *loop_out. FALSE when
 * the header goes on past head: a field beyond it could be the X-Loop,
 * so the check cannot pass. */
static gboolean has_loop(GBytes *head, gboolean whole, const char *value, gboolean *loop_out)
{
	gsize len = 0;
	const char *p = g_bytes_get_data(head, &len), *end = p + len;
	g_autofree char *want = g_ascii_strdown(value, -1);
	*loop_out = FALSE;
	while (p < end && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
		const char *eol = memchr(p, '\n', (gsize)(end - p));
		gsize n = eol ? (gsize)(eol - p) : (gsize)(end - p);
		if (n > 7 && g_ascii_strncasecmp(p, "x-loop:", 7) == 0) {
			g_autofree char *field = g_ascii_strdown(p + 7, (gssize)(n - 7));
			if (strstr(field, want) != NULL)
				return *loop_out = TRUE;
		}
		p = eol ? eol + 1 : end;
	}
	return p < end || whole;
}

/* The error of a redirect whose message could not be read (local): gone
 * from the store (never there, or purged) is permanent, anything else
 * (the store, a file) temporary. Returns NULL. */
static DkComposed *unreadable(GError *local, GError **error)
{
	gboolean gone = local == NULL || g_error_matches(local, DK_ERROR, DK_ERROR_NOT_FOUND) ||
	                g_error_matches(local, DK_ERROR, DK_ERROR_GONE);
	g_set_error(error, DK_ERROR, gone ? DK_ERROR_PERMANENT : DK_ERROR_TEMPORARY,
	            "redirect: %s%s%s", gone ? "the message is not in the store" : "",
	            local && gone ? ": " : "", local ? local->message : "");
	return NULL;
}

/* Why a redirect of the message that starts with head to target would
 * be a loop, or NULL. */
static const char *loop_reason(const DkNotifySettings *s, const char *target, GBytes *head)
{
	gboolean loop = FALSE;
	if (dk_staff_is_support_address(s->staff, target))
		return "it is one of docket's own addresses";
	if (!has_loop(head, g_bytes_get_size(head) <= HEAD_MAX, s->from, &loop))
		return "its header is longer than 256 KiB, so docket cannot tell whether it "
		       "went round before";
	return loop ? "the message was redirected by docket before" : NULL;
}

/* The raw message on its way into a redirect's file: line ends CRLF made
 * LF, a CR held back until the byte after it is known (at the end of one
 * piece, the first of the next). */
typedef struct {
	DkStoreFileSink file;
	gboolean cr_held; /* a CR read, not yet written */
	GByteArray *out;  /* a piece as written */
} Copy;

static gboolean copy_piece(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	Copy *c = data;
	g_byte_array_set_size(c->out, (guint)size + 1);
	guint8 *out = c->out->data;
	gsize n = 0;
	for (gsize i = 0; i < size; i++) {
		if (c->cr_held && bytes[i] != '\n')
			out[n++] = '\r';
		c->cr_held = bytes[i] == '\r';
		if (!c->cr_held)
			out[n++] = bytes[i];
	}
	return dk_store_file_sink_write(out, n, &c->file, error);
}

/* Writes X-Loop and the raw message sha into c's file. */
static gboolean copy_message(DkStore *store, const DkNotifySettings *s, const char *sha, Copy *c,
                             GError **error)
{
	g_autofree char *loop = g_strdup_printf("X-Loop: %s\n", s->from);
	if (!dk_store_file_sink_write((const guint8 *)loop, strlen(loop), &c->file, error))
		return FALSE;
	if (!dk_store_raw_read(store, sha, copy_piece, c, error))
		return FALSE;
	return !c->cr_held || dk_store_file_sink_write((const guint8 *)"\r", 1, &c->file, error);
}

/* A rule's redirect (RFC 5228 section 4.2): the message as it was
 * received, with docket's X-Loop on top so that it never goes round
 * through docket twice; never to docket's own addresses. Streamed from
 * the store into a temporary file: a large message is never held whole. */
static DkComposed *compose_redirect(DkStore *store, const DkNotifySettings *s,
                                    const DkOutboxRow *row, json_t *payload, GError **error)
{
	const char *sha = json_string_value(json_object_get(payload, "raw_sha256"));
	g_autoptr(GError) local = NULL;
	g_autoptr(GBytes) head = sha ? dk_store_raw_head(store, sha, HEAD_MAX + 1, &local) : NULL;
	if (head == NULL)
		return unreadable(local, error);
	const char *why = loop_reason(s, row->target, head);
	if (why != NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "redirect to %s refused: %s (a loop)", row->target, why);
		return NULL;
	}
	Copy c = {.file = {dk_store_file_temporary("redirect"), "writing a temporary file"},
	          .out = g_byte_array_new()};
	if (c.file.fd < 0)
		g_set_error(&local, DK_ERROR, DK_ERROR_TEMPORARY, "a temporary file: %s",
		            g_strerror(errno));
	gboolean ok = c.file.fd >= 0 && copy_message(store, s, sha, &c, &local);
	g_byte_array_unref(c.out);
	if (!ok) {
		if (c.file.fd >= 0)
			close(c.file.fd);
		return unreadable(local, error);
	}
	DkComposed *out = g_new0(DkComposed, 1);
	out->fd = c.file.fd;
	out->size = c.file.written;
	out->subject = g_strdup("");
	out->text = g_strdup("");
	return out;
}

DkComposed *dk_compose(DkStore *store, const DkNotifySettings *s, const DkOutboxRow *row,
                       json_t *payload, gint64 now, GError **error)
{
	if (dk_outbox_kind_from_name(row->kind) == DK_OUTBOX_REDIRECT)
		return compose_redirect(store, s, row, payload, error);
	g_autoptr(GError) local = NULL;
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, row->ticket, &local);
	if (t == NULL) {
		gboolean gone = g_error_matches(local, DK_ERROR, DK_ERROR_NOT_FOUND);
		g_set_error(error, DK_ERROR, gone ? DK_ERROR_PERMANENT : DK_ERROR_TEMPORARY,
		            "ticket %" G_GINT64_FORMAT ": %s", row->ticket, local->message);
		return NULL;
	}
	g_autoptr(GPtrArray) articles = dk_store_articles(store, t->number, error);
	if (articles == NULL)
		return NULL;
	const DkArticle *a =
	    article_of(articles, json_integer_value(json_object_get(payload, "article")));
	return compose_message(store, s, row, payload, t, articles, a, now, error);
}

void dk_composed_free(DkComposed *c)
{
	if (c == NULL)
		return;
	g_clear_object(&c->message);
	if (c->bytes != NULL)
		g_bytes_unref(c->bytes);
	if (c->fd >= 0)
		close(c->fd);
	g_free(c->subject);
	g_free(c->text);
	g_free(c);
}
