/* Reads one raw RFC 5322 message into a DkMessage with GMime. */
#include "parsers/message.h"
#include "parsers/digest.h"

#include "parsers/classify.h"

#include "parsers/attachment.h"
#include "parsers/charset.h"
#include "parsers/message-private.h"

#include <gmime/gmime.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(dk - parse - error - quark, dk_parse_error)

/* Header fields added in transit: two copies of one message that reached
 * docket by different routes differ only in these, so the fingerprint
 * leaves them out. */
static const char *const trace_headers[] = {
    "received",
    "return-path",
    "delivered-to",
    "x-original-to",
    "x-envelope-from",
    "x-envelope-to",
    "x-delivered-to",
    "x-rcpt-to",
    "authentication-results",
    "arc-authentication-results",
    "received-spf",
    "x-spam-status",
    "x-spam-score",
    "x-spam-flag",
    "x-spam-level",
    "x-spam-checker-version",
    "x-virus-scanned",
    NULL,
};

/* GMime 3 registers most of its types when first asked for them, in
 * functions that are not thread-safe ("static GType type; if (!type)
 * type = g_type_register_static (...)"): two threads meeting a stream or
 * filter type for the first time both register it, and one of them goes
 * on with no type. All are registered here, before any thread uses them. */
static GType (*const gmime_types[])(void) = {
    g_mime_application_pkcs7_mime_get_type,
    g_mime_autocrypt_header_get_type,
    g_mime_autocrypt_header_list_get_type,
    g_mime_certificate_get_type,
    g_mime_certificate_list_get_type,
    g_mime_content_disposition_get_type,
    g_mime_content_type_get_type,
    g_mime_crypto_context_get_type,
    g_mime_data_wrapper_get_type,
    g_mime_decrypt_result_get_type,
    g_mime_filter_basic_get_type,
    g_mime_filter_best_get_type,
    g_mime_filter_charset_get_type,
    g_mime_filter_checksum_get_type,
    g_mime_filter_dos2unix_get_type,
    g_mime_filter_enriched_get_type,
    g_mime_filter_from_get_type,
    g_mime_filter_get_type,
    g_mime_filter_gzip_get_type,
    g_mime_filter_html_get_type,
    g_mime_filter_openpgp_get_type,
    g_mime_filter_smtp_data_get_type,
    g_mime_filter_strip_get_type,
    g_mime_filter_unix2dos_get_type,
    g_mime_filter_windows_get_type,
    g_mime_filter_yenc_get_type,
    g_mime_format_options_get_type,
    g_mime_header_get_type,
    g_mime_header_list_get_type,
    g_mime_message_get_type,
    g_mime_message_part_get_type,
    g_mime_message_partial_get_type,
    g_mime_multipart_encrypted_get_type,
    g_mime_multipart_get_type,
    g_mime_multipart_signed_get_type,
    g_mime_object_get_type,
    g_mime_param_get_type,
    g_mime_param_list_get_type,
    g_mime_parser_get_type,
    g_mime_parser_options_get_type,
    g_mime_part_get_type,
    g_mime_part_iter_get_type,
    g_mime_references_get_type,
    g_mime_signature_get_type,
    g_mime_signature_list_get_type,
    g_mime_stream_buffer_get_type,
    g_mime_stream_cat_get_type,
    g_mime_stream_file_get_type,
    g_mime_stream_filter_get_type,
    g_mime_stream_fs_get_type,
    g_mime_stream_get_type,
    g_mime_stream_gio_get_type,
    g_mime_stream_mem_get_type,
    g_mime_stream_mmap_get_type,
    g_mime_stream_null_get_type,
    g_mime_stream_pipe_get_type,
    g_mime_text_part_get_type,
    internet_address_get_type,
    internet_address_group_get_type,
    internet_address_list_get_type,
    internet_address_mailbox_get_type,
};

