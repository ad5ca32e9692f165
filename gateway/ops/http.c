/* /healthz and /metrics over HTTP/1.0, on one thread of its own with
 * non-blocking sockets: a slow client costs a buffer, never a thread, each
 * connection has a total deadline, and at the connection limit the oldest
 * connection makes room for the new one, so a health check is answered
 * whatever other clients do. */
#include "gateway/ops/http.h"

#include "gateway/error.h"
#include "gateway/ops/metrics.h"

#include <string.h>

#define REQUEST_MAX 2048

struct DkHttpServer {
	GSocket *listener;
	GSource *accept_source;
	GMainContext *context;
	GMainLoop *loop;
	GThread *thread;
	GQueue conns; /* of Conn*, oldest first; touched by the server thread only */
	guint max_connections;
	guint timeout_ms;
	DkHttpProbe probe;
	gpointer data;
};

/* One client: its request as it arrives, then the reply as it leaves. */
typedef struct {
	DkHttpServer *server;
	GSocket *socket;
	GSource *io, *deadline;
	GList *link;
	char request[REQUEST_MAX];
	gsize got;
	GString *reply; /* NULL while reading */
	gsize sent;
} Conn;

GSocketAddress *dk_socket_address_parse(const char *spec, GError **error)
{
	g_autofree char *host = NULL;
	const char *port_text = NULL;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close != NULL && close[1] == ':') {
			host = g_strndup(spec + 1, (gsize)(close - spec - 1));
			port_text = close + 2;
		}
	} else {
		const char *colon = strrchr(spec, ':');
		if (colon != NULL) {
			host = g_strndup(spec, (gsize)(colon - spec));
			port_text = colon + 1;
		}
	}
	guint64 port = 0;
	g_autoptr(GInetAddress) addr = host ? g_inet_address_new_from_string(host) : NULL;
	if (addr == NULL || !g_ascii_string_to_unsigned(port_text, 10, 0, 65535, &port, NULL)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "address “%s” is not IP:PORT or [IPv6]:PORT", spec);
		return NULL;
	}
	return g_inet_socket_address_new(addr, (guint16)port);
}

static void conn_close(Conn *c)
{
	DkHttpServer *server = c->server;
	g_queue_delete_link(&server->conns, c->link);
	g_source_destroy(c->io);
	g_source_unref(c->io);
	g_source_destroy(c->deadline);
	g_source_unref(c->deadline);
	g_socket_close(c->socket, NULL);
	g_object_unref(c->socket);
	if (c->reply != NULL)
		g_string_free(c->reply, TRUE);
	g_free(c);
}

static GString *response(int status, const char *reason, const char *type, const char *body)
{
	GString *out = g_string_new(NULL);
	g_string_printf(out,
	                "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                "Connection: close\r\n\r\n%s",
	                status, reason, type, strlen(body), body);
	return out;
}

/* The answer to a complete request line. */
static GString *answer(DkHttpServer *server, const char *request)
{
	if (!g_str_has_prefix(request, "GET "))
		return response(405, "Method Not Allowed", "text/plain", "only GET\n");
	gboolean health = g_str_has_prefix(request, "GET /healthz ") ||
	                  g_str_has_prefix(request, "GET /healthz?");
	gboolean metrics = g_str_has_prefix(request, "GET /metrics ");
	if (!health && !metrics)
		return response(404, "Not Found", "text/plain", "not found\n");
	gint64 depth = -1, age = -1;
	gboolean healthy = server->probe == NULL || server->probe(&depth, &age, server->data);
	if (health)
		return response(healthy ? 200 : 503, healthy ? "OK" : "Service Unavailable",
		                "text/plain", healthy ? "ok\n" : "store unavailable\n");
	g_autoptr(GString) body = g_string_new(NULL);
	dk_metrics_render(body, depth, age);
	return response(200, "OK", "text/plain; version=0.0.4", body->str);
}

static gboolean on_io(GSocket *socket, GIOCondition condition, gpointer data);

