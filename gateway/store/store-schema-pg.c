/* The store's schema on PostgreSQL as numbered migrations, numbered as
 * SQLite's (store-schema.c); applied in one transaction under an advisory
 * lock. A migration is never edited once released: add the next one. */
#include "gateway/store/store-schema-pg.h"

#include "gateway/error.h"

#include <string.h>

/* SQLite's migrations 1 to 17 in one: the schema as SQLite has it at 17,
 * in parts (C compilers need take no longer strings). The comments of
 * store-schema.c say what each table is for. */
static const char migration_17_search[] =
    "CREATE EXTENSION IF NOT EXISTS pg_trgm;"
    "CREATE EXTENSION IF NOT EXISTS unaccent;"
    /* 'simple' (no stemming, no stop words: mail is in any language) with
     * diacritics removed, as FTS5's unicode61 remove_diacritics 2 does */
    "CREATE TEXT SEARCH CONFIGURATION " DK_STORE_PG_SEARCH_CONFIG " (COPY = pg_catalog.simple);"
    "ALTER TEXT SEARCH CONFIGURATION " DK_STORE_PG_SEARCH_CONFIG
    "  ALTER MAPPING FOR word, hword, hword_part WITH unaccent, simple;";

static const char migration_17_tickets[] =
    "CREATE TABLE tickets ("
    "  number BIGINT PRIMARY KEY,"
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
    "  first_response_due BIGINT,"
    "  resolution_due BIGINT,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  closed_at BIGINT,"
    "  merged_into BIGINT REFERENCES tickets ON DELETE SET NULL,"
    "  first_response_at BIGINT,"
    "  sla_paused_seconds BIGINT NOT NULL DEFAULT 0,"
    "  sla_paused_since BIGINT,"
    "  first_response_breached_at BIGINT,"
    "  resolution_breached_at BIGINT,"
    "  sla_paused_left BIGINT,"
    "  history BIGINT NOT NULL DEFAULT 0,"
    /* the urgency order of the ticket list (store-schema.c, migration 17) */
    "  sla_class BIGINT GENERATED ALWAYS AS (CASE"
    "    WHEN status IN ('resolved', 'closed') THEN 2"
    "    WHEN sla_paused_since IS NOT NULL THEN CASE WHEN sla_paused_left IS NULL THEN 2 ELSE 1 END"
    "    WHEN first_response_at IS NULL AND first_response_due IS NOT NULL THEN 0"
    "    WHEN resolution_due IS NOT NULL THEN 0 ELSE 2 END) STORED,"
    "  sla_key BIGINT GENERATED ALWAYS AS (CASE"
    "    WHEN status IN ('resolved', 'closed') THEN NULL"
    "    WHEN sla_paused_since IS NOT NULL THEN sla_paused_left"
    "    WHEN first_response_at IS NULL AND first_response_due IS NOT NULL"
    "      THEN first_response_due"
    "    ELSE resolution_due END) STORED,"
    "  priority_rank BIGINT GENERATED ALWAYS AS (CASE priority"
    "    WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3"
    "    ELSE 4 END) STORED);"
    "CREATE INDEX tickets_status ON tickets (status, updated_at);"
    "CREATE INDEX tickets_correlation ON tickets (correlation_key)"
    "  WHERE correlation_key IS NOT NULL;"
    "CREATE INDEX tickets_resolved ON tickets (closed_at) WHERE status = 'resolved';"
    "CREATE INDEX tickets_live ON tickets (number) WHERE history = 0;"
    "CREATE INDEX tickets_urgency ON tickets (status, sla_class, sla_key, priority_rank,"
    "  created_at);"
    "CREATE INDEX tickets_requester_urgency ON tickets (lower(requester), status, sla_class,"
    "  sla_key, priority_rank, created_at);"
    "CREATE INDEX tickets_assignee_urgency ON tickets (lower(assignee), status, sla_class,"
    "  sla_key, priority_rank, created_at);"
    "CREATE INDEX tickets_queue_urgency ON tickets (queue, status, sla_class, sla_key,"
    "  priority_rank, created_at);"
    "CREATE INDEX tickets_priority_urgency ON tickets (priority, status, sla_class, sla_key,"
    "  priority_rank, created_at);"
    "CREATE INDEX tickets_status_created ON tickets (status, created_at);";