void dk_gmime_init(void)
{
	static gsize done = 0;
	if (g_once_init_enter(&done)) {
		g_mime_init();
		for (gsize i = 0; i < G_N_ELEMENTS(gmime_types); i++)
			g_type_ensure(gmime_types[i]());
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
	char first = g_ascii_tolower((char)p[0]); /* most fields: no trace name starts so */
	for (guint k = 0; trace_headers[k] != NULL; k++) {
		if (trace_headers[k][0] != first)
			continue;
		gsize kl = strlen(trace_headers[k]);
		if (len > kl && g_ascii_strncasecmp((const char *)p, trace_headers[k], kl) == 0 &&
		    (p[kl] == ':' || p[kl] == ' ' || p[kl] == '\t'))
			return TRUE;
	}
	return FALSE;
}

/* Adds body bytes with CRLF read as LF, in as few chunks as the CRs
 * allow (the fingerprint's cost is one pass over the bytes). A chunk that
 * is not the last must not end in CR; the last gets a final LF when it
 * lacks one. */
void dk_message_checksum_body(DkSha256 *sum, const guint8 *p, gsize n, gboolean last)
{
	const guint8 *end = p + n;
	while (p < end) {
		const guint8 *cr = memchr(p, '\r', (gsize)(end - p));
		if (cr == NULL)
			break;
		if (cr + 1 < end && cr[1] != '\n') {
			dk_sha256_update(sum, p, cr + 1 - p); /* a lone CR is data */
		} else {
			dk_sha256_update(sum, p, cr - p);
		}
		p = cr + 1;
	}
	dk_sha256_update(sum, p, end - p);
	if (last && n > 0 && (end[-1] != '\n'))
		dk_sha256_update(sum, (const guint8 *)"\n", 1);
}

/* Whether the field line at p starts a message's header block: a field
 * every message or its transport writes. */
static gboolean is_message_field(const guint8 *p, gsize len)
{
	static const char *const names[] = {
	    "from",          "to",          "cc",           "subject",      "date",     "received",
	    "return-path",   "message-id",  "mime-version", "delivered-to", "reply-to", "sender",
	    "x-original-to", "envelope-to", NULL,
	};
	gsize name = 0;
	while (name < len && p[name] != ':' && p[name] != ' ' && p[name] != '\t')
		name++;
	for (guint i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == name &&
		    g_ascii_strncasecmp((const char *)p, names[i], name) == 0)
			return TRUE;
	return FALSE;
}

/* Whether the lines from i on start a header block: a run of field lines
 * (folded or not) of which one, among the first ten, is a field every
 * message or its transport writes, and that has at least two lines. */
static gboolean header_block_at(const guint8 *p, gsize n, gsize i)
{
	gboolean known = FALSE;
	guint lines = 0;
	for (gsize next; i < n && lines < 10; lines++, i = next) {
		gsize end = line_end(p, n, i, &next);
		if (end == i)
			break;
		gboolean folded = lines > 0 && (p[i] == ' ' || p[i] == '\t');
		if (!folded && !is_field_line(p + i, end - i))
			break;
		known |= !folded && is_message_field(p + i, end - i);
	}
	return known && lines >= 2;
}

gsize dk_message_junk_prefix(const guint8 *p, gsize n)
{
	gsize i = (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0, next;
	for (guint lines = 0; i < n && lines <= 5 && i <= 2048; lines++, i = next) {
		gsize end = line_end(p, n, i, &next);
		if (lines == 0 && end > i && is_field_line(p + i, end - i))
			return i; /* the header block starts here (after a BOM, if any) */
		if (end > i && is_field_line(p + i, end - i) && header_block_at(p, n, i))
			return i;
	}
	return 0;
}

gboolean dk_message_scan_head(const guint8 *p, gsize n, gsize max_header, DkSha256 *sum,
                              gsize *body_out, GError **error)
{
	if (n == 0) {
		g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_NOT_MAIL, "empty message");
		return FALSE;
	}
	gsize i = 0, next, fields = 0;
	gboolean skipping = FALSE, in_body = FALSE;
	if (n > 5 && memcmp(p, "From ", 5) == 0) /* an mbox separator line (GMime skips it too) */
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
			dk_sha256_update(sum, p + i, len);
			dk_sha256_update(sum, (const guint8 *)"\n", 1);
		}
		i = next;
		if (in_body)
			break;
	}
	if (fields == 0)
		goto no_header;
	*body_out = i;
	return TRUE;
