/* Recognises bounces: RFC 3464 delivery status notifications and the
 * non-standard failure reports of common MTAs, with the failed recipient,
 * the status code and the Message-ID of the mail that bounced. */
#include "parsers/classify.h"

#include "parsers/charset.h"
#include "parsers/message-private.h"

#include <string.h>

#define SCAN_MAX_DEPTH 16
#define SCAN_MAX_PARTS 200
#define SCAN_MAX_TEXT (512 * 1024) /* decoded text looked at, in all */

/* What a walk over the MIME tree collected. */
typedef struct {
	GString *text;      /* text parts, outside returned messages */
	GString *status;    /* message/delivery-status parts */
	GString *headers;   /* text/rfc822-headers parts and returned headers */
	char *returned_id;  /* Message-ID of the first returned message/rfc822 */
	gboolean feedback;  /* an ARF feedback report or a read receipt */
	gboolean want_text; /* collect text parts (decoding them costs) */
	guint parts;
} Scan;

/* What an MTA's own failure report says, in the texts of the MTAs that
 * write no RFC 3464 report (or write one as well). Lower case. */
static const char *const bounce_phrases[] = {
    "this message was created automatically by mail delivery software",
    "i'm afraid i wasn't able to deliver your message",
    "this is the qmail-send program",
    "this is the mail system at host",
    "i'm sorry to have to inform you that your message could not",
    "the following addresses had permanent fatal errors",
    "the following addresses had transient non-fatal errors",
    "delivery has failed to these recipients",
    "your message did not reach some or all of the intended recipients",
    "could not be delivered to one or more recipients",
    "was not delivered to",
    "sorry, we were unable to deliver your message",
    "delivery to the following recipient failed",
    "delivery to the following recipients failed",
    "your message wasn't delivered",
    "your message could not be delivered",
    "message could not be delivered",
    "could not be delivered to",
    "your mail to the following recipients could not be delivered",
    "your message cannot be delivered",
    "the following message to",
    "there was an error delivering your mail",
    "\"notificationtype\":\"bounce\"",
};

/* Words that failure reports use, but people too: they count only in mail
 * from a mailer daemon or with a null return path. Lower case. */
static const char *const bounce_words[] = {
    "message not delivered",
    "undeliverable",
    "unable to deliver",
    "delivery failed",
    "failed permanently",
    "permanent error",
    "permanent failure",
    "user unknown",
    "unknown user",
    "no such user",
    "mailbox unavailable",
    "mailbox is full",
    "recipient address rejected",
    "undelivered mail returned to sender",
    "returned mail",
    "delivery status notification",
    "non-delivery",
    "nondelivery",
    "konnte nicht zugestellt werden",
    "unzustellbar",
    "n'a pas pu être remis",
    "no se pudo entregar",
    "\"bouncetype\"",
};

/* Words in the subjects of bounces. Lower case. */
static const char *const bounce_subjects[] = {
    "undeliver",
    "undelivered",
    "delivery status notification",
    "delivery failure",
    "delivery failed",
    "failure notice",
    "failure delivery",
    "returned mail",
    "mail delivery failed",
    "mail delivery failure",
    "delivery notification",
    "nondeliverable",
    "non-deliverable",
    "non remis",
    "unzustellbar",
    "nicht zugestellt",
    "could not be delivered",
    "not delivered",
    "delivery problem",
    "mail system error",
    "rejected",
    "bounce",
    "delivery has failed",
    "failed delivery",
    "returned to sender",
    "mail could not be delivered",
    "delivery error",
    "message delivery",
    "delivery report",
    "warning: could not send",
    "permanent error",
    "error sending",
    "mail failure",
    "sending failed",
};

static const char *const daemon_names[] = {
    "mailer-daemon", "mailer_daemon", "mailerdaemon",  "mail-daemon",        "maildaemon",
    "postmaster",    "post_master",   "mail delivery", "mail administrator", "mail system",
};

static void append_bounded(GString *out, const char *s, gsize n)
{
	gsize room = out->len < SCAN_MAX_TEXT ? SCAN_MAX_TEXT - out->len : 0;
	g_string_append_len(out, s, MIN(n, room));
	if (room > 0)
		g_string_append_c(out, '\n');
}

