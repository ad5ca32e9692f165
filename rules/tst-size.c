/* The size test, RFC 5228 section 5.9: strictly over or under a number of
 * octets of the raw message. */
#include "rules/sieve-private.h"

static const DkSieveTagDef size_tags[] = {
    {"over", NULL, -1},
    {"under", NULL, -1},
    {NULL, NULL, 0},
};

static const DkSieveArgType size_args[] = {DK_ARGT_NUMBER};

static gboolean validate_size(DkSieveValidator *v, DkSieveNode *node)
{
	gboolean over = dk_sieve_node_tag(node, "over") != NULL;
	gboolean under = dk_sieve_node_tag(node, "under") != NULL;
	if (over == under) {
		dk_sieve_validator_error(v, node->line, node->column,
		                         "size expects exactly one of :over and :under");
		return FALSE;
	}
	return TRUE;
}

static gboolean test_size(DkSieveInterp *ip, const DkSieveNode *node)
{
	guint64 limit = dk_sieve_node_arg(node, 0)->number;
	guint64 size = ip->input->size;
	return dk_sieve_node_tag(node, "over") ? size > limit : size < limit;
}

const DkSieveDef dk_sieve_tst_size = {
    .name = "size",
    .is_test = TRUE,
    .tags = size_tags,
    .min_args = 1,
    .max_args = 1,
    .args = size_args,
    .validate = validate_size,
    .test = test_size,
};
