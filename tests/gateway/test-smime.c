/* Tests of S/MIME through the pipeline (gateway/core/crypto.c, RFC 8551):
 * a throwaway certificate authority, an agent's certificate and a forger's
 * are made here with openssl; docket's own decryption key is made in a
 * temporary gpgsm home (the [crypto] gnupg_home of the test's
 * configuration), which trusts the authority through trustlist.txt and
 * never goes to the network (no dirmngr, no CRLs). The mail is signed and
 * encrypted by `openssl smime`, another implementation than the gpgsm
 * that checks it. */
#include "dk-test-store.h"
#include "dk-test.h"
#include "gateway/config.h"
#include "gateway/core/crypto.h"
#include "gateway/core/pipeline.h"
#include "gateway/outbox/effects.h"
#include "gateway/store/store-file.h"
#include "gateway/store/store-private.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

static char *dir;  /* certificates, keys and the store */
static char *home; /* the gpgsm home */

/* Runs argv (stdin from input_path when given); returns its standard
 * output, or NULL when it could not run or failed. */
static char *run_input(const char *const *argv, const char *input_path)
{
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
	if (input_path != NULL)
		g_subprocess_launcher_set_stdin_file_path(l, input_path);
	g_subprocess_launcher_set_cwd(l, dir);
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv(l, argv, &error);
	char *out = NULL;
	g_autofree char *err = NULL;
	if (p == NULL || !g_subprocess_communicate_utf8(p, NULL, NULL, &out, &err, &error)) {
		print_error("%s: %s\n", argv[0], error->message);
		return NULL;
	}
	if (!g_subprocess_get_successful(p)) {
		print_error("%s %s failed: %s\n", argv[0], argv[1], err);
		g_free(out);
		return NULL;
	}
	return out;
}

static gboolean run(const char *const *argv)
{
	g_autofree char *out = run_input(argv, NULL);
	return out != NULL;
}

static gboolean write_file(const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	return g_file_set_contents(path, text, -1, NULL);
}

/* An end-entity certificate for address, issued by the test authority
 * from the request in csr. */
static gboolean issue(const char *csr, const char *address, const char *out)
{
	g_autofree char *ext = g_strdup_printf("subjectAltName=email:%s\n"
	                                       "keyUsage=digitalSignature,keyEncipherment\n"
	                                       "extendedKeyUsage=emailProtection\n"
	                                       "basicConstraints=CA:FALSE\n",
	                                       address);
	const char *argv[] = {
	    "openssl",  "x509",    "-req",   "-in",         csr,
	    "-CA",      "ca.pem",  "-CAkey", "ca.key",      "-out",
	    out,        "-days",   "3650",   "-set_serial", address[0] == 'a' ? "2" : "3",
	    "-extfile", "ext.cnf", NULL};
	return write_file("ext.cnf", ext) && run(argv);
}