static const char migration_17_articles[] =
    "CREATE TABLE ticket_fields ("
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  name TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY (ticket, name));"
    "CREATE TABLE tags ("
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  tag TEXT NOT NULL,"
    "  PRIMARY KEY (ticket, tag));"
    "CREATE TABLE participants ("
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  address TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('requester','sender','cc','agent')),"
    "  PRIMARY KEY (ticket, address));"
    "CREATE TABLE raw_messages ("
    "  sha256 TEXT PRIMARY KEY,"
    "  size BIGINT NOT NULL,"
    "  data BYTEA,"
    "  path TEXT,"
    "  received_at BIGINT NOT NULL,"
    "  CHECK ((data IS NULL) <> (path IS NULL)));"
    "CREATE TABLE articles ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
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
    "  sent_at BIGINT,"
    "  created_at BIGINT NOT NULL,"
    "  signature TEXT,"
    "  signer TEXT,"
    /* what FTS5's article_search indexes: a tsvector holds at most 1 MiB,
     * so the text is read up to its first 256 Ki characters ([parse]
     * max_text_size allows more) */
    "  search_vector tsvector GENERATED ALWAYS AS ("
    "    setweight(to_tsvector('" DK_STORE_PG_SEARCH_CONFIG "', subject), 'A') ||"
    "    setweight(to_tsvector('" DK_STORE_PG_SEARCH_CONFIG "', left(new_text, 262144)), 'B'))"
    "    STORED);"
    "CREATE INDEX articles_ticket ON articles (ticket, id);"
    "CREATE INDEX articles_message ON articles (message_id, fingerprint);"
    "CREATE INDEX articles_sender ON articles (lower(sender), created_at);"
    "CREATE INDEX articles_search ON articles USING gin (search_vector);"
    "CREATE INDEX articles_search_cjk ON articles"
    "  USING gin (" DK_STORE_PG_CJK_TEXT " gin_trgm_ops) WHERE " DK_STORE_PG_CJK_MATCH ";"
    "CREATE TABLE message_ids ("
    "  message_id TEXT PRIMARY KEY,"
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  article BIGINT REFERENCES articles ON DELETE SET NULL);"
    "CREATE INDEX message_ids_ticket ON message_ids (ticket);";

static const char migration_17_rest[] =
    /* the bytes in data: several gateways share no folder (path, SQLite's
     * file, stays NULL) */
    "CREATE TABLE attachments ("
    "  sha256 TEXT PRIMARY KEY,"
    "  size BIGINT NOT NULL,"
    "  path TEXT,"
    "  data BYTEA);"
    "CREATE TABLE article_attachments ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  article BIGINT NOT NULL REFERENCES articles ON DELETE CASCADE,"
    "  position BIGINT NOT NULL,"
    "  sha256 TEXT NOT NULL REFERENCES attachments,"
    "  filename TEXT, content_type TEXT NOT NULL, content_id TEXT,"
    "  disposition TEXT NOT NULL,"
    "  UNIQUE (article, position));"
    "CREATE TABLE events ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  article BIGINT REFERENCES articles ON DELETE SET NULL,"
    "  type TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '{}',"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX events_ticket ON events (ticket, id);"
    "CREATE INDEX events_ticket_type ON events (ticket, type);"
    "CREATE TABLE outbox ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  ticket BIGINT REFERENCES tickets ON DELETE SET NULL,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','done','failed','held')),"
    "  attempts BIGINT NOT NULL DEFAULT 0,"
    "  next_attempt_at BIGINT NOT NULL,"
    "  last_error TEXT,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at);"
    "CREATE INDEX outbox_target ON outbox (lower(target), created_at);"
    "CREATE INDEX outbox_ticket_rows ON outbox (kind, target, ticket, state, id);"
    "CREATE TABLE external_refs ("
    "  connector TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  local_id BIGINT NOT NULL,"
    "  remote_id TEXT NOT NULL,"
    "  PRIMARY KEY (connector, kind, local_id));"
    "CREATE TABLE imap_state ("
    "  account TEXT NOT NULL,"
    "  folder TEXT NOT NULL,"
    "  uidvalidity BIGINT NOT NULL,"
    "  last_uid BIGINT NOT NULL,"
    "  PRIMARY KEY (account, folder));"
    "CREATE TABLE quarantine ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  raw_sha256 TEXT NOT NULL UNIQUE REFERENCES raw_messages,"
    "  reason TEXT NOT NULL,"
    "  intake TEXT NOT NULL,"
    "  envelope_from TEXT,"
    "  recipients TEXT,"
    "  received_at BIGINT NOT NULL,"
    "  kind TEXT NOT NULL DEFAULT 'unreadable',"
    "  ticket BIGINT);"
    "CREATE INDEX quarantine_kind ON quarantine (kind);"
    "CREATE TABLE ticket_links ("
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  linked BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  reason TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (ticket, linked));"
    "CREATE TABLE foreign_refs ("
    "  name TEXT NOT NULL,"
    "  number TEXT NOT NULL,"
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  PRIMARY KEY (name, number));"
    "CREATE INDEX foreign_refs_ticket ON foreign_refs (ticket);"
    "CREATE TABLE bouncing_addresses ("
    "  address TEXT PRIMARY KEY,"
    "  since BIGINT NOT NULL,"
    "  last_status TEXT,"
    "  count BIGINT NOT NULL DEFAULT 1,"
    "  last_at BIGINT);"
    "CREATE TABLE ticket_addresses ("
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  address TEXT NOT NULL,"
    "  first_seen BIGINT NOT NULL,"
    "  PRIMARY KEY (ticket, address));"
    "CREATE TABLE time_entries ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  ticket BIGINT NOT NULL REFERENCES tickets ON DELETE CASCADE,"
    "  minutes BIGINT NOT NULL CHECK (minutes > 0),"
    "  note TEXT NOT NULL DEFAULT '',"
    "  author TEXT,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX time_entries_ticket ON time_entries (ticket, id);";

