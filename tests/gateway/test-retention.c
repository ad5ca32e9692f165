/* Tests of retention (desk/retention.c, store/store-retention.c): what a
 * purge removes and what it must keep (contents shared with tickets that
 * are not due, quarantine entries), files removed only after the commit,
 * batches that resume, and the export. */
#include "dk-test-store.h"
#include "gateway/desk/retention.h"
#include "gateway/store/store-attachments.h"
#include "gateway/store/store-private.h"
#include "gateway/store/store-retention.h"
#include "parsers/digest.h"

#include <glib/gstdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#define NOW G_GINT64_CONSTANT(1800000000)
#define DAY 86400
#define OLD (NOW - 40 * DAY)    /* past [store] keep_raw_days = 30 */
#define RECENT (NOW - 10 * DAY) /* not yet */

static const char conf[] = "[store]\nkeep_raw_days = 30\n"
                           "[queue:legal]\nkeep_raw_days = 365\n"
                           "[queue:forever]\nkeep_raw_days = 0\n";

typedef struct {
	char *dir;
	DkStore *store;
	DkRetention *policy;
} Fixture;

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = dk_test_tmpdir();
	/* Raw messages above 64 bytes are files, the others inline. */
	DkStoreOptions options = {.inline_max = 64, .busy_timeout_ms = 1000};
	f->store = dk_test_store_open(f->dir, &options, NULL);
	assert_non_null(f->store);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) config = dk_config_load_data(conf, strlen(conf), "test.conf", &error);
	assert_non_null(config);
	f->policy = dk_retention_new(config);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_retention_free(f->policy);
	dk_store_close(f->store);
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* A ticket in queue with one article of raw message raw and, unless
 * NULL, an attachment of that content; closed at closed (0: left new). */
static gint64 ticket(Fixture *f, const char *queue, const char *raw, const char *attachment,
                     gint64 closed)
{
	g_autoptr(GError) error = NULL;
	DkStore *s = f->store;
	assert_true(dk_store_begin(s, &error));
	gint64 t = dk_store_ticket_create(s, "subject", "a@example.com", OLD - DAY, &error);
	assert_true(dk_store_ticket_set(s, t, DK_TICKET_QUEUE, queue, OLD - DAY, &error));
	char sha[65];
	g_autoptr(GBytes) bytes = g_bytes_new(raw, strlen(raw));
	assert_true(dk_store_raw_put(s, bytes, OLD - DAY, sha, &error));
	DkArticle a = {.ticket = t,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .subject = "subject",
	               .new_text = "the text stays",
	               .full_text = "the text stays",
	               .raw_sha256 = sha,
	               .created_at = OLD - DAY};
	gint64 article = dk_store_article_add(s, &a, &error);
	assert_true(article > 0);
	if (attachment != NULL) {
		char asha[65];
		dk_sha256_hex(attachment, strlen(attachment), asha);
		g_autoptr(GBytes) data = g_bytes_new(attachment, strlen(attachment));
		DkAttachmentIn in = {.filename = "report.pdf",
		                     .content_type = "application/pdf",
		                     .size = strlen(attachment),
		                     .sha256 = asha,
		                     .data = data};
		assert_true(dk_store_attachment_add(s, article, 0, &in, &error));
	}
	if (closed != 0) {
		assert_true(dk_store_ticket_set_status(s, t, DK_STATUS_RESOLVED, closed, &error));
		assert_true(dk_store_ticket_set_status(s, t, DK_STATUS_CLOSED, closed, &error));
	}
	assert_true(dk_store_commit(s, &error));
	return t;
}

static char *sha_of(const char *text)
{
	char *sha = g_malloc(65);
	dk_sha256_hex(text, strlen(text), sha);
	return sha;
}

/* Whether the raw message text is still readable. */
static gboolean raw_kept(Fixture *f, const char *text)
{
	g_autofree char *sha = sha_of(text);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) raw = dk_store_raw_get(f->store, sha, &error);
	if (raw != NULL)
		return TRUE;
	g_assert_error(error, DK_ERROR, DK_ERROR_GONE);
	return FALSE;
}

