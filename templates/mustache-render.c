/* The Mustache renderer: walks a DkTemplate against a stack of jansson
 * values, loading partials through the caller's callback, within bounds on
 * depth, output size and work. */
#include "templates/mustache-private.h"

#include <stdlib.h>
#include <string.h>

/* Sections, partials and blocks nested while rendering; bounds the C stack. */
#define DK_TEMPLATE_MAX_RENDER_DEPTH 400

typedef struct {
	const DkTemplateOptions *opts;
	GString *out;
	GPtrArray *stack;      /* json_t *, borrowed; the innermost context last */
	GHashTable *partials;  /* "indent\nname" -> DkTemplate * or NULL if missing */
	GHashTable *overrides; /* block name -> DkNode *, or NULL */
	guint partial_depth;
	guint depth;
	guint64 steps;
	GError **error;
} Render;

static gboolean render_nodes(Render *r, GPtrArray *nodes);

static gboolean limit_error(Render *r, const char *what)
{
	g_set_error(r->error, DK_TEMPLATE_ERROR, DK_TEMPLATE_ERROR_LIMIT, "%s", what);
	return FALSE;
}

static gboolean emit(Render *r, const char *s, gsize len)
{
	if (len > r->opts->max_output - r->out->len)
		return limit_error(r, "rendered output is too large");
	g_string_append_len(r->out, s, (gssize)len);
	return TRUE;
}

static gboolean emit_html(Render *r, const char *s, gsize len)
{
	const char *run = s;
	for (const char *p = s; p < s + len; p++) {
		const char *ent = NULL;
		switch (*p) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&#39;";
			break;
		default:
			continue;
		}
		if (!emit(r, run, (gsize)(p - run)) || !emit(r, ent, strlen(ent)))
			return FALSE;
		run = p + 1;
	}
	return emit(r, run, (gsize)(s + len - run));
}

/* Resolves a dotted name: the first part is searched from the innermost
 * context outwards, the rest only inside what it found (spec: "Dotted Names
 * - Broken Chain Resolution"). NULL path is the implicit iterator {{.}}. */
static json_t *lookup(Render *r, char **path)
{
	if (path == NULL)
		return g_ptr_array_index(r->stack, r->stack->len - 1);
	if (path[0] == NULL)
		return NULL;
	json_t *v = NULL;
	for (guint i = r->stack->len; i-- > 0 && v == NULL;) {
		json_t *ctx = g_ptr_array_index(r->stack, i);
		if (json_is_object(ctx))
			v = json_object_get(ctx, path[0]);
	}
	for (guint k = 1; v != NULL && path[k] != NULL; k++)
		v = json_is_object(v) ? json_object_get(v, path[k]) : NULL;
	return v;
}

/* Falsy: missing, null, false, an empty list and an empty string (so that
 * {{#ticket.link}} hides a link that is not configured). */
static gboolean is_truthy(json_t *v)
{
	if (v == NULL || json_is_null(v) || json_is_false(v))
		return FALSE;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	return TRUE;
}

/* The shortest decimal that reads back as the same double (1.210 -> "1.21"). */
static char *format_real(double d)
{
	for (int prec = 15; prec <= 17; prec++) {
		char *s = g_strdup_printf("%.*g", prec, d);
		if (prec == 17 || strtod(s, NULL) == d)
			return s;
		g_free(s);
	}
	return NULL;
}

static char *value_to_string(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return g_strndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return format_real(json_real_value(v));
	case JSON_TRUE:
		return g_strdup("true");
	case JSON_FALSE:
		return g_strdup("false");
	default:
		return g_strdup("");
	}
}

static gboolean render_var(Render *r, DkNode *n)
{
	json_t *v = lookup(r, n->path);
	if (v == NULL)
		return TRUE;
	gsize len = json_is_string(v) ? json_string_length(v) : 0;
	g_autofree char *s = value_to_string(v);
	if (!json_is_string(v))
		len = strlen(s);
	if (n->escape && r->opts->escape == DK_TEMPLATE_ESCAPE_HTML)
		return emit_html(r, s, len);
	return emit(r, s, len);
}

static gboolean render_in(Render *r, json_t *ctx, GPtrArray *nodes)
{
	g_ptr_array_add(r->stack, ctx);
	gboolean ok = render_nodes(r, nodes);
	g_ptr_array_set_size(r->stack, r->stack->len - 1);
	return ok;
}

