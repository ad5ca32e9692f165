/* Checks signatures and decrypts mail through GMime's crypto contexts
 * (RFC 1847, RFC 3156, RFC 8551); see crypto.h. */
#include "gateway/core/crypto.h"

#include <gmime/gmime.h>
#include <string.h>
#include <unistd.h>

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

/* The outer header fields of gm (less the Content-* ones) as they came,
 * raw and folded, written to stream: the start of the message made again
 * around a part that was protected. */
static void write_outer_headers(GMimeMessage *gm, GMimeStream *stream)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(gm));
	for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *name = g_mime_header_get_name(h);
		const char *raw = g_mime_header_get_raw_value(h);
		if (g_ascii_strncasecmp(name, "Content-", 8) == 0 || raw == NULL)
			continue;
		g_mime_stream_printf(stream, "%s:%s%s", name, raw,
		                     g_str_has_suffix(raw, "\n") ? "" : "\n");
	}
}

/* The message again, with its top part replaced by entity: the outer
 * header fields, then entity's own. */
static DkMessage *reparse(GMimeMessage *gm, GMimeObject *entity, const DkParseOptions *options)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	write_outer_headers(gm, mem);
	g_mime_object_write_to_stream(entity, NULL, mem);
	GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_autoptr(GBytes) raw = g_bytes_new(bytes->data, bytes->len);
	g_object_unref(mem);
	return dk_message_parse(raw, options, NULL);
}

/* Puts inner (the message made again around what was protected) in
 * place of *message, with what *message knew of the protection. */
static void take_inner(DkMessage **message, DkMessage *inner)
{
	DkCrypto keep = (*message)->crypto;
	memset(&(*message)->crypto, 0, sizeof keep);
	dk_message_crypto_clear(&inner->crypto);
	inner->crypto = keep;
	dk_message_free(*message);
	*message = inner;
}

/* Moves a decrypted parse into place, keeping what the first parse knew
 * of the protection. */
static void take_decrypted(DkMessage **message, DkMessage *inner, DkCryptoKind inner_kind)
{
	DkCrypto keep = (*message)->crypto;
	take_inner(message, inner);
	inner->crypto.decrypted = TRUE;
	if (inner_kind == DK_CRYPTO_SIGNED && keep.signature == DK_SIGNATURE_UNCHECKED)
		inner->crypto.kind = DK_CRYPTO_ENCRYPTED; /* still encrypted, and signed inside */
}

static gboolean is_smime_signed_data(GMimeObject *part)
{
	return GMIME_IS_APPLICATION_PKCS7_MIME(part) &&
	       g_mime_application_pkcs7_mime_get_smime_type(GMIME_APPLICATION_PKCS7_MIME(part)) ==
	           GMIME_SECURE_MIME_TYPE_SIGNED_DATA;
}

static void check_smime_signed(GMimeMessage *gm, GMimeObject *part, const DkParseOptions *options,
                               gint64 message_size, DkMessage **message);

/* Whether two MIME types name the same, an "x-" before the subtype aside
 * ("application/x-pkcs7-signature" is "application/pkcs7-signature"). */
static gboolean same_type(const char *a, const char *b)
{
	const char *sa = strchr(a, '/'), *sb = strchr(b, '/');
	if (sa == NULL || sb == NULL || sa - a != sb - b || g_ascii_strncasecmp(a, b, sa - a) != 0)
		return FALSE;
	sa++, sb++;
	if (g_ascii_strncasecmp(sa, "x-", 2) == 0)
		sa += 2;
	if (g_ascii_strncasecmp(sb, "x-", 2) == 0)
		sb += 2;
	return g_ascii_strcasecmp(sa, sb) == 0;
}

/* The protocol parameter of an RFC 1847 multipart (multipart/signed or
 * multipart/encrypted, NULL when it has none) and its first two parts
 * (the content and the signature, or the version and the ciphertext):
 * NULL both when it has fewer. */
