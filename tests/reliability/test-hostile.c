/* A catalogue of hostile mail, generated here rather than stored: each
 * message goes through the whole pipeline (prepare and commit into a
 * scratch store) and must end, in bounded time and memory, in the outcome
 * the table names: a ticket with what could be read, the quarantine, or a
 * refusal. A table of the outcomes, seconds and MiB is printed.
 *
 * DOCKET_HOSTILE_SCALE multiplies the sizes of the byte-sized cases (the
 * long header and the long line, 5 MiB and 50 MiB at scale 1, the CI
 * default, about 5 s in all). The full sizes: DOCKET_HOSTILE_SCALE=10
 * (a 50 MiB header, a 500 MiB line), e.g.
 *   DOCKET_HOSTILE_SCALE=10 build/tests/reliability/reliability-test-hostile
 * The memory bound does not grow with the scale. A long
 * text line costs about four times its size (202 MiB for 50 MiB: the
 * decoded part, its UTF-8 text, the full and new texts); past [parse]
 * max_decoded_size (100M) the part is left out and the message costs
 * almost nothing more (1 MiB for 500 MiB). Over LMTP, [intake]
 * max_message_size (64M) refuses such a message before it is parsed.
 *
 * `reliability-test-hostile --write DIR` writes the catalogue to files
 * instead (see write_catalogue), for the same cases over LMTP.
 */
#include "dk-test-store.h"
#include "gateway/error.h"
#include "parsers/attachment.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

/* AddressSanitizer pads every allocation and keeps freed memory in
 * quarantine: the tight per-case bounds get its usual factor. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_MEMORY 4.0
#else
#define SANITIZER_MEMORY 1.0
#endif

#define MIB (1024 * 1024)
/* AddressSanitizer keeps freed memory in quarantine (256 MiB) and pads
 * every block, so the peak it shows is not the program's. */
#if defined(__SANITIZE_ADDRESS__)
#define MAX_GROWTH_MIB 1024.0
#else
#define MAX_GROWTH_MIB 512.0
#endif

typedef enum { EXPECT_TICKET, EXPECT_QUARANTINE, EXPECT_REFUSAL } Expect;

static const char *const expect_names[] = {"ticket", "quarantine", "refusal"};

typedef struct {
	const char *name;
	GBytes *(*build)(double scale);
	Expect expect;
	void (*check)(const DkMessage *message); /* on a ticket: what could be read */
	const char *config; /* docket.conf text for this case, or NULL: the defaults */
	double max_mib;     /* a tighter memory bound, or 0 */
} HostileCase;

static double scale(void)
{
	const char *s = g_getenv("DOCKET_HOSTILE_SCALE");
	double v = s != NULL ? g_ascii_strtod(s, NULL) : 1.0;
	return v > 0 ? v : 1.0;
}

static GBytes *finish(GString *s)
{
	return g_string_free_to_bytes(s);
}

static GString *head(const char *subject, const char *content_type)
{
	GString *s = g_string_new(NULL);
	g_string_append_printf(s,
	                       "From: Mallory <mallory@example.com>\r\nTo: support@example.org\r\n"
	                       "Subject: %s\r\nMessage-ID: <%s@hostile.example>\r\nDate: Tue, 1 "
	                       "Dec 2026 10:00:00 +0000\r\n"
	                       "MIME-Version: 1.0\r\nContent-Type: %s\r\n\r\n",
	                       subject, subject, content_type);
	return s;
}

static GBytes *build_nesting(double scale_unused)
{
	(void)scale_unused;
	const int depth = 10000;
	GString *s = head("nesting", "multipart/mixed; boundary=b0");
	for (int i = 1; i < depth; i++)
		g_string_append_printf(
		    s, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i - 1, i);
	g_string_append_printf(s, "--b%d\r\nContent-Type: text/plain\r\n\r\ndeep inside\r\n",
	                       depth - 1);
	for (int i = depth - 1; i >= 0; i--)
		g_string_append_printf(s, "--b%d--\r\n", i);
	return finish(s);
}

