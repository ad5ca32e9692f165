/* The PostgreSQL backend of the store ([store] backend = postgresql): the
 * statement seam (store-private.h) over libpq. One connection per DkStore;
 * a statement is prepared once per connection under a name of its own
 * (PQprepare) when it first runs, then run with PQexecPrepared: parameters
 * as text, blobs (bytea) in binary; results as text, except those of a
 * statement whose first result held a bytea (see binary_worth()).
 * Placeholders ? and ?N are rewritten to $N when a statement is prepared. */
#include "gateway/store/store-pg.h"

#include "gateway/store/store-pg-conninfo.h"
#include "gateway/store/store-private.h"
#include "gateway/store/store-schema-pg.h"

#include <libpq-fe.h>
#include <string.h>

/* The key of the writers' advisory lock (pg_begin()), 0x646F636B65740002
 * ("docket" and 2) in decimal, for the text of BEGIN_WRITE; the schema's
 * is DK_STORE_PG_LOCK_SCHEMA, ...0001. */
#define LOCK_WRITER "7237112439122427906"
/* BEGIN with the writers' lock, one text made once, by the compiler. */
#define BEGIN_WRITE "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_WRITER ")"

/* Type OIDs of pg_type (catalog/pg_type_d.h, not in libpq-dev). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_VARCHAR 1043

typedef struct {
	PGconn *conn;
	int busy_timeout_ms; /* lock_timeout: how long to wait for another writer */
	guint generation;    /* connections made so far (see reconnect()) */
	gboolean idle;       /* no transaction was open after the last statement */
	guint next_name;
	gint64 last_changes;
	gint64 total_changes;
	char sqlstate[6];    /* of the last failure; "" when none */
	char *error_message; /* of the last failure */
	/* The failure that aborted the open transaction, "" when none: a
	 * COMMIT of it fails as that one did (a lock not granted in time
	 * stays temporary). */
	char aborted_by[6];
	char *aborted_message;
	guint64 round_trips;    /* requests answered by the server (dk_store_pg_round_trips) */
	guint64 binary_results; /* results that came in binary (dk_store_pg_binary_results) */
	/* Statements sent in pipeline mode whose answers are not read yet
	 * (pg_run_later()), each by what it does (NULL: the caller's own,
	 * execute_after_sent()): while any are, the connection is in
	 * pipeline mode. */
	GPtrArray *sent;
} PgConn;

typedef struct {
	PgConn *pg;
	char *name; /* the prepared statement's; NULL: run once with PQexecParams */
	char *sql;  /* with $N placeholders */
	int n_params;
	guint prepared; /* the connection's generation it was prepared in; 0: none */
	char **values;
	int *lengths;
	int *formats;
	gboolean *owned;
	gboolean *numbers; /* bound as an integer */
	PGresult *result;
	int row; /* the current row; -1 before the first */
	int rows;
	GPtrArray *blobs; /* unescaped bytea values of the current result */
	gboolean binary;  /* results in binary from now on (binary_worth()) */
	gboolean decided; /* binary was set from the statement's first result */
	GPtrArray *texts; /* numbers of the current binary result made text */
} PgStmt;

static PgConn *conn_of(DkStore *store)
{
	return store->conn;
}

static void note_error(PgConn *pg, const PGresult *res, const char *fallback)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	g_strlcpy(pg->sqlstate, state ? state : "", sizeof pg->sqlstate);
	/* the server's message without its "ERROR:  " and DETAIL lines */
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(pg->conn);
	if (msg == NULL || *msg == '\0')
		msg = fallback;
	g_free(pg->error_message);
	pg->error_message = g_strchomp(g_strdup(msg));
}

/* Whether a failure may pass: the connection (class 08, or a connection
 * that is gone or never made, which has no SQLSTATE), a transaction
 * rolled back for another's sake (class 40: 40001 serialization, 40P01
 * deadlock; not 40002, a constraint checked at commit), a lock not
 * granted in time (55P03), too many connections and other shortages
 * (class 53: 53300, a full disk 53100), the server shutting down,
 * restarting or cancelling the statement (class 57: 57P01 admin shutdown,
 * 57014), an I/O error of the server (58030). */
static gboolean temporary(PgConn *pg)
{
	const char *s = pg->sqlstate;
	if (PQstatus(pg->conn) != CONNECTION_OK || *s == '\0')
		return TRUE;
	return g_str_has_prefix(s, "08") ||
	       (g_str_has_prefix(s, "40") && strcmp(s, "40002") != 0) ||
	       g_str_has_prefix(s, "53") || g_str_has_prefix(s, "57") || strcmp(s, "55P03") == 0 ||
	       strcmp(s, "58030") == 0;
}

