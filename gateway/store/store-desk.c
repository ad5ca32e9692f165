/* The store's queries for the ticket desk (the list is store-list.c): tag
 * removal, time entries, merging, the resolved tickets due to close, and
 * full-text search over the articles (FTS5, ranked by bm25). */
#include "gateway/store/store-private.h"

#include <string.h>

static void bind_text_or_null(DkStmt *st, int i, const char *v)
{
	if (v == NULL || *v == '\0')
		dk_stmt_bind_null(st, i);
	else
		dk_stmt_bind_text(st, i, v);
}

static gboolean add_number(DkStmt *st, gpointer out)
{
	gint64 n = dk_stmt_int64(st, 0);
	g_array_append_val((GArray *)out, n);
	return TRUE;
}

/* Reads the numbers st selects into a GArray of gint64. */
static GArray *numbers(DkStore *store, DkStmt *st, GError **error)
{
	g_autoptr(GArray) out = g_array_new(FALSE, FALSE, sizeof(gint64));
	if (!dk_store_each_row(store, st, "reading tickets", add_number, out, error))
		return NULL;
	return g_steal_pointer(&out);
}

gboolean dk_store_tag_remove(DkStore *store, gint64 ticket, const char *tag, gboolean *removed_out,
                             GError **error)
{
	DkStmt *st =
	    dk_store_prepare(store, "DELETE FROM tags WHERE ticket = ? AND tag = ?", error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, ticket);
	dk_stmt_bind_text(st, 2, tag);
	if (!dk_store_run(store, st, "removing a tag", error))
		return FALSE;
	*removed_out = dk_store_last_changes(store) > 0;
	return TRUE;
}

gboolean dk_store_time_entry_add(DkStore *store, gint64 ticket, gint64 minutes, const char *note,
                                 const char *author, gint64 now, gint64 *id_out, GError **error)
{
	DkStmt *st = dk_store_prepare_insert(
	    store,
	    "INSERT INTO time_entries (ticket, minutes, note, author, created_at)"
	    " VALUES (?, ?, ?, ?, ?)",
	    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, ticket);
	dk_stmt_bind_int64(st, 2, minutes);
	dk_stmt_bind_text(st, 3, note ? note : "");
	bind_text_or_null(st, 4, author);
	dk_stmt_bind_int64(st, 5, now);
	return dk_store_insert_run(store, st, "recording a time entry", id_out, error);
}

static gpointer time_entry_from_row(DkStmt *st)
{
	DkTimeEntry *e = g_new0(DkTimeEntry, 1);
	e->id = dk_stmt_int64(st, 0);
	e->ticket = dk_stmt_int64(st, 1);
	e->minutes = dk_stmt_int64(st, 2);
	e->note = dk_store_column_text(st, 3);
	e->author = dk_store_column_text(st, 4);
	e->created_at = dk_stmt_int64(st, 5);
	return e;
}

GPtrArray *dk_store_time_entries(DkStore *store, gint64 ticket, GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store,
	    "SELECT id, ticket, minutes, note, author, created_at FROM time_entries"
	    " WHERE ticket = ? ORDER BY id",
	    error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_int64(st, 1, ticket);
	return dk_store_collect(store, st, "reading time entries", time_entry_from_row,
	                        (GDestroyNotify)dk_time_entry_free, error);
}

gboolean dk_store_ticket_merged_into(DkStore *store, gint64 ticket, gint64 *into_out,
                                     GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store, "SELECT coalesce(merged_into, 0) FROM tickets WHERE number = ?", error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, ticket);
	int rc = dk_stmt_step(st);
	*into_out = rc == DK_STMT_ROW ? dk_stmt_int64(st, 0) : 0;
	dk_stmt_reset(st);
	if (rc != DK_STMT_ROW && rc != DK_STMT_DONE)
		return dk_store_set_error(store, error, "looking up a merged ticket");
	return TRUE;
}

gboolean dk_store_ticket_merge(DkStore *store, gint64 target, gint64 source, GError **error)
{
	static const char *const steps[] = {
	    "UPDATE articles SET ticket = ?1 WHERE ticket = ?2",
	    "UPDATE message_ids SET ticket = ?1 WHERE ticket = ?2",
	    "INSERT INTO participants (ticket, address, role) SELECT ?1, address,"
	    " CASE role WHEN 'requester' THEN 'sender' ELSE role END FROM participants"
	    " WHERE ticket = ?2 ON CONFLICT DO NOTHING",
	    "INSERT INTO tags (ticket, tag) SELECT ?1, tag FROM tags WHERE ticket = ?2 ON CONFLICT "
	    "DO NOTHING",
	    "UPDATE time_entries SET ticket = ?1 WHERE ticket = ?2",
	    "UPDATE tickets SET merged_into = ?1 WHERE number = ?2",
	};
	for (guint i = 0; i < G_N_ELEMENTS(steps); i++) {
		DkStmt *st = dk_store_prepare(store, steps[i], error);
		if (st == NULL)
			return FALSE;
		dk_stmt_bind_int64(st, 1, target);
		dk_stmt_bind_int64(st, 2, source);
		if (!dk_store_run(store, st, "merging tickets", error))
			return FALSE;
	}
	return TRUE;
}