static GBytes *build_parts(double scale_unused)
{
	(void)scale_unused;
	GString *s = head("parts", "multipart/mixed; boundary=p");
	g_string_append(s, "--p\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n");
	for (int i = 1; i < 100000; i++)
		g_string_append_printf(s, "--p\r\nContent-Type: text/plain\r\n\r\n%d\r\n", i);
	g_string_append(s, "--p--\r\n");
	return finish(s);
}

static GBytes *build_header(double scale)
{
	gsize n = (gsize)(5.0 * MIB * scale);
	GString *s = g_string_sized_new(n + 256);
	g_string_append(s, "From: mallory@example.com\r\nSubject: big header\r\nX-Big: ");
	gsize at = s->len;
	g_string_set_size(s, at + n);
	memset(s->str + at, 'h', n);
	g_string_append(s, "\r\n\r\nbody after a big header\r\n");
	return finish(s);
}

static GBytes *build_line(double scale)
{
	gsize n = (gsize)(50.0 * MIB * scale);
	GString *s = head("line", "text/plain; charset=us-ascii");
	g_string_append(s, "start of a long line ");
	gsize at = s->len;
	g_string_set_size(s, at + n);
	memset(s->str + at, 'l', n);
	g_string_append(s, "\r\n");
	return finish(s);
}

/* A 40 MiB line past a 1 MiB decoded-size limit: left out, and read by
 * nobody (the bounce classifier once decoded all of it). */
static GBytes *build_line_over(double scale_unused)
{
	(void)scale_unused;
	gsize n = 40 * MIB; /* above malloc's mmap threshold: fresh pages, measured */
	GString *s = head("over", "text/plain; charset=us-ascii");
	gsize at = s->len;
	g_string_set_size(s, at + n);
	memset(s->str + at, 'o', n);
	g_string_append(s, "\r\n");
	return finish(s);
}

static GBytes *build_charsets(double scale_unused)
{
	(void)scale_unused;
	GString *s = head("=?x-no-such-charset?B?aGVsbG8=?= =?utf-7?Q?+AOk-t+AOk-?=",
	                  "multipart/mixed; boundary=c");
	static const char *const charsets[] = {"x-no-such-charset",
	                                       "utf-7",
	                                       "iso-2022-jp",
	                                       "cp1047",
	                                       "utf-32",
	                                       "\"\"",
	                                       "utf-8",
	                                       "gb18030",
	                                       "../../etc/passwd",
	                                       "utf-16le",
	                                       NULL};
	for (int i = 0; charsets[i] != NULL; i++)
		g_string_append_printf(
		    s,
		    "--c\r\nContent-Type: text/plain; charset=%s\r\n\r\n"
		    "readable %d \xff\xfe\xc3\x28 \x1b$B\x30\x21\x1b(B +AGEA-\r\n",
		    charsets[i], i);
	g_string_append(s, "--c--\r\n");
	return finish(s);
}

static GBytes *build_nul_body(double scale_unused)
{
	(void)scale_unused;
	static const char text[] =
	    "From: mallory@example.com\r\nSubject: nul bytes\r\n"
	    "Message-ID: <nul@hostile.example>\r\n\r\nbefore\0after\r\n\0\0\0readable tail\r\n";
	return g_bytes_new(text, sizeof(text) - 1);
}

/* A NUL in the header block: not a mail message (parsers/message.c). */
static GBytes *build_nul_header(double scale_unused)
{
	(void)scale_unused;
	static const char text[] = "From: mallory@example.com\r\nSubject: nul\0bytes\r\n"
	                           "Message-ID: <nulh@hostile.example>\r\n\r\nbody\r\n";
	return g_bytes_new(text, sizeof(text) - 1);
}

