/* Tests of the store: schema migrations, durability settings, raw
 * messages inline and in files, and the write/read round trip. */
#include "dk-test-store.h"
#include "gateway/store/store-chunks.h"
#include "gateway/store/store-private.h"
#include "gateway/store/store-retention.h"
#include "gateway/store/store-users.h"

#include <sqlite3.h>

#include <glib/gstdio.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static int setup(void **state)
{
	*state = dk_test_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	dk_test_rmtree(*state);
	g_free(*state);
	return 0;
}

static void test_open_migrates(void **state)
{
	DK_TEST_SQLITE_ONLY();
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_build_filename(*state, "data", "nested", NULL);
	g_autoptr(DkStore) s = dk_test_store_open(dir, NULL, &error);
	assert_null(error);
	assert_int_equal(dk_store_schema_version(s), dk_store_schema_latest());
	assert_int_equal(dk_test_store_number(s, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(dk_test_store_number(s, "PRAGMA foreign_keys"), 1);
	sqlite3_stmt *st = NULL;
	sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	/* Reopening applies nothing twice. */
	dk_store_close(g_steal_pointer(&s));
	s = dk_test_store_open(dir, NULL, &error);
	assert_null(error);
	assert_int_equal(dk_store_schema_version(s), dk_store_schema_latest());
}

/* How many tables' CHECKs list more than two values with IN. */
static guint value_lists(DkStore *s)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(s->db,
	                                    "SELECT sql FROM sqlite_schema WHERE type = 'table'",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	guint n = 0;
	while (sqlite3_step(st) == SQLITE_ROW)
		n += g_regex_match_simple("CHECK \\(\\w+ IN \\([^)]*,[^)]*,",
		                          (const char *)sqlite3_column_text(st, 0), 0, 0);
	sqlite3_finalize(st);
	return n;
}

static void assert_refused(DkStore *s, const char *sql)
{
	/* the store's connection reports extended codes */
	assert_int_equal(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_CONSTRAINT_CHECK);
}

/* Migration 21 writes the CHECKs' value lists as comparisons (SQLite
 * builds a table for a list at every statement): a store at 20 gets the
 * same constraints in the new form, its rows kept. */
static void test_checks_without_value_lists(void **state)
{
	DK_TEST_SQLITE_ONLY();
	g_autoptr(GError) error = NULL;
	{
		g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
		assert_int_equal(value_lists(s), 0);
		assert_true(dk_store_begin(s, &error));
		assert_int_equal(dk_store_ticket_create(s, "Printer", "a@example.com", 100, &error),
		                 1);
		assert_true(dk_store_commit(s, &error));
		/* back to the form of 20, as a store made before it */
		gint64 version = dk_test_store_number(s, "PRAGMA schema_version");
		g_autofree char *bump =
		    g_strdup_printf("PRAGMA writable_schema = ON;"
		                    "UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (role = "
		                    "''requester'' OR role ="
		                    " ''sender'' OR role = ''cc'' OR role = ''agent'')', 'CHECK "
		                    "(role IN (''requester'',"
		                    "''sender'',''cc'',''agent''))') WHERE name = 'participants';"
		                    "PRAGMA schema_version = %" G_GINT64_FORMAT ";"
		                    "PRAGMA writable_schema = OFF; PRAGMA user_version = 20;",
		                    version + 1);
		assert_int_equal(sqlite3_exec(s->db, bump, NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(value_lists(s), 1);
	}
	g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
	assert_non_null(s);
	assert_int_equal(value_lists(s), 0);
	assert_int_equal(dk_store_schema_version(s), dk_store_schema_latest());
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM tickets"), 1);
	assert_refused(s, "UPDATE tickets SET status = 'gone'");
	assert_refused(s, "UPDATE tickets SET priority = 'urgent'");
	assert_refused(
	    s, "INSERT INTO participants (ticket, address, role) VALUES (1, 'b@x', 'boss')");
	assert_int_equal(sqlite3_exec(s->db,
	                              "UPDATE tickets SET status = 'on_hold', priority = 'low'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_exec(s->db,
	                              "INSERT INTO participants (ticket, address, role)"
	                              " VALUES (1, 'b@x', 'cc')",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
}

static void test_refuses_newer_schema(void **state)
{
	DK_TEST_SQLITE_ONLY();
	g_autoptr(GError) error = NULL;
	{
		g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
		assert_non_null(s);
		assert_int_equal(sqlite3_exec(s->db, "PRAGMA user_version = 999", NULL, NULL, NULL),
		                 SQLITE_OK);
	}
	g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
	assert_null(s);
	assert_non_null(strstr(error->message, "newer"));
	assert_false(dk_error_is_temporary(error));
}

static void test_raw_inline_and_file(void **state)
{
	DkStoreOptions options = {.inline_max = 16, .busy_timeout_ms = 100};
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, &options, &error);
	g_autoptr(GBytes) small = g_bytes_new_static("Subject: x\n\nhi\n", 15);
	g_autoptr(GBytes) large =
	    g_bytes_new_static("Subject: large\n\nthis is longer than sixteen\n", 44);
	char sha_small[65], sha_large[65], again[65];
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_raw_put(s, small, 1, sha_small, &error));
	assert_true(dk_store_raw_put(s, large, 1, sha_large, &error));
	assert_true(dk_store_raw_put(s, small, 2, again, &error)); /* idempotent */
	assert_true(dk_store_commit(s, &error));
	assert_string_equal(sha_small, again);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM raw_messages"), 2);
	/* PostgreSQL keeps every raw message in the database */
	assert_int_equal(
	    dk_test_store_number(s, "SELECT count(*) FROM raw_messages WHERE path IS NOT NULL"),
	    dk_test_store_is_pg() ? 0 : 1);
	g_autofree char *file = g_build_filename(
	    *state, "raw", (char[]){sha_large[0], sha_large[1], 0}, sha_large, NULL);
	assert_true(g_file_test(file, G_FILE_TEST_IS_REGULAR) == !dk_test_store_is_pg());
	g_autoptr(GBytes) back_small = dk_store_raw_get(s, sha_small, &error);
	g_autoptr(GBytes) back_large = dk_store_raw_get(s, sha_large, &error);
	assert_true(g_bytes_equal(back_small, small));
	assert_true(g_bytes_equal(back_large, large));
	g_autoptr(GBytes) none = dk_store_raw_get(s, "0000", &error);
	assert_null(none);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
}

/* A message of size bytes whose every line is numbered, so that pieces
 * read back out of order or twice would not compare equal. */
static GBytes *big_message(gsize size)
{
	GString *text = g_string_sized_new(size + 64);
	g_string_append(text, "From: a@example.com\nSubject: big\n\n");
	for (guint line = 0; text->len < size; line++)
		g_string_append_printf(text, "line %08u of a large message, numbered\n", line);
	g_string_truncate(text, size);
	return g_string_free_to_bytes(text);
}

/* A file holding bytes (of which only the first written are written),
 * open for reading. */
static int file_of(const char *dir, GBytes *bytes, gsize written)
{
	g_autofree char *path = g_build_filename(dir, "spool", NULL);
	g_assert_true(
	    g_file_set_contents(path, g_bytes_get_data(bytes, NULL), (gssize)written, NULL));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	g_assert_true(fd >= 0);
	unlink(path);
	return fd;
}

typedef struct {
	guint pieces;
	gsize largest;
} Pieces;

static gboolean count_piece(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	(void)bytes;
	(void)error;
	Pieces *p = data;
	p->pieces++;
	p->largest = MAX(p->largest, size);
	return TRUE;
}

/* A raw message above inline_max, from a file and from memory: on
 * PostgreSQL rows of a MiB at most (SQLite: a file), read back whole,
 * piece by piece and by its head, byte for byte; stored once. */
static void test_raw_large_in_pieces(void **state)
{
	DkStoreOptions options = {.inline_max = 4096, .busy_timeout_ms = 1000};
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, &options, &error);
	gsize size = 2 * DK_STORE_CHUNK + 12345;
	g_autoptr(GBytes) big = big_message(size);
	g_autoptr(GBytes) other = big_message(DK_STORE_CHUNK + 1);
	int fd = file_of(*state, big, size);
	char sha[65], again[65], sha_other[65];
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_raw_put_fd(s, fd, size, 1, sha, &error));
	assert_true(dk_store_raw_put_fd(s, fd, size, 2, again, &error)); /* idempotent */
	assert_true(dk_store_raw_put(s, other, 1, sha_other, &error));
	assert_true(dk_store_commit(s, &error));
	close(fd);
	assert_string_equal(sha, again);
	gboolean pg = dk_test_store_is_pg();
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM raw_chunks"),
	                 pg ? 3 + 2 : 0);
	assert_int_equal(dk_test_store_number(s, "SELECT coalesce(max(length(data)), 0)"
	                                         " FROM raw_chunks"),
	                 pg ? DK_STORE_CHUNK : 0);
	assert_int_equal(dk_test_store_number(s, "SELECT sum(chunks) FROM raw_messages"),
	                 pg ? 3 + 2 : 0);
	g_autoptr(GBytes) back = dk_store_raw_get(s, sha, &error);
	g_assert_no_error(error);
	assert_true(g_bytes_equal(back, big));
	g_autoptr(GBytes) back_other = dk_store_raw_get(s, sha_other, &error);
	assert_true(g_bytes_equal(back_other, other));
	Pieces p = {0};
	assert_true(dk_store_raw_read(s, sha, count_piece, &p, &error));
	assert_int_equal(p.pieces, 3);
	assert_true(p.largest <= DK_STORE_CHUNK);
	g_autoptr(GBytes) head = dk_store_raw_head(s, sha, 100, &error);
	g_autoptr(GBytes) want = g_bytes_new_from_bytes(big, 0, 100);
	assert_true(g_bytes_equal(head, want));
}

/* A delivery that fails after its large raw message was stored, or part
 * way through storing it, leaves no row and no piece behind. */
static void test_raw_large_failure_leaves_nothing(void **state)
{
	DkStoreOptions options = {.inline_max = 4096, .busy_timeout_ms = 1000};
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, &options, &error);
	gsize size = 3 * DK_STORE_CHUNK + 100;
	g_autoptr(GBytes) big = big_message(size);
	char sha[65];
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_raw_put(s, big, 1, sha, &error));
	assert_true(dk_store_ticket_create(s, "then a failure", NULL, 1, &error) > 0);
	dk_store_rollback(s);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM raw_messages"), 0);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM raw_chunks"), 0);
	g_autoptr(GBytes) none = dk_store_raw_get(s, sha, &error);
	assert_null(none);
	g_assert_error(error, DK_ERROR, DK_ERROR_NOT_FOUND);
	g_clear_error(&error);
	if (!dk_test_store_is_pg())
		return; /* SQLite links the spool file whole: no pieces to fail between */
	/* The spool file ends in the third piece: two are written, then the
	 * read fails. */
	int fd = file_of(*state, big, 2 * DK_STORE_CHUNK + 10);
	assert_true(dk_store_begin(s, &error));
	assert_false(dk_store_raw_put_fd_digest(s, fd, size, sha, 1, &error));
	assert_true(dk_error_is_temporary(error));
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM raw_chunks"), 2);
	dk_store_rollback(s);
	close(fd);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM raw_messages"), 0);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM raw_chunks"), 0);
}