static int setup(void **state)
{
	(void)state;
	dk_gmime_init();
	dir = dk_test_tmpdir();
	home = g_build_filename(dir, "gnupg", NULL);
	g_mkdir(home, 0700);
	g_autofree char *conf = g_build_filename(home, "gpgsm.conf", NULL);
	/* No network: no dirmngr, hence no CRL or OCSP look-ups. */
	if (!g_file_set_contents(conf, "disable-dirmngr\ndisable-crl-checks\n", -1, NULL))
		return -1;
	g_setenv("GNUPGHOME", home, TRUE);
	const char *ca[] = {"openssl",  "req",
	                    "-x509",    "-newkey",
	                    "rsa:2048", "-nodes",
	                    "-keyout",  "ca.key",
	                    "-out",     "ca.pem",
	                    "-days",    "3650",
	                    "-subj",    "/CN=Docket Test CA",
	                    "-addext",  "basicConstraints=critical,CA:TRUE",
	                    "-addext",  "keyUsage=critical,keyCertSign,cRLSign",
	                    NULL};
	const char *alice[] = {"openssl",
	                       "req",
	                       "-newkey",
	                       "rsa:2048",
	                       "-nodes",
	                       "-keyout",
	                       "alice.key",
	                       "-out",
	                       "alice.csr",
	                       "-subj",
	                       "/CN=Alice Agent/emailAddress=alice@example.com",
	                       NULL};
	/* A forger's certificate for the same address, which nobody issued. */
	const char *mallory[] = {"openssl",  "req",
	                         "-x509",    "-newkey",
	                         "rsa:2048", "-nodes",
	                         "-keyout",  "mallory.key",
	                         "-out",     "mallory.pem",
	                         "-days",    "3650",
	                         "-subj",    "/CN=Alice Agent/emailAddress=alice@example.com",
	                         "-addext",  "subjectAltName=email:alice@example.com",
	                         NULL};
	/* Another, whose certificate never travels (gpgsm keeps the ones that
	 * came in signatures it checked). */
	const char *eve[] = {"openssl",  "req",
	                     "-x509",    "-newkey",
	                     "rsa:2048", "-nodes",
	                     "-keyout",  "eve.key",
	                     "-out",     "eve.pem",
	                     "-days",    "3650",
	                     "-subj",    "/CN=Alice Agent/emailAddress=alice@example.com",
	                     "-addext",  "subjectAltName=email:alice@example.com",
	                     NULL};
	if (!run(ca) || !run(alice) || !run(mallory) || !run(eve) ||
	    !issue("alice.csr", "alice@example.com", "alice.pem"))
		return -1;
	/* docket's own key, made by gpgsm (its secret stays in the home),
	 * certified by the authority. */
	if (!write_file("support.txt", "Key-Type: RSA\nKey-Length: 2048\nKey-Usage: sign, encrypt\n"
	                               "Name-DN: CN=Support\nName-Email: support@example.org\n"))
		return -1;
	const char *gen[] = {"gpgsm",        "--batch",   "--pinentry-mode", "loopback",
	                     "--passphrase", "",          "--armor",         "--output",
	                     "support.csr",  "--gen-key", "support.txt",     NULL};
	const char *import[] = {"gpgsm",     "--batch",     "--import", "ca.pem",
	                        "alice.pem", "support.pem", NULL};
	const char *fpr[] = {"openssl", "x509",         "-in",   "ca.pem",
	                     "-noout",  "-fingerprint", "-sha1", NULL};
	if (!run(gen) || !issue("support.csr", "support@example.org", "support.pem") ||
	    !run(import))
		return -1;
	g_autofree char *line = run_input(fpr, NULL); /* "SHA1 Fingerprint=AB:CD:..." */
	const char *eq = line ? strchr(line, '=') : NULL;
	if (eq == NULL)
		return -1;
	g_autofree char *trust = g_strdup_printf("%.59s S\n", eq + 1);
	g_autofree char *trustlist = g_build_filename(home, "trustlist.txt", NULL);
	return g_file_set_contents(trustlist, trust, -1, NULL) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	const char *kill[] = {"gpgconf", "--kill", "all", NULL};
	run(kill);
	dk_test_rmtree(dir);
	g_clear_pointer(&dir, g_free);
	g_clear_pointer(&home, g_free);
	return 0;
}

/* A store and pipeline whose configuration names the gpgsm home and
 * Alice as an agent, and a customer's ticket she answers. */
typedef struct {
	char *data;
	DkConfig *config;
	DkStore *store;
	DkPipeline *pipeline;
	gint64 ticket;
} Fixture;

static DkPipelineItem *deliver(Fixture *f, GBytes *raw, gint64 *article_out);

static int fixture_setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->data = g_build_filename(dir, "data", NULL);
	g_mkdir(f->data, 0700);
	g_autofree char *text =
	    g_strdup_printf("[store]\ndata_dir = %s\n[crypto]\ngnupg_home = %s\n"
	                    "[agents]\naddresses = alice@example.com\n",
	                    f->data, home);
	g_autoptr(GError) error = NULL;
	f->config = dk_config_load_data(text, strlen(text), "test", &error);
	assert_null(error);
	f->store = dk_test_store_open(f->data, NULL, &error);
	assert_null(error);
	f->pipeline = dk_pipeline_new(f->config, f->store, &dk_outbox_effects);
	assert_true(dk_crypto_enabled());
	static const char first[] = "From: Dana <dana@customer.example>\nTo: support@example.org\n"
	                            "Subject: Printer\nMessage-ID: <c1@customer.example>\n\n"
	                            "The printer on floor 2 is broken.\n";
	g_autoptr(GBytes) raw = g_bytes_new_static(first, sizeof first - 1);
	gint64 article = 0;
	g_autoptr(DkPipelineItem) item = deliver(f, raw, &article);
	f->ticket = dk_pipeline_item_result(item)->ticket;
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	Fixture *f = *state;
	dk_pipeline_free(f->pipeline);
	dk_store_close(f->store);
	dk_config_free(f->config);
	dk_test_rmtree(f->data);
	g_free(f->data);
	g_free(f);
	return 0;
}