no_header:
	g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_NOT_MAIL,
	            "no header block: input does not start with a header field");
	return FALSE;
}

/* Checks that the input starts with a header block (RFC 5322 section 2.2)
 * and computes the fingerprint on the way: SHA-256 of the message with
 * trace fields removed and line ends normalised to LF. */
static gboolean scan_header_block(const guint8 *p, gsize n, gsize max_header, char *fingerprint,
                                  GError **error)
{
	g_autoptr(DkSha256) sum = dk_sha256_new();
	gsize body = 0;
	if (!dk_message_scan_head(p, n, max_header, sum, &body, error))
		return FALSE;
	dk_message_checksum_body(sum, p + body, n - body, TRUE);
	dk_sha256_finish(sum, fingerprint);
	return TRUE;
}

void dk_parse_context_error(DkParseContext *c, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	for (guint i = 0; i < c->m->errors->len; i++) {
		if (strcmp(g_ptr_array_index(c->m->errors, i), msg) == 0) {
			g_free(msg);
			return;
		}
	}
	g_ptr_array_add(c->m->errors, msg);
}

/* Options for GMime's header decoding: raw 8-bit text read as UTF-8 when
 * valid, else in fallback; broken encodings read leniently. */
static GMimeParserOptions *header_options(const char *fallback)
{
	const char *charsets[] = {"UTF-8", fallback, NULL};
	GMimeParserOptions *o = g_mime_parser_options_new();
	g_mime_parser_options_set_fallback_charsets(o, charsets);
	g_mime_parser_options_set_rfc2047_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(o, TRUE);
	return o;
}

/* A Message-ID without brackets, comments or whitespace (RFC 5322
 * section 3.6.4), or NULL when nothing id-like is left. */
static char *clean_id(const char *raw)
{
	if (raw == NULL)
		return NULL;
	GString *s = g_string_new(NULL);
	for (const char *p = raw; *p; p++)
		if ((guchar)*p > 32 && *p != 0x7F && *p != '<' && *p != '>')
			g_string_append_c(s, *p);
	if (s->len == 0 || s->len > 250 || !g_utf8_validate(s->str, -1, NULL)) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

/* The raw (undecoded, folded) value of the first header called name:
 * g_mime_object_get_header() would give it decoded already. */
const char *dk_message_raw_header(GMimeObject *obj, const char *name)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(obj);
	GMimeHeader *h = list ? g_mime_header_list_get_header(list, name) : NULL;
	return h ? g_mime_header_get_raw_value(h) : NULL;
}

/* The ids of a References or In-Reply-To field, cleaned, without
 * duplicates (RFC 5322 section 3.6.4). */
static void parse_ids(DkParseContext *c, const char *raw, GPtrArray *out, GHashTable *seen)
{
	if (raw == NULL)
		return;
	GMimeReferences *refs = g_mime_references_parse(c->gmime_options, raw);
	for (int i = 0; refs != NULL && i < g_mime_references_length(refs); i++) {
		char *id = clean_id(g_mime_references_get_message_id(refs, i));
		if (id == NULL || !g_hash_table_add(seen, id))
			continue;
		g_ptr_array_add(out, g_strdup(id));
	}
	if (refs != NULL)
		g_mime_references_free(refs);
}