/* Purges the raw message data names (its SHA-256) after the first piece
 * read, as retention's purge may between two of a reader's statements. */
static gboolean purge_after_first(const guint8 *bytes, gsize size, gpointer data, GError **error)
{
	(void)bytes;
	(void)size;
	DkStore *s = ((gpointer *)data)[0];
	const char *sha = ((gpointer *)data)[1];
	g_assert_true(dk_store_begin(s, error));
	g_assert_true(dk_store_content_purge(s, FALSE, sha, 1800000000, error));
	g_assert_true(dk_store_commit(s, error));
	return TRUE;
}

/* A raw message in pieces purged while it is read: the reader learns
 * that it was purged (not that it is damaged). */
static void test_raw_purged_while_read(void **state)
{
	if (!dk_test_store_is_pg())
		skip(); /* SQLite's file stays until after the purge's commit */
	DkStoreOptions options = {.inline_max = 4096, .busy_timeout_ms = 1000};
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, &options, &error);
	g_autoptr(GBytes) big = big_message(2 * DK_STORE_CHUNK + 1);
	char sha[65];
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_raw_put(s, big, 1, sha, &error));
	assert_true(dk_store_commit(s, &error));
	gpointer data[] = {s, sha};
	assert_false(dk_store_raw_read(s, sha, purge_after_first, data, &error));
	g_assert_error(error, DK_ERROR, DK_ERROR_GONE);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM raw_chunks"), 0);
}

