/* The web desk's forms that change something (desk.h): each reads its
 * fields (urlencoded, or multipart with files), checks the session's CSRF
 * token, calls the action the API calls too (actions.h) and leads back to
 * the page it came from; on an error it shows the error, and nothing
 * changed. */
#include "gateway/error.h"
#include "gateway/web/actions.h"
#include "gateway/web/desk-private.h"
#include "gateway/web/desk.h"

#include <string.h>

/* A file of a multipart form. */
typedef struct {
	char *name, *type;
	GBytes *data;
} FormFile;

static void form_file_clear(gpointer data)
{
	FormFile *f = data;
	g_free(f->name);
	g_free(f->type);
	g_bytes_unref(f->data);
}

typedef struct {
	GHashTable *fields; /* name -> value, both owned */
	GArray *files;      /* of FormFile, the part named "files" */
} Form;

static void form_clear(Form *form)
{
	g_clear_pointer(&form->fields, g_hash_table_unref);
	g_clear_pointer(&form->files, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Form, form_clear)

/* The type a file was sent with, or one guessed from its name and content
 * (shared-mime-info) when the browser said nothing useful. */
static char *file_type(const char *sent, const char *name, GBytes *data)
{
	if (sent != NULL && *sent != '\0' && g_ascii_strcasecmp(sent, "application/octet-stream"))
		return g_strdup(sent);
	gsize len = 0;
	const guchar *bytes = g_bytes_get_data(data, &len);
	g_autofree char *guess = g_content_type_guess(name, bytes, len, NULL);
	char *mime = g_content_type_get_mime_type(guess);
	return mime != NULL ? mime : g_strdup("application/octet-stream");
}

/* One part of a multipart form into form. */
static void add_part(Form *form, SoupMessageHeaders *headers, GBytes *body)
{
	g_autofree char *disposition = NULL;
	g_autoptr(GHashTable) params = NULL;
	if (!soup_message_headers_get_content_disposition(headers, &disposition, &params) ||
	    g_ascii_strcasecmp(disposition, "form-data") != 0)
		return;
	const char *name = g_hash_table_lookup(params, "name");
	const char *filename = g_hash_table_lookup(params, "filename");
	if (name == NULL)
		return;
	if (filename == NULL) {
		gsize len = 0;
		const char *data = g_bytes_get_data(body, &len);
		g_hash_table_replace(form->fields, g_strdup(name),
		                     g_strndup(data ? data : "", len));
		return;
	}
	if (strcmp(name, "files") != 0 || *filename == '\0')
		return; /* no file chosen: an empty part */
	const char *sent = soup_message_headers_get_content_type(headers, NULL);
	g_autofree char *base = g_path_get_basename(filename);
	FormFile f = {.name = g_utf8_make_valid(base, -1), .data = g_bytes_ref(body)};
	f.type = file_type(sent, f.name, body);
	g_array_append_val(form->files, f);
}

/* Reads the request's form; FALSE and DK_WEB_ERROR_INVALID when it is
 * neither urlencoded nor multipart/form-data. */
static gboolean form_read(SoupServerMessage *msg, Form *form, GError **error)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	const char *type = soup_message_headers_get_content_type(h, NULL);
	g_autoptr(GBytes) body =
	    soup_message_body_flatten(soup_server_message_get_request_body(msg));
	form->fields = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	form->files = g_array_new(FALSE, TRUE, sizeof(FormFile));
	g_array_set_clear_func(form->files, form_file_clear);
	if (type != NULL && g_ascii_strcasecmp(type, "application/x-www-form-urlencoded") == 0) {
		g_autofree char *text =
		    g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
		g_hash_table_unref(form->fields);
		form->fields = soup_form_decode(text);
		if (form->fields == NULL)
			form->fields =
			    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		return TRUE;
	}
	SoupMultipart *multipart =
	    type != NULL && g_ascii_strcasecmp(type, "multipart/form-data") == 0
	        ? soup_multipart_new_from_message(h, body)
	        : NULL;
	if (multipart == NULL) {
		g_set_error(error, DK_WEB_ERROR, DK_WEB_ERROR_INVALID,
		            "The form came in an encoding the desk does not read.");
		return FALSE;
	}
	for (int i = 0; i < soup_multipart_get_length(multipart); i++) {
		SoupMessageHeaders *part_headers = NULL;
		GBytes *part = NULL;
		if (soup_multipart_get_part(multipart, i, &part_headers, &part))
			add_part(form, part_headers, part);
	}
	soup_multipart_free(multipart);
	return TRUE;
}

/* Every field's text must be UTF-8 (what the pages declare): else the
 * form is refused whole, DK_WEB_ERROR_INVALID. */
