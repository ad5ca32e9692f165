/* redirect (RFC 5228 section 4.2) with :copy (RFC 3894). For docket, the
 * copy leaves through the outbox. */
#include "rules/sieve-private.h"

#include <gmime/gmime.h>
#include <string.h>

static const DkSieveTagDef redirect_tags[] = {
	{"copy", "copy", -1},
	{NULL, NULL, 0},
};

static const DkSieveArgType redirect_args[] = {DK_ARGT_STRING};

/* The bare address of an RFC 5322 mailbox, or NULL when the string is not
 * exactly one valid address (section 4.2 wants a single address). */
static char *redirect_address(const char *s)
{
	const char *at = strrchr(s, '@');
	if (at == NULL || at == s || at[1] == '\0')
		return NULL;
	InternetAddressList *list = internet_address_list_parse(NULL, s);
	if (list == NULL)
		return NULL;
	char *out = NULL;
	if (internet_address_list_length(list) == 1) {
		InternetAddress *ia = internet_address_list_get_address(list, 0);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			if (addr && strchr(addr, '@') && !strchr(addr, ' '))
				out = g_strdup(addr);
		}
	}
	g_object_unref(list);
	return out;
}

static gboolean validate_redirect(DkSieveValidator *v, DkSieveNode *node)
{
	const DkSieveArg *to = dk_sieve_node_arg(node, 0);
	if (!dk_sieve_arg_constant(v, to))
		return TRUE;
	g_autofree char *addr = redirect_address(g_ptr_array_index(to->strings, 0));
	if (addr == NULL) {
		dk_sieve_validator_error(v, to->line, to->column,
					 "redirect expects one valid mail address, found '%s'",
					 (const char *)g_ptr_array_index(to->strings, 0));
		return FALSE;
	}
	return TRUE;
}

static DkSieveStep run_redirect(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autofree char *raw = dk_sieve_expand_arg(ip, dk_sieve_node_arg(node, 0));
	g_autofree char *addr = redirect_address(raw);
	if (addr == NULL)
		return dk_sieve_interp_fail(ip, node, "invalid address '%s'", raw);
	gboolean copy = dk_sieve_node_tag(node, "copy") != NULL;
	if (!copy)
		ip->keep_cancelled = TRUE;
	for (guint i = 0; i < ip->result->actions->len; i++) {
		DkSieveAction *old = g_ptr_array_index(ip->result->actions, i);
		if (old->type == DK_SIEVE_ACTION_REDIRECT && g_ascii_strcasecmp(old->value, addr) == 0)
			return DK_STEP_NEXT;
	}
	DkSieveAction *a = dk_sieve_interp_action(ip, DK_SIEVE_ACTION_REDIRECT, node);
	if (a == NULL)
		return DK_STEP_ERROR;
	a->value = g_steal_pointer(&addr);
	a->copy = copy;
	return DK_STEP_NEXT;
}

const DkSieveDef dk_sieve_cmd_redirect = {
	.name = "redirect",
	.tags = redirect_tags,
	.min_args = 1,
	.max_args = 1,
	.args = redirect_args,
	.validate = validate_redirect,
	.run = run_redirect,
};
