/* What the web desk's handlers share (desk.c: routing, log-in and pages;
 * desk-forms.c: the forms that change something). */
#pragma once

#include "gateway/desk/conversation.h"
#include "gateway/json.h"
#include "gateway/web/auth.h"
#include "gateway/web/desk-pages.h"
#include "gateway/web/web.h"

typedef struct {
	DkWeb *web;
	DkDeskPages *pages;
	DkConversation *conversation;
} DkDesk;

/* One request to the desk. */
typedef struct {
	DkDesk *desk;
	SoupServerMessage *msg;
	const char *path;  /* below DK_DESK_BASE, from "/" */
	GHashTable *query; /* the URL's, or NULL */
	DkUser *user;      /* the logged-in user, or NULL */
	DkSession *session;
} DkDeskRequest;

/* Renders page against data (taken) with the layout's values (the user,
 * the CSRF token, the search words) and answers with status. */
void dk_desk_page(DkDeskRequest *r, guint status, const char *page, json_t *data);

/* Answers with error.html: the status error maps to and its message. */
void dk_desk_fail(DkDeskRequest *r, const GError *error);

/* A 303 redirect to location (a path of the desk, or "/desk/..."). */
void dk_desk_redirect(DkDeskRequest *r, const char *location);

/* Runs the POST of path (below the base, e.g. "/tickets/7/reply"); FALSE
 * when no form has that path. The caller checked the user and origin. */
gboolean dk_desk_forms_post(DkDeskRequest *r);

/* The number in a path segment ("17"); FALSE for anything else. */
gboolean dk_desk_parse_id(const char *text, gint64 *id_out);
