/* The operations endpoint: a minimal HTTP/1.0 server on loopback that
 * serves /healthz and /metrics (Prometheus text format). Off unless
 * [http] listen is set. It runs on a thread of its own with non-blocking
 * sockets: every connection has a total deadline, and at the connection
 * limit the oldest connection is closed to make room, so slow or idle
 * clients cannot keep a health check from being answered. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Fills the outbox figures for /metrics; FALSE when the store cannot be
 * read (then /healthz answers 503). Called on a server thread. */
typedef gboolean (*DkHttpProbe)(gint64 *outbox_depth_out, gint64 *outbox_oldest_age_out,
                                gpointer data);

typedef struct DkHttpServer DkHttpServer;

typedef struct {
	guint max_connections; /* open at once; at the limit the oldest is closed */
	guint timeout_ms;      /* each connection's whole life, request and reply */
} DkHttpLimits;

/* Listens on listen ("127.0.0.1:9424", "[::1]:9424"); NULL and an error
 * (DK_ERROR_CONFIG for a bad address) when it cannot. The probe runs on
 * the server's thread. */
DkHttpServer *dk_http_server_new(const char *listen, const DkHttpLimits *limits, DkHttpProbe probe,
                                 gpointer data, GError **error);
void dk_http_server_free(DkHttpServer *server);

/* Parses "IP:PORT" or "[IPv6]:PORT" into a socket address; NULL and a
 * DK_ERROR_CONFIG error otherwise. Shared with the LMTP listener. */
GSocketAddress *dk_socket_address_parse(const char *spec, GError **error);

G_END_DECLS
