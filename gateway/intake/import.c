/* Importing an mbox file or a Maildir through the pipeline, in batches. */
#include "gateway/intake/import.h"

#include "gateway/error.h"
#include "gateway/store/store-file.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_BATCH 100
/* A multiple of the page size of every platform docket runs on. */
#define PAGE_BYTES 65536

/* A batch being filled: the items, and where each came from. */
typedef struct {
	DkPipeline *pipeline;
	const DkImportOptions *options;
	DkImportStats *stats;
	GPtrArray *items;  /* of DkPipelineItem* */
	GPtrArray *wheres; /* of char*, parallel to items */
} Batch;

static gboolean starts_from_line(const char *p, gsize left)
{
	return left >= 5 && memcmp(p, "From ", 5) == 0;
}

/* Parses "From sender Tue Nov 24 09:15:00 2026" (asctime, RFC 4155). */
static void parse_from_line(const char *line, gsize len, char **sender_out, gint64 *date_out)
{
	g_autofree char *copy = g_strndup(line, len);
	g_strchomp(copy);
	char *rest = copy + 5;
	char *space = strchr(rest, ' ');
	*sender_out = g_strndup(rest, space ? (gsize)(space - rest) : strlen(rest));
	*date_out = 0;
	char wday[4], mon[4];
	int day, h, m, s, year;
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (space != NULL &&
	    sscanf(space, " %3s %3s %d %d:%d:%d %d", wday, mon, &day, &h, &m, &s, &year) == 7) {
		const char *found = strstr(months, mon);
		if (found != NULL && (found - months) % 3 == 0) {
			g_autoptr(GDateTime) dt = g_date_time_new_utc(
			    year, (int)((found - months) / 3) + 1, day, h, m, s);
			if (dt != NULL)
				*date_out = g_date_time_to_unix(dt);
		}
	}
}

GBytes *dk_import_mbox_next(const char *data, gsize len, gsize *offset, char **sender_out,
                            gint64 *date_out)
{
	*sender_out = NULL;
	*date_out = 0;
	gsize pos = *offset;
	if (pos >= len)
		return NULL;
	if (starts_from_line(data + pos, len - pos)) {
		const char *eol = memchr(data + pos, '\n', len - pos);
		gsize line_end = eol ? (gsize)(eol - data) + 1 : len;
		parse_from_line(data + pos, line_end - pos, sender_out, date_out);
		pos = line_end;
	}
	GByteArray *out = g_byte_array_new();
	gboolean blank_before = FALSE;
	while (pos < len) {
		if (blank_before && starts_from_line(data + pos, len - pos))
			break;
		const char *eol = memchr(data + pos, '\n', len - pos);
		gsize end = eol ? (gsize)(eol - data) + 1 : len;
		const char *line = data + pos;
		gsize n = end - pos;
		/* mboxrd: ">From ", ">>From " ... lose one '>'. */
		gsize q = 0;
		while (q < n && line[q] == '>')
			q++;
		if (q > 0 && starts_from_line(line + q, n - q)) {
			line++;
			n--;
		}
		g_byte_array_append(out, (const guint8 *)line, (guint)n);
		blank_before =
		    (n == 1 && line[0] == '\n') || (n == 2 && line[0] == '\r' && line[1] == '\n');
		pos = end;
	}
	/* The empty line before the next From_ line belongs to the format. */
	if (pos < len && out->len > 0 && out->data[out->len - 1] == '\n') {
		g_byte_array_set_size(out, out->len - 1);
		if (out->len > 0 && out->data[out->len - 1] == '\r')
			g_byte_array_set_size(out, out->len - 1);
	}
	*offset = pos;
	return g_byte_array_free_to_bytes(out);
}

static void refused(DkImportStats *stats, const char *where, const GError *why)
{
	stats->refused++;
	g_ptr_array_add(stats->reasons, g_strdup_printf("%s: %s", where, why->message));
}

