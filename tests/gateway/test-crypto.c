/* Tests for gateway/core/crypto: OpenPGP/MIME signatures checked and
 * encrypted mail decrypted with a throwaway GnuPG home made here (gpg
 * from Debian's gnupg); the signed and encrypted messages are made with
 * GMime's own crypto context, as a mail program would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dk-test.h"
#include "gateway/core/crypto.h"

#include <gmime/gmime.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static char *home;

static gboolean run(const char *const *argv)
{
	int status = 0;
	g_autoptr(GError) error = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, NULL,
	                  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
	                      G_SPAWN_STDERR_TO_DEV_NULL,
	                  NULL, NULL, NULL, NULL, &status, &error))
		return FALSE;
	return g_spawn_check_wait_status(status, NULL);
}

static int setup(void **state)
{
	(void)state;
	dk_gmime_init();
	home = dk_test_tmpdir();
	g_chmod(home, 0700);
	dk_crypto_setup(home);
	const char *gen[] = {
	    "gpg",          "--batch", "--pinentry-mode", "loopback",
	    "--passphrase", "",        "--quick-gen-key", "Alice Agent <alice@example.com>",
	    "ed25519",      "sign",    "never",           NULL};
	if (!run(gen))
		return -1;
	const char *sub[] = {"gpg",          "--batch", "--pinentry-mode", "loopback",
	                     "--passphrase", "",        "--quick-add-key", NULL,
	                     "cv25519",      "encr",    "never",           NULL};
	/* the fingerprint of the key just made */
	g_autofree char *out = NULL;
	const char *list[] = {"gpg", "--batch", "--with-colons", "--list-secret-keys", NULL};
	if (!g_spawn_sync(NULL, (char **)list, NULL,
	                  G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
	                  NULL, NULL))
		return -1;
	const char *fpr = strstr(out, "\nfpr:");
	if (fpr == NULL)
		return -1;
	g_auto(GStrv) fields = g_strsplit(fpr + 1, ":", 0);
	g_autofree char *fingerprint = g_strdup(fields[9]);
	sub[7] = fingerprint;
	return run(sub) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	const char *kill[] = {"gpgconf", "--kill", "all", NULL};
	run(kill);
	dk_test_rmtree(home);
	g_free(home);
	return 0;
}

static GMimeMessage *new_message(const char *text)
{
	GMimeMessage *m = g_mime_message_new(TRUE);
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, "Alice Agent", "alice@example.com");
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, NULL, "support@example.org");
	g_mime_message_set_subject(m, "signed", NULL);
	g_mime_message_set_message_id(m, "m1@example.com");
	g_mime_object_append_header(GMIME_OBJECT(m), "In-Reply-To", "<c1@example.com>", NULL);
	GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
	g_mime_text_part_set_text(part, text);
	g_mime_message_set_mime_part(m, GMIME_OBJECT(part));
	g_object_unref(part);
	return m;
}

static GBytes *to_bytes(GMimeMessage *m)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, mem);
	GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	GBytes *b = g_bytes_new(a->data, a->len);
	g_object_unref(mem);
	return b;
}

static GBytes *signed_message(const char *text)
{
	GMimeMessage *m = new_message(text);
	GMimeCryptoContext *ctx = g_mime_gpg_context_new();
	g_autoptr(GError) error = NULL;
	GMimeMultipartSigned *mps = g_mime_multipart_signed_sign(
	    ctx, g_mime_message_get_mime_part(m), "alice@example.com", &error);
	if (mps == NULL)
		fail_msg("signing: %s", error->message);
	g_mime_message_set_mime_part(m, GMIME_OBJECT(mps));
	GBytes *b = to_bytes(m);
	g_object_unref(mps);
	g_object_unref(ctx);
	g_object_unref(m);
	return b;
}

/* Texts are kept whole up to 8 MiB here: the large tests compare whole
 * texts read two ways. */
#define TEXT_MAX (8 * 1024 * 1024)

static DkMessage *check(GBytes *raw)
{
	DkParseOptions o = {.arrival_time = 1700000000, .max_text_bytes = TEXT_MAX};
	DkMessage *m = dk_message_parse(raw, &o, NULL);
	assert_non_null(m);
	dk_crypto_check(raw, &o, &m);
	return m;
}