static void pg_set_error(DkStore *store, GError **error, const char *doing)
{
	PgConn *pg = conn_of(store);
	g_set_error(error, DK_ERROR, temporary(pg) ? DK_ERROR_TEMPORARY : DK_ERROR_PERMANENT,
	            "store: %s: %s", doing,
	            pg->error_message ? pg->error_message : "PostgreSQL failed");
}

static gboolean pg_failed_unique(DkStore *store)
{
	return strcmp(conn_of(store)->sqlstate, "23505") == 0;
}

/* Whether out ends with the keyword LIMIT (and a space). */
static gboolean after_limit(const GString *out)
{
	return out->len >= 6 && g_ascii_strncasecmp(out->str + out->len - 6, "LIMIT ", 6) == 0;
}

/* sql with ? and ?N rewritten to $N (a bare ? takes the number after the
 * highest so far, as in SQLite), outside quotes; the highest into *n_out.
 * SQLite reads a negative LIMIT as none, PostgreSQL refuses it and takes
 * NULL for none: LIMIT ?N becomes LIMIT nullif(greatest($N, -1), -1). */
static char *rewrite(const char *sql, int *n_out)
{
	GString *out = g_string_sized_new(strlen(sql) + 16);
	int highest = 0;
	char quote = 0;
	for (const char *p = sql; *p != '\0'; p++) {
		if (quote != 0) {
			if (*p == quote)
				quote = 0;
			g_string_append_c(out, *p);
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			g_string_append_c(out, *p);
		} else if (*p == '?') {
			int n = 0;
			while (g_ascii_isdigit(p[1]))
				n = n * 10 + (*++p - '0');
			if (n == 0)
				n = highest + 1;
			highest = MAX(highest, n);
			if (after_limit(out))
				g_string_append_printf(out, "nullif(greatest($%d, -1), -1)", n);
			else
				g_string_append_printf(out, "$%d", n);
		} else {
			g_string_append_c(out, *p);
		}
	}
	*n_out = highest;
	return g_string_free(out, FALSE);
}

static gpointer pg_prepare(DkStore *store, const char *sql, GError **error)
{
	(void)error; /* prepared when it first runs, when its types are known */
	PgStmt *st = g_new0(PgStmt, 1);
	st->pg = conn_of(store);
	st->sql = rewrite(sql, &st->n_params);
	int n = MAX(st->n_params, 1);
	st->values = g_new0(char *, n);
	st->lengths = g_new0(int, n);
	st->formats = g_new0(int, n);
	st->owned = g_new0(gboolean, n);
	st->numbers = g_new0(gboolean, n);
	st->row = -1;
	/* a cached statement (dk_store_prepare) gets a name; the statements of
	 * one use (dk_store_prepare_once) are freed at once and run unnamed */
	return st;
}

/* Gives st a name, making it a statement prepared once per connection. */
static void pg_name(gpointer stmt)
{
	PgStmt *st = stmt;
	if (st->name == NULL)
		st->name = g_strdup_printf("dk%u", ++st->pg->next_name);
}

/* An INSERT whose id is wanted answers it in its own result: no
 * `SELECT lastval()` after it, a round trip more for each. */
static void pg_return_id(gpointer stmt)
{
	PgStmt *st = stmt;
	char *sql = g_strconcat(st->sql, " RETURNING id", NULL);
	g_free(st->sql);
	st->sql = sql;
}

static void drop_result(PgStmt *st)
{
	if (st->result != NULL)
		PQclear(st->result);
	st->result = NULL;
	st->row = -1;
	st->rows = 0;
	if (st->blobs != NULL)
		g_ptr_array_set_size(st->blobs, 0);
	if (st->texts != NULL)
		g_ptr_array_set_size(st->texts, 0);
}

static void clear_value(PgStmt *st, int i)
{
	if (st->owned[i])
		g_free(st->values[i]);
	st->values[i] = NULL;
	st->owned[i] = FALSE;
	st->lengths[i] = 0;
	st->formats[i] = 0;
	st->numbers[i] = FALSE;
}

static void pg_clear(gpointer stmt)
{
	PgStmt *st = stmt;
	for (int i = 0; i < st->n_params; i++)
		clear_value(st, i);
}

static void pg_reset(gpointer stmt)
{
	drop_result(stmt);
}

