/* reject and ereject (RFC 5429): refuse the message with a reason. For
 * docket, an LMTP recipient gets a 550 with the reason. */
#include "rules/sieve-private.h"

static const DkSieveArgType reject_args[] = {DK_ARGT_STRING};

static DkSieveStep run_reject(DkSieveInterp *ip, const DkSieveNode *node)
{
	DkSieveActionType type =
	    node->def->name[0] == 'e' ? DK_SIEVE_ACTION_EREJECT : DK_SIEVE_ACTION_REJECT;
	DkSieveAction *a = dk_sieve_interp_action(ip, type, node);
	if (a == NULL)
		return DK_STEP_ERROR;
	a->value = dk_sieve_expand_arg(ip, dk_sieve_node_arg(node, 0));
	ip->keep_cancelled = TRUE;
	return DK_STEP_NEXT;
}

const DkSieveDef dk_sieve_cmd_reject = {
    .name = "reject",
    .extension = "reject",
    .min_args = 1,
    .max_args = 1,
    .args = reject_args,
    .run = run_reject,
};

const DkSieveDef dk_sieve_cmd_ereject = {
    .name = "ereject",
    .extension = "ereject",
    .min_args = 1,
    .max_args = 1,
    .args = reject_args,
    .run = run_reject,
};
