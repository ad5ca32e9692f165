/* Notification templates: split a template file into header lines and body,
 * render both with templates/mustache, keep header values on one line, and
 * find a template in the override folder before the compiled-in default. */
#include "templates/notification.h"

#include "templates/defaults-private.h"
#include "templates/mustache.h"

#include <string.h>

G_DEFINE_QUARK(dk - notification - error - quark, dk_notification_error)

/* The header lines a template may set; the outbox adds the rest (RFC 5322
 * section 3.6: Date, Message-ID, To, threading). */
enum { HDR_SUBJECT, HDR_FROM, HDR_REPLY_TO, HDR_COUNT };
static const char *const header_names[HDR_COUNT] = {"Subject", "From", "Reply-To"};

typedef struct {
	const char *value; /* points into the source */
	gsize len;
	guint line, column;
	gboolean present;
} Header;

typedef struct {
	Header headers[HDR_COUNT];
	const char *body;
	guint body_line;
} Parts;

/* The context a partial loader needs to look partials up like templates. */
typedef struct {
	const char *queue;
	DkTemplateFileLoader loader;
	gpointer user_data;
	const char *ext; /* ".txt" or ".html" */
} PartialContext;

void dk_notification_free(DkNotification *n)
{
	if (n == NULL)
		return;
	g_free(n->subject);
	g_free(n->from);
	g_free(n->reply_to);
	g_free(n->text);
	g_free(n->html);
	g_free(n);
}

const char *dk_notification_default(const char *name)
{
	for (const DkDefaultTemplate *d = dk_default_templates; d->name != NULL; d++)
		if (strcmp(d->name, name) == 0)
			return d->source;
	return NULL;
}

const char **dk_notification_default_names(void)
{
	GPtrArray *names = g_ptr_array_new();
	for (const DkDefaultTemplate *d = dk_default_templates; d->name != NULL; d++)
		g_ptr_array_add(names, (gpointer)d->name);
	g_ptr_array_add(names, NULL);
	return (const char **)g_ptr_array_free(names, FALSE);
}

static int header_index(const char *name, gsize len)
{
	for (int i = 0; i < HDR_COUNT; i++)
		if (strlen(header_names[i]) == len &&
		    g_ascii_strncasecmp(name, header_names[i], len) == 0)
			return i;
	return -1;
}

gboolean dk_notification_looks_like(const char *source)
{
	const char *colon = strchr(source, ':');
	const char *nl = strchr(source, '\n');
	return colon != NULL && (nl == NULL || colon < nl) &&
	       header_index(source, (gsize)(colon - source)) >= 0;
}

static gboolean syntax_error(GError **error, const char *origin, guint line, guint column,
                             const char *what)
{
	g_set_error(error, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_SYNTAX, "%s:%u:%u: %s",
	            origin, line, column, what);
	return FALSE;
}

/* One header line "Name: value" of LEN bytes (without its line ending). */
static gboolean parse_header_line(Parts *parts, const char *line, gsize len, guint lineno,
                                  const char *origin, GError **error)
{
	if (line[0] == ' ' || line[0] == '\t')
		return syntax_error(error, origin, lineno, 1,
		                    "folded header lines are not supported");
	const char *colon = memchr(line, ':', len);
	int idx = colon != NULL ? header_index(line, (gsize)(colon - line)) : -1;
	if (idx < 0)
		return syntax_error(error, origin, lineno, 1,
		                    "expected a Subject, From or Reply-To header line, or a blank "
		                    "line before the body");
	Header *h = &parts->headers[idx];
	if (h->present)
		return syntax_error(error, origin, lineno, 1, "header line given twice");
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*h = (Header){.value = v,
	              .len = (gsize)(end - v),
	              .line = lineno,
	              .column = (guint)(v - line) + 1,
	              .present = TRUE};
	return TRUE;
}

/* Splits SOURCE at the first empty line into header lines and the body. */
static gboolean split_source(const char *source, const char *origin, Parts *parts, GError **error)
{
	memset(parts, 0, sizeof(*parts));
	const char *p = source;
	for (guint lineno = 1;; lineno++) {
		const char *nl = strchr(p, '\n');
		gsize len = nl != NULL ? (gsize)(nl - p) : strlen(p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0 && nl != NULL) {
			parts->body = nl + 1;
			parts->body_line = lineno + 1;
			break;
		}
		if (len > 0 && !parse_header_line(parts, p, len, lineno, origin, error))
			return FALSE;
		if (nl == NULL)
			return syntax_error(error, origin, lineno, 1,
			                    "no blank line between the header lines and the body");
		p = nl + 1;
	}
	if (!parts->headers[HDR_SUBJECT].present)
		return syntax_error(error, origin, 1, 1, "no Subject header line");
	return TRUE;
}

