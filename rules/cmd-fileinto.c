/* fileinto (RFC 5228 section 4.1) with :copy (RFC 3894) and :flags
 * (RFC 5232). For docket, the mailbox names the queue. */
#include "rules/sieve-private.h"

#include <string.h>

static const DkSieveTagDef fileinto_tags[] = {
    {"copy", "copy", -1},
    {"flags", "imap4flags", DK_ARGT_LIST},
    {NULL, NULL, 0},
};

static const DkSieveArgType fileinto_args[] = {DK_ARGT_STRING};

static gboolean validate_fileinto(DkSieveValidator *v, DkSieveNode *node)
{
	const DkSieveArg *box = dk_sieve_node_arg(node, 0);
	const char *name = g_ptr_array_index(box->strings, 0);
	if (dk_sieve_arg_constant(v, box) && (*name == '\0' || !g_utf8_validate(name, -1, NULL))) {
		dk_sieve_validator_error(v, box->line, box->column,
		                         "fileinto expects a non-empty UTF-8 mailbox name");
		return FALSE;
	}
	return TRUE;
}

static DkSieveStep run_fileinto(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autofree char *box = dk_sieve_expand_arg(ip, dk_sieve_node_arg(node, 0));
	if (*box == '\0' || !g_utf8_validate(box, -1, NULL))
		return dk_sieve_interp_fail(ip, node, "invalid mailbox name");
	gboolean copy = dk_sieve_node_tag(node, "copy") != NULL;
	if (!copy)
		ip->keep_cancelled = TRUE;
	/* RFC 5228 section 2.10.3: filing into one mailbox twice files once;
	 * "INBOX" is where keep files. */
	DkSieveAction *old = dk_sieve_find_store(ip, box);
	if (old != NULL) {
		g_autoptr(GPtrArray) flags = dk_sieve_store_flags(ip, node);
		dk_sieve_merge_flags(old, flags);
		return DK_STEP_NEXT;
	}
	DkSieveAction *a = dk_sieve_interp_action(ip, DK_SIEVE_ACTION_FILEINTO, node);
	if (a == NULL)
		return DK_STEP_ERROR;
	a->value = g_steal_pointer(&box);
	a->copy = copy;
	a->flags = dk_sieve_store_flags(ip, node);
	return DK_STEP_NEXT;
}

const DkSieveDef dk_sieve_cmd_fileinto = {
    .name = "fileinto",
    .extension = "fileinto",
    .tags = fileinto_tags,
    .min_args = 1,
    .max_args = 1,
    .args = fileinto_args,
    .validate = validate_fileinto,
    .run = run_fileinto,
};
