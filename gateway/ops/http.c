/* /healthz and /metrics over HTTP/1.0. */
#include "gateway/ops/http.h"

#include "gateway/core/error.h"
#include "gateway/ops/metrics.h"

#include <string.h>

struct DkHttpServer {
	GSocketService *service;
	DkHttpProbe probe;
	gpointer data;
};

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
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "address “%s” is not IP:PORT or [IPv6]:PORT", spec);
		return NULL;
	}
	return g_inet_socket_address_new(addr, (guint16)port);
}

static void respond(GOutputStream *out, int status, const char *reason, const char *type, const char *body)
{
	g_autofree char *head = g_strdup_printf("HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
						"Connection: close\r\n\r\n",
						status, reason, type, strlen(body));
	g_output_stream_write_all(out, head, strlen(head), NULL, NULL, NULL);
	g_output_stream_write_all(out, body, strlen(body), NULL, NULL, NULL);
}

static gboolean on_run(GThreadedSocketService *service, GSocketConnection *connection, GObject *source,
		       gpointer data)
{
	DkHttpServer *server = data;
	g_socket_set_timeout(g_socket_connection_get_socket(connection), 5);
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(connection));
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(connection));
	char request[2048];
	gsize got = 0;
	/* The request line is all we need; read until it is complete. */
	while (got < sizeof request - 1 && memchr(request, '\n', got) == NULL) {
		gssize n = g_input_stream_read(in, request + got, sizeof request - 1 - got, NULL, NULL);
		if (n <= 0)
			return TRUE;
		got += (gsize)n;
	}
	request[got] = '\0';
	gint64 depth = -1, age = -1;
	gboolean healthy = server->probe == NULL || server->probe(&depth, &age, server->data);
	if (g_str_has_prefix(request, "GET /healthz ") || g_str_has_prefix(request, "GET /healthz?")) {
		respond(out, healthy ? 200 : 503, healthy ? "OK" : "Service Unavailable", "text/plain",
			healthy ? "ok\n" : "store unavailable\n");
	} else if (g_str_has_prefix(request, "GET /metrics ")) {
		g_autoptr(GString) body = g_string_new(NULL);
		dk_metrics_render(body, depth, age);
		respond(out, 200, "OK", "text/plain; version=0.0.4", body->str);
	} else if (g_str_has_prefix(request, "GET ")) {
		respond(out, 404, "Not Found", "text/plain", "not found\n");
	} else {
		respond(out, 405, "Method Not Allowed", "text/plain", "only GET\n");
	}
	return TRUE;
}

DkHttpServer *dk_http_server_new(const char *listen, DkHttpProbe probe, gpointer data, GError **error)
{
	g_autoptr(GSocketAddress) addr = dk_socket_address_parse(listen, error);
	if (addr == NULL)
		return NULL;
	DkHttpServer *server = g_new0(DkHttpServer, 1);
	server->probe = probe;
	server->data = data;
	server->service = g_threaded_socket_service_new(4);
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(server->service), addr, G_SOCKET_TYPE_STREAM,
					   G_SOCKET_PROTOCOL_TCP, NULL, NULL, error)) {
		g_prefix_error(error, "http: listening on %s: ", listen);
		dk_http_server_free(server);
		return NULL;
	}
	g_signal_connect(server->service, "run", G_CALLBACK(on_run), server);
	g_socket_service_start(server->service);
	g_message("http event=listening address=%s", listen);
	return server;
}

void dk_http_server_free(DkHttpServer *server)
{
	if (server == NULL)
		return;
	g_socket_service_stop(server->service);
	g_socket_listener_close(G_SOCKET_LISTENER(server->service));
	g_object_unref(server->service);
	g_free(server);
}