static gboolean flush(Batch *b, GError **error)
{
	if (b->items->len == 0)
		return TRUE;
	if (!dk_pipeline_commit(b->pipeline, (DkPipelineItem **)b->items->pdata, b->items->len,
	                        error))
		return FALSE;
	for (guint i = 0; i < b->items->len; i++) {
		DkPipelineItem *item = g_ptr_array_index(b->items, i);
		const GError *why = dk_pipeline_item_error(item);
		DkOutcome outcome = dk_pipeline_item_result(item)->outcome;
		if (why != NULL)
			refused(b->stats, g_ptr_array_index(b->wheres, i), why);
		else if (outcome == DK_OUTCOME_DUPLICATE)
			b->stats->duplicates++;
		else if (outcome == DK_OUTCOME_QUARANTINED)
			b->stats->quarantined++;
		else if (outcome == DK_OUTCOME_DROPPED)
			b->stats->dropped++;
		else
			b->stats->imported++;
	}
	g_ptr_array_set_size(b->items, 0);
	g_ptr_array_set_size(b->wheres, 0);
	return TRUE;
}

/* A large message prepared from a file it is written into (an unnamed one
 * in the options' spool_dir), so that the batch holds a descriptor for it
 * until the commit, not its bytes, as LMTP and IMAP hand over a large
 * message. */
static DkPipelineItem *prepare_spooled(Batch *b, GBytes *raw, const DkIntake *intake,
                                       GError **error)
{
	const char *dir = b->options->spool_dir;
	int fd = dir ? dk_store_file_spool(dir, "import") : dk_store_file_temporary("import");
	gsize n = 0;
	const char *p = g_bytes_get_data(raw, &n);
	if (fd < 0 || !dk_store_file_write_all(fd, p, n)) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "spooling the message in %s: %s",
		            dir ? dir : g_get_tmp_dir(), g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	DkPipelineItem *item = dk_pipeline_prepare_fd(b->pipeline, fd, n, intake, error);
	close(fd); /* the item keeps its own descriptor */
	return item;
}

/* Prepares one message into the batch; commits the batch when full. */
static gboolean add(Batch *b, GBytes *raw, const char *where, const DkIntake *intake,
                    GError **error)
{
	b->stats->messages++;
	g_autoptr(GError) why = NULL;
	DkPipelineItem *item = NULL;
	if (g_bytes_get_size(raw) > b->options->max_message_size)
		g_set_error(&why, DK_ERROR, DK_ERROR_PERMANENT,
		            "larger than [intake] max_message_size");
	else if (g_bytes_get_size(raw) > DK_PIPELINE_LARGE_MESSAGE)
		item = prepare_spooled(b, raw, intake, &why);
	else
		item = dk_pipeline_prepare(b->pipeline, raw, intake, &why);
	if (item == NULL) {
		refused(b->stats, where, why);
		return TRUE;
	}
	g_ptr_array_add(b->items, item);
	g_ptr_array_add(b->wheres, g_strdup(where));
	guint max = b->options->batch_size ? b->options->batch_size : DEFAULT_BATCH;
	return b->items->len < max || flush(b, error);
}

static void report(Batch *b, guint64 done, guint64 total)
{
	if (b->options->progress != NULL)
		b->options->progress(done, total, b->stats, b->options->progress_data);
}

/* How the messages come in: live mail, or history. */
static DkIntake intake_of(const DkImportOptions *o)
{
	return (DkIntake){.intake = o->history ? "history" : "import",
	                  .keep_numbers = o->history ? o->keep_numbers : NULL,
	                  .number_from = o->history ? o->number_from : 0};
}