static void pg_finalize(gpointer stmt)
{
	PgStmt *st = stmt;
	drop_result(st);
	pg_clear(st);
	/* A named statement is kept as long as the store's connection, which
	 * drops it when it ends: no DEALLOCATE (a round trip each, for every
	 * statement of a closing `docket deliver`). */
	if (st->blobs != NULL)
		g_ptr_array_unref(st->blobs);
	if (st->texts != NULL)
		g_ptr_array_unref(st->texts);
	g_free(st->values);
	g_free(st->lengths);
	g_free(st->formats);
	g_free(st->owned);
	g_free(st->numbers);
	g_free(st->sql);
	g_free(st->name);
	g_free(st);
}

static void pg_bind(gpointer stmt, int i, const char *text, gssize size, gboolean copy,
                    gboolean is_number, gint64 number)
{
	PgStmt *st = stmt;
	if (i < 1 || i > st->n_params)
		return;
	int k = i - 1;
	clear_value(st, k);
	if (is_number) {
		st->values[k] = g_strdup_printf("%" G_GINT64_FORMAT, number);
		st->owned[k] = TRUE;
		st->numbers[k] = TRUE;
	} else if (text != NULL && size >= 0) {
		st->values[k] = copy ? g_memdup2(text, (gsize)size) : (char *)text;
		st->owned[k] = copy;
		st->lengths[k] = (int)size;
		st->formats[k] = 1;
	} else if (text != NULL) {
		st->values[k] = copy ? g_strdup(text) : (char *)text;
		st->owned[k] = copy;
	}
}

/* Whether $n appears in sql (followed by after, when not NULL). */
static gboolean uses_param(const char *sql, int n, const char *after)
{
	char mark[16];
	g_snprintf(mark, sizeof mark, "$%d", n);
	size_t len = strlen(mark);
	for (const char *p = strstr(sql, mark); p != NULL; p = strstr(p + 1, mark))
		if (!g_ascii_isdigit(p[len]) && (after == NULL || g_str_has_prefix(p + len, after)))
			return TRUE;
	return FALSE;
}

/* The parameters' types: integers and blobs as bound; text for a
 * parameter the statement does not use or only tests for NULL (`?1 IS
 * NULL OR ...`), where PostgreSQL cannot infer one; the others left to
 * PostgreSQL to infer from where they stand. */
static Oid *param_types(PgStmt *st)
{
	Oid *types = g_new0(Oid, MAX(st->n_params, 1));
	for (int i = 0; i < st->n_params; i++) {
		if (st->numbers[i])
			types[i] = OID_INT8;
		else if (st->formats[i] == 1)
			types[i] = OID_BYTEA;
		else if (!uses_param(st->sql, i + 1, NULL) || uses_param(st->sql, i + 1, " IS "))
			types[i] = OID_TEXT;
	}
	return types;
}

/* Runs sql, text of one or more statements, in one round trip. */
static PGresult *simple_query(PgConn *pg, const char *sql)
{
	pg->round_trips++;
	return PQexec(pg->conn, sql);
}

/* The session's settings, on every new connection: UTF-8, and how long a
 * statement waits for a lock another transaction holds (SQLite's busy
 * timeout: then 55P03, a temporary failure). */
static gboolean session_setup(PgConn *pg)
{
	g_autofree char *sql = g_strdup_printf(
	    "SET client_encoding = 'UTF8'; SET lock_timeout = %d", MAX(pg->busy_timeout_ms, 1));
	PGresult *res = simple_query(pg, sql);
	gboolean ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		note_error(pg, res, "PostgreSQL failed");
	PQclear(res);
	return ok;
}

/* A connection the server ended (a restart, a failover, an administrator)
 * is made again before a statement that opens a transaction, or one run
 * when none was open: never in the middle of one, whose statements would
 * then run outside it. The statements prepared on the old connection are
 * prepared again on the new one (the generation changes). */
static void reconnect(PgConn *pg, gboolean begins)
{
	if (PQstatus(pg->conn) == CONNECTION_OK || !(pg->idle || begins))
		return;
	PQreset(pg->conn);
	if (PQstatus(pg->conn) == CONNECTION_OK && session_setup(pg)) {
		pg->generation++;
		pg->idle = TRUE;
	}
}

