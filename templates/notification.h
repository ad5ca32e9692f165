/* Notification templates: a file of header lines (Subject, optionally From
 * and Reply-To), a blank line and a Mustache body, with an optional HTML
 * sibling; found in an administrator's override folder (per queue, then
 * global) before the defaults compiled in from templates/default/. */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* The data a notification is rendered against (a JSON object; any member may
 * be missing, and an empty string counts as false in {{#section}}):
 *   ticket:       number, token ("[Ticket #42]"), subject, status, priority,
 *                 queue, link (only when a web link is configured)
 *   article:      new_text, full_text, sender
 *   requester:    name, address
 *   agent:        name, address (the assignee or the replying agent)
 *   organisation: name
 *   sla:          target, due (an SLA breach notice only)
 * The default templates are ack, agent-reply, team-new, assignee-reply,
 * resolved and sla-breach (NAME.txt), ack.html, and the partial signature
 * (signature.txt, signature.html). */

/* Whether path ("ticket", "ticket.number") is a name of that data. */
gboolean dk_notification_known(const char *path);

/* Checks the names a template file uses against that data: a
 * notification template (header lines, a blank line, a body) when
 * SOURCE starts like one, else a body alone (an HTML sibling, a partial).
 * Appends to PROBLEMS_OUT (char*) one "ORIGIN:LINE:COLUMN: unknown
 * variable “name”" line per name the data cannot hold: such a name
 * renders as nothing. FALSE with a DK_NOTIFICATION_ERROR_SYNTAX error
 * when the file does not parse. */
gboolean dk_notification_check(const char *source, const char *origin, GPtrArray *problems_out,
                               GError **error);

#define DK_NOTIFICATION_ERROR (dk_notification_error_quark())
GQuark dk_notification_error_quark(void);

typedef enum {
	/* The header part is malformed (unknown header, no Subject, no blank line),
	 * or a header value or the body is not a valid Mustache template. The
	 * message reads "ORIGIN:LINE:COLUMN: what". */
	DK_NOTIFICATION_ERROR_SYNTAX,
	/* No override and no default template has that name. */
	DK_NOTIFICATION_ERROR_NOT_FOUND,
	/* A template or queue name that could escape the override folder. */
	DK_NOTIFICATION_ERROR_NAME,
	/* Rendering failed (a bound was hit, a partial failed). */
	DK_NOTIFICATION_ERROR_RENDER,
} DkNotificationError;

/* Reads PATH, relative to the override folder ("QUEUE/NAME" or "NAME"; the
 * names are checked to hold no '/' or leading '.'). Returns the contents (the
 * caller g_frees them), or NULL without ERROR when there is no such file, or
 * NULL with ERROR when reading failed. The gateway supplies it. */
typedef char *(*DkTemplateFileLoader)(const char *path, gpointer user_data, GError **error);

/* A rendered notification; every string is owned by it. */
typedef struct {
	char *subject;  /* one line: CR and LF in values became spaces */
	char *from;     /* NULL when the template sets none; one line */
	char *reply_to; /* NULL when the template sets none; one line */
	char *text;     /* the plain-text body, not HTML-escaped */
	char *html;     /* the HTML body (values HTML-escaped), or NULL */
} DkNotification;

/* Frees N and its strings; NULL is allowed. */
void dk_notification_free(DkNotification *n);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkNotification, dk_notification_free)

/* The built-in template called NAME ("ack.txt"), or NULL. Static data. */
const char *dk_notification_default(const char *name);

/* The names of the built-in templates, NULL-terminated; free the array (not
 * the strings) with g_free. */
const char **dk_notification_default_names(void);

/* Finds the source of template file NAME ("ack.txt") for QUEUE (may be NULL):
 * LOADER("QUEUE/NAME"), then LOADER("NAME"), then the built-in default.
 * LOADER may be NULL (defaults only). Returns a new string, and in ORIGIN_OUT
 * (optional, g_free) where it came from ("QUEUE/NAME", "NAME" or
 * "default/NAME"); NULL with DK_NOTIFICATION_ERROR_NOT_FOUND or _NAME, or the
 * loader's error. */
char *dk_notification_find(const char *name, const char *queue, DkTemplateFileLoader loader,
                           gpointer user_data, char **origin_out, GError **error);

/* Renders notification source SOURCE (header lines, a blank line, a body)
 * against DATA with the body NOT HTML-escaped, and HTML_SOURCE (a body
 * only; may be NULL) HTML-escaped. Partials ({{> signature}}) are found
 * like templates, as "signature.txt" for the text body and headers and
 * "signature.html" for the HTML body, when QUEUE/LOADER are given, and
 * otherwise among the defaults. ORIGIN names SOURCE in errors. Returns a
 * new notification or NULL with a DK_NOTIFICATION_ERROR. */
DkNotification *dk_notification_render(const char *source, const char *html_source,
                                       const char *origin, json_t *data, const char *queue,
                                       DkTemplateFileLoader loader, gpointer user_data,
                                       GError **error);

/* Finds NAME.txt and, if any, NAME.html (NAME like "ack") as
 * dk_notification_find does and renders them with dk_notification_render.
 * Returns a new notification or NULL with an error as above. */
DkNotification *dk_notification_build(const char *name, const char *queue, json_t *data,
                                      DkTemplateFileLoader loader, gpointer user_data,
                                      GError **error);

/* Whether SOURCE starts like a notification template: its first line is a
 * Subject, From or Reply-To header. */
gboolean dk_notification_looks_like(const char *source);

G_END_DECLS
