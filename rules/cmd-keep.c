/* keep and discard, RFC 5228 sections 4.3 and 4.4, with the :flags of
 * imap4flags (RFC 5232 section 5). */
#include "rules/sieve-private.h"

static const DkSieveTagDef keep_tags[] = {
    {"flags", "imap4flags", DK_ARGT_LIST},
    {NULL, NULL, 0},
};

/* The flags a keep or fileinto stores: its :flags, else the internal
 * variable as it is now (RFC 5232 section 5); NULL without imap4flags. */
GPtrArray *dk_sieve_store_flags(DkSieveInterp *ip, const DkSieveNode *node)
{
	const DkSieveArg *tag = dk_sieve_node_tag(node, "flags");
	if (tag != NULL) {
		g_autoptr(GPtrArray) strings = dk_sieve_expand_list(ip, tag->value);
		return dk_sieve_flags_split(strings);
	}
	if (!g_strv_contains(dk_sieve_script_extensions(ip->script), "imap4flags"))
		return NULL;
	return dk_sieve_flags_split(ip->flags);
}

static DkSieveStep run_keep(DkSieveInterp *ip, const DkSieveNode *node)
{
	DkSieveAction *a = dk_sieve_interp_action(ip, DK_SIEVE_ACTION_KEEP, node);
	if (a == NULL)
		return DK_STEP_ERROR;
	a->flags = dk_sieve_store_flags(ip, node);
	ip->keep_cancelled = TRUE;
	return DK_STEP_NEXT;
}

static DkSieveStep run_discard(DkSieveInterp *ip, const DkSieveNode *node)
{
	if (dk_sieve_interp_action(ip, DK_SIEVE_ACTION_DISCARD, node) == NULL)
		return DK_STEP_ERROR;
	ip->keep_cancelled = TRUE;
	return DK_STEP_NEXT;
}

const DkSieveDef dk_sieve_cmd_keep = {.name = "keep", .tags = keep_tags, .run = run_keep};
const DkSieveDef dk_sieve_cmd_discard = {.name = "discard", .run = run_discard};
