/* Tests for the bound on the article text and for dk_message_parse_fd():
 * large messages read in chunks give the same DkMessage as in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parsers/message.h"
#include "tests/dk-test.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static char *corpus;

static DkMessage *parse_text(const char *raw, gsize max_text)
{
	DkParseOptions o = {.arrival_time = 1700000000, .max_text_bytes = max_text};
	g_autoptr(GBytes) b = g_bytes_new(raw, strlen(raw));
	g_autoptr(GError) error = NULL;
	DkMessage *m = dk_message_parse(b, &o, &error);
	if (m == NULL)
		fail_msg("parse failed: %s", error->message);
	return m;
}

static gboolean has_error(const DkMessage *m, const char *needle)
{
	for (guint i = 0; i < m->errors->len; i++)
		if (strstr(g_ptr_array_index(m->errors, i), needle) != NULL)
			return TRUE;
	return FALSE;
}

static char *repeat(const char *piece, guint times)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < times; i++)
		g_string_append(s, piece);
	return g_string_free(s, FALSE);
}

/* One 3000-byte line of two-byte characters cut at an odd bound: the cut
 * falls before the split character and says so. */
static void test_text_cut_at_utf8_boundary(void **state)
{
	(void)state;
	g_autofree char *body = repeat("\xc3\xa9", 1500);
	g_autofree char *raw = g_strconcat("From: a@example.com\nSubject: long\n"
	                                   "Content-Type: text/plain; charset=utf-8\n\n",
	                                   body, "\n", NULL);
	g_autoptr(DkMessage) m = parse_text(raw, 1025);
	assert_int_equal(strlen(m->text), 1024);
	assert_true(g_utf8_validate(m->text, -1, NULL));
	assert_true(strlen(m->new_text) <= 1025);
	assert_true(g_utf8_validate(m->new_text, -1, NULL));
	assert_true(has_error(m, "text truncated at 1025 bytes; the raw message is kept whole"));
	assert_false(has_error(m, "unreadable"));
}

/* Many lines: the cut falls at a line end, and the text is its prefix. */
static void test_text_cut_at_line_end(void **state)
{
	(void)state;
	g_autofree char *body = repeat("line of text, forty bytes long........\n", 200);
	g_autofree char *raw = g_strconcat("From: a@example.com\nSubject: lines\n\n", body, NULL);
	g_autoptr(DkMessage) m = parse_text(raw, 2000);
	assert_true(strlen(m->text) <= 2000);
	assert_true(strlen(m->text) > 1900);
	assert_true(g_str_has_prefix(body, m->text));
	assert_true(has_error(m, "text truncated at 2000 bytes"));
}

/* A base64 text part is decoded only up to the bound. */
static void test_base64_text_cut(void **state)
{
	(void)state;
	g_autofree char *plain = repeat("abcdefghij", 1000);
	g_autofree char *b64 = g_base64_encode((const guchar *)plain, strlen(plain));
	g_autofree char *raw = g_strconcat("From: a@example.com\nSubject: b64\nMIME-Version: 1.0\n"
	                                   "Content-Type: text/plain; charset=us-ascii\n"
	                                   "Content-Transfer-Encoding: base64\n\n",
	                                   b64, "\n", NULL);
	g_autoptr(DkMessage) m = parse_text(raw, 4096);
	assert_int_equal(strlen(m->text), 4096);
	assert_true(g_str_has_prefix(plain, m->text));
	assert_true(has_error(m, "text truncated at 4096 bytes"));
}

/* Within the bound nothing is cut and nothing is said. */
static void test_short_text_untouched(void **state)
{
	(void)state;
	g_autoptr(DkMessage) m =
	    parse_text("From: a@example.com\nSubject: s\n\nHello there.\n", 1024);
	assert_string_equal(m->text, "Hello there.\n");
	assert_false(has_error(m, "truncated"));
}

