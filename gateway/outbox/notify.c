/* Builds notification mail with GMime and makes and reads the per-message
 * bounce addresses (VERP). */
#include "gateway/outbox/notify.h"

#include "gateway/error.h"
#include "gateway/core/ids.h"
#include "gateway/desk/staff.h"
#include "gateway/store/store-outbox.h"
#include "templates/mustache.h"

#include <string.h>

static char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');
	return g_strdup(at ? at + 1 : address);
}

DkNotifySettings *dk_notify_settings_new(const DkConfig *config, GError **error)
{
	g_autoptr(DkNotifySettings) s = g_new0(DkNotifySettings, 1);
	const char *domain = dk_config_get_string(config, "threading", "domain");
	s->domain = g_strdup(*domain ? domain : g_get_host_name());
	const char *from = dk_config_get_string(config, "notify", "from");
	s->from = *from ? g_strdup(from) : g_strdup_printf("docket@%s", s->domain);
	s->from_name = g_strdup(dk_config_get_string(config, "notify", "from_name"));
	const char *bounce = dk_config_get_string(config, "notify", "bounce_address");
	g_autofree char *from_domain = domain_of(s->from);
	s->bounce_base = *bounce ? g_strdup(bounce) : g_strdup_printf("bounces@%s", from_domain);
	s->organisation = g_strdup(dk_config_get_string(config, "notify", "organisation"));
	const char *dir = dk_config_get_string(config, "notify", "templates_dir");
	s->templates_dir = *dir ? g_strdup(dir) : NULL;
	s->token_prefix = g_strdup(dk_config_get_string(config, "threading", "token_prefix"));
	s->staff = dk_staff_new(config);
	s->reply_from_name = g_strdup(dk_config_get_string(config, "notify", "reply_from_name"));
	const char *link = dk_config_get_string(config, "notify", "ticket_link");
	s->ticket_link = *link ? g_strdup(link) : NULL;
	const char *reply_address = dk_config_get_string(config, "threading", "reply_address");
	if (dk_config_get_bool(config, "threading", "reply_addresses") &&
	    dk_notify_address_ok(reply_address))
		s->reply_address = g_strdup(reply_address);
	if (!dk_notify_address_ok(s->from) || !dk_notify_address_ok(s->bounce_base)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "[notify] from “%s” or bounce_address “%s” is not an address", s->from,
		            s->bounce_base);
		return NULL;
	}
	s->secret = dk_ids_secret_load(config, error);
	if (s->secret == NULL)
		return NULL;
	return g_steal_pointer(&s);
}

void dk_notify_settings_free(DkNotifySettings *s)
{
	if (s == NULL)
		return;
	g_free(s->domain);
	g_free(s->from);
	g_free(s->from_name);
	g_free(s->bounce_base);
	g_free(s->organisation);
	g_free(s->templates_dir);
	g_free(s->token_prefix);
	dk_staff_free(s->staff);
	g_free(s->reply_from_name);
	g_free(s->ticket_link);
	g_free(s->reply_address);
	if (s->secret != NULL)
		g_bytes_unref(s->secret);
	g_free(s);
}

char *dk_notify_template_loader(const char *path, gpointer user_data, GError **error)
{
	const DkNotifySettings *s = user_data;
	if (s->templates_dir == NULL)
		return NULL;
	g_autofree char *file = g_build_filename(s->templates_dir, path, NULL);
	char *contents = NULL;
	g_autoptr(GError) local = NULL;
	if (g_file_get_contents(file, &contents, NULL, &local))
		return contents;
	if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		g_propagate_error(error, g_steal_pointer(&local));
	return NULL;
}

static gboolean setting_name(const char *path, gpointer names)
{
	return g_strv_contains(names, path);
}

/* A Mustache setting of [notify] (key) against the names it may use. */
static void check_setting(const DkConfig *config, const char *key, const char *const *names,
                          GPtrArray *problems)
{
	const char *source = dk_config_get_string(config, "notify", key);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkTemplate) t = dk_template_parse(source, &error);
	if (t == NULL) {
		g_ptr_array_add(problems, g_strdup_printf("[notify] %s: %s", key, error->message));
		return;
	}
	g_autoptr(GPtrArray) unknown = dk_template_unknown_names(t, setting_name, (gpointer)names);
	for (guint i = 0; i < unknown->len; i++) {
		const DkTemplateName *n = g_ptr_array_index(unknown, i);
		g_ptr_array_add(
		    problems, g_strdup_printf("[notify] %s: unknown variable “%s”", key, n->name));
	}
}

/* One override file (path, shown as origin); whether it is a
 * notification template (not a partial). */
