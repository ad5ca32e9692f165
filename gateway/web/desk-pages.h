/* The web desk's pages: the Mustache templates, the style sheet and the
 * script of gateway/web/desk-pages/, compiled into docket-net (no files to
 * install, no build step), parsed once and rendered for each request.
 * Every page inherits layout.html ({{<layout.html}}); values are
 * HTML-escaped, so text from mail can never become markup. */
#pragma once

#include "gateway/json.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct DkDeskPages DkDeskPages;

/* Parses every page (*.html) of the desk. NULL and a DK_TEMPLATE_ERROR
 * (naming the page, line and column) when one does not parse: a bug of
 * the build, which the tests catch. Free with dk_desk_pages_free. */
DkDeskPages *dk_desk_pages_new(GError **error);
void dk_desk_pages_free(DkDeskPages *pages);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkDeskPages, dk_desk_pages_free)

/* Renders page ("list.html", ...) against data. A new string (g_free);
 * NULL with DK_ERROR_NOT_FOUND for an unknown page, or the renderer's
 * error (a limit). */
char *dk_desk_pages_render(DkDeskPages *pages, const char *page, json_t *data, GError **error);

/* A file served as it is ("desk.css", "desk.js", "favicon.svg"): its bytes (static, NUL
 * terminated) and its media type into type_out; NULL for any other name,
 * the templates included. */
const char *dk_desk_pages_static(const char *name, const char **type_out);

G_END_DECLS
