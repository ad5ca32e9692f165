/* Builds DkAttachments: safe names, SHA-256, and TNEF (winmail.dat) unpacking. */
#include "parsers/attachment.h"
#include "parsers/digest.h"

#include "parsers/charset.h"
#include "parsers/html.h"

#include <stdio.h> /* ytnef.h needs FILE */
#include <string.h>
#include <ytnef.h>

/* Characters that must not reach a file system or a screen unescaped:
 * controls, and the bidirectional overrides that make "gpj.exe" read as
 * "exe.jpg". */
static gboolean is_unsafe_char(gunichar c)
{
	return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x200E || c == 0x200F ||
	       (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0xFFFD ||
	       strchr("<>:\"|?*", (int)c) != NULL;
}

static const char *last_component(char *s)
{
	gsize len = strlen(s);
	while (len > 0 && (s[len - 1] == '/' || s[len - 1] == '\\'))
		s[--len] = '\0';
	const char *slash = strrchr(s, '/');
	const char *back = strrchr(s, '\\');
	const char *cut = MAX(slash, back);
	return cut ? cut + 1 : s;
}

static gboolean is_reserved_name(const char *s)
{
	static const char *const names[] = {"con", "prn", "aux", "nul", "com", "lpt", NULL};
	gsize stem = strcspn(s, ".");
	for (guint i = 0; names[i] != NULL; i++) {
		if (g_ascii_strncasecmp(s, names[i], 3) != 0)
			continue;
		if (stem == 3 || (stem == 4 && g_ascii_isdigit(s[3]) && i >= 4))
			return TRUE;
	}
	return FALSE;
}

/* Cuts s to at most max bytes on a character boundary, keeping a short
 * extension. */
static char *bound_length(const char *s, gsize max)
{
	gsize len = strlen(s);
	if (len <= max)
		return g_strdup(s);
	const char *dot = strrchr(s, '.');
	gsize ext =
	    (dot != NULL && dot != s && len - (gsize)(dot - s) <= 20) ? len - (gsize)(dot - s) : 0;
	gsize keep = max - ext;
	while (keep > 0 && ((guchar)s[keep] & 0xC0) == 0x80)
		keep--; /* do not split a UTF-8 sequence */
	return g_strdup_printf("%.*s%s", (int)keep, s, ext ? dot : "");
}

char *dk_attachment_safe_filename(const char *raw)
{
	if (raw == NULL)
		return NULL;
	g_autofree char *valid = g_utf8_make_valid(raw, -1);
	const char *base = last_component(valid);
	GString *s = g_string_new(NULL);
	for (const char *p = base; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (is_unsafe_char(c))
			g_string_append_c(s, '_');
		else
			g_string_append_unichar(s, c);
	}
	gsize lead = strspn(s->str, ". \t");
	g_string_erase(s, 0, (gssize)lead);
	while (s->len > 0 && (s->str[s->len - 1] == '.' || s->str[s->len - 1] == ' '))
		g_string_truncate(s, s->len - 1);
	if (s->len == 0) {
		g_string_free(s, TRUE);
		return NULL;
	}
	if (is_reserved_name(s->str))
		g_string_prepend_c(s, '_');
	char *bounded = bound_length(s->str, DK_ATTACHMENT_MAX_FILENAME);
	g_string_free(s, TRUE);
	return bounded;
}

/* A type for files that arrive without one (uuencoded, inside TNEF), by
 * the extensions mail most often carries. */
static const char *type_from_name(const char *filename)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},
	    {"png", "image/png"},
	    {"gif", "image/gif"},
	    {"pdf", "application/pdf"},
	    {"txt", "text/plain"},
	    {"htm", "text/html"},
	    {"html", "text/html"},
	    {"zip", "application/zip"},
	    {"doc", "application/msword"},
	    {"xls", "application/vnd.ms-excel"},
	    {"csv", "text/csv"},
	    {"eml", "message/rfc822"},
	    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	};
	const char *dot = filename ? strrchr(filename, '.') : NULL;
	for (guint i = 0; dot != NULL && i < G_N_ELEMENTS(types); i++)
		if (g_ascii_strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

char *dk_attachment_sent_filename(const char *raw)
{
	if (raw == NULL)
		return NULL;
	g_autofree char *valid = g_utf8_make_valid(raw, -1);
	GString *s = g_string_new(NULL);
	for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		/* Controls and direction overrides are not part of a name a
		 * person can read ("gpj.exe" shown as "exe.jpg"). */
		if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x200E ||
		    c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069))
			g_string_append_c(s, '_');
		else
			g_string_append_unichar(s, c);
	}
	g_strstrip(s->str);
	char *bounded = *s->str ? bound_length(s->str, DK_ATTACHMENT_MAX_SENT_FILENAME) : NULL;
	g_string_free(s, TRUE);
	return bounded;
}

