/* The store's read queries: tickets, articles, events and the lists that
 * `docket ticket show` prints. */
#include "gateway/store/store-private.h"

#define TICKET_COLUMNS                                                                             \
	DK_STORE_TICKET_FIELDS("(SELECT count(*) FROM articles a WHERE a.ticket = t.number)")

/* The enumerated values of columns, by their names (values.h). The schema
 * admits no other names; an unknown one would read as the first value. */
static const char *column_name(DkStmt *st, int i)
{
	return dk_stmt_text(st, i);
}

static DkTicketStatus column_status(DkStmt *st, int i)
{
	DkTicketStatus status = DK_STATUS_NEW;
	dk_ticket_status_parse(column_name(st, i), &status);
	return status;
}

static DkParticipantRole column_role(DkStmt *st, int i)
{
	DkParticipantRole role = DK_ROLE_REQUESTER;
	dk_participant_role_parse(column_name(st, i), &role);
	return role;
}

gpointer dk_store_ticket_from_row(DkStmt *st)
{
	DkTicket *t = g_new0(DkTicket, 1);
	t->number = dk_stmt_int64(st, 0);
	t->subject = dk_store_column_text(st, 1);
	t->status = column_status(st, 2);
	t->priority = dk_store_column_text(st, 3);
	t->queue = dk_store_column_text(st, 4);
	t->requester = dk_store_column_text(st, 5);
	t->organisation = dk_store_column_text(st, 6);
	t->assignee = dk_store_column_text(st, 7);
	t->created_at = dk_stmt_int64(st, 8);
	t->updated_at = dk_stmt_int64(st, 9);
	t->articles = dk_stmt_int64(st, 10);
	t->closed_at = dk_stmt_int64(st, 11);
	return t;
}

typedef struct {
	GPtrArray *out;
	gpointer (*from_row)(DkStmt *);
} Collecting;

static gboolean add_row(DkStmt *st, gpointer data)
{
	Collecting *c = data;
	g_ptr_array_add(c->out, c->from_row(st));
	return TRUE;
}

GPtrArray *dk_store_collect(DkStore *store, DkStmt *st, const char *doing,
                            gpointer (*from_row)(DkStmt *), GDestroyNotify free_func,
                            GError **error)
{
	if (st == NULL)
		return NULL;
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(free_func);
	Collecting c = {out, from_row};
	if (!dk_store_each_row(store, st, doing, add_row, &c, error))
		return NULL;
	return g_steal_pointer(&out);
}

/* dk_store_collect() for the read queries here. */
static GPtrArray *collect(DkStore *store, DkStmt *st, gpointer (*from_row)(DkStmt *),
                          GDestroyNotify free_func, GError **error)
{
	return dk_store_collect(store, st, "reading", from_row, free_func, error);
}