static const char migration_17_users[] =
    "CREATE TABLE users ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('read_only','agent','admin')),"
    "  email TEXT, display_name TEXT,"
    "  password_hash TEXT,"
    "  disabled BIGINT NOT NULL DEFAULT 0,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE api_tokens ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  \"user\" BIGINT NOT NULL REFERENCES users ON DELETE CASCADE,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  label TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  revoked_at BIGINT);"
    "CREATE TABLE sessions ("
    "  sha256 TEXT PRIMARY KEY,"
    "  \"user\" BIGINT NOT NULL REFERENCES users ON DELETE CASCADE,"
    "  csrf TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL);"
    "CREATE INDEX sessions_user ON sessions (\"user\");";

/* SQLite's functions that the store's portable statements use: max(a, b)
 * and min(a, b) of two numbers, json_extract(text, path). (COLLATE NOCASE
 * is written lower() = lower() for PostgreSQL, whose indexes are on
 * lower().) */
static const char migration_17_functions[] =
    "CREATE FUNCTION max(bigint, bigint) RETURNS bigint"
    "  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT greatest($1, $2)';"
    "CREATE FUNCTION min(bigint, bigint) RETURNS bigint"
    "  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT least($1, $2)';"
    "CREATE FUNCTION json_extract(text, text) RETURNS text"
    "  LANGUAGE sql IMMUTABLE PARALLEL SAFE"
    "  AS $f$SELECT jsonb_path_query_first($1::jsonb, $2::jsonpath) #>> '{}'$f$;";

static const char *const migration_17[] = {
    migration_17_search,
    migration_17_tickets,
    migration_17_articles,
    migration_17_rest,
    migration_17_users,
    migration_17_functions,
    NULL,
};

/* SQLite's 18: when retention purged a raw message or an attachment's
 * content, and what the purge looks things up by. */
static const char migration_18_retention[] =
    "ALTER TABLE raw_messages ADD COLUMN purged_at BIGINT;"
    "ALTER TABLE attachments ADD COLUMN purged_at BIGINT;"
    "CREATE INDEX articles_raw ON articles (raw_sha256) WHERE raw_sha256 IS NOT NULL;"
    "CREATE INDEX article_attachments_sha256 ON article_attachments (sha256);"
    "CREATE INDEX tickets_closed ON tickets (status, closed_at);"
    "CREATE INDEX raw_messages_purging ON raw_messages (sha256)"
    " WHERE purged_at IS NOT NULL AND path IS NOT NULL;"
    "CREATE INDEX attachments_purging ON attachments (sha256)"
    " WHERE purged_at IS NOT NULL AND path <> '';";

static const char *const migration_18[] = {migration_18_retention, NULL};

/* SQLite's 19: a message is stored once across the gateways. */
static const char migration_19_unique[] =
    "DROP INDEX articles_message;"
    "CREATE UNIQUE INDEX articles_message ON articles (message_id, fingerprint);";

static const char *const migration_19[] = {migration_19_unique, NULL};

