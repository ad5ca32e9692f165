/* The ticket store: the only door to SQLite.
 *
 * One DkStore is one connection. The database is in WAL mode with
 * synchronous=FULL, so a commit that returned is on disk. Writes happen
 * between dk_store_begin() and dk_store_commit(); the writer (writer.h) is
 * the one caller that writes in the running program. Errors are in DK_ERROR:
 * DK_ERROR_TEMPORARY for a busy, locked, full or failing disk, anything
 * else DK_ERROR_PERMANENT or DK_ERROR_NOT_FOUND. */
#pragma once

#include "gateway/config.h"
#include "gateway/store/values.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct DkStore DkStore;

typedef struct {
	gsize inline_max;    /* raw messages up to this size live in the database */
	int busy_timeout_ms; /* how long to wait for another writer */
} DkStoreOptions;

typedef struct {
	gint64 number;
	char *subject;
	DkTicketStatus status;
	char *priority;
	char *queue;
	char *requester;    /* address, or NULL */
	char *organisation; /* or NULL */
	char *assignee;     /* or NULL */
	gint64 created_at;
	gint64 updated_at;
	gint64 articles;  /* how many articles it has; -1: not counted */
	gint64 closed_at; /* when it became resolved or closed; 0 while open */
} DkTicket;

/* The fields dk_store_ticket_set() changes (the status has its own
 * dk_store_ticket_set_status()). */
typedef enum {
	DK_TICKET_PRIORITY,
	DK_TICKET_ASSIGNEE, /* NULL or "" clears it */
	DK_TICKET_QUEUE,
	DK_TICKET_ORGANISATION, /* NULL or "" clears it */
	DK_TICKET_CORRELATION,  /* the rules' correlation key; NULL or "" clears it */
} DkTicketField;

typedef struct {
	gint64 id;
	gint64 ticket;
	DkDirection direction;
	DkVisibility visibility;
	char *evidence; /* how it was threaded: "new", "header", ... */
	char *sender;
	char *recipients; /* comma-separated */
	char *subject;
	char *message_id;
	char *fingerprint;
	char *new_text;
	char *full_text;
	char *raw_sha256;
	char *intake;
	gint64 created_at;
	gint64 raw_purged_at; /* read only: when retention purged its raw message; 0: kept */
	/* Not read back by the article readers (NULL there): written only. */
	const char *signature; /* a signed message's check ("verified", "bad", ...;
	                        * dk_signature_status_name), or NULL when unsigned */
	const char *signer;    /* the address of a verified signature's key, or NULL */
} DkArticle;

typedef struct {
	gint64 id;
	gint64 ticket;
	gint64 article; /* 0 when none */
	char *type;
	char *detail; /* a JSON object */
	gint64 created_at;
} DkEvent;

typedef struct {
	char *filename;
	char *content_type;
	char *content_id;
	char *disposition;
	gsize size;
	const char *sha256; /* 64 hex digits */
	GBytes *data;
	gboolean in_file; /* the content is instead the size bytes of fd from offset
	                   * (an attachment the parser decoded into a file) */
	int fd;
	gsize offset;
} DkAttachmentIn;

/* Why a message became no article (the quarantine's kinds). */
#define DK_SET_ASIDE_KINDS "unreadable", "held", "auto_reply", "discarded", "bounce"

/* A custom field of a ticket. */
typedef struct {
	char *name;
	char *value;
} DkCustomField;

/* Someone a ticket's mail is with. */
typedef struct {
	char *address; /* in lower case */
	DkParticipantRole role;
} DkParticipant;

/* A ticket linked to another, and why ("follow_up", "closed", "merged"). */
typedef struct {
	gint64 ticket;
	char *reason;
} DkLink;

/* Another system's number for a ticket: the [threading] pattern's name
 * and the number it found. */
typedef struct {
	char *name;
	char *number;
} DkForeignRef;

typedef struct {
	gint64 id;
	char *raw_sha256;
	char *kind;    /* one of DK_SET_ASIDE_KINDS; NULL on add: "unreadable" */
	char *reason;  /* the sentence for people */
	gint64 ticket; /* the ticket it would have gone onto, or 0 */
	char *intake;
	char *envelope_from; /* or NULL */
	char *recipients;    /* comma-separated, or NULL */
	gint64 size;
	gint64 received_at;
} DkQuarantined;