/* s, or as much of it as the scan's bound leaves room for. */
static void append_limited(GString *out, const char *s)
{
	gsize room = out->len < SCAN_MAX_TEXT ? SCAN_MAX_TEXT - out->len : 0;
	g_string_append_len(out, s, (gssize)MIN(strlen(s), room));
}

/* The decoded content of a leaf part, transfer encoding removed (text
 * in UTF-8), read only as far as the scan's bound. */
static void append_content(GString *out, GMimeObject *part)
{
	gsize room = out->len < SCAN_MAX_TEXT ? SCAN_MAX_TEXT - out->len : 0;
	if (!GMIME_IS_PART(part) || room == 0)
		return;
	GBytes *done = g_object_get_qdata(G_OBJECT(part), dk_message_decoded_quark());
	g_autoptr(GByteArray) bytes = NULL;
	const char *data;
	gsize len;
	if (done != NULL) { /* the body walk decoded it already */
		data = g_bytes_get_data(done, &len);
		len = MIN(len, room);
	} else {
		GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(part));
		if (content == NULL)
			return;
		bytes = dk_message_read_decoded(content, room);
		data = (const char *)bytes->data;
		len = bytes->len;
	}
	if (GMIME_IS_TEXT_PART(part)) {
		const char *charset = g_mime_text_part_get_charset(GMIME_TEXT_PART(part));
		g_autofree char *text = dk_charset_to_utf8(data ? data : "", len, charset,
		                                           DK_CHARSET_DEFAULT_FALLBACK, NULL);
		append_bounded(out, text, strlen(text));
		return;
	}
	append_bounded(out, data, len);
}

static void scan_returned(Scan *s, GMimeMessage *returned)
{
	if (returned == NULL)
		return;
	const char *id = g_mime_message_get_message_id(returned);
	if (s->returned_id == NULL && id != NULL && *id != '\0')
		s->returned_id = g_strdup(id);
	/* The header block as it was received: name, colon, raw value. */
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(returned));
	int n = list ? g_mime_header_list_get_count(list) : 0;
	for (int i = 0; i < n && s->headers->len < SCAN_MAX_TEXT; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *raw = g_mime_header_get_raw_value(h);
		append_limited(s->headers, g_mime_header_get_name(h));
		append_limited(s->headers, ":");
		append_limited(s->headers, raw ? raw : "");
		if (s->headers->str[s->headers->len - 1] != '\n')
			g_string_append_c(s->headers, '\n');
	}
	if (n > 0)
		g_string_append_c(s->headers, '\n');
	/* A blank line before the returned header block makes it the body. */
	GMimeObject *body = g_mime_message_get_mime_part(returned);
	if ((id == NULL || *id == '\0') && body != NULL)
		append_content(s->headers, body);
}

static gboolean is_dsn_report(GMimeObject *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
	return g_mime_content_type_is_type(ct, "multipart", "report") && rt != NULL &&
	       g_ascii_strcasecmp(rt, "delivery-status") == 0;
}

static void scan_part(Scan *s, GMimeObject *part, guint depth)
{
	if (depth > SCAN_MAX_DEPTH || ++s->parts > SCAN_MAX_PARTS)
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	if (GMIME_IS_MULTIPART(part)) {
		if (g_mime_content_type_is_type(ct, "multipart", "report")) {
			const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
			if (rt != NULL && (g_ascii_strcasecmp(rt, "feedback-report") == 0 ||
			                   g_ascii_strcasecmp(rt, "disposition-notification") == 0))
				s->feedback = TRUE;
		}
		GMimeMultipart *mp = GMIME_MULTIPART(part);
		/* A report whose boundary is missing or wrong is all prologue. */
		const char *prologue = g_mime_multipart_get_prologue(mp);
		if (prologue != NULL && s->want_text)
			append_bounded(s->text, prologue, strlen(prologue));
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			scan_part(s, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(part)) {
		GMimeMessage *returned = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
		GMimeObject *inner = returned ? g_mime_message_get_mime_part(returned) : NULL;
		/* A bounce forwarded as a whole: read the report inside. */
		if (inner != NULL && s->status->len == 0 && is_dsn_report(inner))
			scan_part(s, inner, depth + 1);
		else
			scan_returned(s, returned);
		return;
	}
	if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	    g_mime_content_type_is_type(ct, "message", "global-delivery-status"))
		append_content(s->status, part);
	else if (g_mime_content_type_is_type(ct, "message", "feedback-report") ||
	         g_mime_content_type_is_type(ct, "message", "disposition-notification"))
		s->feedback = TRUE;
	else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
	         g_mime_content_type_is_type(ct, "message", "rfc822-headers"))
		append_content(s->headers, part);
	else if (s->want_text && (g_mime_content_type_is_type(ct, "text", "*") ||
	                          g_mime_content_type_is_type(ct, "message", "*")))
		append_content(s->text, part);
}