/* SQLite's 20: a large raw message or attachment content in pieces of a
 * MiB, so that it is never one bytea held whole by the gateway or sent as
 * one parameter (store-chunks.c). PostgreSQL keeps every content above
 * inline_max so. */
static const char migration_20_chunks[] =
    "ALTER TABLE raw_messages ADD COLUMN chunks BIGINT NOT NULL DEFAULT 0;"
    "CREATE TABLE raw_chunks ("
    "  sha256 TEXT NOT NULL REFERENCES raw_messages ON DELETE CASCADE,"
    "  seq BIGINT NOT NULL,"
    "  data BYTEA NOT NULL,"
    "  PRIMARY KEY (sha256, seq));"
    "ALTER TABLE attachments ADD COLUMN chunks BIGINT NOT NULL DEFAULT 0;"
    "CREATE TABLE attachment_chunks ("
    "  sha256 TEXT NOT NULL REFERENCES attachments ON DELETE CASCADE,"
    "  seq BIGINT NOT NULL,"
    "  data BYTEA NOT NULL,"
    "  PRIMARY KEY (sha256, seq));";

static const char *const migration_20[] = {migration_20_chunks, NULL};

/* SQLite's 21 rewrites the CHECKs SQLite evaluates slowly; PostgreSQL's
 * stay as they are. */
static const char *const migration_21[] = {NULL};

/* SQLite's 22 notes articles for a search index that lags the commit;
 * PostgreSQL's index is a column of the article, written with it. */
static const char *const migration_22[] = {NULL};

/* SQLite's 23: a BRIN index of articles' ids, by block range. Articles
 * are written in the order of their ids, so each range of the table's
 * pages holds a narrow range of ids, and the search reads only the pages
 * of the slice of ids it asks for (store-desk.c, pg_candidates()): 1 MB
 * for 5,000,000 articles, made in seconds. 32 pages a range, not 128:
 * reading the finer index costs the planner more than the GIN index's,
 * so it takes the GIN index's exact bitmap first and rechecks only the
 * matches in the slice (with 128 it put the BRIN's lossy one first, and
 * rechecked every article of each page holding a match: 8,957 read for
 * 2,322 kept, each reading its search_vector out of TOAST).
 * autosummarize: a range is summarized once filled, not only by VACUUM
 * (a range not summarized yet is read whatever the slice: slower, never
 * wrong). */
static const char migration_23_newest[] = "CREATE INDEX articles_newest ON articles USING brin (id)"
                                          " WITH (pages_per_range = 32, autosummarize = on);";

static const char *const migration_23[] = {migration_23_newest, NULL};

/* SQLite's 24: an article's search_vector kept in its row. A tsvector is
 * larger than the text it indexes (864 bytes on average against 424 for
 * the new text, in bench-scale's store), so PostgreSQL moved it out of the
 * row first whenever a row passed its 2 KB threshold: a search that reads
 * articles by id until enough match fetched each one's tsvector from
 * TOAST (3 or 4 pages read for each article looked at). MAIN keeps it in
 * the row, moving the texts out instead, unless the row cannot fit a page
 * otherwise. Only the catalog changes: the articles written before keep
 * their tsvector where it is until the table is rewritten (VACUUM FULL
 * articles; README, PostgreSQL). */
static const char migration_24_inline[] =
    "ALTER TABLE articles ALTER COLUMN search_vector SET STORAGE MAIN;";

static const char *const migration_24[] = {migration_24_inline, NULL};

typedef struct {
	int version;            /* the SQLite migration it matches */
	const char *const *sql; /* its statements, in parts; NULL-terminated */
} Migration;

static const Migration migrations[] = {
    {17, migration_17}, {18, migration_18}, {19, migration_19}, {20, migration_20},
    {21, migration_21}, {22, migration_22}, {23, migration_23}, {24, migration_24},
};

int dk_store_pg_schema_latest(void)
{
	return migrations[G_N_ELEMENTS(migrations) - 1].version;
}

/* SQLSTATEs of faults that may clear by themselves: connection
 * exceptions (08), a rolled-back transaction (40: deadlock,
 * serialization), insufficient resources (53), operator intervention
 * (57: shutdown, cancel), system errors (58), a lock not available, and a
 * read-only transaction (a standby, before or during a failover). */
static gboolean state_is_temporary(const char *state)
{
	static const char *const classes[] = {"08", "40", "53", "57", "58"};
	if (state == NULL)
		return TRUE; /* no answer from the server */
	for (gsize i = 0; i < G_N_ELEMENTS(classes); i++)
		if (strncmp(state, classes[i], 2) == 0)
			return TRUE;
	return strcmp(state, "55P03") == 0 || strcmp(state, "25006") == 0;
}