GArray *dk_store_tickets_resolved_before(DkStore *store, gint64 before, GError **error)
{
	DkStmt *st = dk_store_prepare(store,
	                              "SELECT number FROM tickets WHERE status = 'resolved'"
	                              " AND coalesce(closed_at, updated_at) <= ? ORDER BY number",
	                              error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_int64(st, 1, before);
	return numbers(store, st, error);
}

/* A search ranks at most this many of the articles that match, the
 * newest: a query matching more is answered from the most recent mail. */
#define SEARCH_CANDIDATES 1000

/* The FTS5 query for text: every word as a string, so that the user's
 * punctuation is never query syntax; NULL when there is no word. */
static char *fts_query(const char *text)
{
	g_auto(GStrv) words = g_strsplit_set(text, " \t\r\n", -1);
	GString *q = g_string_new(NULL);
	for (guint i = 0; words[i] != NULL; i++) {
		if (*words[i] == '\0')
			continue;
		g_string_append(q, q->len ? " \"" : "\"");
		for (const char *p = words[i]; *p; p++) {
			if (*p == '"')
				g_string_append_c(q, '"');
			g_string_append_c(q, *p);
		}
		g_string_append_c(q, '"');
	}
	if (q->len == 0) {
		g_string_free(q, TRUE);
		return NULL;
	}
	return g_string_free(q, FALSE);
}

/* PostgreSQL's search (store-schema-pg.c): articles.search_vector, a
 * tsvector of the subject (weight A) and the text (B) in the 'simple'
 * configuration docket_search, indexed by GIN. As fts_query() does for
 * FTS5, every whitespace-separated word of ?1 is a phrase that must
 * match (phraseto_tsquery: "foo.bar" is foo followed by bar), and the
 * user's punctuation is never query syntax; a word of punctuation alone
 * is left out. */
#define PG_QUERY                                                                                   \
	"(SELECT coalesce(string_agg('(' || phraseto_tsquery('docket_search', w)::text || ')',"    \
	" ' & '), '')::tsquery AS q FROM regexp_split_to_table(?1, '\\s+') AS w"                   \
	" WHERE numnode(phraseto_tsquery('docket_search', w)) > 0) AS words"
/* The text of the tsquery for ?1 ("" when no word is left) and the
 * newest article's id. */
#define PG_WORDS "SELECT words.q::text, (SELECT coalesce(max(id), 0) FROM articles) FROM " PG_QUERY
/* The planner's reckoning of how many articles match the tsquery ?1. */
#define PG_ESTIMATE "EXPLAIN SELECT 1 FROM articles WHERE search_vector @@ ?1::tsquery"
/* The newest articles that match the tsquery ?1 among those with an id
 * in (?2, ?3], at most a number written in (so that the planner sees
 * it), with their rank and ticket, the rank computed only for those
 * kept. ts_rank_cd() weighs a hit in the subject twice one in the text;
 * negated, so that lower is better as with bm25. The match is written
 * one of two ways: PG_MATCH, which the GIN index serves, or PG_FILTER,
 * which no index does. Ordered by "id", the planner may read the primary
 * key backwards until enough match; by "id + 0" it may not; the upper
 * bound on "id + 0" is a filter, on "id" it may be read by an index
 * (below). */
#define PG_SLICE                                                                                   \
	"SELECT id, -ts_rank_cd('{0, 0, 0.5, 1}', search_vector, ?1::tsquery), ticket"             \
	" FROM (SELECT id, search_vector, ticket FROM articles WHERE %s"                           \
	" AND id > ?2 AND %s <= ?3 ORDER BY %s DESC LIMIT %u) AS newest"
#define PG_MATCH "search_vector @@ ?1::tsquery"
#define PG_FILTER "(search_vector @@ ?1::tsquery) IS TRUE"
/* The snippets of the articles ?1 (dk_store_prepare_numbers()'s list) for
 * the tsquery ?2. */
#define PG_SNIPPETS                                                                                \
	"SELECT id, ts_headline('docket_search', subject || ' … ' || new_text, ?2::tsquery,"     \
	" 'StartSel=[, StopSel=], MaxWords=12, MinWords=3, MaxFragments=1,"                        \
	" FragmentDelimiter=…') FROM articles WHERE id = ANY (?1::bigint[])"

/* The first slice of ids PostgreSQL's search reads is this wide at least;
 * the planner may read it by the primary key when it is this wide at most
 * (should the planner misjudge the words, it reads no more rows). */
#define PG_FIRST_SLICE 2000
#define PG_WALK_MAX 100000

/* An article that matches, as PostgreSQL's search ranks it. */
typedef struct {
	gint64 id, ticket;
	double rank;
} Candidate;

static gboolean add_candidate(DkStmt *st, gpointer data)
{
	Candidate c = {dk_stmt_int64(st, 0), dk_stmt_int64(st, 2), dk_stmt_double(st, 1)};
	g_array_append_val(data, c);
	return TRUE;
}

/* Best first: the lower rank, then the newer article. */
static int by_rank(gconstpointer a, gconstpointer b)
{
	const Candidate *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id;
}

/* A row of EXPLAIN's text: the first, the plan's top, says how many rows
 * the planner reckons on ("rows=N"). */
static gboolean read_estimate(DkStmt *st, gpointer data)
{
	const char *line = dk_stmt_text(st, 0), *rows = line ? strstr(line, " rows=") : NULL;
	if (rows != NULL)
		*(gint64 *)data = g_ascii_strtoll(rows + 6, NULL, 10);
	return FALSE;
}

/* The newest of the articles with an id in (low, high] that match
 * tsquery, at most want, added to out. walk: read by the primary key,
 * newest first, until enough match, the match a filter (PG_FILTER):
 * given the choice, the planner took the GIN and BRIN indexes for some
 * words ("a certificate": 148,687 matches in the GIN index, 94 ms), and
 * with the BRIN's bitmap first their AND is lossy, every article of the
 * slice's pages rechecked (35,463); read by the primary key 66 ms. Else
 * by the indexes alone. A slice down to the first article is read by the
 * GIN index alone: the BRIN index would bring it nothing but a recheck of
 * every match, each reading its row (and the tsvector of an article stored
 * before migration 24 out of TOAST). */
static gboolean pg_slice(DkStore *store, const char *tsquery, gint64 low, gint64 high,
                         gboolean walk, guint want, GArray *out, GError **error)
{
	g_autofree char *sql =
	    g_strdup_printf(PG_SLICE, walk ? PG_FILTER : PG_MATCH, low == 0 ? "id + 0" : "id",
	                    walk ? "id" : "id + 0", want);
	DkStmt *st = dk_store_prepare_once(store, sql, error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_text(st, 1, tsquery);
	dk_stmt_bind_int64(st, 2, low);
	dk_stmt_bind_int64(st, 3, high);
	gboolean ok = dk_store_each_row(store, st, "searching", add_candidate, out, error);
	dk_stmt_free(st);
	return ok;
}

/* PostgreSQL's ranked candidates for query, the newest SEARCH_CANDIDATES
 * that match, best first; *tsquery_out the query's tsquery text (NULL
 * when it has no word).
 *
 * The GIN index finds the articles that hold the words, but not their
 * ids: each match is read from the table for its id, and the newest
 * 1,000 kept. Reading all the matches of a word in 7,500 of 5,000,000
 * articles took 7,000 pages; reading the newest articles by the primary
 * key until 1,000 match is right for "the" (in nearly every article) and
 * ruinous for a rare word. So the articles are read in slices of ids,
 * newest first, each sized to hold the matches still wanted with half as
 * many again: the first by the planner's reckoning of the words (a
 * statement of its own, EXPLAIN), the next by the matches found so far,
 * eight times as wide where none was. The BRIN index on the id (articles
 * are written in the order of their ids) confines a slice to its own
 * pages; a slice down to the first article needs no confining and is
 * read by the GIN index alone (pg_slice()). The planner may read the
 * first slice by the primary key when it
 * is narrow (the words are common, and its reckoning holds); any other
 * slice only by the indexes ("id + 0" is no index's order): its
 * statistics know the commonest words only, and reckon any other ten
 * times as common as it may be; a word in 1,334 articles, read by the
 * primary key, took 3.7 s for 1.7 million rows.
 * Each statement is planned for its values (an unnamed statement, the
 * tsquery a value): with the tsquery made inside the statement the
 * planner cannot see the words (a middling word read the primary key for
 * 4.7 s), and a plan cached for every word (a prepared statement's
 * generic plan, which PostgreSQL may settle on after five runs) read all
 * of a common word's matches (37 s for "the"). */
static GArray *pg_candidates(DkStore *store, const char *query, char **tsquery_out, GError **error)
{
	DkStmt *st = dk_store_query(store, PG_WORDS, error, "s", query);
	if (st == NULL)
		return NULL;
	if (dk_stmt_step(st) != DK_STMT_ROW) {
		dk_stmt_reset(st);
		dk_store_set_error(store, error, "making a search query");
		return NULL;
	}
	g_autofree char *tsquery = dk_store_column_text(st, 0);
	gint64 newest = dk_stmt_int64(st, 1), reckoned = 0;
	dk_stmt_reset(st);
	g_autoptr(GArray) out = g_array_new(FALSE, FALSE, sizeof(Candidate));
	if (tsquery == NULL || *tsquery == '\0' || newest == 0)
		return g_steal_pointer(&out);
	DkStmt *estimate = dk_store_prepare_once(store, PG_ESTIMATE, error);
	if (estimate == NULL)
		return NULL;
	dk_stmt_bind_text(estimate, 1, tsquery);
	gboolean ok =
	    dk_store_each_row(store, estimate, "searching", read_estimate, &reckoned, error);
	dk_stmt_free(estimate);
	if (!ok)
		return NULL;
	gint64 width = SEARCH_CANDIDATES * newest / MAX(reckoned, 1) * 3 / 2;
	for (gint64 high = newest; high > 0 && out->len < SEARCH_CANDIDATES;) {
		gint64 low = MAX(high - MAX(width, PG_FIRST_SLICE), 0);
		gboolean walk = high == newest && high - low <= PG_WALK_MAX;
		if (!pg_slice(store, tsquery, low, high, walk, SEARCH_CANDIDATES - out->len, out,
		              error))
			return NULL;
		gint64 read = newest - low, want = SEARCH_CANDIDATES - out->len;
		width = out->len ? want * read / out->len * 3 / 2 : read * 8;
		high = low;
	}
	g_array_sort(out, by_rank);
	*tsquery_out = g_steal_pointer(&tsquery);
	return g_steal_pointer(&out);
}

/* The snippet of one matching article on SQLite: FTS5 makes it only in
 * a query that matches, so it is asked for the hits kept. */
static gboolean search_snippet(DkStore *store, const char *query, DkSearchHit *hit, GError **error)
{
	DkStmt *st = dk_store_query(
	    store,
	    "SELECT snippet(article_search, -1, '[', ']', '…', 12) FROM article_search"
	    " WHERE article_search MATCH ? AND rowid = ?",
	    error, "si", query, hit->article);
	return dk_store_lookup_text(store, st, "making a search snippet", &hit->snippet, error);
}

/* The hits found so far: one per ticket, up to want. */
typedef struct {
	GPtrArray *out;
	GHashTable *seen; /* the tickets in out */
	guint want;
	DkStore *store;
	GError *error; /* looking up an article's ticket failed */
} Hits;

/* A new hit for article unless ticket has one; NULL when it has. */
static DkSearchHit *keep_hit(Hits *hits, gint64 ticket, gint64 article)
{
	if (g_hash_table_contains(hits->seen, &ticket))
		return NULL;
	DkSearchHit *h = g_new0(DkSearchHit, 1);
	h->ticket = ticket;
	h->article = article;
	g_ptr_array_add(hits->out, h);
	g_hash_table_add(hits->seen, &h->ticket);
	return h;
}

/* A row of (ticket, article, snippet text). */
static gboolean add_hit(DkStmt *st, gpointer data)
{
	Hits *hits = data;
	DkSearchHit *h = keep_hit(hits, dk_stmt_int64(st, 0), dk_stmt_int64(st, 1));
	if (h != NULL) {
		const char *snippet = dk_stmt_text(st, 2);
		h->snippet =
		    g_strdelimit(g_utf8_make_valid(snippet ? snippet : "", -1), "\r\n\t", ' ');
	}
	return hits->out->len < hits->want;
}

/* A row of (article, rank), best first: the article's ticket is looked up
 * here, only for the rows stepped over, not for every one ranked. */
static gboolean add_ranked(DkStmt *st, gpointer data)
{
	Hits *hits = data;
	gint64 article = dk_stmt_int64(st, 0), ticket = 0;
	DkStmt *q = dk_store_query(hits->store, "SELECT ticket FROM articles WHERE id = ?",
	                           &hits->error, "i", article);
	if (!dk_store_lookup_int64(hits->store, q, "searching", &ticket, NULL, &hits->error))
		return FALSE;
	DkSearchHit *h = keep_hit(hits, ticket, article);
	if (h != NULL)
		h->rank = dk_stmt_double(st, 1);
	return hits->out->len < hits->want;
}

/* A row of (article, snippet) for the hits of PostgreSQL's search. */
static gboolean add_snippet(DkStmt *st, gpointer data)
{
	GPtrArray *out = data;
	gint64 article = dk_stmt_int64(st, 0);
	for (guint i = 0; i < out->len; i++) {
		DkSearchHit *h = g_ptr_array_index(out, i);
		if (h->article == article && h->snippet == NULL)
			h->snippet = dk_store_column_text(st, 1);
	}
	return TRUE;
}

/* dk_store_search on PostgreSQL: one hit per ticket from the candidates,
 * best first, then the hits' snippets in one statement. */
static GPtrArray *pg_search(DkStore *store, const char *text, guint limit, GError **error)
{
	g_autofree char *tsquery = NULL;
	g_autoptr(GArray) candidates = pg_candidates(store, text, &tsquery, error);
	if (candidates == NULL)
		return NULL;
	g_autoptr(GPtrArray) out =
	    g_ptr_array_new_with_free_func((GDestroyNotify)dk_search_hit_free);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	Hits hits = {out, seen, limit ? limit : 50, store, NULL};
	for (guint i = 0; i < candidates->len && out->len < hits.want; i++) {
		const Candidate *c = &g_array_index(candidates, Candidate, i);
		DkSearchHit *h = keep_hit(&hits, c->ticket, c->id);
		if (h != NULL)
			h->rank = c->rank;
	}
	if (out->len == 0)
		return g_steal_pointer(&out);
	g_autofree gint64 *articles = g_new(gint64, out->len);
	for (guint i = 0; i < out->len; i++)
		articles[i] = ((DkSearchHit *)g_ptr_array_index(out, i))->article;
	/* PostgreSQL's only: its text stands for both backends' */
	DkStmt *st =
	    dk_store_prepare_numbers(store, PG_SNIPPETS, PG_SNIPPETS, articles, out->len, error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_text(st, 2, tsquery);
	if (!dk_store_each_row(store, st, "making search snippets", add_snippet, out, error))
		return NULL;
	return g_steal_pointer(&out);
}

static gboolean is_cjk(gunichar c)
{
	return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
	       (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF00 && c <= 0xFFEF);
}

gboolean dk_store_has_cjk(const char *text)
{
	/* Every one of those scripts takes three bytes or more in UTF-8, and
	 * a byte of 0xE2 or above only ever starts such a character: the
	 * others (ASCII, continuation bytes, two-byte characters) are passed
	 * over without decoding, ASCII eight bytes at a time. The writer
	 * thread runs this on every article's text. */
	if (text == NULL)
		return FALSE;
	const guchar *p = (const guchar *)text, *end = p + strlen(text);
	while (p < end) {
		guint64 word;
		if (end - p >= 8 && (memcpy(&word, p, 8), (word & 0x8080808080808080ULL) == 0)) {
			p += 8;
			continue;
		}
		if (*p >= 0xE2) {
			gunichar c = g_utf8_get_char_validated((const char *)p, end - p);
			if (c < (gunichar)-2 && is_cjk(c))
				return TRUE;
		}
		p++;
	}
	return FALSE;
}

/* Hits for a query with words in scripts written without spaces, from
 * the trigram index: each word a substring of the subject or the text.
 * LIKE on a trigram table uses its index for words of three characters
 * or more; shorter ones (two-character words) read the table, which
 * holds only those scripts' articles. Newest first. */
static GPtrArray *search_cjk(DkStore *store, const char *text, guint limit, GError **error)
{
	g_autoptr(GPtrArray) out =
	    g_ptr_array_new_with_free_func((GDestroyNotify)dk_search_hit_free);
	g_auto(GStrv) words = g_strsplit_set(text, " \t\n", -1);
	/* PostgreSQL: the articles themselves, with the condition of their
	 * trigram index (articles_search_cjk, store-schema-pg.c) */
	GString *sql = g_string_new(
	    DK_SQL(store,
	           "SELECT (SELECT ticket FROM articles WHERE id = s.rowid), s.rowid,"
	           " substr(s.new_text, 1, 80) FROM article_search_cjk s WHERE 1",
	           "SELECT s.ticket, s.id AS rowid, substr(s.new_text, 1, 80) FROM articles s"
	           " WHERE (s.subject || ' ' || s.new_text) ~ '[⺀-鿿가-힯豈-﫿＀-￯]'"));
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; words[i] != NULL && args->len < 16; i++) {
		if (*words[i] == '\0')
			continue;
		GString *like = g_string_new("%");
		for (const char *p = words[i]; *p; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				g_string_append_c(like, '\\');
			g_string_append_c(like, *p);
		}
		g_string_append_c(like, '%');
		/* each word its own parameter, ?N */
		if (store->backend == NULL)
			g_string_append_printf(sql,
			                       " AND (s.subject LIKE ?%u ESCAPE '\\'"
			                       " OR s.new_text LIKE ?%u ESCAPE '\\')",
			                       args->len + 1, args->len + 1);
		else
			g_string_append_printf(
			    sql, " AND (s.subject || ' ' || s.new_text) LIKE ?%u ESCAPE '\\'",
			    args->len + 1);
		g_ptr_array_add(args, g_string_free(like, FALSE));
	}
	g_string_append(sql, DK_SQL(store, " ORDER BY s.rowid DESC", " ORDER BY s.id DESC"));
	DkStmt *st = dk_store_prepare_once(store, sql->str, error);
	g_string_free(sql, TRUE);
	if (st == NULL)
		return NULL;
	for (guint i = 0; i < args->len; i++)
		dk_stmt_bind_static(st, (int)i + 1, g_ptr_array_index(args, i));
	g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	Hits hits = {out, seen, limit ? limit : 50, store, NULL};
	gboolean ok = dk_store_each_row(store, st, "searching", add_hit, &hits, error);
	dk_stmt_free(st);
	return ok ? g_steal_pointer(&out) : NULL;
}

/* Indexes the articles noted for search by a writer whose index lags
 * (dk_store_search_lag()), so that a search finds every article committed
 * before it. Within a transaction the caller's own articles are not
 * noted yet anyway (dk_store_search_defer()), and a catch-up cannot begin
 * there. */
static gboolean search_catch_up(DkStore *store, GError **error)
{
	if (store->backend != NULL || dk_store_in_transaction(store))
		return TRUE;
	gboolean noted = FALSE;
	if (!dk_store_lookup_int64(
	        store,
	        dk_store_query(store, "SELECT 1 FROM article_search_pending LIMIT 1", error, ""),
	        "looking for articles to index", NULL, &noted, error))
		return FALSE;
	return !noted || dk_store_search_catch_up(store, NULL, error);
}

GPtrArray *dk_store_search(DkStore *store, const char *text, guint limit, GError **error)
{
	/* Should it fail (the write lock busy past the timeout, a file only
	 * readable), the search goes on with the index as it is: the newest
	 * articles may be missing, nothing else. */
	g_autoptr(GError) behind = NULL;
	if (!search_catch_up(store, &behind))
		g_warning("store event=search_index result=failed error=\"%s\"", behind->message);
	if (text != NULL && dk_store_has_cjk(text))
		return search_cjk(store, text, limit, error);
	g_autoptr(GPtrArray) out =
	    g_ptr_array_new_with_free_func((GDestroyNotify)dk_search_hit_free);
	g_autofree char *query = fts_query(text ? text : "");
	if (query == NULL)
		return g_steal_pointer(&out);
	if (store->backend != NULL) /* PostgreSQL parses the words itself */
		return pg_search(store, text, limit, error);
	/* One hit per ticket, its best article: the newest SEARCH_CANDIDATES
	 * matches (FTS5 reads them newest first and stops there, so a word in
	 * millions of articles costs as much as one in a few thousand) are
	 * ranked, best first, and a ticket's later ones are skipped until
	 * limit tickets are found. A hit in the subject weighs twice one in
	 * the text. */
	if (!dk_store_rank_register(store, error))
		return NULL;
	DkStmt *st = dk_store_query(store,
	                            "SELECT id, rank FROM (SELECT rowid AS id,"
	                            " dk_rank(article_search, 2.0, 1.0) AS rank"
	                            " FROM article_search WHERE article_search MATCH ?"
	                            " ORDER BY rowid DESC LIMIT ?) ORDER BY rank, id DESC",
	                            error, "si", query, (gint64)SEARCH_CANDIDATES);
	if (st == NULL)
		return NULL;
	g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	Hits hits = {out, seen, limit ? limit : 50, store, NULL};
	gboolean ok = dk_store_each_row(store, st, "searching", add_ranked, &hits, error);
	if (hits.error != NULL) {
		g_propagate_error(error, hits.error);
		return NULL;
	}
	if (!ok)
		return NULL;
	for (guint i = 0; i < out->len; i++)
		if (!search_snippet(store, query, g_ptr_array_index(out, i), error))
			return NULL;
	return g_steal_pointer(&out);
}

#define SLA_COLUMNS                                                                                \
	"coalesce(first_response_due, 0), coalesce(resolution_due, 0),"                            \
	" coalesce(first_response_at, 0), sla_paused_seconds,"                                     \
	" coalesce(sla_paused_since, 0), coalesce(first_response_breached_at, 0),"                 \
	" coalesce(resolution_breached_at, 0), sla_paused_left IS NOT NULL,"                       \
	" coalesce(sla_paused_left, 0)"

/* DK_STORE_TICKET_FIELDS' columns, and SLA_COLUMNS'. */
enum { TICKET_COLUMNS = 12, SLA_COLUMN_COUNT = 9 };

/* The SLA_COLUMNS of a row, from its column from on. */
static void sla_from_row(DkStmt *st, int from, DkTicketSla *sla)
{
	gint64 *fields[] = {&sla->first_response_due,    &sla->resolution_due,
	                    &sla->first_response_at,     &sla->paused_seconds,
	                    &sla->paused_since,          &sla->first_response_breached_at,
	                    &sla->resolution_breached_at};
	int n = (int)G_N_ELEMENTS(fields);
	for (int i = 0; i < n; i++)
		*fields[i] = dk_stmt_int64(st, from + i);
	sla->has_paused_left = dk_stmt_int64(st, from + n) != 0;
	sla->paused_left = dk_stmt_int64(st, from + n + 1);
}

/* The SLA clocks of ticket number by sql, whose SLA_COLUMNS come after
 * the DK_STORE_TICKET_FIELDS of the ticket (into *t_out) or first (t_out
 * NULL); with after_out, the number in the column after them.
 * NOT_FOUND when there is no such ticket. */
static gboolean read_sla(DkStore *store, const char *sql, gint64 number, DkTicket **t_out,
                         DkTicketSla *sla, gint64 *after_out, GError **error)
{
	*sla = (DkTicketSla){0};
	DkStmt *st = dk_store_prepare(store, sql, error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, number);
	int rc = dk_stmt_step(st);
	if (rc == DK_STMT_ROW) {
		int from = t_out != NULL ? TICKET_COLUMNS : 0;
		if (t_out != NULL)
			*t_out = dk_store_ticket_from_row(st);
		sla_from_row(st, from, sla);
		if (after_out != NULL)
			*after_out = dk_stmt_int64(st, from + SLA_COLUMN_COUNT);
	}
	dk_stmt_reset(st);
	if (rc == DK_STMT_DONE) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no ticket #%" G_GINT64_FORMAT,
		            number);
		return FALSE;
	}
	if (rc != DK_STMT_ROW)
		return dk_store_set_error(store, error, "reading SLA clocks");
	return TRUE;
}