/* Delivers raw; returns the item, its article in *article_out. */
static DkPipelineItem *deliver(Fixture *f, GBytes *raw, gint64 *article_out)
{
	DkIntake intake = {.intake = "test"};
	g_autoptr(GError) error = NULL;
	DkPipelineItem *item = NULL;
	if (g_bytes_get_size(raw) > DK_PIPELINE_LARGE_MESSAGE) {
		/* from a spool file, as every intake hands over a large one */
		int fd = dk_store_file_temporary("test-smime");
		assert_true(fd >= 0);
		assert_true(dk_store_file_write_all(fd, g_bytes_get_data(raw, NULL),
		                                    g_bytes_get_size(raw)));
		item =
		    dk_pipeline_prepare_fd(f->pipeline, fd, g_bytes_get_size(raw), &intake, &error);
		close(fd);
	} else {
		item = dk_pipeline_prepare(f->pipeline, raw, &intake, &error);
	}
	assert_null(error);
	assert_true(dk_pipeline_commit(f->pipeline, &item, 1, &error));
	assert_null(error);
	const DkDelivery *d = dk_pipeline_item_result(item);
	assert_true(d->outcome == DK_OUTCOME_CREATED || d->outcome == DK_OUTCOME_APPENDED);
	*article_out = d->article;
	return item;
}

/* One text column of the article (signature, signer, full_text: read as
 * the store reads it beside the new text), or NULL. */
static char *column(Fixture *f, gint64 article, const char *name)
{
	g_autofree char *sql =
	    g_strdup_printf("SELECT %s, new_text FROM articles WHERE id = ?", name);
	DkStmt *st = dk_store_prepare_once(f->store, sql, NULL);
	assert_non_null(st);
	dk_stmt_bind_int64(st, 1, article);
	assert_int_equal(dk_stmt_step(st), DK_STMT_ROW);
	char *out = dk_store_column_text(st, 0);
	if (strcmp(name, "full_text") == 0) {
		g_autofree char *stored = out;
		out = dk_store_full_text_read(dk_stmt_text(st, 1), stored);
	}
	dk_stmt_free(st);
	return out;
}

static DkDirection direction(Fixture *f, gint64 article)
{
	g_autoptr(GPtrArray) list = dk_store_articles(f->store, f->ticket, NULL);
	for (guint i = 0; i < list->len; i++) {
		const DkArticle *a = g_ptr_array_index(list, i);
		if (a->id == article)
			return a->direction;
	}
	fail_msg("article %" G_GINT64_FORMAT " is not on the ticket", article);
	return DK_INBOUND;
}

/* Whether the ticket has an event of type. */
static gboolean has_event(Fixture *f, const char *type)
{
	g_autoptr(GPtrArray) list = dk_store_events(f->store, f->ticket, NULL);
	for (guint i = 0; i < list->len; i++)
		if (strcmp(((const DkEvent *)g_ptr_array_index(list, i))->type, type) == 0)
			return TRUE;
	return FALSE;
}

/* `openssl smime` over the text input with the arguments args (after
 * "smime"): the MIME entity it writes. */