/* a's content read to its end through dk_store_attachment_stream(), a
 * piece at a time as the web server sends it; NULL and *error if it gave
 * no stream. */
static GBytes *streamed(Fixture *f, const DkStoredAttachment *a, GError **error)
{
	g_autoptr(GInputStream) in = dk_store_attachment_stream(f->store, a, error);
	if (in == NULL)
		return NULL;
	GByteArray *all = g_byte_array_new();
	for (;;) {
		g_autoptr(GBytes) piece =
		    g_input_stream_read_bytes(in, DK_STORE_ATTACHMENT_PIECE, NULL, NULL);
		assert_non_null(piece);
		if (g_bytes_get_size(piece) == 0)
			break;
		g_byte_array_append(all, g_bytes_get_data(piece, NULL),
		                    (guint)g_bytes_get_size(piece));
	}
	return g_byte_array_free_to_bytes(all);
}

static gboolean gather_bytes(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	(void)error;
	g_byte_array_append(data, bytes, (guint)size);
	return TRUE;
}

/* Whether the first attachment of ticket t is readable, read whole,
 * streamed and copied alike. */
static gboolean attachment_kept(Fixture *f, gint64 t)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) all = dk_store_ticket_attachments(f->store, t, &error);
	assert_true(all != NULL && all->len == 1);
	const DkStoredAttachment *a = g_ptr_array_index(all, 0);
	assert_string_equal(a->filename, "report.pdf"); /* the name stays in any case */
	g_autoptr(GBytes) bytes = dk_store_attachment_read(f->store, a, &error);
	g_autoptr(GError) stream_error = NULL;
	g_autoptr(GBytes) stream = streamed(f, a, &stream_error);
	g_autoptr(GError) copy_error = NULL;
	g_autoptr(GByteArray) copied = g_byte_array_new();
	gboolean copy = dk_store_attachment_copy(f->store, a, gather_bytes, copied, &copy_error);
	if (bytes != NULL) {
		assert_non_null(stream);
		assert_true(g_bytes_equal(bytes, stream));
		assert_true(copy);
		assert_int_equal(copied->len, g_bytes_get_size(bytes));
		assert_memory_equal(copied->data, g_bytes_get_data(bytes, NULL), copied->len);
		return TRUE;
	}
	g_assert_error(error, DK_ERROR, DK_ERROR_GONE);
	assert_null(stream);
	g_assert_error(stream_error, DK_ERROR, DK_ERROR_GONE);
	assert_false(copy);
	g_assert_error(copy_error, DK_ERROR, DK_ERROR_GONE);
	return FALSE;
}