static void test_ticket_roundtrip(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
	assert_true(dk_store_begin(s, &error));
	gint64 t = dk_store_ticket_create(s, "Printer", "alice@example.com", 100, &error);
	assert_int_equal(t, 1);
	DkArticle a = {.ticket = t,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .sender = "alice@example.com",
	               .subject = "Printer",
	               .message_id = "m1@x",
	               .fingerprint = "f1",
	               .new_text = "hello",
	               .full_text = "hello",
	               .created_at = 100};
	assert_true(dk_store_article_add(s, &a, &error) > 0);
	assert_true(dk_store_message_id_add(s, "m1@x", t, a.id, &error));
	assert_true(dk_store_message_id_add(s, "m1@x", 99, 0, &error)); /* the first owner stays */
	assert_true(dk_store_event_add(s, t, a.id, "created", NULL, 100, &error));
	assert_true(dk_store_participant_add(s, t, "Alice@Example.com", DK_ROLE_REQUESTER, &error));
	assert_true(dk_store_commit(s, &error));

	gint64 found_ticket = 0, found_article = 0;
	gboolean found = FALSE;
	assert_true(dk_store_message_id_find(s, "m1@x", &found_ticket, &found, &error));
	assert_true(found);
	assert_int_equal(found_ticket, t);
	assert_true(dk_store_message_id_find(s, "other@x", &found_ticket, &found, &error));
	assert_false(found);
	assert_true(dk_store_article_find(s, "m1@x", "f1", &found_ticket, &found_article, &found,
	                                  NULL, NULL, &error));
	assert_true(found);
	assert_int_equal(found_article, a.id);
	/* with the owner of the Message-ID, in the same statement */
	gint64 owner = 0;
	gboolean known = FALSE;
	found_article = 0;
	assert_true(dk_store_article_find(s, "m1@x", "f2", &found_ticket, &found_article, &found,
	                                  &owner, &known, &error));
	assert_false(found);
	assert_int_equal(found_article, 0);
	assert_true(known);
	assert_int_equal(owner, t);
	assert_true(dk_store_article_find(s, "m1@x", "f1", &found_ticket, &found_article, &found,
	                                  &owner, &known, &error));
	assert_true(found && known);
	assert_int_equal(found_article, a.id);
	assert_true(dk_store_article_find(s, "other@x", "f1", &found_ticket, &found_article, &found,
	                                  &owner, &known, &error));
	assert_false(found);
	assert_false(known);

	g_autoptr(DkTicket) ticket = dk_store_ticket_get_counted(s, t, &error);
	assert_string_equal(ticket->subject, "Printer");
	assert_string_equal(dk_ticket_status_name(ticket->status), "new");
	assert_int_equal(ticket->articles, 1);
	/* the pipeline's read: the same row, the articles not counted */
	g_autoptr(DkTicket) head = dk_store_ticket_get(s, t, &error);
	assert_string_equal(head->subject, "Printer");
	assert_string_equal(head->requester, "alice@example.com");
	assert_int_equal(head->status, ticket->status);
	assert_int_equal(head->created_at, 100);
	assert_int_equal(head->articles, -1);
	g_autoptr(GPtrArray) people = dk_store_participants(s, t, &error);
	assert_int_equal(people->len, 1);
	const DkParticipant *person = g_ptr_array_index(people, 0);
	g_autofree char *who =
	    g_strdup_printf("%s %s", person->address, dk_participant_role_name(person->role));
	assert_string_equal(who, "alice@example.com requester");
	g_autoptr(GPtrArray) events = dk_store_events(s, t, &error);
	assert_int_equal(events->len, 1);
	g_autoptr(DkTicket) missing = dk_store_ticket_get(s, 42, &error);
	assert_null(missing);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
	g_clear_error(&error);
	g_autoptr(DkTicket) no_head = dk_store_ticket_get_counted(s, 42, &error);
	assert_null(no_head);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
}