static gboolean render_section(Render *r, DkNode *n)
{
	json_t *v = lookup(r, n->path);
	if (n->kind == DK_NODE_INVERTED)
		return is_truthy(v) ? TRUE : render_nodes(r, n->children);
	if (!is_truthy(v))
		return TRUE;
	if (!json_is_array(v))
		return render_in(r, v, n->children);
	for (size_t i = 0; i < json_array_size(v); i++)
		if (!render_in(r, json_array_get(v, i), n->children))
			return FALSE;
	return TRUE;
}

/* Puts INDENT before every non-empty line of SRC: the spec indents a
 * standalone partial's lines before rendering, so values it interpolates
 * keep their own line breaks unindented. */
static char *indent_source(const char *src, const char *indent)
{
	GString *s = g_string_new(NULL);
	const char *p = src;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		gsize n = nl != NULL ? (gsize)(nl - p) + 1 : strlen(p);
		if (*p != '\n')
			g_string_append(s, indent);
		g_string_append_len(s, p, (gssize)n);
		p += n;
	}
	return g_string_free(s, FALSE);
}

/* Loads and parses partial NAME once per render (per indentation); sets
 * *T_OUT to NULL when the loader does not know it. */
static gboolean get_partial(Render *r, const char *name, const char *indent, DkTemplate **t_out)
{
	g_autofree char *key = g_strconcat(indent != NULL ? indent : "", "\n", name, NULL);
	if (g_hash_table_lookup_extended(r->partials, key, NULL, (gpointer *)t_out))
		return TRUE;
	GError *local = NULL;
	g_autofree char *src = NULL;
	if (r->opts->loader != NULL)
		src = r->opts->loader(name, r->opts->user_data, &local);
	if (local != NULL) {
		g_propagate_prefixed_error(r->error, local, "partial \"%s\": ", name);
		return FALSE;
	}
	DkTemplate *t = NULL;
	if (src != NULL) {
		if (indent != NULL && *indent != '\0') {
			char *indented = indent_source(src, indent);
			g_free(src);
			src = indented;
		}
		/* A partial larger than the output allowed could not be rendered
		 * anyway; this also bounds re-indenting partials in partials. */
		if (strlen(src) > r->opts->max_output)
			return limit_error(r, "partial is too large");
		t = dk_template_parse(src, &local);
		if (t == NULL) {
			g_set_error(r->error, DK_TEMPLATE_ERROR, DK_TEMPLATE_ERROR_PARTIAL,
			            "partial \"%s\": %s", name, local->message);
			g_error_free(local);
			return FALSE;
		}
	}
	g_hash_table_insert(r->partials, g_steal_pointer(&key), t);
	*t_out = t;
	return TRUE;
}

/* The name of a partial or parent tag; dynamic names ({{>*name}}) are looked
 * up in the context and render nothing unless they find a string. */
static const char *partial_name(Render *r, DkNode *n)
{
	if (!n->dynamic)
		return n->text;
	json_t *v = lookup(r, n->path);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static gboolean render_partial_with(Render *r, DkNode *n, GHashTable *overrides)
{
	const char *name = partial_name(r, n);
	if (name == NULL)
		return TRUE;
	if (r->partial_depth >= r->opts->max_partial_depth)
		return limit_error(r, "partials nested too deeply");
	DkTemplate *t = NULL;
	if (!get_partial(r, name, n->indent, &t))
		return FALSE;
	if (t == NULL)
		return TRUE;
	GHashTable *saved = r->overrides;
	r->overrides = overrides;
	r->partial_depth++;
	gboolean ok = render_nodes(r, t->nodes);
	r->partial_depth--;
	r->overrides = saved;
	return ok;
}

/* {{<parent}}: the blocks given inside the tag override the parent's blocks,
 * unless an outer template already overrides them (the outermost wins). */
static gboolean render_parent(Render *r, DkNode *n)
{
	g_autoptr(GHashTable) ov = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < n->children->len; i++) {
		DkNode *c = g_ptr_array_index(n->children, i);
		if (c->kind == DK_NODE_BLOCK && !g_hash_table_contains(ov, c->text))
			g_hash_table_insert(ov, c->text, c);
	}
	if (r->overrides != NULL) {
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init(&it, r->overrides);
		while (g_hash_table_iter_next(&it, &k, &v))
			g_hash_table_insert(ov, k, v);
	}
	return render_partial_with(r, n, ov);
}