/* Re-words a template error as "ORIGIN:LINE:COLUMN: what". */
static void propagate_template_error(GError **error, GError *local, const char *origin)
{
	guint line = 0, column = 0;
	const char *what = NULL;
	if (dk_template_error_position(local, &line, &column, &what))
		g_set_error(error, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_SYNTAX,
		            "%s:%u:%u: %s", origin, line, column, what);
	else
		g_set_error(error, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_RENDER, "%s: %s",
		            origin, local->message);
	g_error_free(local);
}

/* Names come from templates and queue configuration; none may leave the
 * folder it is looked up in. */
static gboolean is_safe_name(const char *name)
{
	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return FALSE;
	for (const char *p = name; *p != '\0'; p++)
		if (*p == '/' || *p == '\\' || (guchar)*p < 0x20 || *p == 0x7f)
			return FALSE;
	return TRUE;
}

/* Asks LOADER for PATH; TRUE when it answered (found or failed). */
static gboolean try_loader(DkTemplateFileLoader loader, gpointer user_data, char *path,
                           char **src_out, char **origin_out, GError **error)
{
	GError *local = NULL;
	*src_out = loader(path, user_data, &local);
	if (local != NULL) {
		g_propagate_prefixed_error(error, local, "%s: ", path);
		g_free(path);
		return TRUE;
	}
	if (*src_out == NULL) {
		g_free(path);
		return FALSE;
	}
	if (origin_out != NULL)
		*origin_out = path;
	else
		g_free(path);
	return TRUE;
}

char *dk_notification_find(const char *name, const char *queue, DkTemplateFileLoader loader,
                           gpointer user_data, char **origin_out, GError **error)
{
	if (!is_safe_name(name)) {
		g_set_error(error, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_NAME,
		            "bad template name \"%s\"", name != NULL ? name : "");
		return NULL;
	}
	char *src = NULL;
	/* A queue whose name cannot be a folder name has no override folder. */
	if (loader != NULL && is_safe_name(queue) &&
	    try_loader(loader, user_data, g_strconcat(queue, "/", name, NULL), &src, origin_out,
	               error))
		return src;
	if (loader != NULL &&
	    try_loader(loader, user_data, g_strdup(name), &src, origin_out, error))
		return src;
	const char *def = dk_notification_default(name);
	if (def == NULL) {
		g_set_error(error, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_NOT_FOUND,
		            "no template \"%s\"", name);
		return NULL;
	}
	if (origin_out != NULL)
		*origin_out = g_strconcat("default/", name, NULL);
	return g_strdup(def);
}

/* A missing partial renders as nothing, as the Mustache spec asks. */
static char *load_partial(const char *name, gpointer user_data, GError **error)
{
	PartialContext *pc = user_data;
	g_autofree char *file = g_strconcat(name, pc->ext, NULL);
	GError *local = NULL;
	char *src = dk_notification_find(file, pc->queue, pc->loader, pc->user_data, NULL, &local);
	if (g_error_matches(local, DK_NOTIFICATION_ERROR, DK_NOTIFICATION_ERROR_NOT_FOUND))
		g_clear_error(&local);
	if (local != NULL)
		g_propagate_error(error, local);
	return src;
}

static char *render_part(const char *src, gsize len, guint line, guint column, const char *origin,
                         json_t *data, const DkTemplateOptions *opts, GError **error)
{
	GError *local = NULL;
	g_autoptr(DkTemplate) t = dk_template_parse_at(src, len, line, column, &local);
	char *out = t != NULL ? dk_template_render_with(t, data, opts, &local) : NULL;
	if (out == NULL)
		propagate_template_error(error, local, origin);
	return out;
}

/* Renders a header value; CR and LF become spaces so that no value from a
 * message or ticket can start a header line of its own (RFC 5322 section
 * 2.2: a header field is one line unless folded). */