static DkTicket *ticket_by_number(DkStore *store, const char *sql, gint64 number, GError **error)
{
	DkStmt *st = dk_store_prepare(store, sql, error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_int64(st, 1, number);
	g_autoptr(GPtrArray) rows =
	    collect(store, st, dk_store_ticket_from_row, (GDestroyNotify)dk_ticket_free, error);
	if (rows == NULL)
		return NULL;
	if (rows->len == 0) {
		g_set_error(error, DK_ERROR, DK_ERROR_NOT_FOUND, "no ticket #%" G_GINT64_FORMAT,
		            number);
		return NULL;
	}
	return g_ptr_array_steal_index(rows, 0);
}

/* The count reads a leaf of the articles' index that nothing else of a
 * reply's threading touches (at a million tickets, from the disk or the
 * kernel); only the ticket's document shows it. */
DkTicket *dk_store_ticket_get(DkStore *store, gint64 number, GError **error)
{
	return ticket_by_number(
	    store, "SELECT " DK_STORE_TICKET_FIELDS("-1") " FROM tickets t WHERE number = ?",
	    number, error);
}

DkTicket *dk_store_ticket_get_counted(DkStore *store, gint64 number, GError **error)
{
	return ticket_by_number(store, "SELECT " TICKET_COLUMNS " FROM tickets t WHERE number = ?",
	                        number, error);
}

GPtrArray *dk_store_tickets_get(DkStore *store, const gint64 *numbers, guint n, GError **error)
{
	DkStmt *st = dk_store_prepare_numbers(
	    store,
	    "SELECT " TICKET_COLUMNS " FROM tickets t WHERE t.number IN " DK_STORE_NUMBERS_SQLITE,
	    "SELECT " TICKET_COLUMNS " FROM tickets t WHERE t.number = " DK_STORE_NUMBERS_PG,
	    numbers, n, error);
	if (st == NULL)
		return NULL;
	g_autoptr(GPtrArray) rows =
	    collect(store, st, dk_store_ticket_from_row, (GDestroyNotify)dk_ticket_free, error);
	if (rows == NULL)
		return NULL;
	/* in the order asked for */
	g_autoptr(GHashTable) by_number = g_hash_table_new(g_int64_hash, g_int64_equal);
	for (guint i = 0; i < rows->len; i++) {
		DkTicket *t = g_ptr_array_index(rows, i);
		g_hash_table_insert(by_number, &t->number, t);
	}
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)dk_ticket_free);
	for (guint i = 0; i < n; i++) {
		DkTicket *t = g_hash_table_lookup(by_number, &numbers[i]);
		if (t != NULL && g_hash_table_steal(by_number, &numbers[i]))
			g_ptr_array_add(out, t);
	}
	/* rows not handed out (none, unless a number was asked for twice) */
	g_ptr_array_set_free_func(rows, NULL);
	GHashTableIter it;
	gpointer left = NULL;
	g_hash_table_iter_init(&it, by_number);
	while (g_hash_table_iter_next(&it, NULL, &left))
		dk_ticket_free(left);
	return out;
}

GPtrArray *dk_store_ticket_list(DkStore *store, const DkTicketStatus *status, guint limit,
                                GError **error)
{
	DkStmt *st = dk_store_prepare(store,
	                              "SELECT " TICKET_COLUMNS " FROM tickets t"
	                              " WHERE ?1 IS NULL OR t.status = ?1"
	                              " ORDER BY t.updated_at DESC, t.number DESC LIMIT ?2",
	                              error);
	if (st == NULL)
		return NULL;
	if (status != NULL)
		dk_stmt_bind_static(st, 1, dk_ticket_status_name(*status));
	dk_stmt_bind_int64(st, 2, limit ? limit : G_MAXINT64);
	return collect(store, st, dk_store_ticket_from_row, (GDestroyNotify)dk_ticket_free, error);
}

static gpointer article_from_row(DkStmt *st)
{
	DkArticle *a = g_new0(DkArticle, 1);
	a->id = dk_stmt_int64(st, 0);
	a->ticket = dk_stmt_int64(st, 1);
	a->direction = dk_direction_from_name(column_name(st, 2));
	a->visibility = dk_visibility_from_name(column_name(st, 3));
	char **fields[] = {&a->evidence,   &a->sender,      &a->recipients, &a->subject,
	                   &a->message_id, &a->fingerprint, &a->new_text,   &a->full_text,
	                   &a->raw_sha256, &a->intake};
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++)
		*fields[i] = dk_store_column_text(st, (int)i + 4);
	char *stored = a->full_text;
	a->full_text = dk_store_full_text_read(a->new_text, stored);
	g_free(stored);
	a->created_at = dk_stmt_int64(st, 14);
	a->raw_purged_at = dk_stmt_int64(st, 15);
	return a;
}

