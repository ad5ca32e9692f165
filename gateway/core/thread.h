/* Threading: which existing ticket a message belongs to, by the evidence
 * listed in DESIGN.md ("Threading, in order of trust"), and who may add to
 * a ticket. Reads the store inside the writer's transaction, so messages
 * of one batch see each other.
 *
 * Evidence, strongest first:
 *  "header"        In-Reply-To or any References entry names a Message-ID
 *                  in the store, or a Message-ID docket made (MAC'd with the
 *                  installation's secret, so it counts even when the store
 *                  was restored from a backup that lacks it);
 *  "reply-address" a signed reply address (support+<n>.<mac>@domain) among
 *                  the envelope recipients, To or Cc ([threading]
 *                  reply_addresses);
 *  "token"         "[<token_prefix> #<n>]" in the subject, behind any chain
 *                  of reply and forward prefixes: the weakest, subject to
 *                  the follow-up policy;
 *  "foreign"       another system's ticket number ([foreign:NAME] pattern)
 *                  already stored on a ticket;
 *  "new"           none of these. The subject's words never count.
 * ("correlation" is kept for the rules' correlation keys.) */
#pragma once

#include "gateway/config.h"
#include "gateway/desk/staff.h"
#include "gateway/store/store.h"
#include "parsers/message.h"

G_BEGIN_DECLS

typedef enum {
	DK_FOLLOW_UP_ACCEPT,     /* the token is enough */
	DK_FOLLOW_UP_NEW_TICKET, /* a new ticket, linked to the one named */
	DK_FOLLOW_UP_REJECT,     /* refuse the message permanently */
} DkFollowUp;

typedef struct {
	char *name;    /* the NAME of [foreign:NAME] */
	GRegex *regex; /* capture group 1 is the number */
} DkForeignPattern;

/* The threading configuration, read once (dk_pipeline_new) and shared by
 * every message; only the secret is loaded late, under a lock. */
typedef struct {
	char *token_prefix;
	DkFollowUp follow_up;
	gint64 reopen_seconds; /* [threading] reopen_days in seconds */
	gboolean reply_addresses;
	char *reply_address; /* the base, or NULL */
	gboolean organisation_domain_participants;
	DkStaff *staff;               /* docket's own addresses and the agents */
	char *authserv_id;            /* our MTA's Authentication-Results id, or NULL */
	gboolean relaxed_alignment;   /* [agents] alignment = relaxed */
	gboolean insecure_trust_from; /* [agents] insecure_trust_from: the From alone */
	GPtrArray *foreign;           /* of DkForeignPattern* */
	/* private */
	GMutex lock;
	GBytes *secret;
	char *secret_path;
	gboolean secret_configured;
} DkThreadPolicy;

typedef struct {
	gint64 ticket;        /* 0: no existing ticket, open a new one */
	const char *evidence; /* see above; a static string */
	gboolean forged;      /* a reply address of ours with a bad MAC was there */
} DkThreadMatch;

typedef enum {
	DK_AGENT_NONE,       /* the From is no agent */
	DK_AGENT_VERIFIED,   /* an agent, and the MTA vouches for the From (or
	                      * [agents] insecure_trust_from is set) */
	DK_AGENT_UNVERIFIED, /* the From names an agent, but nothing vouches for it */
} DkAgentTrust;

/* Reads [threading], [agents] and [foreign:*]. A [foreign:NAME] pattern
 * that is not a valid regular expression with a capture group is left out
 * with a warning. */
DkThreadPolicy *dk_thread_policy_new(const DkConfig *config);
void dk_thread_policy_free(DkThreadPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkThreadPolicy, dk_thread_policy_free)

/* The installation's secret (a new reference), or NULL while there is
 * none: [threading] secret, else data_dir/secret once it exists. Nothing
 * docket sent can carry a MAC before the secret exists, so none is made
 * here. Thread-safe. */
GBytes *dk_thread_policy_secret(DkThreadPolicy *policy);

/* Looks for the ticket of message by the evidence above; recipients are
 * the envelope recipients (NULL-terminated, or NULL). FALSE only on a
 * store error. */
gboolean dk_thread_find(DkStore *store, DkThreadPolicy *policy, const DkMessage *message,
                        char **recipients, DkThreadMatch *match_out, GError **error);
/* The same, except that a ticket merged into another is given as it is:
 * the caller resolves it (dk_desk_resolve_merged()), as the writer does
 * with the ticket's read, in the same statement. */
gboolean dk_thread_find_unmerged(DkStore *store, DkThreadPolicy *policy, const DkMessage *message,
                                 char **recipients, DkThreadMatch *match_out, GError **error);

/* The ticket a Message-ID names: in the store, or by a valid MAC (when
 * that ticket exists). FALSE only on a store error. */
gboolean dk_thread_find_message_id(DkStore *store, DkThreadPolicy *policy, const char *message_id,
                                   gint64 *ticket_out, gboolean *found_out, GError **error);

/* Whether address counts as a participant of ticket: an address recorded
 * on it (requester, sender, cc, agent), or with
 * organisation_domain_participants an address in the requester's domain.
 * A verified agent (dk_thread_agent_trust) counts too: the caller checks
 * that, since an agent's From alone proves nothing. */
gboolean dk_thread_is_participant(DkStore *store, const DkThreadPolicy *policy,
                                  const DkTicket *ticket, const char *address,
                                  gboolean *participant_out, GError **error);

/* Whether message comes from an agent, and whether it is verified: the
 * From is in [agents] addresses or domains, the message has one From (of
 * one mailbox) and at most one Sender, and exactly one
 * Authentication-Results header of [agents] authserv_id shows DKIM or SPF
 * passing for a domain aligned with the From's (parsers/authres.h;
 * [agents] alignment). Without authserv_id no agent mail is verified,
 * unless [agents] insecure_trust_from lets the From alone count. why_out
 * (a static string) explains an unverified agent. */
DkAgentTrust dk_thread_agent_trust(const DkThreadPolicy *policy, const DkMessage *message,
                                   const char **why_out);

/* TRUE when address is one of docket's own (dk_staff_is_support_address). */
gboolean dk_thread_is_support_address(const DkThreadPolicy *policy, const char *address);

/* TRUE when address (any case) is one of the agents' (dk_staff_is_agent). */
gboolean dk_thread_is_agent(const DkThreadPolicy *policy, const char *address);

/* Other systems' ticket numbers in message's subject and new text, as
 * pairs name, number (a flat array of char*: name at 2i, number at 2i+1),
 * each pair once. */
GPtrArray *dk_thread_foreign_numbers(const DkThreadPolicy *policy, const DkMessage *message);

G_END_DECLS