/* Opens (creating if needed) data_dir/docket.db and applies the schema
 * migrations. The data directory is created with mode 0750. */
DkStore *dk_store_open(const char *data_dir, const DkStoreOptions *options, GError **error);
/* dk_store_open() of [store] data_dir with the options [store] inline_max
 * and busy_timeout_ms: how every command and thread of docket opens it.
 * With [store] backend = postgresql, the PostgreSQL database of [store]
 * url instead, through the backend the program registered (docket-net's;
 * DK_ERROR_CONFIG in a program without it, see
 * dk_store_backend_available()). */
DkStore *dk_store_open_config(const DkConfig *config, GError **error);
/* Whether this program can open the store config names: FALSE for a
 * PostgreSQL store in `docket`, which then runs the command through
 * docket-net. */
gboolean dk_store_backend_available(const DkConfig *config);
void dk_store_close(DkStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkStore, dk_store_close)

/* The schema version of the open database (PRAGMA user_version). */
int dk_store_schema_version(DkStore *store);

/* Transactions. begin takes the write lock at once (BEGIN IMMEDIATE), so a
 * busy database shows up here and not halfway through. Savepoints nest
 * inside: the writer gives each message of a batch its own, so one bad
 * message does not sink the others. */
gboolean dk_store_begin(DkStore *store, GError **error);
gboolean dk_store_commit(DkStore *store, GError **error);
void dk_store_rollback(DkStore *store);
gboolean dk_store_savepoint(DkStore *store, GError **error);
gboolean dk_store_release(DkStore *store, GError **error);
/* Whether the last statement failed on a unique constraint: a row that
 * another transaction wrote first (the same message, stored by another
 * gateway). */
gboolean dk_store_conflicted(DkStore *store);
/* Whether the open transaction can run no more statements until it (or
 * its savepoint) is rolled back: PostgreSQL's after any failed statement;
 * never SQLite's. */
gboolean dk_store_transaction_failed(DkStore *store);
/* Work done once across the gateways that share the store (SLA checks,
 * autoclose): inside a transaction, *mine_out says whether this
 * connection does job now. On PostgreSQL the first to ask holds it (a
 * transaction advisory lock) until its transaction ends, and the others
 * are told FALSE meanwhile; on SQLite always TRUE (one process writes at a
 * time anyway). */
gboolean dk_store_job_try(DkStore *store, const char *job, gboolean *mine_out, GError **error);
/* A lease on name (an IMAP account), held by this connection for as long
 * as it stays open: on PostgreSQL a session advisory lock, which the
 * server frees when the holder's connection ends (the gateway died or was
 * cut off), so that another gateway asking takes it; on SQLite always
 * held. Ask before each round: *held_out says whether this connection
 * holds it now (taken before or just now). Outside a transaction. */
gboolean dk_store_lease_hold(DkStore *store, const char *name, gboolean *held_out, GError **error);
/* The rows inserted, updated or deleted on this connection since it was
 * opened: unchanged across a piece of work means it wrote nothing. */
gint64 dk_store_changes(DkStore *store);
/* Whether the writes of the open transaction so far all succeeded, as far
 * as the store knows now: on PostgreSQL some writes are sent without
 * waiting for their answer (store-private.h, dk_store_write_later()), and
 * this reads the answers, in one round trip if there are any; FALSE with
 * the first failure. On SQLite every write has answered already. */
gboolean dk_store_written(DkStore *store, GError **error);
/* Whether a transaction is open (SQLite may end one by itself after a
 * full disk, an I/O error or a lack of memory). */
gboolean dk_store_in_transaction(DkStore *store);
/* Undoes the writes since the savepoint, leaving the transaction open.
 * After a full disk, an I/O error or a lack of memory SQLite may have
 * rolled back the whole transaction by itself: then, or when the rollback
 * fails, DK_ERROR_TEMPORARY, and the transaction is over. */
gboolean dk_store_rollback_savepoint(DkStore *store, GError **error);

/* Until the transaction ends, the articles added are indexed for full-text
 * search all at once by dk_store_commit(), in one statement, instead of
 * one by one. SQLite's FTS5 writes its pending index to the database at the
 * end of every statement that touched it, so a batch indexed article by
 * article costs one index segment (and later merges) per article. Call
 * right after dk_store_begin(); a rollback ends it. An article added in
 * such a transaction must not have its subject or text changed, nor be
 * deleted, before the commit (the search index's triggers for those
 * would act on an entry not written yet). */
