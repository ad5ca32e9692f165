/* The web server (web.h): libsoup 3 on a thread of its own, with TLS when
 * configured, and the limits libsoup does not have: docket follows each
 * connection from its first request (libsoup starts one as soon as it
 * accepts) until libsoup lets go of its socket; at [http] max_connections
 * the oldest connection is shut down to make room, and a connection is
 * shut down when a request, or the wait for the next one, takes longer
 * than [http] timeout_seconds, so slow or idle clients cannot keep
 * /healthz from being answered. */
#include "gateway/web/web.h"

#include "gateway/error.h"
#include "gateway/ops/address.h"
#include "gateway/ops/metrics.h"
#include "gateway/store/store-attachments.h"
#include "gateway/web/api.h"
#include "gateway/web/desk.h"

#include <string.h>

/* The modules that add handlers: the API, then the web desk. */
static const DkWebRegister modules[] = {
    dk_api_register,
    dk_desk_register,
};

struct DkWeb {
	const DkConfig *config;
	DkStore *store;
	GTlsCertificate *certificate; /* NULL: plain HTTP */
	gboolean loopback;            /* the listener is on loopback */
	DkWebProbe probe;
	gpointer probe_data;
};

struct DkWebServer {
	DkWeb web;
	SoupServer *soup;
	GMainContext *context;
	GMainLoop *loop;
	GThread *thread;
	GQueue conns;          /* of Conn*, oldest first; the server thread's */
	GHashTable *by_socket; /* GSocket* -> Conn* */
	guint max_connections;
	guint timeout_ms;
	gint64 max_body;
};

/* One connection of libsoup's: followed until libsoup drops its socket. */
typedef struct {
	DkWebServer *server;
	GSocket *socket; /* weak: libsoup owns it */
	GSource *deadline;
	GList *link;
	gboolean shut; /* shut down by docket, waiting for libsoup to let go */
} Conn;

G_DEFINE_QUARK(dk - web - error - quark, dk_web_error)

static const struct {
	GQuark (*domain)(void);
	int code;
	guint status;
	const char *name;
} error_table[] = {
    {dk_web_error_quark, DK_WEB_ERROR_INVALID, 400, "invalid"},
    {dk_web_error_quark, DK_WEB_ERROR_UNAUTHORIZED, 401, "unauthorized"},
    {dk_web_error_quark, DK_WEB_ERROR_FORBIDDEN, 403, "forbidden"},
    {dk_web_error_quark, DK_WEB_ERROR_CSRF, 403, "csrf"},
    {dk_web_error_quark, DK_WEB_ERROR_TOO_LARGE, 413, "too_large"},
    {dk_error_quark, DK_ERROR_NOT_FOUND, 404, "not_found"},
    {dk_error_quark, DK_ERROR_GONE, 410, "gone"},
    {dk_error_quark, DK_ERROR_PERMANENT, 409, "conflict"},
};

/* The row of error_table error matches, or -1. */
static int error_row(const GError *error)
{
	for (guint i = 0; i < G_N_ELEMENTS(error_table); i++)
		if (g_error_matches(error, error_table[i].domain(), error_table[i].code))
			return (int)i;
	return -1;
}

guint dk_web_error_status(const GError *error)
{
	int row = error_row(error);
	if (row >= 0)
		return error_table[row].status;
	return dk_error_is_temporary(error) ? 503 : 500;
}

const char *dk_web_error_code(const GError *error)
{
	int row = error_row(error);
	if (row >= 0)
		return error_table[row].name;
	return dk_error_is_temporary(error) ? "unavailable" : "internal";
}

const DkConfig *dk_web_config(DkWeb *web)
{
	return web->config;
}

DkStore *dk_web_store(DkWeb *web)
{
	return web->store;
}

gboolean dk_web_tls(DkWeb *web)
{
	return web->certificate != NULL;
}

