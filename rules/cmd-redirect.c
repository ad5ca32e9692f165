/* redirect (RFC 5228 section 4.2) with :copy (RFC 3894). For docket, the
 * copy leaves through the outbox. */
#include "rules/sieve-private.h"

#include <string.h>

static const DkSieveTagDef redirect_tags[] = {
    {"copy", "copy", -1},
    {NULL, NULL, 0},
};

static const DkSieveArgType redirect_args[] = {DK_ARGT_STRING};

static gboolean is_atext(char c)
{
	return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

static gboolean local_valid(const char *p, gsize n)
{
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"')
		return TRUE;
	for (gsize i = 0; i < n; i++)
		if (!is_atext(p[i]))
			return FALSE;
	return n > 0;
}

static gboolean domain_valid(const char *p, gsize n)
{
	if (n >= 2 && p[0] == '[' && p[n - 1] == ']')
		return TRUE;
	for (gsize i = 0; i < n; i++)
		if (!(g_ascii_isalnum(p[i]) || p[i] == '-' || p[i] == '.'))
			return FALSE;
	return n > 0 && p[0] != '.' && p[n - 1] != '.';
}

/* The bare addr-spec of a redirect target (RFC 5228 section 4.2 wants one
 * RFC 5322 address: "Name <local@domain>" or local@domain, with white space
 * allowed around the "@"), or NULL when the string is not one. */
static char *redirect_address(const char *s)
{
	g_autofree char *copy = g_strstrip(g_strdup(s));
	char *addr = copy;
	gsize n = strlen(copy);
	if (n > 0 && copy[n - 1] == '>') {
		char *lt = strrchr(copy, '<');
		if (lt == NULL)
			return NULL;
		copy[n - 1] = '\0';
		addr = g_strstrip(lt + 1);
	}
	char *at = strrchr(addr, '@');
	if (at == NULL)
		return NULL;
	*at = '\0';
	char *local = g_strstrip(addr), *domain = g_strstrip(at + 1);
	if (!local_valid(local, strlen(local)) || !domain_valid(domain, strlen(domain)))
		return NULL;
	return g_strdup_printf("%s@%s", local, domain);
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
		if (old->type == DK_SIEVE_ACTION_REDIRECT &&
		    g_ascii_strcasecmp(old->value, addr) == 0)
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