static GBytes *build_transfer(double scale_unused)
{
	(void)scale_unused;
	GString *s = head("transfer", "multipart/mixed; boundary=t");
	g_string_append(
	    s,
	    "--t\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "!!!!not base64 at all====\r\n=\r\nQUJD*&^%\r\n====\r\n"
	    "--t\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "qp =ZZ =\r\n=4 =\r\n=\r\nsoft=\r\nbreak =C3=\r\n"
	    "--t\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=garbage.bin\r\n\r\n"
	    "=====\r\n\x80\x81\xff\r\n"
	    "--t\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: "
	    "x-uuencode-unknown\r\n\r\n"
	    "begin 644 x\r\n--t--\r\n");
	return finish(s);
}

static GBytes *build_filenames(double scale_unused)
{
	(void)scale_unused;
	GString *s = head("filenames", "multipart/mixed; boundary=f");
	g_string_append(s, "--f\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n");
	static const char *const names[] = {
	    "filename=\"../../../etc/passwd\"",
	    "filename=\"..\\\\..\\\\windows\\\\system32\\\\cmd.exe\"",
	    "filename=\"evil\x01\x1b[31mred\x7f.txt\"",
	    "filename*=utf-8''..%2F..%2Fhidden%00.sh%0D%0AX-Injected: yes",
	    "filename=\"=?utf-8?B?Li4vLi4vZXRjL3NoYWRvdw==?=\"",
	    "filename=\"..\"",
	    "filename=\"/absolute/path.txt\"",
	    NULL};
	for (int i = 0; names[i] != NULL; i++)
		g_string_append_printf(s,
		                       "--f\r\nContent-Type: application/octet-stream\r\n"
		                       "Content-Disposition: attachment; %s\r\n\r\ncontent %d\r\n",
		                       names[i], i);
	g_string_append(s, "--f--\r\n");
	return finish(s);
}

/* A zip whose one entry claims 4 GiB uncompressed (deflated): docket
 * stores the bytes and never opens them. */
static GBytes *build_zip_bomb(double scale_unused)
{
	(void)scale_unused;
	static const guint8 zip[] = {
	    'P',  'K',  3,    4,    20,   0,    0,    0,    8,    0,    0,    0,    0,
	    0,    0,    0,    0,    0,    16,   0,    0,    0,    0xff, 0xff, 0xff, 0xff,
	    5,    0,    0,    0,    'b',  'o',  'm',  'b',  'x',  0x03, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 'P',
	    'K',  5,    6,    0,    0,    0,    0,    1,    0,    1,    0,    0,    0,
	    0,    0,    0,    0,    0,    0,    0,    0};
	g_autofree char *b64 = g_base64_encode(zip, sizeof(zip));
	GString *s = head("zipbomb", "multipart/mixed; boundary=z");
	g_string_append_printf(
	    s,
	    "--z\r\nContent-Type: text/plain\r\n\r\nthe report you asked for\r\n"
	    "--z\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=report.zip\r\n\r\n%s\r\n--z--\r\n",
	    b64);
	return finish(s);
}

static GBytes *build_encoded_words(double scale_unused)
{
	(void)scale_unused;
	GString *s = g_string_new("From: =?utf-8?B?");
	for (int i = 0; i < 20000; i++)
		g_string_append(s, "TWFsbG9yeQ==");
	g_string_append(s, "?= <mallory@example.com>\r\nSubject: ");
	for (int i = 0; i < 15000; i++)
		g_string_append(s, "=?utf-8?Q?over=C3=A9long?= ");
	g_string_append(s, "=?utf-8?B?");
	for (int i = 0; i < 100000; i++)
		g_string_append_c(s, 'A');
	g_string_append(
	    s, "?=\r\nMessage-ID: <ew@hostile.example>\r\n\r\nbody of the encoded words\r\n");
	return finish(s);
}