/* Prepares a named statement on this connection, once. */
static PGresult *prepare_named(PgStmt *st)
{
	if (st->prepared == st->pg->generation)
		return NULL;
	g_autofree Oid *types = param_types(st);
	st->pg->round_trips++;
	PGresult *res = PQprepare(st->pg->conn, st->name, st->sql, st->n_params, types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return res;
	PQclear(res);
	st->prepared = st->pg->generation;
	return NULL;
}

static PGresult *execute(PgStmt *st)
{
	reconnect(st->pg, g_str_has_prefix(st->sql, "BEGIN"));
	PGconn *conn = st->pg->conn;
	const char *const *values = (const char *const *)st->values;
	st->pg->round_trips++; /* the statement's run; its preparation is another */
	if (st->name == NULL) {
		g_autofree Oid *types = param_types(st);
		return PQexecParams(conn, st->sql, st->n_params, types, values, st->lengths,
		                    st->formats, 0);
	}
	PGresult *failed = prepare_named(st);
	if (failed != NULL)
		return failed;
	return PQexecPrepared(conn, st->name, st->n_params, values, st->lengths, st->formats,
	                      st->binary ? 1 : 0);
}

/* Whether a prepared statement should take its results in binary from its
 * next run on, as its result res shows their columns: they hold a bytea
 * (as text, hex: twice its size over the wire and in memory, and decoded
 * again; a piece of a large raw message or attachment is 1 MiB), and
 * every column is of a type read here in binary as well: integers,
 * booleans, text. */
static gboolean binary_worth(const PGresult *res)
{
	gboolean bytea = FALSE;
	for (int i = 0; i < PQnfields(res); i++) {
		switch (PQftype(res, i)) {
		case OID_BYTEA:
			bytea = TRUE;
			break;
		case OID_BOOL:
		case OID_INT2:
		case OID_INT4:
		case OID_INT8:
		case OID_TEXT:
		case OID_VARCHAR:
			break;
		default:
			return FALSE;
		}
	}
	return bytea;
}

/* The rows an INSERT, UPDATE or DELETE changed (with RETURNING too), as
 * SQLite's changes counters count them; a SELECT changes none. */
static void count_changes(PgConn *pg, PGresult *res)
{
	const char *tag = PQcmdStatus(res);
	if (!g_str_has_prefix(tag, "INSERT ") && !g_str_has_prefix(tag, "UPDATE ") &&
	    !g_str_has_prefix(tag, "DELETE "))
		return;
	pg->last_changes = g_ascii_strtoll(PQcmdTuples(res), NULL, 10);
	pg->total_changes += pg->last_changes;
}

/* COMMIT of a transaction that an error aborted answers ROLLBACK. */
static gboolean rolled_back(PGresult *res, PgStmt *st)
{
	return strcmp(PQcmdStatus(res), "ROLLBACK") == 0 && g_str_has_prefix(st->sql, "COMMIT");
}

/* Keeps the failure just noted when it aborted the open transaction and
 * is the first to. */
static void note_abort(PgConn *pg)
{
	if (PQstatus(pg->conn) != CONNECTION_OK ||
	    PQtransactionStatus(pg->conn) != PQTRANS_INERROR || pg->aborted_by[0] != '\0')
		return;
	g_strlcpy(pg->aborted_by, pg->sqlstate[0] ? pg->sqlstate : "25P02", sizeof pg->aborted_by);
	g_free(pg->aborted_message);
	pg->aborted_message = g_strdup(pg->error_message);
}

/* A COMMIT that found its transaction aborted fails as the failure that
 * aborted it did. */
static void commit_failed(PgConn *pg)
{
	g_strlcpy(pg->sqlstate, pg->aborted_by[0] ? pg->aborted_by : "25P02", sizeof pg->sqlstate);
	g_free(pg->error_message);
	pg->error_message =
	    pg->aborted_message
	        ? g_strdup_printf("an earlier error rolled the transaction back: %s",
	                          pg->aborted_message)
	        : g_strdup("an earlier error rolled the transaction back");
	pg->aborted_by[0] = '\0';
	g_clear_pointer(&pg->aborted_message, g_free);
}

/* Reads the answers of the statements sent without waiting (and the
 * pipeline's end, asked for now: one round trip), leaving pipeline mode.
 * FALSE after the first that failed (the rest of the pipeline is skipped
 * by the server, and the transaction is aborted), noted as that one's
 * failure, named by what it did. With own_out, the last statement sent
 * is the caller's own, sent in the same round trip (pg_step()): its
 * result, failed or not, into *own_out, unless one before it failed
 * (then NULL). */
static gboolean answers(PgConn *pg, PGresult **own_out)
{
	if (own_out != NULL)
		*own_out = NULL;
	if (pg->sent->len == 0)
		return TRUE;
	guint others = pg->sent->len - (own_out != NULL ? 1 : 0);
	gboolean ok = TRUE;
	pg->round_trips++;
	if (PQpipelineSync(pg->conn) != 1) {
		note_error(pg, NULL, "PostgreSQL failed");
		ok = FALSE;
	}
	/* each statement's result and a NULL after it, then the pipeline's
	 * end; none of that once the connection is gone */
	guint answered = 0, nulls = 0;
	while (ok || PQstatus(pg->conn) == CONNECTION_OK) {
		PGresult *res = PQgetResult(pg->conn);
		if (res == NULL) {
			if (PQstatus(pg->conn) != CONNECTION_OK || ++nulls > pg->sent->len)
				break;
			continue;
		}
		ExecStatusType status = PQresultStatus(res);
		if (status == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (answered >= others) {
			if (own_out != NULL && ok && *own_out == NULL) {
				*own_out = res; /* the caller reads it as execute()'s */
				answered++;
				continue;
			}
		} else if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
			pg->total_changes--; /* counted as one when sent (pg_total_changes()) */
			count_changes(pg, res);
		} else if (status != PGRES_PIPELINE_ABORTED && ok) {
			note_error(pg, res, "PostgreSQL failed");
			char *message = g_strdup_printf(
			    "%s: %s", (const char *)g_ptr_array_index(pg->sent, answered),
			    pg->error_message);
			g_free(pg->error_message);
			pg->error_message = message;
			ok = FALSE;
		}
		answered++;
		PQclear(res);
	}
	if (ok && answered < pg->sent->len) {
		note_error(pg, NULL, "PostgreSQL failed");
		ok = FALSE;
	}
	if (!ok && own_out != NULL)
		g_clear_pointer(own_out, PQclear);
	g_ptr_array_set_size(pg->sent, 0);
	PQexitPipelineMode(pg->conn);
	if (PQstatus(pg->conn) == CONNECTION_OK)
		pg->idle = PQtransactionStatus(pg->conn) == PQTRANS_IDLE;
	if (!ok)
		note_abort(pg);
	return ok;
}

/* Sends st in pipeline mode (entered if need be): FALSE, noted, when
 * libpq cannot. */
static gboolean send_piped(PgStmt *st, const char *doing, int result_format)
{
	PgConn *pg = st->pg;
	if (PQpipelineStatus(pg->conn) == PQ_PIPELINE_OFF && PQenterPipelineMode(pg->conn) != 1) {
		note_error(pg, NULL, "PostgreSQL failed");
		return FALSE;
	}
	const char *const *values = (const char *const *)st->values;
	int sent;
	if (st->name == NULL) {
		g_autofree Oid *types = param_types(st);
		sent = PQsendQueryParams(pg->conn, st->sql, st->n_params, types, values,
		                         st->lengths, st->formats, result_format);
	} else {
		sent = PQsendQueryPrepared(pg->conn, st->name, st->n_params, values, st->lengths,
		                           st->formats, result_format);
	}
	if (sent != 1) {
		g_autofree char *why = g_strdup(PQerrorMessage(pg->conn));
		answers(pg, NULL); /* what was sent before, then out of pipeline mode */
		note_error(pg, NULL, why);
		return FALSE;
	}
	g_ptr_array_add(pg->sent, (gpointer)doing);
	if (doing != NULL)
		pg->total_changes++; /* until its answer says (pg_total_changes()) */
	return TRUE;
}

/* Runs st: alone, or, when statements sent without waiting are still to
 * answer, sent after them in the same round trip (it must be prepared on
 * this connection already). */
static PGresult *execute_after_sent(PgStmt *st)
{
	PgConn *pg = st->pg;
	if (pg->sent->len == 0 || st->name == NULL || st->prepared != pg->generation) {
		if (!answers(pg, NULL))
			return NULL;
		PGresult *res = execute(st);
		if (res == NULL)
			note_error(pg, NULL, "PostgreSQL failed");
		return res;
	}
	PGresult *res = NULL;
	if (!send_piped(st, NULL, st->binary ? 1 : 0))
		return NULL;
	answers(pg, &res);
	return res;
}

/* Sends st in pipeline mode, its answer to be read by answers() before
 * the next statement runs: a round trip saved for each write in a row
 * whose answer nobody reads. At most SENT_MAX wait for their answers (the
 * server's answers, small as they are, must fit the socket's buffers:
 * libpq blocks while it sends). */
#define SENT_MAX 256

static gboolean pg_run_later(DkStore *store, gpointer stmt, const char *doing)
{
	(void)store;
	PgStmt *st = stmt;
	PgConn *pg = st->pg;
	/* a prepared statement not yet prepared on this connection, apart,
	 * once; and a bound on what waits for its answer */
	if ((st->name != NULL && st->prepared != pg->generation) || pg->sent->len >= SENT_MAX) {
		if (!answers(pg, NULL))
			return FALSE;
		PGresult *failed = st->name != NULL ? prepare_named(st) : NULL;
		if (failed != NULL) {
			note_error(pg, failed, "PostgreSQL failed");
			PQclear(failed);
			note_abort(pg);
			return FALSE;
		}
	}
	return send_piped(st, doing, 0);
}

static gboolean pg_written(DkStore *store)
{
	return answers(conn_of(store), NULL);
}

static int pg_step(DkStore *store, gpointer stmt)
{
	(void)store;
	PgStmt *st = stmt;
	if (st->result == NULL) {
		PGresult *res = execute_after_sent(st);
		if (res == NULL)
			return DK_STMT_ERROR; /* a statement sent before failed, noted */
		ExecStatusType status = PQresultStatus(res);
		if (PQstatus(st->pg->conn) == CONNECTION_OK)
			st->pg->idle = PQtransactionStatus(st->pg->conn) == PQTRANS_IDLE;
		if (status == PGRES_COMMAND_OK && rolled_back(res, st)) {
			PQclear(res);
			commit_failed(st->pg);
			return DK_STMT_ERROR;
		}
		if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
			note_error(st->pg, res, "PostgreSQL failed");
			PQclear(res);
			note_abort(st->pg);
			return DK_STMT_ERROR;
		}
		st->pg->sqlstate[0] = '\0';
		st->result = res;
		st->rows = PQntuples(res);
		count_changes(st->pg, res);
		if (PQbinaryTuples(res))
			st->pg->binary_results++;
		if (!st->decided && st->name != NULL) {
			st->binary = binary_worth(res);
			st->decided = TRUE;
		}
	}
	if (st->row + 1 >= st->rows) {
		st->row = st->rows;
		return DK_STMT_DONE;
	}
	st->row++;
	return DK_STMT_ROW;
}