/* A full text that is the new text is stored once and read back whole;
 * one that quotes more is stored as it is. */
static void test_full_text_stored_once(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
	assert_true(dk_store_begin(s, &error));
	gint64 t = dk_store_ticket_create(s, "Printer", "alice@example.com", 100, &error);
	DkArticle same = {.ticket = t,
	                  .direction = DK_INBOUND,
	                  .visibility = DK_PUBLIC,
	                  .evidence = "new",
	                  .new_text = "the printer is out of toner",
	                  .full_text = "the printer is out of toner",
	                  .created_at = 100};
	DkArticle quoting = same;
	quoting.new_text = "still out";
	quoting.full_text = "still out\n> the printer is out of toner";
	DkArticle trailing = same; /* the new text is the full one trimmed */
	trailing.full_text = "the printer is out of toner\r\n\n";
	DkArticle empty = same;
	empty.new_text = empty.full_text = "";
	DkArticle blank = same; /* a new text of white space: nothing to lean on */
	blank.new_text = "\n";
	blank.full_text = " ";
	const DkArticle *added[] = {&same, &quoting, &trailing, &empty, &blank};
	for (guint i = 0; i < G_N_ELEMENTS(added); i++)
		assert_true(dk_store_article_add(s, (DkArticle *)added[i], &error) > 0);
	assert_true(dk_store_commit(s, &error));
	assert_int_equal(dk_test_store_number(s, "SELECT sum(length(full_text)) FROM articles"),
	                 strlen(quoting.full_text) + 3 + 1);
	g_autoptr(GPtrArray) articles = dk_store_articles(s, t, &error);
	assert_int_equal(articles->len, G_N_ELEMENTS(added));
	for (guint i = 0; i < G_N_ELEMENTS(added); i++) {
		const DkArticle *a = g_ptr_array_index(articles, i);
		assert_string_equal(a->full_text, added[i]->full_text);
		assert_string_equal(a->new_text, added[i]->new_text);
	}
}

/* A user's API tokens and sessions are the user's, on either backend
 * (their column "user" is a keyword of PostgreSQL's, quoted). */