static const char *protocol_parts(GMimeObject *multipart, GMimeObject **first, GMimeObject **second)
{
	GMimeMultipart *mp = GMIME_MULTIPART(multipart);
	gboolean two = g_mime_multipart_get_count(mp) >= 2;
	*first = two ? g_mime_multipart_get_part(mp, 0) : NULL;
	*second = two ? g_mime_multipart_get_part(mp, 1) : NULL;
	return g_mime_object_get_content_type_parameter(multipart, "protocol");
}

/* Whether a message of message_size bytes is checked through files of
 * options' spill: one of DK_PARSE_SPILL_MIN bytes or more, when there is a
 * spill. */
static gboolean through_files(const DkParseOptions *options, gint64 message_size)
{
	return message_size >= DK_PARSE_SPILL_MIN && options != NULL && options->spill != NULL;
}

/* Where the content a signature covers is written for gpgme to read: a
 * file of options' spill (closed with the stream) when through_files(),
 * else memory. */
static GMimeStream *covered_stream(const DkParseOptions *options, gint64 message_size)
{
	int fd = through_files(options, message_size) ? options->spill(options->spill_data) : -1;
	return fd >= 0 ? g_mime_stream_fs_new(fd) : g_mime_stream_mem_new();
}

/* g_mime_multipart_signed_verify(), but with the content the signature
 * covers (the first part as it came, lines ended CRLF: RFC 3156 section
 * 5, RFC 8551 section 3.1.1) written where covered_stream() says: GMime's
 * own writes it into memory, so that a signed message of 86 MB with a 60
 * MiB attachment took 92 MiB to check. gpgme reads it from there as it
 * needs it. The same refusals as GMime's. */
static GMimeSignatureList *verify_signed(GMimeMultipartSigned *mps, const DkParseOptions *options,
                                         gint64 message_size, GError **error)
{
	GMimeObject *content = NULL, *signature = NULL;
	const char *protocol = protocol_parts(GMIME_OBJECT(mps), &content, &signature);
	if (signature == NULL || !GMIME_IS_PART(signature) || protocol == NULL) {
		g_set_error_literal(error, GMIME_ERROR, GMIME_ERROR_PARSE_ERROR,
		                    "multipart/signed without its two parts or its protocol");
		return NULL;
	}
	GMimeCryptoContext *ctx = g_mime_crypto_context_new(protocol);
	const char *supported = ctx ? g_mime_crypto_context_get_signature_protocol(ctx) : NULL;
	g_autofree char *type =
	    g_mime_content_type_get_mime_type(g_mime_object_get_content_type(signature));
	if (supported == NULL || !same_type(protocol, supported) || !same_type(type, supported)) {
		g_set_error(error, GMIME_ERROR, GMIME_ERROR_PROTOCOL_ERROR,
		            "unsupported signature protocol '%s' (signature part %s)", protocol,
		            type);
		g_clear_object(&ctx);
		return NULL;
	}
	GMimeStream *covered = covered_stream(options, message_size);
	GMimeFormatOptions *format = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(format, GMIME_NEWLINE_FORMAT_DOS);
	gssize written = g_mime_object_write_to_stream(content, format, covered);
	g_mime_format_options_free(format);
	GMimeSignatureList *list = NULL;
	if (written < 0 || g_mime_stream_reset(covered) != 0) {
		g_set_error_literal(error, GMIME_ERROR, GMIME_ERROR_GENERAL,
		                    "the signed content could not be written out to be checked");
	} else {
		GMimeStream *sig = g_mime_stream_mem_new();
		g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(GMIME_PART(signature)),
		                                    sig);
		g_mime_stream_reset(sig);
		list =
		    g_mime_crypto_context_verify(ctx, GMIME_VERIFY_NONE, covered, sig, NULL, error);
		g_object_unref(sig);
	}
	g_object_unref(covered);
	g_object_unref(ctx);
	return list;
}

