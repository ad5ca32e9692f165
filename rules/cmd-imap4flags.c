/* imap4flags (RFC 5232): setflag, addflag, removeflag on the internal
 * variable or a named one, and the hasflag test. For docket, flags are the
 * ticket's tags. */
#include "rules/sieve-private.h"

#include <string.h>

static gboolean flag_in(GPtrArray *list, const char *flag)
{
	for (guint i = 0; i < list->len; i++)
		if (g_ascii_strcasecmp(g_ptr_array_index(list, i), flag) == 0)
			return TRUE;
	return FALSE;
}

GPtrArray *dk_sieve_flags_split(GPtrArray *strings)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; strings && i < strings->len; i++) {
		g_auto(GStrv) words = g_strsplit_set(g_ptr_array_index(strings, i), " \t\r\n", -1);
		for (guint k = 0; words[k]; k++)
			if (*words[k] && !flag_in(out, words[k]) && out->len < 256)
				g_ptr_array_add(out, g_strdup(words[k]));
	}
	return out;
}

static char *flags_join(GPtrArray *flags)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < flags->len; i++) {
		if (i > 0)
			g_string_append_c(s, ' ');
		g_string_append(s, g_ptr_array_index(flags, i));
	}
	return g_string_free(s, FALSE);
}

/* The current flags of the variable named by the node's optional first
 * argument, or of the internal variable. */
static GPtrArray *current_flags(DkSieveInterp *ip, const char *variable)
{
	if (variable == NULL)
		return dk_sieve_flags_split(ip->flags);
	g_autoptr(GPtrArray) one = g_ptr_array_new();
	g_ptr_array_add(one, (gpointer)dk_sieve_variable_get(ip, variable));
	return dk_sieve_flags_split(one);
}

static DkSieveStep run_flags(DkSieveInterp *ip, const DkSieveNode *node)
{
	const char *cmd = node->def->name;
	const char *variable = node->positional->len == 2
	                           ? g_ptr_array_index(dk_sieve_node_arg(node, 0)->strings, 0)
	                           : NULL;
	g_autoptr(GPtrArray) strings =
	    dk_sieve_expand_list(ip, dk_sieve_node_arg(node, node->positional->len - 1));
	g_autoptr(GPtrArray) given = dk_sieve_flags_split(strings);
	g_autoptr(GPtrArray) now =
	    cmd[0] == 's' ? g_ptr_array_new_with_free_func(g_free) : current_flags(ip, variable);
	for (guint i = 0; i < given->len; i++) {
		const char *f = g_ptr_array_index(given, i);
		if (cmd[0] == 'r') {
			for (guint k = now->len; k-- > 0;)
				if (g_ascii_strcasecmp(g_ptr_array_index(now, k), f) == 0)
					g_ptr_array_remove_index(now, k);
		} else if (!flag_in(now, f)) {
			g_ptr_array_add(now, g_strdup(f));
		}
	}
	if (variable != NULL) {
		g_autofree char *joined = flags_join(now);
		dk_sieve_variable_set(ip, variable, joined);
	} else {
		g_ptr_array_unref(ip->flags);
		ip->flags = g_steal_pointer(&now);
	}
	DkSieveActionType type = cmd[0] == 's'   ? DK_SIEVE_ACTION_SETFLAG
	                         : cmd[0] == 'a' ? DK_SIEVE_ACTION_ADDFLAG
	                                         : DK_SIEVE_ACTION_REMOVEFLAG;
	DkSieveAction *a = dk_sieve_interp_action(ip, type, node);
	if (a == NULL)
		return DK_STEP_ERROR;
	a->flags = g_steal_pointer(&given);
	a->name = g_strdup(variable);
	return ip->error ? DK_STEP_ERROR : DK_STEP_NEXT;
}

static gboolean validate_flags(DkSieveValidator *v, DkSieveNode *node)
{
	if (node->positional->len < 2)
		return TRUE;
	const DkSieveArg *var = dk_sieve_node_arg(node, 0);
	if (!dk_sieve_validator_has(v, "variables")) {
		dk_sieve_validator_error(v, var->line, var->column,
		                         "a variable name for '%s' needs require \"variables\"",
		                         node->name);
		return FALSE;
	}
	for (guint i = 0; var->strings && i < var->strings->len; i++) {
		if (!dk_sieve_variable_name_valid(g_ptr_array_index(var->strings, i))) {
			dk_sieve_validator_error(v, var->line, var->column,
			                         "invalid variable name '%s'",
			                         (const char *)g_ptr_array_index(var->strings, i));
			return FALSE;
		}
	}
	return TRUE;
}

/* hasflag [MATCH-TYPE] [COMPARATOR] [<variable-list>] <list-of-flags>,
 * RFC 5232 section 4: any flag of the variables against the keys. */
static gboolean test_hasflag(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autoptr(GPtrArray) values = NULL;
	if (node->positional->len == 2) {
		const DkSieveArg *vars = dk_sieve_node_arg(node, 0);
		g_autoptr(GPtrArray) strings = g_ptr_array_new();
		for (guint i = 0; i < vars->strings->len; i++)
			g_ptr_array_add(strings, (gpointer)dk_sieve_variable_get(
			                             ip, g_ptr_array_index(vars->strings, i)));
		values = dk_sieve_flags_split(strings);
	} else {
		values = dk_sieve_flags_split(ip->flags);
	}
	return dk_sieve_match_values(ip, node, values,
	                             dk_sieve_node_arg(node, node->positional->len - 1));
}

static const DkSieveArgType flag_args[] = {DK_ARGT_LIST, DK_ARGT_LIST};

#define FLAG_COMMAND(cname)                                                                        \
	{                                                                                          \
		.name = cname, .extension = "imap4flags", .min_args = 1, .max_args = 2,            \
		.args = flag_args, .validate = validate_flags, .run = run_flags,                   \
	}

const DkSieveDef dk_sieve_cmd_setflag = FLAG_COMMAND("setflag");
const DkSieveDef dk_sieve_cmd_addflag = FLAG_COMMAND("addflag");
const DkSieveDef dk_sieve_cmd_removeflag = FLAG_COMMAND("removeflag");

const DkSieveDef dk_sieve_tst_hasflag = {
    .name = "hasflag",
    .extension = "imap4flags",
    .is_test = TRUE,
    .groups = DK_TAGS_MATCH | DK_TAGS_COMPARATOR,
    .min_args = 1,
    .max_args = 2,
    .args = flag_args,
    .validate = validate_flags,
    .test = test_hasflag,
};