gboolean dk_store_search_defer(DkStore *store, GError **error);

/* Search indexing that lags the commit (SQLite; nothing on PostgreSQL):
 * with a lag of batch articles (0: none), the articles of a transaction
 * that called dk_store_search_defer() are not indexed at its commit but
 * noted, in the same transaction, in article_search_pending, a table of
 * their ids, until the commit that brings the articles this connection
 * noted to batch, which indexes them all; dk_store_search_catch_up()
 * indexes the noted ones in a transaction of its own. FTS5 writes an index
 * segment at every commit that indexes something and merges segments as
 * they pile up: for `docket serve` taking LMTP sessions on a store of a
 * million tickets, two messages a commit, that was half of the writer's
 * time. Nothing is lost in a crash: the notes are committed with their
 * articles. A search (dk_store_search()) first indexes whatever is noted,
 * so it finds every article committed before it, lag or not (should that
 * fail, it warns and searches the index as it is). */
void dk_store_search_lag(DkStore *store, guint batch);
/* Articles this connection noted for search since its last catch-up (or
 * since it was opened), as far as it knows: others may have noted more. */
gint64 dk_store_search_pending(DkStore *store);
/* Indexes the noted articles and forgets them, in a transaction of its
 * own (not inside one); *indexed_out (may be NULL): how many. Nothing to
 * do on PostgreSQL. */
gboolean dk_store_search_catch_up(DkStore *store, gint64 *indexed_out, GError **error);

/* Keeps a raw message (idempotent: the same bytes are stored once). Small
 * ones (up to inline_max) go into the database as one value; large ones
 * into a file that is fsynced before this returns, so the commit that
 * names it makes it durable, or on PostgreSQL into the database in pieces
 * of a MiB (raw_chunks), written one at a time. Writes the hex SHA-256
 * into sha256_out. Must be inside a transaction: a failure part-way leaves
 * rows that the caller's rollback removes. */
gboolean dk_store_raw_put(DkStore *store, GBytes *raw, gint64 now, char sha256_out[65],
                          GError **error);
/* dk_store_raw_put() of raw whose hex SHA-256 the caller computed already
 * (off the writer's thread: dk_pipeline_prepare() does). */
gboolean dk_store_raw_put_digest(DkStore *store, GBytes *raw, const char *sha256, gint64 now,
                                 GError **error);

/* dk_store_raw_put() of the size bytes of the file fd (from offset 0),
 * never held in memory whole: the SHA-256 is computed over chunks, and a
 * large message's file is linked into the store (fd, e.g. an O_TMPFILE
 * spool file on the data directory's file system, is fsynced and gets a
 * name there), or copied in chunks where it cannot be linked; on
 * PostgreSQL read and written a piece at a time. */
gboolean dk_store_raw_put_fd(DkStore *store, int fd, gsize size, gint64 now, char sha256_out[65],
                             GError **error);
/* dk_store_raw_put_fd() of a file whose hex SHA-256 the caller computed. */
gboolean dk_store_raw_put_fd_digest(DkStore *store, int fd, gsize size, const char *sha256,
                                    gint64 now, GError **error);
/* The raw message with that SHA-256, whole in memory; DK_ERROR_NOT_FOUND
 * when unknown, DK_ERROR_GONE when retention purged it. For the callers
 * that need all of it at once (a redirect sends it, a reprocess parses
 * it); dk_store_raw_read() gives it piece by piece. */
GBytes *dk_store_raw_get(DkStore *store, const char *sha256, GError **error);

/* Takes the next piece of a raw message read by dk_store_raw_read() (the
 * bytes are the reader's until it returns). Returns TRUE to go on; FALSE
 * to stop, with error set when that is a failure. */
typedef gboolean (*DkStoreRawSink)(const guint8 *bytes, gsize size, gpointer data, GError **error);

/* Passes the raw message with that SHA-256 to sink in order, a piece at a
 * time, holding no more than one piece (up to a MiB) of a large one: from
 * its file (SQLite), its rows of pieces (PostgreSQL), or the one value of
 * a small one. FALSE with error as dk_store_raw_get(), or the sink's, or
 * DK_ERROR_PERMANENT when the bytes found are not the size stored; TRUE
 * when the sink stopped early without an error. */