static void test_signed_verified(void **state)
{
	(void)state;
	g_autoptr(GBytes) raw = signed_message("Please close ticket 12.\n");
	g_autoptr(DkMessage) m = check(raw);
	assert_int_equal(m->crypto.kind, DK_CRYPTO_SIGNED);
	assert_string_equal(m->crypto.protocol, "pgp-mime");
	assert_int_equal(m->crypto.signature, DK_SIGNATURE_VERIFIED);
	assert_string_equal(m->crypto.signer, "alice@example.com");
	assert_non_null(m->crypto.fingerprint);
	assert_true(dk_message_signed_by(m, "Alice@Example.com"));
	assert_false(dk_message_signed_by(m, "mallory@example.com"));
	assert_non_null(strstr(m->text, "Please close ticket 12."));
}

static void test_changed_content_is_bad(void **state)
{
	(void)state;
	g_autoptr(GBytes) raw = signed_message("Please close ticket 12.\n");
	gsize n = 0;
	const void *data = g_bytes_get_data(raw, &n);
	char *copy = g_memdup2(data, n);
	char *at = g_strstr_len(copy, (gssize)n, "ticket 12");
	assert_non_null(at);
	at[7] = '9'; /* ticket 92 */
	g_autoptr(GBytes) changed = g_bytes_new_take(copy, n);
	g_autoptr(DkMessage) m = check(changed);
	assert_int_equal(m->crypto.signature, DK_SIGNATURE_BAD);
	assert_false(dk_message_signed_by(m, "alice@example.com"));
}

/* The check of raw read from a file, as the pipeline checks a message of a
 * megabyte or more: *spills, the files the check asked for. */
static DkMessage *check_fd(GBytes *raw, guint *spills)
{
	DkParseOptions o = {.arrival_time = 1700000000, .max_text_bytes = TEXT_MAX};
	DkMessage *m = dk_message_parse(raw, &o, NULL);
	assert_non_null(m);
	int fd = dk_test_file_of(g_bytes_get_data(raw, NULL), g_bytes_get_size(raw));
	*spills = 0;
	o.spill = dk_test_spill_file;
	o.spill_data = spills;
	dk_crypto_check_fd(fd, g_bytes_get_size(raw), &o, &m);
	close(fd);
	return m;
}

/* A signed message of a megabyte or more is checked with the content its
 * signature covers written to a file of the options' spill, not to memory
 * (86 MB took 92 MiB before): verified as from memory, and bad once a
 * byte of it changed; a smaller one is checked from memory. */
static void test_large_signed_checked_from_a_file(void **state)
{
	(void)state;
	g_autoptr(GString) text = g_string_new("Please close ticket 12.\n");
	for (guint i = 0; text->len < DK_PARSE_SPILL_MIN + 65536; i++)
		g_string_append_printf(text, "line %u of the printer's log, as it came\n", i);
	g_autoptr(GBytes) raw = signed_message(text->str);
	assert_true(g_bytes_get_size(raw) > DK_PARSE_SPILL_MIN);
	guint spills = 0;
	g_autoptr(DkMessage) m = check_fd(raw, &spills);
	assert_int_equal(spills, 1);
	assert_int_equal(m->crypto.signature, DK_SIGNATURE_VERIFIED);
	assert_string_equal(m->crypto.signer, "alice@example.com");

	gsize n = 0;
	const void *data = g_bytes_get_data(raw, &n);
	char *copy = g_memdup2(data, n);
	char *at = copy + n / 2; /* inside the signed text, however it is encoded */
	while (!g_ascii_isalnum(*at))
		at++;
	*at = *at == 'A' ? 'B' : 'A';
	g_autoptr(GBytes) changed = g_bytes_new_take(copy, n);
	g_autoptr(DkMessage) bad = check_fd(changed, &spills);
	assert_int_equal(spills, 1);
	assert_int_equal(bad->crypto.signature, DK_SIGNATURE_BAD);

	g_autoptr(GBytes) small = signed_message("Please close ticket 12.\n");
	g_autoptr(DkMessage) s = check_fd(small, &spills);
	assert_int_equal(spills, 0);
	assert_int_equal(s->crypto.signature, DK_SIGNATURE_VERIFIED);
}

/* A message with text, signed and encrypted to alice as a mail program
 * does (PGP/MIME). */
