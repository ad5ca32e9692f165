/* Checks signatures and decrypts mail through GMime's crypto contexts
 * (RFC 1847, RFC 3156, RFC 8551); see crypto.h. */
#include "gateway/core/crypto.h"

#include <gmime/gmime.h>
#include <string.h>

static gboolean enabled;

gboolean dk_crypto_setup(const char *home)
{
	enabled = home != NULL && *home != '\0';
	if (enabled)
		g_setenv("GNUPGHOME", home, TRUE);
	return enabled;
}

gboolean dk_crypto_enabled(void)
{
	return enabled;
}

const char *dk_signature_status_name(DkSignatureStatus status)
{
	static const char *const names[] = {
	    [DK_SIGNATURE_UNCHECKED] = "unchecked", [DK_SIGNATURE_VERIFIED] = "verified",
	    [DK_SIGNATURE_UNTRUSTED] = "untrusted", [DK_SIGNATURE_BAD] = "bad",
	    [DK_SIGNATURE_NO_KEY] = "no-key",       [DK_SIGNATURE_ERROR] = "error",
	};
	return (guint)status < G_N_ELEMENTS(names) ? names[status] : "unchecked";
}

json_t *dk_crypto_json(const DkCrypto *c)
{
	static const char *const kinds[] = {"none", "signed", "encrypted"};
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string(kinds[c->kind]));
	json_object_set_new(o, "protocol", c->protocol ? json_string(c->protocol) : json_null());
	json_object_set_new(o, "decrypted", json_boolean(c->decrypted));
	json_object_set_new(o, "signature", json_string(dk_signature_status_name(c->signature)));
	json_object_set_new(o, "signer", c->signer ? json_string(c->signer) : json_null());
	json_object_set_new(o, "fingerprint",
	                    c->fingerprint ? json_string(c->fingerprint) : json_null());
	json_object_set_new(o, "detail", c->detail ? json_string(c->detail) : json_null());
	return o;
}

static void set_detail(DkCrypto *c, DkSignatureStatus status, const char *detail)
{
	c->signature = status;
	g_free(c->detail);
	c->detail = g_strdup(detail);
}

/* The address of a certificate: its e-mail, else the <...> of its user
 * id, domain lower-cased; NULL when it names none. */
static char *certificate_address(GMimeCertificate *cert)
{
	const char *email = g_mime_certificate_get_email(cert);
	g_autofree char *from_uid = NULL;
	if (email == NULL || *email == '\0') {
		const char *uid = g_mime_certificate_get_user_id(cert);
		const char *lt = uid ? strrchr(uid, '<') : NULL;
		const char *gt = lt ? strchr(lt, '>') : NULL;
		if (gt == NULL)
			return NULL;
		email = from_uid = g_strndup(lt + 1, (gsize)(gt - lt - 1));
	}
	const char *at = strrchr(email, '@');
	if (at == NULL)
		return NULL;
	g_autofree char *domain = g_ascii_strdown(at + 1, -1);
	return g_strdup_printf("%.*s@%s", (int)(at - email), email, domain);
}

/* DkCrypto's signature result from GMime's list: the first signature
 * decides (mail carries one). */
static void read_signatures(DkCrypto *c, GMimeSignatureList *list, const GError *error)
{
	if (list == NULL || g_mime_signature_list_length(list) == 0) {
		set_detail(c, DK_SIGNATURE_ERROR,
		           error ? error->message : "no signature could be read");
		return;
	}
	GMimeSignature *sig = g_mime_signature_list_get_signature(list, 0);
	GMimeSignatureStatus st = g_mime_signature_get_status(sig);
	GMimeCertificate *cert = g_mime_signature_get_certificate(sig);
	g_clear_pointer(&c->signer, g_free);
	g_clear_pointer(&c->fingerprint, g_free);
	if (st & GMIME_SIGNATURE_STATUS_KEY_MISSING) {
		set_detail(c, DK_SIGNATURE_NO_KEY,
		           "the signer's key or certificate is not in the keyring");
		return;
	}
	if (st & GMIME_SIGNATURE_STATUS_RED) {
		set_detail(
		    c, DK_SIGNATURE_BAD,
		    "bad signature: the signed content was changed or the signature is broken");
		return;
	}
	if (cert != NULL) {
		c->signer = certificate_address(cert);
		const char *fpr = g_mime_certificate_get_fingerprint(cert);
		c->fingerprint = fpr ? g_strdup(fpr) : NULL;
	}
	gboolean trusted =
	    (st & (GMIME_SIGNATURE_STATUS_VALID | GMIME_SIGNATURE_STATUS_GREEN)) != 0 &&
	    (st & (GMIME_SIGNATURE_STATUS_KEY_REVOKED | GMIME_SIGNATURE_STATUS_KEY_EXPIRED |
	           GMIME_SIGNATURE_STATUS_SIG_EXPIRED | GMIME_SIGNATURE_STATUS_SYS_ERROR)) == 0;
	if (trusted && c->signer != NULL)
		set_detail(c, DK_SIGNATURE_VERIFIED, "good signature by a trusted key");
	else
		set_detail(
		    c, DK_SIGNATURE_UNTRUSTED,
		    "good signature, but the key is not trusted, has expired or was revoked");
}

