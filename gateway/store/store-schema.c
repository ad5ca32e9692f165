/* The store's schema as numbered migrations, applied in order on open. A
 * migration is never edited once released: add the next one instead. */
#include "gateway/store/store-private.h"

#include <sqlite3.h>

static const char migration_1[] =
    "CREATE TABLE tickets ("
    "  number INTEGER PRIMARY KEY,"
    "  subject TEXT NOT NULL DEFAULT '',"
    "  status TEXT NOT NULL DEFAULT 'new' CHECK (status IN"
    "    ('new','open','in_progress','waiting','on_hold','resolved','closed')),"
    "  priority TEXT NOT NULL DEFAULT 'none' CHECK (priority IN"
    "    ('critical','high','medium','low','none')),"
    "  queue TEXT NOT NULL DEFAULT 'default',"
    "  requester TEXT,"
    "  organisation TEXT,"
    "  assignee TEXT,"
    "  correlation_key TEXT,"
    "  first_response_due INTEGER,"
    "  resolution_due INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX tickets_status ON tickets (status, updated_at);"
    "CREATE INDEX tickets_correlation ON tickets (correlation_key) WHERE correlation_key IS NOT "
    "NULL;"
    "CREATE TABLE ticket_fields ("
    "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  name TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY (ticket, name)) WITHOUT ROWID;"
    "CREATE TABLE tags ("
    "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  tag TEXT NOT NULL,"
    "  PRIMARY KEY (ticket, tag)) WITHOUT ROWID;"
    "CREATE TABLE participants ("
    "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  address TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('requester','sender','cc','agent')),"
    "  PRIMARY KEY (ticket, address)) WITHOUT ROWID;"
    /* Raw messages as received, by SHA-256 of their bytes: inline in data,
     * or (large ones) in a file under the data directory named by path. */
    "CREATE TABLE raw_messages ("
    "  sha256 TEXT PRIMARY KEY,"
    "  size INTEGER NOT NULL,"
    "  data BLOB,"
    "  path TEXT,"
    "  received_at INTEGER NOT NULL,"
    "  CHECK ((data IS NULL) <> (path IS NULL))) WITHOUT ROWID;"
    "CREATE TABLE articles ("
    "  id INTEGER PRIMARY KEY,"
    "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  direction TEXT NOT NULL CHECK (direction IN ('inbound','outbound')),"
    "  visibility TEXT NOT NULL CHECK (visibility IN ('public','internal')),"
    "  evidence TEXT NOT NULL,"
    "  sender TEXT,"
    "  recipients TEXT,"
    "  subject TEXT NOT NULL DEFAULT '',"
    "  message_id TEXT,"
    "  fingerprint TEXT,"
    "  new_text TEXT NOT NULL DEFAULT '',"
    "  full_text TEXT NOT NULL DEFAULT '',"
    "  raw_sha256 TEXT REFERENCES raw_messages,"
    "  intake TEXT,"
    "  sent_at INTEGER,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX articles_ticket ON articles (ticket, id);"
    "CREATE INDEX articles_message ON articles (message_id, fingerprint);"
    /* The threading index: every Message-ID seen or sent. */
    "CREATE TABLE message_ids ("
    "  message_id TEXT PRIMARY KEY,"
    "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  article INTEGER REFERENCES articles ON DELETE SET NULL) WITHOUT ROWID;"
    "CREATE INDEX message_ids_ticket ON message_ids (ticket);"
    "CREATE TABLE attachments ("
    "  sha256 TEXT PRIMARY KEY,"
    "  size INTEGER NOT NULL,"
    "  path TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE article_attachments ("
    "  article INTEGER NOT NULL REFERENCES articles ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL REFERENCES attachments,"
    "  filename TEXT, content_type TEXT NOT NULL, content_id TEXT,"
    "  disposition TEXT NOT NULL,"
    "  PRIMARY KEY (article, position)) WITHOUT ROWID;"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  article INTEGER REFERENCES articles ON DELETE SET NULL,"
    "  type TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX events_ticket ON events (ticket, id);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  ticket INTEGER REFERENCES tickets ON DELETE SET NULL,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at);"
    "CREATE TABLE external_refs ("
    "  connector TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  local_id INTEGER NOT NULL,"
    "  remote_id TEXT NOT NULL,"
    "  PRIMARY KEY (connector, kind, local_id)) WITHOUT ROWID;"
    "CREATE TABLE imap_state ("
    "  account TEXT NOT NULL,"
    "  folder TEXT NOT NULL,"
    "  uidvalidity INTEGER NOT NULL,"
    "  last_uid INTEGER NOT NULL,"
    "  PRIMARY KEY (account, folder)) WITHOUT ROWID;";

