/* Importing an mbox file or a Maildir through the pipeline, in batches. */
#include "gateway/intake/import.h"

#include "gateway/error.h"
#include "gateway/intake/lmtp-data.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_BATCH 100
/* A multiple of the page size of every platform docket runs on. */
#define PAGE_BYTES 65536
/* A Maildir file is read this much at a time. */
#define READ_BYTES 65536

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

/* Where mbox_read() puts a message's bytes, a line at a time: FALSE (with
 * error) stops it. */
typedef gboolean (*MboxSink)(const char *bytes, gsize n, gpointer data, GError **error);

/* Reads the message at data[*offset..len) into sink: its lines with the
 * From_ line taken off and >From lines un-escaped, less the empty line
 * that ends it before the next From_ line (which belongs to the format).
 * Its envelope sender (or NULL) and From_ date (or 0) into the outs;
 * advances *offset. FALSE at the end (nothing read), or when the sink
 * failed (error set). */
static gboolean mbox_read(const char *data, gsize len, gsize *offset, MboxSink sink,
                          gpointer sink_data, char **sender_out, gint64 *date_out, GError **error)
{
	*sender_out = NULL;
	*date_out = 0;
	gsize pos = *offset;
	if (pos >= len)
		return FALSE;
	if (starts_from_line(data + pos, len - pos)) {
		const char *eol = memchr(data + pos, '\n', len - pos);
		gsize line_end = eol ? (gsize)(eol - data) + 1 : len;
		parse_from_line(data + pos, line_end - pos, sender_out, date_out);
		pos = line_end;
	}
	/* a line goes to the sink once the next is read: the last one, the
	 * empty line before a From_ line, is then left out */
	const char *held = NULL;
	gsize held_n = 0;
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
		if (held != NULL && !sink(held, held_n, sink_data, error))
			return FALSE;
		held = line;
		held_n = n;
		blank_before =
		    (n == 1 && line[0] == '\n') || (n == 2 && line[0] == '\r' && line[1] == '\n');
		pos = end;
	}
	*offset = pos;
	if (held == NULL || (pos < len && blank_before))
		return TRUE;
	return sink(held, held_n, sink_data, error);
}

static gboolean append(const char *bytes, gsize n, gpointer data, GError **error)
{
	(void)error;
	g_byte_array_append(data, (const guint8 *)bytes, (guint)n);
	return TRUE;
}