static void check_pgp_mime(GMimeMessage *gm, GMimeObject *part, const DkParseOptions *options,
                           gint64 message_size, DkMessage **message);

static void not_decrypted(DkCrypto *c, const GError *error)
{
	g_free(c->detail);
	c->detail = g_strdup_printf("not decrypted: %s", error ? error->message : "no secret key");
}

/* What decryption gave: the signatures of result, and inner (the message
 * made again around plain, NULL when it could not be read) in place of
 * *message; then a signature inside plain (NULL: not read) is checked. */
static void take_plain(GMimeMessage *gm, GMimeObject *plain, GMimeDecryptResult *result,
                       DkMessage *inner, const DkParseOptions *options, gint64 message_size,
                       DkMessage **message)
{
	GMimeSignatureList *sigs = result ? g_mime_decrypt_result_get_signatures(result) : NULL;
	if (sigs != NULL && g_mime_signature_list_length(sigs) > 0)
		read_signatures(&(*message)->crypto, sigs, NULL);
	if (inner == NULL)
		return;
	DkCryptoKind inner_kind = inner->crypto.kind;
	take_decrypted(message, inner, inner_kind);
	/* Signed, then encrypted: a multipart/signed (OpenPGP or S/MIME) or
	 * S/MIME signed-data inside (RFC 3156 section 6.1, RFC 8551 section
	 * 3.7). */
	if (inner_kind == DK_CRYPTO_SIGNED && GMIME_IS_MULTIPART_SIGNED(plain))
		check_pgp_mime(gm, plain, options, message_size, message);
	else if (inner_kind == DK_CRYPTO_SIGNED && is_smime_signed_data(plain))
		check_smime_signed(gm, plain, options, message_size, message);
}

/* A file of options' spill as a stream that leaves the descriptor open
 * (*fd_out, the caller's to close); NULL when the spill gives none. */
static GMimeStream *spill_stream(const DkParseOptions *options, int *fd_out)
{
	*fd_out = options->spill(options->spill_data);
	if (*fd_out < 0)
		return NULL;
	GMimeStream *stream = g_mime_stream_fs_new(*fd_out);
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(stream), FALSE);
	return stream;
}

/* The crypto context for part and the part that holds its protected
 * content: an S/MIME part itself (enveloped- or signed-data), or the
 * ciphertext of a multipart/encrypted, with GMime's refusals
 * (g_mime_multipart_encrypted_decrypt(),
 * g_mime_application_pkcs7_mime_decrypt()); NULL with error. */
static GMimeCryptoContext *protected_content(GMimeObject *part, GMimePart **encrypted_out,
                                             GError **error)
{
	if (GMIME_IS_APPLICATION_PKCS7_MIME(part)) {
		*encrypted_out = GMIME_PART(part);
		GMimeCryptoContext *ctx = g_mime_crypto_context_new("application/pkcs7-mime");
		if (ctx == NULL)
			g_set_error_literal(error, GMIME_ERROR, GMIME_ERROR_PROTOCOL_ERROR,
			                    "no S/MIME crypto context");
		return ctx;
	}
	GMimeObject *version = NULL, *content = NULL;
	const char *protocol = protocol_parts(part, &version, &content);
	GMimeCryptoContext *ctx = protocol ? g_mime_crypto_context_new(protocol) : NULL;
	const char *supported = ctx ? g_mime_crypto_context_get_encryption_protocol(ctx) : NULL;
	g_autofree char *version_type =
	    version ? g_mime_content_type_get_mime_type(g_mime_object_get_content_type(version))
	            : NULL;
	if (supported == NULL || content == NULL || !GMIME_IS_PART(content) ||
	    !same_type(protocol, supported) || !same_type(version_type, supported) ||
	    !g_mime_content_type_is_type(g_mime_object_get_content_type(content), "application",
	                                 "octet-stream")) {
		g_set_error(error, GMIME_ERROR, GMIME_ERROR_PROTOCOL_ERROR,
		            "multipart/encrypted of protocol '%s' not as RFC 1847 has it",
		            protocol ? protocol : "(none)");
		g_clear_object(&ctx);
		return NULL;
	}
	*encrypted_out = GMIME_PART(content);
	return ctx;
}

