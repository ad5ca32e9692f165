/* The names a template reads, resolved as the renderer resolves them
 * (the spec's context stack: a name's first part is looked up from the
 * innermost section outwards), checked against the shape of the data it
 * will get. Pure: no data is needed, only what names the data can have. */
#include "templates/mustache-private.h"

#include <string.h>

typedef struct {
	DkTemplateKnownFunc known;
	gpointer data;
	GPtrArray *unknown; /* DkTemplateName* */
	GPtrArray *stack;   /* char*: the dotted paths of the sections entered ("" the root) */
} Walk;

void dk_template_name_free(gpointer name)
{
	DkTemplateName *n = name;
	if (n == NULL)
		return;
	g_free(n->name);
	g_free(n);
}

/* The full dotted path path resolves to, or NULL when no context has its
 * first part. */
static char *resolve(Walk *w, char **path)
{
	for (guint i = w->stack->len; i > 0; i--) {
		const char *context = g_ptr_array_index(w->stack, i - 1);
		g_autofree char *first =
		    *context ? g_strconcat(context, ".", path[0], NULL) : g_strdup(path[0]);
		if (!w->known(first, w->data))
			continue;
		g_autofree char *rest = g_strjoinv(".", path);
		return *context ? g_strconcat(context, ".", rest, NULL) : g_strdup(rest);
	}
	return NULL;
}

static void walk(Walk *w, GPtrArray *nodes);

/* One name: reported when it resolves to nothing the data can hold;
 * returns its full path (for a section to enter), or NULL. */
static char *check(Walk *w, const DkNode *n)
{
	if (n->path == NULL) /* "." */
		return NULL;
	char *full = resolve(w, n->path);
	if (full == NULL || !w->known(full, w->data)) {
		DkTemplateName *u = g_new0(DkTemplateName, 1);
		u->name = g_strjoinv(".", n->path);
		u->line = n->line;
		u->column = n->column;
		g_ptr_array_add(w->unknown, u);
		g_clear_pointer(&full, g_free);
	}
	return full;
}

static void walk(Walk *w, GPtrArray *nodes)
{
	for (guint i = 0; nodes != NULL && i < nodes->len; i++) {
		const DkNode *n = g_ptr_array_index(nodes, i);
		switch (n->kind) {
		case DK_NODE_VAR:
			g_free(check(w, n));
			break;
		case DK_NODE_SECTION: {
			char *full = check(w, n);
			/* inside, names resolve in the section's value first */
			g_ptr_array_add(w->stack, full ? full : g_strdup("\x01"));
			walk(w, n->children);
			g_ptr_array_set_size(w->stack, w->stack->len - 1);
			break;
		}
		case DK_NODE_INVERTED:
			g_free(check(w, n));
			walk(w, n->children);
			break;
		case DK_NODE_BLOCK:
		case DK_NODE_PARENT:
			walk(w, n->children);
			break;
		case DK_NODE_TEXT:
		case DK_NODE_PARTIAL:
			break;
		}
	}
}

GPtrArray *dk_template_unknown_names(DkTemplate *t, DkTemplateKnownFunc known, gpointer data)
{
	g_autoptr(GPtrArray) stack = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(stack, g_strdup(""));
	Walk w = {known, data, g_ptr_array_new_with_free_func(dk_template_name_free), stack};
	walk(&w, t->nodes);
	return w.unknown;
}
