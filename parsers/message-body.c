/* Walks a message's MIME tree: picks the text a reader sees, collects the
 * attachments, and stops at the configured limits (RFC 2045, 2046, 2387). */
#include "parsers/message-private.h"
#include "parsers/reply.h"

#include "parsers/attachment.h"
#include "parsers/charset.h"
#include "parsers/html.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Which text parts below a node are the body (WANT_TEXT), and which are
 * unused alternatives of it that are neither body nor attachment. */
typedef enum { WANT_TEXT, SKIP_TEXT } Mode;

static void walk(DkParseContext *c, GMimeObject *obj, guint depth, Mode mode);

/* Plain text is split into new text and quoted history by reply.c; HTML
 * quote containers are recognised before conversion, in html.c. */
static void split_plain(const char *text, char **new_out, char **quoted_out)
{
	dk_reply_split(text, new_out, quoted_out);
}

static void join(GString *s, const char *piece)
{
	if (piece == NULL || *piece == '\0')
		return;
	if (s->len > 0)
		g_string_append(s, "\n\n");
	g_string_append(s, piece);
}

/* Counts one more part against the limits; FALSE when the walk must stop. */
static gboolean within_limits(DkParseContext *c, guint depth)
{
	if (c->stopped)
		return FALSE;
	if (g_get_monotonic_time() > c->deadline) {
		dk_parse_context_error(c, "time limit of %u ms reached: later parts skipped",
		                       c->max_millis);
		c->stopped = TRUE;
		return FALSE;
	}
	if (++c->parts > c->max_parts) {
		dk_parse_context_error(c, "part limit of %u reached: later parts skipped",
		                       c->max_parts);
		c->stopped = TRUE;
		return FALSE;
	}
	if (depth > c->max_depth) {
		dk_parse_context_error(c, "MIME depth limit of %u reached: deeper parts skipped",
		                       c->max_depth);
		return FALSE;
	}
	return TRUE;
}

static void note_over_budget(DkParseContext *c)
{
	dk_parse_context_error(
	    c, "decoded-size limit of %" G_GSIZE_FORMAT " bytes reached: content left out",
	    c->max_decoded);
}

static gboolean over_budget(DkParseContext *c)
{
	return c->decoded >= c->max_decoded;
}

/* array as GBytes when it fits in what is left of the decoded-size
 * budget, else NULL (array is freed either way). */
static GBytes *take_within_budget(DkParseContext *c, GByteArray *array)
{
	if (c->decoded + array->len > c->max_decoded) {
		g_byte_array_unref(array);
		note_over_budget(c);
		return NULL;
	}
	c->decoded += array->len;
	return g_byte_array_free_to_bytes(array);
}

/* What w's content decodes to at most: decoding never grows a part, and
 * base64 shrinks it by a quarter. */
static gsize decoded_estimate(GMimeDataWrapper *w)
{
	gint64 encoded = g_mime_stream_length(g_mime_data_wrapper_get_stream(w));
	gsize estimate = encoded > 0 ? (gsize)encoded : 0;
	if (g_mime_data_wrapper_get_encoding(w) == GMIME_CONTENT_ENCODING_BASE64)
		estimate = estimate / 4 * 3;
	return estimate;
}

/* The decoded content of a part (RFC 2045 section 6), or NULL when it
 * would take the message past the decoded-size limit. */
static GBytes *decode_part(DkParseContext *c, GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	if (w == NULL)
		return g_bytes_new(NULL, 0);
	gsize estimate = decoded_estimate(w);
	if (c->decoded + estimate > c->max_decoded) {
		note_over_budget(c);
		return NULL;
	}
	GByteArray *array = g_byte_array_sized_new((guint)MIN(estimate + 16, (gsize)G_MAXUINT));
	GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_data_wrapper_write_to_stream(w, mem);
	g_object_unref(mem);
	GBytes *bytes = take_within_budget(c, array); /* the estimate may have been short */
	if (bytes != NULL)
		g_object_set_qdata_full(G_OBJECT(part), dk_message_decoded_quark(),
		                        g_bytes_ref(bytes), (GDestroyNotify)g_bytes_unref);
	return bytes;
}

GQuark dk_message_decoded_quark(void)
{
	return g_quark_from_static_string("dk-decoded");
}