/* Unfolds "Name: value" fields of s into (lower-case name, value) pairs,
 * one group per blank-line-separated block (RFC 3464 section 2). Calls
 * field() for each, with the group number. */
typedef void (*FieldFunc)(const char *name, const char *value, guint group, gpointer data);

static void each_field(const char *s, FieldFunc field, gpointer data)
{
	g_autoptr(GString) name = g_string_new(NULL), value = g_string_new(NULL);
	g_autoptr(GString) line = g_string_new(NULL);
	const char *end = s + strlen(s);
	guint group = 0;
	for (const char *p = s; p <= end;) {
		const char *eol = memchr(p, '\n', (gsize)(end - p));
		eol = eol ? eol : end;
		g_string_assign(line, "");
		g_string_append_len(line, p, eol - p);
		char *l = g_strchomp(line->str);
		p = eol + 1;
		if ((*l == ' ' || *l == '\t') && name->len > 0) {
			g_string_append(value, g_strstrip(l));
			continue;
		}
		if (name->len > 0)
			field(name->str, g_strstrip(value->str), group, data);
		g_string_truncate(name, 0);
		g_string_truncate(value, 0);
		char *colon = strchr(l, ':');
		if (*l == '\0') {
			group++;
		} else if (colon != NULL && colon > l) {
			g_string_append_len(name, l, colon - l);
			g_strstrip(name->str);
			name->len = strlen(name->str);
			g_string_ascii_down(name);
			g_string_append(value, colon + 1);
		}
	}
	if (name->len > 0)
		field(name->str, g_strstrip(value->str), group, data);
}

/* The chosen recipient group of a DSN: failed first, then delayed. */
typedef struct {
	guint group;
	int rank;  /* 0: none, 1: a status without an action, 2: delayed, 3: failed */
	int other; /* groups that report delivery, relaying or expansion */
	char *action[64];
	char *recipient[64];
	char *original[64];
	char *status[64];
	char *diagnostic[64];
	char *original_id;
} Dsn;

static void dsn_field(const char *name, const char *value, guint group, gpointer data)
{
	Dsn *d = data;
	guint g = MIN(group, 63u);
	char **slot = NULL;
	if (strcmp(name, "action") == 0)
		slot = &d->action[g];
	else if (strcmp(name, "final-recipient") == 0)
		slot = &d->recipient[g];
	else if (strcmp(name, "original-recipient") == 0)
		slot = &d->original[g];
	else if (strcmp(name, "status") == 0)
		slot = &d->status[g];
	else if (strcmp(name, "diagnostic-code") == 0)
		slot = &d->diagnostic[g];
	else if (g_str_has_suffix(name, "original-message-id") && d->original_id == NULL)
		slot = &d->original_id;
	if (slot != NULL && *slot == NULL && *value != '\0')
		*slot = g_strdup(value);
}

/* "rfc822; user@example.com" -> "user@example.com" (RFC 3464 section 2.3.2). */
static char *address_value(const char *v)
{
	if (v == NULL)
		return NULL;
	const char *semi = strchr(v, ';');
	g_autofree char *a = g_strstrip(g_strdup(semi ? semi + 1 : v));
	gsize n = strlen(a);
	if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
		a[n - 1] = '\0';
		return g_strdup(a + 1);
	}
	return *a ? g_steal_pointer(&a) : NULL;
}