/* Watches the socket for cond (reading the request, or writing the reply). */
static void conn_watch(Conn *c, GIOCondition cond)
{
	if (c->io != NULL) {
		g_source_destroy(c->io);
		g_source_unref(c->io);
	}
	c->io = g_socket_create_source(c->socket, cond | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(c->io, G_SOURCE_FUNC(on_io), c, NULL);
	g_source_attach(c->io, c->server->context);
}

/* Sends what the socket takes of the reply; FALSE when the connection is
 * done (all sent, or broken). */
static gboolean conn_send(Conn *c)
{
	while (c->sent < c->reply->len) {
		g_autoptr(GError) error = NULL;
		gssize n = g_socket_send(c->socket, c->reply->str + c->sent,
		                         c->reply->len - c->sent, NULL, &error);
		if (n < 0)
			return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
		c->sent += (gsize)n;
	}
	return FALSE;
}

/* Reads what has arrived of the request; FALSE when the connection is
 * done (closed by the client, broken). */
static gboolean conn_read(Conn *c)
{
	g_autoptr(GError) error = NULL;
	gssize n = g_socket_receive(c->socket, c->request + c->got, sizeof c->request - 1 - c->got,
	                            NULL, &error);
	if (n < 0)
		return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
	if (n == 0)
		return FALSE;
	c->got += (gsize)n;
	c->request[c->got] = '\0';
	/* The request line is all we need. */
	if (memchr(c->request, '\n', c->got) == NULL && c->got < sizeof c->request - 1)
		return TRUE;
	c->reply = answer(c->server, c->request);
	if (!conn_send(c))
		return FALSE;
	conn_watch(c, G_IO_OUT);
	return TRUE;
}

static gboolean on_io(GSocket *socket, GIOCondition condition, gpointer data)
{
	Conn *c = data;
	gboolean more = c->reply == NULL ? conn_read(c) : conn_send(c);
	if (!more)
		conn_close(c);
	return G_SOURCE_CONTINUE; /* conn_close destroyed the source when done */
}

static gboolean on_deadline(gpointer data)
{
	Conn *c = data;
	g_debug("http event=deadline got=%zu", c->got);
	conn_close(c);
	return G_SOURCE_CONTINUE;
}

static void conn_new(DkHttpServer *server, GSocket *socket)
{
	/* At the limit the oldest connection, the slowest, makes room. */
	if (g_queue_get_length(&server->conns) >= server->max_connections) {
		g_debug("http event=evicted connections=%u", server->max_connections);
		conn_close(g_queue_peek_head(&server->conns));
	}
	Conn *c = g_new0(Conn, 1);
	c->server = server;
	c->socket = socket;
	g_socket_set_blocking(socket, FALSE);
	g_queue_push_tail(&server->conns, c);
	c->link = g_queue_peek_tail_link(&server->conns);
	c->deadline = g_timeout_source_new(server->timeout_ms);
	g_source_set_callback(c->deadline, on_deadline, c, NULL);
	g_source_attach(c->deadline, server->context);
	conn_watch(c, G_IO_IN);
}

static gboolean on_accept(GSocket *listener, GIOCondition condition, gpointer data)
{
	DkHttpServer *server = data;
	for (;;) {
		g_autoptr(GError) error = NULL;
		GSocket *socket = g_socket_accept(listener, NULL, &error);
		if (socket == NULL) {
			if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				g_warning("http event=accept error=%s", error->message);
			return G_SOURCE_CONTINUE;
		}
		conn_new(server, socket);
	}
}

static gpointer server_thread(gpointer data)
{
	DkHttpServer *server = data;
	g_main_context_push_thread_default(server->context);
	g_main_loop_run(server->loop);
	while (!g_queue_is_empty(&server->conns))
		conn_close(g_queue_peek_head(&server->conns));
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

DkHttpServer *dk_http_server_new(const char *listen, const DkHttpLimits *limits, DkHttpProbe probe,
                                 gpointer data, GError **error)
{
	g_autoptr(GSocketAddress) addr = dk_socket_address_parse(listen, error);
	if (addr == NULL)
		return NULL;
	GSocket *listener = listen_on(addr, error);
	if (listener == NULL) {
		g_prefix_error(error, "http: listening on %s: ", listen);
		return NULL;
	}
	DkHttpServer *server = g_new0(DkHttpServer, 1);
	server->listener = listener;
	server->probe = probe;
	server->data = data;
	server->max_connections = MAX(limits->max_connections, 1);
	server->timeout_ms = MAX(limits->timeout_ms, 1);
	g_queue_init(&server->conns);
	server->context = g_main_context_new();
	server->loop = g_main_loop_new(server->context, FALSE);
	server->accept_source = g_socket_create_source(listener, G_IO_IN, NULL);
	g_source_set_callback(server->accept_source, G_SOURCE_FUNC(on_accept), server, NULL);
	g_source_attach(server->accept_source, server->context);
	server->thread = g_thread_new("docket-http", server_thread, server);
	g_message("http event=listening address=%s max_connections=%u timeout_ms=%u", listen,
	          server->max_connections, server->timeout_ms);
	return server;
}

/* Runs in the server thread, so the loop is running when it quits. */
static gboolean quit_loop(gpointer data)
{
	g_main_loop_quit(((DkHttpServer *)data)->loop);
	return G_SOURCE_REMOVE;
}

void dk_http_server_free(DkHttpServer *server)
{
	if (server == NULL)
		return;
	g_main_context_invoke(server->context, quit_loop, server);
	g_thread_join(server->thread);
	g_source_destroy(server->accept_source);
	g_source_unref(server->accept_source);
	g_socket_close(server->listener, NULL);
	g_object_unref(server->listener);
	g_main_loop_unref(server->loop);
	g_main_context_unref(server->context);
	g_free(server);
}
