/* The web desk: the pages a support team works tickets in, under /desk
 * (and / sends there). Server-rendered (desk-pages.h) from the store
 * (desk-view.h); every change goes through the actions the API uses
 * (actions.h), so both enforce the same rules and record the same user.
 *
 * Pages: GET /desk/login and POST (a session cookie, auth.h), POST
 * /desk/logout; GET /desk/ (the ticket list: ?status= &priority= &queue=
 * &assignee= &breached=1 &limit=; ?q= searches), /desk/tickets/N,
 * /desk/attachments/ID (the bytes, as a download), /desk/quarantine and
 * /desk/quarantine/ID (one message, its raw text), /desk/new (agents),
 * /desk/outbox (?state=), /desk/static/desk.css and desk.js. Forms that
 * change something, each with the session's CSRF token: POST /desk/new
 * (a ticket for a customer), /desk/tickets/N/reply and /note (multipart,
 * with files), /set (status, priority, queue, assignee),
 * /desk/quarantine/ID/reprocess and /release (administrators),
 * /desk/outbox/ID/retry; each answers with a redirect to the page it came
 * from (303), or with an error page (4xx, nothing changed).
 *
 * Every page carries a Content-Security-Policy that allows only the desk's
 * own style sheet, script and images, and forms posting to the desk; a
 * POST whose Origin (or Sec-Fetch-Site) shows another site is refused. */
#pragma once

#include "gateway/web/web.h"

G_BEGIN_DECLS

/* The path the desk lives under. */
#define DK_DESK_BASE "/desk"

/* The Content-Security-Policy of every page of the desk. */
#define DK_DESK_CSP                                                                                \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/* Adds the desk's handlers to server (a DkWebRegister of web.h). Fails
 * only when a page does not parse (a bug of the build). */
gboolean dk_desk_register(DkWeb *web, SoupServer *server, GError **error);

G_END_DECLS