static const char *value(PgStmt *st, int i)
{
	if (st->result == NULL || st->row < 0 || st->row >= st->rows ||
	    PQgetisnull(st->result, st->row, i))
		return NULL;
	return PQgetvalue(st->result, st->row, i);
}

/* Whether column i of the current result is in binary and a number (an
 * integer or a boolean): read with binary_number(). */
static gboolean binary_number(PgStmt *st, int i)
{
	if (PQfformat(st->result, i) != 1)
		return FALSE;
	Oid type = PQftype(st->result, i);
	return type == OID_INT8 || type == OID_INT4 || type == OID_INT2 || type == OID_BOOL;
}

/* A number in binary: network byte order, as wide as its type. */
static gint64 binary_value(PgStmt *st, int i, const char *v)
{
	switch (PQftype(st->result, i)) {
	case OID_INT8: {
		guint64 x;
		memcpy(&x, v, sizeof x);
		return (gint64)GUINT64_FROM_BE(x);
	}
	case OID_INT4: {
		guint32 x;
		memcpy(&x, v, sizeof x);
		return (gint32)GUINT32_FROM_BE(x);
	}
	case OID_INT2: {
		guint16 x;
		memcpy(&x, v, sizeof x);
		return (gint16)GUINT16_FROM_BE(x);
	}
	default: /* OID_BOOL */
		return v[0] != 0;
	}
}

