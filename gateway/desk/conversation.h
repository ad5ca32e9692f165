/* The conversation with the customer: who a public reply of support goes
 * to, what files it may carry, and what replies do to a ticket's status.
 * Read from the configuration once (dk_conversation_new) and shared by
 * every path a reply takes: `docket ticket reply` (desk.h's
 * dk_desk_reply), an agent's reply by mail (the writer), and a comment
 * read back from a help desk. Every function that writes runs inside the
 * caller's store transaction.
 *
 * - Recipients: the requester, and, where the ticket's queue copies
 *   participants ([queue:NAME] copy_participants, else [desk]
 *   copy_participants), every participant of role cc (the requester's Cc
 *   recipients, and those added with `docket ticket participants N add`);
 *   never one of docket's own addresses or an agent (staff.h).
 * - Each recipient gets a copy of its own: an outbox "relay" row whose
 *   envelope goes to that recipient alone, with To the requester and Cc
 *   the others, so that a bounce names the one address that failed and
 *   each copy's In-Reply-To names only mail that recipient received.
 * - Files: each at most [notify] attachment_max_size, together at most
 *   attachment_max_total; a reply over either is refused.
 * - Status: support's public reply moves a new or open ticket to
 *   [desk] reply_status (waiting); a customer's reply moves a waiting
 *   ticket back to open. The assignee hears of every customer's reply;
 *   while nobody is assigned, the [notify] team_addresses hear of one
 *   that comes back to a ticket that was waiting, resolved or closed
 *   ([notify] customer_reply). */
#pragma once

#include "gateway/config.h"
#include "gateway/desk/staff.h"
#include "gateway/store/store.h"

G_BEGIN_DECLS

typedef struct DkConversation DkConversation;

/* Reads [desk], [queue:*], [notify] and the staff; never fails (the
 * configuration was checked when it was read). */
DkConversation *dk_conversation_new(const DkConfig *config);
void dk_conversation_free(DkConversation *conversation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkConversation, dk_conversation_free)

/* The configuration's staff (owned by the conversation). */
const DkStaff *dk_conversation_staff(const DkConversation *conversation);

/* Whether public replies on a ticket of queue copy its cc participants. */
gboolean dk_conversation_copies(const DkConversation *conversation, const char *queue);

/* The addresses (char*, lower case) a public reply on ticket t goes to,
 * requester first, into out; none when t has no requester. */
gboolean dk_conversation_recipients(const DkConversation *conversation, DkStore *store,
                                    const DkTicket *t, GPtrArray *out, GError **error);

/* Whether a reply may carry n files of these names and sizes: FALSE with
 * DK_ERROR_PERMANENT naming the file (or the total) and the limit. */
gboolean dk_conversation_files_fit(const DkConversation *conversation, const char *const *names,
                                   const gsize *sizes, guint n, GError **error);

/* A public reply of support, stored as an article. */
typedef struct {
	gint64 article;
	const char *author;      /* the agent's address, or NULL */
	const char *author_name; /* the agent's display name, or NULL */
	const char *by;          /* who changes the status: the author, or "reply" */
	/* Addresses the reply reached already by itself (an agent's mail
	 * that had them in To or Cc), NULL-terminated, or NULL. */
	const char *const *delivered;
	/* The Message-ID the agent's mail answers (its In-Reply-To), or NULL:
	 * each copy answers it where its recipient received it. */
	const char *answers;
} DkReplyOut;

/* What follows a public reply of support on ticket t: a relay row per
 * recipient the reply did not reach by itself, each with an
 * "outbound_relay_queued" event ("outbound_delivered" for the others),
 * the first response recorded, and a new or open ticket moved to [desk]
 * reply_status. A ticket without requester gets no rows. */
gboolean dk_conversation_replied(const DkConversation *conversation, DkStore *store,
                                 const DkTicket *t, const DkReplyOut *reply, gint64 now,
                                 GError **error);

/* What follows a customer's public reply (article, from sender) on ticket
 * t (as it was before): a waiting ticket is open again; the assignee gets
 * an "assignee-reply" notice, or, while nobody is assigned and t was
 * waiting, resolved or closed, each team address does (never the sender
 * itself; nobody with [notify] customer_reply = none). */
gboolean dk_conversation_customer_replied(const DkConversation *conversation, DkStore *store,
                                          const DkTicket *t, gint64 article, const char *sender,
                                          gint64 now, GError **error);

/* `docket ticket participants N add ADDRESS`: address becomes a
 * participant of role cc (copied on public replies where the queue copies
 * participants), with a "participant_added" event {address, by}. Refused
 * (DK_ERROR_PERMANENT) for an unusable address, one of docket's own or an
 * agent's; an address that is a participant already changes nothing. */
gboolean dk_conversation_participant_add(const DkConversation *conversation, DkStore *store,
                                         gint64 ticket, const char *address, const char *by,
                                         gint64 now, GError **error);

/* `... remove ADDRESS`: with a "participant_removed" event. The requester
 * cannot be removed, nor an address that is no participant
 * (DK_ERROR_PERMANENT). */
gboolean dk_conversation_participant_remove(const DkConversation *conversation, DkStore *store,
                                            gint64 ticket, const char *address, const char *by,
                                            gint64 now, GError **error);

G_END_DECLS