static void assert_same(const DkMessage *a, const DkMessage *b)
{
	assert_string_equal(a->fingerprint, b->fingerprint);
	assert_string_equal(a->message_id, b->message_id);
	assert_string_equal(a->subject, b->subject);
	assert_string_equal(a->text, b->text);
	assert_string_equal(a->new_text, b->new_text);
	assert_string_equal(a->quoted_text, b->quoted_text);
	assert_int_equal(a->attachments->len, b->attachments->len);
	for (guint i = 0; i < a->attachments->len; i++) {
		const DkAttachment *x = g_ptr_array_index(a->attachments, i);
		const DkAttachment *y = g_ptr_array_index(b->attachments, i);
		assert_string_equal(x->content_type, y->content_type);
		if (strcmp(x->content_type, "message/rfc822") != 0)
			assert_string_equal(x->sha256, y->sha256);
	}
}

/* The parser's spill as the pipeline's: an unnamed file; counts its
 * calls, and gives none when refuse is set. */
typedef struct {
	guint calls;
	gboolean refuse;
} Spill;

static int spill_file(gpointer data)
{
	Spill *s = data;
	if (s->refuse) {
		s->calls++;
		return -1;
	}
	int fd = dk_test_spill_file(&s->calls);
	assert_true(fd >= 0);
	return fd;
}

/* The size bytes of the file fd from offset. */
static GBytes *file_bytes(int fd, gsize offset, gsize size)
{
	guint8 *p = g_malloc(size + 1);
	assert_int_equal(pread(fd, p, size, (off_t)offset), (ssize_t)size);
	return g_bytes_new_take(p, size);
}

/* Parts and attached messages the spill took in compare_both(), over
 * all its calls. */
static guint spilled_parts, spilled_messages, left_messages;

/* Parses data both ways; FALSE when the in-memory parse refuses it (then
 * the file parse must refuse it with the same code). */
static gboolean compare_both(const char *data, gsize n)
{
	DkParseOptions o = {.arrival_time = 1700000000};
	g_autoptr(GBytes) b = g_bytes_new(data, n);
	g_autoptr(GError) e1 = NULL, e2 = NULL;
	g_autoptr(DkMessage) m1 = dk_message_parse(b, &o, &e1);
	int fd = dk_test_file_of(data, n);
	g_autoptr(DkMessage) m2 = dk_message_parse_fd(fd, n, &o, &e2);
	close(fd);
	if (m1 == NULL) {
		assert_null(m2);
		assert_int_equal(e1->code, e2->code);
		return FALSE;
	}
	if (m2 == NULL)
		fail_msg("parse_fd failed: %s", e2->message);
	assert_same(m1, m2);
	/* every attachment through the spill: the same sizes, digests and
	 * bytes as decoded in memory */
	Spill spill = {0};
	DkParseOptions spilling = o;
	spilling.spill = spill_file;
	spilling.spill_data = &spill;
	spilling.spill_min = 1;
	g_autoptr(DkMessage) m3 = dk_message_parse(b, &spilling, &e2);
	assert_non_null(m3);
	assert_same(m1, m3);
	for (guint i = 0; i < m3->attachments->len; i++) {
		const DkAttachment *x = g_ptr_array_index(m1->attachments, i);
		const DkAttachment *y = g_ptr_array_index(m3->attachments, i);
		assert_int_equal(x->size, y->size);
		if (y->fd < 0)
			continue;
		spilled_parts++;
		g_autoptr(GBytes) kept = file_bytes(y->fd, y->offset, y->size);
		assert_non_null(x->data);
		assert_true(g_bytes_equal(kept, x->data));
	}
	/* and from a file: an attached message too is copied into the spill
	 * as its original bytes, the same as sliced from memory */
	fd = dk_test_file_of(data, n);
	g_autoptr(DkMessage) m4 = dk_message_parse_fd(fd, n, &spilling, &e2);
	close(fd);
	assert_non_null(m4);
	assert_same(m1, m4);
	for (guint i = 0; i < m4->attachments->len; i++) {
		const DkAttachment *x = g_ptr_array_index(m1->attachments, i);
		const DkAttachment *y = g_ptr_array_index(m4->attachments, i);
		if (strcmp(y->content_type, "message/rfc822") != 0)
			continue;
		if (y->fd < 0) {
			/* no delimiter found: GMime's rewrite, as from memory */
			left_messages++;
			assert_string_equal(x->sha256, y->sha256);
			continue;
		}
		spilled_messages++;
		assert_string_equal(x->sha256, y->sha256);
		g_autoptr(GBytes) kept = file_bytes(y->fd, y->offset, y->size);
		assert_true(g_bytes_equal(kept, x->data));
	}
	return TRUE;
}

