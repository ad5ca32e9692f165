/* Reads one raw RFC 5322 message into a DkMessage with GMime. */
#include "parsers/message.h"

#include <gmime/gmime.h>
#include <string.h>

G_DEFINE_QUARK(dk-parse-error-quark, dk_parse_error)

#define DK_DEFAULT_MAX_HEADER_BYTES (1024 * 1024)

/* Header fields added in transit: two copies of one message that reached
 * docket by different routes differ only in these, so the fingerprint
 * leaves them out. */
static const char *const trace_headers[] = {
	"received", "return-path", "delivered-to", "x-original-to", "x-envelope-from",
	"x-envelope-to", "x-delivered-to", "x-rcpt-to", "authentication-results",
	"arc-authentication-results", "received-spf", "x-spam-status", "x-spam-score",
	"x-spam-flag", "x-spam-level", "x-spam-checker-version", "x-virus-scanned", NULL,
};

static void ensure_gmime(void)
{
	static gsize done = 0;
	if (g_once_init_enter(&done)) {
		g_mime_init();
		g_once_init_leave(&done, 1);
	}
}

static gsize line_end(const guint8 *p, gsize n, gsize i, gsize *next_out)
{
	const guint8 *nl = memchr(p + i, '\n', n - i);
	gsize end = nl ? (gsize)(nl - p) : n;
	*next_out = nl ? end + 1 : n;
	if (end > i && p[end - 1] == '\r')
		end--;
	return end;
}

static gboolean is_field_line(const guint8 *p, gsize len)
{
	gsize i = 0;
	while (i < len && p[i] > 32 && p[i] < 127 && p[i] != ':')
		i++;
	if (i == 0)
		return FALSE;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < len && p[i] == ':';
}

static gboolean is_trace_field(const guint8 *p, gsize len)
{
	for (guint k = 0; trace_headers[k] != NULL; k++) {
		gsize kl = strlen(trace_headers[k]);
		if (len > kl && g_ascii_strncasecmp((const char *)p, trace_headers[k], kl) == 0 &&
		    (p[kl] == ':' || p[kl] == ' ' || p[kl] == '\t'))
			return TRUE;
	}
	return FALSE;
}

/* Checks that the input starts with a header block (RFC 5322 section 2.2)
 * and computes the fingerprint on the way: SHA-256 of the message with
 * trace fields removed and line ends normalised to LF. */
static gboolean scan_header_block(const guint8 *p, gsize n, gsize max_header, char *fingerprint,
				  GError **error)
{
	if (n == 0) {
		g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_NOT_MAIL, "empty message");
		return FALSE;
	}
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	gsize i = 0, next, fields = 0;
	gboolean skipping = FALSE, in_body = FALSE;
	if (n > 5 && memcmp(p, "From ", 5) == 0) /* an mbox separator line */
		line_end(p, n, 0, &i);
	while (i < n) {
		gsize end = line_end(p, n, i, &next);
		gsize len = end - i;
		if (!in_body) {
			if (memchr(p + i, '\0', len) != NULL) {
				g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_NOT_MAIL,
					    "NUL byte in the header block: not a mail message");
				return FALSE;
			}
			if (len == 0) {
				in_body = TRUE;
			} else if (p[i] == ' ' || p[i] == '\t') {
				if (fields == 0)
					goto no_header;
			} else if (is_field_line(p + i, len)) {
				fields++;
				skipping = is_trace_field(p + i, len);
			} else if (fields == 0) {
				goto no_header;
			} else {
				in_body = TRUE; /* a lenient end of the header block */
				skipping = FALSE;
			}
			if (i > max_header) {
				g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_LIMIT,
					    "header block larger than %" G_GSIZE_FORMAT " bytes",
					    max_header);
				return FALSE;
			}
		}
		if (in_body || !skipping) {
			g_checksum_update(sum, p + i, len);
			g_checksum_update(sum, (const guint8 *)"\n", 1);
		}
		i = next;
	}
	if (fields == 0)
		goto no_header;
	g_strlcpy(fingerprint, g_checksum_get_string(sum), 65);
	return TRUE;
no_header:
	g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_NOT_MAIL,
		    "no header block: input does not start with a header field");
	return FALSE;
}

static char *clean_id(const char *raw)
{
	if (raw == NULL)
		return NULL;
	g_autofree char *s = g_strstrip(g_strdup(raw));
	gsize len = strlen(s);
	char *start = s;
	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		s[len - 1] = '\0';
		start = s + 1;
	}
	return *start ? g_strdup(start) : NULL;
}