static gboolean check_file(const char *path, const char *origin, GPtrArray *problems)
{
	g_autofree char *source = NULL;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &source, NULL, &error) ||
	    !dk_notification_check(source, origin, problems, &error))
		g_ptr_array_add(problems, g_strdup(error->message));
	return source != NULL && dk_notification_looks_like(source);
}

/* The .txt and .html files of one folder (prefix: "" or "QUEUE/"); the
 * queue folders of the top one. */
static void check_folder(const char *dir, const char *prefix, GPtrArray *problems, GPtrArray *notes)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
	if (d == NULL) {
		g_ptr_array_add(problems,
		                g_strdup_printf("[notify] templates_dir: %s", error->message));
		return;
	}
	for (const char *name; (name = g_dir_read_name(d)) != NULL;) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		g_autofree char *origin = g_strconcat(prefix, name, NULL);
		if (*prefix == '\0' && name[0] != '.' && g_file_test(path, G_FILE_TEST_IS_DIR)) {
			g_autofree char *sub = g_strconcat(name, "/", NULL);
			check_folder(path, sub, problems, notes);
			continue;
		}
		if (!g_str_has_suffix(name, ".txt") && !g_str_has_suffix(name, ".html"))
			continue;
		if (!check_file(path, origin, problems) || !g_str_has_suffix(name, ".txt"))
			continue;
		g_autofree char *base = g_strndup(name, strlen(name) - 4);
		g_autofree char *html = g_strconcat(base, ".html", NULL);
		g_autofree char *html_path = g_build_filename(dir, html, NULL);
		if (dk_notification_default(html) != NULL &&
		    !g_file_test(html_path, G_FILE_TEST_EXISTS))
			g_ptr_array_add(
			    notes,
			    g_strdup_printf("%s is overridden without %s beside it: that mail goes"
			                    " as plain text alone (the default %s is dropped, as it"
			                    " would no longer match the text)",
			                    origin, html, html));
	}
}

void dk_notify_check_templates(const DkConfig *config, GPtrArray *problems, GPtrArray *notes)
{
	static const char *const from_names[] = {"agent", "agent.name", "agent.address",
	                                         "from_name", NULL};
	static const char *const link_names[] = {"ticket", "ticket.number", "ticket.token", NULL};
	check_setting(config, "reply_from_name", from_names, problems);
	check_setting(config, "ticket_link", link_names, problems);
	const char *dir = dk_config_get_string(config, "notify", "templates_dir");
	if (*dir != '\0')
		check_folder(dir, "", problems, notes);
}

gboolean dk_notify_address_ok(const char *address)
{
	return dk_staff_address_ok(address);
}

/* A msg-id (RFC 5322 section 3.6.4) without its brackets: printable ASCII,
 * no brackets or spaces, with an '@'. */
static gboolean message_id_ok(const char *id)
{
	if (id == NULL || *id == '\0' || strchr(id, '@') == NULL || strlen(id) > 250)
		return FALSE;
	for (const char *p = id; *p != '\0'; p++)
		if ((guchar)*p <= 0x20 || (guchar)*p >= 0x7f || *p == '<' || *p == '>')
			return FALSE;
	return TRUE;
}

/* A one-line copy: every control character (CR and LF above all) becomes a
 * space, so no value can start a header of its own. */
static char *one_line(const char *value)
{
	char *out = g_strdup(value ? value : "");
	for (char *p = out; *p != '\0'; p++)
		if ((guchar)*p < 0x20 || (guchar)*p == 0x7f)
			*p = ' ';
	return g_strstrip(out);
}

static char *subject_with_token(const char *subject, const char *token)
{
	g_autofree char *clean = one_line(subject);
	if (token == NULL || *token == '\0' || strstr(clean, token) != NULL)
		return g_steal_pointer(&clean);
	return g_strdup_printf("%s %s", token, clean);
}

static GMimeObject *text_part(const char *subtype, const char *text)
{
	/* Always UTF-8: g_mime_text_part_set_text() would pick the smallest
	 * charset that fits, which differs from message to message. */
	GMimeTextPart *part = g_mime_text_part_new_with_subtype(subtype);
	const char *t = text ? text : "";
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(t, strlen(t));
	GMimeDataWrapper *content =
	    g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(GMIME_PART(part), content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_text_part_set_charset(part, "utf-8");
	GMimeContentEncoding enc =
	    g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT);
	g_mime_part_set_content_encoding(GMIME_PART(part), enc);
	return GMIME_OBJECT(part);
}

