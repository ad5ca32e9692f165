/* Tests of a rule's redirect in the outbox: a message above a MiB,
 * streamed from the store (a file on SQLite, pieces on PostgreSQL, one
 * value when small) into the Maildir and through sendmail, arrives as
 * received with X-Loop on top and LF line endings, a CRLF cut between two
 * pieces included; a sendmail that reads none of it is retried; loops are refused, also when the
 * header is too long to check; a message purged from the store fails for good. */
#include "dk-test-store.h"
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/store/store-chunks.h"
#include "gateway/store/store-outbox.h"
#include "gateway/store/store-retention.h"
#include "gateway/outbox/worker.h"

#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#define FROM "support@help.example.com"
#define TARGET "billing@partner.example"
#define LOOP "X-Loop: " FROM "\n"

typedef struct {
	char *dir;
	DkConfig *config;
	DkStore *store;
} Fixture;

static DkConfig *config_with(const char *dir, const char *extra)
{
	g_autofree char *path = g_build_filename(dir, "docket.conf", NULL);
	g_autofree char *text =
	    g_strdup_printf("[store]\ndata_dir = %s\n[threading]\ndomain = help.example.com\n"
	                    "[notify]\nfrom = " FROM "\n%s",
	                    dir, extra);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	DkConfig *config = dk_config_load(path, NULL);
	g_assert_nonnull(config);
	return config;
}

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = dk_test_tmpdir();
	f->config = config_with(f->dir, "");
	f->store = dk_test_store_open(f->dir, NULL, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_store_close(f->store);
	dk_config_free(f->config);
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* A message of size bytes (above a piece) with CRLF line ends, its CRLF
 * at the end of the first piece cut between that piece and the next (CR
 * its last byte), and, when it has a third piece, a lone CR at the end
 * of the second (kept). */
static GBytes *large_message(gsize size)
{
	GString *m =
	    g_string_new("From: Carl <carl@customer.example>\r\nTo: " FROM "\r\n"
	                 "Subject: Your invoice 7\r\nMessage-ID: <inv7@customer.example>\r\n"
	                 "\r\n");
	for (guint line = 0; m->len < size; line++)
		g_string_append_printf(m, "Line %06u of the invoice, with a lone\rCR in it.\r\n",
		                       line);
	g_string_truncate(m, size);
	m->str[DK_STORE_CHUNK - 2] = 'x';
	m->str[DK_STORE_CHUNK - 1] = '\r';
	m->str[DK_STORE_CHUNK] = '\n';
	if (size > 2 * DK_STORE_CHUNK) {
		m->str[2 * DK_STORE_CHUNK - 1] = '\r';
		m->str[2 * DK_STORE_CHUNK] = 'y';
	}
	return g_string_free_to_bytes(m);
}

/* What a redirect of raw sends: X-Loop on top, each CRLF made LF. */
static GBytes *expected(GBytes *raw)
{
	gsize len = 0;
	const char *p = g_bytes_get_data(raw, &len);
	GString *out = g_string_new(LOOP);
	for (gsize i = 0; i < len; i++)
		if (!(p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'))
			g_string_append_c(out, p[i]);
	return g_string_free_to_bytes(out);
}

/* Stores raw and a redirect row of it to TARGET; its SHA-256 into sha. */
static void add_redirect(Fixture *f, GBytes *raw, char sha[65])
{
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_raw_put(f->store, raw, 100, sha, &error));
	g_autofree char *payload = g_strdup_printf("{\"raw_sha256\": \"%s\"}", sha);
	assert_true(
	    dk_store_outbox_add(f->store, "redirect", TARGET, 0, payload, 100, NULL, &error));
	assert_true(dk_store_commit(f->store, &error));
}

/* Runs the due rows with config's transport; the only row afterwards. */
static DkOutboxRow *run(Fixture *f, const DkConfig *config, DkOutboxStats *stats)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkOutbox) outbox = dk_outbox_new(config, f->store, &error);
	assert_non_null(outbox);
	assert_true(dk_outbox_run_due(outbox, 200, stats, &error));
	g_autoptr(GPtrArray) rows = dk_store_outbox_list(f->store, NULL, 0, &error);
	assert_int_equal(rows->len, 1);
	return g_ptr_array_steal_index(rows, 0);
}