/* Mail docket could not read, kept raw with the reason until an
 * administrator reprocesses it. */
static const char migration_2[] = "CREATE TABLE quarantine ("
                                  "  id INTEGER PRIMARY KEY,"
                                  "  raw_sha256 TEXT NOT NULL UNIQUE REFERENCES raw_messages,"
                                  "  reason TEXT NOT NULL,"
                                  "  intake TEXT NOT NULL,"
                                  "  envelope_from TEXT,"
                                  "  recipients TEXT,"
                                  "  received_at INTEGER NOT NULL);";

/* Threading, direction and trust: when a ticket was closed (for the
 * reopen window), links between tickets, other systems' ticket numbers,
 * addresses whose mail bounces, and the support addresses a ticket's mail
 * came in through. */
static const char migration_3[] = "ALTER TABLE tickets ADD COLUMN closed_at INTEGER;"
                                  "CREATE TABLE ticket_links ("
                                  "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
                                  "  linked INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
                                  "  reason TEXT NOT NULL,"
                                  "  created_at INTEGER NOT NULL,"
                                  "  PRIMARY KEY (ticket, linked)) WITHOUT ROWID;"
                                  "CREATE TABLE foreign_refs ("
                                  "  name TEXT NOT NULL,"
                                  "  number TEXT NOT NULL,"
                                  "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
                                  "  PRIMARY KEY (name, number)) WITHOUT ROWID;"
                                  "CREATE INDEX foreign_refs_ticket ON foreign_refs (ticket);"
                                  "CREATE TABLE bouncing_addresses ("
                                  "  address TEXT PRIMARY KEY,"
                                  "  since INTEGER NOT NULL,"
                                  "  last_status TEXT,"
                                  "  count INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;"
                                  "CREATE TABLE ticket_addresses ("
                                  "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
                                  "  address TEXT NOT NULL,"
                                  "  first_seen INTEGER NOT NULL,"
                                  "  PRIMARY KEY (ticket, address)) WITHOUT ROWID;";

/* The outbox's guard on the rate of automatic mail per address counts
 * rows by (target, created_at). */
static const char migration_4[] =
    "CREATE INDEX outbox_target ON outbox (target COLLATE NOCASE, created_at);";

/* The ticket desk: a merged ticket's pointer to the ticket that took its
 * articles, SLA clock state, time entries for billing, and a full-text index (SQLite FTS5,
 * external content) over the articles' subjects and new text, kept current
 * by triggers. */
