/* dk_rank(), the rank of a search hit: FTS5's bm25() (Okapi BM25 with
 * k1 = 1.2 and b = 0.75, a weight per column, lower is better), except for
 * how many rows contain each word. bm25() counts them by walking every
 * row that matches the word before it ranks the first: for a word in most
 * of five million articles, seconds, once per query. dk_rank() counts up
 * to DK_RANK_COUNTED rows and, past that, estimates the number from how
 * many row ids those rows span (a word in every other row spans twice as
 * many ids as it has rows). Below the cap the count, and so the rank, is
 * bm25()'s exactly; above it the word is common, weighs next to nothing
 * in either, and the estimate keeps the order of two common words. */
#include "gateway/store/store-private.h"

#include <sqlite3.h>

#include <math.h>

#define DK_RANK_COUNTED 2000

/* What every row of one query shares: the words' weights (idf) and the
 * average row length, computed on the query's first row. */
typedef struct {
	int phrases;
	double average_length;
	double *idf;
	double *frequency; /* per phrase, for the row at hand */
} RankData;

static void rank_data_free(void *p)
{
	RankData *data = p;
	g_free(data->idf);
	g_free(data->frequency);
	g_free(data);
}

/* Counting the rows of one phrase, up to DK_RANK_COUNTED. */
typedef struct {
	const Fts5ExtensionApi *api;
	gint64 rows;
	gint64 first, last; /* the lowest and highest row id seen */
} PhraseCount;

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *data)
{
	PhraseCount *count = data;
	gint64 id = api->xRowid(fts);
	count->first = count->rows ? MIN(count->first, id) : id;
	count->last = count->rows ? MAX(count->last, id) : id;
	return ++count->rows >= DK_RANK_COUNTED ? SQLITE_DONE : SQLITE_OK;
}

/* How many of the table's rows rows contain phrase i, counted or (past
 * the cap) estimated. */
static int phrase_rows(const Fts5ExtensionApi *api, Fts5Context *fts, int i, gint64 rows,
                       double *out)
{
	PhraseCount count = {api, 0, 0, 0};
	int rc = api->xQueryPhrase(fts, i, &count, count_row);
	if (rc != SQLITE_OK)
		return rc;
	*out = (double)count.rows;
	if (count.rows >= DK_RANK_COUNTED)
		*out = MIN((double)rows, (double)count.rows * (double)rows /
		                             (double)(count.last - count.first + 1));
	return SQLITE_OK;
}

static int rank_data_make(const Fts5ExtensionApi *api, Fts5Context *fts, RankData **out)
{
	sqlite3_int64 rows = 0, tokens = 0;
	int rc = api->xRowCount(fts, &rows);
	if (rc == SQLITE_OK)
		rc = api->xColumnTotalSize(fts, -1, &tokens);
	if (rc != SQLITE_OK)
		return rc;
	RankData *data = g_new0(RankData, 1);
	data->phrases = api->xPhraseCount(fts);
	data->average_length = rows > 0 ? (double)tokens / (double)rows : 1;
	data->idf = g_new0(double, data->phrases);
	data->frequency = g_new0(double, data->phrases);
	for (int i = 0; i < data->phrases && rc == SQLITE_OK; i++) {
		double hits = 0;
		rc = phrase_rows(api, fts, i, rows, &hits);
		double idf = log(((double)rows - hits + 0.5) / (hits + 0.5));
		data->idf[i] = idf <= 0 ? 1e-6 : idf;
	}
	if (rc == SQLITE_OK)
		rc = api->xSetAuxdata(fts, data, rank_data_free);
	if (rc != SQLITE_OK) {
		rank_data_free(data);
		return rc;
	}
	*out = data;
	return SQLITE_OK;
}

/* dk_rank(table, weight of column 0, weight of column 1, ...). */
static void rank(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int n,
                 sqlite3_value **weights)
{
	RankData *data = api->xGetAuxdata(fts, 0);
	int rc = data != NULL ? SQLITE_OK : rank_data_make(api, fts, &data);
	int instances = 0;
	if (rc == SQLITE_OK)
		rc = api->xInstCount(fts, &instances);
	if (rc == SQLITE_OK)
		memset(data->frequency, 0, sizeof(double) * (size_t)data->phrases);
	for (int i = 0; i < instances && rc == SQLITE_OK; i++) {
		int phrase = 0, column = 0, offset = 0;
		rc = api->xInst(fts, i, &phrase, &column, &offset);
		if (rc == SQLITE_OK)
			data->frequency[phrase] +=
			    column < n ? sqlite3_value_double(weights[column]) : 1;
	}
	int length = 0;
	if (rc == SQLITE_OK)
		rc = api->xColumnSize(fts, -1, &length);
	if (rc != SQLITE_OK) {
		sqlite3_result_error_code(ctx, rc);
		return;
	}
	const double k1 = 1.2, b = 0.75;
	double score = 0;
	for (int i = 0; i < data->phrases; i++) {
		double f = data->frequency[i];
		score += data->idf[i] * (f * (k1 + 1)) /
		         (f + k1 * (1 - b + b * (double)length / data->average_length));
	}
	sqlite3_result_double(ctx, -score);
}

gboolean dk_store_rank_register(DkStore *store, GError **error)
{
	if (store->rank_registered)
		return TRUE;
	fts5_api *fts = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(store->db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
		return dk_store_sqlite_error(store->db, error, "finding FTS5");
	sqlite3_bind_pointer(st, 1, (void *)&fts, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (fts == NULL || fts->xCreateFunction(fts, "dk_rank", NULL, rank, NULL) != SQLITE_OK) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "store: cannot add dk_rank to FTS5");
		return FALSE;
	}
	store->rank_registered = TRUE;
	return TRUE;
}