gboolean dk_store_raw_read(DkStore *store, const char *sha256, DkStoreRawSink sink, gpointer data,
                           GError **error);

/* The first max bytes of the raw message with that SHA-256 (all of it
 * when shorter), read as dk_store_raw_read() does: the header block for a
 * list, the start for a preview. Errors as dk_store_raw_get(). */
GBytes *dk_store_raw_head(DkStore *store, const char *sha256, gsize max, GError **error);

/* Threading lookups. Each returns FALSE only on error; *found_out says
 * whether a row matched. */
gboolean dk_store_message_id_find(DkStore *store, const char *message_id, gint64 *ticket_out,
                                  gboolean *found_out, GError **error);
/* The article of message_id and fingerprint (a duplicate); and, in the
 * same statement, with owner_out (may be NULL), dk_store_message_id_find()
 * of message_id into *owner_out and *known_out. */
gboolean dk_store_article_find(DkStore *store, const char *message_id, const char *fingerprint,
                               gint64 *ticket_out, gint64 *article_out, gboolean *found_out,
                               gint64 *owner_out, gboolean *known_out, GError **error);

/* Writes; all must be inside a transaction. */
/* A new (live) ticket: numbered after the highest live ticket, past the
 * numbers history tickets took. Returns its number, 0 on error. */
gint64 dk_store_ticket_create(DkStore *store, const char *subject, const char *requester,
                              gint64 now, GError **error);
gboolean dk_store_ticket_touch(DkStore *store, gint64 ticket, gint64 now, GError **error);
/* A closed ticket of history (`docket import --history`) opened at at:
 * numbered wanted when that is above 0 and free, else the number after
 * the highest at or above from (from when none is; from 0: after the
 * highest of all). Live tickets (dk_store_ticket_create) never take a
 * number a history ticket has. Returns its number, 0 on error. */
gint64 dk_store_ticket_create_history(DkStore *store, const char *subject, const char *requester,
                                      gint64 wanted, gint64 from, gint64 at, GError **error);
/* Whether ticket is history; *history_out. */
gboolean dk_store_ticket_is_history(DkStore *store, gint64 ticket, gboolean *history_out,
                                    GError **error);
/* A history ticket got an article dated at: its creation, last update
 * and closing span it (mail of history comes in any order). No change to
 * a live ticket. */
gboolean dk_store_ticket_history_span(DkStore *store, gint64 ticket, gint64 at, GError **error);
/* Adds the article and returns its id; fills article->id. */
gint64 dk_store_article_add(DkStore *store, DkArticle *article, GError **error);
gboolean dk_store_attachment_add(DkStore *store, gint64 article, guint position,
                                 const DkAttachmentIn *attachment, GError **error);
/* Records message_id for ticket/article; a known id keeps its first owner. */
gboolean dk_store_message_id_add(DkStore *store, const char *message_id, gint64 ticket,
                                 gint64 article, GError **error);
gboolean dk_store_participant_add(DkStore *store, gint64 ticket, const char *address,
                                  DkParticipantRole role, GError **error);
/* detail_json NULL means "{}". */
gboolean dk_store_event_add(DkStore *store, gint64 ticket, gint64 article, const char *type,
                            const char *detail_json, gint64 now, GError **error);

/* Changes one field of a ticket (the priority is checked by the schema: a
 * bad value is DK_ERROR_PERMANENT). */
gboolean dk_store_ticket_set(DkStore *store, gint64 ticket, DkTicketField field, const char *value,
                             gint64 now, GError **error);
/* Changes a ticket's status; sets closed_at (to now) on resolved or
 * closed, clears it otherwise. */
gboolean dk_store_ticket_set_status(DkStore *store, gint64 ticket, DkTicketStatus status,
                                    gint64 now, GError **error);
gboolean dk_store_tag_add(DkStore *store, gint64 ticket, const char *tag, GError **error);
/* Sets a custom field (name, value) of ticket. */
gboolean dk_store_ticket_field_set(DkStore *store, gint64 ticket, const char *name,
                                   const char *value, GError **error);
/* The newest ticket that is neither resolved nor closed and carries the
 * correlation key; *ticket_out 0 when there is none. */
gboolean dk_store_ticket_find_correlated(DkStore *store, const char *key, gint64 *ticket_out,
                                         GError **error);
/* Removes address (compared in lower case) from ticket's participants;
 * *removed_out says whether it was one. */