static void test_tokens_and_sessions(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
	gint64 ann = 0, bob = 0, token = 0, user = 0;
	gboolean found = FALSE;
	assert_true(dk_store_user_add(s, "ann", "agent", NULL, NULL, 1, &ann, &error));
	assert_true(dk_store_user_add(s, "bob", "agent", NULL, NULL, 1, &bob, &error));
	assert_true(dk_store_token_add(s, bob, "b0b", "cli", 2, &token, &error));
	assert_true(token > 0);
	assert_true(dk_store_token_find(s, "b0b", &user, &found, &error));
	assert_true(found);
	assert_int_equal(user, bob);
	g_autoptr(GPtrArray) none = dk_store_tokens(s, ann, &error);
	assert_int_equal(none->len, 0);
	g_autoptr(GPtrArray) one = dk_store_tokens(s, bob, &error);
	assert_int_equal(one->len, 1);

	assert_true(dk_store_session_add(s, "5e55", bob, "csrf", 3, 100, &error));
	g_autofree char *csrf = NULL;
	gint64 expires = 0;
	assert_true(dk_store_session_find(s, "5e55", 4, &user, &csrf, &expires, &found, &error));
	assert_true(found);
	assert_int_equal(user, bob);
	assert_true(dk_store_session_remove(s, NULL, ann, &error));
	g_clear_pointer(&csrf, g_free);
	assert_true(dk_store_session_find(s, "5e55", 4, &user, &csrf, &expires, &found, &error));
	assert_true(found);
	assert_true(dk_store_session_remove(s, NULL, bob, &error));
	g_clear_pointer(&csrf, g_free);
	assert_true(dk_store_session_find(s, "5e55", 4, &user, &csrf, &expires, &found, &error));
	assert_false(found);
	g_assert_no_error(error);
}

static void test_rollback_leaves_nothing(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_ticket_create(s, "gone", NULL, 1, &error) > 0);
	dk_store_rollback(s);
	g_autoptr(GPtrArray) list = dk_store_ticket_list(s, NULL, 0, &error);
	assert_int_equal(list->len, 0);
	/* A check constraint is a permanent error, not a temporary one. */
	assert_true(dk_store_begin(s, &error));
	gint64 t = dk_store_ticket_create(s, "x", NULL, 1, &error);
	DkArticle bad = {.ticket = t,
	                 .direction = (DkDirection)7 /* sideways */,
	                 .visibility = DK_PUBLIC,
	                 .evidence = "new"};
	assert_int_equal(dk_store_article_add(s, &bad, &error), 0);
	assert_false(dk_error_is_temporary(error));
	dk_store_rollback(s);
}

/* After a full disk or an I/O error SQLite may roll back the whole
 * transaction by itself: undoing one message's savepoint then says so,
 * as a temporary error, instead of leaving the batch to run on outside a
 * transaction (tests/reliability/test_diskfull.py provokes the real thing). */
static void test_savepoint_after_lost_transaction(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_savepoint(s, &error));
	assert_true(dk_store_ticket_create(s, "kept", NULL, 1, &error) > 0);
	assert_true(dk_store_release(s, &error));
	assert_true(dk_store_savepoint(s, &error));
	assert_true(dk_store_ticket_create(s, "undone", NULL, 1, &error) > 0);
	assert_true(dk_store_rollback_savepoint(s, &error));
	assert_true(dk_store_commit(s, &error));
	g_autoptr(GPtrArray) one = dk_store_ticket_list(s, NULL, 0, &error);
	assert_int_equal(one->len, 1);

	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_savepoint(s, &error));
	dk_store_rollback(s); /* what SQLite does itself on SQLITE_FULL */
	assert_false(dk_store_rollback_savepoint(s, &error));
	assert_true(dk_error_is_temporary(error));
}

static gint64 add_text(DkStore *s, gint64 ticket, const char *subject, const char *text)
{
	return dk_test_article_add(s, ticket, subject, text, 1);
}

static guint hits(DkStore *s, const char *text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) found = dk_store_search(s, text, 0, &error);
	assert_null(error);
	return found->len;
}

/* FTS5's own check of the index against the articles (PostgreSQL's index
 * is a column of the article). */