GBytes *dk_import_mbox_next(const char *data, gsize len, gsize *offset, char **sender_out,
                            gint64 *date_out)
{
	GByteArray *out = g_byte_array_new();
	if (!mbox_read(data, len, offset, append, out, sender_out, date_out, NULL)) {
		g_byte_array_unref(out);
		return NULL;
	}
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

/* The messages of one mbox or Maildir being read, one at a time: each
 * into a spool (memory, then past 256 KiB a file without a name in the
 * options' spool_dir or $TMPDIR), not past max_message_size: the rest of
 * a larger one is read and dropped. */
typedef struct {
	DkLmtpSpool *spool; /* the message being read */
	gsize read;         /* its bytes, those past max included */
	gsize max;
	const char *dir;
	const char *map; /* an mbox's map, whose pages read are let go */
	gsize dropped;   /* bytes of map let go */
} Reading;

static Reading reading_of(Batch *b, const char *map)
{
	const char *dir = b->options->spool_dir;
	return (Reading){
	    .max = b->options->max_message_size, .dir = dir ? dir : g_get_tmp_dir(), .map = map};
}

static void reading_clear(Reading *r)
{
	g_clear_pointer(&r->spool, dk_lmtp_spool_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Reading, reading_clear)

/* Starts the next message: a new spool, nothing read. */
static void reading_next(Reading *r)
{
	reading_clear(r);
	r->spool = dk_lmtp_spool_new(r->dir);
	r->read = 0;
}

static gboolean spool_piece(const char *bytes, gsize n, gpointer data, GError **error)
{
	Reading *r = data;
	/* pages of the map before this line are not read again: let them
	 * go, so that a large mbox does not stay resident as it is read */
	gsize done = r->map ? (gsize)(bytes - r->map) / PAGE_BYTES * PAGE_BYTES : 0;
	if (done >= r->dropped + 16 * PAGE_BYTES) {
		madvise((char *)r->map + r->dropped, done - r->dropped, MADV_DONTNEED);
		r->dropped = done;
	}
	r->read += n;
	return r->read > r->max || dk_lmtp_spool_write(r->spool, bytes, n, error);
}

/* Prepares the message read into the batch: a large one from its spool
 * file (the item keeps a descriptor of it, not its bytes, as LMTP and IMAP
 * hand one over), a small one from memory; commits the batch when full.
 * FALSE when the spool fails (a temporary error: the import stops) or
 * the commit does. */
static gboolean add(Batch *b, Reading *r, const char *where, const DkIntake *intake, GError **error)
{
	b->stats->messages++;
	if (!dk_lmtp_spool_finish(r->spool, error))
		return FALSE;
	g_autoptr(GError) why = NULL;
	DkPipelineItem *item = NULL;
	gsize size = dk_lmtp_spool_size(r->spool);
	if (r->read > r->max) {
		g_set_error(&why, DK_ERROR, DK_ERROR_PERMANENT,
		            "larger than [intake] max_message_size");
	} else if (size > DK_PIPELINE_LARGE_MESSAGE) {
		item = dk_pipeline_prepare_fd(b->pipeline, dk_lmtp_spool_fd(r->spool), size, intake,
		                              &why);
	} else {
		g_autoptr(GBytes) raw = dk_lmtp_spool_contents(r->spool, error);
		if (raw == NULL)
			return FALSE;
		item = dk_pipeline_prepare(b->pipeline, raw, intake, &why);
	}
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
	gsize len = g_mapped_file_get_length(file), offset = 0;
	if (len > 0 && !starts_from_line(data, len)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s is not an mbox file (no \"From \" line first)", path);
		return FALSE;
	}
	g_auto(Reading) r = reading_of(b, data);
	for (;;) {
		gsize start = offset;
		g_autofree char *sender = NULL;
		gint64 date = 0;
		reading_next(&r);
		GError *failed = NULL;
		gboolean more =
		    mbox_read(data, len, &offset, spool_piece, &r, &sender, &date, &failed);
		if (!more && failed == NULL)
			break;
		g_autofree char *where =
		    g_strdup_printf("message %" G_GUINT64_FORMAT " (byte %" G_GSIZE_FORMAT ")",
		                    b->stats->messages + 1, start);
		DkIntake intake = intake_of(b->options);
		intake.envelope_from = sender;
		intake.received_at = date;
		if (failed != NULL) {
			g_propagate_error(error, failed);
			return FALSE;
		}
		if (!add(b, &r, where, &intake, error))
			return FALSE;
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

/* Reads the file path into r a piece at a time: FALSE with *why set when
 * it cannot be read (the message is refused), with *error when the spool
 * fails (the import stops). */
static gboolean read_file(const char *path, Reading *r, GError **why, GError **error)
{
	int fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		g_set_error(why, DK_ERROR, DK_ERROR_PERMANENT, "%s: %s", path, g_strerror(errno));
		return FALSE;
	}
	g_autofree char *buf = g_malloc(READ_BYTES);
	gboolean ok = TRUE;
	for (;;) {
		ssize_t n = read(fd, buf, READ_BYTES);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			g_set_error(why, DK_ERROR, DK_ERROR_PERMANENT, "%s: %s", path,
			            g_strerror(errno));
		if (n <= 0) {
			ok = n == 0;
			break;
		}
		if (!spool_piece(buf, (gsize)n, r, error)) {
			ok = FALSE;
			break;
		}
	}
	close(fd);
	return ok;
}

static gboolean import_maildir(Batch *b, const char *path, GError **error)
{
	g_autoptr(GPtrArray) files = maildir_files(path, error);
	if (files == NULL)
		return FALSE;
	DkIntake intake = intake_of(b->options);
	g_auto(Reading) r = reading_of(b, NULL);
	for (guint i = 0; i < files->len; i++) {
		const char *name = g_ptr_array_index(files, i);
		g_autofree char *full = g_build_filename(path, name, NULL);
		reading_next(&r);
		g_autoptr(GError) why = NULL;
		GError *failed = NULL;
		if (!read_file(full, &r, &why, &failed)) {
			if (failed != NULL) {
				g_propagate_error(error, failed);
				return FALSE;
			}
			b->stats->messages++;
			refused(b->stats, name, why);
			continue;
		}
		if (!add(b, &r, name, &intake, error))
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