static void note_text_cut(DkParseContext *c)
{
	dk_parse_context_error(
	    c, "text truncated at %" G_GSIZE_FORMAT " bytes; the raw message is kept whole",
	    c->max_text);
}

/* len cut down to at most max without splitting a UTF-8 sequence. */
static gsize utf8_cut(const char *s, gsize len, gsize max)
{
	if (len <= max)
		return len;
	gsize n = max;
	while (n > 0 && ((guchar)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* n less an incomplete UTF-8 sequence at the end of p, if there is one
 * (other charsets lose nothing: only a lead byte followed by too few
 * continuation bytes is dropped). */
static gsize drop_partial_utf8(const guint8 *p, gsize n)
{
	for (gsize back = 1; back <= 4 && back <= n; back++) {
		guint8 b = p[n - back];
		if ((b & 0xC0) == 0x80)
			continue;
		gsize need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
		return need > back ? n - back : n;
	}
	return n;
}

/* The decoded content of a text part, of which at most room bytes are
 * kept (*cut tells when more was there): a large part is read through
 * GMime's decoding stream only as far as needed, never whole. The cut
 * falls at a line end when one is near, so no character is split in an
 * ASCII-compatible charset. */
static GBytes *decode_text(DkParseContext *c, GMimePart *part, gsize room, gboolean *cut)
{
	*cut = FALSE;
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	if (w == NULL)
		return g_bytes_new(NULL, 0);
	gint64 encoded = g_mime_stream_length(g_mime_data_wrapper_get_stream(w));
	if (encoded >= 0 && (gsize)encoded <= room) /* decoding never grows a part */
		return decode_part(c, part);
	GByteArray *array = dk_message_read_decoded(w, room + 1);
	gsize got = array->len;
	if (got > room) {
		*cut = TRUE;
		got = room;
		const guint8 *nl = memrchr(array->data, '\n', got);
		if (nl != NULL && (gsize)(nl - array->data) + 4096 >= got)
			got = (gsize)(nl - array->data) + 1;
		else
			got = drop_partial_utf8(array->data, got);
	}
	g_byte_array_set_size(array, (guint)got);
	return take_within_budget(c, array);
}

/* A stream that reads w's content decoded (RFC 2045 section 6). */
static GMimeStream *decoding_stream(GMimeDataWrapper *w)
{
	GMimeStream *source = g_mime_data_wrapper_get_stream(w);
	g_mime_stream_reset(source);
	GMimeStream *decoded = g_mime_stream_filter_new(source);
	GMimeContentEncoding encoding = g_mime_data_wrapper_get_encoding(w);
	if (encoding == GMIME_CONTENT_ENCODING_BASE64 ||
	    encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    encoding == GMIME_CONTENT_ENCODING_UUENCODE) {
		GMimeFilter *filter = g_mime_filter_basic_new(encoding, FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(decoded), filter);
		g_object_unref(filter);
	}
	return decoded;
}

/* Writes the n bytes at p to fd at offset at, however few each pwrite()
 * takes. */
static gboolean pwrite_all(int fd, const char *p, gsize n, gsize at)
{
	while (n > 0) {
		ssize_t r = pwrite(fd, p, n, (off_t)at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return FALSE;
		p += r;
		n -= (gsize)r;
		at += (gsize)r;
	}
	return TRUE;
}

/* A content in the message's spill file: where, its size and SHA-256. */
typedef struct {
	int fd; /* -1: not there */
	gsize offset, size;
	char sha256[65];
} Spilled;

/* The message's spill file, asked of the options' spill at the first
 * large content (then the message's); -1 when there is none. */
static int spill_file(DkParseContext *c)
{
	if (c->m->spill_fd < 0)
		c->m->spill_fd = c->spill(c->spill_data);
	return c->m->spill_fd;
}

/* What is left of in, written a piece at a time after what the message's
 * spill file holds, hashed on the way, into *s; FALSE when there is no
 * file or a read or a write fails (what was written is then overwritten
 * by the next). */
static gboolean spill_stream(DkParseContext *c, GMimeStream *in, Spilled *s)
{
	int fd = spill_file(c);
	if (fd < 0)
		return FALSE;
	g_autoptr(DkSha256) sum = dk_sha256_new();
	g_autofree char *buf = g_malloc(65536);
	gsize size = 0;
	gssize r = 0;
	gboolean written = TRUE;
	while (written && (r = g_mime_stream_read(in, buf, 65536)) > 0) {
		written = pwrite_all(fd, buf, (gsize)r, c->spill_end + size);
		dk_sha256_update(sum, buf, (gsize)r);
		size += (gsize)r;
	}
	if (!written || (r < 0 && !g_mime_stream_eos(in)))
		return FALSE;
	dk_sha256_finish(sum, s->sha256);
	s->fd = fd;
	s->offset = c->spill_end;
	s->size = size;
	return TRUE;
}

/* Counts a spilled content against the decoded-size limit: within it, it
 * stays in the file; past it, it is left out (s->fd -1) and the next
 * takes its place. */
static void spill_count(DkParseContext *c, Spilled *s)
{
	if (c->decoded + s->size > c->max_decoded) {
		s->fd = -1;
		note_over_budget(c);
		return;
	}
	c->decoded += s->size;
	c->spill_end += s->size;
}

/* A large part's content (spill_min encoded bytes or more) decoded into
 * the message's spill file instead of memory, into *s; s->fd -1 when it
 * would take the message past the decoded-size limit (not kept, as
 * decode_part()). FALSE when it is not for the spill (small, no spill)
 * or no file could be had or written: decode_part() then decodes it into
 * memory. */
static gboolean spill_part(DkParseContext *c, GMimePart *part, Spilled *s)
{
	s->fd = -1;
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	if (c->spill == NULL || w == NULL ||
	    g_mime_stream_length(g_mime_data_wrapper_get_stream(w)) < (gint64)c->spill_min)
		return FALSE;
	if (c->decoded + decoded_estimate(w) > c->max_decoded) {
		note_over_budget(c);
		return TRUE;
	}
	GMimeStream *decoded = decoding_stream(w);
	gboolean ok = spill_stream(c, decoded, s);
	g_object_unref(decoded);
	if (ok)
		spill_count(c, s);
	return ok;
}

GByteArray *dk_message_read_decoded(GMimeDataWrapper *w, gsize max)
{
	max = MIN(max, (gsize)G_MAXUINT - 1);
	GByteArray *array = g_byte_array_sized_new((guint)MIN(max, (gsize)65536));
	GMimeStream *decoded = decoding_stream(w);
	char buf[16384];
	while (array->len < max) {
		gssize r = g_mime_stream_read(decoded, buf, MIN(sizeof buf, max - array->len));
		if (r <= 0)
			break;
		g_byte_array_append(array, (const guint8 *)buf, (guint)r);
	}
	g_object_unref(decoded);
	return array;
}

/* <meta charset="..."> or <meta http-equiv content="...; charset=...">
 * in the first kilobytes of HTML that has no MIME charset. */
static char *sniff_meta_charset(const char *data, gsize len)
{
	g_autofree char *head = g_ascii_strdown(data, (gssize)MIN(len, 4096));
	const char *p = strstr(head, "charset=");
	if (p == NULL)
		return NULL;
	p += 8;
	p += strspn(p, "\"' ");
	gsize n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-_:.");
	return n > 0 ? g_strndup(p, n) : NULL;
}

/* CRLF and bare CR to LF, so every text reads the same. */
static char *normalise_newlines(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r == '\r') {
			*w++ = '\n';
			if (r[1] == '\n')
				r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return s;
}

/* RFC 3676 format=flowed: a line ending in a space continues on the next
 * line; a leading space is stuffing; "-- " is the signature separator. */
static char *unflow(const char *text, gboolean delsp)
{
	GString *out = g_string_sized_new(strlen(text));
	gchar **lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		const char *l = lines[i];
		if (*l == ' ')
			l++;
		gsize len = strlen(l);
		gboolean soft = len > 0 && l[len - 1] == ' ' && strcmp(l, "-- ") != 0 &&
		                lines[i + 1] != NULL && lines[i + 1][0] != '>' && l[0] != '>';
		g_string_append_len(out, l, (gssize)(soft && delsp ? len - 1 : len));
		if (!soft && lines[i + 1] != NULL)
			g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}

static void add_text(DkParseContext *c, GMimePart *part, gboolean html)
{
	gsize room = c->max_text > c->text->len ? c->max_text - c->text->len : 0;
	gboolean cut = FALSE;
	g_autoptr(GBytes) bytes = decode_text(c, part, room, &cut);
	if (cut)
		note_text_cut(c);
	if (bytes == NULL)
		return;
	gsize len = 0;
	const char *data = g_bytes_get_data(bytes, &len);
	GMimeObject *obj = GMIME_OBJECT(part);
	const char *declared = g_mime_object_get_content_type_parameter(obj, "charset");
	g_autofree char *sniffed =
	    (html && declared == NULL && len > 0) ? sniff_meta_charset(data, len) : NULL;
	gboolean replaced = FALSE;
	g_autofree char *utf8 = dk_charset_to_utf8(
	    data ? data : "", len, declared ? declared : sniffed, c->fallback_charset, &replaced);
	/* A long text is held several times over (decoded, UTF-8, full and new
	 * text): drop each copy as soon as the next exists. */
	g_clear_pointer(&bytes, g_bytes_unref);
	if (replaced)
		dk_parse_context_error(c, "unreadable bytes in a text part (charset %s) replaced",
		                       declared ? declared : "undeclared");
	g_autofree char *fresh = NULL, *quoted = NULL;
	if (html) {
		g_autoptr(DkHtmlText) t = dk_html_to_text(utf8, strlen(utf8));
		g_clear_pointer(&utf8, g_free);
		g_autofree char *quoted_before = NULL;
		split_plain(t->new_text, &fresh, &quoted_before);
		quoted = g_strjoin(*quoted_before && *t->quoted_text ? "\n\n" : "", quoted_before,
		                   t->quoted_text, NULL);
		join(c->text, t->text);
		c->m->html = TRUE;
	} else {
		normalise_newlines(utf8);
		const char *format = g_mime_object_get_content_type_parameter(obj, "format");
		if (format != NULL && g_ascii_strcasecmp(format, "flowed") == 0) {
			const char *delsp = g_mime_object_get_content_type_parameter(obj, "delsp");
			char *flat = unflow(utf8, delsp && g_ascii_strcasecmp(delsp, "yes") == 0);
			g_free(utf8);
			utf8 = flat;
		}
		gsize budget = c->max_decoded > c->decoded ? c->max_decoded - c->decoded : 0;
		guint before = c->m->attachments->len;
		if (dk_attachment_extract_uuencoded(&utf8, budget, c->m->attachments) > 0)
			for (guint i = before; i < c->m->attachments->len; i++)
				c->decoded +=
				    ((DkAttachment *)g_ptr_array_index(c->m->attachments, i))->size;
		/* Split the copy in the full text, not utf8, which goes first. */
		gsize offset = *utf8 != '\0' && c->text->len > 0 ? c->text->len + 2 : c->text->len;
		join(c->text, utf8);
		g_clear_pointer(&utf8, g_free);
		split_plain(c->text->str + offset, &fresh, &quoted);
	}
	join(c->new_text, g_strstrip(fresh));
	join(c->quoted_text, g_strstrip(quoted));
}

static char *clean_content_id(const char *raw)
{
	if (raw == NULL)
		return NULL;
	char *s = g_strstrip(g_strdup(raw));
	gsize len = strlen(s);
	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		memmove(s, s + 1, len - 2);
		s[len - 2] = '\0';
	}
	return s;
}

/* "inline" or "attachment" (RFC 2183); without a header, a part with a
 * Content-ID is an inline image of an HTML body. */
static const char *disposition_of(GMimeObject *obj)
{
	const char *d = g_mime_object_get_disposition(obj);
	if (d != NULL)
		return g_ascii_strcasecmp(d, "inline") == 0 ? "inline" : "attachment";
	return g_mime_object_get_content_id(obj) ? "inline" : "attachment";
}

static void add_tnef(DkParseContext *c, DkAttachment *container)
{
	g_autofree char *body = NULL;
	guint skipped = 0;
	gsize room = c->max_decoded > c->decoded ? c->max_decoded - c->decoded : 0;
	guint before = c->m->attachments->len;
	if (!dk_attachment_extract_tnef(container->data,
	                                container->filename ? container->filename : "winmail.dat",
	                                room, c->m->attachments, &body, &skipped)) {
		dk_parse_context_error(c, "winmail.dat (TNEF) could not be read: kept as it is");
		return;
	}
	for (guint i = before; i < c->m->attachments->len; i++)
		c->decoded += ((DkAttachment *)g_ptr_array_index(c->m->attachments, i))->size;
	if (skipped > 0)
		note_over_budget(c);
	if (body != NULL && c->tnef_body == NULL)
		c->tnef_body = g_steal_pointer(&body);
}

/* The value of parameter param of the raw header field, read as text in
 * the message's charsets when it holds raw 8-bit bytes that are not
 * UTF-8 (GMime would read them as the fallback charset); NULL when it
 * holds none, or lacks the parameter. */
static char *raw_8bit_param(DkParseContext *c, GMimeObject *obj, const char *field,
                            const char *param)
{
	const char *raw = dk_message_raw_header(obj, field);
	if (raw == NULL || dk_charset_is_ascii(raw, strlen(raw)) || g_utf8_validate(raw, -1, NULL))
		return NULL;
	g_autofree char *utf8 = dk_charset_header_to_utf8(
	    raw, strlen(raw), (const char *const *)c->m->header_charsets, c->fallback_charset);
	GMimeParamList *params = NULL;
	const char *semi = strchr(utf8, ';');
	if (semi != NULL)
		params = g_mime_param_list_parse(c->gmime_options, semi + 1);
	GMimeParam *p = params ? g_mime_param_list_get_parameter(params, param) : NULL;
	char *value = p ? g_strdup(g_mime_param_get_value(p)) : NULL;
	if (params != NULL)
		g_object_unref(params);
	return value;
}

/* A part's file name as sent: the filename parameter of its
 * Content-Disposition, else the name parameter of its Content-Type
 * (RFC 2183, RFC 2045), each decoded (RFC 2231, RFC 2047, raw 8-bit). */
static char *part_filename(DkParseContext *c, GMimeObject *obj)
{
	const char *field = "Content-Disposition", *param = "filename";
	const char *sent = g_mime_object_get_content_disposition_parameter(obj, param);
	if (sent == NULL || *sent == '\0') {
		field = "Content-Type";
		param = "name";
		sent = g_mime_object_get_content_type_parameter(obj, param);
	}
	/* Only a name GMime read as something other than ASCII can have been
	 * raw 8-bit text that it took for the fallback charset. */
	char *raw = sent != NULL && !dk_charset_is_ascii(sent, strlen(sent))
	                ? raw_8bit_param(c, obj, field, param)
	                : NULL;
	return raw != NULL ? raw : g_strdup(sent);
}

/* Names the attachment a (just made from obj) when its part had none. */
static void name_unnamed(DkParseContext *c, DkAttachment *a, GMimeObject *obj)
{
	if (a->filename != NULL)
		return;
	const char *raw_desc = dk_message_raw_header(obj, "Content-Description");
	g_autofree char *desc = raw_desc ? dk_message_decode_header(c, raw_desc) : NULL;
	g_autoptr(GPtrArray) taken = g_ptr_array_new();
	for (guint i = 0; i < c->m->attachments->len; i++)
		g_ptr_array_add(
		    taken, ((DkAttachment *)g_ptr_array_index(c->m->attachments, i))->filename);
	a->filename = dk_attachment_generated_filename(a->content_type, a->content_id, desc, taken);
	a->filename_generated = a->filename != NULL;
}

/* a's content is the one s says is in the message's spill file, if any. */
static void attachment_in_spill(DkAttachment *a, const Spilled *s)
{
	if (s->fd < 0)
		return;
	a->fd = s->fd;
	a->offset = s->offset;
	a->size = s->size;
	memcpy(a->sha256, s->sha256, sizeof s->sha256);
}

static void add_attachment(DkParseContext *c, GMimePart *part)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	g_autofree char *type =
	    g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj));
	g_autofree char *cid = clean_content_id(g_mime_object_get_content_id(obj));
	g_autofree char *filename = part_filename(c, obj);
	/* a winmail.dat is read whole for the files inside it */
	gboolean tnef = dk_attachment_is_tnef(type, filename);
	Spilled spilled = {.fd = -1};
	gboolean taken = !tnef && spill_part(c, part, &spilled);
	g_autoptr(GBytes) bytes = taken ? NULL : decode_part(c, part);
	DkAttachment *a = dk_attachment_new(filename, type, disposition_of(obj), cid, bytes);
	attachment_in_spill(a, &spilled);
	name_unnamed(c, a, obj);
	g_ptr_array_add(c->m->attachments, a);
	if (bytes != NULL && tnef)
		add_tnef(c, a);
}