static gint64 pg_column_int64(gpointer stmt, int i)
{
	PgStmt *st = stmt;
	const char *v = value(st, i);
	if (v == NULL)
		return 0;
	if (binary_number(st, i))
		return binary_value(st, i, v);
	if (strcmp(v, "t") == 0) /* a boolean */
		return 1;
	return g_ascii_strtoll(v, NULL, 10);
}

static double pg_column_double(gpointer stmt, int i)
{
	PgStmt *st = stmt;
	const char *v = value(st, i);
	if (v != NULL && binary_number(st, i))
		return (double)binary_value(st, i, v);
	return v ? g_ascii_strtod(v, NULL) : 0;
}

/* A number in binary as the text PostgreSQL would have sent ("t" and "f"
 * for a boolean), kept until the result goes. */
static const char *binary_text(PgStmt *st, int i, const char *v)
{
	char *text = PQftype(st->result, i) == OID_BOOL
	                 ? g_strdup(v[0] ? "t" : "f")
	                 : g_strdup_printf("%" G_GINT64_FORMAT, binary_value(st, i, v));
	if (st->texts == NULL)
		st->texts = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(st->texts, text);
	return text;
}

static const char *pg_column_text(gpointer stmt, int i)
{
	PgStmt *st = stmt;
	const char *v = value(st, i);
	return v != NULL && binary_number(st, i) ? binary_text(st, i, v) : v;
}

static gboolean pg_column_is_null(gpointer stmt, int i)
{
	return value(stmt, i) == NULL;
}