static gboolean fields_valid(const Form *form, GError **error)
{
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, form->fields);
	while (g_hash_table_iter_next(&it, &key, &value))
		if (!g_utf8_validate(key, -1, NULL) || !g_utf8_validate(value, -1, NULL)) {
			g_set_error(error, DK_WEB_ERROR, DK_WEB_ERROR_INVALID,
			            "The form's text is not UTF-8.");
			return FALSE;
		}
	return TRUE;
}

static const char *field(const Form *form, const char *name)
{
	return g_hash_table_lookup(form->fields, name);
}

/* The files of form as the actions take them (borrowing form's). */
static GArray *reply_files(const Form *form)
{
	GArray *files = g_array_new(FALSE, TRUE, sizeof(DkReplyFile));
	for (guint i = 0; i < form->files->len; i++) {
		const FormFile *f = &g_array_index(form->files, FormFile, i);
		DkReplyFile file = {.filename = f->name, .content_type = f->type, .data = f->data};
		g_array_append_val(files, file);
	}
	return files;
}

/* A public reply or an internal note, with the files chosen. */
static gboolean post_article(DkDeskRequest *r, const Form *form, gint64 ticket, gboolean reply,
                             gint64 *article_out, GError **error)
{
	const char *text = field(form, "text");
	g_autoptr(GArray) files = reply_files(form);
	const DkReplyFile *list = files->len > 0 ? (const DkReplyFile *)files->data : NULL;
	if (reply)
		return dk_web_reply(r->desk->web, r->user, ticket, text, list, files->len,
		                    article_out, error);
	return dk_web_note(r->desk->web, r->user, ticket, text, list, files->len, article_out,
	                   error);
}

/* The tags of the form's "tags" field (comma-separated) against the
 * ticket's: those to add and to remove, NULL-terminated, into the arrays. */
static gboolean tag_changes(DkDeskRequest *r, const char *text, gint64 ticket, GPtrArray *add,
                            GPtrArray *remove, GError **error)
{
	g_autoptr(GPtrArray) now = dk_store_tags(dk_web_store(r->desk->web), ticket, error);
	if (now == NULL)
		return FALSE;
	g_auto(GStrv) wanted = g_strsplit(text, ",", -1);
	for (guint i = 0; wanted[i] != NULL; i++) {
		g_strstrip(wanted[i]);
		if (*wanted[i] != '\0' &&
		    !g_ptr_array_find_with_equal_func(now, wanted[i], g_str_equal, NULL) &&
		    !g_ptr_array_find_with_equal_func(add, wanted[i], g_str_equal, NULL))
			g_ptr_array_add(add, g_strdup(wanted[i]));
	}
	for (guint i = 0; i < now->len; i++)
		if (!g_strv_contains((const char *const *)wanted, g_ptr_array_index(now, i)))
			g_ptr_array_add(remove, g_strdup(g_ptr_array_index(now, i)));
	g_ptr_array_add(add, NULL);
	g_ptr_array_add(remove, NULL);
	return TRUE;
}

/* The ticket form: every field as it stands in the form (one equal to the
 * ticket's changes nothing); the tags listed are the ticket's tags after. */
static gboolean post_set(DkDeskRequest *r, const Form *form, gint64 ticket, GError **error)
{
	const char *assignee = field(form, "assignee"), *tags = field(form, "tags");
	g_autofree char *who = assignee != NULL ? g_strstrip(g_strdup(assignee)) : NULL;
	g_autoptr(GPtrArray) add = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) remove = g_ptr_array_new_with_free_func(g_free);
	if (tags != NULL && !tag_changes(r, tags, ticket, add, remove, error))
		return FALSE;
	DkTicketChange change = {
	    .status = field(form, "status"),
	    .priority = field(form, "priority"),
	    .queue = field(form, "queue"),
	    .assignee = who,
	    .tags_add = add->len > 1 ? (const char *const *)add->pdata : NULL,
	    .tags_remove = remove->len > 1 ? (const char *const *)remove->pdata : NULL,
	};
	return dk_web_ticket_update(r->desk->web, r->user, ticket, &change, error);
}

/* A form of a ticket's page: reply, note or set. */
static gboolean post_ticket(DkDeskRequest *r, const Form *form, gint64 ticket, const char *what,
                            GError **error)
{
	gint64 article = 0;
	gboolean ok =
	    strcmp(what, "set") == 0
	        ? post_set(r, form, ticket, error)
	        : post_article(r, form, ticket, strcmp(what, "reply") == 0, &article, error);
	if (!ok)
		return FALSE;
	g_autofree char *to =
	    article ? g_strdup_printf(DK_DESK_BASE "/tickets/%" G_GINT64_FORMAT
	                                           "?done=%s#article-%" G_GINT64_FORMAT,
	                              ticket, what, article)
	            : g_strdup_printf(DK_DESK_BASE "/tickets/%" G_GINT64_FORMAT "?done=%s", ticket,
	                              what);
	dk_desk_redirect(r, to);
	return TRUE;
}