static GBytes *serialise(DkParseContext *c, GMimeObject *obj)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(obj, NULL, mem);
	GByteArray *array = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_object_unref(mem);
	return take_within_budget(c, array);
}

/* The attached message's own bytes, sliced from the raw message without a
 * copy: from its first header (GMime records where each header was read)
 * to the line break before the enclosing multipart's next boundary
 * (RFC 2046 section 5.1.1), or to the end. NULL when that cannot be told. */
static GBytes *original_bytes(DkParseContext *c, GMimeMessage *inner)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(inner));
	if (c->raw == NULL || headers == NULL || g_mime_header_list_get_count(headers) == 0)
		return NULL;
	gint64 start = g_mime_header_get_offset(g_mime_header_list_get_header_at(headers, 0));
	gsize n = 0;
	const char *p = g_bytes_get_data(c->raw, &n);
	if (start < 0 || (gsize)start >= n)
		return NULL;
	gsize end = n;
	if (c->boundary != NULL) {
		g_autofree char *delimiter = g_strconcat("\n--", c->boundary, NULL);
		gsize dlen = strlen(delimiter);
		const char *at = p + start - 1;
		for (;;) {
			at = memmem(at + 1, n - (gsize)(at + 1 - p), delimiter, dlen);
			if (at == NULL)
				return NULL;
			gsize after = (gsize)(at - p) + dlen;
			if (after == n || strchr("\r\n \t-", p[after]) != NULL)
				break;
		}
		end = (gsize)(at - p);
		if (end > (gsize)start && p[end - 1] == '\r')
			end--;
	}
	if (c->decoded + (end - (gsize)start) > c->max_decoded) {
		note_over_budget(c);
		return NULL;
	}
	c->decoded += end - (gsize)start;
	return g_bytes_new_from_bytes(c->raw, (gsize)start, end - (gsize)start);
}