static gboolean render_header(const Header *h, const char *origin, json_t *data,
                              const DkTemplateOptions *opts, char **out, GError **error)
{
	if (!h->present)
		return TRUE;
	char *v = render_part(h->value, h->len, h->line, h->column, origin, data, opts, error);
	if (v == NULL)
		return FALSE;
	for (char *p = v; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	*out = g_strstrip(v);
	return TRUE;
}

DkNotification *dk_notification_render(const char *source, const char *html_source,
                                       const char *origin, json_t *data, const char *queue,
                                       DkTemplateFileLoader loader, gpointer user_data,
                                       GError **error)
{
	if (origin == NULL)
		origin = "template";
	Parts parts;
	if (!split_source(source, origin, &parts, error))
		return NULL;
	PartialContext pc = {
	    .queue = queue, .loader = loader, .user_data = user_data, .ext = ".txt"};
	DkTemplateOptions opts = {
	    .escape = DK_TEMPLATE_ESCAPE_NONE, .loader = load_partial, .user_data = &pc};
	g_autoptr(DkNotification) n = g_new0(DkNotification, 1);
	char **fields[HDR_COUNT] = {&n->subject, &n->from, &n->reply_to};
	for (int i = 0; i < HDR_COUNT; i++)
		if (!render_header(&parts.headers[i], origin, data, &opts, fields[i], error))
			return NULL;
	n->text = render_part(parts.body, strlen(parts.body), parts.body_line, 1, origin, data,
	                      &opts, error);
	if (n->text == NULL)
		return NULL;
	if (html_source != NULL) {
		g_autofree char *html_origin =
		    g_str_has_suffix(origin, ".txt")
		        ? g_strdup_printf("%.*s.html", (int)strlen(origin) - 4, origin)
		        : g_strconcat(origin, " (HTML)", NULL);
		pc.ext = ".html";
		opts.escape = DK_TEMPLATE_ESCAPE_HTML;
		n->html = render_part(html_source, strlen(html_source), 1, 1, html_origin, data,
		                      &opts, error);
		if (n->html == NULL)
			return NULL;
	}
	return g_steal_pointer(&n);
}

/* The HTML sibling comes from the same place as the text template, so an
 * overridden text body is never paired with a stale default HTML body. */
static char *find_sibling(const char *origin, const char *html_name, DkTemplateFileLoader loader,
                          gpointer user_data, GError **error)
{
	if (g_str_has_prefix(origin, "default/"))
		return g_strdup(dk_notification_default(html_name));
	g_autofree char *dir = g_path_get_dirname(origin);
	char *path =
	    strcmp(dir, ".") == 0 ? g_strdup(html_name) : g_strconcat(dir, "/", html_name, NULL);
	char *src = NULL;
	try_loader(loader, user_data, path, &src, NULL, error);
	return src;
}

DkNotification *dk_notification_build(const char *name, const char *queue, json_t *data,
                                      DkTemplateFileLoader loader, gpointer user_data,
                                      GError **error)
{
	g_autofree char *text_name = g_strconcat(name, ".txt", NULL);
	g_autofree char *html_name = g_strconcat(name, ".html", NULL);
	g_autofree char *origin = NULL;
	g_autofree char *text =
	    dk_notification_find(text_name, queue, loader, user_data, &origin, error);
	if (text == NULL)
		return NULL;
	GError *local = NULL;
	g_autofree char *html = find_sibling(origin, html_name, loader, user_data, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	return dk_notification_render(text, html, origin, data, queue, loader, user_data, error);
}

gboolean dk_notification_known(const char *path)
{
	static const char *const names[] = {
	    "ticket",        "ticket.number",    "ticket.token",      "ticket.subject",
	    "ticket.status", "ticket.priority",  "ticket.queue",      "ticket.link",
	    "article",       "article.new_text", "article.full_text", "article.sender",
	    "requester",     "requester.name",   "requester.address", "agent",
	    "agent.name",    "agent.address",    "organisation",      "organisation.name",
	    "sla",           "sla.target",       "sla.due",           NULL};
	return path != NULL && g_strv_contains(names, path);
}

static gboolean known_name(const char *path, gpointer unused)
{
	(void)unused;
	return dk_notification_known(path);
}

/* Parses LEN bytes at LINE:COLUMN of ORIGIN and lists its unknown names. */
static gboolean check_part(const char *src, gsize len, guint line, guint column, const char *origin,
                           GPtrArray *problems, GError **error)
{
	GError *local = NULL;
	g_autoptr(DkTemplate) t = dk_template_parse_at(src, len, line, column, &local);
	if (t == NULL) {
		propagate_template_error(error, local, origin);
		return FALSE;
	}
	g_autoptr(GPtrArray) unknown = dk_template_unknown_names(t, known_name, NULL);
	for (guint i = 0; i < unknown->len; i++) {
		const DkTemplateName *n = g_ptr_array_index(unknown, i);
		g_ptr_array_add(problems, g_strdup_printf("%s:%u:%u: unknown variable “%s”", origin,
		                                          n->line, n->column, n->name));
	}
	return TRUE;
}

gboolean dk_notification_check(const char *source, const char *origin, GPtrArray *problems,
                               GError **error)
{
	if (!dk_notification_looks_like(source))
		return check_part(source, strlen(source), 1, 1, origin, problems, error);
	Parts parts;
	if (!split_source(source, origin, &parts, error))
		return FALSE;
	for (int i = 0; i < HDR_COUNT; i++) {
		const Header *h = &parts.headers[i];
		if (h->present &&
		    !check_part(h->value, h->len, h->line, h->column, origin, problems, error))
			return FALSE;
	}
	return check_part(parts.body, strlen(parts.body), parts.body_line, 1, origin, problems,
	                  error);
}
