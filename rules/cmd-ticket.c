/* The actions of docket's "vnd.docket.ticket" extension (rules/README.md):
 * set the ticket's priority, status, assignee, organisation, custom fields,
 * correlation key, acknowledgement and notification template. */
#include "rules/sieve-private.h"

#include <string.h>

const char *const dk_sieve_ticket_priorities[] = {"critical", "high", "medium",
                                                  "low",      "none", NULL};
const char *const dk_sieve_ticket_statuses[] = {"new",     "open",     "in_progress", "waiting",
                                                "on_hold", "resolved", "closed",      NULL};

typedef struct {
	const char *command;
	DkSieveActionType type;
	const char *const *allowed; /* the values allowed, or NULL for any */
} TicketAction;

static const TicketAction ticket_actions[] = {
    {"ticket_priority", DK_SIEVE_ACTION_TICKET_PRIORITY, dk_sieve_ticket_priorities},
    {"ticket_status", DK_SIEVE_ACTION_TICKET_STATUS, dk_sieve_ticket_statuses},
    {"ticket_assign", DK_SIEVE_ACTION_TICKET_ASSIGN, NULL},
    {"ticket_organisation", DK_SIEVE_ACTION_TICKET_ORGANISATION, NULL},
    {"ticket_field", DK_SIEVE_ACTION_TICKET_FIELD, NULL},
    {"ticket_correlate", DK_SIEVE_ACTION_TICKET_CORRELATE, NULL},
    {"ticket_noack", DK_SIEVE_ACTION_TICKET_NOACK, NULL},
    {"ticket_template", DK_SIEVE_ACTION_TICKET_TEMPLATE, NULL},
    {NULL, 0, NULL},
};

static const TicketAction *lookup(const char *command)
{
	for (const TicketAction *t = ticket_actions; t->command; t++)
		if (strcmp(t->command, command) == 0)
			return t;
	g_assert_not_reached();
}

static gboolean value_allowed(const TicketAction *t, const char *value)
{
	if (t->allowed != NULL)
		return g_strv_contains(t->allowed, value);
	return *value != '\0';
}

static gboolean validate_ticket(DkSieveValidator *v, DkSieveNode *node)
{
	const TicketAction *t = lookup(node->def->name);
	const DkSieveArg *last =
	    node->positional->len ? dk_sieve_node_arg(node, node->positional->len - 1) : NULL;
	if (last == NULL || !dk_sieve_arg_constant(v, last))
		return TRUE;
	const char *value = g_ptr_array_index(last->strings, 0);
	if (t->type == DK_SIEVE_ACTION_TICKET_FIELD && *value == '\0')
		return TRUE; /* an empty field value clears the field */
	if (!value_allowed(t, value)) {
		g_autofree char *list = t->allowed ? g_strjoinv(" ", (char **)t->allowed) : NULL;
		dk_sieve_validator_error(v, last->line, last->column,
		                         "invalid value '%s' for %s%s%s", value, node->name,
		                         list ? ": expected one of " : "", list ? list : "");
		return FALSE;
	}
	return TRUE;
}

static DkSieveStep run_ticket(DkSieveInterp *ip, const DkSieveNode *node)
{
	const TicketAction *t = lookup(node->def->name);
	g_autofree char *value = NULL, *name = NULL;
	if (node->positional->len == 2) {
		name = dk_sieve_expand_arg(ip, dk_sieve_node_arg(node, 0));
		if (*name == '\0')
			return dk_sieve_interp_fail(ip, node, "empty field name");
	}
	if (node->positional->len > 0) {
		value = dk_sieve_expand_arg(ip, dk_sieve_node_arg(node, node->positional->len - 1));
		if (!(t->type == DK_SIEVE_ACTION_TICKET_FIELD && *value == '\0') &&
		    !value_allowed(t, value))
			return dk_sieve_interp_fail(ip, node, "invalid value '%s'", value);
	}
	DkSieveAction *a = dk_sieve_interp_action(ip, t->type, node);
	if (a == NULL)
		return DK_STEP_ERROR;
	a->value = g_steal_pointer(&value);
	a->name = g_steal_pointer(&name);
	return DK_STEP_NEXT;
}

static const DkSieveArgType one_string[] = {DK_ARGT_STRING};
static const DkSieveArgType two_strings[] = {DK_ARGT_STRING, DK_ARGT_STRING};

#define TICKET_COMMAND(cname, n, types)                                                            \
	{                                                                                          \
		.name = cname, .extension = "vnd.docket.ticket", .min_args = n, .max_args = n,     \
		.args = types, .validate = validate_ticket, .run = run_ticket,                     \
	}

const DkSieveDef dk_sieve_cmd_ticket_priority = TICKET_COMMAND("ticket_priority", 1, one_string);
const DkSieveDef dk_sieve_cmd_ticket_status = TICKET_COMMAND("ticket_status", 1, one_string);
const DkSieveDef dk_sieve_cmd_ticket_assign = TICKET_COMMAND("ticket_assign", 1, one_string);
const DkSieveDef dk_sieve_cmd_ticket_organisation =
    TICKET_COMMAND("ticket_organisation", 1, one_string);
const DkSieveDef dk_sieve_cmd_ticket_field = TICKET_COMMAND("ticket_field", 2, two_strings);
const DkSieveDef dk_sieve_cmd_ticket_correlate = TICKET_COMMAND("ticket_correlate", 1, one_string);
const DkSieveDef dk_sieve_cmd_ticket_noack = TICKET_COMMAND("ticket_noack", 0, NULL);
const DkSieveDef dk_sieve_cmd_ticket_template = TICKET_COMMAND("ticket_template", 1, one_string);