/* A status code "D.D.D" (RFC 3463 section 2) starting at p, or 0. */
static gsize status_code_at(const char *p)
{
	const char *q = p;
	if (*q != '2' && *q != '4' && *q != '5')
		return 0;
	q++;
	for (int part = 0; part < 2; part++) {
		if (*q++ != '.' || !g_ascii_isdigit(*q))
			return 0;
		for (int k = 0; k < 3 && g_ascii_isdigit(*q); k++)
			q++;
	}
	if (g_ascii_isdigit(*q) || (*q == '.' && g_ascii_isdigit(q[1])))
		return 0;
	return (gsize)(q - p);
}

/* The first failure status code (4.x.x or 5.x.x) in s, or NULL. */
static char *find_status(const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		if ((*p != '4' && *p != '5') || (p > s && (g_ascii_isdigit(p[-1]) || p[-1] == '.')))
			continue;
		gsize n = status_code_at(p);
		if (n > 0)
			return g_strndup(p, n);
	}
	return NULL;
}

/* The Status field's code (RFC 3464 section 2.3.4); when it is only the
 * class ("5.0.0"), the more precise code of the same class that the
 * Diagnostic-Code quotes from the remote server. */
static char *group_status(const char *status, const char *diagnostic)
{
	char *code = status ? find_status(status) : NULL;
	if (diagnostic == NULL || (code != NULL && !g_str_has_suffix(code, ".0.0")))
		return code;
	char *precise = find_status(diagnostic);
	if (precise != NULL && (code == NULL || precise[0] == code[0])) {
		g_free(code);
		return precise;
	}
	g_free(precise);
	return code;
}

static int action_rank(const char *action, const char *status)
{
	if (action == NULL)
		return status != NULL && (status[0] == '4' || status[0] == '5') ? 1 : 0;
	if (g_ascii_strncasecmp(action, "failed", 6) == 0)
		return 3;
	if (g_ascii_strncasecmp(action, "delayed", 7) == 0)
		return 2;
	return -1;
}

static void dsn_clear(Dsn *d)
{
	for (guint g = 0; g < 64; g++) {
		g_free(d->action[g]);
		g_free(d->recipient[g]);
		g_free(d->original[g]);
		g_free(d->status[g]);
		g_free(d->diagnostic[g]);
	}
	g_free(d->original_id);
}

/* Reads the RFC 3464 fields; returns a bounce, or NULL with *delivered_out
 * set when the report only tells of delivery. */
static DkBounce *bounce_from_dsn(const char *status_text, char **original_id_out,
                                 gboolean *delivered_out)
{
	Dsn d = {0};
	each_field(status_text, dsn_field, &d);
	guint best = 0;
	int rank = 0;
	gboolean others = FALSE;
	for (guint g = 0; g < 64; g++) {
		int r = action_rank(d.action[g], d.status[g]);
		others = others || r < 0;
		if (r > rank) {
			rank = r;
			best = g;
		}
	}
	*original_id_out = g_steal_pointer(&d.original_id);
	*delivered_out = rank == 0 && others;
	DkBounce *b = NULL;
	if (rank > 0) {
		b = g_new0(DkBounce, 1);
		b->recipient =
		    address_value(d.recipient[best] ? d.recipient[best] : d.original[best]);
		b->status = group_status(d.status[best], d.diagnostic[best]);
		b->delayed = rank == 2 || (b->status != NULL && b->status[0] == '4');
	}
	dsn_clear(&d);
	return b;
}

static gboolean contains_any(const char *haystack, const char *const *needles, guint n)
{
	for (guint k = 0; k < n; k++)
		if (strstr(haystack, needles[k]) != NULL)
			return TRUE;
	return FALSE;
}

/* From a mailer daemon or postmaster; the raw field counts too, as
 * "MAILER-DAEMON <>" has no usable address. */
static gboolean from_daemon(const DkMessage *m)
{
	const char *raw = dk_message_header(m, "from");
	g_autofree char *who = g_ascii_strdown(raw ? raw : "", -1);
	return contains_any(who, daemon_names, G_N_ELEMENTS(daemon_names));
}