static const char migration_5[] =
    "ALTER TABLE tickets ADD COLUMN merged_into INTEGER REFERENCES tickets ON DELETE SET NULL;"
    /* SLA clocks: the first public answer, and the time spent paused
     * (waiting, on hold) so far plus since when the clock is paused now. */
    "ALTER TABLE tickets ADD COLUMN first_response_at INTEGER;"
    "ALTER TABLE tickets ADD COLUMN sla_paused_seconds INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tickets ADD COLUMN sla_paused_since INTEGER;"
    "CREATE TABLE time_entries ("
    "  id INTEGER PRIMARY KEY,"
    "  ticket INTEGER NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  minutes INTEGER NOT NULL CHECK (minutes > 0),"
    "  note TEXT NOT NULL DEFAULT '',"
    "  author TEXT,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX time_entries_ticket ON time_entries (ticket, id);"
    "CREATE INDEX tickets_resolved ON tickets (closed_at) WHERE status = 'resolved';"
    "CREATE VIRTUAL TABLE article_search USING fts5(subject, new_text, content='articles',"
    "  content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN"
    "  INSERT INTO article_search (rowid, subject, new_text) VALUES (new.id, new.subject, "
    "new.new_text);"
    "END;"
    "CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN"
    "  INSERT INTO article_search (article_search, rowid, subject, new_text)"
    "  VALUES ('delete', old.id, old.subject, old.new_text);"
    "END;"
    "CREATE TRIGGER article_search_update AFTER UPDATE OF subject, new_text ON articles BEGIN"
    "  INSERT INTO article_search (article_search, rowid, subject, new_text)"
    "  VALUES ('delete', old.id, old.subject, old.new_text);"
    "  INSERT INTO article_search (rowid, subject, new_text) VALUES (new.id, new.subject, "
    "new.new_text);"
    "END;"
    "INSERT INTO article_search (article_search) VALUES ('rebuild');";

/* Connector rows held behind their ticket's failed create get a state of
 * their own, "held"; SQLite cannot change a CHECK in place, so the table
 * is copied. */
static const char migration_6[] =
    "CREATE TABLE outbox_next ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  ticket INTEGER REFERENCES tickets ON DELETE SET NULL,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed','held')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL);"
    "INSERT INTO outbox_next SELECT id, kind, target, ticket, payload, state, attempts,"
    "  next_attempt_at, last_error, created_at FROM outbox;"
    "DROP TABLE outbox;"
    "ALTER TABLE outbox_next RENAME TO outbox;"
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at);"
    "CREATE INDEX outbox_target ON outbox (target COLLATE NOCASE, created_at);";

/* The intake's per-sender rate limit ([limits] sender_per_hour) counts a
 * sender's recent articles; this index makes that one short range scan. */
static const char migration_7[] =
    "CREATE INDEX articles_sender ON articles (sender COLLATE NOCASE, created_at);";

/* SLA breaches: when each target was found missed, so that the breach is
 * recorded and the team told once per target. */
static const char migration_8[] =
    "ALTER TABLE tickets ADD COLUMN first_response_breached_at INTEGER;"
    "ALTER TABLE tickets ADD COLUMN resolution_breached_at INTEGER;"
    "CREATE INDEX events_ticket_type ON events (ticket, type);";

/* New articles are indexed for search by the store itself (store.c), a
 * whole batch in one statement, instead of by a trigger row by row: FTS5
 * writes an index segment at the end of every statement that touched it.
 * Deletions and edits keep their triggers. (IF EXISTS: a store that an
 * earlier build migrated under another number has dropped it already.) */
static const char migration_9[] = "DROP TRIGGER IF EXISTS article_search_insert;";

/* The outbox lanes: a connector's due rows leave out those behind an
 * older pending row of their ticket, and a row waits for the older ones;
 * both look a ticket's rows up by (kind, target, ticket). (IF NOT
 * EXISTS: a store an earlier build migrated under another number has it.) */
static const char migration_10[] =
    "CREATE INDEX IF NOT EXISTS outbox_ticket_rows ON outbox (kind, target, ticket, state, id);";

/* A paused ticket's SLA clock stands: the seconds it had left to its next
 * target when the pause began, so that the desk shows them frozen. */
static const char migration_11[] = "ALTER TABLE tickets ADD COLUMN sla_paused_left INTEGER;";

/* The check of a signed message recorded on its article (gateway/core/
 * crypto.c), and a second search index, by trigrams, for the articles in
 * scripts written without spaces (DK_STORE_CJK_GLOB): "日本語" is found in
 * "日本語のテキスト", which unicode61 takes for one word. Latin search keeps
 * its index and does not read this one. */
