/* The API's articles: a ticket's list, replies and notes (JSON, or
 * multipart/form-data with files), attachment downloads and search. */
#include "gateway/web/api-private.h"

#include "gateway/error.h"

#include <string.h>

#define MAX_FILES 50

json_t *dk_api_articles_list(DkApiRequest *r, GError **error)
{
	DkStore *store = dk_web_store(r->web);
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, r->id, error);
	g_autoptr(GPtrArray) articles = t ? dk_store_articles(store, r->id, error) : NULL;
	g_autoptr(GPtrArray) attachments =
	    articles ? dk_store_ticket_attachments(store, r->id, error) : NULL;
	if (attachments == NULL)
		return NULL;
	json_t *arr = json_array();
	for (guint i = 0; i < articles->len; i++)
		json_array_append_new(arr,
		                      dk_article_json(g_ptr_array_index(articles, i), attachments));
	return json_pack("{sI so}", "ticket", (json_int_t)r->id, "articles", arr);
}

/* What a reply or note carries. */
typedef struct {
	char *text;
	GArray *files; /* of DkReplyFile */
} Written;

static void written_clear(Written *w)
{
	g_free(w->text);
	for (guint i = 0; w->files && i < w->files->len; i++) {
		DkReplyFile *f = &g_array_index(w->files, DkReplyFile, i);
		g_free((char *)f->filename);
		g_free((char *)f->content_type);
		g_bytes_unref(f->data);
	}
	if (w->files)
		g_array_free(w->files, TRUE);
}

/* A file name fit for a mail: the last path component, no control
 * characters; "attachment" when nothing is left. */
static char *file_name(const char *raw)
{
	const char *slash = raw ? MAX(strrchr(raw, '/'), strrchr(raw, '\\')) : NULL;
	g_autofree char *name = g_strdup(slash ? slash + 1 : raw ? raw : "");
	for (char *p = name; *p; p++)
		if ((guchar)*p < 0x20 || *p == 0x7f)
			*p = '_';
	if (*name == '\0' || !g_utf8_validate(name, -1, NULL))
		return g_strdup("attachment");
	return g_steal_pointer(&name);
}

/* One part of the form: the field "text", or a file. */
static gboolean form_part(Written *w, SoupMessageHeaders *headers, GBytes *body, GError **error)
{
	g_autofree char *disposition = NULL;
	g_autoptr(GHashTable) params = NULL;
	if (!soup_message_headers_get_content_disposition(headers, &disposition, &params))
		return dk_api_invalid(error, "a form part without Content-Disposition");
	const char *name = g_hash_table_lookup(params, "name");
	const char *filename = g_hash_table_lookup(params, "filename");
	if (filename == NULL && g_strcmp0(name, "text") == 0) {
		gsize len = 0;
		const char *data = g_bytes_get_data(body, &len);
		g_free(w->text);
		w->text = g_strndup(data ? data : "", len);
		return TRUE;
	}
	if (filename == NULL)
		return dk_api_invalid(error, "form field %s: only text and files",
		                      name ? name : "?");
	if (w->files->len >= MAX_FILES)
		return dk_api_invalid(error, "at most %d files", MAX_FILES);
	const char *type = soup_message_headers_get_content_type(headers, NULL);
	DkReplyFile f = {.filename = file_name(filename),
	                 .content_type = g_strdup(type ? type : "application/octet-stream"),
	                 .data = g_bytes_ref(body)};
	g_array_append_val(w->files, f);
	return TRUE;
}

static gboolean read_form(DkApiRequest *r, Written *w, GError **error)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(r->msg);
	g_autoptr(GBytes) body =
	    soup_message_body_flatten(soup_server_message_get_request_body(r->msg));
	g_autoptr(SoupMultipart) form = soup_multipart_new_from_message(headers, body);
	if (form == NULL)
		return dk_api_invalid(error, "the multipart body cannot be read");
	for (int i = 0; i < soup_multipart_get_length(form); i++) {
		SoupMessageHeaders *part_headers = NULL;
		GBytes *part_body = NULL;
		if (!soup_multipart_get_part(form, i, &part_headers, &part_body) ||
		    !form_part(w, part_headers, part_body, error))
			return FALSE;
	}
	return TRUE;
}

/* The text and files of a reply or note: multipart/form-data (a field
 * "text" and file parts) or JSON {"text"}. */