static GBytes *build_folding(double scale_unused)
{
	(void)scale_unused;
	GString *s = g_string_new("From: mallory@example.com\r\nSubject: folded");
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "\r\n x");
	g_string_append(s, "\r\nX-Empty:");
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "\r\n \t");
	g_string_append(s,
	                "\r\nMessage-ID: <fold@hostile.example>\r\n\r\nbody after the folds\r\n");
	return finish(s);
}

static GBytes *build_binary(double scale_unused)
{
	(void)scale_unused;
	GString *s = g_string_new(NULL);
	for (int i = 0; i < 4096; i++)
		g_string_append_c(s, (char)(i * 7 + 3));
	return finish(s);
}

static gboolean text_has(const DkMessage *m, const char *needle)
{
	if (strstr(m->text, needle) != NULL)
		return TRUE;
	for (guint i = 0; i < m->errors->len; i++)
		printf("  %s\n", (const char *)m->errors->pdata[i]);
	return FALSE;
}

static void check_nesting(const DkMessage *m)
{
	assert_true(m->errors->len > 0); /* the depth limit is named */
}

static void check_parts(const DkMessage *m)
{
	assert_true(text_has(m, "first part"));
	assert_true(m->errors->len > 0);
}

/* The article's text is cut at [parse] max_text_size (1M), or past
 * max_decoded_size (100M) the part is left out; either way it is said. */
static void check_line(const DkMessage *m)
{
	assert_true(strlen(m->text) <= 1024 * 1024);
	gboolean said = FALSE;
	for (guint i = 0; i < m->errors->len; i++) {
		const char *e = g_ptr_array_index(m->errors, i);
		said = said || strstr(e, "truncated") != NULL ||
		       strstr(e, "decoded-size limit") != NULL;
	}
	assert_true(said);
}

static void check_charsets(const DkMessage *m)
{
	assert_true(g_utf8_validate(m->subject, -1, NULL));
	/* Text declared in a charset it is not in (cp1047, utf-16le, utf-32)
	 * reads as that charset says; the others stay readable. */
	static const int readable[] = {0, 1, 2, 5, 6, 7, 8};
	for (gsize i = 0; i < G_N_ELEMENTS(readable); i++) {
		g_autofree char *word = g_strdup_printf("readable %d", readable[i]);
		assert_true(text_has(m, word));
	}
	assert_true(m->errors->len > 0);
}

static void check_nul(const DkMessage *m)
{
	assert_true(text_has(m, "before") && text_has(m, "readable tail"));
	assert_string_equal(m->subject, "nul bytes");
}

static void check_transfer(const DkMessage *m)
{
	assert_true(text_has(m, "qp "));
}

static void check_filenames(const DkMessage *m)
{
	assert_true(text_has(m, "see attached"));
	assert_true(m->attachments->len >= 7);
	for (guint i = 0; i < m->attachments->len; i++) {
		const DkAttachment *a = m->attachments->pdata[i];
		if (a->filename == NULL)
			continue;
		/* The name is kept as sent (a path, even); made safe where it
		 * becomes a file. Control characters never stay. */
		for (const char *p = a->filename; *p != '\0'; p++)
			assert_true((guchar)*p >= 0x20 && *p != 0x7f);
		g_autofree char *file = dk_attachment_safe_filename(a->filename);
		if (file == NULL)
			continue;
		assert_null(strchr(file, '/'));
		assert_null(strchr(file, '\\'));
		assert_true(strcmp(file, "..") != 0 && strcmp(file, ".") != 0);
	}
}

static void check_zip_bomb(const DkMessage *m)
{
	assert_int_equal(m->attachments->len, 1);
	const DkAttachment *a = m->attachments->pdata[0];
	assert_string_equal(a->content_type, "application/zip");
	assert_true(a->size < 1024); /* the bytes as sent, never inflated */
}

static void check_encoded_words(const DkMessage *m)
{
	assert_true(g_utf8_validate(m->subject, -1, NULL));
	assert_true(text_has(m, "body of the encoded words"));
}

