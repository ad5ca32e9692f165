/* The web desk's compiled-in pages: parsed once, rendered per request
 * (desk-pages.h). */
#include "gateway/web/desk-pages.h"

#include "gateway/error.h"
#include "gateway/web/desk-pages-private.h"
#include "templates/mustache.h"

#include <string.h>

struct DkDeskPages {
	GHashTable *pages; /* name -> DkTemplate* */
};

static const DkDeskAsset *asset_find(const char *name)
{
	for (const DkDeskAsset *a = dk_desk_assets; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* Pages inherit the layout (or include another page) as a partial. */
static char *load_partial(const char *name, gpointer user_data, GError **error)
{
	(void)user_data;
	(void)error;
	const DkDeskAsset *a = asset_find(name);
	return a != NULL && g_str_has_suffix(name, ".html") ? g_strdup(a->source) : NULL;
}

DkDeskPages *dk_desk_pages_new(GError **error)
{
	g_autoptr(GHashTable) pages =
	    g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)dk_template_free);
	for (const DkDeskAsset *a = dk_desk_assets; a->name != NULL; a++) {
		if (!g_str_has_suffix(a->name, ".html"))
			continue;
		DkTemplate *t = dk_template_parse(a->source, error);
		if (t == NULL) {
			g_prefix_error(error, "%s: ", a->name);
			return NULL;
		}
		g_hash_table_insert(pages, (gpointer)a->name, t);
	}
	DkDeskPages *p = g_new0(DkDeskPages, 1);
	p->pages = g_steal_pointer(&pages);
	return p;
}

void dk_desk_pages_free(DkDeskPages *pages)
{
	if (pages == NULL)
		return;
	g_hash_table_unref(pages->pages);
	g_free(pages);
}

char *dk_desk_pages_render(DkDeskPages *pages, const char *page, json_t *data, GError **error)
{
	DkTemplate *t = g_hash_table_lookup(pages->pages, page);
	if (t == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no page %s", page);
		return NULL;
	}
	DkTemplateOptions options = {.escape = DK_TEMPLATE_ESCAPE_HTML, .loader = load_partial};
	return dk_template_render_with(t, data, &options, error);
}

const char *dk_desk_pages_static(const char *name, const char **type_out)
{
	static const struct {
		const char *suffix, *type;
	} types[] = {
	    {".css", "text/css; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	};
	const DkDeskAsset *a = asset_find(name);
	for (guint i = 0; a != NULL && i < G_N_ELEMENTS(types); i++)
		if (g_str_has_suffix(name, types[i].suffix)) {
			*type_out = types[i].type;
			return a->source;
		}
	return NULL;
}