/* The protected object: the top part, or the first part of a
 * multipart/mixed around it (a list footer added after it). */
static GMimeObject *protected_part(GMimeMessage *gm)
{
	GMimeObject *top = g_mime_message_get_mime_part(gm);
	if (top == NULL || GMIME_IS_MULTIPART_SIGNED(top) || GMIME_IS_MULTIPART_ENCRYPTED(top) ||
	    GMIME_IS_APPLICATION_PKCS7_MIME(top))
		return top;
	if (GMIME_IS_MULTIPART(top) && g_mime_multipart_get_count(GMIME_MULTIPART(top)) > 0)
		return g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
	return top;
}

/* The message again, with its top part replaced by entity: the outer
 * header fields (less the Content-* ones) as they came, raw and folded,
 * then entity's own. */
static DkMessage *reparse(GMimeMessage *gm, GMimeObject *entity, const DkParseOptions *options)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(gm));
	for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *name = g_mime_header_get_name(h);
		const char *raw = g_mime_header_get_raw_value(h);
		if (g_ascii_strncasecmp(name, "Content-", 8) == 0 || raw == NULL)
			continue;
		g_mime_stream_printf(mem, "%s:%s%s", name, raw,
		                     g_str_has_suffix(raw, "\n") ? "" : "\n");
	}
	g_mime_object_write_to_stream(entity, NULL, mem);
	GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_autoptr(GBytes) raw = g_bytes_new(bytes->data, bytes->len);
	g_object_unref(mem);
	return dk_message_parse(raw, options, NULL);
}

/* Moves a decrypted parse into place, keeping what the first parse knew
 * of the protection. */
static void take_decrypted(DkMessage **message, DkMessage *inner, DkCryptoKind inner_kind)
{
	DkCrypto keep = (*message)->crypto;
	memset(&(*message)->crypto, 0, sizeof keep);
	dk_message_crypto_clear(&inner->crypto);
	inner->crypto = keep;
	inner->crypto.decrypted = TRUE;
	if (inner_kind == DK_CRYPTO_SIGNED && keep.signature == DK_SIGNATURE_UNCHECKED)
		inner->crypto.kind = DK_CRYPTO_ENCRYPTED; /* still encrypted, and signed inside */
	dk_message_free(*message);
	*message = inner;
}

static gboolean is_smime_signed_data(GMimeObject *part)
{
	return GMIME_IS_APPLICATION_PKCS7_MIME(part) &&
	       g_mime_application_pkcs7_mime_get_smime_type(GMIME_APPLICATION_PKCS7_MIME(part)) ==
	           GMIME_SECURE_MIME_TYPE_SIGNED_DATA;
}

static void check_smime_signed(GMimeMessage *gm, GMimeObject *part, const DkParseOptions *options,
                               DkMessage **message);