static const char migration_12[] =
    "ALTER TABLE articles ADD COLUMN signature TEXT;"
    "ALTER TABLE articles ADD COLUMN signer TEXT;"
    "CREATE VIRTUAL TABLE IF NOT EXISTS article_search_cjk USING fts5(subject, new_text, "
    "tokenize='trigram');"
    "INSERT INTO article_search_cjk (rowid, subject, new_text)"
    "  SELECT id, subject, new_text FROM articles WHERE " DK_STORE_CJK_GLOB ";"
    "CREATE TRIGGER IF NOT EXISTS article_search_cjk_delete AFTER DELETE ON articles BEGIN"
    "  DELETE FROM article_search_cjk WHERE rowid = old.id;"
    "END;"
    "CREATE TRIGGER IF NOT EXISTS article_search_cjk_update AFTER UPDATE OF subject, new_text ON "
    "articles BEGIN"
    "  DELETE FROM article_search_cjk WHERE rowid = old.id;"
    "  INSERT INTO article_search_cjk (rowid, subject, new_text)"
    "    SELECT new.id, new.subject, new.new_text WHERE (new.subject || ' ' || new.new_text)"
    "    GLOB '*[⺀-鿿가-힯豈-﫿＀-￯]*';"
    "END;";

/* Nothing accepted disappears: the quarantine also keeps, with their kind,
 * the messages that became no article (auto-replies, rule discards,
 * unmatched bounces, held mail), and the ticket one would have gone to. A
 * bouncing address remembers its last counted bounce, so that marks
 * expire. */
static const char migration_13[] =
    "ALTER TABLE quarantine ADD COLUMN kind TEXT NOT NULL DEFAULT 'unreadable';"
    "ALTER TABLE quarantine ADD COLUMN ticket INTEGER;"
    "UPDATE quarantine SET kind = 'held' WHERE reason LIKE 'held:%';"
    "CREATE INDEX quarantine_kind ON quarantine (kind);"
    "ALTER TABLE bouncing_addresses ADD COLUMN last_at INTEGER;"
    "UPDATE bouncing_addresses SET last_at = since;";

/* Each attachment of an article gets an id of its own, by which `docket
 * attachment get` (and the web desk) fetch it; the table is copied, as a
 * WITHOUT ROWID table cannot take a new primary key. */
static const char migration_14[] =
    "CREATE TABLE article_attachments_next ("
    "  id INTEGER PRIMARY KEY,"
    "  article INTEGER NOT NULL REFERENCES articles ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL REFERENCES attachments,"
    "  filename TEXT, content_type TEXT NOT NULL, content_id TEXT,"
    "  disposition TEXT NOT NULL,"
    "  UNIQUE (article, position));"
    "INSERT INTO article_attachments_next (article, position, sha256, filename, content_type,"
    "  content_id, disposition) SELECT article, position, sha256, filename, content_type,"
    "  content_id, disposition FROM article_attachments ORDER BY article, position;"
    "DROP TABLE article_attachments;"
    "ALTER TABLE article_attachments_next RENAME TO article_attachments;";

/* Tickets imported as history (`docket import --history`) are marked, so
 * that live tickets keep a numbering of their own: a new live ticket takes
 * the first free number after the highest live one. */
static const char migration_15[] =
    "ALTER TABLE tickets ADD COLUMN history INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX tickets_live ON tickets (number) WHERE history = 0;";

/* The people of the web desk and the API (gateway/web/auth.h): users with
 * a role and an Argon2 password hash, API tokens and browser sessions,
 * both kept as the SHA-256 of their secret only. */
static const char migration_16[] =
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('read_only','agent','admin')),"
    "  email TEXT, display_name TEXT,"
    "  password_hash TEXT,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE api_tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  user INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  label TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER);"
    "CREATE TABLE sessions ("
    "  sha256 TEXT PRIMARY KEY,"
    "  user INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,"
    "  csrf TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX sessions_user ON sessions (user);";

