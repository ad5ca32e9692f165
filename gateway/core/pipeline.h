/* The one path of every message: parse, thread, commit. Every intake (stdin,
 * LMTP, IMAP, import) calls this module; none parses or writes tickets by
 * itself.
 *
 * dk_pipeline_prepare() is the pure half (parse and normalise) and may run
 * on any thread; dk_pipeline_commit() is the writer's half: it threads and
 * stores a batch of prepared messages in one transaction, so one commit
 * (one fsync) serves them all. Only after it returns TRUE may an intake
 * acknowledge the messages whose items carry no error. */
#pragma once

#include "gateway/config.h"
#include "gateway/core/effects.h"
#include "gateway/store/store.h"
#include "gateway/core/thread.h"
#include "parsers/message.h"

G_BEGIN_DECLS

typedef struct DkPipeline DkPipeline;

typedef struct {
	const char *intake;            /* "stdin", "lmtp", "imap", "import", "history" */
	const char *envelope_from;     /* or NULL */
	const char *const *recipients; /* NULL-terminated envelope recipients, or NULL */
	gint64 received_at;            /* Unix seconds; 0 means now */
	/* "history" (`docket import --history`): the mail of a closed past.
	 * Each article is dated by the message's Date (received_at when it
	 * has none), its ticket is closed and numbered apart from live ones;
	 * no rules run, no SLA clock starts, nothing is sent, no connector
	 * hears of it. keep_numbers names a [foreign:NAME] pattern whose
	 * number a new ticket takes where it is free (or NULL); number_from
	 * is where other history tickets are numbered from (0: after the
	 * highest number). */
	const char *keep_numbers;
	gint64 number_from;
} DkIntake;

typedef enum {
	DK_OUTCOME_CREATED,     /* a new ticket with this message as its first article */
	DK_OUTCOME_APPENDED,    /* a new article on an existing ticket */
	DK_OUTCOME_DUPLICATE,   /* already stored: nothing written */
	DK_OUTCOME_QUARANTINED, /* unreadable: kept raw in the quarantine */
	DK_OUTCOME_DROPPED,     /* no article, kept in the quarantine with its kind: an
	                         * auto-reply or bounce naming no ticket, a rule's discard */
} DkOutcome;

/* The outcome's name for logs and output: "created", "appended", ... */
const char *dk_outcome_name(DkOutcome outcome);

typedef struct {
	DkOutcome outcome;
	gint64 ticket; /* 0 when quarantined or dropped */
	gint64 article;
	gint64 quarantine;    /* the quarantine entry, when quarantined or dropped */
	char *message_id;     /* NULL when quarantined */
	const char *evidence; /* static string */
} DkDelivery;

/* One message on its way: made by prepare, completed by commit. Opaque:
 * an intake reads its outcome through the accessors below. */
typedef struct DkPipelineItem DkPipelineItem;

typedef struct DkWriter DkWriter;

/* config, store and effects must outlive the pipeline. effects carries out
 * what each stored message asks of the outbox (notifications, connector
 * rows, bounce marks; outbox/effects.h); NULL: nothing is carried out. */
DkPipeline *dk_pipeline_new(const DkConfig *config, DkStore *store, const DkEffectsOps *effects);

/* FALSE when the pipeline cannot run: the [rules] script is unreadable or
 * invalid, or the [sla] and [queue:NAME] settings are wrong (the error
 * says where). `docket serve` refuses to start then;
 * each prepare fails with a temporary error, so an MTA keeps the mail. */
gboolean dk_pipeline_check(DkPipeline *pipeline, GError **error);

/* Compiles the [rules] script of config and reads its SLA settings; only
 * if both are valid, makes the script the one new messages run, the SLA
 * policy the one their tickets' clocks follow, and config (which must
 * outlive the pipeline) the one the writer reads for their notifications
 * and connector rows; on error the old script, policy and configuration
 * stay. */
gboolean dk_pipeline_reload_rules(DkPipeline *pipeline, const DkConfig *config, GError **error);

/* From now on commits go through writer (a writer thread that owns the
 * store; see writer.h) instead of the store directly, so that concurrent
 * intakes share transactions. NULL goes back to direct commits. */
