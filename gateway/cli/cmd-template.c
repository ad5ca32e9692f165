/* `docket template render`: renders a notification template (header lines, a
 * blank line, a body) or a plain Mustache template against a JSON file, so an
 * administrator can preview an override before installing it. */
#include "gateway/cli/cmd-template.h"

#include "gateway/cli/cli.h"
#include "templates/mustache.h"
#include "templates/notification.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

typedef struct {
	const char *dir; /* --partials, or NULL */
	const char *ext; /* the extension of FILE, e.g. ".txt", or "" */
} PartialDir;

/* Reads DIR/PATH; a missing file is "no such partial", not an error. PATH
 * comes from templates, so it may not leave DIR. */
static char *read_in_dir(const char *dir, const char *path, GError **error)
{
	if (dir == NULL || path[0] == '\0' || g_path_is_absolute(path) ||
	    strstr(path, "..") != NULL)
		return NULL;
	g_autofree char *file = g_build_filename(dir, path, NULL);
	char *contents = NULL;
	GError *local = NULL;
	if (!g_file_get_contents(file, &contents, NULL, &local)) {
		if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			g_propagate_error(error, local);
		else
			g_error_free(local);
		return NULL;
	}
	return contents;
}

/* DkTemplateFileLoader for notification templates: partials are NAME.txt. */
static char *load_file(const char *path, gpointer user_data, GError **error)
{
	const PartialDir *pd = user_data;
	return read_in_dir(pd->dir, path, error);
}

/* DkPartialLoader for plain templates: DIR/NAME, then DIR/NAME.EXT, then the
 * built-in NAME.EXT (so {{> signature}} previews like the defaults). */
static char *load_partial(const char *name, gpointer user_data, GError **error)
{
	const PartialDir *pd = user_data;
	GError *local = NULL;
	char *src = read_in_dir(pd->dir, name, &local);
	if (src == NULL && local == NULL && pd->ext[0] != '\0') {
		g_autofree char *with_ext = g_strconcat(name, pd->ext, NULL);
		src = read_in_dir(pd->dir, with_ext, &local);
	}
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	if (src == NULL) {
		g_autofree char *builtin = g_strconcat(name, pd->ext, NULL);
		src = g_strdup(dk_notification_default(builtin));
	}
	return src;
}

/* Prints a template error as FILE:LINE:COLUMN: what. */
static int template_failed(const char *file, const GError *error)
{
	guint line = 0, column = 0;
	const char *what = NULL;
	if (dk_template_error_position(error, &line, &column, &what))
		fprintf(stderr, "%s:%u:%u: %s\n", file, line, column, what);
	else
		fprintf(stderr, "%s: %s\n", file, error->message);
	return DK_EXIT_DATAERR;
}

static int render_notification(const char *file, const char *source, json_t *data, PartialDir *pd)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkNotification) n =
	    dk_notification_render(source, NULL, file, data, NULL, load_file, pd, &error);
	if (n == NULL) {
		fprintf(stderr, "%s\n", error->message);
		return DK_EXIT_DATAERR;
	}
	printf("Subject: %s\n", n->subject);
	if (n->from != NULL)
		printf("From: %s\n", n->from);
	if (n->reply_to != NULL)
		printf("Reply-To: %s\n", n->reply_to);
	printf("\n%s", n->text);
	return DK_EXIT_OK;
}

static int render_plain(const char *file, const char *source, gsize len, json_t *data,
                        DkTemplateEscape escape, PartialDir *pd)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkTemplate) t = dk_template_parse_at(source, len, 1, 1, &error);
	if (t == NULL)
		return template_failed(file, error);
	DkTemplateOptions opts = {.escape = escape, .loader = load_partial, .user_data = pd};
	g_autofree char *out = dk_template_render_with(t, data, &opts, &error);
	if (out == NULL)
		return template_failed(file, error);
	fputs(out, stdout);
	return DK_EXIT_OK;
}

/* Reads DATA.json: 66 when it cannot be read, 65 when it is not JSON. */
static json_t *load_data(const char *path, int *status_out)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &text, &len, &error)) {
		fprintf(stderr, "docket template: %s\n", error->message);
		*status_out = EX_NOINPUT;
		return NULL;
	}
	json_error_t jerr;
	json_t *data = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (data == NULL) {
		fprintf(stderr, "%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
		*status_out = DK_EXIT_DATAERR;
	}
	return data;
}

