/* The header and exists tests, RFC 5228 sections 5.7 and 5.5, over the
 * decoded header values of the DkMessage. */
#include "rules/sieve-private.h"

#include <string.h>

/* A header field name is printable US-ASCII without ':' (RFC 5322 section 2.2). */
static gboolean field_name_valid(const char *name)
{
	if (*name == '\0')
		return FALSE;
	for (const char *p = name; *p; p++)
		if (*p <= 32 || *p >= 127 || *p == ':')
			return FALSE;
	return TRUE;
}

gboolean dk_sieve_validate_field_names(DkSieveValidator *v, const DkSieveArg *names)
{
	if (!dk_sieve_arg_constant(v, names))
		return TRUE;
	for (guint i = 0; i < names->strings->len; i++) {
		const char *name = g_ptr_array_index(names->strings, i);
		if (!field_name_valid(name)) {
			dk_sieve_validator_error(v, names->line, names->column,
						 "invalid header field name '%s'", name);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean validate_names(DkSieveValidator *v, DkSieveNode *node)
{
	return dk_sieve_validate_field_names(v, dk_sieve_node_arg(node, 0));
}

/* Adds the values of the named headers, leading and trailing white space
 * removed, to out. */
void dk_sieve_header_values(DkSieveInterp *ip, const char *name, GPtrArray *out)
{
	const GPtrArray *all = dk_message_header_all(ip->input->message, name);
	for (guint i = 0; all && i < all->len; i++) {
		char *v = g_strdup(g_ptr_array_index(all, i));
		g_ptr_array_add(out, g_strstrip(v));
	}
}

static gboolean test_header(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autoptr(GPtrArray) names = dk_sieve_expand_list(ip, dk_sieve_node_arg(node, 0));
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < names->len; i++)
		dk_sieve_header_values(ip, g_ptr_array_index(names, i), values);
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 1));
}

static gboolean test_exists(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autoptr(GPtrArray) names = dk_sieve_expand_list(ip, dk_sieve_node_arg(node, 0));
	for (guint i = 0; i < names->len; i++)
		if (dk_message_header_all(ip->input->message, g_ptr_array_index(names, i)) == NULL)
			return FALSE;
	return TRUE;
}

static const DkSieveArgType header_args[] = {DK_ARGT_LIST, DK_ARGT_LIST};

const DkSieveDef dk_sieve_tst_header = {
	.name = "header",
	.is_test = TRUE,
	.groups = DK_TAGS_MATCH | DK_TAGS_COMPARATOR,
	.min_args = 2,
	.max_args = 2,
	.args = header_args,
	.validate = validate_names,
	.test = test_header,
};

const DkSieveDef dk_sieve_tst_exists = {
	.name = "exists",
	.is_test = TRUE,
	.min_args = 1,
	.max_args = 1,
	.args = header_args,
	.validate = validate_names,
	.test = test_exists,
};