/* The one mail in the Maildir, its length into len_out; NULL when none. */
static char *only_mail(Fixture *f, gsize *len_out)
{
	g_autofree char *maildir = g_build_filename(f->dir, "outbox-maildir", "new", NULL);
	g_autoptr(GDir) dir = g_dir_open(maildir, 0, NULL);
	const char *name = dir ? g_dir_read_name(dir) : NULL;
	if (name == NULL)
		return NULL;
	assert_null(g_dir_read_name(dir));
	g_autofree char *file = g_build_filename(maildir, name, NULL);
	char *text = NULL;
	assert_true(g_file_get_contents(file, &text, len_out, NULL));
	return text;
}

static void assert_bytes_equal(const char *data, gsize len, GBytes *want)
{
	assert_int_equal(len, g_bytes_get_size(want));
	assert_memory_equal(data, g_bytes_get_data(want, NULL), len);
}

static void test_large_into_maildir(void **state)
{
	Fixture *f = *state;
	g_autoptr(GBytes) raw = large_message(2 * DK_STORE_CHUNK + 300000);
	char sha[65];
	add_redirect(f, raw, sha);
	DkOutboxStats stats = {0};
	g_autoptr(DkOutboxRow) row = run(f, f->config, &stats);
	assert_int_equal(stats.sent, 1);
	assert_string_equal(row->state, "done");
	gsize len = 0;
	g_autofree char *text = only_mail(f, &len);
	assert_non_null(text);
	/* the envelope a delivery agent adds, then the message */
	assert_true(g_str_has_prefix(text, "Return-Path: <bounces+"));
	const char *message = strstr(text, "\nDelivered-To: " TARGET "\n");
	assert_non_null(message);
	message += strlen("\nDelivered-To: " TARGET "\n");
	g_autoptr(GBytes) want = expected(raw);
	assert_bytes_equal(message, len - (gsize)(message - text), want);
}

static void test_large_through_sendmail(void **state)
{
	Fixture *f = *state;
	g_autofree char *script = g_build_filename(f->dir, "fake-sendmail", NULL);
	g_autofree char *captured = g_build_filename(f->dir, "captured", NULL);
	g_autofree char *body =
	    g_strdup_printf("#!/bin/sh\necho \"$@\" > %s.args\ncat > %s\n", captured, captured);
	assert_true(g_file_set_contents(script, body, -1, NULL));
	assert_int_equal(g_chmod(script, 0700), 0);
	g_autofree char *extra = g_strdup_printf("transport = sendmail\nsendmail = %s\n", script);
	g_autoptr(DkConfig) config = config_with(f->dir, extra);
	g_autoptr(GBytes) raw = large_message(DK_STORE_CHUNK + 200000);
	char sha[65];
	add_redirect(f, raw, sha);
	DkOutboxStats stats = {0};
	g_autoptr(DkOutboxRow) row = run(f, config, &stats);
	assert_int_equal(stats.sent, 1);
	g_autofree char *text = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(captured, &text, &len, NULL));
	g_autoptr(GBytes) want = expected(raw);
	assert_bytes_equal(text, len, want);
	/* to the redirect's address, not to the message's own To */
	g_autofree char *args_file = g_strconcat(captured, ".args", NULL);
	g_autofree char *args = NULL;
	assert_true(g_file_get_contents(args_file, &args, NULL, NULL));
	assert_true(g_str_has_suffix(args, " -- " TARGET "\n"));
	assert_null(strstr(args, "-t"));
}