static char *smime(const char *input, const char *const *args)
{
	g_assert_true(write_file("in.txt", input));
	const char *argv[32] = {"openssl", "smime"};
	guint n = 2;
	for (guint i = 0; args[i] != NULL && n < G_N_ELEMENTS(argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	g_autofree char *in = g_build_filename(dir, "in.txt", NULL);
	char *out = run_input(argv, in);
	assert_non_null(out);
	return out;
}

static const char body[] = "Content-Type: text/plain; charset=us-ascii\n\n"
                           "Please replace the toner, ticket 12.\n";

static char *sign(const char *entity, const char *who, gboolean opaque)
{
	g_autofree char *cert = g_strdup_printf("%s.pem", who);
	g_autofree char *key = g_strdup_printf("%s.key", who);
	const char *detached[] = {"-sign", "-md", "sha256", "-signer", cert, "-inkey", key, NULL};
	const char *nodetach[] = {"-sign",  "-md", "sha256",    "-signer", cert,
	                          "-inkey", key,   "-nodetach", NULL};
	return smime(entity, opaque ? nodetach : detached);
}

static char *encrypt_to(const char *entity, const char *recipient_cert)
{
	const char *args[] = {"-encrypt", "-aes256", recipient_cert, NULL};
	return smime(entity, args);
}

/* A reply from Alice to Dana's mail around the entity openssl made. */
static GBytes *mail(const char *entity, const char *id)
{
	char *text = g_strdup_printf("From: Alice Agent <alice@example.com>\n"
	                             "To: support@example.org\nSubject: Re: Printer\n"
	                             "Message-ID: <%s@example.com>\n"
	                             "In-Reply-To: <c1@customer.example>\n%s",
	                             id, entity);
	return g_bytes_new_take(text, strlen(text));
}

/* Alice's reply around entity verifies: a good signature by her
 * certificate on the message and on the article, its text read, and her
 * mail the desk's answer (a verified agent's mail on the ticket is
 * outbound). Returns the message's protection kind. */
static DkCryptoKind assert_verified(Fixture *f, const char *entity, const char *id)
{
	g_autoptr(GBytes) raw = mail(entity, id);
	gint64 article = 0;
	g_autoptr(DkPipelineItem) item = deliver(f, raw, &article);
	const DkMessage *m = dk_pipeline_item_message(item);
	assert_string_equal(m->crypto.protocol, "smime");
	if (m->crypto.signature != DK_SIGNATURE_VERIFIED)
		fail_msg("%s: signature %s (%s)", id, dk_signature_status_name(m->crypto.signature),
		         m->crypto.detail);
	assert_string_equal(m->crypto.signer, "alice@example.com");
	assert_non_null(m->crypto.fingerprint);
	assert_true(dk_message_signed_by(m, "Alice@Example.COM"));
	g_autofree char *signature = column(f, article, "signature");
	g_autofree char *signer = column(f, article, "signer");
	g_autofree char *text = column(f, article, "full_text");
	assert_string_equal(signature, "verified");
	assert_string_equal(signer, "alice@example.com");
	assert_non_null(strstr(text, "Please replace the toner, ticket 12."));
	assert_int_equal(direction(f, article), DK_OUTBOUND);
	assert_false(has_event(f, "agent_unverified"));
	assert_int_equal(m->crypto.decrypted, m->crypto.kind == DK_CRYPTO_ENCRYPTED);
	return m->crypto.kind;
}

static void assert_agent_unverified(Fixture *f, gint64 article)
{
	g_autofree char *signer = column(f, article, "signer");
	assert_null(signer); /* only a verified signature names its signer */
	assert_int_equal(direction(f, article), DK_INBOUND);
	assert_true(has_event(f, "agent_unverified"));
}

/* Alice's reply around entity does not verify: its signature is status,
 * on the message and on the article, and her mail stays unverified. */
static void assert_not_verified(Fixture *f, const char *entity, const char *id,
                                DkSignatureStatus status)
{
	g_autoptr(GBytes) raw = mail(entity, id);
	gint64 article = 0;
	g_autoptr(DkPipelineItem) item = deliver(f, raw, &article);
	const DkMessage *m = dk_pipeline_item_message(item);
	assert_int_equal(m->crypto.kind, DK_CRYPTO_SIGNED);
	assert_string_equal(dk_signature_status_name(m->crypto.signature),
	                    dk_signature_status_name(status));
	assert_false(dk_message_signed_by(m, "alice@example.com"));
	g_autofree char *signature = column(f, article, "signature");
	assert_string_equal(signature, dk_signature_status_name(status));
	assert_agent_unverified(f, article);
}

static void test_signed_verified(void **state)
{
	g_autofree char *entity = sign(body, "alice", FALSE);
	assert_non_null(strstr(entity, "multipart/signed"));
	assert_int_equal(assert_verified(*state, entity, "s1"), DK_CRYPTO_SIGNED);
}

/* signed-data: the text travels inside the signature. */
static void test_opaque_signed_verified(void **state)
{
	g_autofree char *entity = sign(body, "alice", TRUE);
	assert_non_null(strstr(entity, "signed-data"));
	assert_null(strstr(entity, "toner"));
	assert_int_equal(assert_verified(*state, entity, "s2"), DK_CRYPTO_SIGNED);
}

static void test_changed_content_is_bad(void **state)
{
	Fixture *f = *state;
	g_autofree char *entity = sign(body, "alice", FALSE);
	char *at = strstr(entity, "ticket 12");
	assert_non_null(at);
	at[7] = '9'; /* ticket 92 */
	assert_not_verified(f, entity, "s3", DK_SIGNATURE_BAD);
}

/* A certificate for Alice's address that the trusted authority did not
 * issue (it travels in the signature) verifies nothing. */
static void test_unknown_signer(void **state)
{
	Fixture *f = *state;
	g_autofree char *entity = sign(body, "mallory", FALSE);
	assert_not_verified(f, entity, "s4", DK_SIGNATURE_UNTRUSTED);
}

/* A forger's signature without the certificate in it: the keyring has
 * none for the key. */
static void test_unknown_signer_no_certificate(void **state)
{
	Fixture *f = *state;
	const char *args[] = {"-sign",  "-md",     "sha256",   "-signer", "eve.pem",
	                      "-inkey", "eve.key", "-nocerts", NULL};
	g_autofree char *entity = smime(body, args);
	assert_not_verified(f, entity, "s5", DK_SIGNATURE_NO_KEY);
}

static void test_encrypted_decrypted(void **state)
{
	Fixture *f = *state;
	g_autofree char *entity = encrypt_to(body, "support.pem");
	assert_non_null(strstr(entity, "enveloped-data"));
	assert_null(strstr(entity, "toner"));
	g_autoptr(GBytes) raw = mail(entity, "e1");
	gint64 article = 0;
	g_autoptr(DkPipelineItem) item = deliver(f, raw, &article);
	const DkMessage *m = dk_pipeline_item_message(item);
	assert_int_equal(m->crypto.kind, DK_CRYPTO_ENCRYPTED);
	assert_string_equal(m->crypto.protocol, "smime");
	assert_true(m->crypto.decrypted);
	assert_int_equal(m->crypto.signature, DK_SIGNATURE_UNCHECKED);
	g_autofree char *text = column(f, article, "full_text");
	assert_non_null(strstr(text, "Please replace the toner, ticket 12."));
	/* Encrypted, not signed: nothing vouches for Alice. */
	assert_agent_unverified(f, article);
}

/* Encrypted to a certificate whose secret key docket does not hold. */
static void test_encrypted_no_key(void **state)
{
	Fixture *f = *state;
	g_autofree char *entity = encrypt_to(body, "alice.pem");
	g_autoptr(GBytes) raw = mail(entity, "e2");
	gint64 article = 0;
	g_autoptr(DkPipelineItem) item = deliver(f, raw, &article);
	const DkMessage *m = dk_pipeline_item_message(item);
	assert_int_equal(m->crypto.kind, DK_CRYPTO_ENCRYPTED);
	assert_false(m->crypto.decrypted);
	assert_non_null(m->crypto.detail);
	assert_true(g_str_has_prefix(m->crypto.detail, "not decrypted"));
	g_autofree char *text = column(f, article, "full_text");
	assert_string_equal(text, DK_MESSAGE_ENCRYPTED_MARKER);
}

/* Signed, then encrypted (RFC 8551 section 3.7), in both signed forms. */
static void test_signed_then_encrypted(void **state)
{
	g_autofree char *detached = sign(body, "alice", FALSE);
	g_autofree char *opaque = sign(body, "alice", TRUE);
	g_autofree char *entity1 = encrypt_to(detached, "support.pem");
	g_autofree char *entity2 = encrypt_to(opaque, "support.pem");
	assert_int_equal(assert_verified(*state, entity1, "se1"), DK_CRYPTO_ENCRYPTED);
	assert_int_equal(assert_verified(*state, entity2, "se2"), DK_CRYPTO_ENCRYPTED);
}

/* The body with a 1.2 MiB file beside it: a message over
 * DK_PIPELINE_LARGE_MESSAGE, which the pipeline reads from its file. */
static char *large_body(void)
{
	GString *b64 = g_string_new(NULL);
	for (guint i = 0; b64->len < 1200 * 1024; i++)
		g_string_append_printf(b64, "%076u\n", i);
	char *out = g_strdup_printf("Content-Type: multipart/mixed; boundary=z\n\n--z\n%s"
	                            "--z\nContent-Type: application/octet-stream; name=log.bin\n"
	                            "Content-Transfer-Encoding: base64\n\n%s--z--\n",
	                            body, b64->str);
	g_string_free(b64, TRUE);
	return out;
}

/* Large signed and encrypted mail, read from a spool file, is checked as
 * small mail is: both signed forms, and signed then encrypted. */
static void test_large_mail_checked_from_its_file(void **state)
{
	g_autofree char *large = large_body();
	g_autofree char *detached = sign(large, "alice", FALSE);
	g_autofree char *opaque = sign(large, "alice", TRUE);
	g_autofree char *encrypted = encrypt_to(detached, "support.pem");
	assert_true(strlen(detached) > DK_PIPELINE_LARGE_MESSAGE);
	assert_int_equal(assert_verified(*state, detached, "l1"), DK_CRYPTO_SIGNED);
	assert_int_equal(assert_verified(*state, opaque, "l2"), DK_CRYPTO_SIGNED);
	assert_int_equal(assert_verified(*state, encrypted, "l3"), DK_CRYPTO_ENCRYPTED);
}

/* The same large mail opened by the check from a file, as the pipeline
 * hands it over, goes through files of the parse options' spill, not
 * memory (an encrypted 90 MB message took 258 MiB before): opaque
 * signed-data asks for its signed data's file, the message made again
 * around it and, as that is read, its 1.2 MiB attachment's; encrypted
 * detached-signed mail for the same three and the signed content's. */
static void test_large_opened_through_files(void **state)
{
	(void)state;
	g_autofree char *large = large_body();
	g_autofree char *opaque = sign(large, "alice", TRUE);
	g_autofree char *detached = sign(large, "alice", FALSE);
	g_autofree char *encrypted = encrypt_to(detached, "support.pem");
	const char *entities[] = {opaque, encrypted};
	const guint files[] = {3, 4};
	const DkCryptoKind kinds[] = {DK_CRYPTO_SIGNED, DK_CRYPTO_ENCRYPTED};
	const guint attachments[] = {1, 2}; /* log.bin, and the detached signature */
	for (guint i = 0; i < G_N_ELEMENTS(entities); i++) {
		g_autoptr(GBytes) raw = mail(entities[i], i ? "f2" : "f1");
		DkParseOptions o = {.arrival_time = 1700000000};
		DkMessage *m = dk_message_parse(raw, &o, NULL);
		assert_non_null(m);
		int fd = dk_test_file_of(g_bytes_get_data(raw, NULL), g_bytes_get_size(raw));
		guint spills = 0;
		o.spill = dk_test_spill_file;
		o.spill_data = &spills;
		dk_crypto_check_fd(fd, g_bytes_get_size(raw), &o, &m);
		close(fd);
		assert_int_equal(spills, files[i]);
		assert_int_equal(m->crypto.kind, kinds[i]);
		assert_int_equal(m->crypto.signature, DK_SIGNATURE_VERIFIED);
		assert_string_equal(m->crypto.signer, "alice@example.com");
		assert_non_null(strstr(m->text, "Please replace the toner, ticket 12."));
		assert_string_equal(m->message_id, i ? "f2@example.com" : "f1@example.com");
		assert_int_equal(m->attachments->len, attachments[i]);
		dk_message_free(m);
	}
}

int main(void)
{
	g_autofree char *gpgsm = g_find_program_in_path("gpgsm");
	if (gpgsm == NULL)
		return DK_TEST_SKIP; /* gpgsm, from contrib/setup-debian.sh */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_signed_verified, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_opaque_signed_verified, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_changed_content_is_bad, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_signer, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_signer_no_certificate, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_encrypted_decrypted, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_encrypted_no_key, fixture_setup, fixture_teardown),
	    cmocka_unit_test(test_large_opened_through_files),
	    cmocka_unit_test_setup_teardown(test_signed_then_encrypted, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_large_mail_checked_from_its_file, fixture_setup,
	                                    fixture_teardown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