static gboolean import_mbox(Batch *b, const char *path, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GMappedFile) file = g_mapped_file_new(path, FALSE, &local);
	if (file == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s", local->message);
		return FALSE;
	}
	const char *data = g_mapped_file_get_contents(file);
	gsize len = g_mapped_file_get_length(file), offset = 0, dropped = 0;
	if (len > 0 && !starts_from_line(data, len)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s is not an mbox file (no \"From \" line first)", path);
		return FALSE;
	}
	for (;;) {
		gsize start = offset;
		g_autofree char *sender = NULL;
		gint64 date = 0;
		g_autoptr(GBytes) raw = dk_import_mbox_next(data, len, &offset, &sender, &date);
		if (raw == NULL)
			break;
		g_autofree char *where =
		    g_strdup_printf("message %" G_GUINT64_FORMAT " (byte %" G_GSIZE_FORMAT ")",
		                    b->stats->messages + 1, start);
		DkIntake intake = intake_of(b->options);
		intake.envelope_from = sender;
		intake.received_at = date;
		if (!add(b, raw, where, &intake, error))
			return FALSE;
		/* the pages read so far are not read again: let them go, so
		 * that a large mbox does not stay resident as it is read */
		gsize done = offset / PAGE_BYTES * PAGE_BYTES;
		if (done > dropped) {
			madvise((char *)data + dropped, done - dropped, MADV_DONTNEED);
			dropped = done;
		}
		if (b->items->len == 0)
			report(b, offset, len);
	}
	return flush(b, error) && (report(b, len, len), TRUE);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The message files of a Maildir: cur/ and new/, sorted by name. */
static GPtrArray *maildir_files(const char *path, GError **error)
{
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	static const char *const subs[] = {"cur", "new"};
	for (guint i = 0; i < G_N_ELEMENTS(subs); i++) {
		g_autofree char *dir_path = g_build_filename(path, subs[i], NULL);
		g_autoptr(GError) local = NULL;
		g_autoptr(GDir) dir = g_dir_open(dir_path, 0, &local);
		if (dir == NULL) {
			g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s is not a Maildir: %s",
			            path, local->message);
			g_ptr_array_unref(files);
			return NULL;
		}
		for (const char *name; (name = g_dir_read_name(dir)) != NULL;)
			if (name[0] != '.')
				g_ptr_array_add(files, g_build_filename(subs[i], name, NULL));
	}
	g_ptr_array_sort(files, compare_names);
	return files;
}

static gboolean import_maildir(Batch *b, const char *path, GError **error)
{
	g_autoptr(GPtrArray) files = maildir_files(path, error);
	if (files == NULL)
		return FALSE;
	DkIntake intake = intake_of(b->options);
	for (guint i = 0; i < files->len; i++) {
		const char *name = g_ptr_array_index(files, i);
		g_autofree char *full = g_build_filename(path, name, NULL);
		g_autofree char *contents = NULL;
		gsize size = 0;
		g_autoptr(GError) why = NULL;
		if (!g_file_get_contents(full, &contents, &size, &why)) {
			b->stats->messages++;
			refused(b->stats, name, why);
			continue;
		}
		g_autoptr(GBytes) raw = g_bytes_new_take(g_steal_pointer(&contents), size);
		if (!add(b, raw, name, &intake, error))
			return FALSE;
		if (b->items->len == 0)
			report(b, i + 1, files->len);
	}
	return flush(b, error) && (report(b, files->len, files->len), TRUE);
}

gboolean dk_import_path(DkPipeline *pipeline, const char *path, const DkImportOptions *options,
                        DkImportStats *stats, GError **error)
{
	*stats = (DkImportStats){.reasons = g_ptr_array_new_with_free_func(g_free)};
	g_autoptr(GPtrArray) items =
	    g_ptr_array_new_with_free_func((GDestroyNotify)dk_pipeline_item_free);
	g_autoptr(GPtrArray) wheres = g_ptr_array_new_with_free_func(g_free);
	Batch b = {pipeline, options, stats, items, wheres};
	if (g_file_test(path, G_FILE_TEST_IS_DIR))
		return import_maildir(&b, path, error);
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "%s: no such file or folder",
		            path);
		return FALSE;
	}
	return import_mbox(&b, path, error);
}

void dk_import_stats_clear(DkImportStats *stats)
{
	g_clear_pointer(&stats->reasons, g_ptr_array_unref);
}