gboolean dk_store_participant_remove(DkStore *store, gint64 ticket, const char *address,
                                     gboolean *removed_out, GError **error);
/* The role address has on ticket (compared in lower case) into role_out;
 * *found_out FALSE when it has none. */
gboolean dk_store_participant_role(DkStore *store, gint64 ticket, const char *address,
                                   DkParticipantRole *role_out, gboolean *found_out,
                                   GError **error);
/* Links two tickets both ways with a reason ("follow_up", "closed"). */
gboolean dk_store_link_add(DkStore *store, gint64 ticket, gint64 linked, const char *reason,
                           gint64 now, GError **error);
/* Another system's ticket number (pattern name, number) names ticket; the
 * first ticket to carry it keeps it. */
gboolean dk_store_foreign_ref_add(DkStore *store, const char *name, const char *number,
                                  gint64 ticket, GError **error);
gboolean dk_store_foreign_ref_find(DkStore *store, const char *name, const char *number,
                                   gint64 *ticket_out, gboolean *found_out, GError **error);
/* Counts a bounce of mail to address (lower-cased) with its RFC 3463
 * status, at now (the mark's last bounce). */
gboolean dk_store_bouncing_mark(DkStore *store, const char *address, const char *status, gint64 now,
                                GError **error);
/* Whether mail to address bounced at or after not_before (older marks
 * have expired): notifications skip such addresses. */
gboolean dk_store_bouncing_get(DkStore *store, const char *address, gint64 not_before,
                               gboolean *bouncing_out, GError **error);

typedef struct {
	char *address;
	char *last_status; /* or NULL */
	gint64 since, last_at, count;
} DkBouncing;

/* Every bouncing mark, expired ones too, by address. Of DkBouncing*. */
GPtrArray *dk_store_bouncing_list(DkStore *store, GError **error);
/* Forgets the mark of address (NULL: every mark); *count_out (may be
 * NULL) the marks forgotten. */
gboolean dk_store_bouncing_clear(DkStore *store, const char *address, gint64 *count_out,
                                 GError **error);
void dk_bouncing_free(DkBouncing *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkBouncing, dk_bouncing_free)
/* Records a support address (an envelope recipient) ticket's mail came to. */
gboolean dk_store_ticket_address_add(DkStore *store, gint64 ticket, const char *address, gint64 now,
                                     GError **error);
/* Queues work for the outbox, due now: kind names what it is (docket's
 * kinds: dk_outbox_kind_name(); the store keeps any name, and a kind the
 * outbox does not know stays pending), target an address or a connector's
 * name, payload a JSON object. Its id into id_out (may be NULL). */
gboolean dk_store_outbox_add(DkStore *store, const char *kind, const char *target, gint64 ticket,
                             const char *payload_json, gint64 now, gint64 *id_out, GError **error);

/* Keeps a message that became no article (its raw bytes already stored
 * with dk_store_raw_put): unreadable, held, an auto-reply or bounce that
 * names no ticket, discarded by the rules; with its kind and reason. The
 * same raw message twice is one entry, the newest kind and reason kept.
 * Writes its id into id_out. */
gboolean dk_store_quarantine_add(DkStore *store, const DkQuarantined *entry, gint64 *id_out,
                                 GError **error);
gboolean dk_store_quarantine_remove(DkStore *store, gint64 id, GError **error);
/* Of DkQuarantined*, oldest first. */
GPtrArray *dk_store_quarantine_list(DkStore *store, GError **error);
/* DK_ERROR_NOT_FOUND when there is no such entry. */
DkQuarantined *dk_store_quarantine_get(DkStore *store, gint64 id, GError **error);
/* How many entries of each kind (kind -> GINT64 in a pointer-sized
 * integer); every kind of DK_SET_ASIDE_KINDS is there, 0 when none. */
GHashTable *dk_store_quarantine_counts(DkStore *store, GError **error);
void dk_quarantined_free(DkQuarantined *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkQuarantined, dk_quarantined_free)

/* Reads. The returned arrays own their elements. */
/* A ticket without counting its articles (articles is -1), as the
 * pipeline, the desk and the connectors read one; _counted() counts them,
 * for the ticket's document (ticket show, the API). */