static void read_ids(DkParseContext *c, GMimeMessage *gm)
{
	DkMessage *m = c->m;
	GMimeObject *obj = GMIME_OBJECT(gm);
	const char *raw_id = dk_message_raw_header(obj, "Message-ID");
	g_autofree char *decoded = raw_id ? g_mime_utils_decode_message_id(raw_id) : NULL;
	m->message_id = clean_id(decoded);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) parents = g_ptr_array_new_with_free_func(g_free);
	parse_ids(c, dk_message_raw_header(obj, "In-Reply-To"), parents, seen);
	if (parents->len > 0)
		m->in_reply_to = g_strdup(g_ptr_array_index(parents, 0));
	g_hash_table_remove_all(seen);
	if (m->message_id != NULL) /* a message does not refer to itself */
		g_hash_table_add(seen, g_strdup(m->message_id));
	parse_ids(c, dk_message_raw_header(obj, "References"), m->references, seen);
}

/* One header's values: raw as the mail has them until first read, then
 * decoded in place (dk_message_header_all). */
typedef struct {
	GPtrArray *values;
	gboolean decoded;
} HeaderValues;

static void header_values_free(HeaderValues *hv)
{
	g_ptr_array_unref(hv->values);
	g_free(hv);
}

/* The n bytes of s, ASCII letters lower-cased, and a NUL, into out. */
static void lower_into(char *out, const char *s, gsize n)
{
	for (gsize k = 0; k < n; k++)
		out[k] = (s[k] >= 'A' && s[k] <= 'Z') ? (char)(s[k] + ('a' - 'A')) : s[k];
	out[n] = '\0';
}

static void read_header_list(DkParseContext *c, GMimeObject *obj)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(obj);
	int n = g_mime_header_list_get_count(headers);
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *field = g_mime_header_get_name(h);
		char stack[64];
		gsize len = strlen(field);
		char *name = len < sizeof stack ? stack : g_malloc(len + 1);
		lower_into(name, field, len);
		HeaderValues *hv = g_hash_table_lookup(c->m->headers, name);
		if (hv == NULL) {
			hv = g_new0(HeaderValues, 1);
			hv->values = g_ptr_array_new_with_free_func(g_free);
			g_hash_table_insert(c->m->headers, g_strdup(name), hv);
		}
		if (name != stack)
			g_free(name);
		const char *raw = g_mime_header_get_raw_value(h);
		g_ptr_array_add(hv->values, g_strdup(raw ? raw : "")); /* decoded when read */
	}
}

/* Every header field of the message as the mail has it. GMime keeps the
 * Content-* fields on the top MIME part rather than on the message, so
 * they are read from there (a Sieve `header "content-type"` needs them). */
static void read_headers(DkParseContext *c, GMimeMessage *gm)
{
	read_header_list(c, GMIME_OBJECT(gm));
	GMimeObject *body = g_mime_message_get_mime_part(gm);
	if (body != NULL)
		read_header_list(c, body);
}

static void read_date(DkMessage *m, GMimeMessage *gm, gint64 arrival)
{
	const char *raw = dk_message_raw_header(GMIME_OBJECT(gm), "Date");
	g_autoptr(GDateTime) dt = raw ? g_mime_utils_header_decode_date(raw) : NULL;
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

static DkMessage *message_new(void)
{
	DkMessage *m = g_new0(DkMessage, 1);
	m->references = g_ptr_array_new_with_free_func(g_free);
	m->to = g_ptr_array_new_with_free_func((GDestroyNotify)dk_address_free);
	m->cc = g_ptr_array_new_with_free_func((GDestroyNotify)dk_address_free);
	m->attachments = g_ptr_array_new_with_free_func((GDestroyNotify)dk_attachment_free);
	m->spill_fd = -1;
	m->errors = g_ptr_array_new_with_free_func(g_free);
	m->repairs = g_ptr_array_new_with_free_func(g_free);
	m->headers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                   (GDestroyNotify)header_values_free);
	return m;
}