static void assert_search_consistent(DkStore *s)
{
	if (dk_test_store_is_pg())
		return;
	assert_int_equal(sqlite3_exec(s->db,
	                              "INSERT INTO article_search (article_search, rank)"
	                              " VALUES ('integrity-check', 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
}

/* A batch indexes its articles at commit: the ones of a savepoint rolled
 * back are not indexed, even when a later article takes their id; a
 * rolled-back batch indexes nothing; articles outside a batch are indexed
 * at once. */
static void test_search_deferred(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
	assert_true(dk_store_begin(s, &error));
	gint64 t = dk_store_ticket_create(s, "t", NULL, 1, &error);
	add_text(s, t, "Printer", "paper jam in tray two");
	assert_true(dk_store_commit(s, &error));
	assert_int_equal(hits(s, "jam"), 1);

	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_search_defer(s, &error));
	assert_true(dk_store_savepoint(s, &error));
	gint64 gone = add_text(s, t, "Scanner", "glass cracked");
	assert_true(dk_store_rollback_savepoint(s, &error));
	assert_true(dk_store_savepoint(s, &error));
	gint64 toner = add_text(s, t, "Toner", "toner empty again");
	/* SQLite gives the id again; a PostgreSQL sequence does not go back */
	assert_true(dk_test_store_is_pg() ? toner > gone : toner == gone);
	assert_true(dk_store_release(s, &error));
	gint64 t2 = dk_store_ticket_create(s, "t2", NULL, 1, &error);
	add_text(s, t2, "Toner", "still empty"); /* search shows one hit per ticket */
	/* SQLite: not until the commit; PostgreSQL indexes at once */
	assert_int_equal(hits(s, "toner"), dk_test_store_is_pg() ? 2 : 0);
	assert_true(dk_store_commit(s, &error));
	assert_int_equal(hits(s, "toner"), 2);
	assert_int_equal(hits(s, "cracked"), 0);
	assert_int_equal(hits(s, "jam"), 1);

	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_search_defer(s, &error));
	add_text(s, t, "Fax", "fax rolled back");
	dk_store_rollback(s);
	assert_true(dk_store_begin(s, &error));
	add_text(s, t, "Fax", "fax kept");
	assert_int_equal(hits(s, "fax"), 1); /* indexed with the insert */
	assert_true(dk_store_commit(s, &error));
	assert_int_equal(hits(s, "fax"), 1);
	assert_search_consistent(s);
}

/* Articles FTS5's word index holds for a word, read from the index
 * itself: dk_store_search() would index the noted ones first. */
static gint64 in_index(DkStore *s, const char *word)
{
	g_autofree char *sql = g_strdup_printf(
	    "SELECT count(*) FROM article_search WHERE article_search MATCH '%s'", word);
	return dk_test_store_number(s, sql);
}

static void sql_ok(DkStore *s, const char *format, gint64 id)
{
	g_autofree char *sql = g_strdup_printf(format, id);
	assert_int_equal(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static gint64 noted(DkStore *s)
{
	return dk_test_store_number(s, "SELECT count(*) FROM article_search_pending");
}

/* An index that lags its commits (the writer thread's): a batch's
 * articles are noted at its commit, not indexed; a rolled-back batch
 * notes nothing; a noted article changed or deleted before it is indexed
 * leaves the index whole (FTS5's own check), the changed one found by its
 * new words; the notes outlive the connection (a process that ended), and
 * a search indexes them first. PostgreSQL indexes an article with it. */
static void test_search_lag(void **state)
{
	if (dk_test_store_is_pg())
		skip();
	g_autoptr(GError) error = NULL;
	DkStore *s = dk_test_store_open(*state, NULL, &error);
	dk_store_search_lag(s, 1000);
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_search_defer(s, &error));
	gint64 t = dk_store_ticket_create(s, "t", NULL, 1, &error);
	gint64 jam = add_text(s, t, "Printer", "paper jam in tray two");
	gint64 gone = add_text(s, t, "Scanner", "glass cracked");
	gint64 cjk = add_text(s, t, "会議の件", "プリンターが動きません");
	add_text(s, t, "Kept", "stapler kept");
	assert_true(dk_store_commit(s, &error));
	assert_int_equal(dk_store_search_pending(s), 4);
	assert_int_equal(noted(s), 4);
	assert_int_equal(in_index(s, "jam"), 0);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM article_search_cjk"), 0);

	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_search_defer(s, &error));
	add_text(s, t, "Fax", "fax rolled back");
	dk_store_rollback(s);
	assert_int_equal(dk_store_search_pending(s), 4);
	assert_int_equal(noted(s), 4);

	sql_ok(s, "UPDATE articles SET new_text = 'toner low' WHERE id = %" G_GINT64_FORMAT, jam);
	sql_ok(s, "DELETE FROM articles WHERE id = %" G_GINT64_FORMAT, gone);
	assert_int_equal(noted(s), 3);
	assert_int_equal(in_index(s, "toner"), 0);
	dk_store_close(s);

	s = dk_test_store_open(*state, NULL, &error);
	assert_int_equal(dk_store_search_pending(s), 0); /* another connection's notes */
	assert_int_equal(hits(s, "toner"), 1);
	assert_int_equal(noted(s), 0);
	assert_int_equal(in_index(s, "toner"), 1);
	assert_int_equal(hits(s, "jam"), 0);
	assert_int_equal(hits(s, "cracked"), 0);
	assert_int_equal(hits(s, "stapler"), 1);
	assert_int_equal(hits(s, "会議"), 1);
	assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM article_search_cjk"), 1);
	assert_search_consistent(s);
	gint64 indexed = -1;
	assert_true(dk_store_search_catch_up(s, &indexed, &error));
	assert_int_equal(indexed, 0);

	/* indexed now: the triggers keep the index as before */
	sql_ok(s, "UPDATE articles SET new_text = 'drum worn' WHERE id = %" G_GINT64_FORMAT, jam);
	assert_int_equal(hits(s, "toner"), 0);
	assert_int_equal(hits(s, "drum"), 1);
	sql_ok(s, "DELETE FROM articles WHERE id = %" G_GINT64_FORMAT, cjk);
	assert_int_equal(hits(s, "会議"), 0);
	assert_search_consistent(s);

	/* the commit that brings the lag's batch indexes every noted article */
	dk_store_search_lag(s, 3);
	for (int i = 0; i < 2; i++) {
		assert_true(dk_store_begin(s, &error));
		assert_true(dk_store_search_defer(s, &error));
		add_text(s, t, "Batch", "kettle");
		add_text(s, t, "Batch", "kettle");
		assert_true(dk_store_commit(s, &error));
		assert_int_equal(noted(s), i == 0 ? 2 : 0);
		assert_int_equal(dk_store_search_pending(s), i == 0 ? 2 : 0);
		assert_int_equal(in_index(s, "kettle"), i == 0 ? 0 : 4);
	}
	assert_search_consistent(s);
	dk_store_close(s);

	/* A search whose catch-up cannot write (another connection holds the
	 * write lock past the busy timeout) answers from the index as it is,
	 * and leaves the notes for later. */
	DkStoreOptions quick = {.inline_max = 256 * 1024, .busy_timeout_ms = 50};
	s = dk_test_store_open(*state, &quick, &error);
	dk_store_search_lag(s, 1000);
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_search_defer(s, &error));
	add_text(s, t, "Late", "lantern");
	assert_true(dk_store_commit(s, &error));
	DkStore *other = dk_test_store_open(*state, NULL, &error);
	sql_ok(other, "BEGIN IMMEDIATE", 0);
	assert_int_equal(hits(s, "kettle"), 1);
	assert_int_equal(hits(s, "lantern"), 0);
	assert_int_equal(noted(s), 1);
	sql_ok(other, "ROLLBACK", 0);
	dk_store_close(other);
	assert_int_equal(hits(s, "lantern"), 1);
	assert_int_equal(noted(s), 0);
	dk_store_close(s);
}