/* A program that exits without reading the message (far more than a
 * pipe holds): its status decides, docket goes on. */
static void test_sendmail_that_reads_nothing(void **state)
{
	Fixture *f = *state;
	g_autoptr(DkConfig) config =
	    config_with(f->dir, "transport = sendmail\nsendmail = /bin/false\n");
	g_autoptr(GBytes) raw = large_message(DK_STORE_CHUNK + 200000);
	char sha[65];
	add_redirect(f, raw, sha);
	DkOutboxStats stats = {0};
	g_autoptr(DkOutboxRow) row = run(f, config, &stats);
	assert_int_equal(stats.deferred, 1);
	assert_string_equal(row->state, "pending");
	assert_non_null(strstr(row->last_error, "exited with status 1"));
}

/* A small message, kept as one value: a CR at its very end stays. */
static void test_small_with_cr_at_end(void **state)
{
	Fixture *f = *state;
	static const char text[] = "From: a@customer.example\r\nSubject: short\r\n\r\nHi.\r\nBye\r";
	g_autoptr(GBytes) raw = g_bytes_new_static(text, sizeof text - 1);
	char sha[65];
	add_redirect(f, raw, sha);
	DkOutboxStats stats = {0};
	g_autoptr(DkOutboxRow) row = run(f, f->config, &stats);
	assert_int_equal(stats.sent, 1);
	gsize len = 0;
	g_autofree char *got = only_mail(f, &len);
	assert_non_null(got);
	assert_true(g_str_has_suffix(got, "\n" LOOP "From: a@customer.example\nSubject: short\n\n"
	                                  "Hi.\nBye\r"));
}

static void assert_refused(Fixture *f, const char *text, const char *why)
{
	g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
	char sha[65];
	add_redirect(f, raw, sha);
	DkOutboxStats stats = {0};
	g_autoptr(DkOutboxRow) row = run(f, f->config, &stats);
	assert_int_equal(stats.failed, 1);
	assert_int_equal(stats.sent, 0);
	assert_string_equal(row->state, "failed");
	assert_non_null(strstr(row->last_error, why));
	gsize len = 0;
	g_autofree char *sent = only_mail(f, &len);
	assert_null(sent);
}

static void test_loop_refused(void **state)
{
	assert_refused(
	    *state, "From: a@customer.example\r\nX-Loop: " FROM "\r\nSubject: again\r\n\r\nHi.\r\n",
	    "redirected by docket before");
}

/* A header longer than the loop check reads: its X-Loop could lie
 * beyond, so the redirect is refused rather than let through. */
static void test_header_too_long_refused(void **state)
{
	GString *m = g_string_new("From: a@customer.example\r\n");
	while (m->len < 300 * 1024)
		g_string_append(m,
		                "Received: from relay.example by relay.example; a long trail\r\n");
	g_string_append(m, "X-Loop: " FROM "\r\n\r\nHi.\r\n");
	assert_refused(*state, m->str, "longer than 256 KiB");
	g_string_free(m, TRUE);
}

static void test_purged_fails_for_good(void **state)
{
	Fixture *f = *state;
	g_autoptr(GBytes) raw = large_message(DK_STORE_CHUNK + 1000);
	char sha[65];
	add_redirect(f, raw, sha);
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(f->store, &error));
	assert_true(dk_store_content_purge(f->store, FALSE, sha, 150, &error));
	assert_true(dk_store_commit(f->store, &error));
	DkOutboxStats stats = {0};
	g_autoptr(DkOutboxRow) row = run(f, f->config, &stats);
	assert_int_equal(stats.failed, 1); /* not deferred: it can never go */
	assert_string_equal(row->state, "failed");
	assert_non_null(strstr(row->last_error, "the message is not in the store"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_large_into_maildir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_through_sendmail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sendmail_that_reads_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_small_with_cr_at_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loop_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_too_long_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purged_fails_for_good, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