/* Where the delimiter of the enclosing multipart's next boundary starts
 * in c->source from start on (as original_bytes() finds it in memory),
 * searched a piece at a time: the end of the part, before the line break
 * (its CR too); the end of what was parsed when there is no multipart;
 * -1 when no delimiter follows. */
static gint64 source_end(DkParseContext *c, gint64 start)
{
	if (c->boundary == NULL)
		return (gint64)c->source_len;
	g_autofree char *delimiter = g_strconcat("\n--", c->boundary, NULL);
	gsize dlen = strlen(delimiter), keep = dlen + 1, have = 0;
	GMimeStream *in = g_mime_stream_substream(c->source, start, (gint64)c->source_len);
	g_autofree char *buf = g_malloc(65536 + keep);
	gint64 base = start, end = -1;
	gboolean eof = FALSE;
	while (end < 0 && !eof) {
		gssize r = g_mime_stream_read(in, buf + have, 65536);
		if (r < 0)
			break; /* unreadable: not told */
		eof = r == 0;
		have += (gsize)r;
		/* the delimiter, then a line end, white space or "--" */
		for (const char *at = buf; end < 0 && (at = memmem(at, have - (gsize)(at - buf),
		                                                   delimiter, dlen)) != NULL;
		     at++) {
			gsize after = (gsize)(at - buf) + dlen;
			if (after == have && !eof)
				break; /* the byte that decides comes with the next piece */
			if (after == have || strchr("\r\n \t-", buf[after]) != NULL)
				end = base + (at - buf) - (at > buf && at[-1] == '\r');
		}
		/* a delimiter may straddle this piece and the next: keep its
		 * start, and the byte before it */
		if (end < 0 && have > keep) {
			memmove(buf, buf + have - keep, keep);
			base += (gint64)(have - keep);
			have = keep;
		}
	}
	g_object_unref(in);
	return end;
}

