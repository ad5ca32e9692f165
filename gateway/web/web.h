/* The web server of `docket serve`: libsoup 3 on [http] listen, plain HTTP
 * or TLS ([http] tls_certificate and tls_key), with a connection limit and
 * a deadline per connection. It runs on a thread of its own with its own
 * GMainContext: every handler, and every function of gateway/web/ that
 * takes a DkWeb, runs on that thread, one request at a time.
 *
 * Paths: the API owns /api/v1, /healthz and /metrics (api.h); the web desk
 * registers its pages under "/" (login, lists, tickets, assets) through
 * dk_web_server_new()'s table of modules (web-server.c). */
#pragma once

#include "gateway/config.h"
#include "gateway/store/store.h"

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* The errors of the web layer, beside DK_ERROR (gateway/error.h). How a
 * handler answers an error: dk_web_error_status(). */
#define DK_WEB_ERROR (dk_web_error_quark())
GQuark dk_web_error_quark(void);

typedef enum {
	DK_WEB_ERROR_INVALID,      /* a request that can never be right: 400 */
	DK_WEB_ERROR_UNAUTHORIZED, /* no user, or a wrong password or token: 401 */
	DK_WEB_ERROR_FORBIDDEN,    /* the user's role does not allow it: 403 */
	DK_WEB_ERROR_CSRF,         /* a form without the session's CSRF token: 403 */
	DK_WEB_ERROR_TOO_LARGE,    /* over a size limit: 413 */
} DkWebErrorCode;

/* The HTTP status for an error of an action: DK_WEB_ERROR as above;
 * DK_ERROR_NOT_FOUND 404; DK_ERROR_PERMANENT (a change the desk's rules
 * refuse: a status that cannot follow, merging a merged ticket) 409;
 * temporary errors (a busy store) 503; anything else 500. */
guint dk_web_error_status(const GError *error);

/* The short code an error is known by in the API's JSON ("invalid",
 * "unauthorized", "forbidden", "csrf", "too_large", "not_found",
 * "conflict", "unavailable", "internal"): the same table as above. */
const char *dk_web_error_code(const GError *error);

/* What every handler may use: the configuration the server started with
 * and a store connection of the server's thread (no transaction is open
 * between requests). Owned by the server. */
typedef struct DkWeb DkWeb;

const DkConfig *dk_web_config(DkWeb *web);
DkStore *dk_web_store(DkWeb *web);

/* Whether the server speaks TLS itself. */
gboolean dk_web_tls(DkWeb *web);

/* Whether msg reached docket over HTTPS: the server's TLS, or a reverse
 * proxy that says so (X-Forwarded-Proto: https) while the server listens
 * on loopback only (only a local process can say it). Decides the
 * cookie's Secure attribute (auth.h). */
gboolean dk_web_request_is_https(DkWeb *web, SoupServerMessage *msg);

/* A module of the server: adds its handlers to server
 * (soup_server_add_handler(server, "/desk", ..., web, NULL)) on the
 * server's thread before it listens. FALSE and an error stop the start. */
typedef gboolean (*DkWebRegister)(DkWeb *web, SoupServer *server, GError **error);

/* Fills the outbox figures for /metrics; FALSE when the store cannot be
 * read (then /healthz answers 503). Called on the server's thread. */
typedef gboolean (*DkWebProbe)(gint64 *outbox_depth_out, gint64 *outbox_oldest_age_out,
                               gpointer data);

typedef struct DkWebServer DkWebServer;

/* Starts the server on [http] listen of config with its limits ([http]
 * max_connections: at the limit the oldest connection is closed to make
 * room; [http] timeout_seconds: each request, and each wait for the next
 * on a kept-alive connection) and, with
 * [http] tls_certificate and tls_key, TLS. Opens its own store
 * connection. NULL and an error (DK_ERROR_CONFIG for a bad address or
 * certificate) when it cannot. The config must outlive the server. */
DkWebServer *dk_web_server_new(const DkConfig *config, DkWebProbe probe, gpointer data,
                               GError **error);
/* Stops the thread, closes every connection. NULL is allowed. */
void dk_web_server_free(DkWebServer *server);

/* Replies to msg with status and a body of content_type (copied). */
void dk_web_respond(SoupServerMessage *msg, guint status, const char *content_type,
                    const char *body, gsize len);

/* Replies to msg with status and a body of content_type and size bytes,
 * read from in a piece at a time (DK_STORE_ATTACHMENT_PIECE) as the
 * client takes them, so that no more than a piece is held: an attachment.
 * The response takes in; a read that fails midway ends the body short of
 * its Content-Length, which the client sees as a cut transfer. */
void dk_web_respond_stream(SoupServerMessage *msg, guint status, const char *content_type,
                           GInputStream *in, goffset size);

/* The response headers every answer carries: nosniff, no framing,
 * no referrer, and no caching of anything that needs a user. Called by
 * the server on every response; listed here so the desk knows. */
void dk_web_security_headers(SoupServerMessage *msg);

G_END_DECLS
