/* The IMAP intake: works the folders of one [imap:NAME] account through
 * the pipeline, and never loses or repeats a message.
 *
 * A round selects each folder, checks its UIDVALIDITY against the store (a
 * change starts the folder over), and fetches the UIDs above the last one
 * recorded, batch_size at a time, with BODY.PEEK[] so nothing is marked
 * read early. Their sizes are asked first: a message over [intake]
 * max_message_size is refused unread, and one fetch holds at most 32 MiB
 * (or one larger message), so memory stays bounded for any folder. Each
 * batch is prepared and committed with one dk_pipeline_commit(); only then
 * are the messages it stored (and the duplicates, the dropped auto-replies
 * and what went to the quarantine) moved to processed_folder or flagged
 * \Seen, the ones the pipeline refused for good moved to error_folder with
 * the reason logged, and the last UID recorded. A message that failed
 * temporarily stays where it is and the folder's round ends there, so the
 * next round retries it. A crash between the commit and the state update
 * costs a re-fetch that the idempotent pipeline turns into duplicates.
 *
 * dk_imap_poller_run() is the long-running form: rounds, then IDLE (RFC
 * 2177) or a pause of poll_seconds. IDLE lasts at most poll_seconds or
 * idle_renew_seconds, whichever is shorter (well inside the 29-minute
 * limit), with a round in between (the other folders, anything IDLE
 * missed); its DONE must be answered within timeout_seconds, or the
 * connection is taken for dead and replaced, and a TCP keep-alive notices
 * a vanished peer meanwhile. Failures reconnect with exponential backoff
 * (1 s doubling to 5 min). One poller per account, each on its own thread
 * (see DkImapPollerSet below). */
#pragma once

#include "gateway/config.h"
#include "gateway/core/pipeline.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct DkImapPoller DkImapPoller;

/* Counters since the poller was made. */
typedef struct {
	guint64 fetched;     /* messages fetched from the server */
	guint64 stored;      /* committed as a new ticket or article */
	guint64 duplicates;  /* already in the store */
	guint64 quarantined; /* unreadable, kept in the quarantine (and acknowledged) */
	guint64 dropped;     /* kept raw only: an auto-reply or bounce naming no ticket */
	guint64 refused;     /* refused for good, moved to error_folder */
	guint64 deferred;    /* temporary failures, left for a later round */
	guint64 rounds;      /* completed rounds */
	guint64 reconnects;  /* connections opened */
} DkImapStats;

/* A poller for account [imap:account] committing through pipeline (both
 * must outlive it). It keeps the UID state through its own connection to
 * the store that config names. DK_ERROR_CONFIG for an invalid account
 * (see imap-account.h); store errors as dk_store_open() gives them. */
DkImapPoller *dk_imap_poller_new(const DkConfig *config, const char *account, DkPipeline *pipeline,
                                 GError **error);
void dk_imap_poller_free(DkImapPoller *poller);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkImapPoller, dk_imap_poller_free)

/* One round: connects when not connected, then works every folder until
 * no new message is left (or one was deferred). The connection stays open
 * for the next call. On failure the connection is dropped and error says
 * why (temporary: retry later; permanent: a refused login or an untrusted
 * certificate). Messages refused or deferred are not failures of the
 * round; they are counted in the statistics. */
gboolean dk_imap_poller_run_once(DkImapPoller *poller, GError **error);

/* Rounds forever, waiting in IDLE or for poll_seconds in between, until
 * cancellable is cancelled; logs and backs off on failures. Blocks: run it
 * on a thread of its own. */
void dk_imap_poller_run(DkImapPoller *poller, GCancellable *cancellable);

/* The counters so far (safe from any thread). */
void dk_imap_poller_stats(DkImapPoller *poller, DkImapStats *stats_out);

/* The account's name. */
const char *dk_imap_poller_account(DkImapPoller *poller);

/* The pollers of several accounts, each on its own thread once started:
 * what `docket serve` and `docket poll` run. */
typedef struct DkImapPollerSet DkImapPollerSet;

/* Pollers for accounts (NULL: every [imap:NAME] section of config; none is
 * an empty set), committing through pipeline. Fails, freeing what it made,
 * when one account cannot be set up (see dk_imap_poller_new()). */
DkImapPollerSet *dk_imap_poller_set_new(const DkConfig *config, const char *const *accounts,
                                        DkPipeline *pipeline, GError **error);

/* How many pollers the set holds, and the i-th (owned by the set). */
guint dk_imap_poller_set_size(DkImapPollerSet *set);
DkImapPoller *dk_imap_poller_set_get(DkImapPollerSet *set, guint i);

/* Starts a thread per poller running dk_imap_poller_run(). */
void dk_imap_poller_set_start(DkImapPollerSet *set);

/* Brings the set in line with config after a reload: an account no
 * longer in it stops (a round in progress ends after its batch), one that
 * is new starts, one whose settings (or secrets) changed restarts with
 * them; the others run on undisturbed. Each is logged. When an account
 * cannot be set up, the others are still brought in line and error says
 * why (FALSE). */
gboolean dk_imap_poller_set_reload(DkImapPollerSet *set, const DkConfig *config,
                                   DkPipeline *pipeline, GError **error);

/* Stops the threads, if started: a round in progress ends after its
 * batch, an IDLE at once. Call it before the writer of the pipeline
 * stops. The statistics stay readable. */
void dk_imap_poller_set_stop(DkImapPollerSet *set);

/* Stops (see above) and frees the pollers. */
void dk_imap_poller_set_free(DkImapPollerSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkImapPollerSet, dk_imap_poller_set_free)

G_END_DECLS
