/* The operations endpoint: a minimal HTTP/1.0 server on loopback that
 * serves /healthz and /metrics (Prometheus text format). Off unless
 * [http] listen is set. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Fills the outbox figures for /metrics; FALSE when the store cannot be
 * read (then /healthz answers 503). Called on a server thread. */
typedef gboolean (*DkHttpProbe)(gint64 *outbox_depth_out, gint64 *outbox_oldest_age_out, gpointer data);

typedef struct DkHttpServer DkHttpServer;

/* Listens on listen ("127.0.0.1:9424", "[::1]:9424"). */
DkHttpServer *dk_http_server_new(const char *listen, DkHttpProbe probe, gpointer data, GError **error);
void dk_http_server_free(DkHttpServer *server);

/* Parses "IP:PORT" or "[IPv6]:PORT" into a socket address; NULL and a
 * DK_ERROR_CONFIG error otherwise. Shared with the LMTP listener. */
GSocketAddress *dk_socket_address_parse(const char *spec, GError **error);

G_END_DECLS
