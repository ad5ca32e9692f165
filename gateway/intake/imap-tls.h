/* Server certificate verification for IMAP connections. libetpan performs
 * the TLS handshake but does not check the certificate it is shown; docket
 * does so here, with GnuTLS, before it sends any credential. */
#pragma once

#include <glib.h>
#include <libetpan/libetpan.h>

G_BEGIN_DECLS

/* Checks the certificate chain the peer of stream presented: it must lead
 * to a CA in ca_file (PEM; NULL: the system trust store), be valid now, and
 * name host (a DNS name or an IP address; RFC 6125). FALSE with a
 * DK_ERROR_PERMANENT that names the host and the reason otherwise. */
gboolean dk_imap_tls_verify(mailstream *stream, const char *host, const char *ca_file,
                            GError **error);

/* A libetpan TLS set-up callback that asks for host by SNI (RFC 6066
 * section 3); data is the host name, a string that outlives the handshake.
 * IP addresses are not sent. */
void dk_imap_tls_setup(struct mailstream_ssl_context *context, void *data);

G_END_DECLS