static void check_folding(const DkMessage *m)
{
	assert_true(g_str_has_prefix(m->subject, "folded"));
	assert_true(text_has(m, "body after the folds"));
}

static const HostileCase cases[] = {
    {"nesting 10000 deep", build_nesting, EXPECT_TICKET, check_nesting},
    {"100000 parts", build_parts, EXPECT_TICKET, check_parts},
    {"long header", build_header, EXPECT_QUARANTINE, NULL},
    {"long line", build_line, EXPECT_TICKET, check_line},
    {"line over the limit", build_line_over, EXPECT_TICKET, check_line,
     "[parse]\nmax_decoded_size = 1M\n", 8.0},
    {"charsets", build_charsets, EXPECT_TICKET, check_charsets},
    {"NUL in the body", build_nul_body, EXPECT_TICKET, check_nul},
    {"NUL in a header", build_nul_header, EXPECT_REFUSAL, NULL},
    {"base64/QP garbage", build_transfer, EXPECT_TICKET, check_transfer},
    {"filenames", build_filenames, EXPECT_TICKET, check_filenames},
    {"zip bomb", build_zip_bomb, EXPECT_TICKET, check_zip_bomb},
    {"encoded words", build_encoded_words, EXPECT_TICKET, check_encoded_words},
    {"folding 100000", build_folding, EXPECT_TICKET, check_folding},
    {"binary", build_binary, EXPECT_REFUSAL, NULL},
};

/* The peak resident set in MiB since the last reset. */
static double peak_mib(void)
{
	g_autofree char *status = NULL;
	if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
		return 0;
	const char *p = strstr(status, "VmHWM:");
	return p != NULL ? g_ascii_strtod(p + 6, NULL) / 1024.0 : 0;
}

/* Resets the peak to the current resident set (Linux 4.0, clear_refs 5). */
static void reset_peak(void)
{
	/* Written in place: g_file_set_contents would rename a new file. */
	FILE *f = fopen("/proc/self/clear_refs", "w");
	assert_non_null(f);
	fputs("5", f);
	fclose(f);
}

/* What one case holds while it runs: kept here rather than in the
 * case's own variables, so that the teardown frees it whichever
 * assertion fails. */
typedef struct {
	DkTestStore *scratch;
	DkConfig *config;
	DkPipeline *pipeline;
	DkPipelineItem *item;
	GBytes *raw;
	GError *error;
} Run;

static void run_clear(Run *r)
{
	g_clear_pointer(&r->item, dk_pipeline_item_free);
	g_clear_pointer(&r->pipeline, dk_pipeline_free);
	g_clear_pointer(&r->config, dk_config_free);
	g_clear_pointer(&r->raw, g_bytes_unref);
	g_clear_error(&r->error);
}

static int setup(void **state)
{
	Run *r = g_new0(Run, 1);
	r->scratch = dk_test_store_new();
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	Run *r = *state;
	run_clear(r);
	dk_test_store_free(r->scratch);
	g_free(r);
	return 0;
}

/* Every case parses with a wall-clock budget no machine reaches (an hour
 * per message, [parse] time_limit_ms): what a case yields must not depend
 * on how fast the machine is, and the limits that decide it are the
 * sizes, depths and counts. */
#define NO_TIME_LIMIT "[parse]\ntime_limit_ms = 3600000\n"