/* Several chunks of CRLF text, with an attachment and a CR at a chunk end. */
static void test_parse_fd_large_multipart(void **state)
{
	(void)state;
	GString *s = g_string_new(
	    "Received: from x\r\nFrom: A <a@example.com>\r\nSubject: =?utf-8?q?gro=C3=9F?=\r\n"
	    "Message-ID: <large@example.com>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n\r\n> quoted\r\n");
	while (s->len < 262144 - 1)
		g_string_append_c(s, 'x');
	g_string_append(s, "\r\n");
	for (guint i = 0; i < 20000; i++)
		g_string_append(s, "a line of the attachment's text\r\n");
	g_string_append(s,
	                "--b\r\nContent-Type: application/octet-stream; name=a.bin\r\n"
	                "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b--\r\n");
	assert_true(compare_both(s->str, s->len));
	g_string_free(s, TRUE);
}

static void walk(const char *dir, guint *compared, guint depth)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d != NULL && depth < 16 && (name = g_dir_read_name(d)) != NULL) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			walk(path, compared, depth + 1);
			continue;
		}
		g_autofree char *data = NULL;
		gsize n = 0;
		if (!g_file_get_contents(path, &data, &n, NULL) || n == 0)
			continue;
		if (compare_both(data, n))
			(*compared)++;
	}
}

/* Every corpus message: the same fingerprint, subject and texts. */
static void test_parse_fd_corpus(void **state)
{
	(void)state;
	if (corpus == NULL)
		skip();
	guint compared = 0;
	walk(corpus, &compared, 0);
	print_message("parse_fd and the spill agreed with parse on %u corpus messages"
	              " (%u parts spilled; %u attached messages from a file, %u not)\n",
	              compared, spilled_parts, spilled_messages, left_messages);
	assert_true(compared > 100);
}

/* A message with a 1.5 MiB attachment in base64, a 1.2 MiB text file in
 * quoted-printable, a small file, a 1.1 MiB winmail.dat and a forwarded
 * message of 1.1 MiB (forward.eml). */