gboolean dk_web_request_is_https(DkWeb *web, SoupServerMessage *msg)
{
	if (web->certificate != NULL)
		return TRUE;
	const char *proto = soup_message_headers_get_one(
	    soup_server_message_get_request_headers(msg), "X-Forwarded-Proto");
	return web->loopback && proto != NULL && g_ascii_strcasecmp(proto, "https") == 0;
}

void dk_web_respond(SoupServerMessage *msg, guint status, const char *content_type,
                    const char *body, gsize len)
{
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, body, len);
}

/* A body being sent a piece at a time. */
typedef struct {
	GInputStream *in;
	goffset left;
	gulong wrote, finished; /* the handlers */
} Streamed;

/* Appends the next piece, or completes the body after the last (or a
 * failed read, the body then short); at the start and after each piece
 * is written ("wrote-chunk"). */
static void stream_next(SoupServerMessage *msg, gpointer data)
{
	Streamed *s = data;
	SoupMessageBody *body = soup_server_message_get_response_body(msg);
	if (s->left > 0) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GBytes) piece = g_input_stream_read_bytes(
		    s->in, (gsize)MIN(s->left, (goffset)DK_STORE_ATTACHMENT_PIECE), NULL, &error);
		gsize n = piece != NULL ? g_bytes_get_size(piece) : 0;
		if (n > 0) {
			s->left -= (goffset)n;
			soup_message_body_append_bytes(body, piece);
			return;
		}
		g_warning("web event=stream result=cut left=%" G_GOFFSET_FORMAT " error=\"%s\"",
		          s->left, error != NULL ? error->message : "the end came early");
		s->left = 0;
	}
	soup_message_body_complete(body);
}

static void stream_finished(SoupServerMessage *msg, gpointer data)
{
	Streamed *s = data;
	g_signal_handler_disconnect(msg, s->wrote);
	g_signal_handler_disconnect(msg, s->finished);
	g_object_unref(s->in);
	g_free(s);
}

void dk_web_respond_stream(SoupServerMessage *msg, guint status, const char *content_type,
                           GInputStream *in, goffset size)
{
	soup_server_message_set_status(msg, status, NULL);
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
	soup_message_headers_replace(
	    h, "Content-Type", content_type != NULL ? content_type : "application/octet-stream");
	soup_message_headers_set_content_length(h, size);
	SoupMessageBody *body = soup_server_message_get_response_body(msg);
	soup_message_body_truncate(body);
	/* a piece sent is dropped from the body */
	soup_message_body_set_accumulate(body, FALSE);
	Streamed *s = g_new0(Streamed, 1);
	s->in = g_object_ref(in);
	s->left = size;
	s->wrote = g_signal_connect(msg, "wrote-chunk", G_CALLBACK(stream_next), s);
	s->finished = g_signal_connect(msg, "finished", G_CALLBACK(stream_finished), s);
	stream_next(msg, s);
}

void dk_web_security_headers(SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
	soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
	soup_message_headers_replace(h, "X-Frame-Options", "DENY");
	soup_message_headers_replace(h, "Referrer-Policy", "no-referrer");
	soup_message_headers_replace(h, "Cache-Control", "no-store");
}

/* /healthz and /metrics: the store's outbox figures through the probe. */
static void on_ops(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                   gpointer data)
{
	DkWeb *web = data;
	const char *method = soup_server_message_get_method(msg);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
		                             "GET, HEAD");
		dk_web_respond(msg, 405, "text/plain", "only GET\n", 9);
		return;
	}
	gint64 depth = -1, age = -1;
	gboolean healthy = web->probe == NULL || web->probe(&depth, &age, web->probe_data);
	if (strcmp(path, "/healthz") == 0) {
		const char *body = healthy ? "ok\n" : "store unavailable\n";
		dk_web_respond(msg, healthy ? 200 : 503, "text/plain", body, strlen(body));
		return;
	}
	g_autoptr(GString) body = g_string_new(NULL);
	dk_metrics_render(body, depth, age);
	dk_web_respond(msg, 200, "text/plain; version=0.0.4", body->str, body->len);
}

