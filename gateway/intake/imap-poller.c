/* The IMAP poller: rounds over an account's folders, the after-commit
 * disposition of each message, and the IDLE/poll loop with its watchdog and
 * reconnect backoff. */
#include "gateway/intake/imap-poller.h"
#include "gateway/ops/metrics.h"

#include "gateway/error.h"
#include "gateway/store/store-imap.h"
#include "gateway/intake/imap-account.h"
#include "gateway/intake/imap-client.h"
#include "gateway/store/store-file.h"

#include <errno.h>
#include <unistd.h>

#include <string.h>

#define BACKOFF_MAX_SECONDS 300
#define BATCH_BYTES (G_GUINT64_CONSTANT(32) << 20) /* raw bytes one fetch may hold */

struct DkImapPoller {
	DkImapAccount *account;
	DkPipeline *pipeline;
	DkStore *state; /* own connection: the UID state */
	DkImapClient *client;
	gsize max_message_size;
	char *spool_dir;           /* data_dir/spool: large messages are fetched into files there */
	guint handled;             /* messages stored or refused in the current round */
	gboolean leased;           /* held the account's lease at the last look */
	gboolean lease_known;      /* leased was looked at since the run began */
	GCancellable *cancellable; /* of dk_imap_poller_run(): ends a round between batches */
	GMutex lock;               /* guards stats */
	DkImapStats stats;
};

/* What became of the messages of one batch. */
typedef struct {
	GArray *done;           /* stored or duplicate: to processed_folder / \Seen */
	GArray *refused;        /* to error_folder */
	guint32 first_deferred; /* 0: none */
	guint fresh;            /* stored for the first time */
} Disposition;

DkImapPoller *dk_imap_poller_new(const DkConfig *config, const char *account, DkPipeline *pipeline,
                                 GError **error)
{
	g_autoptr(DkImapAccount) a = dk_imap_account_new(config, account, error);
	if (a == NULL)
		return NULL;
	DkStore *state = dk_store_open_config(config, error);
	if (state == NULL)
		return NULL;
	DkImapPoller *p = g_new0(DkImapPoller, 1);
	p->account = g_steal_pointer(&a);
	p->pipeline = pipeline;
	p->state = state;
	p->max_message_size = (gsize)dk_config_get_int(config, "intake", "max_message_size");
	p->spool_dir =
	    g_build_filename(dk_config_get_string(config, "store", "data_dir"), "spool", NULL);
	g_mutex_init(&p->lock);
	return p;
}

void dk_imap_poller_free(DkImapPoller *p)
{
	if (p == NULL)
		return;
	dk_imap_client_free(p->client);
	dk_store_close(p->state);
	dk_imap_account_free(p->account);
	g_free(p->spool_dir);
	g_mutex_clear(&p->lock);
	g_free(p);
}

const char *dk_imap_poller_account(DkImapPoller *p)
{
	return p->account->name;
}

void dk_imap_poller_stats(DkImapPoller *p, DkImapStats *stats_out)
{
	g_mutex_lock(&p->lock);
	*stats_out = p->stats;
	g_mutex_unlock(&p->lock);
}

static void count(DkImapPoller *p, guint64 *field, guint64 n)
{
	g_mutex_lock(&p->lock);
	*field += n;
	g_mutex_unlock(&p->lock);
}

static void refuse(DkImapPoller *p, const char *folder, Disposition *d, guint32 uid,
                   const GError *why)
{
	g_warning("imap account=%s folder=%s uid=%u event=refused reason=\"%s\"", p->account->name,
	          folder, uid, why->message);
	g_array_append_val(d->refused, uid);
	count(p, &p->stats.refused, 1);
}

static void defer(DkImapPoller *p, const char *folder, Disposition *d, guint32 uid,
                  const GError *why)
{
	g_message("imap account=%s folder=%s uid=%u event=deferred reason=\"%s\"", p->account->name,
	          folder, uid, why->message);
	if (d->first_deferred == 0 || uid < d->first_deferred)
		d->first_deferred = uid;
	count(p, &p->stats.deferred, 1);
}

/* What the log line of a prepared message needs once it is committed. */
typedef struct {
	guint32 uid;
	gsize size;
} Fetched;

/* Prepares each fetched message; the ones that are not mail are refused
 * here. Returns the items (with their UIDs and sizes in fetched_out, same
 * order). */