/* A quarantined message through the pipeline again; released, it becomes
 * an article whatever set it aside. */
/* A ticket an agent opens for a customer (a call, a chat). */
static gboolean post_new(DkDeskRequest *r, const Form *form, GError **error)
{
	const char *assignee = field(form, "assignee");
	DkTicketNew t = {
	    .subject = field(form, "subject"),
	    .requester = field(form, "requester"),
	    .text = field(form, "text"),
	    .priority = field(form, "priority"),
	    .queue = field(form, "queue"),
	    .assignee = assignee != NULL && *assignee != '\0' ? assignee : NULL,
	};
	gint64 number = 0;
	if (!dk_web_ticket_create(r->desk->web, r->user, &t, &number, error))
		return FALSE;
	g_autofree char *to =
	    g_strdup_printf(DK_DESK_BASE "/tickets/%" G_GINT64_FORMAT "?done=new", number);
	dk_desk_redirect(r, to);
	return TRUE;
}

static gboolean post_reprocess(DkDeskRequest *r, gint64 id, gboolean release, GError **error)
{
	gint64 ticket = 0;
	if (!dk_web_quarantine_reprocess(r->desk->web, r->user, id, release, &ticket, error))
		return FALSE;
	g_autofree char *to =
	    ticket ? g_strdup_printf(DK_DESK_BASE "/tickets/%" G_GINT64_FORMAT, ticket)
	           : g_strdup(DK_DESK_BASE "/quarantine?done=reprocess");
	dk_desk_redirect(r, to);
	return TRUE;
}

static gboolean post_retry(DkDeskRequest *r, gint64 id, GError **error)
{
	if (!dk_web_outbox_retry(r->desk->web, r->user, id, error))
		return FALSE;
	dk_desk_redirect(r, DK_DESK_BASE "/outbox?done=retry");
	return TRUE;
}

/* Runs the form at parts ("tickets", "7", "reply"); FALSE with error when
 * it failed, *known_out FALSE when no form has that path. */
static gboolean dispatch(DkDeskRequest *r, const Form *form, char **parts, gboolean *known_out,
                         GError **error)
{
	guint n = g_strv_length(parts);
	gint64 id = 0;
	*known_out = TRUE;
	if (n == 1 && strcmp(parts[0], "logout") == 0) {
		if (!dk_session_end(r->desk->web, r->msg, error))
			return FALSE;
		dk_desk_redirect(r, DK_DESK_BASE "/login");
		return TRUE;
	}
	if (n == 1 && strcmp(parts[0], "new") == 0)
		return post_new(r, form, error);
	if (n == 3 && strcmp(parts[0], "tickets") == 0 && dk_desk_parse_id(parts[1], &id) &&
	    (!strcmp(parts[2], "reply") || !strcmp(parts[2], "note") || !strcmp(parts[2], "set")))
		return post_ticket(r, form, id, parts[2], error);
	if (n == 3 && strcmp(parts[0], "quarantine") == 0 && dk_desk_parse_id(parts[1], &id) &&
	    (!strcmp(parts[2], "reprocess") || !strcmp(parts[2], "release")))
		return post_reprocess(r, id, strcmp(parts[2], "release") == 0, error);
	if (n == 3 && strcmp(parts[0], "outbox") == 0 && dk_desk_parse_id(parts[1], &id) &&
	    strcmp(parts[2], "retry") == 0)
		return post_retry(r, id, error);
	*known_out = FALSE;
	return TRUE;
}

gboolean dk_desk_forms_post(DkDeskRequest *r)
{
	g_auto(Form) form = {0};
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) parts = g_strsplit(r->path + 1, "/", 4);
	gboolean known = TRUE;
	if (!form_read(r->msg, &form, &error) || !fields_valid(&form, &error) ||
	    !dk_session_check_csrf(r->session, field(&form, "csrf"), &error) ||
	    !dispatch(r, &form, parts, &known, &error)) {
		g_message("desk event=form path=%s user=%s result=refused error=\"%s\"", r->path,
		          r->user->name, error->message);
		dk_desk_fail(r, error);
		return TRUE;
	}
	if (known)
		g_message("desk event=form path=%s user=%s result=ok", r->path, r->user->name);
	return known;
}