static gboolean file_exists(Fixture *f, const char *kind, const char *text)
{
	g_autofree char *sha = sha_of(text);
	char shard[3] = {sha[0], sha[1], 0};
	g_autofree char *path = g_build_filename(f->dir, kind, shard, sha, NULL);
	return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* Large contents are files on SQLite; PostgreSQL keeps every content in
 * the database, so there the files are not looked for and none is
 * counted. */
#define FILE_THERE(...)                                                                            \
	do {                                                                                       \
		if (!dk_test_store_is_pg())                                                        \
			assert_true(file_exists(__VA_ARGS__));                                     \
	} while (0)
#define FILE_GONE(...)                                                                             \
	do {                                                                                       \
		if (!dk_test_store_is_pg())                                                        \
			assert_false(file_exists(__VA_ARGS__));                                    \
	} while (0)
#define FILES(n) (dk_test_store_is_pg() ? 0 : (n))

static DkPurgeStats purge(Fixture *f, DkPurgeOptions o)
{
	o.now = NOW;
	o.pause_us = 1;
	DkPurgeStats stats = {0};
	g_autoptr(GError) error = NULL;
	if (!dk_retention_purge(f->store, f->policy, &o, &stats, &error))
		fail_msg("purge: %s", error ? error->message : "no error set");
	return stats;
}

static gint64 events_of(Fixture *f, gint64 t, const char *type)
{
	g_autoptr(GPtrArray) events = dk_store_events(f->store, t, NULL);
	gint64 n = 0;
	for (guint i = 0; i < events->len; i++)
		n += strcmp(((DkEvent *)g_ptr_array_index(events, i))->type, type) == 0;
	return n;
}

#define BIG_RAW(n) "From: a@example.com\nSubject: big " n "\n\nlong enough to be kept as a file\n"

static void test_purges_what_is_due(void **state)
{
	Fixture *f = *state;
	gint64 t = ticket(f, "default", BIG_RAW("1"), "attachment one", OLD);
	gint64 small = ticket(f, "default", "Subject: s\n\nx\n", NULL, OLD);
	FILE_THERE(f, "raw", BIG_RAW("1"));
	DkPurgeStats s = purge(f, (DkPurgeOptions){0});
	assert_int_equal(s.tickets, 2);
	assert_int_equal(s.raw_messages, 2);
	assert_int_equal(s.attachments, 1);
	assert_int_equal(s.files, FILES(2)); /* the large raw message and the attachment */
	assert_int_equal(s.bytes, strlen(BIG_RAW("1")) + strlen("attachment one") +
	                              strlen("Subject: s\n\nx\n"));
	assert_false(raw_kept(f, BIG_RAW("1")));
	assert_false(raw_kept(f, "Subject: s\n\nx\n"));
	FILE_GONE(f, "raw", BIG_RAW("1"));
	FILE_GONE(f, "attachments", "attachment one");
	assert_false(attachment_kept(f, t));
	/* The articles keep their text and say when the raw mail went. */
	g_autoptr(GPtrArray) articles = dk_store_articles(f->store, t, NULL);
	const DkArticle *a = g_ptr_array_index(articles, 0);
	assert_string_equal(a->new_text, "the text stays");
	assert_int_equal(a->raw_purged_at, NOW);
	assert_int_equal(events_of(f, t, "raw_purged"), 1);
	assert_int_equal(events_of(f, small, "raw_purged"), 1);
}

static void test_keeps_what_is_not_due(void **state)
{
	Fixture *f = *state;
	gint64 open = ticket(f, "default", BIG_RAW("open"), "a1", 0);
	gint64 recent = ticket(f, "default", BIG_RAW("recent"), "a2", RECENT);
	gint64 legal = ticket(f, "legal", BIG_RAW("legal"), "a3", OLD);
	gint64 forever = ticket(f, "forever", BIG_RAW("forever"), "a4", OLD - 3650 * DAY);
	g_autoptr(GError) error = NULL;
	/* Resolved long ago: a reply could still reopen it. */
	assert_true(dk_store_begin(f->store, &error));
	gint64 resolved = dk_store_ticket_create(f->store, "r", NULL, OLD, &error);
	assert_true(
	    dk_store_ticket_set_status(f->store, resolved, DK_STATUS_RESOLVED, OLD, &error));
	assert_true(dk_store_commit(f->store, &error));
	DkPurgeStats s = purge(f, (DkPurgeOptions){0});
	assert_int_equal(s.tickets, 0);
	assert_int_equal(s.raw_messages + s.attachments + s.files, 0);
	const char *raws[] = {BIG_RAW("open"), BIG_RAW("recent"), BIG_RAW("legal"),
	                      BIG_RAW("forever")};
	for (guint i = 0; i < G_N_ELEMENTS(raws); i++) {
		assert_true(raw_kept(f, raws[i]));
		FILE_THERE(f, "raw", raws[i]);
	}
	gint64 tickets[] = {open, recent, legal, forever};
	for (guint i = 0; i < G_N_ELEMENTS(tickets); i++)
		assert_true(attachment_kept(f, tickets[i]));
	/* Past legal's year, it goes too. */
	DkPurgeOptions later = {.now = OLD + 366 * DAY, .pause_us = 1};
	DkPurgeStats s2 = {0};
	assert_true(dk_retention_purge(f->store, f->policy, &later, &s2, &error));
	assert_false(raw_kept(f, BIG_RAW("legal")));
	assert_true(raw_kept(f, BIG_RAW("forever")));
}

static void test_keeps_shared_content(void **state)
{
	Fixture *f = *state;
	/* The same raw message on a due ticket and an open one; the same
	 * attachment on a due ticket and one in a queue that keeps longer. */
	gint64 due = ticket(f, "default", BIG_RAW("shared"), "shared attachment", OLD);
	ticket(f, "default", BIG_RAW("shared"), NULL, 0);
	gint64 legal = ticket(f, "legal", BIG_RAW("legal"), "shared attachment", OLD);
	/* A raw message that is also a quarantine entry. */
	ticket(f, "default", BIG_RAW("quarantined"), NULL, OLD);
	g_autoptr(GError) error = NULL;
	g_autofree char *qsha = sha_of(BIG_RAW("quarantined"));
	DkQuarantined q = {
	    .raw_sha256 = qsha, .reason = "held", .intake = "lmtp", .received_at = OLD};
	assert_true(dk_store_begin(f->store, &error));
	gint64 qid = 0;
	assert_true(dk_store_quarantine_add(f->store, &q, &qid, &error));
	assert_true(dk_store_commit(f->store, &error));
	DkPurgeStats s = purge(f, (DkPurgeOptions){0});
	assert_int_equal(s.kept, 3);
	assert_int_equal(s.raw_messages + s.attachments, 0);
	assert_true(raw_kept(f, BIG_RAW("shared")));
	assert_true(raw_kept(f, BIG_RAW("quarantined")));
	assert_true(attachment_kept(f, due));
	assert_true(attachment_kept(f, legal));
	assert_int_equal(events_of(f, due, "raw_purged"), 0);
	/* Both holders due: it goes, once, and both tickets are told. */
	DkPurgeOptions later = {.now = OLD + 366 * DAY, .pause_us = 1};
	DkPurgeStats s2 = {0};
	assert_true(dk_retention_purge(f->store, f->policy, &later, &s2, &error));
	assert_false(attachment_kept(f, due));
	assert_int_equal(events_of(f, due, "raw_purged"), 1);
	assert_int_equal(events_of(f, legal, "raw_purged"), 1);
	assert_true(raw_kept(f, BIG_RAW("shared"))); /* the open ticket's still */
}

static gboolean crash(gpointer data)
{
	Fixture *f = data;
	/* Committed: the store says purged, the file is still there. */
	assert_false(raw_kept(f, BIG_RAW("crash")));
	FILE_THERE(f, "raw", BIG_RAW("crash"));
	FILE_THERE(f, "attachments", "crash attachment");
	return FALSE;
}

static void test_files_go_after_the_commit(void **state)
{
	DK_TEST_SQLITE_ONLY(); /* the life of files */
	Fixture *f = *state;
	ticket(f, "default", BIG_RAW("crash"), "crash attachment", OLD);
	DkPurgeStats s = purge(f, (DkPurgeOptions){.after_commit = crash, .data = f});
	assert_int_equal(s.raw_messages, 1);
	assert_int_equal(s.files, FILES(0));
	/* A later purge removes the files the first one left. */
	DkPurgeStats s2 = purge(f, (DkPurgeOptions){0});
	assert_int_equal(s2.files, FILES(2));
	assert_int_equal(s2.raw_messages, 0);
	FILE_GONE(f, "raw", BIG_RAW("crash"));
	FILE_GONE(f, "attachments", "crash attachment");
	g_autoptr(GPtrArray) left = dk_store_purged_files(f->store, 10, NULL);
	assert_int_equal(left->len, 0);
}

static gboolean stop(gpointer data)
{
	(void)data;
	return FALSE;
}

/* The same bytes stored again between the purge's commit and the removal
 * of its file: the file is theirs now, and stays. */
static void test_file_of_revived_content_stays(void **state)
{
	DK_TEST_SQLITE_ONLY(); /* the life of files */
	Fixture *f = *state;
	ticket(f, "default", BIG_RAW("revived"), "revived attachment", OLD);
	purge(f, (DkPurgeOptions){.after_commit = stop});
	gint64 t = ticket(f, "default", BIG_RAW("revived"), "revived attachment", 0);
	DkPurgeStats s = purge(f, (DkPurgeOptions){0});
	assert_int_equal(s.files, FILES(0));
	FILE_THERE(f, "raw", BIG_RAW("revived"));
	assert_true(raw_kept(f, BIG_RAW("revived")));
	assert_true(attachment_kept(f, t));
}

static gboolean count_batch(gpointer data)
{
	guint *batches = data;
	(*batches)++;
	return TRUE;
}

static void test_batches_resume(void **state)
{
	Fixture *f = *state;
	gint64 tickets[5];
	for (guint i = 0; i < G_N_ELEMENTS(tickets); i++) {
		g_autofree char *raw = g_strdup_printf(BIG_RAW("%u"), i);
		tickets[i] = ticket(f, "default", raw, NULL, OLD + i);
	}
	guint batches = 0;
	DkPurgeStats s = purge(f, (DkPurgeOptions){.batch = 2, .max_batches = 1});
	assert_int_equal(s.tickets, 2);
	s = purge(f, (DkPurgeOptions){.batch = 2, .max_batches = 1});
	assert_int_equal(s.tickets, 2); /* the next two, oldest first */
	assert_int_equal(events_of(f, tickets[3], "raw_purged"), 1);
	assert_int_equal(events_of(f, tickets[4], "raw_purged"), 0);
	s = purge(f, (DkPurgeOptions){.batch = 2, .after_commit = count_batch, .data = &batches});
	assert_int_equal(s.tickets, 1);
	assert_int_equal(batches, 1);
	/* Idempotent: nothing left, nothing told twice. */
	s = purge(f, (DkPurgeOptions){0});
	assert_int_equal(s.tickets + s.raw_messages + s.files, 0);
	for (guint i = 0; i < G_N_ELEMENTS(tickets); i++)
		assert_int_equal(events_of(f, tickets[i], "raw_purged"), 1);
}

static void test_dry_run_changes_nothing(void **state)
{
	Fixture *f = *state;
	gint64 t = ticket(f, "default", BIG_RAW("dry"), "dry attachment", OLD);
	DkPurgeStats s = purge(f, (DkPurgeOptions){.dry_run = TRUE});
	assert_int_equal(s.tickets, 1);
	assert_int_equal(s.raw_messages, 1);
	assert_int_equal(s.attachments, 1);
	assert_int_equal(s.files, FILES(2));
	assert_true(raw_kept(f, BIG_RAW("dry")));
	assert_true(attachment_kept(f, t));
	assert_int_equal(events_of(f, t, "raw_purged"), 0);
}

static void test_same_bytes_again_come_back(void **state)
{
	Fixture *f = *state;
	ticket(f, "default", BIG_RAW("again"), "again attachment", OLD);
	purge(f, (DkPurgeOptions){0});
	assert_false(raw_kept(f, BIG_RAW("again")));
	gint64 t = ticket(f, "default", BIG_RAW("again"), "again attachment", 0);
	assert_true(raw_kept(f, BIG_RAW("again")));
	FILE_THERE(f, "raw", BIG_RAW("again"));
	assert_true(attachment_kept(f, t));
}

static gint64 files_in(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	gint64 n = 0;
	while (d != NULL && g_dir_read_name(d) != NULL)
		n++;
	return n;
}

static void test_export(void **state)
{
	Fixture *f = *state;
	gint64 kept = ticket(f, "default", BIG_RAW("export"), "export attachment", 0);
	gint64 gone = ticket(f, "default", BIG_RAW("exported late"), "late attachment", OLD);
	purge(f, (DkPurgeOptions){0});
	g_autofree char *dir = g_build_filename(f->dir, "export", NULL);
	DkExportReport r = {0};
	g_autoptr(GError) error = NULL;
	assert_true(dk_retention_export(f->store, kept, "docket", dir, NOW, &r, &error));
	assert_int_equal(r.articles, 1);
	assert_int_equal(r.attachments, 1);
	assert_int_equal(r.purged->len, 0);
	assert_int_equal(files_in(dir), 3);
	g_autofree char *json = g_build_filename(dir, "ticket.json", NULL);
	assert_true(g_file_test(json, G_FILE_TEST_IS_REGULAR));
	dk_export_report_clear(&r);
	/* Not into a folder that holds something. */
	assert_false(dk_retention_export(f->store, kept, "docket", dir, NOW, &r, &error));
	g_assert_error(error, DK_ERROR, DK_ERROR_PERMANENT);
	g_clear_error(&error);
	dk_export_report_clear(&r);
	g_autofree char *dir2 = g_build_filename(f->dir, "export2", NULL);
	assert_true(dk_retention_export(f->store, gone, "docket", dir2, NOW, &r, &error));
	assert_int_equal(r.articles + r.attachments, 0);
	assert_int_equal(r.purged->len, 2);
	assert_non_null(strstr(g_ptr_array_index(r.purged, 0), "purged on 2027-01-15"));
	dk_export_report_clear(&r);
}

/* Text of at least size bytes, every line numbered. */
static char *numbered(const char *head, gsize size)
{
	GString *text = g_string_new(head);
	for (guint line = 0; text->len < size; line++)
		g_string_append_printf(text, "line %08u of a large content\n", line);
	return g_string_free(text, FALSE);
}

/* A raw message and an attachment of several MiB (PostgreSQL: in pieces,
 * raw_chunks and attachment_chunks): read and exported byte for byte,
 * then purged with all their pieces. */
static void test_large_contents_purged_whole(void **state)
{
	Fixture *f = *state;
	g_autofree char *raw = numbered("From: a@example.com\nSubject: large\n\n", 2097152 + 999);
	g_autofree char *attachment = numbered("%PDF-1.4\n", 3 * 1048576 + 5);
	gint64 t = ticket(f, "default", raw, attachment, OLD);
	gboolean pg = dk_test_store_is_pg();
	assert_int_equal(dk_test_store_number(f->store, "SELECT count(*) FROM raw_chunks"),
	                 pg ? 3 : 0);
	assert_int_equal(dk_test_store_number(f->store, "SELECT count(*) FROM attachment_chunks"),
	                 pg ? 4 : 0);
	assert_true(attachment_kept(f, t));
	g_autofree char *dir = g_build_filename(f->dir, "export", NULL);
	DkExportReport r = {0};
	g_autoptr(GError) error = NULL;
	assert_true(dk_retention_export(f->store, t, "docket", dir, NOW, &r, &error));
	assert_int_equal(r.articles, 1);
	assert_int_equal(r.attachments, 1);
	dk_export_report_clear(&r);
	g_autoptr(GPtrArray) articles = dk_store_articles(f->store, t, NULL);
	const DkArticle *a = g_ptr_array_index(articles, 0);
	g_autofree char *name = g_strdup_printf("article-%" G_GINT64_FORMAT ".eml", a->id);
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *exported = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(path, &exported, &len, NULL));
	assert_int_equal(len, strlen(raw));
	assert_memory_equal(exported, raw, len);
	/* the attachment too, copied a piece at a time */
	g_autoptr(GPtrArray) stored = dk_store_ticket_attachments(f->store, t, NULL);
	const DkStoredAttachment *sa = g_ptr_array_index(stored, 0);
	g_autofree char *aname =
	    g_strdup_printf("attachment-%" G_GINT64_FORMAT "-report.pdf", sa->id);
	g_autofree char *apath = g_build_filename(dir, aname, NULL);
	g_autofree char *aexported = NULL;
	assert_true(g_file_get_contents(apath, &aexported, &len, NULL));
	assert_int_equal(len, strlen(attachment));
	assert_memory_equal(aexported, attachment, len);
	DkPurgeStats s = purge(f, (DkPurgeOptions){0});
	assert_int_equal(s.raw_messages, 1);
	assert_int_equal(s.attachments, 1);
	assert_int_equal(s.bytes, strlen(raw) + strlen(attachment));
	assert_false(raw_kept(f, raw));
	assert_false(attachment_kept(f, t));
	assert_int_equal(dk_test_store_number(f->store, "SELECT count(*) FROM raw_chunks"), 0);
	assert_int_equal(dk_test_store_number(f->store, "SELECT count(*) FROM attachment_chunks"),
	                 0);
	FILE_GONE(f, "raw", raw);
	FILE_GONE(f, "attachments", attachment);
	/* The same bytes again: kept again, in pieces again. */
	gint64 back = ticket(f, "default", raw, attachment, 0);
	assert_true(raw_kept(f, raw));
	assert_true(attachment_kept(f, back));
	assert_int_equal(dk_test_store_number(f->store, "SELECT count(*) FROM attachment_chunks"),
	                 pg ? 4 : 0);
}

