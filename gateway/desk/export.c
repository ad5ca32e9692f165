/* `docket ticket export`: a ticket written to a folder with its raw mail
 * and attachment contents, so that an administrator can keep it before
 * retention purges them (retention.h). */
#include "gateway/desk/retention.h"

#include "gateway/desk/ticket-view.h"
#include "gateway/error.h"
#include "gateway/store/store-attachments.h"
#include "gateway/store/store-file.h"
#include "gateway/store/store-retention.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

void dk_export_report_clear(DkExportReport *report)
{
	g_clear_pointer(&report->purged, g_ptr_array_unref);
}

/* Creates dir, or takes an empty existing one. */
static gboolean make_dir(const char *dir, GError **error)
{
	g_autoptr(GDir) existing = g_dir_open(dir, 0, NULL);
	if (existing != NULL && g_dir_read_name(existing) != NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "%s is not empty: an export goes into a new or empty folder", dir);
		return FALSE;
	}
	if (g_mkdir_with_parents(dir, 0750) != 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "creating %s: %s", dir,
		            g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

static gboolean write_file(const char *dir, const char *name, const void *data, gsize len,
                           GError **error)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) local = NULL;
	if (g_file_set_contents(path, data, (gssize)len, &local))
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "writing %s", local->message);
	return FALSE;
}

/* A file name of the attachment's own name: no folders, no control
 * characters, no leading dot. */
static char *safe_name(const DkStoredAttachment *a)
{
	g_autofree char *name = g_strdup(a->filename && *a->filename ? a->filename : "attachment");
	for (char *c = name; *c != '\0'; c++)
		if ((guchar)*c < 0x20 || *c == 0x7f || *c == '/' || *c == '\\')
			*c = '_';
	if (name[0] == '.')
		name[0] = '_';
	return g_strdup_printf("attachment-%" G_GINT64_FORMAT "-%s", a->id, name);
}

/* A content that could not be read: one purged (or never kept) is a
 * sentence in report and TRUE; any other failure is the error. */
static gboolean note_gone(GError **local, DkExportReport *report, GError **error)
{
	if (g_error_matches(*local, DK_ERROR, DK_ERROR_GONE) ||
	    g_error_matches(*local, DK_ERROR, DK_ERROR_NOT_FOUND)) {
		g_ptr_array_add(report->purged, g_strdup((*local)->message));
		g_clear_error(local);
		return TRUE;
	}
	g_propagate_error(error, g_steal_pointer(local));
	return FALSE;
}

/* Fills a sink with the content of what (an article's raw mail, an
 * attachment's bytes). */
typedef gboolean (*Fill)(DkStore *store, gconstpointer what, DkStoreFileSink *out, GError **error);

static gboolean fill_raw(DkStore *store, gconstpointer what, DkStoreFileSink *out, GError **error)
{
	const DkArticle *a = what;
	return dk_store_raw_read(store, a->raw_sha256, dk_store_file_sink_write, out, error);
}

static gboolean fill_attachment(DkStore *store, gconstpointer what, DkStoreFileSink *out,
                                GError **error)
{
	return dk_store_attachment_copy(store, what, dk_store_file_sink_write, out, error);
}

/* A new file dir/name filled a piece at a time (a large content is never
 * held whole): TRUE when written; FALSE with *local set and no file left
 * when the content could not be read or written, FALSE with error set
 * when the file could not be made. */
static gboolean export_file(DkStore *store, const char *dir, const char *name, Fill fill,
                            gconstpointer what, GError **local, GError **error)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *doing = g_strdup_printf("writing %s", path);
	DkStoreFileSink out = {g_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666), doing};
	if (out.fd < 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "%s: %s", doing,
		            g_strerror(errno));
		return FALSE;
	}
	gboolean ok = fill(store, what, &out, local);
	if (close(out.fd) != 0 && ok) {
		g_set_error(local, DK_ERROR, DK_ERROR_TEMPORARY, "%s: %s", doing,
		            g_strerror(errno));
		ok = FALSE;
	}
	if (!ok)
		g_unlink(path);
	return ok;
}

/* The article's raw mail; no file when it cannot be read. */
static gboolean export_article(DkStore *store, const DkArticle *a, const char *dir,
                               DkExportReport *report, GError **error)
{
	if (a->raw_sha256 == NULL)
		return TRUE; /* a note or reply written here: no raw mail */
	g_autofree char *name = g_strdup_printf("article-%" G_GINT64_FORMAT ".eml", a->id);
	g_autoptr(GError) local = NULL;
	if (export_file(store, dir, name, fill_raw, a, &local, error)) {
		report->articles++;
		return TRUE;
	}
	if (local == NULL)
		return FALSE;
	g_prefix_error(&local, "article %" G_GINT64_FORMAT ": ", a->id);
	return note_gone(&local, report, error);
}

/* The attachment's bytes; no file when they cannot be read. */
static gboolean export_attachment(DkStore *store, const DkStoredAttachment *a, const char *dir,
                                  DkExportReport *report, GError **error)
{
	g_autofree char *name = safe_name(a);
	g_autoptr(GError) local = NULL;
	if (export_file(store, dir, name, fill_attachment, a, &local, error)) {
		report->attachments++;
		return TRUE;
	}
	return local == NULL ? FALSE : note_gone(&local, report, error);
}

/* ticket.json, the document `ticket show --json` prints. */
static gboolean export_json(const DkTicketView *v, const char *prefix, const char *dir,
                            GError **error)
{
	g_autoptr(json_t) doc = dk_ticket_view_json(v, prefix);
	g_autofree char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	g_autofree char *line = g_strconcat(text ? text : "{}", "\n", NULL);
	return write_file(dir, "ticket.json", line, strlen(line), error);
}

static gboolean export_view(DkStore *store, const DkTicketView *v, const char *prefix,
                            const char *dir, DkExportReport *report, GError **error)
{
	if (!make_dir(dir, error) || !export_json(v, prefix, dir, error))
		return FALSE;
	for (guint i = 0; i < v->articles->len; i++)
		if (!export_article(store, g_ptr_array_index(v->articles, i), dir, report, error))
			return FALSE;
	for (guint i = 0; i < v->attachments->len; i++)
		if (!export_attachment(store, g_ptr_array_index(v->attachments, i), dir, report,
		                       error))
			return FALSE;
	return TRUE;
}

gboolean dk_retention_export(DkStore *store, gint64 number, const char *prefix, const char *dir,
                             gint64 now, DkExportReport *report, GError **error)
{
	dk_export_report_clear(report);
	*report = (DkExportReport){.purged = g_ptr_array_new_with_free_func(g_free)};
	DkTicketView v = {.now = now};
	gboolean ok = dk_ticket_view_load(store, number, &v, error) &&
	              export_view(store, &v, prefix, dir, report, error);
	dk_ticket_view_clear(&v);
	return ok;
}