void dk_pipeline_set_writer(DkPipeline *pipeline, DkWriter *writer);
void dk_pipeline_free(DkPipeline *pipeline);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkPipeline, dk_pipeline_free)

/* Parses raw (a reference is taken). NULL with a DK_PARSE_ERROR for input
 * that is not mail. A message docket cannot read (a limit exceeded, GMime
 * failing) gives an item without a message, bound for the quarantine: it is
 * kept and acknowledged, never lost. Touches no store; safe on any thread. */
DkPipelineItem *dk_pipeline_prepare(DkPipeline *pipeline, GBytes *raw, const DkIntake *intake,
                                    GError **error);

/* dk_pipeline_prepare() of the size bytes of the file fd (a spool file;
 * the item keeps a duplicate of the descriptor, the caller keeps fd): for
 * large messages, which are then parsed and stored without being held in
 * memory whole (the raw is linked into the store where the file system
 * allows). */
DkPipelineItem *dk_pipeline_prepare_fd(DkPipeline *pipeline, int fd, gsize size,
                                       const DkIntake *intake, GError **error);

/* Threads and stores items in one transaction (the writer's, when one is
 * set: then the call blocks until that transaction committed). Returns FALSE (and every
 * item is unstored) when the transaction itself failed; otherwise each item
 * has either its result or its own error (that message alone was rolled
 * back). An item's error is DK_ERROR_PERMANENT when docket refuses the
 * message for good (e.g. [threading] follow_up = reject: a stranger's mail
 * naming a ticket only by its token); intakes answer 550 / exit 65. */
gboolean dk_pipeline_commit(DkPipeline *pipeline, DkPipelineItem **items, guint n, GError **error);

/* Past this size an intake hands the pipeline a message's spool file
 * (dk_pipeline_prepare_fd()) rather than its bytes: it is parsed and
 * stored in chunks, never mapped or held whole. */
#define DK_PIPELINE_LARGE_MESSAGE (1024 * 1024)

/* prepare + commit of one message. On success fills out (free with
 * dk_delivery_clear). */
gboolean dk_pipeline_deliver(DkPipeline *pipeline, GBytes *raw, const DkIntake *intake,
                             DkDelivery *out, GError **error);

/* The same of the size bytes of the file fd, as dk_pipeline_prepare_fd(). */
gboolean dk_pipeline_deliver_fd(DkPipeline *pipeline, int fd, gsize size, const DkIntake *intake,
                                DkDelivery *out, GError **error);

/* The item's own failure after commit (NULL: it was stored; then its
 * result is valid); the item keeps it. */
const GError *dk_pipeline_item_error(const DkPipelineItem *item);

/* The same, handed to the caller (who frees it); the item then has none. */
GError *dk_pipeline_item_steal_error(DkPipelineItem *item);

/* What became of the message, valid after a commit without an item error;
 * owned by the item. */
const DkDelivery *dk_pipeline_item_result(const DkPipelineItem *item);

/* Moves the result into out (free with dk_delivery_clear). */
void dk_pipeline_item_steal_result(DkPipelineItem *item, DkDelivery *out);

/* The parsed message, owned by the item; NULL when the message could not
 * be read and goes to the quarantine. */
DkMessage *dk_pipeline_item_message(DkPipelineItem *item);

/* Why the message could not be read (when it has no message), or NULL. */
const char *dk_pipeline_item_quarantine_reason(const DkPipelineItem *item);

/* Marks the item as the message of quarantine entry id taken back: the
 * commit that stores it removes the entry, and the sender limit does not
 * hold it again. */
void dk_pipeline_item_set_requeued_from(DkPipelineItem *item, gint64 id);

/* Marks the item as released from the quarantine (`docket quarantine
 * release`): it becomes an article whatever set it aside before (the
 * sender limit, its class, the rules' discard). */
void dk_pipeline_item_set_release(DkPipelineItem *item, gboolean release);

void dk_pipeline_item_free(DkPipelineItem *item);
void dk_delivery_clear(DkDelivery *delivery);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkPipelineItem, dk_pipeline_item_free)

G_END_DECLS