DkAttachment *dk_attachment_new(const char *filename, const char *content_type,
                                const char *disposition, const char *content_id, GBytes *data)
{
	DkAttachment *a = g_new0(DkAttachment, 1);
	a->fd = -1;
	a->filename = dk_attachment_sent_filename(filename);
	if (content_type != NULL) {
		a->content_type = g_ascii_strdown(content_type, -1);
	} else {
		g_autofree char *safe = dk_attachment_safe_filename(a->filename);
		a->content_type = g_strdup(type_from_name(safe));
	}
	a->disposition = g_strdup(disposition ? disposition : "attachment");
	a->content_id = (content_id && *content_id) ? g_strdup(content_id) : NULL;
	if (data != NULL) {
		a->data = g_bytes_ref(data);
		a->size = g_bytes_get_size(data);
		dk_sha256_hex(g_bytes_get_data(data, NULL), a->size, a->sha256);
	}
	return a;
}

void dk_attachment_free(DkAttachment *attachment)
{
	if (attachment == NULL)
		return;
	g_free(attachment->filename);
	g_free(attachment->content_type);
	g_free(attachment->content_id);
	g_free(attachment->disposition);
	g_free(attachment->origin);
	g_free(attachment->message_subject);
	dk_address_free(attachment->message_from);
	g_clear_pointer(&attachment->data, g_bytes_unref);
	g_free(attachment);
}

gboolean dk_attachment_is_tnef(const char *content_type, const char *filename)
{
	if (content_type != NULL &&
	    (g_ascii_strcasecmp(content_type, "application/ms-tnef") == 0 ||
	     g_ascii_strcasecmp(content_type, "application/vnd.ms-tnef") == 0))
		return TRUE;
	return filename != NULL && g_ascii_strcasecmp(filename, "winmail.dat") == 0;
}

static variableLength *find_prop(MAPIProps *props, ULONG type, ULONG id)
{
	variableLength *v = MAPIFindProperty(props, PROP_TAG(type, id));
	return (v == NULL || v == MAPI_UNDEFINED || v->data == NULL || v->size <= 0) ? NULL : v;
}

/* A MAPI string property (PT_UNICODE is UTF-16LE, PT_STRING8 is 8-bit in
 * the sender's code page) as UTF-8, or NULL. */
static char *prop_string(MAPIProps *props, ULONG id)
{
	variableLength *v = find_prop(props, PT_UNICODE, id);
	gsize n;
	if (v != NULL) {
		n = (gsize)v->size & ~(gsize)1;
		while (n >= 2 && v->data[n - 1] == 0 && v->data[n - 2] == 0)
			n -= 2;
		return n ? dk_charset_to_utf8((const char *)v->data, n, "utf-16le", NULL, NULL)
		         : NULL;
	}
	v = find_prop(props, PT_STRING8, id);
	if (v == NULL)
		v = find_prop(props, PT_BINARY, id);
	if (v == NULL)
		return NULL;
	n = (gsize)v->size;
	while (n > 0 && v->data[n - 1] == 0)
		n--;
	return n ? dk_charset_to_utf8((const char *)v->data, n, NULL, NULL, NULL) : NULL;
}