static void context_init(DkParseContext *c, DkMessage *m, const DkParseOptions *o)
{
	c->m = m;
	c->fallback_charset =
	    o->fallback_charset ? o->fallback_charset : DK_CHARSET_DEFAULT_FALLBACK;
	c->max_depth = o->max_depth ? o->max_depth : DK_PARSE_DEFAULT_MAX_DEPTH;
	c->max_parts = o->max_parts ? o->max_parts : DK_PARSE_DEFAULT_MAX_PARTS;
	c->max_decoded =
	    o->max_decoded_bytes ? o->max_decoded_bytes : DK_PARSE_DEFAULT_MAX_DECODED_BYTES;
	c->max_millis = o->max_millis ? o->max_millis : DK_PARSE_DEFAULT_MAX_MILLIS;
	c->max_text = o->max_text_bytes ? o->max_text_bytes : DK_PARSE_DEFAULT_MAX_TEXT_BYTES;
	c->spill = o->spill;
	c->spill_data = o->spill_data;
	c->spill_min = o->spill_min ? o->spill_min : DK_PARSE_SPILL_MIN;
	c->deadline = g_get_monotonic_time() + (gint64)c->max_millis * 1000;
	/* Raw 8-bit header text: UTF-8 when it is valid, else the fallback. */
	c->gmime_options = header_options(c->fallback_charset);
	c->text = g_string_new(NULL);
	c->new_text = g_string_new(NULL);
	c->quoted_text = g_string_new(NULL);
}

static void context_clear(DkParseContext *c)
{
	g_mime_parser_options_free(c->gmime_options);
	if (c->text != NULL)
		g_string_free(c->text, TRUE);
	if (c->new_text != NULL)
		g_string_free(c->new_text, TRUE);
	if (c->quoted_text != NULL)
		g_string_free(c->quoted_text, TRUE);
	g_free(c->tnef_body);
}

/* GMime reads the caller's bytes in place: a memory stream over a byte
 * array it does not own (set_owner FALSE), whose data is the GBytes'
 * buffer. GMime only reads ->data and ->len of it, and its parts refer to
 * substreams of it, so a large message is held once, not twice. The array
 * must outlive every GMime object of the parse. */
static GMimeStream *borrowing_stream(const guint8 *p, gsize n, GByteArray *borrowed)
{
	borrowed->data = (guint8 *)p;
	borrowed->len = (guint)n;
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(borrowed);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	return stream;
}

/* The charsets the text parts declare, each once, in order: the best
 * guesses for raw 8-bit header text of the same message. */
static void body_charsets(GMimeObject *obj, guint depth, GPtrArray *out)
{
	if (obj == NULL || depth > 8 || out->len >= 4)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		for (int i = 0; i < g_mime_multipart_get_count(mp) && i < 8; i++)
			body_charsets(g_mime_multipart_get_part(mp, i), depth + 1, out);
		return;
	}
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	if (!g_mime_content_type_is_type(ct, "text", "*"))
		return;
	const char *cs = g_mime_content_type_get_parameter(ct, "charset");
	for (guint i = 0; cs != NULL && i < out->len; i++)
		if (g_ascii_strcasecmp(g_ptr_array_index(out, i), cs) == 0)
			return;
	if (cs != NULL)
		g_ptr_array_add(out, g_strdup(cs));
}

static void read_message(DkParseContext *c, GMimeMessage *gm, const DkParseOptions *o)
{
	DkMessage *m = c->m;
	gint64 arrival = o->arrival_time ? o->arrival_time : g_get_real_time() / G_USEC_PER_SEC;
	GPtrArray *charsets = g_ptr_array_new();
	body_charsets(g_mime_message_get_mime_part(gm), 0, charsets);
	g_ptr_array_add(charsets, NULL);
	m->header_charsets = (char **)g_ptr_array_free(charsets, FALSE);
	m->fallback_charset = g_strdup(c->fallback_charset);
	read_headers(c, gm);
	read_ids(c, gm);
	if (m->message_id == NULL) {
		m->message_id = g_strdup_printf("%.32s@synthetic.docket.invalid", m->fingerprint);
		m->message_id_synthetic = TRUE;
	}
	dk_message_read_addresses(c, gm);
	const char *subject = dk_message_raw_header(GMIME_OBJECT(gm), "Subject");
	m->subject = subject ? dk_message_decode_header(c, subject) : g_strdup("");
	read_date(m, gm, arrival);
	dk_message_body_read(c, g_mime_message_get_mime_part(gm));
	dk_message_crypto_read(c, g_mime_message_get_mime_part(gm));
	dk_classify(gm, m, o->own_domains);
}