DkTicket *dk_store_ticket_get_with_sla(DkStore *store, gint64 number, DkTicketSla *sla,
                                       gint64 *merged_into_out, GError **error)
{
	DkTicket *t = NULL;
	read_sla(store,
	         "SELECT " DK_STORE_TICKET_FIELDS("-1") ", " SLA_COLUMNS
	                                                ", coalesce(t.merged_into, 0)"
	                                                " FROM tickets t WHERE number = ?",
	         number, &t, sla, merged_into_out, error);
	return t;
}

gboolean dk_store_ticket_sla_get(DkStore *store, gint64 ticket, DkTicketSla *sla, GError **error)
{
	return read_sla(store, "SELECT " SLA_COLUMNS " FROM tickets WHERE number = ?", ticket, NULL,
	                sla, NULL, error);
}

GArray *dk_store_tickets_sla_get(DkStore *store, GPtrArray *tickets, guint from, guint to,
                                 GError **error)
{
	to = MIN(to, tickets->len);
	guint n = from < to ? to - from : 0;
	g_autofree gint64 *numbers = g_new0(gint64, n + 1);
	for (guint i = 0; i < n; i++)
		numbers[i] = ((const DkTicket *)g_ptr_array_index(tickets, from + i))->number;
	DkStmt *st = dk_store_prepare_numbers(
	    store,
	    "SELECT number, " SLA_COLUMNS " FROM tickets WHERE number IN " DK_STORE_NUMBERS_SQLITE,
	    "SELECT number, " SLA_COLUMNS " FROM tickets WHERE number = " DK_STORE_NUMBERS_PG,
	    numbers, n, error);
	if (st == NULL)
		return NULL;
	g_autoptr(GHashTable) found =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	int rc;
	while ((rc = dk_stmt_step(st)) == DK_STMT_ROW) {
		DkTicketSla *sla = g_new0(DkTicketSla, 1);
		sla_from_row(st, 1, sla);
		g_hash_table_insert(
		    found, g_memdup2(&(gint64){dk_stmt_int64(st, 0)}, sizeof(gint64)), sla);
	}
	dk_stmt_reset(st);
	if (rc != DK_STMT_DONE) {
		dk_store_set_error(store, error, "reading SLA clocks");
		return NULL;
	}
	GArray *out = g_array_sized_new(FALSE, TRUE, sizeof(DkTicketSla), n);
	for (guint i = 0; i < n; i++) {
		const DkTicketSla *sla = g_hash_table_lookup(found, &numbers[i]);
		if (sla == NULL) {
			g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND,
			            "no ticket #%" G_GINT64_FORMAT, numbers[i]);
			g_array_unref(out);
			return NULL;
		}
		g_array_append_vals(out, sla, 1);
	}
	return out;
}