static GPtrArray *prepare(DkImapPoller *p, const char *folder, GPtrArray *messages,
                          GArray *fetched_out, Disposition *d)
{
	GPtrArray *items = g_ptr_array_new_with_free_func((GDestroyNotify)dk_pipeline_item_free);
	/* The account's mailbox is the support address the mail came to (a
	 * reply goes out from it); a user name that is no address names none. */
	const char *mailbox[] = {p->account->user, NULL};
	gboolean address = p->account->user != NULL && strchr(p->account->user, '@') != NULL;
	DkIntake intake = {.intake = "imap", .recipients = address ? mailbox : NULL};
	for (guint i = 0; i < messages->len; i++) {
		DkImapMessage *m = g_ptr_array_index(messages, i);
		g_autoptr(GError) error = NULL;
		DkPipelineItem *item = NULL;
		if (m->size > p->max_message_size)
			g_set_error(
			    &error, DK_ERROR, DK_ERROR_PERMANENT,
			    "message larger than [intake] max_message_size (%" G_GSIZE_FORMAT
			    " bytes)",
			    p->max_message_size);
		else if (m->raw == NULL)
			item = dk_pipeline_prepare_fd(p->pipeline, m->fd, m->size, &intake, &error);
		else
			item = dk_pipeline_prepare(p->pipeline, m->raw, &intake, &error);
		if (item != NULL) {
			Fetched f = {m->uid, m->size};
			g_ptr_array_add(items, item);
			g_array_append_val(fetched_out, f);
		} else if (dk_error_is_temporary(error)) {
			defer(p, folder, d, m->uid, error);
		} else {
			refuse(p, folder, d, m->uid, error);
		}
	}
	return items;
}

static guint64 *outcome_counter(DkImapPoller *p, DkOutcome outcome)
{
	switch (outcome) {
	case DK_OUTCOME_DUPLICATE:
		return &p->stats.duplicates;
	case DK_OUTCOME_QUARANTINED:
		return &p->stats.quarantined;
	case DK_OUTCOME_DROPPED:
		return &p->stats.dropped;
	default:
		return &p->stats.stored;
	}
}

/* The one line of a message stored (or found stored, or dropped), as
 * the LMTP listener writes one: the other outcomes have theirs
 * (quarantined, refused, deferred). */
static void log_message(DkImapPoller *p, const char *folder, guint32 uid, gsize size,
                        DkPipelineItem *item)
{
	const DkMessage *message = dk_pipeline_item_message(item);
	const DkDelivery *result = dk_pipeline_item_result(item);
	const DkAddress *from = message ? message->from : NULL;
	g_message("imap account=%s folder=%s uid=%u event=message from=<%s> size=%" G_GSIZE_FORMAT
	          " ticket=%" G_GINT64_FORMAT " outcome=%s evidence=%s message_id=<%s>",
	          p->account->name, folder, uid, from && from->address ? from->address : "", size,
	          result->ticket, dk_outcome_name(result->outcome),
	          result->evidence ? result->evidence : "-",
	          result->message_id ? result->message_id : "");
}

/* Sorts the committed items into done, refused and deferred. */
static void classify(DkImapPoller *p, const char *folder, GPtrArray *items, GArray *fetched,
                     Disposition *d)
{
	for (guint i = 0; i < items->len; i++) {
		DkPipelineItem *item = g_ptr_array_index(items, i);
		guint32 uid = g_array_index(fetched, Fetched, i).uid;
		gsize size = g_array_index(fetched, Fetched, i).size;
		const GError *why = dk_pipeline_item_error(item);
		const DkDelivery *result = dk_pipeline_item_result(item);
		if (why == NULL) {
			DkOutcome outcome = result->outcome;
			g_array_append_val(d->done, uid);
			d->fresh += outcome != DK_OUTCOME_DUPLICATE;
			if (outcome == DK_OUTCOME_QUARANTINED)
				g_warning("imap account=%s folder=%s uid=%u event=quarantined "
				          "entry=%" G_GINT64_FORMAT " reason=\"%s\"",
				          p->account->name, folder, uid, result->quarantine,
				          dk_pipeline_item_quarantine_reason(item));
			else
				log_message(p, folder, uid, size, item);
			count(p, outcome_counter(p, outcome), 1);
			dk_metrics_count(outcome == DK_OUTCOME_QUARANTINED ? DK_METRIC_QUARANTINED
			                                                   : DK_METRIC_ACCEPTED,
			                 "imap");
		} else if (dk_error_is_temporary(why)) {
			dk_metrics_count(DK_METRIC_TEMPFAILED, "imap");
			defer(p, folder, d, uid, why);
		} else {
			dk_metrics_count(DK_METRIC_REFUSED, "imap");
			refuse(p, folder, d, uid, why);
		}
	}
}