static DkAddress *address_new(InternetAddressMailbox *mb)
{
	const char *addr = internet_address_mailbox_get_idn_addr(mb);
	if (addr == NULL || *addr == '\0')
		return NULL;
	DkAddress *a = g_new0(DkAddress, 1);
	const char *at = strrchr(addr, '@');
	if (at != NULL) {
		g_autofree char *domain = g_utf8_strdown(at + 1, -1);
		a->address = g_strdup_printf("%.*s@%s", (int)(at - addr), addr, domain);
	} else {
		a->address = g_strdup(addr);
	}
	const char *name = internet_address_get_name(INTERNET_ADDRESS(mb));
	a->name = (name && *name) ? g_strdup(name) : NULL;
	return a;
}

static void collect_addresses(InternetAddressList *list, GPtrArray *out)
{
	if (list == NULL)
		return;
	int n = internet_address_list_length(list);
	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			collect_addresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), out);
		} else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			DkAddress *a = address_new(INTERNET_ADDRESS_MAILBOX(ia));
			if (a != NULL)
				g_ptr_array_add(out, a);
		}
	}
}

static DkAddress *first_address(InternetAddressList *list)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func((GDestroyNotify)dk_address_free);
	collect_addresses(list, all);
	return all->len > 0 ? g_ptr_array_steal_index(all, 0) : NULL;
}

static void read_ids(DkMessage *m, GMimeMessage *gm)
{
	m->message_id = clean_id(g_mime_message_get_message_id(gm));
	const char *irt = g_mime_object_get_header(GMIME_OBJECT(gm), "In-Reply-To");
	if (irt != NULL) {
		GMimeReferences *refs = g_mime_references_parse(NULL, irt);
		if (refs != NULL && g_mime_references_length(refs) > 0)
			m->in_reply_to = g_strdup(g_mime_references_get_message_id(refs, 0));
		if (refs != NULL)
			g_mime_references_free(refs);
	}
	const char *raw_refs = g_mime_object_get_header(GMIME_OBJECT(gm), "References");
	if (raw_refs != NULL) {
		GMimeReferences *refs = g_mime_references_parse(NULL, raw_refs);
		for (int i = 0; refs != NULL && i < g_mime_references_length(refs); i++) {
			const char *id = g_mime_references_get_message_id(refs, i);
			if (id != NULL && *id)
				g_ptr_array_add(m->references, g_strdup(id));
		}
		if (refs != NULL)
			g_mime_references_free(refs);
	}
}

static void read_headers(DkMessage *m, GMimeMessage *gm)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(gm));
	int n = g_mime_header_list_get_count(headers);
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		g_autofree char *name = g_ascii_strdown(g_mime_header_get_name(h), -1);
		const char *value = g_mime_header_get_value(h);
		GPtrArray *values = g_hash_table_lookup(m->headers, name);
		if (values == NULL) {
			values = g_ptr_array_new_with_free_func(g_free);
			g_hash_table_insert(m->headers, g_strdup(name), values);
		}
		g_ptr_array_add(values, g_mime_utils_header_decode_text(NULL, value ? value : ""));
	}
}

static void read_date(DkMessage *m, GMimeMessage *gm, gint64 arrival)
{
	GDateTime *dt = g_mime_message_get_date(gm);
	gint64 t = dt ? g_date_time_to_unix(dt) : 0;
	/* Before 1980 or more than a day ahead of arrival: the sender's clock
	 * is wrong, and the arrival time is the better guess. */
	if (dt == NULL || t < 315532800 || t > arrival + 86400) {
		m->date = arrival;
		m->date_offset = 0;
		m->date_missing = TRUE;
		return;
	}
	m->date = t;
	m->date_offset = (int)(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE);
}

static char *part_text(GMimeObject *part)
{
	if (!GMIME_IS_TEXT_PART(part))
		return NULL;
	char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
	if (text != NULL && !g_utf8_validate(text, -1, NULL)) {
		char *valid = g_utf8_make_valid(text, -1);
		g_free(text);
		text = valid;
	}
	return text;
}

static void find_text(GMimeObject *part, GMimeObject **plain, GMimeObject **html, guint depth)
{
	if (depth > 64)
		return;
	if (GMIME_IS_MULTIPART(part)) {
		GMimeMultipart *mp = GMIME_MULTIPART(part);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			find_text(g_mime_multipart_get_part(mp, i), plain, html, depth + 1);
		return;
	}
	if (!GMIME_IS_TEXT_PART(part))
		return;
	GMimeContentDisposition *disp = g_mime_object_get_content_disposition(part);
	if (disp != NULL && g_mime_content_disposition_is_attachment(disp))
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	if (*plain == NULL && g_mime_content_type_is_type(ct, "text", "plain"))
		*plain = part;
	else if (*html == NULL && g_mime_content_type_is_type(ct, "text", "html"))
		*html = part;
}