DkTicket *dk_store_ticket_get(DkStore *store, gint64 number, GError **error);
DkTicket *dk_store_ticket_get_counted(DkStore *store, gint64 number, GError **error);
/* Of DkTicket*, the newest first; status NULL: of every status. */
GPtrArray *dk_store_ticket_list(DkStore *store, const DkTicketStatus *status, guint limit,
                                GError **error);
GPtrArray *dk_store_articles(DkStore *store, gint64 ticket, GError **error);
GPtrArray *dk_store_events(DkStore *store, gint64 ticket, GError **error);
/* Every event after event id `after`, of all tickets, oldest first. */
GPtrArray *dk_store_events_after(DkStore *store, gint64 after, GError **error);
/* The id of the newest event, 0 when there is none. */
gboolean dk_store_last_event(DkStore *store, gint64 *id_out, GError **error);
/* Of char*: the ticket's Message-IDs, oldest first. */
GPtrArray *dk_store_message_ids(DkStore *store, gint64 ticket, GError **error);
/* Of DkCustomField*, by name. */
GPtrArray *dk_store_ticket_fields(DkStore *store, gint64 ticket, GError **error);
/* Of char*. */
GPtrArray *dk_store_tags(DkStore *store, gint64 ticket, GError **error);
/* Of DkParticipant*, the requester first, then by address. */
GPtrArray *dk_store_participants(DkStore *store, gint64 ticket, GError **error);
/* Of DkLink*: the tickets linked to ticket, by number. */
GPtrArray *dk_store_links(DkStore *store, gint64 ticket, GError **error);
/* Of DkForeignRef*: other systems' numbers of ticket, by name and number. */
GPtrArray *dk_store_foreign_refs(DkStore *store, gint64 ticket, GError **error);
/* Of char*: the support addresses ticket's mail came to, by address. */
GPtrArray *dk_store_ticket_addresses(DkStore *store, gint64 ticket, GError **error);
/* The same in the order they were first seen: the first is where the
 * customer wrote. */
GPtrArray *dk_store_ticket_addresses_seen(DkStore *store, gint64 ticket, GError **error);

/* Pending outbox rows and the age in seconds of the oldest one (0 when
 * none), as of now. */
gboolean dk_store_outbox_stats(DkStore *store, gint64 now, gint64 *depth_out,
                               gint64 *oldest_age_out, GError **error);

void dk_ticket_free(DkTicket *ticket);
void dk_article_free(DkArticle *article);
void dk_event_free(DkEvent *event);
void dk_custom_field_free(DkCustomField *field);
void dk_participant_free(DkParticipant *participant);
void dk_link_free(DkLink *link);
void dk_foreign_ref_free(DkForeignRef *ref);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkTicket, dk_ticket_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkArticle, dk_article_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkEvent, dk_event_free)

/* The ticket desk's queries (store-desk.c). All writes inside a transaction. */

typedef struct {
	gint64 id;
	gint64 ticket;
	gint64 minutes;
	char *note;
	char *author; /* or NULL */
	gint64 created_at;
} DkTimeEntry;

/* What `docket ticket list` filters by; NULL or 0 fields do not filter. */
typedef struct {
	const DkTicketStatus *statuses; /* n_statuses of them, or NULL */
	guint n_statuses;
	const char *priority;
	const char *queue;
	const char *assignee;  /* compared in lower case */
	const char *requester; /* compared in lower case */
	gint64 created_since;
	gint64 updated_since;
	gboolean include_merged; /* merged tickets are left out unless this is set */
	gboolean breached;       /* only tickets that missed an SLA target */
	guint limit;             /* 0: no limit */
	gint64 now;              /* the clock urgency is measured by */
} DkTicketQuery;

typedef struct {
	gint64 ticket;
	gint64 article;
	double rank;   /* BM25 (dk_rank, store-rank.c): lower is better */
	char *snippet; /* the matching text with [brackets] around the hits */
} DkSearchHit;

/* A ticket's SLA clocks (0 for a time that is not set). */
typedef struct {
	gint64 first_response_due, resolution_due;
	gint64 first_response_at;
	gint64 paused_seconds;                                     /* paused before paused_since */
	gint64 paused_since;                                       /* 0 while the clock runs */
	gint64 first_response_breached_at, resolution_breached_at; /* when found missed */
	/* While waiting or on hold with a target: the seconds that were left
	 * to the next target when the pause began (negative: exceeded). */
	gboolean has_paused_left;
	gint64 paused_left;
} DkTicketSla;