/* A large attached message of a message read from a file (no raw bytes to
 * slice): its original bytes copied into the message's spill file, as
 * spill_part() decodes a part (same returns). */
static gboolean spill_message(DkParseContext *c, GMimeMessage *inner, Spilled *s)
{
	s->fd = -1;
	GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(inner));
	if (c->spill == NULL || c->source == NULL || headers == NULL ||
	    g_mime_header_list_get_count(headers) == 0)
		return FALSE;
	gint64 start = g_mime_header_get_offset(g_mime_header_list_get_header_at(headers, 0));
	gint64 end = start >= 0 && (gsize)start < c->source_len ? source_end(c, start) : -1;
	if (end < 0 || (gsize)(end - start) < c->spill_min)
		return FALSE;
	if (c->decoded + (gsize)(end - start) > c->max_decoded) {
		note_over_budget(c);
		return TRUE;
	}
	GMimeStream *in = g_mime_stream_substream(c->source, start, end);
	gboolean ok = spill_stream(c, in, s) && s->size == (gsize)(end - start);
	g_object_unref(in);
	if (ok)
		spill_count(c, s);
	else
		s->fd = -1;
	return ok;
}

/* A forwarded message (RFC 2046 section 5.2.1) stays one attachment, named
 * after its subject when the sender gave it no name. */
