/* Listening addresses as the configuration writes them: "IP:PORT" or
 * "[IPv6]:PORT" (the LMTP listener and the web server share it). */
#include "gateway/ops/address.h"

#include "gateway/error.h"

#include <string.h>

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

gboolean dk_socket_address_is_loopback(GSocketAddress *address)
{
	if (!G_IS_INET_SOCKET_ADDRESS(address))
		return FALSE;
	GInetAddress *ip = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(address));
	return g_inet_address_get_is_loopback(ip);
}