static gboolean null_return_path(const DkMessage *m)
{
	const char *rp = dk_message_header(m, "return-path");
	if (rp == NULL)
		return FALSE;
	g_autofree char *v = g_strstrip(g_strdup(rp));
	return strcmp(v, "<>") == 0 || *v == '\0';
}

/* A non-standard bounce: an MTA's failure text under a failure subject, or
 * failure words in mail from a mailer daemon or with a null return path
 * (RFC 5321 section 4.5.5), or a daemon's failure subject. */
static gboolean looks_like_bounce(const DkMessage *m, const Scan *s)
{
	g_autofree char *subject = g_ascii_strdown(m->subject ? m->subject : "", -1);
	g_autofree char *text = g_ascii_strdown(s->text->str, -1);
	gboolean phrase = contains_any(text, bounce_phrases, G_N_ELEMENTS(bounce_phrases));
	gboolean failed_subject =
	    contains_any(subject, bounce_subjects, G_N_ELEMENTS(bounce_subjects));
	gboolean automatic = from_daemon(m) || null_return_path(m);
	if (phrase && (automatic || failed_subject))
		return TRUE;
	if (!automatic)
		return FALSE;
	return failed_subject || contains_any(text, bounce_words, G_N_ELEMENTS(bounce_words));
}

/* The first address in text that is not one of the bounce's own. */
static char *find_recipient(const DkMessage *m, const char *text)
{
	for (const char *at = strchr(text, '@'); at != NULL; at = strchr(at + 1, '@')) {
		const char *b = at, *e = at + 1;
		while (b > text && (g_ascii_isalnum(b[-1]) || strchr("._%+-=", b[-1]) != NULL))
			b--;
		while (g_ascii_isalnum(*e) || *e == '.' || *e == '-')
			e++;
		while (e > at + 1 && e[-1] == '.')
			e--;
		if (b == at || e == at + 1 || memchr(at + 1, '.', (gsize)(e - at - 1)) == NULL)
			continue;
		g_autofree char *addr = g_ascii_strdown(b, (gssize)(e - b));
		gboolean own = m->from != NULL && m->from->address != NULL &&
		               g_ascii_strcasecmp(addr, m->from->address) == 0;
		for (guint i = 0; !own && m->to != NULL && i < m->to->len; i++)
			own = g_ascii_strcasecmp(
			          addr, ((DkAddress *)g_ptr_array_index(m->to, i))->address) == 0;
		if (!own && !contains_any(addr, daemon_names, G_N_ELEMENTS(daemon_names)))
			return g_steal_pointer(&addr);
	}
	return NULL;
}

/* The value of the first "Message-ID:" (or "X-Original-Message-ID:") field
 * in text, from a returned header block or quoted message; without angle
 * brackets. The bounce's own header block is not in text. */
static char *find_message_id(const char *text)
{
	const char *end = text + strlen(text);
	for (const char *p = text; p < end;) {
		const char *eol = memchr(p, '\n', (gsize)(end - p));
		eol = eol ? eol : end;
		const char *q = p;
		while (q < eol && (*q == ' ' || *q == '\t' || *q == '>'))
			q++;
		const char *colon = memchr(q, ':', (gsize)MIN(eol - q, 40));
		if (colon != NULL && colon - q >= 10 &&
		    g_ascii_strncasecmp(colon - 10, "message-id", 10) == 0 &&
		    (colon - 10 == q || colon[-11] == '-')) {
			/* The value, or its fold on the next line (RFC 5322 section 2.2.3). */
			const char *value_end = eol;
			if (eol < end && (eol[1] == ' ' || eol[1] == '\t')) {
				const char *next = memchr(eol + 1, '\n', (gsize)(end - eol - 1));
				value_end = next ? next : end;
			}
			const char *lt = memchr(colon, '<', (gsize)(value_end - colon));
			const char *gt =
			    lt ? memchr(lt, '>', (gsize)MIN(value_end - lt, 1000)) : NULL;
			if (gt != NULL && gt - lt > 1) {
				g_autofree char *id = g_strndup(lt + 1, (gsize)(gt - lt - 1));
				g_strstrip(id);
				if (*id != '\0' && strpbrk(id, "\r\n") == NULL)
					return g_steal_pointer(&id);
			}
		}
		p = eol + 1;
	}
	return NULL;
}

