/* Verifies an IMAP server's certificate chain and name with GnuTLS. */
#include "gateway/intake/imap-tls.h"

#include "gateway/error.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define MAX_CHAIN 16

void dk_imap_tls_setup(struct mailstream_ssl_context *context, void *data)
{
	const char *host = data;
	if (!g_hostname_is_ip_address(host))
		mailstream_ssl_set_server_name(context, (char *)host);
}

static gboolean fail(GError **error, const char *host, const char *format, const char *detail)
{
	g_autofree char *why = g_strdup_printf(format, detail);
	g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "TLS certificate of %s not trusted: %s",
	            host, why);
	return FALSE;
}

static gboolean load_trust(gnutls_x509_trust_list_t list, const char *host, const char *ca_file,
                           GError **error)
{
	int rc = ca_file != NULL ? gnutls_x509_trust_list_add_trust_file(list, ca_file, NULL,
	                                                                 GNUTLS_X509_FMT_PEM, 0, 0)
	                         : gnutls_x509_trust_list_add_system_trust(list, 0, 0);
	if (rc > 0)
		return TRUE;
	g_set_error(
	    error, DK_ERROR, DK_ERROR_CONFIG, "%s: no CA certificate could be loaded from %s%s",
	    host, ca_file ? ca_file : "the system trust store", rc < 0 ? gnutls_strerror(rc) : "");
	return FALSE;
}

/* Imports the DER certificates of chain into certs; returns how many. */
static guint import_chain(carray *chain, gnutls_x509_crt_t *certs)
{
	guint n = 0;
	for (guint i = 0; i < carray_count(chain) && n < MAX_CHAIN; i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t datum = {.data = (unsigned char *)der->str,
		                        .size = (unsigned)der->len};
		if (gnutls_x509_crt_init(&certs[n]) < 0)
			break;
		if (gnutls_x509_crt_import(certs[n], &datum, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(certs[n]);
			break;
		}
		n++;
	}
	return n;
}

static void free_chain(carray *chain)
{
	for (guint i = 0; i < carray_count(chain); i++)
		mmap_string_free(carray_get(chain, i));
	carray_free(chain);
}

static gboolean check(gnutls_x509_crt_t *certs, guint n, const char *host, const char *ca_file,
                      GError **error)
{
	gnutls_x509_trust_list_t list = NULL;
	if (gnutls_x509_trust_list_init(&list, 0) < 0)
		return fail(error, host, "%s", "cannot initialise a trust list");
	if (!load_trust(list, host, ca_file, error)) {
		gnutls_x509_trust_list_deinit(list, 1);
		return FALSE;
	}
	unsigned status = 0;
	int rc = gnutls_x509_trust_list_verify_crt2(list, certs, n, NULL, 0, 0, &status, NULL);
	gnutls_x509_trust_list_deinit(list, 1);
	if (rc < 0)
		return fail(error, host, "%s", gnutls_strerror(rc));
	if (status != 0) {
		gnutls_datum_t text = {0};
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
		g_autofree char *why = g_strdup(text.data ? (const char *)text.data : "invalid");
		gnutls_free(text.data);
		return fail(error, host, "%s", why);
	}
	/* RFC 6125 section 6: the leaf must name the host we meant to reach. */
	if (!gnutls_x509_crt_check_hostname2(certs[0], host, 0))
		return fail(error, host, "the certificate is for another host name (not %s)", host);
	return TRUE;
}

gboolean dk_imap_tls_verify(mailstream *stream, const char *host, const char *ca_file,
                            GError **error)
{
	carray *chain = mailstream_low_get_certificate_chain(mailstream_get_low(stream));
	if (chain == NULL || carray_count(chain) == 0) {
		if (chain != NULL)
			carray_free(chain);
		return fail(error, host, "%s", "the server presented no certificate");
	}
	gnutls_x509_crt_t certs[MAX_CHAIN];
	guint n = import_chain(chain, certs);
	guint total = carray_count(chain);
	free_chain(chain);
	gboolean ok =
	    n == total ? check(certs, n, host, ca_file, error)
	               : fail(error, host, "%s", "a certificate of the chain could not be parsed");
	for (guint i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	return ok;
}