/* Words inside CJK text are found (the trigram index), at once and from
 * a deferred batch, two-character words too; Latin search is untouched
 * and a signed message's check is kept on its article. */
static void test_search_cjk(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) s = dk_test_store_open(*state, NULL, &error);
	assert_true(dk_store_begin(s, &error));
	gint64 t = dk_store_ticket_create(s, "t", NULL, 1, &error);
	add_text(s, t, "日本語のテキスト", "会議の件について、プリンターが動きません。printer");
	assert_true(dk_store_commit(s, &error));
	assert_true(dk_store_begin(s, &error));
	assert_true(dk_store_search_defer(s, &error));
	gint64 t2 = dk_store_ticket_create(s, "t2", NULL, 1, &error);
	add_text(s, t2, "关于发票的问题", "请尽快回复");
	gint64 t3 = dk_store_ticket_create(s, "t3", NULL, 1, &error);
	DkArticle a = {.ticket = t3,
	               .direction = DK_INBOUND,
	               .visibility = DK_PUBLIC,
	               .evidence = "new",
	               .subject = "signed",
	               .new_text = "plain",
	               .full_text = "plain",
	               .created_at = 1,
	               .signature = "verified",
	               .signer = "alice@example.com"};
	assert_true(dk_store_article_add(s, &a, &error) > 0);
	/* Other characters of three bytes (a dash, the euro sign) and of two
	 * are not CJK, nor do they hide what follows them. */
	gint64 t4 = dk_store_ticket_create(s, "t4", NULL, 1, &error);
	add_text(s, t4, "Grüße – 5 €", "naïve café");
	gint64 t5 = dk_store_ticket_create(s, "t5", NULL, 1, &error);
	add_text(s, t5, "Preis – 5 €", "für das 倉庫");
	assert_true(dk_store_commit(s, &error));
	assert_int_equal(hits(s, "倉庫"), 1);
	assert_int_equal(hits(s, "日本語"), 1);
	assert_int_equal(hits(s, "テキスト"), 1);
	assert_int_equal(hits(s, "会議"), 1);            /* two characters */
	assert_int_equal(hits(s, "プリンター 会議"), 1); /* both words */
	assert_int_equal(hits(s, "发票"), 1);            /* from the deferred batch */
	assert_int_equal(hits(s, "回复"), 1);
	assert_int_equal(hits(s, "中国語"), 0);
	assert_int_equal(hits(s, "100%"), 0);
	assert_int_equal(hits(s, "printer"), 1); /* Latin: the word index */
	if (!dk_test_store_is_pg())
		assert_int_equal(dk_test_store_number(s, "SELECT count(*) FROM article_search_cjk"),
		                 3);
	assert_int_equal(
	    dk_test_store_number(s, "SELECT count(*) FROM articles WHERE signature = 'verified'"
	                            " AND signer = 'alice@example.com'"),
	    1);
	assert_search_consistent(s);
}

