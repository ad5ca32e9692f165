/* allof, anyof, not, true and false, RFC 5228 sections 5.2, 5.3, 5.6,
 * 5.8 and 5.10; allof and anyof stop at the first test that decides. */
#include "rules/sieve-private.h"

static gboolean test_allof(DkSieveInterp *ip, const DkSieveNode *node)
{
	for (guint i = 0; i < node->tests->len; i++)
		if (!dk_sieve_interp_test(ip, g_ptr_array_index(node->tests, i)))
			return FALSE;
	return TRUE;
}

static gboolean test_anyof(DkSieveInterp *ip, const DkSieveNode *node)
{
	for (guint i = 0; i < node->tests->len; i++)
		if (dk_sieve_interp_test(ip, g_ptr_array_index(node->tests, i)))
			return TRUE;
	return FALSE;
}

static gboolean test_not(DkSieveInterp *ip, const DkSieveNode *node)
{
	return !dk_sieve_interp_test(ip, g_ptr_array_index(node->tests, 0));
}

static gboolean test_true(DkSieveInterp *ip, const DkSieveNode *node)
{
	return TRUE;
}

static gboolean test_false(DkSieveInterp *ip, const DkSieveNode *node)
{
	return FALSE;
}

const DkSieveDef dk_sieve_tst_allof = {
    .name = "allof", .is_test = TRUE, .tests = -1, .test = test_allof};
const DkSieveDef dk_sieve_tst_anyof = {
    .name = "anyof", .is_test = TRUE, .tests = -1, .test = test_anyof};
const DkSieveDef dk_sieve_tst_not = {.name = "not", .is_test = TRUE, .tests = 1, .test = test_not};
const DkSieveDef dk_sieve_tst_true = {.name = "true", .is_test = TRUE, .test = test_true};
const DkSieveDef dk_sieve_tst_false = {.name = "false", .is_test = TRUE, .test = test_false};