static int usage_error(GOptionContext *ctx, const char *message)
{
	g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);
	fprintf(stderr, "docket template: %s\n\n%s", message, help);
	return DK_EXIT_USAGE;
}

static gboolean escape_from(const char *name, const char *file, DkTemplateEscape *out)
{
	if (name == NULL)
		*out = g_str_has_suffix(file, ".html") || g_str_has_suffix(file, ".htm")
		           ? DK_TEMPLATE_ESCAPE_HTML
		           : DK_TEMPLATE_ESCAPE_NONE;
	else if (strcmp(name, "html") == 0)
		*out = DK_TEMPLATE_ESCAPE_HTML;
	else if (strcmp(name, "none") == 0)
		*out = DK_TEMPLATE_ESCAPE_NONE;
	else
		return FALSE;
	return TRUE;
}

/* --strict: every name the template uses is one of the notification
 * data's (templates/notification.h); else each is listed, exit 65. */
static int check_names(const char *file, const char *source)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	if (!dk_notification_check(source, file, problems, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return DK_EXIT_DATAERR;
	}
	for (guint i = 0; i < problems->len; i++)
		fprintf(stderr, "%s\n", (char *)g_ptr_array_index(problems, i));
	return problems->len > 0 ? DK_EXIT_DATAERR : DK_EXIT_OK;
}

int dk_cmd_template(int argc, char **argv)
{
	g_autofree char *partials = NULL;
	g_autofree char *escape_name = NULL;
	gboolean strict = FALSE;
	GOptionEntry entries[] = {
	    {"strict", 's', 0, G_OPTION_ARG_NONE, &strict,
	     "Refuse a template that uses a name docket's data has not (it would render as"
	     " nothing): each is listed as FILE:LINE:COLUMN",
	     NULL},
	    {"partials", 'p', 0, G_OPTION_ARG_FILENAME, &partials,
	     "Find partials ({{> name}}) in DIR", "DIR"},
	    {"escape", 'e', 0, G_OPTION_ARG_STRING, &escape_name,
	     "Escape {{values}} as html or none (default: html for .html files)", "MODE"},
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("render FILE DATA.json");
	g_option_context_set_summary(
	    ctx, "Render a template against JSON data and print the result. A FILE that starts\n"
	         "with a Subject, From or Reply-To line is a notification: its header lines\n"
	         "and body are rendered as docket sends them, the body without HTML escaping.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	/* Usage lines read "docket template ...": GLib names the program after
	 * argv[0] unless it was named already. */
	g_autofree char **args = g_new0(char *, argc + 1);
	memcpy(args, argv, sizeof(char *) * (gsize)argc);
	args[0] = "docket template";
	g_autoptr(GError) error = NULL;
	if (!g_option_context_parse(ctx, &argc, &args, &error))
		return usage_error(ctx, error->message);
	if (argc != 4 || strcmp(args[1], "render") != 0)
		return usage_error(ctx, "expected: render FILE DATA.json");
	const char *file = args[2];
	DkTemplateEscape escape;
	if (!escape_from(escape_name, file, &escape))
		return usage_error(ctx, "--escape must be html or none");
	g_autofree char *source = NULL;
	gsize len = 0;
	if (!g_file_get_contents(file, &source, &len, &error)) {
		fprintf(stderr, "docket template: %s\n", error->message);
		return EX_NOINPUT;
	}
	int status = DK_EXIT_OK;
	if (strict && strlen(source) == len && (status = check_names(file, source)) != DK_EXIT_OK)
		return status;
	json_t *data = load_data(args[3], &status);
	if (data == NULL)
		return status;
	const char *dot = strrchr(file, '.');
	PartialDir pd = {.dir = partials,
	                 .ext = dot != NULL && strchr(dot, '/') == NULL ? dot : ""};
	status = dk_notification_looks_like(source) && strlen(source) == len
	             ? render_notification(file, source, data, &pd)
	             : render_plain(file, source, len, data, escape, &pd);
	json_decref(data);
	return status;
}