/* Sets error from res (or the connection when res is NULL), with what was
 * being done. Returns FALSE. */
static gboolean set_error(PGconn *conn, const PGresult *res, const char *doing, GError **error)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *message = res != NULL ? PQresultErrorMessage(res) : "";
	if (*message == '\0')
		message = PQerrorMessage(conn);
	gboolean temporary = PQstatus(conn) != CONNECTION_OK || state_is_temporary(state);
	g_autofree char *text = g_strstrip(g_strdup(message));
	g_set_error(error, DK_ERROR, temporary ? DK_ERROR_TEMPORARY : DK_ERROR_PERMANENT,
	            "store: %s: %s", doing, *text ? text : "no answer from the server");
	return FALSE;
}

/* Runs sql, which returns no rows. */
static gboolean exec(PGconn *conn, const char *sql, const char *doing, GError **error)
{
	PGresult *res = PQexec(conn, sql);
	gboolean ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		set_error(conn, res, doing, error);
	PQclear(res);
	return ok;
}

/* The integer in the one row and column sql returns, into *value_out. */
static gboolean query_int(PGconn *conn, const char *sql, const char *doing, int *value_out,
                          GError **error)
{
	PGresult *res = PQexec(conn, sql);
	gboolean ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok)
		*value_out = PQgetisnull(res, 0, 0)
		                 ? 0
		                 : (int)g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		set_error(conn, res, doing, error);
	PQclear(res);
	return ok;
}

int dk_store_pg_schema_version(PGconn *conn, GError **error)
{
	int exists = 0, version = 0;
	if (!query_int(conn, "SELECT (to_regclass('schema_version') IS NOT NULL)::int",
	               "reading the schema version", &exists, error))
		return -1;
	if (exists && !query_int(conn, "SELECT max(version) FROM schema_version",
	                         "reading the schema version", &version, error))
		return -1;
	return version;
}

/* The version, refused when it is newer than this program's. */
static gboolean read_version(PGconn *conn, int *version_out, GError **error)
{
	*version_out = dk_store_pg_schema_version(conn, error);
	if (*version_out < 0)
		return FALSE;
	if (*version_out > dk_store_pg_schema_latest()) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "the store has schema version %d, newer than this docket knows (%d)",
		            *version_out, dk_store_pg_schema_latest());
		return FALSE;
	}
	return TRUE;
}

static gboolean apply(PGconn *conn, const Migration *m, GError **error)
{
	g_autofree char *record = g_strdup_printf(
	    "INSERT INTO schema_version (version, applied_at) VALUES (%d, now())", m->version);
	for (const char *const *part = m->sql; *part != NULL; part++)
		if (!exec(conn, *part, "applying schema migration", error)) {
			g_prefix_error(error, "migration %d: ", m->version);
			return FALSE;
		}
	return exec(conn, record, "recording the schema version", error);
}

/* Inside the transaction: the lock, then the version read under it (the
 * gateway that waited finds the work done), then what is missing. */
static gboolean migrate_locked(PGconn *conn, GError **error)
{
	g_autofree char *lock = g_strdup_printf(
	    "SELECT pg_advisory_xact_lock(%" G_GINT64_FORMAT ")", DK_STORE_PG_LOCK_SCHEMA);
	PGresult *res = PQexec(conn, lock);
	gboolean locked = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!locked)
		set_error(conn, res, "waiting for the schema lock", error);
	PQclear(res);
	int version = 0;
	if (!locked || !read_version(conn, &version, error))
		return FALSE;
	if (version == 0 && !exec(conn,
	                          "CREATE TABLE IF NOT EXISTS schema_version ("
	                          " version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
	                          "creating the schema version table", error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(migrations); i++)
		if (migrations[i].version > version && !apply(conn, &migrations[i], error))
			return FALSE;
	return TRUE;
}

gboolean dk_store_pg_schema_migrate(PGconn *conn, GError **error)
{
	/* the notices of CREATE ... IF NOT EXISTS are no news */
	if (!exec(conn, "BEGIN; SET LOCAL client_min_messages = warning", "starting a migration",
	          error))
		return FALSE;
	if (migrate_locked(conn, error) &&
	    exec(conn, "COMMIT", "committing the schema migration", error))
		return TRUE;
	PQclear(PQexec(conn, "ROLLBACK"));
	return FALSE;
}