static gint compare_uid(gconstpointer a, gconstpointer b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

/* Acts on the server once the batch is committed: RFC 3501 lets a client
 * act on UIDs in any order, but sorted sets fold into ranges. */
static gboolean dispose(DkImapPoller *p, Disposition *d, GError **error)
{
	const DkImapAccount *a = p->account;
	g_array_sort(d->done, compare_uid);
	g_array_sort(d->refused, compare_uid);
	if (d->done->len > 0) {
		const guint32 *uids = (const guint32 *)(void *)d->done->data;
		if (a->move ? !dk_imap_client_move(p->client, uids, d->done->len,
		                                   a->processed_folder, error)
		            : !dk_imap_client_flag_seen(p->client, uids, d->done->len, error))
			return FALSE;
	}
	return d->refused->len == 0 ||
	       dk_imap_client_move(p->client, (const guint32 *)(void *)d->refused->data,
	                           d->refused->len, a->error_folder, error);
}

/* Fetches each UID of large into a file of its own in the spool folder,
 * a piece at a time, adding the messages to messages (a UID the server no
 * longer has is left out). */
static gboolean fetch_large(DkImapPoller *p, GArray *large, GPtrArray *messages, GError **error)
{
	for (guint i = 0; i < large->len; i++) {
		int fd = dk_store_file_spool(p->spool_dir, "imap");
		if (fd < 0) {
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY,
			            "creating a spool file in %s: %s", p->spool_dir,
			            g_strerror(errno));
			return FALSE;
		}
		GError *local = NULL;
		DkImapMessage *m = dk_imap_client_fetch_to(
		    p->client, g_array_index(large, guint32, i), fd, &local);
		if (m == NULL) {
			close(fd);
			if (local != NULL) {
				g_propagate_error(error, local);
				return FALSE;
			}
			continue;
		}
		g_ptr_array_add(messages, m);
	}
	return TRUE;
}

/* Fetches, commits and disposes of one batch (fetch: UIDs to fetch;
 * large: UIDs to fetch into files; too_big: UIDs refused unread for their
 * size); then records that every UID up to last is handled, or stops
 * short of the first deferred one. *stop_out says the folder's round
 * should end (a deferral). */
static gboolean work_batch(DkImapPoller *p, const char *folder, GArray *fetch, GArray *large,
                           GArray *too_big, guint32 last, DkImapState *state, gboolean *stop_out,
                           GError **error)
{
	Disposition d = {
	    .done = g_array_new(FALSE, FALSE, sizeof(guint32)),
	    .refused = g_array_new(FALSE, FALSE, sizeof(guint32)),
	};
	/* Owners of the arrays, for their cleanup only. */
	g_autoptr(GArray) done G_GNUC_UNUSED = d.done;
	g_autoptr(GArray) refused G_GNUC_UNUSED = d.refused;
	for (guint i = 0; i < too_big->len; i++) {
		g_autoptr(GError) why =
		    g_error_new(DK_ERROR, DK_ERROR_PERMANENT,
		                "larger than [intake] max_message_size (%" G_GSIZE_FORMAT " bytes)",
		                p->max_message_size);
		refuse(p, folder, &d, g_array_index(too_big, guint32, i), why);
	}
	g_autoptr(GPtrArray) messages =
	    fetch->len == 0 ? g_ptr_array_new_with_free_func((GDestroyNotify)dk_imap_message_free)
	                    : dk_imap_client_fetch(p->client, (const guint32 *)(void *)fetch->data,
	                                           fetch->len, error);
	if (messages == NULL || !fetch_large(p, large, messages, error))
		return FALSE;
	count(p, &p->stats.fetched, messages->len);
	g_autoptr(GArray) fetched = g_array_new(FALSE, FALSE, sizeof(Fetched));
	g_autoptr(GPtrArray) items = prepare(p, folder, messages, fetched, &d);
	g_clear_pointer(&messages, g_ptr_array_unref);
	if (items->len > 0 &&
	    !dk_pipeline_commit(p->pipeline, (DkPipelineItem **)items->pdata, items->len, error))
		return FALSE;
	classify(p, folder, items, fetched, &d);
	g_clear_pointer(&items, g_ptr_array_unref);
	if (!dispose(p, &d, error))
		return FALSE;
	/* UIDs the server did not return were expunged meanwhile: done. */
	state->last_uid = d.first_deferred ? d.first_deferred - 1 : MAX(state->last_uid, last);
	*stop_out = d.first_deferred != 0;
	/* Duplicates do not count: re-fetching what follows a deferred message
	 * (flag mode) must not keep the loop from waiting. */
	p->handled += d.fresh + d.refused->len;
	return dk_store_imap_state_set(p->state, p->account->name, folder, state, error);
}