static void add_message(DkParseContext *c, GMimeMessagePart *mp)
{
	GMimeObject *obj = GMIME_OBJECT(mp);
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	g_autoptr(GBytes) bytes = inner ? original_bytes(c, inner) : NULL;
	Spilled spilled = {.fd = -1};
	gboolean taken = inner != NULL && bytes == NULL && spill_message(c, inner, &spilled);
	if (inner != NULL && bytes == NULL && !taken && !over_budget(c))
		bytes = serialise(c, GMIME_OBJECT(inner));
	const char *raw_subject =
	    inner ? dk_message_raw_header(GMIME_OBJECT(inner), "Subject") : NULL;
	g_autofree char *subject = raw_subject ? dk_message_decode_header(c, raw_subject) : NULL;
	g_autofree char *name = part_filename(c, obj);
	gboolean made = name == NULL || *name == '\0';
	if (made) {
		g_free(name);
		name = g_strdup_printf("%s.eml", subject && *subject ? subject : "message");
	}
	g_autofree char *type =
	    g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj));
	g_autofree char *cid = clean_content_id(g_mime_object_get_content_id(obj));
	DkAttachment *a = dk_attachment_new(name, type, disposition_of(obj), cid, bytes);
	a->filename_generated = made;
	a->message_subject = g_strdup(subject ? subject : "");
	a->message_from = inner ? dk_message_first_address(g_mime_message_get_from(inner)) : NULL;
	attachment_in_spill(a, &spilled);
	g_ptr_array_add(c->m->attachments, a);
}

