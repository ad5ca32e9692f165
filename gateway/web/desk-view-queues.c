/* The web desk's quarantine and outbox pages, read from the store
 * (desk-view.h). */
#include "gateway/web/desk-view.h"

#include "gateway/error.h"
#include "gateway/store/store-outbox.h"
#include "gateway/web/desk-view-private.h"
#include "parsers/message.h"

#include <gmime/gmime.h>
#include <string.h>

/* How much of a set-aside message is read for its From and Subject. */
#define HEADER_PEEK (64 * 1024)

/* The value of header field name (unfolded, decoded) in the header block
 * at the start of raw, or NULL: what a person recognises a set-aside
 * message by. Reads at most HEADER_PEEK bytes; mail docket could not parse
 * may be anything, so nothing here trusts it. */
static char *peek_header(GBytes *raw, const char *name)
{
	gsize len = 0;
	const char *p = g_bytes_get_data(raw, &len);
	const char *end = p + MIN(len, HEADER_PEEK);
	gsize n = strlen(name);
	g_autoptr(GString) value = NULL;
	while (p != NULL && p < end && *p != '\r' && *p != '\n') {
		const char *eol = memchr(p, '\n', (gsize)(end - p));
		const char *stop = eol != NULL ? eol : end;
		if (stop > p && stop[-1] == '\r')
			stop--;
		gboolean folded = *p == ' ' || *p == '\t';
		if (value != NULL && !folded)
			break;
		if (value != NULL)
			g_string_append_len(value, p, stop - p);
		else if ((gsize)(stop - p) > n && g_ascii_strncasecmp(p, name, n) == 0 &&
		         p[n] == ':')
			value = g_string_new_len(p + n + 1, stop - p - (gssize)n - 1);
		p = eol != NULL ? eol + 1 : NULL;
	}
	if (value == NULL)
		return NULL;
	g_autofree char *text =
	    g_strstrip(g_strdelimit(g_string_free(g_steal_pointer(&value), FALSE), "\r\t", ' '));
	g_autofree char *valid = g_utf8_make_valid(text, -1);
	dk_gmime_init();
	return g_mime_utils_header_decode_text(NULL, valid);
}

static json_t *quarantined_json(DkStore *store, const DkQuarantined *q)
{
	g_autofree char *size = g_format_size((guint64)q->size);
	json_t *o =
	    json_pack("{sI ss ss so ss so}", "id", (json_int_t)q->id, "kind",
	              q->kind ? q->kind : "unreadable", "reason", q->reason ? q->reason : "",
	              "envelope_from", dk_desk_jstr(q->envelope_from), "size_label", size, "ticket",
	              q->ticket ? json_integer(q->ticket) : json_null());
	dk_desk_set_time(o, "received", q->received_at);
	g_autoptr(GBytes) raw = dk_store_raw_head(store, q->raw_sha256, HEADER_PEEK, NULL);
	if (raw != NULL) {
		g_autofree char *from = peek_header(raw, "From");
		g_autofree char *subject = peek_header(raw, "Subject");
		json_object_set_new(o, "from", dk_desk_jstr(from));
		json_object_set_new(o, "subject", dk_desk_jstr(subject));
	}
	return o;
}

json_t *dk_desk_view_quarantine(DkStore *store, GError **error)
{
	static const char *const kinds[] = {DK_SET_ASIDE_KINDS};
	g_autoptr(GPtrArray) entries = dk_store_quarantine_list(store, error);
	g_autoptr(GHashTable) counts = entries ? dk_store_quarantine_counts(store, error) : NULL;
	if (counts == NULL)
		return NULL;
	json_t *rows = json_array(), *totals = json_array();
	/* the newest first, at most a page of them */
	for (guint i = entries->len; i-- > 0 && json_array_size(rows) < DK_DESK_OUTBOX_ROWS;)
		json_array_append_new(rows, quarantined_json(store, g_ptr_array_index(entries, i)));
	for (guint i = 0; i < G_N_ELEMENTS(kinds); i++)
		json_array_append_new(
		    totals,
		    json_pack("{ss sI}", "kind", kinds[i], "count",
		              (json_int_t)GPOINTER_TO_SIZE(g_hash_table_lookup(counts, kinds[i]))));
	return json_pack("{so sb so}", "entries", rows, "has_entries", entries->len > 0, "counts",
	                 totals);
}