/* A large protected part opened through files of the options' spill, not
 * memory (GMime holds the content, what it is made into, and the message
 * was made again in memory around it: 258 MiB to take in a 90 MB
 * encrypted message). */
typedef struct {
	GObject *result;     /* a GMimeDecryptResult or a GMimeSignatureList;
	                      * NULL: the crypto context failed */
	DkMessage *inner;    /* the message made again, read as a spool file is */
	GMimeMessage *again; /* GMime's reading of it (a signature inside) */
	gint64 size;
	int fd; /* its file: open while again is read */
} Opened;

static void opened_clear(Opened *o)
{
	g_clear_object(&o->again);
	g_clear_object(&o->result);
	g_clear_pointer(&o->inner, dk_message_free);
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}

/* Opens part (verify: S/MIME signed-data, else encrypted) through two
 * files: its content decoded into one (the ciphertext or the signed
 * data), and the message made again in the other (gm's outer header
 * fields, then what the crypto context makes of the content: decrypted,
 * or the data taken out of its signature), then read back. FALSE when the
 * spill gives no file, for the caller to open it in memory. */
static gboolean open_large(GMimeMessage *gm, GMimeObject *part, const DkParseOptions *options,
                           gboolean verify, Opened *o, GError **error)
{
	*o = (Opened){.fd = -1};
	int cipher_fd = -1;
	GMimeStream *cipher = spill_stream(options, &cipher_fd);
	GMimeStream *out = cipher ? spill_stream(options, &o->fd) : NULL;
	if (out == NULL) {
		g_clear_object(&cipher);
		if (cipher_fd >= 0)
			close(cipher_fd);
		return FALSE;
	}
	GMimePart *content = NULL;
	GMimeCryptoContext *ctx = protected_content(part, &content, error);
	if (ctx != NULL &&
	    (g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(content), cipher) < 0 ||
	     g_mime_stream_reset(cipher) != 0))
		g_set_error_literal(error, GMIME_ERROR, GMIME_ERROR_GENERAL,
		                    "the protected content could not be written out");
	else if (ctx != NULL) {
		write_outer_headers(gm, out);
		o->result = verify
		                ? G_OBJECT(g_mime_crypto_context_verify(ctx, GMIME_VERIFY_NONE,
		                                                        cipher, NULL, out, error))
		                : G_OBJECT(g_mime_crypto_context_decrypt(ctx, GMIME_DECRYPT_NONE,
		                                                         NULL, cipher, out, error));
	}
	o->size = g_mime_stream_tell(out);
	g_object_unref(cipher);
	close(cipher_fd);
	g_object_unref(out);
	g_clear_object(&ctx);
	if (o->result == NULL || o->size <= 0)
		return TRUE;
	o->inner = dk_message_parse_fd(o->fd, (gsize)o->size, options, NULL);
	GMimeStream *made = g_mime_stream_fs_new_with_bounds(o->fd, 0, o->size);
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(made), FALSE);
	GMimeParser *parser = g_mime_parser_new_with_stream(made);
	o->again = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(made);
	return TRUE;
}

/* An encrypted part of a large message decrypted through files
 * (open_large()); FALSE when it could not be, for the caller to decrypt
 * it in memory. */