/* An attachment changed where it is kept (one byte of its second MiB,
 * the size the same: on SQLite in its file, on PostgreSQL in its second
 * piece) is refused as damaged, read whole, streamed or copied: nothing of
 * it is given out, not even the first piece, which is intact. */
static void test_damaged_content_refused(void **state)
{
	Fixture *f = *state;
	g_autofree char *attachment = numbered("%PDF-1.4\n", 1048576 + 200000);
	gint64 t = ticket(f, "default", BIG_RAW("damaged"), attachment, 0);
	assert_true(attachment_kept(f, t));
	if (dk_test_store_is_pg()) {
		assert_int_equal(dk_test_store_number(f->store,
		                                      "UPDATE attachment_chunks SET data ="
		                                      " set_byte(data, 150000,"
		                                      " get_byte(data, 150000) # 1)"
		                                      " WHERE seq = 1 RETURNING seq"),
		                 1);
	} else {
		g_autofree char *sha = sha_of(attachment);
		char shard[3] = {sha[0], sha[1], 0};
		g_autofree char *path = g_build_filename(f->dir, "attachments", shard, sha, NULL);
		attachment[1048576 + 150000] ^= 1;
		assert_true(g_file_set_contents(path, attachment, -1, NULL));
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) all = dk_store_ticket_attachments(f->store, t, &error);
	const DkStoredAttachment *a = g_ptr_array_index(all, 0);
	g_autoptr(GBytes) bytes = dk_store_attachment_read(f->store, a, &error);
	assert_null(bytes);
	g_assert_error(error, DK_ERROR, DK_ERROR_PERMANENT);
	g_clear_error(&error);
	g_autoptr(GBytes) stream = streamed(f, a, &error);
	assert_null(stream);
	g_assert_error(error, DK_ERROR, DK_ERROR_PERMANENT);
	assert_non_null(strstr(error->message, "damaged"));
	g_clear_error(&error);
	g_autoptr(GByteArray) copied = g_byte_array_new();
	assert_false(dk_store_attachment_copy(f->store, a, gather_bytes, copied, &error));
	g_assert_error(error, DK_ERROR, DK_ERROR_PERMANENT);
	assert_int_equal(copied->len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_purges_what_is_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keeps_what_is_not_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keeps_shared_content, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files_go_after_the_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_of_revived_content_stays, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batches_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dry_run_changes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_same_bytes_again_come_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_contents_purged_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_content_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