gboolean dk_store_ticket_sla_get(DkStore *store, gint64 ticket, DkTicketSla *sla_out,
                                 GError **error);
/* dk_store_ticket_get() (its articles not counted: -1) and
 * dk_store_ticket_sla_get() in one statement; with merged_into_out (may
 * be NULL), dk_store_ticket_merged_into() too. */
DkTicket *dk_store_ticket_get_with_sla(DkStore *store, gint64 number, DkTicketSla *sla_out,
                                       gint64 *merged_into_out, GError **error);
/* The SLA clocks of tickets[from..to) (of DkTicket*), in their order, in
 * one statement (a page of the ticket list: one round trip on PostgreSQL,
 * not one a ticket); NOT_FOUND if one is gone. */
GArray *dk_store_tickets_sla_get(DkStore *store, GPtrArray *tickets, guint from, guint to,
                                 GError **error);
/* Writes every field of sla. */
gboolean dk_store_ticket_sla_set(DkStore *store, gint64 ticket, const DkTicketSla *sla,
                                 GError **error);

/* dk_store_ticket_get_with_sla() and, in the same statement, the
 * ticket's status history (what the SLA clocks are computed from, for
 * every message the writer stores): (*times_out)[i] (a GArray of gint64)
 * is when it took the status (*statuses_out)[i] (a GArray of
 * DkTicketStatus); the first is new at its creation, then every
 * status_change event. */
DkTicket *dk_store_ticket_get_with_history(DkStore *store, gint64 number, DkTicketSla *sla_out,
                                           GArray **times_out, GArray **statuses_out,
                                           GError **error);
/* Of gint64 (in a GArray): the tickets whose SLA clock can still be
 * breached (neither resolved, closed nor merged, with a target not yet
 * recorded as breached), numbered above after, by number, at most limit
 * of them (0: all); with due_by above 0 only those with such a target due
 * by then (a first response not given, or given after its due time). */
GArray *dk_store_tickets_sla_open(DkStore *store, gint64 after, guint limit, gint64 due_by,
                                  GError **error);

/* Of DkTicket*: the tickets query selects, by urgency as of query->now:
 * by the SLA time left to the next target (dk_desk_sla_left_seconds), so
 * those past it first, most overdue first, and a paused ticket by the time
 * it had left when the pause began (after a running one with as much
 * left); then the tickets without a target to count to (none for their
 * priority, resolved, closed) by priority and age. */
GPtrArray *dk_store_ticket_query(DkStore *store, const DkTicketQuery *query, GError **error);
/* Removes a tag; *removed_out says whether the ticket had it. */
gboolean dk_store_tag_remove(DkStore *store, gint64 ticket, const char *tag, gboolean *removed_out,
                             GError **error);
/* Records minutes of work on ticket; its id into id_out (may be NULL). */
gboolean dk_store_time_entry_add(DkStore *store, gint64 ticket, gint64 minutes, const char *note,
                                 const char *author, gint64 now, gint64 *id_out, GError **error);
/* Of DkTimeEntry*, oldest first. */
GPtrArray *dk_store_time_entries(DkStore *store, gint64 ticket, GError **error);
/* The ticket that ticket was merged into, 0 when none. */
gboolean dk_store_ticket_merged_into(DkStore *store, gint64 ticket, gint64 *into_out,
                                     GError **error);
/* Moves source's articles, Message-IDs, participants (its requester as a
 * "sender"), tags and time entries to target and leaves source pointing at
 * target; the caller checks the tickets and records the events. */
gboolean dk_store_ticket_merge(DkStore *store, gint64 target, gint64 source, GError **error);
/* Of gint64 (in a GArray): resolved tickets resolved at or before before. */
GArray *dk_store_tickets_resolved_before(DkStore *store, gint64 before, GError **error);
/* Of DkSearchHit*: one per ticket, its best article among those whose
 * subject or new text match every word of text (each word a prefix-free
 * FTS5 string), best first, at most limit tickets (0: 50). When more than
 * 1,000 articles match, the newest 1,000 are ranked (a search costs about
 * the same whatever its words). */
GPtrArray *dk_store_search(DkStore *store, const char *text, guint limit, GError **error);
void dk_time_entry_free(DkTimeEntry *entry);
void dk_search_hit_free(DkSearchHit *hit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkTimeEntry, dk_time_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkSearchHit, dk_search_hit_free)

G_END_DECLS
