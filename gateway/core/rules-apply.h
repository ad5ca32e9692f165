/* The administrator's Sieve script in the pipeline: loaded once (and again
 * on SIGHUP), run by the writer for every message inside its transaction,
 * its actions applied to the ticket, and the rules that fired recorded as
 * events. What the standard actions mean for a ticket is in README.md. */
#pragma once

#include "gateway/config.h"
#include "gateway/store/store.h"
#include "parsers/message.h"
#include "rules/sieve.h"

G_BEGIN_DECLS

/* A compiled script, shared by the pipeline and the items in flight. */
typedef struct DkRules DkRules;

/* Compiles [rules] script (or takes, with a reference, the one the
 * configuration's validator compiled). NULL with *error NULL when no
 * script is set;
 * NULL with an error ("FILE:LINE:COL: ...") when it cannot be read or
 * compiled: the caller refuses to run rather than run half the rules. */
DkRules *dk_rules_load(const DkConfig *config, GError **error);
DkRules *dk_rules_ref(DkRules *rules);
void dk_rules_unref(DkRules *rules);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkRules, dk_rules_unref)

/* What the script decided for one message, before its ticket is written. */
typedef struct {
	DkSieveResult *result;
	gboolean discard;          /* no article: the mail is dropped (logged) */
	char *reject;              /* the reason, when the script rejected the mail */
	const char *queue;         /* fileinto: the queue, or NULL */
	const char *correlation;   /* ticket_correlate's key, or NULL */
	gboolean noack;            /* ticket_noack */
	const char *template_name; /* ticket_template, or NULL */
	/* Set by the caller before dk_rules_apply when the message may change
	 * no ticket field (an auto-reply): why, a static string; else NULL. */
	const char *fields_locked;
} DkRulesVerdict;

/* Runs the script for message. ticket is the ticket it threads onto, or
 * NULL for a new one; sla its SLA states for ticket_sla (NULL-terminated,
 * see dk_desk_sla_states; may be NULL). Never fails: a runtime error keeps
 * the message (RFC 5228 section 2.10.6) and is reported in the events. */
void dk_rules_run(const DkRules *rules, const DkMessage *message, gsize size,
                  const char *envelope_from, const char *envelope_to, const DkTicket *ticket,
                  const char *const *sla, gboolean from_agent, gint64 now,
                  DkRulesVerdict *verdict_out);

/* Applies the ticket actions (queue, priority, status, assignee,
 * organisation, fields, tags) to ticket and records a
 * "rule_fired" event naming the lines and actions. A status the ticket's
 * lifecycle does not allow next (dk_desk_transition_allowed, as for
 * `docket ticket set`) is not set: a "rule_action_refused" event names
 * the line. With fields_locked, no field or tag changes: one
 * "rule_actions_ignored" event lists the actions and says why. */
gboolean dk_rules_apply(DkStore *store, const DkRulesVerdict *verdict, gint64 ticket,
                        gint64 article, gint64 now, GError **error);

/* The addresses the script redirects the message to, in the script's
 * order (copies, g_free), or NULL for none: the writer hands them to the
 * outbox as effects (core/effects.h), whether the message was kept or,
 * a redirect without :copy cancelling the implicit keep, dropped. */
GPtrArray *dk_rules_redirects(const DkRulesVerdict *verdict);

void dk_rules_verdict_clear(DkRulesVerdict *verdict);

G_END_DECLS