static void conn_free(Conn *c)
{
	g_hash_table_remove(c->server->by_socket, c->socket);
	g_queue_delete_link(&c->server->conns, c->link);
	g_source_destroy(c->deadline);
	g_source_unref(c->deadline);
	g_free(c);
}

/* libsoup let go of the connection's socket. */
static void on_socket_gone(gpointer data, GObject *socket)
{
	conn_free(data);
}

/* Ends a connection: libsoup sees the end of its stream and drops it. */
static void conn_shut(Conn *c, const char *why)
{
	if (c->shut)
		return;
	c->shut = TRUE;
	g_debug("http event=%s", why);
	g_socket_shutdown(c->socket, TRUE, TRUE, NULL);
}

static gboolean on_deadline(gpointer data)
{
	conn_shut(data, "deadline");
	return G_SOURCE_REMOVE;
}

/* The connection's deadline starts again: timeout_ms for a request, or
 * for the wait for the next one on a kept-alive connection. */
static void conn_restart(Conn *c)
{
	if (c->deadline != NULL) {
		g_source_destroy(c->deadline);
		g_source_unref(c->deadline);
	}
	c->deadline = g_timeout_source_new(c->server->timeout_ms);
	g_source_set_callback(c->deadline, on_deadline, c, NULL);
	g_source_attach(c->deadline, c->server->context);
}

/* The oldest connection not shut yet, or NULL; how many are open into
 * open_out. */
static Conn *oldest_open(DkWebServer *server, guint *open_out)
{
	Conn *oldest = NULL;
	*open_out = 0;
	for (GList *l = server->conns.head; l != NULL; l = l->next) {
		Conn *c = l->data;
		if (c->shut)
			continue;
		if (oldest == NULL)
			oldest = c;
		(*open_out)++;
	}
	return oldest;
}

/* A connection seen for the first time: at the limit, the oldest makes
 * room; its deadline starts now. */
static void conn_new(DkWebServer *server, GSocket *socket)
{
	guint open = 0;
	Conn *oldest = oldest_open(server, &open);
	if (open >= server->max_connections)
		conn_shut(oldest, "evicted");
	Conn *c = g_new0(Conn, 1);
	c->server = server;
	c->socket = socket;
	g_queue_push_tail(&server->conns, c);
	c->link = g_queue_peek_tail_link(&server->conns);
	g_hash_table_insert(server->by_socket, socket, c);
	conn_restart(c);
	g_object_weak_ref(G_OBJECT(socket), on_socket_gone, c);
}

/* A body over [http] max_body_size is refused before it is read: docket
 * takes the connection from libsoup, answers 413 and closes it. */
static void on_got_headers(SoupServerMessage *msg, gpointer data)
{
	DkWebServer *server = data;
	goffset length =
	    soup_message_headers_get_content_length(soup_server_message_get_request_headers(msg));
	if (length <= server->max_body)
		return;
	static const char answer[] =
	    "HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
	    "Connection: close\r\nContent-Length: 78\r\n\r\n"
	    "{\"code\":\"too_large\",\"message\":\"the request body is over [http] "
	    "max_body_size\"}";
	g_autoptr(GIOStream) stream = soup_server_message_steal_connection(msg);
	if (stream == NULL)
		return;
	g_output_stream_write_all(g_io_stream_get_output_stream(stream), answer, sizeof answer - 1,
	                          NULL, NULL, NULL);
	g_io_stream_close(stream, NULL, NULL);
}

/* A body sent in chunks, without a length, meets the same limit. */
static void on_got_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
	DkWebServer *server = data;
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	if (body->length > server->max_body) {
		GSocket *socket = soup_server_message_get_socket(msg);
		if (socket != NULL)
			g_socket_shutdown(socket, TRUE, TRUE, NULL);
	}
}