gboolean dk_store_ticket_sla_set(DkStore *store, gint64 ticket, const DkTicketSla *sla,
                                 GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store,
	    "UPDATE tickets SET first_response_due = nullif(?2, 0),"
	    " resolution_due = nullif(?3, 0), first_response_at = nullif(?4, 0),"
	    " sla_paused_seconds = ?5, sla_paused_since = nullif(?6, 0),"
	    " first_response_breached_at = nullif(?7, 0), resolution_breached_at = nullif(?8, 0),"
	    " sla_paused_left = ?9 WHERE number = ?1",
	    error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, ticket);
	const gint64 values[] = {sla->first_response_due,    sla->resolution_due,
	                         sla->first_response_at,     sla->paused_seconds,
	                         sla->paused_since,          sla->first_response_breached_at,
	                         sla->resolution_breached_at};
	for (guint i = 0; i < G_N_ELEMENTS(values); i++)
		dk_stmt_bind_int64(st, (int)i + 2, values[i]);
	if (sla->has_paused_left)
		dk_stmt_bind_int64(st, 9, sla->paused_left);
	else
		dk_stmt_bind_null(st, 9);
	return dk_store_run(store, st, "writing SLA clocks", error);
}

/* The status history's rows: the ticket's creation, then its status
 * changes in the order made (the desk and the writer record {"old",
 * "new"}, the rules {"value"}), each as (order, time, status). */