static GMimeObject *body(const DkNotification *n)
{
	GMimeObject *plain = text_part("plain", n->text);
	if (n->html == NULL)
		return plain;
	GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
	g_mime_multipart_add(alt, plain);
	g_object_unref(plain);
	GMimeObject *html = text_part("html", n->html);
	g_mime_multipart_add(alt, html);
	g_object_unref(html);
	return GMIME_OBJECT(alt);
}

void dk_mail_file_free(gpointer file)
{
	DkMailFile *f = file;
	if (f == NULL)
		return;
	g_free((char *)f->filename);
	g_free((char *)f->content_type);
	g_free((char *)f->content_id);
	if (f->data != NULL)
		g_bytes_unref(f->data);
	g_free(f);
}

/* One file as a MIME part: base64, the name RFC 2231-encoded where it
 * needs to be (GMime does that), inline with its Content-ID or an
 * attachment (RFC 2183). */
static GMimeObject *file_part(const DkMailFile *f)
{
	g_autofree char *type =
	    g_strdup(f->content_type ? f->content_type : "application/octet-stream");
	char *slash = strchr(type, '/');
	GMimePart *part = slash ? g_mime_part_new_with_type((*slash = '\0', type), slash + 1)
	                        : g_mime_part_new_with_type("application", "octet-stream");
	gsize len = 0;
	const char *data = g_bytes_get_data(f->data, &len);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data ? data : "", len);
	GMimeDataWrapper *content =
	    g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_autofree char *name = one_line(f->filename);
	GMimeContentDisposition *disposition = g_mime_content_disposition_new();
	g_mime_content_disposition_set_disposition(disposition,
	                                           f->inline_part ? "inline" : "attachment");
	if (*name != '\0')
		g_mime_content_disposition_set_parameter(disposition, "filename", name);
	g_mime_object_set_content_disposition(GMIME_OBJECT(part), disposition);
	g_object_unref(disposition);
	if (*name != '\0')
		g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "name", name);
	if (f->content_id != NULL && message_id_ok(f->content_id))
		g_mime_object_set_content_id(GMIME_OBJECT(part), f->content_id);
	return GMIME_OBJECT(part);
}

/* The body, and the files after it in a multipart/mixed (RFC 2046
 * section 5.1.3) when there are any. */
static GMimeObject *body_with_files(const DkNotification *n, GPtrArray *files)
{
	GMimeObject *text = body(n);
	if (files == NULL || files->len == 0)
		return text;
	GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
	g_mime_multipart_add(mixed, text);
	g_object_unref(text);
	for (guint i = 0; i < files->len; i++) {
		GMimeObject *part = file_part(g_ptr_array_index(files, i));
		g_mime_multipart_add(mixed, part);
		g_object_unref(part);
	}
	return GMIME_OBJECT(mixed);
}

/* In-Reply-To and References (RFC 5322 section 3.6.4): the customer's
 * message and the thread before it; invalid ids are left out. */
static void set_thread_headers(GMimeObject *o, const DkMailHeaders *h)
{
	g_autoptr(GString) refs = g_string_new(NULL);
	for (guint i = 0; h->references != NULL && i < h->references->len; i++) {
		const char *id = g_ptr_array_index(h->references, i);
		if (message_id_ok(id))
			g_string_append_printf(refs, "%s<%s>", refs->len ? " " : "", id);
	}
	if (message_id_ok(h->in_reply_to)) {
		g_autofree char *irt = g_strdup_printf("<%s>", h->in_reply_to);
		g_mime_object_set_header(o, "In-Reply-To", irt, NULL);
		if (strstr(refs->str, irt) == NULL)
			g_string_append_printf(refs, "%s%s", refs->len ? " " : "", irt);
	}
	if (refs->len > 0)
		g_mime_object_set_header(o, "References", refs->str, NULL);
}

static gboolean add_mailbox(GMimeMessage *msg, GMimeAddressType type, const char *name,
                            const char *address, GError **error)
{
	if (!dk_notify_address_ok(address)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "unusable address “%s”",
		            address ? address : "");
		return FALSE;
	}
	g_autofree char *clean = one_line(name);
	g_mime_message_add_mailbox(msg, type, *clean ? clean : NULL, address);
	return TRUE;
}

/* A From or Reply-To line a template gave ("Name <a@b>" or "a@b"): TRUE
 * with its name and address when it holds one usable mailbox. */
