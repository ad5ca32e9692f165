/* keep and discard, RFC 5228 sections 4.3 and 4.4, with the :flags of
 * imap4flags (RFC 5232 section 5). */
#include "rules/sieve-private.h"

#include <string.h>

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

static gboolean is_inbox(const DkSieveAction *a)
{
	return a->type == DK_SIEVE_ACTION_KEEP ||
	       (a->type == DK_SIEVE_ACTION_FILEINTO && g_ascii_strcasecmp(a->value, "INBOX") == 0);
}

DkSieveAction *dk_sieve_find_store(DkSieveInterp *ip, const char *mailbox)
{
	for (guint i = 0; i < ip->result->actions->len; i++) {
		DkSieveAction *old = g_ptr_array_index(ip->result->actions, i);
		gboolean inbox = mailbox == NULL || g_ascii_strcasecmp(mailbox, "INBOX") == 0;
		if ((inbox && is_inbox(old)) || (!inbox && old->type == DK_SIEVE_ACTION_FILEINTO &&
		                                 strcmp(old->value, mailbox) == 0))
			return old;
	}
	return NULL;
}

void dk_sieve_merge_flags(DkSieveAction *a, GPtrArray *flags)
{
	if (flags == NULL)
		return;
	if (a->flags == NULL)
		a->flags = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < flags->len; i++) {
		const char *f = g_ptr_array_index(flags, i);
		gboolean present = FALSE;
		for (guint k = 0; k < a->flags->len && !present; k++)
			present = g_ascii_strcasecmp(g_ptr_array_index(a->flags, k), f) == 0;
		if (!present)
			g_ptr_array_add(a->flags, g_strdup(f));
	}
}

static DkSieveStep run_keep(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autoptr(GPtrArray) flags = dk_sieve_store_flags(ip, node);
	ip->keep_cancelled = TRUE;
	DkSieveAction *old = dk_sieve_find_store(ip, NULL);
	if (old != NULL) { /* a duplicate: stored once, with both sets of flags */
		dk_sieve_merge_flags(old, flags);
		return DK_STEP_NEXT;
	}
	DkSieveAction *a = dk_sieve_interp_action(ip, DK_SIEVE_ACTION_KEEP, node);
	if (a == NULL)
		return DK_STEP_ERROR;
	a->flags = g_steal_pointer(&flags);
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