/* Text a reader sees in place: text/plain or text/html that is not marked
 * as an attachment and carries no file name (RFC 2183 section 2). A named
 * text part is a file the sender attached, even when marked inline, unless
 * it is the whole message. */
static gboolean is_body_text(GMimeObject *obj, guint depth, gboolean *html_out)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	gboolean plain = g_mime_content_type_is_type(ct, "text", "plain");
	*html_out = g_mime_content_type_is_type(ct, "text", "html");
	if (!plain && !*html_out)
		return FALSE;
	const char *d = g_mime_object_get_disposition(obj);
	if (d != NULL && g_ascii_strcasecmp(d, "attachment") == 0)
		return FALSE;
	return depth == 0 || g_mime_part_get_filename(GMIME_PART(obj)) == NULL;
}

static void walk_part(DkParseContext *c, GMimePart *part, guint depth, Mode mode)
{
	gboolean html = FALSE;
	if (is_body_text(GMIME_OBJECT(part), depth, &html)) {
		if (mode == WANT_TEXT)
			add_text(c, part, html);
		return;
	}
	add_attachment(c, part);
}

static gboolean is_empty_text(GMimeObject *obj)
{
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
	if (w == NULL)
		return TRUE;
	gint64 len = g_mime_stream_length(g_mime_data_wrapper_get_stream(w));
	if (len > 1024)
		return FALSE;
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	gboolean empty = TRUE;
	for (guint i = 0; i < a->len && empty; i++)
		empty = g_ascii_isspace(a->data[i]);
	g_object_unref(mem);
	return empty;
}

/* RFC 2046 section 5.1.4: the last alternative is the richest, but
 * docket wants text: text/plain unless it is empty, else the HTML (or the
 * multipart holding it). */