static gboolean template_mailbox(const char *text, char **name_out, char **address_out)
{
	if (text == NULL || *text == '\0')
		return FALSE;
	InternetAddressList *list = internet_address_list_parse(NULL, text);
	gboolean ok = list != NULL && internet_address_list_length(list) == 1;
	InternetAddress *a = ok ? internet_address_list_get_address(list, 0) : NULL;
	ok = ok && INTERNET_ADDRESS_IS_MAILBOX(a) &&
	     dk_notify_address_ok(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
	if (ok) {
		*name_out = g_strdup(internet_address_get_name(a));
		*address_out =
		    g_strdup(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
	}
	g_clear_object(&list);
	return ok;
}

GMimeMessage *dk_notify_build_message(const DkNotifySettings *s, const DkNotification *n,
                                      const DkMailHeaders *h, GError **error)
{
	dk_gmime_init();
	GMimeMessage *msg = g_mime_message_new(TRUE);
	GMimeObject *o = GMIME_OBJECT(msg);
	g_autofree char *from_name = NULL, *from = NULL, *reply_name = NULL, *reply_to = NULL;
	if (!template_mailbox(n->from, &from_name, &from)) {
		from_name = g_strdup(h->from_name ? h->from_name : s->from_name);
		from = g_strdup(dk_notify_address_ok(h->from) ? h->from : s->from);
	}
	if (!template_mailbox(n->reply_to, &reply_name, &reply_to) && h->reply_to != NULL)
		reply_to = g_strdup(h->reply_to);
	gboolean ok = add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, from_name, from, error) &&
	              add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, h->to_name, h->to, error) &&
	              (reply_to == NULL ||
	               add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, reply_name, reply_to, error));
	for (guint i = 0; ok && h->cc != NULL && i < h->cc->len; i++)
		ok = add_mailbox(msg, GMIME_ADDRESS_TYPE_CC, NULL, g_ptr_array_index(h->cc, i),
		                 error);
	if (!ok) {
		g_object_unref(msg);
		return NULL;
	}
	g_autofree char *subject = subject_with_token(n->subject, h->token);
	g_mime_message_set_subject(msg, subject, "utf-8");
	g_autoptr(GDateTime) date = g_date_time_new_from_unix_local(h->date);
	g_mime_message_set_date(msg, date);
	if (message_id_ok(h->message_id))
		g_mime_message_set_message_id(msg, h->message_id);
	set_thread_headers(o, h);
	if (h->auto_submitted != NULL) {
		/* RFC 3834 section 5; Exchange honours only its own header. */
		g_mime_object_set_header(o, "Auto-Submitted", h->auto_submitted, NULL);
		g_mime_object_set_header(o, "X-Auto-Response-Suppress", "All", NULL);
	}
	g_mime_object_set_header(o, "X-Loop", s->from, NULL);
	GMimeObject *part = body_with_files(n, h->files);
	g_mime_message_set_mime_part(msg, part);
	g_object_unref(part);
	return msg;
}

GBytes *dk_notify_message_bytes(GMimeMessage *message)
{
	GMimeFormatOptions *options = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_UNIX);
	char *text = g_mime_object_to_string(GMIME_OBJECT(message), options);
	g_mime_format_options_free(options);
	return g_bytes_new_take(text, strlen(text));
}

char *dk_notify_bounce_address(const DkNotifySettings *s, gint64 outbox_id)
{
	return dk_ids_bounce_address(s->secret, s->bounce_base, outbox_id);
}

/* The outbox id in a bounce address of our base with a valid MAC, or 0. */
static gint64 bounce_id(const DkNotifySettings *s, const char *recipient)
{
	const char *at = strrchr(s->bounce_base, '@');
	gsize local = (gsize)(at - s->bounce_base);
	const char *rat = recipient ? strrchr(recipient, '@') : NULL;
	if (rat == NULL || g_ascii_strcasecmp(rat, at) != 0 ||
	    g_ascii_strncasecmp(recipient, s->bounce_base, local) != 0 || recipient[local] != '+')
		return 0;
	return dk_ids_bounce_id(s->secret, recipient);
}

gboolean dk_notify_bounce_lookup(DkStore *store, const DkNotifySettings *s, const char *recipient,
                                 gint64 *outbox_out, gint64 *ticket_out, char **address_out,
                                 GError **error)
{
	gint64 id = bounce_id(s, recipient);
	if (id == 0)
		return FALSE;
	g_autoptr(GError) local = NULL;
	g_autoptr(DkOutboxRow) row = dk_store_outbox_get(store, id, &local);
	if (row == NULL) {
		if (!g_error_matches(local, DK_ERROR, DK_ERROR_NOT_FOUND))
			g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	if (outbox_out != NULL)
		*outbox_out = row->id;
	if (ticket_out != NULL)
		*ticket_out = row->ticket;
	if (address_out != NULL)
		*address_out = g_strdup(row->target);
	return TRUE;
}