GPtrArray *dk_store_articles(DkStore *store, gint64 ticket, GError **error)
{
	DkStmt *st = dk_store_prepare(
	    store,
	    "SELECT id, ticket, direction, visibility, evidence, sender, recipients,"
	    " subject, message_id, fingerprint, new_text, full_text, raw_sha256,"
	    " intake, created_at, (SELECT coalesce(purged_at, 0) FROM raw_messages r"
	    " WHERE r.sha256 = articles.raw_sha256) FROM articles WHERE ticket = ? ORDER BY id",
	    error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_int64(st, 1, ticket);
	return collect(store, st, article_from_row, (GDestroyNotify)dk_article_free, error);
}

static gpointer event_from_row(DkStmt *st)
{
	DkEvent *e = g_new0(DkEvent, 1);
	e->id = dk_stmt_int64(st, 0);
	e->ticket = dk_stmt_int64(st, 1);
	e->article = dk_stmt_int64(st, 2);
	e->type = dk_store_column_text(st, 3);
	e->detail = dk_store_column_text(st, 4);
	e->created_at = dk_stmt_int64(st, 5);
	return e;
}

#define EVENTS "SELECT id, ticket, coalesce(article, 0), type, detail, created_at FROM events "

/* The events sql (EVENTS and a condition on one integer) selects. */
static GPtrArray *events_where(DkStore *store, const char *sql, gint64 value, GError **error)
{
	DkStmt *st = dk_store_query(store, sql, error, "i", value);
	if (st == NULL)
		return NULL;
	return collect(store, st, event_from_row, (GDestroyNotify)dk_event_free, error);
}

GPtrArray *dk_store_events(DkStore *store, gint64 ticket, GError **error)
{
	return events_where(store, EVENTS "WHERE ticket = ? ORDER BY id", ticket, error);
}

GPtrArray *dk_store_events_after(DkStore *store, gint64 after, GError **error)
{
	return events_where(store, EVENTS "WHERE id > ? ORDER BY id", after, error);
}

gboolean dk_store_last_event(DkStore *store, gint64 *id_out, GError **error)
{
	DkStmt *st = dk_store_query(store, "SELECT coalesce(max(id), 0) FROM events", error, "");
	return dk_store_lookup_int64(store, st, "reading the newest event", id_out, NULL, error);
}

static gpointer first_column(DkStmt *st)
{
	return dk_store_column_text(st, 0);
}

static GPtrArray *strings(DkStore *store, const char *sql, gint64 ticket, GError **error)
{
	DkStmt *st = dk_store_prepare(store, sql, error);
	if (st == NULL)
		return NULL;
	dk_stmt_bind_int64(st, 1, ticket);
	return collect(store, st, first_column, g_free, error);
}

GPtrArray *dk_store_message_ids(DkStore *store, gint64 ticket, GError **error)
{
	return strings(
	    store,
	    "SELECT m.message_id FROM message_ids m LEFT JOIN articles a ON a.id = m.article"
	    " WHERE m.ticket = ? ORDER BY coalesce(a.id, 0), m.message_id",
	    ticket, error);
}

/* The rows sql (a condition on one ticket) selects, each made by
 * from_row. */
static GPtrArray *rows_of(DkStore *store, const char *sql, gint64 ticket,
                          gpointer (*from_row)(DkStmt *), GDestroyNotify free_func, GError **error)
{
	DkStmt *st = dk_store_query(store, sql, error, "i", ticket);
	if (st == NULL)
		return NULL;
	return collect(store, st, from_row, free_func, error);
}

static gpointer custom_field_from_row(DkStmt *st)
{
	DkCustomField *f = g_new0(DkCustomField, 1);
	f->name = dk_store_column_text(st, 0);
	f->value = dk_store_column_text(st, 1);
	return f;
}

GPtrArray *dk_store_ticket_fields(DkStore *store, gint64 ticket, GError **error)
{
	return rows_of(store,
	               "SELECT name, value FROM ticket_fields WHERE ticket = ? ORDER BY name",
	               ticket, custom_field_from_row, (GDestroyNotify)dk_custom_field_free, error);
}

GPtrArray *dk_store_tags(DkStore *store, gint64 ticket, GError **error)
{
	return strings(store, "SELECT tag FROM tags WHERE ticket = ? ORDER BY tag", ticket, error);
}

static gpointer participant_from_row(DkStmt *st)
{
	DkParticipant *p = g_new0(DkParticipant, 1);
	p->address = dk_store_column_text(st, 0);
	p->role = column_role(st, 1);
	return p;
}

GPtrArray *dk_store_participants(DkStore *store, gint64 ticket, GError **error)
{
	return rows_of(store,
	               "SELECT address, role FROM participants WHERE ticket = ?"
	               " ORDER BY role = 'requester' DESC, address",
	               ticket, participant_from_row, (GDestroyNotify)dk_participant_free, error);
}

static gpointer link_from_row(DkStmt *st)
{
	DkLink *l = g_new0(DkLink, 1);
	l->ticket = dk_stmt_int64(st, 0);
	l->reason = dk_store_column_text(st, 1);
	return l;
}

GPtrArray *dk_store_links(DkStore *store, gint64 ticket, GError **error)
{
	return rows_of(store,
	               "SELECT linked, reason FROM ticket_links WHERE ticket = ? ORDER BY linked",
	               ticket, link_from_row, (GDestroyNotify)dk_link_free, error);
}

static gpointer foreign_ref_from_row(DkStmt *st)
{
	DkForeignRef *r = g_new0(DkForeignRef, 1);
	r->name = dk_store_column_text(st, 0);
	r->number = dk_store_column_text(st, 1);
	return r;
}

GPtrArray *dk_store_foreign_refs(DkStore *store, gint64 ticket, GError **error)
{
	return rows_of(
	    store, "SELECT name, number FROM foreign_refs WHERE ticket = ? ORDER BY name, number",
	    ticket, foreign_ref_from_row, (GDestroyNotify)dk_foreign_ref_free, error);
}

GPtrArray *dk_store_ticket_addresses(DkStore *store, gint64 ticket, GError **error)
{
	return strings(store,
	               "SELECT address FROM ticket_addresses WHERE ticket = ? ORDER BY address",
	               ticket, error);
}

GPtrArray *dk_store_ticket_addresses_seen(DkStore *store, gint64 ticket, GError **error)
{
	return strings(
	    store,
	    "SELECT address FROM ticket_addresses WHERE ticket = ? ORDER BY first_seen, address",
	    ticket, error);
}

gboolean dk_store_outbox_stats(DkStore *store, gint64 now, gint64 *depth_out,
                               gint64 *oldest_age_out, GError **error)
{
	DkStmt *st = dk_store_prepare(store,
	                              "SELECT count(*), coalesce(min(created_at), ?) FROM outbox"
	                              " WHERE state = 'pending'",
	                              error);
	if (st == NULL)
		return FALSE;
	dk_stmt_bind_int64(st, 1, now);
	int rc = dk_stmt_step(st);
	if (rc == DK_STMT_ROW) {
		*depth_out = dk_stmt_int64(st, 0);
		*oldest_age_out = now - dk_stmt_int64(st, 1);
	}
	dk_stmt_reset(st);
	if (rc != DK_STMT_ROW)
		return dk_store_set_error(store, error, "reading the outbox");
	return TRUE;
}

void dk_ticket_free(DkTicket *t)
{
	if (t == NULL)
		return;
	g_free(t->subject);
	g_free(t->priority);
	g_free(t->queue);
	g_free(t->requester);
	g_free(t->organisation);
	g_free(t->assignee);
	g_free(t);
}

void dk_article_free(DkArticle *a)
{
	if (a == NULL)
		return;
	char *fields[] = {a->evidence,    a->sender,   a->recipients, a->subject,    a->message_id,
	                  a->fingerprint, a->new_text, a->full_text,  a->raw_sha256, a->intake};
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++)
		g_free(fields[i]);
	g_free(a);
}

void dk_event_free(DkEvent *e)
{
	if (e == NULL)
		return;
	g_free(e->type);
	g_free(e->detail);
	g_free(e);
}

void dk_custom_field_free(DkCustomField *f)
{
	if (f == NULL)
		return;
	g_free(f->name);
	g_free(f->value);
	g_free(f);
}

void dk_participant_free(DkParticipant *p)
{
	if (p == NULL)
		return;
	g_free(p->address);
	g_free(p);
}

void dk_link_free(DkLink *l)
{
	if (l == NULL)
		return;
	g_free(l->reason);
	g_free(l);
}

void dk_foreign_ref_free(DkForeignRef *r)
{
	if (r == NULL)
		return;
	g_free(r->name);
	g_free(r->number);
	g_free(r);
}