/* The ticket list's first page at a million tickets: the urgency order
 * (dk_store_ticket_query) as columns computed from each row, and an index
 * on them by status, so that each status's tickets come in urgency order
 * from the index and a page reads about a page of rows.
 *   sla_class: 0 a running SLA clock with a target, 1 a paused clock that
 *     kept the time it had left, 2 nothing to count to (resolved, closed,
 *     no target);
 *   sla_key: for 0 the time of the next target, for 1 the seconds that
 *     were left when the pause began, NULL for 2;
 *   priority_rank: critical 0 to none 4.
 * A list of one requester's, one assignee's, one queue's or one
 * priority's tickets reads the same order from an index that starts with
 * that column; the resolved and closed tickets created or updated since a
 * recent time are read by (status, created_at) or (status, updated_at). */
static const char migration_17[] =
    "ALTER TABLE tickets ADD COLUMN sla_class INTEGER GENERATED ALWAYS AS (CASE"
    " WHEN status IN ('resolved', 'closed') THEN 2"
    " WHEN sla_paused_since IS NOT NULL THEN CASE WHEN sla_paused_left IS NULL THEN 2 ELSE 1 END"
    " WHEN first_response_at IS NULL AND first_response_due IS NOT NULL THEN 0"
    " WHEN resolution_due IS NOT NULL THEN 0 ELSE 2 END) VIRTUAL;"
    "ALTER TABLE tickets ADD COLUMN sla_key INTEGER GENERATED ALWAYS AS (CASE"
    " WHEN status IN ('resolved', 'closed') THEN NULL"
    " WHEN sla_paused_since IS NOT NULL THEN sla_paused_left"
    " WHEN first_response_at IS NULL AND first_response_due IS NOT NULL THEN first_response_due"
    " ELSE resolution_due END) VIRTUAL;"
    "ALTER TABLE tickets ADD COLUMN priority_rank INTEGER GENERATED ALWAYS AS (CASE priority"
    " WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3"
    " ELSE 4 END) VIRTUAL;"
    "CREATE INDEX tickets_urgency ON tickets (status, sla_class, sla_key, priority_rank,"
    " created_at);"
    "CREATE INDEX tickets_requester_urgency ON tickets (lower(requester), status, sla_class,"
    " sla_key, priority_rank, created_at);"
    "CREATE INDEX tickets_assignee_urgency ON tickets (lower(assignee), status, sla_class,"
    " sla_key, priority_rank, created_at);"
    "CREATE INDEX tickets_queue_urgency ON tickets (queue, status, sla_class, sla_key,"
    " priority_rank, created_at);"
    "CREATE INDEX tickets_priority_urgency ON tickets (priority, status, sla_class, sla_key,"
    " priority_rank, created_at);"
    "CREATE INDEX tickets_status_created ON tickets (status, created_at);";

/* Retention ([store] keep_raw_days): a raw message or attachment content
 * whose bytes were purged keeps its row, with the time of the purge, so
 * that articles and attachment links still name it (its size, name and
 * type stay) and readers can say when it went. A purged raw message holds
 * an empty blob; one that was a file keeps its path until the file is
 * removed (after the commit that purged it), an attachment keeps its path
 * until then and has '' after: the partial indexes find the files still
 * to remove. The other indexes find what still references a content
 * (articles, attachment links) and the closed tickets by closing time. */
static const char migration_18[] =
    "ALTER TABLE raw_messages ADD COLUMN purged_at INTEGER;"
    "ALTER TABLE attachments ADD COLUMN purged_at INTEGER;"
    "CREATE INDEX articles_raw ON articles (raw_sha256) WHERE raw_sha256 IS NOT NULL;"
    "CREATE INDEX article_attachments_sha256 ON article_attachments (sha256);"
    "CREATE INDEX tickets_closed ON tickets (status, closed_at);"
    "CREATE INDEX raw_messages_purging ON raw_messages (sha256)"
    " WHERE purged_at IS NOT NULL AND path IS NOT NULL;"
    "CREATE INDEX attachments_purging ON attachments (sha256)"
    " WHERE purged_at IS NOT NULL AND path <> '';";