json_t *dk_desk_view_quarantined(DkStore *store, gint64 id, GError **error)
{
	g_autoptr(DkQuarantined) q = dk_store_quarantine_get(store, id, error);
	/* what is shown, and a byte more to tell whether that is all */
	g_autoptr(GBytes) raw =
	    q != NULL ? dk_store_raw_head(store, q->raw_sha256, DK_DESK_RAW_SHOWN + 1, error)
	              : NULL;
	if (raw == NULL)
		return NULL;
	json_t *entry = quarantined_json(store, q);
	gsize len = 0;
	const char *data = g_bytes_get_data(raw, &len);
	g_autofree char *text = g_utf8_make_valid(data ? data : "", MIN(len, DK_DESK_RAW_SHOWN));
	json_object_set_new(entry, "raw", json_string(text));
	json_object_set_new(entry, "cut", json_boolean(len > DK_DESK_RAW_SHOWN));
	json_object_set_new(entry, "intake", dk_desk_jstr(q->intake));
	json_object_set_new(entry, "recipients", dk_desk_jstr(q->recipients));
	json_object_set_new(entry, "sha256", dk_desk_jstr(q->raw_sha256));
	return json_pack("{so}", "entry", entry);
}

/* The names of the files a relayed reply carries, its article's
 * attachments ("a.pdf, b.png"), into names (empty for none). */
static gboolean relay_files(DkStore *store, const DkOutboxRow *row, GString *names, GError **error)
{
	g_autoptr(json_t) payload = json_loads(row->payload ? row->payload : "{}", 0, NULL);
	json_int_t article = json_integer_value(json_object_get(payload, "article"));
	if (article <= 0)
		return TRUE;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(dk_stored_attachment_free);
	if (!dk_store_article_attachments(store, article, files, error))
		return FALSE;
	for (guint i = 0; i < files->len; i++) {
		const DkStoredAttachment *a = g_ptr_array_index(files, i);
		g_string_append_printf(names, "%s%s", i ? ", " : "",
		                       a->filename ? a->filename : "?");
	}
	return TRUE;
}

static json_t *outbox_json(DkStore *store, const DkOutboxRow *r, GError **error)
{
	g_autoptr(GString) files = g_string_new(NULL);
	if (!relay_files(store, r, files, error))
		return NULL;
	gboolean pending = strcmp(r->state, "pending") == 0;
	json_t *o = json_pack("{sI ss ss so ss sI sb so so sb}", "id", (json_int_t)r->id, "kind",
	                      r->kind, "target", r->target ? r->target : "", "ticket",
	                      r->ticket ? json_integer(r->ticket) : json_null(), "state", r->state,
	                      "attempts", (json_int_t)r->attempts, "pending", pending, "last_error",
	                      dk_desk_jstr(r->last_error), "files", dk_desk_jstr(files->str),
	                      "can_retry", pending || strcmp(r->state, "failed") == 0);
	dk_desk_set_time(o, "next", r->next_attempt_at);
	dk_desk_set_time(o, "created", r->created_at);
	return o;
}

json_t *dk_desk_view_outbox(DkStore *store, const char *state, GError **error)
{
	static const char *const states[] = {"all", "pending", "failed", "held", "done"};
	const char *chosen = state != NULL && *state != '\0' ? state : "all";
	json_t *options = json_array();
	gboolean known = FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(states); i++) {
		gboolean selected = strcmp(chosen, states[i]) == 0;
		known = known || selected;
		json_array_append_new(options,
		                      dk_desk_option(states[i], json_string(states[i]), selected));
	}
	g_autoptr(json_t) page = json_pack("{so}", "states", options);
	if (!known) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "“%s” is no state of the outbox",
		            chosen);
		return NULL;
	}
	g_autoptr(GPtrArray) rows = dk_store_outbox_list(
	    store, strcmp(chosen, "all") == 0 ? NULL : chosen, DK_DESK_OUTBOX_ROWS, error);
	if (rows == NULL)
		return NULL;
	json_t *arr = json_array();
	json_object_set_new(page, "rows", arr);
	json_object_set_new(page, "has_rows", json_boolean(rows->len > 0));
	for (guint i = 0; i < rows->len; i++) {
		json_t *o = outbox_json(store, g_ptr_array_index(rows, i), error);
		if (o == NULL)
			return NULL;
		json_array_append_new(arr, o);
	}
	return g_steal_pointer(&page);
}
