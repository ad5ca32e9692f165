/* A Mustache renderer over jansson values: parse a template once into a tree,
 * render it many times against JSON data (https://mustache.github.io/mustache.5.html,
 * spec v1.4: interpolation, sections, inverted sections, comments, partials,
 * set delimiters, dynamic names and inheritance; lambdas are not supported). */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

#define DK_TEMPLATE_ERROR (dk_template_error_quark())
GQuark dk_template_error_quark(void);

typedef enum {
	/* The template text is malformed; the message starts with "line L, column C: ". */
	DK_TEMPLATE_ERROR_SYNTAX,
	/* A bound was hit while rendering: partial depth, nesting, output size or work. */
	DK_TEMPLATE_ERROR_LIMIT,
	/* The partial loader failed, or a partial does not parse. */
	DK_TEMPLATE_ERROR_PARTIAL,
} DkTemplateError;

/* How {{name}} is escaped. {{{name}}} and {{& name}} are never escaped. */
typedef enum {
	DK_TEMPLATE_ESCAPE_HTML, /* & < > " ' become entities: HTML mail bodies */
	DK_TEMPLATE_ESCAPE_NONE, /* values pass unchanged: plain-text bodies, headers */
} DkTemplateEscape;

/* Bounds on the parser: sections nested deeper than this are a syntax error. */
#define DK_TEMPLATE_MAX_NESTING 100
/* Defaults of DkTemplateOptions when a field is 0. */
#define DK_TEMPLATE_DEFAULT_PARTIAL_DEPTH 32
#define DK_TEMPLATE_DEFAULT_MAX_OUTPUT (16u * 1024 * 1024)
#define DK_TEMPLATE_DEFAULT_MAX_STEPS 20000000u

/* Returns the source of the partial NAME as a new string the renderer frees
 * with g_free, or NULL. NULL without setting ERROR means "no such partial"
 * and renders as the empty string (as the spec asks); NULL with ERROR set
 * aborts rendering with that error. */
typedef char *(*DkPartialLoader)(const char *name, gpointer user_data, GError **error);

/* A parsed template; owns all its nodes and does not borrow the source. */
typedef struct _DkTemplate DkTemplate;

/* Everything a render may vary. Zero-initialise and set what you need. */
typedef struct {
	DkTemplateEscape escape;
	DkPartialLoader loader;  /* NULL: every partial is missing */
	gpointer user_data;      /* passed to LOADER */
	guint max_partial_depth; /* partials/parents inside partials; 0: default */
	gsize max_output;        /* bytes of output; 0: default */
	guint64 max_steps;       /* nodes visited, bounds the work; 0: default */
} DkTemplateOptions;

/* Parses SOURCE (NUL-terminated). Returns a new template to free with
 * dk_template_free, or NULL with DK_TEMPLATE_ERROR_SYNTAX naming the line and
 * column of the offending tag: unclosed tag, unclosed section, mismatched or
 * unexpected close tag, bad set-delimiter tag, empty name, nesting too deep. */
DkTemplate *dk_template_parse(const char *source, GError **error);

/* Like dk_template_parse for LEN bytes of SOURCE (which may hold NUL bytes)
 * that start at LINE and COLUMN (1-based) of a larger file, so that errors
 * name positions in that file. */
DkTemplate *dk_template_parse_at(const char *source, gsize len, guint line, guint column,
                                 GError **error);

/* Renders T against DATA (any JSON value; NULL means an empty object) with
 * HTML escaping. Returns a new string (g_free), or NULL with an error from
 * DK_TEMPLATE_ERROR (PARTIAL or LIMIT) or one the LOADER set. */
char *dk_template_render(DkTemplate *t, json_t *data, DkPartialLoader loader, gpointer user_data,
                         GError **error);

/* Renders T against DATA with OPTIONS (NULL: defaults, HTML escaping, no
 * partials). Returns a new string (g_free) or NULL with an error as above. */
char *dk_template_render_with(DkTemplate *t, json_t *data, const DkTemplateOptions *options,
                              GError **error);

/* When ERROR is a DK_TEMPLATE_ERROR_SYNTAX, sets LINE_OUT and COLUMN_OUT to
 * where it is and WHAT_OUT (optional) to the message without its position,
 * pointing into ERROR, and returns TRUE; else returns FALSE. */
gboolean dk_template_error_position(const GError *error, guint *line_out, guint *column_out,
                                    const char **what_out);

/* Whether the data a template is rendered against can hold the dotted
 * path ("ticket" or "ticket.number"). */
typedef gboolean (*DkTemplateKnownFunc)(const char *path, gpointer user_data);

/* A name a template uses that the data cannot hold. */
typedef struct {
	char *name;         /* as written, dotted */
	guint line, column; /* where its tag starts */
} DkTemplateName;

void dk_template_name_free(gpointer name);

/* The variable and section names of T (not partials) that KNOWN does not
 * know, each resolved as rendering resolves it: from the innermost
 * section's value outwards to the top. A GPtrArray of DkTemplateName*
 * (empty when every name is known); the caller unrefs it. Partials are
 * not followed. */
GPtrArray *dk_template_unknown_names(DkTemplate *t, DkTemplateKnownFunc known, gpointer user_data);

/* Frees T and all its nodes; NULL is allowed. */
void dk_template_free(DkTemplate *t);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkTemplate, dk_template_free)

G_END_DECLS