static void on_request_started(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
	DkWebServer *server = data;
	GSocket *socket = soup_server_message_get_socket(msg);
	Conn *c = socket ? g_hash_table_lookup(server->by_socket, socket) : NULL;
	if (c != NULL)
		conn_restart(c);
	else if (socket != NULL)
		conn_new(server, socket);
	g_signal_connect(msg, "got-headers", G_CALLBACK(on_got_headers), data);
	g_signal_connect(msg, "got-chunk", G_CALLBACK(on_got_chunk), data);
}

static void on_request_read(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
	dk_web_security_headers(msg);
}

static void on_request_finished(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
	DkWebServer *server = data;
	GSocket *socket = soup_server_message_get_socket(msg);
	Conn *c = socket ? g_hash_table_lookup(server->by_socket, socket) : NULL;
	if (c != NULL && !c->shut)
		conn_restart(c);
	g_debug(
	    "http event=request method=%s path=%s status=%u", soup_server_message_get_method(msg),
	    g_uri_get_path(soup_server_message_get_uri(msg)), soup_server_message_get_status(msg));
}

static gpointer server_thread(gpointer data)
{
	DkWebServer *server = data;
	g_main_context_push_thread_default(server->context);
	g_main_loop_run(server->loop);
	for (GList *l = server->conns.head; l != NULL; l = l->next)
		conn_shut(l->data, "stopping");
	soup_server_disconnect(server->soup);
	g_clear_object(&server->soup);
	/* What libsoup still holds it drops as its sources finish; a bounded
	 * number of rounds, then docket forgets the rest. */
	for (guint i = 0; i < 100 && !g_queue_is_empty(&server->conns); i++)
		g_main_context_iteration(server->context, FALSE);
	while (!g_queue_is_empty(&server->conns)) {
		Conn *c = g_queue_peek_head(&server->conns);
		g_object_weak_unref(G_OBJECT(c->socket), on_socket_gone, c);
		conn_free(c);
	}
	g_main_context_pop_thread_default(server->context);
	return NULL;
}