static char *large_attachments(GBytes **binary_out, char **text_out)
{
	*binary_out = dk_test_noise(1536 * 1024 + 7, 42);
	GString *text = g_string_new(NULL);
	for (guint i = 0; text->len < 1200 * 1024; i++)
		g_string_append_printf(text, "line %u of the log, caf\xc3\xa9 = tea\n", i);
	*text_out = g_string_free(text, FALSE);
	gsize n = 0;
	const guint8 *bin = g_bytes_get_data(*binary_out, &n);
	g_autofree char *b64 = g_base64_encode(bin, n);
	GString *m = g_string_new("From: a@example.com\nSubject: files\nMIME-Version: 1.0\n"
	                          "Content-Type: multipart/mixed; boundary=b\n\n"
	                          "--b\nContent-Type: text/plain\n\nThe files.\n"
	                          "--b\nContent-Type: application/octet-stream; name=big.bin\n"
	                          "Content-Transfer-Encoding: base64\n\n");
	for (gsize at = 0, len = strlen(b64); at < len; at += 76)
		g_string_append_printf(m, "%.76s\n", b64 + at);
	g_string_append(m, "--b\nContent-Type: text/plain; charset=utf-8; name=log.txt\n"
	                   "Content-Disposition: attachment; filename=log.txt\n"
	                   "Content-Transfer-Encoding: quoted-printable\n\n");
	for (const char *p = *text_out; *p; p++) {
		if (*p == '\n')
			g_string_append(m, "\n");
		else if ((guint8)*p >= 0x80 || *p == '=')
			g_string_append_printf(m, "=%02X", (guint8)*p);
		else
			g_string_append_c(m, *p);
	}
	g_string_append(m, "--b\nContent-Type: application/pdf; name=small.pdf\n"
	                   "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
	                   "--b\nContent-Type: application/ms-tnef; name=winmail.dat\n"
	                   "Content-Transfer-Encoding: base64\n\n");
	g_autoptr(GBytes) tnef = dk_test_noise(1100 * 1024, 7);
	g_autofree char *tb64 =
	    g_base64_encode(g_bytes_get_data(tnef, NULL), g_bytes_get_size(tnef));
	for (gsize at = 0, len = strlen(tb64); at < len; at += 76)
		g_string_append_printf(m, "%.76s\n", tb64 + at);
	g_string_append(m, "--b\nContent-Type: message/rfc822; name=forward.eml\n\n"
	                   "From: c@example.com\nSubject: the old thread\n\n");
	for (guint i = 0; i < 20000; i++)
		g_string_append_printf(m, "> line %u of the thread forwarded, quoted as it was\n",
		                       i);
	g_string_append(m, "--b--\n");
	return g_string_free(m, FALSE);
}

static const DkAttachment *named(const DkMessage *m, const char *filename)
{
	for (guint i = 0; i < m->attachments->len; i++) {
		const DkAttachment *a = g_ptr_array_index(m->attachments, i);
		if (g_strcmp0(a->filename, filename) == 0)
			return a;
	}
	fail_msg("no attachment %s", filename);
	return NULL;
}

/* With a spill, the large attachments are decoded into its files, not
 * memory, with the size and SHA-256 the parse in memory gives them and
 * the same bytes; the small file and the winmail.dat (read for the files
 * inside) stay in memory. Read from memory and from a file alike. */
static void test_large_attachments_spilled(void **state)
{
	(void)state;
	g_autoptr(GBytes) binary = NULL;
	g_autofree char *text = NULL;
	g_autofree char *raw = large_attachments(&binary, &text);
	gsize n = strlen(raw);
	g_autoptr(GBytes) b = g_bytes_new(raw, n);
	DkParseOptions plain = {.arrival_time = 1700000000};
	g_autoptr(GError) error = NULL;
	g_autoptr(DkMessage) whole = dk_message_parse(b, &plain, &error);
	assert_non_null(whole);
	assert_true(g_bytes_equal(named(whole, "big.bin")->data, binary));
	/* the last line break goes with the boundary after it (RFC 2046) */
	assert_int_equal(g_bytes_get_size(named(whole, "log.txt")->data), strlen(text) - 1);
	for (guint way = 0; way < 2; way++) {
		Spill spill = {0};
		DkParseOptions o = {
		    .arrival_time = 1700000000, .spill = spill_file, .spill_data = &spill};
		int fd = way == 1 ? dk_test_file_of(raw, n) : -1;
		g_autoptr(DkMessage) m = way == 0 ? dk_message_parse(b, &o, &error)
		                                  : dk_message_parse_fd(fd, n, &o, &error);
		assert_non_null(m);
		assert_same(whole, m);
		/* one file for all the large contents of the message, one after
		 * the other; the forwarded message too, read from a file: its
		 * bytes as sliced from memory (which needs no copy) */
		assert_int_equal(spill.calls, 1);
		assert_true(m->spill_fd >= 0);
		const DkAttachment *fw = named(m, "forward.eml"),
		                   *wfw = named(whole, "forward.eml");
		assert_true(wfw->size > 1024 * 1024);
		assert_int_equal(fw->size, wfw->size);
		assert_string_equal(fw->sha256, wfw->sha256);
		assert_true(way == 0 ? fw->fd == -1 && fw->data != NULL
		                     : fw->fd >= 0 && fw->data == NULL);
		if (way == 1) {
			g_autoptr(GBytes) kept = file_bytes(fw->fd, fw->offset, fw->size);
			assert_true(g_bytes_equal(kept, wfw->data));
		}
		const char *large[] = {"big.bin", "log.txt"};
		for (guint i = 0; i < G_N_ELEMENTS(large); i++) {
			const DkAttachment *a = named(m, large[i]), *w = named(whole, large[i]);
			assert_null(a->data);
			assert_true(a->fd >= 0);
			assert_int_equal(a->size, w->size);
			assert_string_equal(a->sha256, w->sha256);
			g_autoptr(GBytes) kept = file_bytes(a->fd, a->offset, a->size);
			assert_true(g_bytes_equal(kept, w->data));
		}
		/* in the message's one file, in their order */
		const DkAttachment *bin = named(m, "big.bin"), *log = named(m, "log.txt");
		assert_int_equal(bin->fd, m->spill_fd);
		assert_int_equal(log->fd, m->spill_fd);
		assert_int_equal(bin->offset, 0);
		assert_int_equal(log->offset, bin->size);
		const char *small[] = {"small.pdf", "winmail.dat"};
		for (guint i = 0; i < G_N_ELEMENTS(small); i++) {
			const DkAttachment *a = named(m, small[i]);
			assert_non_null(a->data);
			assert_int_equal(a->fd, -1);
			assert_string_equal(a->sha256, named(whole, small[i])->sha256);
		}
		if (fd >= 0)
			close(fd);
	}
}