#define STATUS_HISTORY                                                                             \
	"SELECT 0 AS k, created_at AS at, 'new' AS status FROM tickets WHERE number = ?1"          \
	" UNION ALL SELECT id, created_at, coalesce(json_extract(detail, '$.new'),"                \
	" json_extract(detail, '$.value')) FROM events WHERE ticket = ?1"                          \
	" AND type = 'status_change'"

typedef struct {
	GArray *times, *statuses;
	DkTicket *ticket;
	DkTicketSla *sla;
} TicketHistory;

static gboolean add_ticket_history(DkStmt *st, gpointer data)
{
	TicketHistory *th = data;
	if (th->ticket == NULL) {
		th->ticket = dk_store_ticket_from_row(st);
		sla_from_row(st, TICKET_COLUMNS, th->sla);
	}
	const int h = TICKET_COLUMNS + SLA_COLUMN_COUNT; /* the history's columns */
	gint64 at = dk_stmt_int64(st, h);
	/* An event without a status it names counts as a working status:
	 * the clock runs. */
	DkTicketStatus status = DK_STATUS_OPEN;
	dk_ticket_status_parse(dk_stmt_text(st, h + 1), &status);
	g_array_append_val(th->times, at);
	g_array_append_val(th->statuses, status);
	return TRUE;
}