static GBytes *encrypted_message(const char *text)
{
	GMimeMessage *gm = new_message(text);
	GMimeCryptoContext *ctx = g_mime_gpg_context_new();
	GPtrArray *to = g_ptr_array_new();
	g_ptr_array_add(to, "alice@example.com");
	g_autoptr(GError) error = NULL;
	GMimeMultipartEncrypted *mpe = g_mime_multipart_encrypted_encrypt(
	    ctx, g_mime_message_get_mime_part(gm), TRUE, "alice@example.com",
	    GMIME_ENCRYPT_ALWAYS_TRUST, to, &error);
	if (mpe == NULL)
		fail_msg("encrypting: %s", error->message);
	g_mime_message_set_mime_part(gm, GMIME_OBJECT(mpe));
	GBytes *raw = to_bytes(gm);
	g_ptr_array_unref(to);
	g_object_unref(mpe);
	g_object_unref(ctx);
	g_object_unref(gm);
	return raw;
}

static void test_encrypted_decrypted(void **state)
{
	(void)state;
	g_autoptr(GBytes) raw = encrypted_message("The secret text.\n");
	/* Without keys: the marker, not an empty body. */
	DkParseOptions o = {.arrival_time = 1700000000};
	g_autoptr(DkMessage) plain = dk_message_parse(raw, &o, NULL);
	assert_int_equal(plain->crypto.kind, DK_CRYPTO_ENCRYPTED);
	assert_string_equal(plain->text, DK_MESSAGE_ENCRYPTED_MARKER);
	assert_null(strstr(plain->text, "secret"));
	/* With the administrator's key: the text, and the signature inside. */
	g_autoptr(DkMessage) m = check(raw);
	assert_true(m->crypto.decrypted);
	assert_int_equal(m->crypto.kind, DK_CRYPTO_ENCRYPTED);
	assert_non_null(strstr(m->text, "The secret text."));
	assert_string_equal(m->subject, "signed");
	/* the outer header fields as they came (threading reads them) */
	assert_string_equal(m->message_id, "m1@example.com");
	assert_non_null(m->in_reply_to);
	assert_string_equal(m->in_reply_to, "c1@example.com");
	assert_int_equal(m->date, plain->date);
	assert_int_equal(m->crypto.signature, DK_SIGNATURE_VERIFIED);
	assert_true(dk_message_signed_by(m, "alice@example.com"));
}

/* A large encrypted message (a megabyte or more, read from a file) is
 * decrypted through two files of the options' spill, the ciphertext and
 * the message made again (258 MiB to take in 90 MB before, in memory):
 * the same text, outer header fields and inner signature as decrypting in
 * memory gives; damaged ciphertext is not decrypted, and says so. */
static void test_large_encrypted_decrypted_through_files(void **state)
{
	(void)state;
	/* lines that gpg's compression cannot make small */
	g_autoptr(GString) text = g_string_new("The secret text.\n");
	for (guint i = 0; text->len < 3 * DK_PARSE_SPILL_MIN; i++) {
		g_autofree char *line = g_strdup_printf("%u", i);
		g_autofree char *noise = g_compute_checksum_for_string(G_CHECKSUM_SHA256, line, -1);
		g_string_append_printf(text, "line %u of the secret log %s\n", i, noise);
	}
	g_autoptr(GBytes) raw = encrypted_message(text->str);
	assert_true(g_bytes_get_size(raw) > DK_PARSE_SPILL_MIN);
	guint spills = 0;
	g_autoptr(DkMessage) m = check_fd(raw, &spills);
	g_autoptr(DkMessage) in_memory = check(raw);
	assert_int_equal(spills, 2);
	assert_true(m->crypto.decrypted);
	assert_int_equal(m->crypto.kind, DK_CRYPTO_ENCRYPTED);
	assert_int_equal(m->errors->len, 0);
	assert_string_equal(m->text, in_memory->text);
	assert_true(g_str_has_prefix(m->text, "The secret text."));
	assert_non_null(strstr(m->text, "line 20000 of the secret log "));
	assert_string_equal(m->message_id, "m1@example.com");
	assert_string_equal(m->in_reply_to, "c1@example.com");
	assert_string_equal(m->subject, "signed");
	assert_int_equal(m->crypto.signature, DK_SIGNATURE_VERIFIED);
	assert_string_equal(m->crypto.signer, "alice@example.com");

	gsize n = 0;
	const void *data = g_bytes_get_data(raw, &n);
	char *copy = g_memdup2(data, n);
	char *at = copy + n / 2; /* inside the armoured ciphertext */
	while (!g_ascii_isalnum(*at))
		at++;
	*at = *at == 'A' ? 'B' : 'A';
	g_autoptr(GBytes) damaged = g_bytes_new_take(copy, n);
	g_autoptr(DkMessage) d = check_fd(damaged, &spills);
	assert_false(d->crypto.decrypted);
	assert_string_equal(d->text, DK_MESSAGE_ENCRYPTED_MARKER);
	assert_non_null(d->crypto.detail);
	assert_true(g_str_has_prefix(d->crypto.detail, "not decrypted: "));
}