static GMimeObject *choose_alternative(GMimeMultipart *mp)
{
	int n = g_mime_multipart_get_count(mp);
	GMimeObject *rich = NULL;
	for (int i = 0; i < n; i++) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);
		GMimeContentType *ct = g_mime_object_get_content_type(child);
		if (GMIME_IS_PART(child) && g_mime_content_type_is_type(ct, "text", "plain") &&
		    !is_empty_text(child))
			return child;
		if (GMIME_IS_MULTIPART(child) || g_mime_content_type_is_type(ct, "text", "html"))
			rich = child;
	}
	return rich ? rich : (n > 0 ? g_mime_multipart_get_part(mp, 0) : NULL);
}

/* RFC 2387: the root is named by the start parameter, else it is first. */
static GMimeObject *related_root(GMimeMultipart *mp)
{
	const char *start = g_mime_object_get_content_type_parameter(GMIME_OBJECT(mp), "start");
	int n = g_mime_multipart_get_count(mp);
	g_autofree char *want = clean_content_id(start);
	for (int i = 0; want != NULL && i < n; i++) {
		const char *id = g_mime_object_get_content_id(g_mime_multipart_get_part(mp, i));
		if (id != NULL && g_strcmp0(id, want) == 0)
			return g_mime_multipart_get_part(mp, i);
	}
	return n > 0 ? g_mime_multipart_get_part(mp, 0) : NULL;
}

static void walk_multipart(DkParseContext *c, GMimeMultipart *mp, guint depth, Mode mode)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(mp));
	const char *sub = g_mime_content_type_get_media_subtype(ct);
	GMimeObject *chosen = NULL;
	gboolean only_first = FALSE;
	if (sub != NULL && g_ascii_strcasecmp(sub, "alternative") == 0)
		chosen = choose_alternative(mp);
	else if (sub != NULL && g_ascii_strcasecmp(sub, "related") == 0)
		chosen = related_root(mp);
	else if (GMIME_IS_MULTIPART_SIGNED(mp))
		only_first = TRUE; /* RFC 1847: the second part is the signature */
	int n = g_mime_multipart_get_count(mp);
	const char *outer = c->boundary;
	c->boundary = g_mime_multipart_get_boundary(mp);
	for (int i = 0; i < n && !c->stopped; i++) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);
		Mode m = mode;
		if ((chosen != NULL && child != chosen) || (only_first && i > 0))
			m = SKIP_TEXT;
		walk(c, child, depth + 1, m);
	}
	c->boundary = outer;
}

static void walk(DkParseContext *c, GMimeObject *obj, guint depth, Mode mode)
{
	if (!within_limits(c, depth))
		return;
	if (GMIME_IS_MULTIPART(obj))
		walk_multipart(c, GMIME_MULTIPART(obj), depth, mode);
	else if (GMIME_IS_MESSAGE_PART(obj))
		add_message(c, GMIME_MESSAGE_PART(obj));
	else if (GMIME_IS_PART(obj))
		walk_part(c, GMIME_PART(obj), depth, mode);
}

/* Each text is kept to max_text bytes, whatever the joins and the HTML
 * conversion made of the bounded parts. */
static void bound_text(DkParseContext *c, GString *s)
{
	gsize keep = utf8_cut(s->str, s->len, c->max_text);
	if (keep == s->len)
		return;
	g_string_truncate(s, keep);
	note_text_cut(c);
}

void dk_message_body_read(DkParseContext *c, GMimeObject *body)
{
	if (body != NULL)
		walk(c, body, 0, WANT_TEXT);
	DkMessage *m = c->m;
	if (c->text->len == 0 && c->tnef_body != NULL) {
		g_autofree char *fresh = NULL, *quoted = NULL;
		split_plain(c->tnef_body, &fresh, &quoted);
		join(c->text, c->tnef_body);
		join(c->new_text, fresh);
		join(c->quoted_text, quoted);
	}
	bound_text(c, c->text);
	bound_text(c, c->new_text);
	bound_text(c, c->quoted_text);
	m->text = g_string_free(g_steal_pointer(&c->text), FALSE);
	m->new_text = g_string_free(g_steal_pointer(&c->new_text), FALSE);
	m->quoted_text = g_string_free(g_steal_pointer(&c->quoted_text), FALSE);
}