/* A spill that gives no file: the content is decoded into memory as
 * without one. Over the decoded-size limit: not kept, and no file asked
 * for. */
static void test_spill_refused_or_over_the_limit(void **state)
{
	(void)state;
	g_autoptr(GBytes) binary = NULL;
	g_autofree char *text = NULL;
	g_autofree char *raw = large_attachments(&binary, &text);
	g_autoptr(GBytes) b = g_bytes_new(raw, strlen(raw));
	g_autoptr(GError) error = NULL;
	Spill refused = {.refuse = TRUE};
	DkParseOptions o = {
	    .arrival_time = 1700000000, .spill = spill_file, .spill_data = &refused};
	g_autoptr(DkMessage) m = dk_message_parse(b, &o, &error);
	assert_non_null(m);
	assert_int_equal(refused.calls, 2);
	assert_true(g_bytes_equal(named(m, "big.bin")->data, binary));
	assert_int_equal(named(m, "big.bin")->fd, -1);
	Spill spill = {0};
	DkParseOptions tight = {.arrival_time = 1700000000,
	                        .max_decoded_bytes = 1024 * 1024,
	                        .spill = spill_file,
	                        .spill_data = &spill};
	g_autoptr(DkMessage) over = dk_message_parse(b, &tight, &error);
	assert_non_null(over);
	const DkAttachment *a = named(over, "big.bin");
	assert_null(a->data);
	assert_int_equal(a->fd, -1);
	assert_int_equal(a->size, 0);
	assert_string_equal(a->sha256, "");
	assert_int_equal(spill.calls, 0);
	assert_true(has_error(over, "decoded-size limit"));
}

int main(void)
{
	corpus = dk_test_shared_path("corpus");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_cut_at_utf8_boundary),
	    cmocka_unit_test(test_text_cut_at_line_end),
	    cmocka_unit_test(test_base64_text_cut),
	    cmocka_unit_test(test_short_text_untouched),
	    cmocka_unit_test(test_parse_fd_large_multipart),
	    cmocka_unit_test(test_parse_fd_corpus),
	    cmocka_unit_test(test_large_attachments_spilled),
	    cmocka_unit_test(test_spill_refused_or_over_the_limit),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_free(corpus);
	return rc;
}
