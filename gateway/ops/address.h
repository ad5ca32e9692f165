/* Listening addresses as the configuration writes them. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Parses "IP:PORT" or "[IPv6]:PORT" into a socket address; NULL and a
 * DK_ERROR_CONFIG error otherwise. */
GSocketAddress *dk_socket_address_parse(const char *spec, GError **error);

/* Whether address is an IP address of loopback (127.0.0.0/8, ::1). */
gboolean dk_socket_address_is_loopback(GSocketAddress *address);

G_END_DECLS