static char *tnef_file_name(Attachment *at)
{
	char *name = prop_string(&at->MAPI, PR_ATTACH_LONG_FILENAME);
	if (name == NULL)
		name = prop_string(&at->MAPI, PR_ATTACH_FILENAME);
	if (name == NULL && at->Title.data != NULL && at->Title.size > 0) {
		gsize n = (gsize)at->Title.size;
		while (n > 0 && at->Title.data[n - 1] == 0)
			n--;
		name = dk_charset_to_utf8((const char *)at->Title.data, n, NULL, NULL, NULL);
	}
	return name;
}

static char *tnef_body(TNEFStruct *tnef)
{
	char *body = prop_string(&tnef->MapiProperties, PR_BODY);
	if (body == NULL && tnef->body.data != NULL && tnef->body.size > 0)
		body = dk_charset_to_utf8((const char *)tnef->body.data, (gsize)tnef->body.size,
		                          NULL, NULL, NULL);
	if (body == NULL) {
		g_autofree char *html = prop_string(&tnef->MapiProperties, PR_BODY_HTML);
		if (html != NULL) {
			g_autoptr(DkHtmlText) t = dk_html_to_text(html, strlen(html));
			body = g_steal_pointer(&t->text);
		}
	}
	if (body != NULL && *g_strstrip(body) == '\0')
		g_clear_pointer(&body, g_free);
	return body;
}

/* Walks the TNEF attribute stream ([MS-OXTNEF] 2.1.3: signature, key,
 * then level, id, length, data and a 16-bit sum of the data per
 * attribute) before libytnef sees it: libytnef prints to stdout about
 * every damaged stream, and a library of docket's must not write. */
static gboolean tnef_well_formed(const guint8 *p, gsize n)
{
	if (n < 6 || p[0] != 0x78 || p[1] != 0x9f || p[2] != 0x3e || p[3] != 0x22)
		return FALSE;
	gsize i = 6;
	while (i < n) {
		if (n - i < 9 || (p[i] != 1 && p[i] != 2))
			return FALSE;
		guint32 len = (guint32)p[i + 5] | (guint32)p[i + 6] << 8 | (guint32)p[i + 7] << 16 |
		              (guint32)p[i + 8] << 24;
		i += 9;
		if (len == 0 || len > n - i || n - i - len < 2)
			return FALSE;
		guint32 sum = 0;
		for (gsize k = 0; k < len; k++)
			sum += p[i + k];
		i += len;
		if ((sum & 0xFFFF) != ((guint32)p[i] | (guint32)p[i + 1] << 8))
			return FALSE;
		i += 2;
	}
	return TRUE;
}

gboolean dk_attachment_extract_tnef(GBytes *data, const char *origin, gsize max_bytes,
                                    GPtrArray *out, char **body_out, guint *skipped_out)
{
	gsize n = 0;
	const guint8 *p = g_bytes_get_data(data, &n);
	*body_out = NULL;
	*skipped_out = 0;
	if (n > G_MAXINT32 || !tnef_well_formed(p, n))
		return FALSE;
	TNEFStruct tnef;
	TNEFInitialize(&tnef);
	tnef.Debug = 0;
	/* libytnef reads but does not write the buffer; its API lacks const. */
	if (TNEFParseMemory((BYTE *)p, (long)n, &tnef) < 0) {
		TNEFFree(&tnef);
		return FALSE;
	}
	gsize total = 0;
	for (Attachment *at = tnef.starting_attach.next; at != NULL; at = at->next) {
		variableLength *v = (at->FileData.data && at->FileData.size > 0)
		                        ? &at->FileData
		                        : find_prop(&at->MAPI, PT_BINARY, PR_ATTACH_DATA_OBJ);
		if (v == NULL)
			continue;
		if (total + (gsize)v->size > max_bytes) {
			(*skipped_out)++;
			continue;
		}
		total += (gsize)v->size;
		g_autofree char *name = tnef_file_name(at);
		g_autofree char *type = prop_string(&at->MAPI, PR_ATTACH_MIME_TAG);
		g_autofree char *cid = prop_string(&at->MAPI, PR_ATTACH_CONTENT_ID);
		g_autoptr(GBytes) bytes = g_bytes_new(v->data, (gsize)v->size);
		DkAttachment *a = dk_attachment_new(name, type, "attachment", cid, bytes);
		a->origin = g_strdup(origin);
		g_ptr_array_add(out, a);
	}
	*body_out = tnef_body(&tnef);
	TNEFFree(&tnef);
	return TRUE;
}