static gboolean read_written(DkApiRequest *r, Written *w, GError **error)
{
	w->files = g_array_new(FALSE, TRUE, sizeof(DkReplyFile));
	const char *type = soup_message_headers_get_content_type(
	    soup_server_message_get_request_headers(r->msg), NULL);
	if (type != NULL && g_ascii_strcasecmp(type, "multipart/form-data") == 0)
		return read_form(r, w, error);
	g_autoptr(json_t) body = dk_api_body(r, error);
	const char *text = NULL;
	if (body == NULL || !dk_api_string(body, "text", &text, error))
		return FALSE;
	w->text = g_strdup(text);
	return TRUE;
}

static json_t *article_doc(DkApiRequest *r, gint64 article, GError **error)
{
	DkStore *store = dk_web_store(r->web);
	g_autoptr(GPtrArray) articles = dk_store_articles(store, r->id, error);
	g_autoptr(GPtrArray) attachments =
	    articles ? dk_store_ticket_attachments(store, r->id, error) : NULL;
	for (guint i = 0; attachments != NULL && i < articles->len; i++) {
		const DkArticle *a = g_ptr_array_index(articles, i);
		if (a->id == article) {
			r->status = 201;
			return json_pack("{sI so}", "ticket", (json_int_t)r->id, "article",
			                 dk_article_json(a, attachments));
		}
	}
	if (attachments != NULL)
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "article %" G_GINT64_FORMAT,
		            article);
	return NULL;
}

static json_t *write_article(DkApiRequest *r, gboolean public, GError **error)
{
	Written w = {0};
	gint64 article = 0;
	json_t *doc = NULL;
	if (read_written(r, &w, error) &&
	    (public ? dk_web_reply : dk_web_note)(r->web, r->user, r->id, w.text,
	                                          (const DkReplyFile *)w.files->data, w.files->len,
	                                          &article, error))
		doc = article_doc(r, article, error);
	written_clear(&w);
	return doc;
}

json_t *dk_api_reply(DkApiRequest *r, GError **error)
{
	return write_article(r, TRUE, error);
}

json_t *dk_api_note(DkApiRequest *r, GError **error)
{
	return write_article(r, FALSE, error);
}

/* RFC 6266: filename*=UTF-8''percent-encoded, and an ASCII fallback. */
static char *content_disposition(const char *filename)
{
	g_autofree char *name = file_name(filename);
	g_autofree char *encoded = g_uri_escape_string(name, NULL, FALSE);
	g_autofree char *ascii = g_str_to_ascii(name, NULL);
	g_strdelimit(ascii, "\"\\;", '_');
	return g_strdup_printf("attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, encoded);
}

json_t *dk_api_attachment_get(DkApiRequest *r, GError **error)
{
	DkStore *store = dk_web_store(r->web);
	g_autoptr(DkStoredAttachment) a = dk_store_attachment_get(store, r->id, error);
	if (a == NULL)
		return NULL;
	if (!dk_stored_attachment_kept(a)) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND,
		            "attachment %" G_GINT64_FORMAT " was not kept (over a parse limit)",
		            r->id);
		return NULL;
	}
	g_autoptr(GInputStream) in = dk_store_attachment_stream(store, a, error);
	if (in == NULL)
		return NULL;
	/* Always a download, never rendered in docket's origin. */
	SoupMessageHeaders *h = soup_server_message_get_response_headers(r->msg);
	g_autofree char *disposition = content_disposition(a->filename);
	soup_message_headers_replace(h, "Content-Disposition", disposition);
	soup_message_headers_replace(h, "Content-Security-Policy", "sandbox; default-src 'none'");
	dk_web_respond_stream(r->msg, 200, a->content_type, in, (goffset)a->size);
	return NULL;
}

json_t *dk_api_search(DkApiRequest *r, GError **error)
{
	const char *text = dk_api_param(r, "q");
	g_autofree char *words = g_strstrip(g_strdup(text ? text : ""));
	gint64 limit = 0;
	if (*words == '\0') {
		dk_api_invalid(error, "q: the words to look for");
		return NULL;
	}
	if (!dk_api_param_int(r, "limit", 1, 500, 50, &limit, error))
		return NULL;
	DkStore *store = dk_web_store(r->web);
	g_autoptr(GPtrArray) hits = dk_store_search(store, text, (guint)limit, error);
	if (hits == NULL)
		return NULL;
	return dk_search_json(store, text, hits, error);
}
