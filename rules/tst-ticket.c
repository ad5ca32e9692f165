/* The tests of docket's "vnd.docket.ticket" extension on the ticket
 * context: ticket_is_new, ticket_status, ticket_priority, ticket_queue,
 * ticket_sla and message_class (rules/README.md). */
#include "rules/sieve-private.h"

#include <string.h>

static const char *const message_classes[] = {"auto_reply", "auto_generated", "bounce", "bulk",
                                              "agent",      "spam",           NULL};
static const char *const sla_states[] = {
    "breached", "first_response_breached", "resolution_breached", "paused", "answered", "no_target",
    NULL};

static gboolean test_is_new(DkSieveInterp *ip, const DkSieveNode *node)
{
	return ip->input->ticket != NULL && ip->input->ticket->is_new;
}

static gboolean test_field(DkSieveInterp *ip, const DkSieveNode *node)
{
	const DkSieveTicket *t = ip->input->ticket;
	const char *value = NULL;
	if (t != NULL) {
		if (strcmp(node->def->name, "ticket_status") == 0)
			value = t->status;
		else if (strcmp(node->def->name, "ticket_priority") == 0)
			value = t->priority;
		else
			value = t->queue;
	}
	g_autoptr(GPtrArray) values = g_ptr_array_new();
	g_ptr_array_add(values, (gpointer)(value ? value : ""));
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 0));
}

/* The classes of the message: each one that applies is one value. */
static gboolean test_class(DkSieveInterp *ip, const DkSieveNode *node)
{
	const DkClassification *c = &ip->input->message->classification;
	g_autoptr(GPtrArray) values = g_ptr_array_new();
	if (c->auto_reply)
		g_ptr_array_add(values, (gpointer) "auto_reply");
	if (c->auto_generated)
		g_ptr_array_add(values, (gpointer) "auto_generated");
	if (c->bounce != NULL)
		g_ptr_array_add(values, (gpointer) "bounce");
	if (c->bulk)
		g_ptr_array_add(values, (gpointer) "bulk");
	if (ip->input->ticket && ip->input->ticket->is_agent)
		g_ptr_array_add(values, (gpointer) "agent");
	if (c->spam)
		g_ptr_array_add(values, (gpointer) "spam");
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 0));
}

/* The ticket's SLA states: each one that holds is one value. */
static gboolean test_sla(DkSieveInterp *ip, const DkSieveNode *node)
{
	const DkSieveTicket *t = ip->input->ticket;
	g_autoptr(GPtrArray) values = g_ptr_array_new();
	for (guint i = 0; t != NULL && t->sla != NULL && t->sla[i] != NULL; i++)
		g_ptr_array_add(values, (gpointer)t->sla[i]);
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 0));
}

/* With :is and constant keys, each key must be one of known (what names). */
static gboolean validate_keys(DkSieveValidator *v, DkSieveNode *node, const char *const *known,
                              const char *what)
{
	const DkSieveArg *keys = dk_sieve_node_arg(node, 0);
	if (node->match.type != DK_MATCH_IS || !dk_sieve_arg_constant(v, keys))
		return TRUE;
	for (guint i = 0; i < keys->strings->len; i++) {
		const char *k = g_ptr_array_index(keys->strings, i);
		if (!g_strv_contains(known, k)) {
			g_autofree char *list = g_strjoinv(", ", (char **)known);
			dk_sieve_validator_error(v, keys->line, keys->column,
			                         "unknown %s '%s': expected %s", what, k, list);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean validate_class(DkSieveValidator *v, DkSieveNode *node)
{
	return validate_keys(v, node, message_classes, "message class");
}

static gboolean validate_sla(DkSieveValidator *v, DkSieveNode *node)
{
	return validate_keys(v, node, sla_states, "SLA state");
}

static const DkSieveArgType key_list[] = {DK_ARGT_LIST};

#define TICKET_TEST(tname, fn, check)                                                              \
	{                                                                                          \
		.name = tname, .extension = "vnd.docket.ticket", .is_test = TRUE,                  \
		.groups = DK_TAGS_MATCH | DK_TAGS_COMPARATOR, .min_args = 1, .max_args = 1,        \
		.args = key_list, .validate = check, .test = fn,                                   \
	}

const DkSieveDef dk_sieve_tst_ticket_is_new = {
    .name = "ticket_is_new",
    .extension = "vnd.docket.ticket",
    .is_test = TRUE,
    .test = test_is_new,
};
const DkSieveDef dk_sieve_tst_ticket_status = TICKET_TEST("ticket_status", test_field, NULL);
const DkSieveDef dk_sieve_tst_ticket_priority = TICKET_TEST("ticket_priority", test_field, NULL);
const DkSieveDef dk_sieve_tst_ticket_queue = TICKET_TEST("ticket_queue", test_field, NULL);
const DkSieveDef dk_sieve_tst_ticket_sla = TICKET_TEST("ticket_sla", test_sla, validate_sla);
const DkSieveDef dk_sieve_tst_message_class =
    TICKET_TEST("message_class", test_class, validate_class);
