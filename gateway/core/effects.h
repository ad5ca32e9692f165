/* What a stored message asks of the world outside the store, and the
 * interface through which the writer hands it on.
 *
 * The writer decides; it does not send. For each message it commits it
 * fills one DkEffects: whether the connectors hear of a new article, whether
 * a new ticket earns its notifications (and whether a rule withheld the
 * acknowledgement), and which address a bounce marks as bouncing. The
 * DkEffectsOps given to the pipeline turns that record into outbox rows in
 * the same transaction, right after the message's own rows (outbox/effects.h
 * is docket's implementation). core/ defines this interface so that it
 * includes nothing of outbox/: core/ writes no outbox row itself. */
#pragma once

#include "gateway/config.h"
#include "gateway/store/store.h"
#include "parsers/message.h"

G_BEGIN_DECLS

/* The effects of one message; every pointer is borrowed from the message's
 * pipeline item and valid only during DkEffectsOps.write. */
typedef struct {
	const char *intake;        /* "lmtp", "imap", "stdin", "import", "history" (both
	                            * imports are history: no mail, no connector rows) */
	gint64 at;                 /* when the message was received (Unix seconds) */
	gint64 ticket;             /* the ticket it went onto, or 0 */
	gint64 article;            /* the article it became, or 0 */
	const DkMessage *message;  /* the message itself */
	const char *envelope_from; /* or NULL; "" is the null sender of a bounce */
	const char *const
	    *recipients; /* its envelope recipients (docket's own addresses), or NULL */

	/* An article was stored (a new ticket, or a new article on one): the
	 * connectors hear of it and of the changes it made. */
	gboolean article_event;
	/* The message opened the ticket: the sender's acknowledgement and the
	 * team's notice are due. */
	gboolean ticket_created;
	/* A rule (ticket_noack) withheld the acknowledgement. */
	gboolean suppress_ack;
	/* The template a rule (ticket_template) chose for the acknowledgement,
	 * or NULL: "ack". */
	const char *ack_template;

	/* A bounce stored on its ticket: this address bounced (with this
	 * status, or NULL), so notifications skip it from now on. NULL: none. */
	const char *bouncing_address;
	const char *bouncing_status;

	/* The rules' redirects (RFC 5228 section 4.2): the addresses the
	 * message as received goes to, owned (g_free); NULL: none. They are
	 * carried out whether the message became an article or was dropped
	 * (then under ticket 0). raw_sha256 names the message in the store. */
	GPtrArray *redirects;
	char raw_sha256[65];

	/* What DkEffectsOps.prepare returned for the message, or NULL. */
	gconstpointer prepared;
} DkEffects;

/* The layer that carries effects out. */
typedef struct {
	/* Writes the rows that carry out effects, inside the writer's open
	 * transaction, with config the item's configuration (NULL: no
	 * notifications and no connector rows; bounce marks are still
	 * written). FALSE with the store's error fails the message. */
	gboolean (*write)(DkStore *store, const DkConfig *config, const DkEffects *effects,
	                  GError **error);
	/* Optional: called while the message is prepared, on the intake's
	 * thread, with the same config (non-NULL), the message and its
	 * envelope recipients (may be NULL): works out what of its effects
	 * depends on them alone, so that the one writer does not. Returns
	 * what write then finds in DkEffects.prepared (NULL: nothing), freed
	 * with free_prepared. */
	gpointer (*prepare)(const DkConfig *config, const DkMessage *message,
	                    const char *const *recipients);
	void (*free_prepared)(gpointer prepared);
} DkEffectsOps;

G_END_DECLS
