/* Names for attachments sent without one, so that agents can save them. */
#include "parsers/attachment.h"

#include <string.h>

/* What mail programs call an unnamed part of each type: a word and an
 * extension. A type/ entry covers every subtype not listed before it. */
static const struct {
	const char *type, *word, *ext;
} names[] = {
    {"message/delivery-status", "delivery-status", "txt"},
    {"message/global-delivery-status", "delivery-status", "txt"},
    {"message/disposition-notification", "disposition-notification", "txt"},
    {"message/feedback-report", "feedback-report", "txt"},
    {"text/rfc822-headers", "headers", "txt"},
    {"message/rfc822-headers", "headers", "txt"},
    {"text/plain", "document", "txt"},
    {"text/html", "document", "html"},
    {"text/calendar", "calendar", "ics"},
    {"application/ics", "calendar", "ics"},
    {"text/csv", "document", "csv"},
    {"text/vcard", "contact", "vcf"},
    {"text/x-vcard", "contact", "vcf"},
    {"image/jpeg", "image", "jpg"},
    {"image/jpg", "image", "jpg"},
    {"image/pjpeg", "image", "jpg"},
    {"image/png", "image", "png"},
    {"image/gif", "image", "gif"},
    {"image/bmp", "image", "bmp"},
    {"image/tiff", "image", "tif"},
    {"image/webp", "image", "webp"},
    {"image/svg+xml", "image", "svg"},
    {"image/", "image", NULL},
    {"video/quicktime", "video", "mov"},
    {"video/", "video", NULL},
    {"audio/mpeg", "audio", "mp3"},
    {"audio/", "audio", NULL},
    {"application/pdf", "document", "pdf"},
    {"application/zip", "archive", "zip"},
    {"application/pgp-signature", "signature", "asc"},
    {"application/pgp-encrypted", "pgp-encrypted", "asc"},
    {"application/pgp-keys", "key", "asc"},
    {"application/pkcs7-signature", "smime", "p7s"},
    {"application/x-pkcs7-signature", "smime", "p7s"},
    {"application/pkcs7-mime", "smime", "p7m"},
    {"application/x-pkcs7-mime", "smime", "p7m"},
    {"application/ms-tnef", "winmail", "dat"},
    {"application/vnd.ms-tnef", "winmail", "dat"},
    {"application/octet-stream", "file", "bin"},
};

/* The word and extension for type; *ext_out is NULL when the type has
 * no known extension (then the subtype serves when it looks like one). */
static const char *word_for(const char *type, const char **ext_out)
{
	*ext_out = NULL;
	for (guint i = 0; type != NULL && i < G_N_ELEMENTS(names); i++) {
		gsize len = strlen(names[i].type);
		gboolean prefix = names[i].type[len - 1] == '/';
		if (prefix ? g_ascii_strncasecmp(type, names[i].type, len) == 0
		           : g_ascii_strcasecmp(type, names[i].type) == 0) {
			*ext_out = names[i].ext;
			if (*ext_out == NULL) {
				const char *sub = type + len;
				gsize n = strspn(sub, "abcdefghijklmnopqrstuvwxyz0123456789");
				*ext_out = (n > 0 && n <= 5 && sub[n] == '\0') ? sub : NULL;
			}
			return names[i].word;
		}
	}
	return "file";
}

/* The file name an Outlook Content-ID carries before its '@'
 * ("image001.png@01D9A1B2.C3D4E5F0"), or NULL. */
static char *name_from_content_id(const char *cid)
{
	const char *at = cid ? strchr(cid, '@') : NULL;
	if (at == NULL || at == cid || at - cid > 100)
		return NULL;
	const char *dot = memchr(cid, '.', (gsize)(at - cid));
	gsize ext = dot ? (gsize)(at - dot - 1) : 0;
	if (dot == NULL || dot == cid || ext < 2 || ext > 5)
		return NULL;
	for (const char *p = dot + 1; p < at; p++)
		if (!g_ascii_isalnum(*p))
			return NULL;
	return g_strndup(cid, (gsize)(at - cid));
}

static gboolean is_taken(GPtrArray *taken, const char *name)
{
	for (guint i = 0; taken != NULL && i < taken->len; i++) {
		const char *t = g_ptr_array_index(taken, i);
		if (t != NULL && strcmp(t, name) == 0)
			return TRUE;
	}
	return FALSE;
}

/* name, or name with a number before its extension when taken. */
static char *unique(char *name, GPtrArray *taken)
{
	if (!is_taken(taken, name))
		return name;
	const char *dot = strrchr(name, '.');
	gsize stem = dot && dot != name ? (gsize)(dot - name) : strlen(name);
	for (guint i = 1; i < 1000; i++) {
		char *next = g_strdup_printf("%.*s%u%s", (int)stem, name, i, name + stem);
		if (!is_taken(taken, next)) {
			g_free(name);
			return next;
		}
		g_free(next);
	}
	return name;
}

char *dk_attachment_generated_filename(const char *content_type, const char *content_id,
                                       const char *description, GPtrArray *taken)
{
	if (content_type != NULL && g_ascii_strcasecmp(content_type, "message/rfc822") == 0)
		return NULL;
	char *name = name_from_content_id(content_id);
	if (name == NULL) {
		const char *ext = NULL;
		const char *word = word_for(content_type, &ext);
		gboolean described =
		    description != NULL && *description != '\0' && strlen(description) <= 100;
		name = g_strdup_printf("%s%s%s", described ? description : word, ext ? "." : "",
		                       ext ? ext : "");
	}
	/* Like a name as sent, and like "Subject.eml" for an attached
	 * message, this is metadata: dk_attachment_safe_filename() makes it
	 * a path. */
	g_autofree char *sent = dk_attachment_sent_filename(name);
	g_free(name);
	return sent ? unique(g_steal_pointer(&sent), taken) : NULL;
}