static gboolean decrypt_large(GMimeMessage *gm, GMimeObject *part, const DkParseOptions *options,
                              DkMessage **message)
{
	g_autoptr(GError) error = NULL;
	Opened o;
	if (!open_large(gm, part, options, FALSE, &o, &error))
		return FALSE;
	if (o.result == NULL) {
		not_decrypted(&(*message)->crypto, error);
	} else {
		GMimeObject *plain = o.again ? g_mime_message_get_mime_part(o.again) : NULL;
		take_plain(o.again ? o.again : gm, plain, GMIME_DECRYPT_RESULT(o.result),
		           g_steal_pointer(&o.inner), options, o.size, message);
	}
	opened_clear(&o);
	return TRUE;
}

static void check_pgp_mime(GMimeMessage *gm, GMimeObject *part, const DkParseOptions *options,
                           gint64 message_size, DkMessage **message)
{
	DkCrypto *c = &(*message)->crypto;
	g_autoptr(GError) error = NULL;
	if (GMIME_IS_MULTIPART_SIGNED(part)) {
		GMimeSignatureList *list =
		    verify_signed(GMIME_MULTIPART_SIGNED(part), options, message_size, &error);
		read_signatures(c, list, error);
		g_clear_object(&list);
		return;
	}
	if (!GMIME_IS_MULTIPART_ENCRYPTED(part) && !GMIME_IS_APPLICATION_PKCS7_MIME(part)) {
		set_detail(c, DK_SIGNATURE_ERROR, "the protected part could not be found");
		return;
	}
	if (through_files(options, message_size) && decrypt_large(gm, part, options, message))
		return;
	GMimeDecryptResult *result = NULL;
	GMimeObject *plain = NULL;
	if (GMIME_IS_MULTIPART_ENCRYPTED(part))
		plain = g_mime_multipart_encrypted_decrypt(
		    GMIME_MULTIPART_ENCRYPTED(part), GMIME_DECRYPT_NONE, NULL, &result, &error);
	else
		plain = g_mime_application_pkcs7_mime_decrypt(
		    GMIME_APPLICATION_PKCS7_MIME(part), GMIME_DECRYPT_NONE, NULL, &result, &error);
	if (plain == NULL) {
		not_decrypted(c, error);
		g_clear_object(&result);
		return;
	}
	DkMessage *inner = reparse(gm, plain, options);
	take_plain(gm, plain, result, inner, options, message_size, message);
	g_object_unref(plain);
	g_clear_object(&result);
}

static void check_smime_signed(GMimeMessage *gm, GMimeObject *part, const DkParseOptions *options,
                               gint64 message_size, DkMessage **message)
{
	g_autoptr(GError) error = NULL;
	GMimeSignatureList *list = NULL;
	DkMessage *inner = NULL;
	Opened o = {.fd = -1};
	/* Opaque signed data carries the text inside the signature. */
	if (through_files(options, message_size) &&
	    open_large(gm, part, options, TRUE, &o, &error)) {
		list = o.result ? GMIME_SIGNATURE_LIST(g_steal_pointer(&o.result)) : NULL;
		inner = list ? g_steal_pointer(&o.inner) : NULL;
	} else {
		GMimeObject *entity = NULL;
		list = g_mime_application_pkcs7_mime_verify(GMIME_APPLICATION_PKCS7_MIME(part),
		                                            GMIME_VERIFY_NONE, &entity, &error);
		inner = entity ? reparse(gm, entity, options) : NULL;
		g_clear_object(&entity);
	}
	opened_clear(&o);
	DkCrypto result = {0};
	read_signatures(&result, list, error);
	g_clear_object(&list);
	if (inner != NULL)
		take_inner(message, inner);
	DkCrypto *c = &(*message)->crypto;
	c->signature = result.signature;
	g_free(c->signer);
	g_free(c->fingerprint);
	g_free(c->detail);
	c->signer = result.signer;
	c->fingerprint = result.fingerprint;
	c->detail = result.detail;
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
		check_smime_signed(gm, part, options, g_mime_stream_length(stream), message);
	} else {
		check_pgp_mime(gm, part, options, g_mime_stream_length(stream), message);
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