static const void *pg_column_blob(gpointer stmt, int i, gsize *size_out)
{
	PgStmt *st = stmt;
	*size_out = 0;
	const char *v = value(st, i);
	if (v == NULL)
		return NULL;
	if (binary_number(st, i)) {
		const char *text = binary_text(st, i, v);
		*size_out = strlen(text);
		return text;
	}
	if (PQbinaryTuples(st->result) || PQftype(st->result, i) != OID_BYTEA) {
		*size_out = (gsize)PQgetlength(st->result, st->row, i); /* the bytes as they are */
		return v;
	}
	size_t n = 0;
	unsigned char *bytes = PQunescapeBytea((const unsigned char *)v, &n);
	if (bytes == NULL)
		return NULL;
	if (st->blobs == NULL)
		st->blobs = g_ptr_array_new_with_free_func(PQfreemem);
	g_ptr_array_add(st->blobs, bytes);
	*size_out = n;
	return bytes;
}

static gboolean pg_exec(DkStore *store, const char *sql, GError **error)
{
	PgConn *pg = conn_of(store);
	gboolean rollback = strcmp(sql, "ROLLBACK") == 0;
	if (!answers(pg, NULL) && !rollback) {
		pg_set_error(store, error, sql);
		return FALSE;
	}
	if (PQstatus(pg->conn) != CONNECTION_OK && rollback) {
		pg->idle = TRUE; /* the server rolled it back when the connection ended */
		return TRUE;
	}
	PGresult *res = simple_query(pg, sql);
	ExecStatusType status = PQresultStatus(res);
	gboolean ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
	if (!ok)
		note_error(pg, res, "PostgreSQL failed");
	PQclear(res);
	if (PQstatus(pg->conn) == CONNECTION_OK)
		pg->idle = PQtransactionStatus(pg->conn) == PQTRANS_IDLE;
	if (!ok)
		pg_set_error(store, error, sql);
	return ok;
}

/* BEGIN, then the writers' lock (an advisory lock of the transaction), in
 * one round trip: one transaction writes at a time, whichever process or
 * gateway runs it, as SQLite's BEGIN IMMEDIATE has it, so that the
 * store's look-ups before a write (the next ticket number, a Message-ID
 * seen) still hold when it writes. Waits up to lock_timeout, then fails
 * as a temporary error with no transaction left open. */
static gboolean pg_begin(DkStore *store, GError **error)
{
	PgConn *pg = conn_of(store);
	reconnect(pg, TRUE);
	pg->aborted_by[0] = '\0';
	g_clear_pointer(&pg->aborted_message, g_free);
	if (pg_exec(store, BEGIN_WRITE, error))
		return TRUE;
	if (PQstatus(pg->conn) == CONNECTION_OK)
		PQclear(simple_query(pg, "ROLLBACK"));
	pg->idle = TRUE;
	return FALSE;
}

/* The advisory locks of the gateways besides the writers' (pg_begin()):
 * the two-key form, a class ("dock" and 3 or 4) then a number within it,
 * so as not to meet the one-key DK_STORE_PG_LOCK_*. */
#define LOCK_JOBS "1685021548"
#define LOCK_LEASES "1685021549"

/* Runs sql, a statement (a string constant) that selects whether it got
 * the lock of key, as an integer; into *got_out. */
static gboolean lock_try(DkStore *store, const char *sql, const char *key, const char *doing,
                         gboolean *got_out, GError **error)
{
	gint64 got = 0;
	if (!dk_store_lookup_int64(store, dk_store_query(store, sql, error, "s", key), doing, &got,
	                           NULL, error))
		return FALSE;
	*got_out = got != 0;
	return TRUE;
}

/* A job: the transaction's advisory lock, if no other transaction holds
 * it; held to the transaction's end. */
static gboolean pg_job_try(DkStore *store, const char *job, gboolean *mine_out, GError **error)
{
	return lock_try(store, "SELECT pg_try_advisory_xact_lock(" LOCK_JOBS ", hashtext(?))::int",
	                job, "asking for a job's lock", mine_out, error);
}

/* A lease: the session's advisory lock, which the server frees when the
 * connection ends. Held already, it is not taken again (a second
 * pg_try_advisory_lock would stack a second hold that one unlock
 * leaves): pg_locks says, by the key's halves. */
static gboolean pg_lease_hold(DkStore *store, const char *name, gboolean *held_out, GError **error)
{
	return lock_try(store,
	                "SELECT (CASE WHEN EXISTS (SELECT 1 FROM pg_locks"
	                " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
	                " AND classid = " LOCK_LEASES
	                " AND objid = (hashtext(?1)::bigint & 4294967295)::oid"
	                " AND objsubid = 2 AND granted) THEN true"
	                " ELSE pg_try_advisory_lock(" LOCK_LEASES ", hashtext(?1)) END)::int",
	                name, "asking for a lease", held_out, error);
}