static GSocket *listen_on(GSocketAddress *addr, GError **error)
{
	g_autoptr(GSocket) socket = g_socket_new(
	    g_socket_address_get_family(addr), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
	if (socket == NULL || !g_socket_bind(socket, addr, TRUE, error) ||
	    !g_socket_listen(socket, error))
		return NULL;
	g_socket_set_blocking(socket, FALSE);
	return g_steal_pointer(&socket);
}

/* The API and the web desk carry passwords and tokens: over plain HTTP
 * only on loopback (a reverse proxy beside docket), unless insecure. */
static gboolean web_allowed(const DkWebServer *server)
{
	return server->web.certificate != NULL || server->web.loopback ||
	       dk_config_get_bool(server->web.config, "http", "insecure_plain");
}

static gboolean register_modules(DkWebServer *server, GError **error)
{
	soup_server_add_handler(server->soup, "/healthz", on_ops, &server->web, NULL);
	soup_server_add_handler(server->soup, "/metrics", on_ops, &server->web, NULL);
	if (!web_allowed(server)) {
		g_warning("http event=web_off reason=\"plain HTTP beyond loopback: set "
		          "tls_certificate and tls_key, or insecure_plain\"");
		return TRUE;
	}
	for (guint i = 0; i < G_N_ELEMENTS(modules); i++)
		if (!modules[i](&server->web, server->soup, error))
			return FALSE;
	return TRUE;
}

static gboolean load_tls(DkWebServer *server, GError **error)
{
	const DkConfig *config = server->web.config;
	const char *cert = dk_config_get_string(config, "http", "tls_certificate");
	const char *key = dk_config_get_string(config, "http", "tls_key");
	if (*cert == '\0')
		return TRUE;
	server->web.certificate = g_tls_certificate_new_from_files(cert, key, error);
	if (server->web.certificate == NULL) {
		g_prefix_error(error, "[http] tls_certificate/tls_key: ");
		(*error)->domain = DK_ERROR;
		(*error)->code = DK_ERROR_CONFIG;
		return FALSE;
	}
	return TRUE;
}

/* Everything but the thread, built with the server's context as the
 * thread default so that libsoup's sources attach to it. */
static gboolean server_setup(DkWebServer *server, const char *listen, GError **error)
{
	g_autoptr(GSocketAddress) addr = dk_socket_address_parse(listen, error);
	if (addr == NULL || !load_tls(server, error))
		return FALSE;
	server->web.loopback = dk_socket_address_is_loopback(addr);
	server->web.store = dk_store_open_config(server->web.config, error);
	if (server->web.store == NULL)
		return FALSE;
	server->soup = soup_server_new("server-header", "docket", NULL);
	g_signal_connect(server->soup, "request-started", G_CALLBACK(on_request_started), server);
	g_signal_connect(server->soup, "request-read", G_CALLBACK(on_request_read), server);
	g_signal_connect(server->soup, "request-finished", G_CALLBACK(on_request_finished), server);
	if (server->web.certificate != NULL)
		soup_server_set_tls_certificate(server->soup, server->web.certificate);
	if (!register_modules(server, error))
		return FALSE;
	g_autoptr(GSocket) listener = listen_on(addr, error);
	if (listener == NULL ||
	    !soup_server_listen_socket(server->soup, listener,
	                               server->web.certificate ? SOUP_SERVER_LISTEN_HTTPS : 0,
	                               error)) {
		g_prefix_error(error, "http: listening on %s: ", listen);
		return FALSE;
	}
	return TRUE;
}

static void server_release(DkWebServer *server)
{
	g_clear_object(&server->soup);
	g_hash_table_unref(server->by_socket);
	g_clear_object(&server->web.certificate);
	dk_store_close(server->web.store);
	g_main_loop_unref(server->loop);
	g_main_context_unref(server->context);
	g_free(server);
}

DkWebServer *dk_web_server_new(const DkConfig *config, DkWebProbe probe, gpointer data,
                               GError **error)
{
	const char *listen = dk_config_get_string(config, "http", "listen");
	DkWebServer *server = g_new0(DkWebServer, 1);
	server->web.config = config;
	server->web.probe = probe;
	server->web.probe_data = data;
	server->max_connections =
	    (guint)MAX(dk_config_get_int(config, "http", "max_connections"), 1);
	server->timeout_ms =
	    (guint)MAX(dk_config_get_int(config, "http", "timeout_seconds"), 1) * 1000;
	server->max_body = dk_config_get_int(config, "http", "max_body_size");
	g_queue_init(&server->conns);
	server->by_socket = g_hash_table_new(NULL, NULL);
	server->context = g_main_context_new();
	server->loop = g_main_loop_new(server->context, FALSE);
	g_main_context_push_thread_default(server->context);
	gboolean ok = server_setup(server, listen, error);
	g_main_context_pop_thread_default(server->context);
	if (!ok) {
		server_release(server);
		return NULL;
	}
	server->thread = g_thread_new("docket-http", server_thread, server);
	g_message("http event=listening address=%s tls=%s max_connections=%u timeout_ms=%u", listen,
	          server->web.certificate ? "yes" : "no", server->max_connections,
	          server->timeout_ms);
	return server;
}

/* Runs in the server thread, so the loop is running when it quits. */
static gboolean quit_loop(gpointer data)
{
	g_main_loop_quit(((DkWebServer *)data)->loop);
	return G_SOURCE_REMOVE;
}

void dk_web_server_free(DkWebServer *server)
{
	if (server == NULL)
		return;
	g_main_context_invoke(server->context, quit_loop, server);
	g_thread_join(server->thread);
	server_release(server);
}