/* A message is stored once, also when two gateways on one PostgreSQL take
 * it at the same moment (Postfix retrying on the other after a timeout):
 * the duplicate look-up's columns, unique. The second insert fails, and
 * the writer, trying the message again, finds it stored. Rows without a
 * Message-ID or fingerprint (notifications, desk replies) are NULL there
 * and never collide. SQLite has it too: the schemas stay one. */
static const char migration_19[] =
    "DROP INDEX articles_message;"
    "CREATE UNIQUE INDEX articles_message ON articles (message_id, fingerprint);";

/* A raw message or an attachment's content may be kept in pieces
 * (PostgreSQL, above inline_max): its rows of raw_chunks or
 * attachment_chunks, a MiB each, numbered from 0, written one at a time
 * in the transaction that stores it and read back one at a time, so that
 * the gateway never holds a large raw message whole (nor sends it as one
 * value); the column chunks says how many (0: none), and a raw message's
 * data is then the empty blob (the CHECK wants data or path). SQLite keeps
 * large contents as files instead and leaves the tables empty: they are
 * here so that the two schemas stay one (tests/pg compares them), and so
 * that reading and purging are the same statements on both. */
static const char migration_20[] =
    "ALTER TABLE raw_messages ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE raw_chunks ("
    "  sha256 TEXT NOT NULL REFERENCES raw_messages ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (sha256, seq)) WITHOUT ROWID;"
    "ALTER TABLE attachments ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE attachment_chunks ("
    "  sha256 TEXT NOT NULL REFERENCES attachments ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (sha256, seq)) WITHOUT ROWID;";

/* The CHECKs that name a column's values as `c IN ('a', 'b', 'c')` as
 * `c = 'a' OR c = 'b' OR c = 'c'`, the same constraint: SQLite builds a
 * temporary table for a list of more than two values at every execution
 * of a statement that checks it, and a new ticket checked five of them
 * (its status and priority, each participant's role, the outbox row's
 * state): 3.5 us each, in all a seventh of the writer's work a message.
 * SQLite cannot alter a CHECK; the text of a table's schema may be
 * rewritten in place when the constraint stays the same
 * (https://www.sqlite.org/lang_altertable.html, "otheralter"), with the
 * schema's version bumped so that every connection reads it again. The
 * SQL is in migration_21_checks(). */
static const char migration_21[] = "";

/* Articles noted for search and not indexed yet: the writer thread of
 * `docket serve` indexes its articles many commits at a time
 * (dk_store_search_lag()). The index's triggers leave a noted article
 * alone, as it is not in the index: deleted, it loses its note; changed,
 * it is indexed as it is then, with the others. cjk: the trigram index
 * may want it too (its transaction had an article in such a script). The
 * name keeps the table out of the comparison of the two schemas, as the
 * other tables of the search index: PostgreSQL indexes a column of the
 * article. */
static const char migration_22[] =
    "CREATE TABLE IF NOT EXISTS article_search_pending (article INTEGER PRIMARY KEY,"
    "  cjk INTEGER NOT NULL DEFAULT 0);"
    "DROP TRIGGER IF EXISTS article_search_delete;"
    "CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN"
    "  INSERT INTO article_search (article_search, rowid, subject, new_text)"
    "    SELECT 'delete', old.id, old.subject, old.new_text"
    "    WHERE NOT EXISTS (SELECT 1 FROM article_search_pending WHERE article = old.id);"
    "  DELETE FROM article_search_pending WHERE article = old.id;"
    "END;"
    "DROP TRIGGER IF EXISTS article_search_update;"
    "CREATE TRIGGER article_search_update AFTER UPDATE OF subject, new_text ON articles"
    "  WHEN NOT EXISTS (SELECT 1 FROM article_search_pending WHERE article = old.id) BEGIN"
    "  INSERT INTO article_search (article_search, rowid, subject, new_text)"
    "  VALUES ('delete', old.id, old.subject, old.new_text);"
    "  INSERT INTO article_search (rowid, subject, new_text) VALUES (new.id, new.subject, "
    "new.new_text);"
    "END;"
    "DROP TRIGGER IF EXISTS article_search_cjk_update;"
    "CREATE TRIGGER article_search_cjk_update AFTER UPDATE OF subject, new_text ON articles"
    "  WHEN NOT EXISTS (SELECT 1 FROM article_search_pending WHERE article = old.id) BEGIN"
    "  DELETE FROM article_search_cjk WHERE rowid = old.id;"
    "  INSERT INTO article_search_cjk (rowid, subject, new_text)"
    "    SELECT new.id, new.subject, new.new_text WHERE (new.subject || ' ' || new.new_text)"
    "    GLOB '*[⺀-鿿가-힯豈-﫿＀-￯]*';"
    "END;";