static const DkStoreGroupOps pg_group = {
    .job_try = pg_job_try,
    .lease_hold = pg_lease_hold,
};

static gint64 pg_last_changes(DkStore *store)
{
	return conn_of(store)->last_changes;
}

/* A write sent without waiting counts as one row changed until its
 * answer says how many (answers()): so that work that sent one never
 * looks as if it wrote nothing. */
static gint64 pg_total_changes(DkStore *store)
{
	return conn_of(store)->total_changes;
}

/* A transaction whose connection was lost stays open for the caller until
 * it rolls back (the server has): until then no new connection is made
 * (reconnect()). */
static gboolean pg_in_transaction(DkStore *store)
{
	PgConn *pg = conn_of(store);
	if (PQstatus(pg->conn) != CONNECTION_OK)
		return !pg->idle;
	PGTransactionStatusType t = PQtransactionStatus(pg->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static gboolean pg_transaction_failed(DkStore *store)
{
	PgConn *pg = conn_of(store);
	answers(pg, NULL);
	return PQstatus(pg->conn) == CONNECTION_OK &&
	       PQtransactionStatus(pg->conn) == PQTRANS_INERROR;
}

static int pg_schema_version(DkStore *store)
{
	return dk_store_pg_schema_version(conn_of(store)->conn, NULL);
}

static void pg_close(DkStore *store)
{
	PgConn *pg = conn_of(store);
	if (pg == NULL)
		return;
	answers(pg, NULL);
	g_ptr_array_free(pg->sent, TRUE);
	PQfinish(pg->conn);
	g_free(pg->error_message);
	g_free(pg->aborted_message);
	g_free(pg);
	store->conn = NULL;
}

static gboolean pg_open_config(DkStore *store, const DkConfig *config, GError **error);

static const DkStoreOps pg_ops = {
    .name = "postgresql",
    .open = pg_open_config,
    .close = pg_close,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .step = pg_step,
    .reset = pg_reset,
    .clear = pg_clear,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_is_null = pg_column_is_null,
    .column_blob = pg_column_blob,
    .bind = pg_bind,
    .exec = pg_exec,
    .last_changes = pg_last_changes,
    .total_changes = pg_total_changes,
    .in_transaction = pg_in_transaction,
    .transaction_failed = pg_transaction_failed,
    .failed_unique = pg_failed_unique,
    .set_error = pg_set_error,
    .schema_version = pg_schema_version,
    .name_statement = pg_name,
    .return_id = pg_return_id,
    .begin = pg_begin,
    .run_later = pg_run_later,
    .written = pg_written,
    .group = &pg_group,
};

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Connects store to the database conninfo names and brings its schema up
 * to date. */
static gboolean connect_store(DkStore *store, const char *conninfo, GError **error)
{
	PgConn *pg = g_new0(PgConn, 1);
	pg->sent = g_ptr_array_new();
	pg->generation = 1;
	pg->idle = TRUE;
	pg->busy_timeout_ms = store->options.busy_timeout_ms;
	store->conn = pg;
	store->backend = &pg_ops;
	store->group = pg_ops.group;
	pg->conn = PQconnectdb(conninfo);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		note_error(pg, NULL, "cannot connect");
		pg_set_error(store, error, "connecting to PostgreSQL");
		return FALSE;
	}
	/* notices (a NOTICE of CREATE ... IF NOT EXISTS) are not docket's log */
	PQsetNoticeProcessor(pg->conn, ignore_notice, NULL);
	if (!session_setup(pg)) {
		pg_set_error(store, error, "setting up the PostgreSQL session");
		return FALSE;
	}
	return dk_store_pg_schema_migrate(pg->conn, error);
}

DkStore *dk_store_pg_open(const char *conninfo, const DkStoreOptions *options, GError **error)
{
	g_autoptr(DkStore) s = dk_store_new(NULL, options);
	if (!connect_store(s, conninfo, error))
		return NULL;
	return g_steal_pointer(&s);
}

static gboolean pg_open_config(DkStore *store, const DkConfig *config, GError **error)
{
	g_autofree char *conninfo = dk_store_pg_conninfo(config, error);
	if (conninfo == NULL)
		return FALSE;
	return connect_store(store, conninfo, error);
}

guint64 dk_store_pg_round_trips(DkStore *store)
{
	return store->backend == &pg_ops ? conn_of(store)->round_trips : 0;
}

guint64 dk_store_pg_binary_results(DkStore *store)
{
	return store->backend == &pg_ops ? conn_of(store)->binary_results : 0;
}

void dk_store_pg_register(void)
{
	dk_store_backend_register(&pg_ops);
}