static goffset wal_size(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "docket.db-wal", NULL);
	GStatBuf st;
	return g_stat(path, &st) == 0 ? st.st_size : -1;
}

/* Closing leaves a small WAL for the next process (the commit is durable
 * in it) and checkpoints a large one, so that the WAL stays small. */
static void test_close_checkpoints_large_wal(void **state)
{
	DK_TEST_SQLITE_ONLY();
	g_autoptr(GError) error = NULL;
	/* A new store's migrations leave a WAL near the limit: checkpointed
	 * first, so that what follows starts from an empty one. */
	DkStore *s = dk_test_store_open(*state, NULL, &error);
	assert_int_equal(
	    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
	    SQLITE_OK);
	assert_true(dk_store_begin(s, &error));
	assert_int_equal(dk_store_ticket_create(s, "kept", NULL, 1, &error), 1);
	assert_true(dk_store_commit(s, &error));
	dk_store_close(s);
	assert_true(wal_size(*state) > 0);

	s = dk_test_store_open(*state, NULL, &error);
	g_autoptr(DkTicket) t = dk_store_ticket_get(s, 1, &error);
	assert_non_null(t);
	assert_string_equal(t->subject, "kept");
	assert_true(dk_store_begin(s, &error));
	g_autofree char *filler = g_strnfill(3000, 'x');
	for (int i = 0; i < 300; i++) {
		g_autofree char *text = g_strdup_printf("%d %s", i, filler);
		g_autoptr(GBytes) raw = g_bytes_new(text, strlen(text));
		char sha[65];
		assert_true(dk_store_raw_put(s, raw, 1, sha, &error));
	}
	assert_true(dk_store_commit(s, &error));
	dk_store_close(s);
	assert_int_equal(wal_size(*state), 0);
}

/* A writer that finds another's transaction open waits busy_timeout_ms,
 * then fails as a temporary error (SQLite's lock on the file;
 * PostgreSQL's writers' advisory lock and lock_timeout). */
static void test_busy_is_temporary(void **state)
{
	g_autoptr(GError) error = NULL;
	DkStoreOptions options = {.inline_max = 1024, .busy_timeout_ms = 50};
	g_autoptr(DkStore) a = dk_test_store_open(*state, &options, &error);
	g_autoptr(DkStore) b = dk_test_store_open(*state, &options, &error);
	assert_true(dk_store_begin(a, &error));
	assert_false(dk_store_begin(b, &error));
	assert_true(dk_error_is_temporary(error));
	dk_store_rollback(a);
}

/* Opening the store again in a process that has it open must not drop the
 * POSIX locks its first connection holds on the database file (closing any
 * descriptor of the file drops them all): were they dropped, another
 * process closing its own connection could take itself for the last one
 * and checkpoint and remove the WAL under the first — a corrupt store.
 * SQLite's shared-lock range starts at the pending byte (2^30) + 2. */
static void test_second_open_keeps_the_locks(void **state)
{
	DK_TEST_SQLITE_ONLY();
	g_autoptr(GError) error = NULL;
	g_autoptr(DkStore) a = dk_test_store_open(*state, NULL, &error);
	assert_non_null(a);
	g_autoptr(DkStore) b = dk_test_store_open(*state, NULL, &error);
	assert_non_null(b);
	pid_t pid = fork();
	if (pid == 0) {
		g_autofree char *path = g_build_filename(*state, "docket.db", NULL);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct flock lk = {.l_type = F_WRLCK,
		                   .l_whence = SEEK_SET,
		                   .l_start = 0x40000000 + 2,
		                   .l_len = 510};
		int rc = fd >= 0 ? fcntl(fd, F_GETLK, &lk) : -1;
		_exit(rc == 0 && lk.l_type == F_RDLCK && lk.l_pid == getppid() ? 0 : 1);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* The parent still holds its shared lock on the database file. */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_migrates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_text_stored_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_newer_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checks_without_value_lists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_inline_and_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_large_in_pieces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_large_failure_leaves_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_purged_while_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ticket_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tokens_and_sessions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_savepoint_after_lost_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_is_temporary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_second_open_keeps_the_locks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_deferred, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_lag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_cjk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_checkpoints_large_wal, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