static char *clean_id(char *id)
{
	if (id == NULL)
		return NULL;
	g_strstrip(id);
	gsize n = strlen(id);
	if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
		memmove(id, id + 1, n - 2);
		id[n - 2] = '\0';
	}
	return id;
}

static void fill_missing(DkBounce *b, const DkMessage *m, Scan *s, char *dsn_id)
{
	if (b->recipient == NULL || b->status == NULL) {
		/* RFC 3464 fields pasted into the text, as broken reports do. */
		g_autofree char *text_id = NULL;
		gboolean delivered;
		DkBounce *t = bounce_from_dsn(s->text->str, &text_id, &delivered);
		if (t != NULL) {
			if (b->recipient == NULL)
				b->recipient = g_steal_pointer(&t->recipient);
			if (b->status == NULL)
				b->status = g_steal_pointer(&t->status);
			dk_bounce_free(t);
		}
	}
	if (b->recipient == NULL)
		b->recipient = find_recipient(m, s->text->str);
	if (b->status == NULL)
		b->status = find_status(s->text->str);
	b->original_message_id = s->returned_id ? g_strdup(s->returned_id) : NULL;
	if (b->original_message_id == NULL)
		b->original_message_id = find_message_id(s->headers->str);
	if (b->original_message_id == NULL && dsn_id != NULL)
		b->original_message_id = g_strdup(dsn_id);
	if (b->original_message_id == NULL)
		b->original_message_id = find_message_id(s->text->str);
	/* Some MTAs return nothing of the message but answer it, as a reply
	 * would: In-Reply-To then names it. */
	if (b->original_message_id == NULL && m->in_reply_to != NULL)
		b->original_message_id = g_strdup(m->in_reply_to);
	clean_id(b->original_message_id);
}

DkBounce *dk_classify_bounce(GMimeMessage *gm, const DkMessage *m)
{
	g_return_val_if_fail(gm != NULL && m != NULL, NULL);
	/* The texts matter only for mail that comes from a mailer daemon or
	 * has a failure subject, or that carries a delivery report: most mail
	 * is none of these, and is not decoded a second time. */
	g_autofree char *subject = g_ascii_strdown(m->subject ? m->subject : "", -1);
	gboolean candidate = from_daemon(m) || null_return_path(m) ||
	                     contains_any(subject, bounce_subjects, G_N_ELEMENTS(bounce_subjects));
	Scan s = {.text = g_string_new(NULL),
	          .status = g_string_new(NULL),
	          .headers = g_string_new(NULL),
	          .want_text = candidate};
	GMimeObject *body = g_mime_message_get_mime_part(gm);
	if (body != NULL)
		scan_part(&s, body, 0);
	if (body != NULL && !candidate && s.status->len > 0) {
		/* A report after all (a bounce forwarded whole): read it all. */
		g_string_truncate(s.text, 0);
		g_string_truncate(s.status, 0);
		g_string_truncate(s.headers, 0);
		g_clear_pointer(&s.returned_id, g_free);
		s.parts = 0;
		s.feedback = FALSE;
		s.want_text = TRUE;
		scan_part(&s, body, 0);
	}
	DkBounce *b = NULL;
	g_autofree char *dsn_id = NULL;
	gboolean delivered = FALSE;
	if (!s.feedback) {
		if (s.status->len > 0)
			b = bounce_from_dsn(s.status->str, &dsn_id, &delivered);
		if (b == NULL && !delivered && looks_like_bounce(m, &s))
			b = g_new0(DkBounce, 1);
		if (b != NULL)
			fill_missing(b, m, &s, clean_id(dsn_id));
	}
	g_string_free(s.text, TRUE);
	g_string_free(s.status, TRUE);
	g_string_free(s.headers, TRUE);
	g_free(s.returned_id);
	return b;
}