/* GMime builds an object for every part before docket's walk can count
 * them, and checks each line against every open boundary: a message of
 * 100,000 tiny parts costs seconds and hundreds of megabytes. Lines that
 * start with "--" bound the number of parts (RFC 2046 section 5.1.1), so
 * GMime is given only the bytes before the one past four per allowed
 * part; the walk's part limit would skip what follows anyway. Returns
 * the length to parse. */
static gsize boundary_cut(const guint8 *p, gsize n, guint max_parts)
{
	gsize allowed = dk_message_boundary_allowance(max_parts), seen = 0;
	if (n / 3 <= allowed)
		return n; /* too short to hold that many "\n--" */
	const guint8 *at = p, *end = p + n;
	while ((at = memchr(at, '\n', (gsize)(end - at))) != NULL) {
		if (end - at >= 3 && at[1] == '-' && at[2] == '-' && ++seen > allowed)
			return (gsize)(at - p) + 1;
		at++;
	}
	return n;
}

gsize dk_message_boundary_allowance(guint max_parts)
{
	return (gsize)max_parts * 4 + 64;
}

/* Old Mac OS mail ends lines with a bare CR. When the first line ends so,
 * every bare CR becomes LF (a copy: the rare case pays for itself). */
gboolean dk_message_bare_cr(const guint8 *p, gsize n)
{
	const guint8 *first = NULL;
	for (gsize i = 0; i < n && i < 8192 && first == NULL; i++)
		if (p[i] == '\r' || p[i] == '\n')
			first = p + i;
	return first != NULL && *first == '\r' && !(first + 1 < p + n && first[1] == '\n');
}

static GBytes *bare_cr_to_lf(const guint8 *p, gsize n)
{
	if (!dk_message_bare_cr(p, n))
		return NULL;
	guint8 *copy = g_memdup2(p, n);
	for (gsize i = 0; i < n; i++)
		if (copy[i] == '\r' && (i + 1 == n || copy[i + 1] != '\n'))
			copy[i] = '\n';
	return g_bytes_new_take(copy, n);
}

DkMessage *dk_message_parse_stream(DkMessage *fresh, GMimeStream *stream, GBytes *raw,
                                   gsize parse_len, gsize n, const DkParseOptions *o,
                                   GError **error)
{
	g_autoptr(DkMessage) m = fresh;
	dk_gmime_init();
	DkParseContext c = {0};
	context_init(&c, m, o);
	c.raw = raw;
	c.source = raw == NULL ? stream : NULL;
	c.source_len = parse_len;
	if (parse_len < n)
		dk_parse_context_error(
		    &c,
		    "part limit of %u: the message was read only up to byte %" G_GSIZE_FORMAT
		    " of %" G_GSIZE_FORMAT,
		    c.max_parts, parse_len, n);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	GMimeMessage *gm = g_mime_parser_construct_message(parser, c.gmime_options);
	g_object_unref(parser);
	if (gm == NULL) {
		context_clear(&c);
		g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_INVALID,
		            "GMime could not read the message");
		return NULL;
	}
	read_message(&c, gm, o);
	g_object_unref(gm);
	context_clear(&c);
	return g_steal_pointer(&m);
}

DkMessage *dk_message_new_empty(void)
{
	return message_new();
}