/* PostgreSQL's 23 indexes articles' ids by block range for its search;
 * FTS5's index holds the ids in order: nothing here. */
static const char migration_23[] = "";

/* PostgreSQL's 24 keeps an article's tsvector in its row; FTS5's index is
 * its own tables: nothing here. */
static const char migration_24[] = "";

static const char *const migrations[] = {
    migration_1,  migration_2,  migration_3,  migration_4,  migration_5,  migration_6,
    migration_7,  migration_8,  migration_9,  migration_10, migration_11, migration_12,
    migration_13, migration_14, migration_15, migration_16, migration_17, migration_18,
    migration_19, migration_20, migration_21, migration_22, migration_23, migration_24,
};

/* One `CHECK (c IN (list))` as `CHECK (c = v OR ...)`; a list of one or
 * two values stays (SQLite compares those in place). */
static gboolean check_as_ors(const GMatchInfo *match, GString *out, gpointer data)
{
	(void)data;
	g_autofree char *column = g_match_info_fetch(match, 1);
	g_autofree char *list = g_match_info_fetch(match, 2);
	g_auto(GStrv) values = g_strsplit(list, ",", -1);
	if (g_strv_length(values) <= 2) {
		g_autofree char *all = g_match_info_fetch(match, 0);
		g_string_append(out, all);
		return FALSE;
	}
	g_string_append(out, "CHECK (");
	for (guint i = 0; values[i] != NULL; i++)
		g_string_append_printf(out, "%s%s = %s", i ? " OR " : "", column,
		                       g_strstrip(values[i]));
	g_string_append(out, ")");
	return FALSE;
}

/* The tables whose CHECKs list values, each with its text rewritten: into
 * rewrites, a table's name then its new text. */
static gboolean rewritten_tables(sqlite3 *db, GPtrArray *rewrites)
{
	g_autoptr(GRegex) in_list = g_regex_new(
	    "CHECK \\((\\w+) IN\\s*\\(('[a-z_]+'(?:\\s*,\\s*'[a-z_]+')*)\\)\\)", 0, 0, NULL);
	sqlite3_stmt *tables = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT name, sql FROM sqlite_schema WHERE type = 'table'"
	                       " AND sql LIKE '%CHECK (% IN %'",
	                       -1, &tables, NULL) != SQLITE_OK)
		return FALSE;
	int rc;
	while ((rc = sqlite3_step(tables)) == SQLITE_ROW) {
		g_ptr_array_add(rewrites, g_strdup((const char *)sqlite3_column_text(tables, 0)));
		g_ptr_array_add(rewrites, g_regex_replace_eval(
		                              in_list, (const char *)sqlite3_column_text(tables, 1),
		                              -1, 0, 0, check_as_ors, NULL, NULL));
	}
	sqlite3_finalize(tables);
	return rc == SQLITE_DONE;
}

/* Writes each table's new text into the schema, the schema's version one
 * more, between writable_schema on and off (off again whatever happened). */