/* Runs one case through prepare and commit; returns what came of it. */
static Expect run_case(Run *r, const HostileCase *c)
{
	DkIntake intake = {.intake = "test", .envelope_from = "mallory@example.com"};
	char text[512]; /* on the stack: nothing to leak when an assertion fails */
	g_snprintf(text, sizeof text, "%s%s", NO_TIME_LIMIT, c->config ? c->config : "");
	r->config = dk_config_load_data(text, strlen(text), c->name, &r->error);
	assert_non_null(r->config);
	r->pipeline = dk_pipeline_new(r->config, r->scratch->store, &dk_outbox_effects);
	r->item = dk_pipeline_prepare(r->pipeline, r->raw, &intake, &r->error);
	if (r->item == NULL) {
		assert_false(dk_error_is_temporary(r->error));
		return EXPECT_REFUSAL;
	}
	assert_true(dk_pipeline_commit(r->pipeline, &r->item, 1, &r->error));
	DkPipelineItem *item = r->item;
	if (dk_pipeline_item_error(item) != NULL) {
		assert_false(dk_error_is_temporary(dk_pipeline_item_error(item)));
		return EXPECT_REFUSAL;
	}
	const DkDelivery *result = dk_pipeline_item_result(item);
	DkMessage *message = dk_pipeline_item_message(item);
	switch (result->outcome) {
	case DK_OUTCOME_CREATED:
	case DK_OUTCOME_APPENDED:
		assert_true(result->ticket > 0);
		assert_non_null(message);
		assert_true(g_utf8_validate(message->text, -1, NULL));
		if (c->check != NULL)
			c->check(message);
		return EXPECT_TICKET;
	case DK_OUTCOME_QUARANTINED:
		assert_true(result->quarantine > 0);
		return EXPECT_QUARANTINE;
	default:
		fail_msg("%s: unexpected outcome %s", c->name, dk_outcome_name(result->outcome));
		return EXPECT_REFUSAL;
	}
}

/* The seconds are printed, not judged: a test must not depend on the
 * machine's speed (tests/bench measures). Memory is judged. */
static void test_catalogue(void **state)
{
	Run *r = *state;
	double s = scale();
	printf("%-20s %-11s %8s %8s %9s\n", "case", "outcome", "seconds", "MiB", "input MiB");
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const HostileCase *c = &cases[i];
		run_clear(r);
		r->raw = c->build(s);
		reset_peak();
		double before = peak_mib();
		gint64 start = g_get_monotonic_time();
		Expect got = run_case(r, c);
		double seconds = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
		double growth = peak_mib() - before;
		printf("%-20s %-11s %8.2f %8.1f %9.1f\n", c->name, expect_names[got], seconds,
		       growth, (double)g_bytes_get_size(r->raw) / MIB);
		fflush(stdout);
		if (got != c->expect)
			fail_msg("%s: %s, expected %s", c->name, expect_names[got],
			         expect_names[c->expect]);
		if (growth > (c->max_mib > 0 ? c->max_mib * SANITIZER_MEMORY : MAX_GROWTH_MIB))
			fail_msg("%s: %.0f MiB", c->name, growth);
	}
}

/* The catalogue as files instead of a run: DIR/NN.eml per case and
 * DIR/index.tsv (file, expected outcome, name), at DOCKET_HOSTILE_SCALE,
 * for tests/reliability/test_hostile_lmtp.py, which sends each case to
 * `docket serve` over LMTP. */
static int write_catalogue(const char *dir)
{
	g_autoptr(GString) index = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) raw = cases[i].build(scale());
		g_autofree char *file = g_strdup_printf("%02" G_GSIZE_FORMAT ".eml", i);
		g_autofree char *path = g_build_filename(dir, file, NULL);
		gsize n = 0;
		const char *data = g_bytes_get_data(raw, &n);
		if (!g_file_set_contents(path, data, (gssize)n, &error))
			break;
		g_string_append_printf(index, "%s\t%s\t%s\n", file, expect_names[cases[i].expect],
		                       cases[i].name);
	}
	g_autofree char *path = g_build_filename(dir, "index.tsv", NULL);
	if (error == NULL && g_file_set_contents(path, index->str, (gssize)index->len, &error))
		return 0;
	fprintf(stderr, "reliability-test-hostile: %s\n", error->message);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		return write_catalogue(argv[2]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_catalogue, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