static void test_unknown_key_and_off(void **state)
{
	(void)state;
	g_autoptr(GBytes) raw = signed_message("hello\n");
	g_autofree char *empty = dk_test_tmpdir();
	g_chmod(empty, 0700);
	dk_crypto_setup(empty);
	g_autoptr(DkMessage) m = check(raw);
	assert_int_equal(m->crypto.signature, DK_SIGNATURE_NO_KEY);
	assert_false(dk_message_signed_by(m, "alice@example.com"));
	dk_crypto_setup(NULL); /* off: nothing checked */
	assert_false(dk_crypto_enabled());
	g_autoptr(DkMessage) off = check(raw);
	assert_int_equal(off->crypto.signature, DK_SIGNATURE_UNCHECKED);
	const char *kill[] = {"gpgconf", "--kill", "all", NULL};
	run(kill);
	dk_test_rmtree(empty);
	dk_crypto_setup(home);
}

static void test_corpus_structures(void **state)
{
	(void)state;
	g_autofree char *corpus = dk_test_shared_path("corpus/rt");
	if (corpus == NULL)
		skip();
	static const struct {
		const char *file;
		DkCryptoKind kind;
		const char *protocol;
	} cases[] = {
	    {"gnupg-emails/1-signed-MIME-plain.txt", DK_CRYPTO_SIGNED, "pgp-mime"},
	    {"gnupg-emails/4-signed-inline-plain.txt", DK_CRYPTO_SIGNED, "inline-pgp"},
	    {"gnupg-emails/7-encrypted-MIME-plain.txt", DK_CRYPTO_ENCRYPTED, "pgp-mime"},
	    {"gnupg-emails/10-encrypted-inline-plain.txt", DK_CRYPTO_ENCRYPTED, "inline-pgp"},
	    {"gnupg-emails/13-signed-encrypted-MIME-plain.txt", DK_CRYPTO_ENCRYPTED, "pgp-mime"},
	    {"smime-mails/1-signed.eml", DK_CRYPTO_SIGNED, "smime"},
	    {"smime-mails/4-encrypted-plain.eml", DK_CRYPTO_ENCRYPTED, "smime"},
	    {"smime-mails/7-signed-encrypted-plain.eml", DK_CRYPTO_ENCRYPTED, "smime"},
	    {"emails/multipart-alternative-with-umlaut", DK_CRYPTO_NONE, NULL},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_build_filename(corpus, cases[i].file, NULL);
		g_autofree char *data = NULL;
		gsize n = 0;
		assert_true(g_file_get_contents(path, &data, &n, NULL));
		g_autoptr(GBytes) raw = g_bytes_new(data, n);
		g_autoptr(DkMessage) m = check(raw); /* keys of RT's tests are not here */
		if (m->crypto.kind != cases[i].kind ||
		    g_strcmp0(m->crypto.protocol, cases[i].protocol) != 0)
			fail_msg("%s: kind %d protocol %s", cases[i].file, m->crypto.kind,
			         m->crypto.protocol);
		if (cases[i].kind == DK_CRYPTO_ENCRYPTED)
			assert_string_equal(m->text, DK_MESSAGE_ENCRYPTED_MARKER);
		assert_false(dk_message_signed_by(m, m->from ? m->from->address : "x@y"));
	}
}

int main(void)
{
	g_autofree char *gpg = g_find_program_in_path("gpg");
	g_autofree char *gpgconf = g_find_program_in_path("gpgconf");
	if (gpg == NULL || gpgconf == NULL)
		return DK_TEST_SKIP; /* gnupg, from contrib/setup-debian.sh */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signed_verified),
	    cmocka_unit_test(test_changed_content_is_bad),
	    cmocka_unit_test(test_large_signed_checked_from_a_file),
	    cmocka_unit_test(test_encrypted_decrypted),
	    cmocka_unit_test(test_large_encrypted_decrypted_through_files),
	    cmocka_unit_test(test_unknown_key_and_off),
	    cmocka_unit_test(test_corpus_structures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
