/* The body test (RFC 5173) over docket's normalised text: :text and :raw
 * both see the decoded main text, and :content matches it when one of the
 * given types is "text" or "text/plain" (or "" for any). */
#include "rules/sieve-private.h"

#include <string.h>

static const DkSieveTagDef body_tags[] = {
    {"raw", NULL, -1},
    {"text", NULL, -1},
    {"content", NULL, DK_ARGT_LIST},
    {NULL, NULL, 0},
};

static const DkSieveArgType body_args[] = {DK_ARGT_LIST};

static gboolean validate_body(DkSieveValidator *v, DkSieveNode *node)
{
	guint n = (dk_sieve_node_tag(node, "raw") != NULL) +
	          (dk_sieve_node_tag(node, "text") != NULL) +
	          (dk_sieve_node_tag(node, "content") != NULL);
	if (n > 1) {
		dk_sieve_validator_error(v, node->line, node->column,
		                         "body takes one of :raw, :content and :text");
		return FALSE;
	}
	return TRUE;
}

static gboolean content_wants_text(DkSieveInterp *ip, const DkSieveArg *types)
{
	g_autoptr(GPtrArray) list = dk_sieve_expand_list(ip, types);
	for (guint i = 0; i < list->len; i++) {
		const char *t = g_ptr_array_index(list, i);
		if (*t == '\0' || g_ascii_strcasecmp(t, "text") == 0 ||
		    g_ascii_strcasecmp(t, ip->input->message->html ? "text/html" : "text/plain") ==
		        0)
			return TRUE;
	}
	return FALSE;
}

/* :contains under i;ascii-casemap, the common case, on a lower-case copy
 * of the text made once per run: strstr is much faster than a caseless
 * scan over a long body. */
static gboolean contains_casemap(DkSieveInterp *ip, const char *text, const DkSieveArg *keys)
{
	if (ip->body_lower == NULL)
		ip->body_lower = g_ascii_strdown(text, -1);
	g_autoptr(GPtrArray) list = dk_sieve_expand_list(ip, keys);
	for (guint i = 0; i < list->len; i++) {
		g_autofree char *key = g_ascii_strdown(g_ptr_array_index(list, i), -1);
		if (strstr(ip->body_lower, key) != NULL)
			return TRUE;
	}
	return FALSE;
}

static gboolean test_body(DkSieveInterp *ip, const DkSieveNode *node)
{
	const DkSieveArg *content = dk_sieve_node_tag(node, "content");
	if (content && !content_wants_text(ip, content->value))
		return FALSE;
	const char *text = ip->input->message->text ? ip->input->message->text : "";
	if (node->match.type == DK_MATCH_CONTAINS && node->match.comparator == DK_CMP_CASEMAP)
		return contains_casemap(ip, text, dk_sieve_node_arg(node, 0));
	g_autoptr(GPtrArray) values = g_ptr_array_new();
	g_ptr_array_add(values, (gpointer)text);
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 0));
}

const DkSieveDef dk_sieve_tst_body = {
    .name = "body",
    .extension = "body",
    .is_test = TRUE,
    .groups = DK_TAGS_MATCH | DK_TAGS_COMPARATOR,
    .tags = body_tags,
    .min_args = 1,
    .max_args = 1,
    .args = body_args,
    .validate = validate_body,
    .test = test_body,
};
