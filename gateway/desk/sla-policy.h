/* The SLA settings of docket.conf: the targets per priority and the
 * business calendar, in [sla] and, per queue, in [queue:NAME] over them. */
#pragma once

#include "gateway/config.h"
#include "gateway/desk/sla.h"

G_BEGIN_DECLS

typedef struct DkSlaPolicy DkSlaPolicy;

/* Reads [sla] and every [queue:NAME] of config (the holiday files too).
 * DK_ERROR_CONFIG naming the section and key when a value is wrong. */
DkSlaPolicy *dk_sla_policy_new(const DkConfig *config, GError **error);
/* The built-in defaults: targets per priority around the clock in UTC. */
DkSlaPolicy *dk_sla_policy_new_default(void);
void dk_sla_policy_free(DkSlaPolicy *policy);

/* [notify] team_addresses: who is told of a missed target (may be empty,
 * never NULL; borrowed from the policy). */
const char *const *dk_sla_policy_team(const DkSlaPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkSlaPolicy, dk_sla_policy_free)

/* Parses a target "FIRST/RESOLUTION" ("15m/4h", "1h30m/8h") into seconds,
 * or "none" (both 0). DK_ERROR_CONFIG when it is neither. */
gboolean dk_sla_policy_parse_target(const char *text, gint64 *first_out, gint64 *resolution_out,
                                    GError **error);

/* The targets in seconds for a ticket of priority in queue (0: none), and
 * the calendar they count in (borrowed from the policy). FALSE when the
 * priority has no target there. */
gboolean dk_sla_policy_targets(const DkSlaPolicy *policy, const char *queue, const char *priority,
                               gint64 *first_out, gint64 *resolution_out,
                               const DkSlaCalendar **calendar_out);

G_END_DECLS
