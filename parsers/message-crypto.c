/* Signed and encrypted mail as the parser sees it: which protection a
 * message carries (RFC 1847 multipart/signed and multipart/encrypted,
 * RFC 3156 OpenPGP, RFC 8551 S/MIME, inline OpenPGP armour). Checking a
 * signature or decrypting needs keys and gpgme, which is I/O: that is
 * gateway/core/crypto.c's, and it fills DkCrypto's result fields. */
#include "parsers/message-private.h"

#include <string.h>

static gboolean type_is(GMimeObject *obj, const char *type, const char *sub)
{
	return g_mime_content_type_is_type(g_mime_object_get_content_type(obj), type, sub);
}

static gboolean is_smime_type(GMimeObject *obj)
{
	return type_is(obj, "application", "pkcs7-mime") ||
	       type_is(obj, "application", "x-pkcs7-mime");
}

/* The protection of obj itself, or DK_CRYPTO_NONE. */
static DkCryptoKind kind_of(GMimeObject *obj, const char **protocol_out)
{
	if (GMIME_IS_MULTIPART_SIGNED(obj)) {
		const char *p = g_mime_object_get_content_type_parameter(obj, "protocol");
		*protocol_out = p != NULL && g_strrstr(p, "pkcs7") != NULL ? "smime" : "pgp-mime";
		return DK_CRYPTO_SIGNED;
	}
	if (GMIME_IS_MULTIPART_ENCRYPTED(obj)) {
		*protocol_out = "pgp-mime";
		return DK_CRYPTO_ENCRYPTED;
	}
	if (is_smime_type(obj)) {
		const char *t = g_mime_object_get_content_type_parameter(obj, "smime-type");
		*protocol_out = "smime";
		/* RFC 8551 section 3.2.2: signed-data (and certs-only) is opaque
		 * signed content; enveloped-data and authEnveloped-data are
		 * encrypted. */
		return t != NULL && g_ascii_strncasecmp(t, "signed", 6) == 0 ? DK_CRYPTO_SIGNED
		                                                             : DK_CRYPTO_ENCRYPTED;
	}
	return DK_CRYPTO_NONE;
}

/* Inline OpenPGP armour at the start of a line of the text. */
static DkCryptoKind kind_of_text(const char *text)
{
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (g_str_has_prefix(p, "-----BEGIN PGP MESSAGE-----"))
			return DK_CRYPTO_ENCRYPTED;
		if (g_str_has_prefix(p, "-----BEGIN PGP SIGNED MESSAGE-----"))
			return DK_CRYPTO_SIGNED;
	}
	return DK_CRYPTO_NONE;
}

void dk_message_crypto_read(DkParseContext *c, GMimeObject *body)
{
	DkMessage *m = c->m;
	const char *protocol = NULL;
	DkCryptoKind kind = body ? kind_of(body, &protocol) : DK_CRYPTO_NONE;
	/* A signed or encrypted message inside a multipart/mixed (a mailing
	 * list's footer added after it) counts as well. */
	if (kind == DK_CRYPTO_NONE && body != NULL && GMIME_IS_MULTIPART(body) &&
	    g_mime_multipart_get_count(GMIME_MULTIPART(body)) > 0)
		kind = kind_of(g_mime_multipart_get_part(GMIME_MULTIPART(body), 0), &protocol);
	if (kind == DK_CRYPTO_NONE && (kind = kind_of_text(m->text)) != DK_CRYPTO_NONE)
		protocol = "inline-pgp";
	m->crypto.kind = kind;
	m->crypto.protocol = g_strdup(protocol);
	if (kind != DK_CRYPTO_ENCRYPTED)
		return;
	/* An encrypted message keeps a clear marker rather than an empty
	 * (or armoured) text until gateway/core/crypto.c decrypts it. */
	g_free(m->text);
	g_free(m->new_text);
	g_free(m->quoted_text);
	m->text = g_strdup(DK_MESSAGE_ENCRYPTED_MARKER);
	m->new_text = g_strdup(DK_MESSAGE_ENCRYPTED_MARKER);
	m->quoted_text = g_strdup("");
	m->html = FALSE;
}

gboolean dk_message_signed_by(const DkMessage *message, const char *address)
{
	return message != NULL && address != NULL &&
	       message->crypto.signature == DK_SIGNATURE_VERIFIED &&
	       message->crypto.signer != NULL &&
	       g_ascii_strcasecmp(message->crypto.signer, address) == 0;
}

void dk_message_crypto_clear(DkCrypto *crypto)
{
	g_clear_pointer(&crypto->protocol, g_free);
	g_clear_pointer(&crypto->signer, g_free);
	g_clear_pointer(&crypto->fingerprint, g_free);
	g_clear_pointer(&crypto->detail, g_free);
}