/* Works n UIDs (at most batch_size): their sizes first, so that a message
 * over max_message_size is refused without being downloaded, one over
 * DK_PIPELINE_LARGE_MESSAGE is fetched into a file a piece at a time and
 * read from there, as LMTP reads a large one, and one fetch of the others
 * holds at most BATCH_BYTES: memory stays bounded however large the folder
 * and its messages. */
static gboolean work_chunk(DkImapPoller *p, const char *folder, const guint32 *uids, guint n,
                           DkImapState *state, gboolean *stop_out, GError **error)
{
	g_autofree guint32 *sizes = g_new0(guint32, n);
	if (!dk_imap_client_sizes(p->client, uids, n, sizes, error))
		return FALSE;
	g_autoptr(GArray) fetch = g_array_new(FALSE, FALSE, sizeof(guint32));
	g_autoptr(GArray) large = g_array_new(FALSE, FALSE, sizeof(guint32));
	g_autoptr(GArray) too_big = g_array_new(FALSE, FALSE, sizeof(guint32));
	guint64 bytes = 0;
	for (guint i = 0; i < n; i++) {
		if (sizes[i] > p->max_message_size) {
			g_array_append_val(too_big, uids[i]);
			continue;
		}
		if (sizes[i] > DK_PIPELINE_LARGE_MESSAGE) {
			g_array_append_val(large, uids[i]);
			continue;
		}
		if (fetch->len > 0 && bytes + sizes[i] > BATCH_BYTES) {
			if (!work_batch(p, folder, fetch, large, too_big, uids[i - 1], state,
			                stop_out, error))
				return FALSE;
			if (*stop_out)
				return TRUE;
			g_array_set_size(fetch, 0);
			g_array_set_size(large, 0);
			g_array_set_size(too_big, 0);
			bytes = 0;
		}
		g_array_append_val(fetch, uids[i]);
		bytes += sizes[i];
	}
	return work_batch(p, folder, fetch, large, too_big, uids[n - 1], state, stop_out, error);
}