static void check_pgp_mime(GMimeMessage *gm, GMimeObject *part, const DkParseOptions *options,
                           DkMessage **message)
{
	DkCrypto *c = &(*message)->crypto;
	g_autoptr(GError) error = NULL;
	if (GMIME_IS_MULTIPART_SIGNED(part)) {
		GMimeSignatureList *list = g_mime_multipart_signed_verify(
		    GMIME_MULTIPART_SIGNED(part), GMIME_VERIFY_NONE, &error);
		read_signatures(c, list, error);
		g_clear_object(&list);
		return;
	}
	if (!GMIME_IS_MULTIPART_ENCRYPTED(part) && !GMIME_IS_APPLICATION_PKCS7_MIME(part)) {
		set_detail(c, DK_SIGNATURE_ERROR, "the protected part could not be found");
		return;
	}
	GMimeDecryptResult *result = NULL;
	GMimeObject *plain = NULL;
	if (GMIME_IS_MULTIPART_ENCRYPTED(part))
		plain = g_mime_multipart_encrypted_decrypt(
		    GMIME_MULTIPART_ENCRYPTED(part), GMIME_DECRYPT_NONE, NULL, &result, &error);
	else
		plain = g_mime_application_pkcs7_mime_decrypt(
		    GMIME_APPLICATION_PKCS7_MIME(part), GMIME_DECRYPT_NONE, NULL, &result, &error);
	if (plain == NULL) {
		g_free(c->detail);
		c->detail =
		    g_strdup_printf("not decrypted: %s", error ? error->message : "no secret key");
		g_clear_object(&result);
		return;
	}
	GMimeSignatureList *sigs = result ? g_mime_decrypt_result_get_signatures(result) : NULL;
	if (sigs != NULL && g_mime_signature_list_length(sigs) > 0)
		read_signatures(c, sigs, NULL);
	DkMessage *inner = reparse(gm, plain, options);
	if (inner != NULL) {
		DkCryptoKind inner_kind = inner->crypto.kind;
		take_decrypted(message, inner, inner_kind);
		/* Signed, then encrypted: a multipart/signed (OpenPGP or S/MIME)
		 * or S/MIME signed-data inside (RFC 3156 section 6.1, RFC 8551
		 * section 3.7). */
		if (inner_kind == DK_CRYPTO_SIGNED && GMIME_IS_MULTIPART_SIGNED(plain))
			check_pgp_mime(gm, plain, options, message);
		else if (inner_kind == DK_CRYPTO_SIGNED && is_smime_signed_data(plain))
			check_smime_signed(gm, plain, options, message);
	}
	g_object_unref(plain);
	g_clear_object(&result);
}

static void check_smime_signed(GMimeMessage *gm, GMimeObject *part, const DkParseOptions *options,
                               DkMessage **message)
{
	g_autoptr(GError) error = NULL;
	GMimeObject *entity = NULL;
	GMimeSignatureList *list = g_mime_application_pkcs7_mime_verify(
	    GMIME_APPLICATION_PKCS7_MIME(part), GMIME_VERIFY_NONE, &entity, &error);
	DkCrypto result = {0};
	read_signatures(&result, list, error);
	g_clear_object(&list);
	/* Opaque signed data carries the text inside the signature. */
	DkMessage *inner = entity ? reparse(gm, entity, options) : NULL;
	if (inner != NULL) {
		DkCrypto keep = (*message)->crypto;
		memset(&(*message)->crypto, 0, sizeof keep);
		dk_message_crypto_clear(&inner->crypto);
		inner->crypto = keep;
		dk_message_free(*message);
		*message = inner;
	}
	DkCrypto *c = &(*message)->crypto;
	c->signature = result.signature;
	g_free(c->signer);
	g_free(c->fingerprint);
	g_free(c->detail);
	c->signer = result.signer;
	c->fingerprint = result.fingerprint;
	c->detail = result.detail;
	g_clear_object(&entity);
}

/* The check of dk_crypto_check() on the message GMime reads from stream. */
static void check_stream(GMimeStream *stream, const DkParseOptions *options, DkMessage **message)
{
	DkMessage *m = *message;
	if (g_strcmp0(m->crypto.protocol, "inline-pgp") == 0) {
		set_detail(&m->crypto, DK_SIGNATURE_UNCHECKED,
		           "inline OpenPGP is not checked; PGP/MIME and S/MIME are");
		return;
	}
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *gm = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	GMimeObject *part = gm ? protected_part(gm) : NULL;
	if (part == NULL) {
		set_detail(&m->crypto, DK_SIGNATURE_ERROR, "the protected part could not be read");
	} else if (is_smime_signed_data(part)) {
		check_smime_signed(gm, part, options, message);
	} else {
		check_pgp_mime(gm, part, options, message);
	}
	g_clear_object(&gm);
}

void dk_crypto_check(GBytes *raw, const DkParseOptions *options, DkMessage **message)
{
	if (!enabled || *message == NULL || raw == NULL ||
	    (*message)->crypto.kind == DK_CRYPTO_NONE)
		return;
	dk_gmime_init();
	gsize n = 0;
	const char *p = g_bytes_get_data(raw, &n);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(p, n);
	check_stream(stream, options, message);
	g_object_unref(stream);
}

void dk_crypto_check_fd(int fd, gsize size, const DkParseOptions *options, DkMessage **message)
{
	if (!enabled || *message == NULL || (*message)->crypto.kind == DK_CRYPTO_NONE)
		return;
	dk_gmime_init();
	GMimeStream *stream = g_mime_stream_fs_new_with_bounds(fd, 0, (gint64)size);
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(stream), FALSE);
	check_stream(stream, options, message);
	g_object_unref(stream);
}