static void read_body(DkMessage *m, GMimeMessage *gm)
{
	GMimeObject *plain = NULL, *html = NULL;
	GMimeObject *body = g_mime_message_get_mime_part(gm);
	if (body != NULL)
		find_text(body, &plain, &html, 0);
	if (plain != NULL) {
		m->text = part_text(plain);
	} else if (html != NULL) {
		m->text = part_text(html);
		m->html = TRUE;
	}
	if (m->text == NULL)
		m->text = g_strdup("");
	m->new_text = g_strdup(m->text);
	m->quoted_text = g_strdup("");
}

static DkMessage *message_new(void)
{
	DkMessage *m = g_new0(DkMessage, 1);
	m->references = g_ptr_array_new_with_free_func(g_free);
	m->to = g_ptr_array_new_with_free_func((GDestroyNotify)dk_address_free);
	m->cc = g_ptr_array_new_with_free_func((GDestroyNotify)dk_address_free);
	m->attachments = g_ptr_array_new_with_free_func((GDestroyNotify)dk_attachment_free);
	m->errors = g_ptr_array_new_with_free_func(g_free);
	m->headers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   (GDestroyNotify)g_ptr_array_unref);
	return m;
}

DkMessage *dk_message_parse(GBytes *raw, const DkParseOptions *options, GError **error)
{
	g_return_val_if_fail(raw != NULL, NULL);
	DkParseOptions defaults = {0};
	const DkParseOptions *o = options ? options : &defaults;
	gsize n = 0;
	const guint8 *p = g_bytes_get_data(raw, &n);
	g_autoptr(DkMessage) m = message_new();
	gsize max_header = o->max_header_bytes ? o->max_header_bytes : DK_DEFAULT_MAX_HEADER_BYTES;
	if (!scan_header_block(p, n, max_header, m->fingerprint, error))
		return NULL;

	ensure_gmime();
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *)p, n);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	g_autoptr(GObject) owner = G_OBJECT(g_mime_parser_construct_message(parser, NULL));
	GMimeMessage *gm = owner ? GMIME_MESSAGE(owner) : NULL;
	g_object_unref(parser);
	g_object_unref(stream);
	if (gm == NULL) {
		g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_INVALID, "GMime could not read the message");
		return NULL;
	}
	gint64 arrival = o->arrival_time ? o->arrival_time : g_get_real_time() / G_USEC_PER_SEC;
	read_headers(m, gm);
	read_ids(m, gm);
	if (m->message_id == NULL) {
		m->message_id = g_strdup_printf("%.32s@synthetic.docket.invalid", m->fingerprint);
		m->message_id_synthetic = TRUE;
	}
	m->from = first_address(g_mime_message_get_from(gm));
	m->reply_to = first_address(g_mime_message_get_reply_to(gm));
	collect_addresses(g_mime_message_get_to(gm), m->to);
	collect_addresses(g_mime_message_get_cc(gm), m->cc);
	const char *subject = g_mime_message_get_subject(gm);
	m->subject = g_strdup(subject ? subject : "");
	read_date(m, gm, arrival);
	read_body(m, gm);
	return g_steal_pointer(&m);
}

const GPtrArray *dk_message_header_all(const DkMessage *message, const char *name)
{
	g_autofree char *key = g_ascii_strdown(name, -1);
	return g_hash_table_lookup(message->headers, key);
}

const char *dk_message_header(const DkMessage *message, const char *name)
{
	const GPtrArray *all = dk_message_header_all(message, name);
	return (all && all->len > 0) ? g_ptr_array_index(all, 0) : NULL;
}

void dk_address_free(DkAddress *address)
{
	if (address == NULL)
		return;
	g_free(address->name);
	g_free(address->address);
	g_free(address);
}

void dk_attachment_free(DkAttachment *attachment)
{
	if (attachment == NULL)
		return;
	g_free(attachment->filename);
	g_free(attachment->content_type);
	g_free(attachment->content_id);
	g_free(attachment->disposition);
	g_clear_pointer(&attachment->data, g_bytes_unref);
	g_free(attachment);
}

static void bounce_free(DkBounce *b)
{
	if (b == NULL)
		return;
	g_free(b->recipient);
	g_free(b->status);
	g_free(b->original_message_id);
	g_free(b);
}

void dk_message_free(DkMessage *m)
{
	if (m == NULL)
		return;
	g_free(m->message_id);
	g_free(m->in_reply_to);
	g_ptr_array_unref(m->references);
	dk_address_free(m->from);
	dk_address_free(m->reply_to);
	g_ptr_array_unref(m->to);
	g_ptr_array_unref(m->cc);
	g_free(m->subject);
	g_free(m->text);
	g_free(m->new_text);
	g_free(m->quoted_text);
	g_ptr_array_unref(m->attachments);
	bounce_free(m->classification.bounce);
	g_ptr_array_unref(m->errors);
	g_hash_table_unref(m->headers);
	g_free(m);
}