/* One line of uuencoded data (POSIX uuencode: a length character, then
 * four characters per three bytes, each character 0x20-0x60). */
static gboolean uudecode_line(const char *line, gsize len, GByteArray *out)
{
	if (len == 0)
		return FALSE;
	guint n = ((guchar)line[0] - 0x20) & 0x3F;
	if ((guchar)line[0] < 0x20 || (guchar)line[0] > 0x60 || len < 1 + (n + 2) / 3 * 4)
		return FALSE;
	guint8 b[66]; /* n is at most 63: one append per line */
	for (guint i = 0; i < n; i += 3) {
		guint8 c[4];
		for (guint k = 0; k < 4; k++) {
			guchar ch = (guchar)line[1 + i / 3 * 4 + k];
			if (ch < 0x20 || ch > 0x60)
				return FALSE;
			c[k] = (ch - 0x20) & 0x3F;
		}
		b[i] = (guint8)(c[0] << 2 | c[1] >> 4);
		b[i + 1] = (guint8)(c[1] << 4 | c[2] >> 2);
		b[i + 2] = (guint8)(c[2] << 6 | c[3]);
	}
	g_byte_array_append(out, b, n);
	return TRUE;
}

/* Decodes the block whose "begin" line starts at lines[first]; returns
 * the index of its "end" line, or 0 when the block is not well formed. */
static guint uudecode_block(gchar **lines, guint first, GByteArray *out)
{
	for (guint i = first + 1; lines[i] != NULL; i++) {
		const char *l = lines[i];
		gsize len = strlen(l);
		if (len > 0 && l[len - 1] == '\r')
			len--;
		if (len == 3 && strncmp(l, "end", 3) == 0)
			return i;
		if (!uudecode_line(l, len, out))
			return 0;
	}
	return 0;
}

static const char *uu_begin_name(const char *line)
{
	if (!g_str_has_prefix(line, "begin "))
		return NULL;
	const char *p = line + 6;
	gsize digits = strspn(p, "01234567");
	if (digits < 3 || digits > 4 || p[digits] != ' ' || p[digits + 1] == '\0')
		return NULL;
	return p + digits + 1;
}

guint dk_attachment_extract_uuencoded(char **text, gsize max_bytes, GPtrArray *out)
{
	gboolean candidate = FALSE; /* a "begin NNN name" line, before splitting */
	for (const char *p = strstr(*text, "begin "); p != NULL && !candidate;
	     p = strstr(p + 6, "begin "))
		candidate = (p == *text || p[-1] == '\n') && uu_begin_name(p) != NULL;
	if (!candidate)
		return 0;
	gchar **lines = g_strsplit(*text, "\n", -1);
	GString *kept = g_string_sized_new(strlen(*text));
	guint found = 0;
	gsize total = 0;
	for (guint i = 0; lines[i] != NULL; i++) {
		const char *name = uu_begin_name(lines[i]);
		g_autoptr(GByteArray) data = name ? g_byte_array_new() : NULL;
		guint end = name ? uudecode_block(lines, i, data) : 0;
		if (end > 0 && total + data->len <= max_bytes) {
			total += data->len;
			g_autofree char *clean = g_strchomp(g_strdup(name));
			g_autoptr(GBytes) bytes =
			    g_byte_array_free_to_bytes(g_steal_pointer(&data));
			g_ptr_array_add(out,
			                dk_attachment_new(clean, NULL, "attachment", NULL, bytes));
			found++;
			i = end;
			continue;
		}
		g_string_append(kept, lines[i]);
		if (lines[i + 1] != NULL)
			g_string_append_c(kept, '\n');
	}
	g_strfreev(lines);
	if (found == 0) {
		g_string_free(kept, TRUE);
		return 0;
	}
	g_free(*text);
	*text = g_string_free(kept, FALSE);
	return found;
}
