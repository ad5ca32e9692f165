/* The header and exists tests, RFC 5228 sections 5.7 and 5.5, over the
 * decoded header values of the DkMessage. */
#include "rules/sieve-private.h"

#include <string.h>

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
    .test = test_header,
};

const DkSieveDef dk_sieve_tst_exists = {
    .name = "exists",
    .is_test = TRUE,
    .min_args = 1,
    .max_args = 1,
    .args = header_args,
    .test = test_exists,
};