DkTicket *dk_store_ticket_get_with_history(DkStore *store, gint64 number, DkTicketSla *sla_out,
                                           GArray **times_out, GArray **statuses_out,
                                           GError **error)
{
	*sla_out = (DkTicketSla){0};
	DkStmt *st = dk_store_query(
	    store,
	    "SELECT " DK_STORE_TICKET_FIELDS(
	        "-1") ", " SLA_COLUMNS ", h.at, h.status FROM tickets t, (" STATUS_HISTORY ") h"
	              " WHERE t.number = ?1 ORDER BY h.k",
	    error, "i", number);
	if (st == NULL)
		return NULL;
	g_autoptr(GArray) times = g_array_new(FALSE, FALSE, sizeof(gint64));
	g_autoptr(GArray) statuses = g_array_new(FALSE, FALSE, sizeof(DkTicketStatus));
	TicketHistory th = {times, statuses, NULL, sla_out};
	if (!dk_store_each_row(store, st, "reading a ticket's SLA clocks and status history",
	                       add_ticket_history, &th, error)) {
		g_clear_pointer(&th.ticket, dk_ticket_free);
		return NULL;
	}
	if (th.ticket == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no ticket #%" G_GINT64_FORMAT,
		            number);
		return NULL;
	}
	*times_out = g_steal_pointer(&times);
	*statuses_out = g_steal_pointer(&statuses);
	return th.ticket;
}

GArray *dk_store_tickets_sla_open(DkStore *store, gint64 after, guint limit, gint64 due_by,
                                  GError **error)
{
	DkStmt *st = dk_store_query(
	    store,
	    "SELECT number FROM tickets WHERE number > ?1"
	    " AND status NOT IN ('resolved', 'closed') AND merged_into IS NULL"
	    " AND ((first_response_breached_at IS NULL AND (?3 = 0 OR (first_response_due <= ?3"
	    " AND (first_response_at IS NULL OR first_response_at > first_response_due))))"
	    " OR (resolution_breached_at IS NULL AND (?3 = 0 OR resolution_due <= ?3)))"
	    " ORDER BY number LIMIT ?2",
	    error, "iii", after, limit == 0 ? G_MAXINT64 : (gint64)limit, due_by);
	return st == NULL ? NULL : numbers(store, st, error);
}

void dk_time_entry_free(DkTimeEntry *e)
{
	if (e == NULL)
		return;
	g_free(e->note);
	g_free(e->author);
	g_free(e);
}

void dk_search_hit_free(DkSearchHit *h)
{
	if (h == NULL)
		return;
	g_free(h->snippet);
	g_free(h);
}