static gboolean work_folder(DkImapPoller *p, const char *folder, GError **error)
{
	const char *name = p->account->name;
	guint32 uidvalidity = 0;
	DkImapState state;
	if (!dk_imap_client_select(p->client, folder, &uidvalidity, error) ||
	    !dk_store_imap_state_get(p->state, name, folder, &state, error))
		return FALSE;
	if (state.uidvalidity != uidvalidity) {
		/* RFC 3501 section 2.3.1.1: the old UIDs mean nothing now. The
		 * pipeline dedupes whatever was stored before. */
		if (state.uidvalidity != 0)
			g_message(
			    "imap account=%s folder=%s event=uidvalidity-changed old=%u new=%u",
			    name, folder, state.uidvalidity, uidvalidity);
		state = (DkImapState){.uidvalidity = uidvalidity, .last_uid = 0};
	}
	g_autoptr(GArray) uids = dk_imap_client_search_after(p->client, state.last_uid, error);
	if (uids == NULL)
		return FALSE;
	const guint32 *all = (const guint32 *)(void *)uids->data;
	gboolean stop = FALSE;
	for (guint i = 0; i < uids->len && !stop && !g_cancellable_is_cancelled(p->cancellable);
	     i += p->account->batch_size) {
		guint n = MIN(p->account->batch_size, uids->len - i);
		if (!work_chunk(p, folder, all + i, n, &state, &stop, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean connect_client(DkImapPoller *p, GError **error)
{
	if (p->client != NULL)
		return TRUE;
	p->client = dk_imap_client_connect(p->account, error);
	if (p->client == NULL)
		return FALSE;
	count(p, &p->stats.reconnects, 1);
	g_message("imap account=%s event=connected host=%s", p->account->name, p->account->host);
	return TRUE;
}

gboolean dk_imap_poller_run_once(DkImapPoller *p, GError **error)
{
	if (!connect_client(p, error))
		return FALSE;
	p->handled = 0;
	for (char **folder = p->account->folders; *folder != NULL; folder++) {
		if (!work_folder(p, *folder, error)) {
			g_prefix_error(error, "account %s, folder %s: ", p->account->name, *folder);
			g_clear_pointer(&p->client, dk_imap_client_free);
			return FALSE;
		}
	}
	count(p, &p->stats.rounds, 1);
	dk_metrics_imap_polled(p->account->name, g_get_real_time() / G_USEC_PER_SEC);
	return TRUE;
}

/* Sleeps up to seconds or until cancelled; FALSE when cancelled. */
static gboolean pause_for(guint seconds, GCancellable *cancellable)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	while (!g_cancellable_is_cancelled(cancellable)) {
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0)
			return TRUE;
		GPollFD fd;
		if (cancellable != NULL && g_cancellable_make_pollfd(cancellable, &fd)) {
			g_poll(&fd, 1, (gint)MIN(left / 1000 + 1, G_MAXINT));
			g_cancellable_release_fd(cancellable);
		} else {
			g_usleep((gulong)MIN(left, G_USEC_PER_SEC));
		}
	}
	return FALSE;
}

/* Waits for news in the last folder selected: IDLE when offered, else a
 * pause and a NOOP that proves the connection. Each IDLE lasts at most
 * poll_seconds (and idle_renew_seconds): the other folders are polled that
 * often, and a notification TLS left buffered unseen waits no longer. */
static gboolean wait_for_news(DkImapPoller *p, GCancellable *cancellable, GError **error)
{
	const DkImapAccount *a = p->account;
	if (!a->idle || !dk_imap_client_can_idle(p->client)) {
		return !pause_for(a->poll_seconds, cancellable) ||
		       dk_imap_client_noop(p->client, error);
	}
	guint seconds = MIN(a->poll_seconds, a->idle_renew_seconds);
	gboolean activity = FALSE;
	return dk_imap_client_idle(p->client, seconds, cancellable, &activity, error);
}

/* Whether this gateway polls the account now (into p->leased): of the
 * gateways sharing a PostgreSQL store, the one holding its lease
 * (dk_store_lease_hold), which another takes when the holder dies. The
 * others wait poll_seconds and ask again; one that lost the lease lets
 * its connection go. Logged when it changes. */
static gboolean hold_lease(DkImapPoller *p, GError **error)
{
	g_autofree char *lease = g_strconcat("imap:", p->account->name, NULL);
	gboolean held = FALSE;
	if (!dk_store_lease_hold(p->state, lease, &held, error))
		return FALSE;
	if (p->lease_known && held == p->leased)
		return TRUE;
	g_message("imap account=%s event=%s", p->account->name, held ? "lease-taken" : "standby");
	p->lease_known = TRUE;
	p->leased = held;
	if (!held)
		g_clear_pointer(&p->client, dk_imap_client_free);
	return TRUE;
}

void dk_imap_poller_run(DkImapPoller *p, GCancellable *cancellable)
{
	guint backoff = 1;
	p->cancellable = cancellable;
	p->lease_known = FALSE;
	while (!g_cancellable_is_cancelled(cancellable)) {
		g_autoptr(GError) error = NULL;
		gboolean leased = hold_lease(p, &error);
		if (leased && !p->leased) {
			if (!pause_for(p->account->poll_seconds, cancellable))
				break;
			continue;
		}
		if (leased && dk_imap_poller_run_once(p, &error) &&
		    (p->handled > 0 || wait_for_news(p, cancellable, &error))) {
			backoff = 1;
			continue;
		}
		if (g_cancellable_is_cancelled(cancellable))
			break;
		g_warning("imap account=%s event=error retry_in=%us reason=\"%s\"",
		          p->account->name, backoff, error->message);
		g_clear_pointer(&p->client, dk_imap_client_free);
		if (!pause_for(backoff, cancellable))
			break;
		backoff = MIN(backoff * 2, BACKOFF_MAX_SECONDS);
	}
	g_clear_pointer(&p->client, dk_imap_client_free);
	p->cancellable = NULL;
}