void dk_message_note_junk(DkMessage *m, const guint8 *p, gsize len)
{
	gsize first = 0, next;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		first = 3;
	gsize end = line_end(p, len, first, &next);
	while (end == first && next < len) { /* show the first line with text */
		first = next;
		end = line_end(p, len, first, &next);
	}
	end = MIN(end, first + 80);
	g_autofree char *shown = g_utf8_make_valid((const char *)p + first, (gssize)(end - first));
	for (char *c = shown; *c; c++)
		if ((guchar)*c < 0x20)
			*c = ' ';
	if (len == 3 && first == 3)
		g_ptr_array_add(m->repairs,
		                g_strdup("a byte order mark before the header block was skipped"));
	else
		g_ptr_array_add(m->repairs, g_strdup_printf("%" G_GSIZE_FORMAT
		                                            " bytes before the header block were "
		                                            "skipped, starting \"%s\"",
		                                            len, shown));
}

DkMessage *dk_message_parse(GBytes *raw, const DkParseOptions *options, GError **error)
{
	g_return_val_if_fail(raw != NULL, NULL);
	dk_gmime_init(); /* before the first GMime stream below */
	DkParseOptions defaults = {0};
	const DkParseOptions *o = options ? options : &defaults;
	gsize n = 0;
	const guint8 *p = g_bytes_get_data(raw, &n);
	g_autoptr(GBytes) converted = bare_cr_to_lf(p, n);
	if (converted != NULL)
		p = g_bytes_get_data(converted, &n);
	g_autoptr(DkMessage) m = message_new();
	gsize junk = dk_message_junk_prefix(p, n);
	if (junk > 0) {
		dk_message_note_junk(m, p, junk);
		GBytes *rest = g_bytes_new_from_bytes(converted ? converted : raw, junk, n - junk);
		g_clear_pointer(&converted, g_bytes_unref);
		converted = rest; /* raw as GMime reads it, for slicing attached mail */
		p = g_bytes_get_data(converted, &n);
	}
	gsize max_header =
	    o->max_header_bytes ? o->max_header_bytes : DK_PARSE_DEFAULT_MAX_HEADER_BYTES;
	if (!scan_header_block(p, n, max_header, m->fingerprint, error))
		return NULL;
	if (n > G_MAXUINT) {
		g_set_error(error, DK_PARSE_ERROR, DK_PARSE_ERROR_LIMIT,
		            "message larger than 4 GiB");
		return NULL;
	}
	gsize parse_len =
	    boundary_cut(p, n, o->max_parts ? o->max_parts : DK_PARSE_DEFAULT_MAX_PARTS);
	GByteArray borrowed = {0};
	GMimeStream *stream = borrowing_stream(p, parse_len, &borrowed);
	DkMessage *out = dk_message_parse_stream(
	    g_steal_pointer(&m), stream, converted ? converted : raw, parse_len, n, o, error);
	g_object_unref(stream);
	return out;
}

const GPtrArray *dk_message_header_all(const DkMessage *message, const char *name)
{
	char stack[64];
	gsize len = strlen(name);
	char *key = len < sizeof stack ? stack : g_malloc(len + 1);
	lower_into(key, name, len);
	HeaderValues *hv = g_hash_table_lookup(message->headers, key);
	if (key != stack)
		g_free(key);
	if (hv == NULL)
		return NULL;
	if (!hv->decoded) {
		for (guint i = 0; i < hv->values->len; i++) {
			char *raw = g_ptr_array_index(hv->values, i);
			hv->values->pdata[i] =
			    dk_header_decode(raw, (const char *const *)message->header_charsets,
			                     message->fallback_charset);
			g_free(raw);
		}
		hv->decoded = TRUE;
	}
	return hv->values;
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
	if (m->spill_fd >= 0)
		close(m->spill_fd);
	dk_bounce_free(m->classification.bounce);
	g_ptr_array_unref(m->errors);
	g_ptr_array_unref(m->repairs);
	dk_message_crypto_clear(&m->crypto);
	g_hash_table_unref(m->headers);
	g_strfreev(m->header_charsets);
	g_free(m->fallback_charset);
	g_free(m);
}
