/* libFuzzer target for templates/: parses the input as a Mustache template
 * (and as a notification template) and renders it. The input is
 * TEMPLATE [NUL DATA.json [NUL PARTIAL]]; the partial "self" is the template
 * itself and "p" is PARTIAL, so recursion and partial indentation are reached. */
#include <stdint.h>
#include <string.h>

#include "templates/mustache.h"
#include "templates/notification.h"

typedef struct {
	const char *self, *partial;
} Partials;

static char *load(const char *name, gpointer user_data, GError **error)
{
	const Partials *p = user_data;
	if (strcmp(name, "self") == 0)
		return g_strdup(p->self);
	if (strcmp(name, "p") == 0 && p->partial != NULL)
		return g_strdup(p->partial);
	if (strcmp(name, "err") == 0)
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "loader failed");
	return NULL;
}

/* Notification partials arrive as "q/NAME.txt" and "NAME.txt": map them to
 * the same set ("q/p.txt" is "p") so overrides and siblings are reached. */
static char *load_file(const char *path, gpointer user_data, GError **error)
{
	g_autofree char *name = g_path_get_basename(path);
	char *dot = strrchr(name, '.');
	if (dot != NULL)
		*dot = '\0';
	return load(name, user_data, error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *copy = g_strndup((const char *)data, size);
	const char *end = (const char *)data + size;
	const char *json_text = memchr(data, '\0', size);
	const char *partial = NULL;
	if (json_text != NULL) {
		json_text++;
		const char *p = memchr(json_text, '\0', (size_t)(end - json_text));
		if (p != NULL)
			partial = p + 1;
	}
	json_t *ctx = NULL;
	if (json_text != NULL)
		ctx = json_loadb(json_text,
		                 (size_t)((partial != NULL ? partial - 1 : end) - json_text),
		                 JSON_DECODE_ANY, NULL);
	g_autofree char *partial_copy =
	    partial != NULL ? g_strndup(partial, (gsize)(end - partial)) : NULL;
	Partials parts = {.self = copy, .partial = partial_copy};
	DkTemplateOptions opts = {.escape =
	                              size % 2 ? DK_TEMPLATE_ESCAPE_HTML : DK_TEMPLATE_ESCAPE_NONE,
	                          .loader = load,
	                          .user_data = &parts,
	                          .max_partial_depth = 8,
	                          .max_output = 1 << 20,
	                          .max_steps = 200000};
	DkTemplate *t = dk_template_parse(copy, NULL);
	if (t != NULL) {
		g_free(dk_template_render_with(t, ctx, &opts, NULL));
		dk_template_free(t);
	}
	DkNotification *n = dk_notification_render(copy, partial_copy, "fuzz.txt", ctx, "q",
	                                           load_file, &parts, NULL);
	if (n != NULL) {
		g_assert(strchr(n->subject, '\n') == NULL && strchr(n->subject, '\r') == NULL);
		dk_notification_free(n);
	}
	json_decref(ctx);
	return 0;
}