static gboolean write_schema(sqlite3 *db, const GPtrArray *rewrites)
{
	sqlite3_stmt *version = NULL, *update = NULL;
	gboolean ok =
	    sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &version, NULL) == SQLITE_OK &&
	    sqlite3_step(version) == SQLITE_ROW &&
	    sqlite3_exec(db, "PRAGMA writable_schema = ON", NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(
	        db, "UPDATE sqlite_schema SET sql = ?2 WHERE type = 'table' AND name = ?1", -1,
	        &update, NULL) == SQLITE_OK;
	int schema_version = ok ? sqlite3_column_int(version, 0) : 0;
	for (guint i = 0; ok && i + 1 < rewrites->len; i += 2) {
		sqlite3_bind_text(update, 1, g_ptr_array_index(rewrites, i), -1, SQLITE_STATIC);
		sqlite3_bind_text(update, 2, g_ptr_array_index(rewrites, i + 1), -1, SQLITE_STATIC);
		ok = sqlite3_step(update) == SQLITE_DONE;
		sqlite3_reset(update);
	}
	sqlite3_finalize(version);
	sqlite3_finalize(update);
	g_autofree char *bump = g_strdup_printf("PRAGMA schema_version = %d", schema_version + 1);
	ok = ok && sqlite3_exec(db, bump, NULL, NULL, NULL) == SQLITE_OK;
	return sqlite3_exec(db, "PRAGMA writable_schema = OFF", NULL, NULL, NULL) == SQLITE_OK &&
	       ok;
}

/* The value lists are quoted words, with no commas or parentheses in
 * them. The new text is read back (a statement on tickets parses the
 * schema again), or the migration fails and rolls back. */
static gboolean migration_21_checks(sqlite3 *db, GError **error)
{
	g_autoptr(GPtrArray) rewrites = g_ptr_array_new_with_free_func(g_free);
	if (!rewritten_tables(db, rewrites) || !write_schema(db, rewrites) ||
	    sqlite3_exec(db, "SELECT 1 FROM tickets LIMIT 0", NULL, NULL, NULL) != SQLITE_OK)
		return dk_store_sqlite_error(db, error, "writing the CHECKs without value lists");
	return TRUE;
}

/* What a migration does beyond its SQL. */
static gboolean migration_step(sqlite3 *db, int number, GError **error)
{
	return number != 21 || migration_21_checks(db, error);
}

int dk_store_schema_latest(void)
{
	return (int)G_N_ELEMENTS(migrations);
}

static gboolean read_version(sqlite3 *db, int *version_out, GError **error)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return dk_store_sqlite_error(db, error, "reading the schema version");
	*version_out = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (*version_out > dk_store_schema_latest()) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "the store has schema version %d, newer than this docket knows (%d)",
		            *version_out, dk_store_schema_latest());
		return FALSE;
	}
	return TRUE;
}

/* Each migration in its own write transaction. The version is read again
 * once the write lock is held: several processes may open a new store at
 * once (an MTA starts `docket deliver` for many messages together), and
 * each migration must run in exactly one of them. */
gboolean dk_store_schema_migrate(sqlite3 *db, GError **error)
{
	int version = 0;
	if (!read_version(db, &version, error))
		return FALSE;
	while (version < dk_store_schema_latest()) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return dk_store_sqlite_error(db, error, "starting a migration");
		if (!read_version(db, &version, error)) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return FALSE;
		}
		if (version == dk_store_schema_latest()) { /* another process did it */
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			break;
		}
		g_autofree char *bump = g_strdup_printf("PRAGMA user_version = %d", version + 1);
		g_autoptr(GError) step = NULL;
		if (sqlite3_exec(db, migrations[version], NULL, NULL, NULL) != SQLITE_OK ||
		    !migration_step(db, version + 1, &step) ||
		    sqlite3_exec(db, bump, NULL, NULL, NULL) != SQLITE_OK) {
			if (step != NULL)
				g_propagate_error(error, g_steal_pointer(&step));
			else
				dk_store_sqlite_error(db, error, "applying schema migration");
			g_prefix_error(error, "migration %d: ", version + 1);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return FALSE;
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			return dk_store_sqlite_error(db, error, "committing a migration");
		version++;
	}
	return TRUE;
}