/* Parses the body of block SRC, indented by INDENT, once per render. */
static DkTemplate *block_template(Render *r, DkNode *src, const char *indent)
{
	g_autofree char *key = g_strdup_printf("\x01%p\n%s", (void *)src, indent);
	DkTemplate *t = g_hash_table_lookup(r->partials, key);
	if (t != NULL)
		return t;
	g_autofree char *body =
	    *indent != '\0' ? indent_source(src->body, indent) : g_strdup(src->body);
	if (strlen(body) > r->opts->max_output) {
		limit_error(r, "block is too large");
		return NULL;
	}
	GError *local = NULL;
	t = dk_template_parse_body(body, src->body_otag, src->body_ctag, &local);
	if (t == NULL) {
		g_set_error(r->error, DK_TEMPLATE_ERROR, DK_TEMPLATE_ERROR_PARTIAL,
		            "block \"%s\": %s", src->text, local->message);
		g_error_free(local);
		return NULL;
	}
	g_hash_table_insert(r->partials, g_steal_pointer(&key), t);
	return t;
}

/* {{$name}}: the override for NAME if any, else the block's own content.
 * A block on a standalone line takes the content re-indented to where it
 * stands (spec ~inheritance, "Block reindentation"). */
static gboolean render_block(Render *r, DkNode *n)
{
	DkNode *over = r->overrides != NULL ? g_hash_table_lookup(r->overrides, n->text) : NULL;
	DkNode *src = over != NULL ? over : n;
	if (!n->standalone && !src->standalone)
		return render_nodes(r, src->children);
	DkTemplate *t = block_template(r, src, n->standalone && n->indent ? n->indent : "");
	return t != NULL && render_nodes(r, t->nodes);
}

static gboolean render_node(Render *r, DkNode *n)
{
	switch (n->kind) {
	case DK_NODE_TEXT:
		return emit(r, n->text, n->len);
	case DK_NODE_VAR:
		return render_var(r, n);
	case DK_NODE_SECTION:
	case DK_NODE_INVERTED:
		return render_section(r, n);
	case DK_NODE_PARTIAL:
		return render_partial_with(r, n, r->overrides);
	case DK_NODE_BLOCK:
		return render_block(r, n);
	case DK_NODE_PARENT:
		return render_parent(r, n);
	}
	return TRUE;
}

static gboolean render_nodes(Render *r, GPtrArray *nodes)
{
	if (r->depth >= DK_TEMPLATE_MAX_RENDER_DEPTH)
		return limit_error(r, "template nested too deeply while rendering");
	r->depth++;
	gboolean ok = TRUE;
	for (guint i = 0; ok && i < nodes->len; i++) {
		if (++r->steps > r->opts->max_steps)
			ok = limit_error(r, "template rendering takes too many steps");
		else
			ok = render_node(r, g_ptr_array_index(nodes, i));
	}
	r->depth--;
	return ok;
}

static void free_template(gpointer p)
{
	dk_template_free(p);
}

char *dk_template_render_with(DkTemplate *t, json_t *data, const DkTemplateOptions *options,
                              GError **error)
{
	g_return_val_if_fail(t != NULL, NULL);
	DkTemplateOptions opts = {0};
	if (options != NULL)
		opts = *options;
	if (opts.max_partial_depth == 0)
		opts.max_partial_depth = DK_TEMPLATE_DEFAULT_PARTIAL_DEPTH;
	if (opts.max_output == 0)
		opts.max_output = DK_TEMPLATE_DEFAULT_MAX_OUTPUT;
	if (opts.max_steps == 0)
		opts.max_steps = DK_TEMPLATE_DEFAULT_MAX_STEPS;
	json_t *empty = json_object();
	Render r = {
	    .opts = &opts, .out = g_string_new(NULL), .stack = g_ptr_array_new(), .error = error};
	r.partials = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_template);
	g_ptr_array_add(r.stack, data != NULL ? data : empty);
	gboolean ok = render_nodes(&r, t->nodes);
	g_ptr_array_unref(r.stack);
	g_hash_table_unref(r.partials);
	json_decref(empty);
	if (!ok) {
		g_string_free(r.out, TRUE);
		return NULL;
	}
	return g_string_free(r.out, FALSE);
}

char *dk_template_render(DkTemplate *t, json_t *data, DkPartialLoader loader, gpointer user_data,
                         GError **error)
{
	DkTemplateOptions opts = {
	    .escape = DK_TEMPLATE_ESCAPE_HTML, .loader = loader, .user_data = user_data};
	return dk_template_render_with(t, data, &opts, error);
}
