/* Comparators (RFC 4790 i;octet, i;ascii-casemap, i;ascii-numeric) and
 * match types: :is :contains :matches (RFC 5228 section 2.7), :regex
 * (draft-ietf-sieve-regex) and :count/:value (RFC 5231). */
#include "rules/sieve-private.h"

#include <string.h>

gboolean dk_sieve_comparator_parse(const char *name, DkSieveComparator *out)
{
	if (g_ascii_strcasecmp(name, "i;octet") == 0)
		*out = DK_CMP_OCTET;
	else if (g_ascii_strcasecmp(name, "i;ascii-casemap") == 0)
		*out = DK_CMP_CASEMAP;
	else if (g_ascii_strcasecmp(name, "i;ascii-numeric") == 0)
		*out = DK_CMP_NUMERIC;
	else
		return FALSE;
	return TRUE;
}

gboolean dk_sieve_relop_parse(const char *name, DkSieveRelOp *out)
{
	static const char *const ops[] = {"gt", "ge", "lt", "le", "eq", "ne"};
	for (guint i = 0; i < G_N_ELEMENTS(ops); i++) {
		if (g_ascii_strcasecmp(name, ops[i]) == 0) {
			*out = (DkSieveRelOp)i;
			return TRUE;
		}
	}
	return FALSE;
}

/* i;ascii-numeric (RFC 4790 section 9.1): the leading digits as a number;
 * a string that does not start with a digit is positive infinity. */
static int numeric_compare(const char *a, const char *b)
{
	gboolean ia = !g_ascii_isdigit(*a), ib = !g_ascii_isdigit(*b);
	if (ia || ib)
		return ia == ib ? 0 : ia ? 1 : -1;
	while (*a == '0' && g_ascii_isdigit(a[1]))
		a++;
	while (*b == '0' && g_ascii_isdigit(b[1]))
		b++;
	gsize la = 0, lb = 0;
	while (g_ascii_isdigit(a[la]))
		la++;
	while (g_ascii_isdigit(b[lb]))
		lb++;
	if (la != lb)
		return la < lb ? -1 : 1;
	int c = strncmp(a, b, la);
	return c < 0 ? -1 : c > 0;
}

/* i;ascii-casemap (RFC 4790 section 9.2): a-z mapped to upper case, then
 * compared as octets; the mapping to upper case matters for ordering. */
static int casemap_compare(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = g_ascii_toupper(*a), cb = g_ascii_toupper(*b);
		if (ca != cb || ca == 0)
			return (unsigned char)ca - (unsigned char)cb;
	}
}

static int compare(const char *a, const char *b, DkSieveComparator cmp)
{
	int c;
	switch (cmp) {
	case DK_CMP_NUMERIC:
		return numeric_compare(a, b);
	case DK_CMP_CASEMAP:
		c = casemap_compare(a, b);
		break;
	default:
		c = strcmp(a, b);
		break;
	}
	return c < 0 ? -1 : c > 0;
}

static gboolean relation_holds(int c, DkSieveRelOp rel)
{
	switch (rel) {
	case DK_REL_GT:
		return c > 0;
	case DK_REL_GE:
		return c >= 0;
	case DK_REL_LT:
		return c < 0;
	case DK_REL_LE:
		return c <= 0;
	case DK_REL_EQ:
		return c == 0;
	default:
		return c != 0;
	}
}

static gboolean contains(const char *hay, const char *needle, gboolean casemap)
{
	if (!casemap)
		return strstr(hay, needle) != NULL;
	gsize n = strlen(needle);
	if (n == 0)
		return TRUE;
	char lo = g_ascii_tolower(needle[0]), up = g_ascii_toupper(needle[0]);
	for (const char *p = hay; *p; p++)
		if ((*p == lo || *p == up) && g_ascii_strncasecmp(p, needle, n) == 0)
			return TRUE;
	return FALSE;
}

typedef enum { TOK_LIT, TOK_ANY, TOK_STAR } WildKind;

typedef struct {
	WildKind kind;
	char c;
	gsize start, end; /* what a wildcard matched */
} WildTok;

static GArray *wild_compile(const char *pattern)
{
	GArray *toks = g_array_new(FALSE, TRUE, sizeof(WildTok));
	for (const char *p = pattern; *p; p++) {
		WildTok t = {.kind = TOK_LIT, .c = *p};
		if (*p == '\\' && p[1]) {
			t.c = *++p;
		} else if (*p == '*') {
			t.kind = TOK_STAR;
		} else if (*p == '?') {
			t.kind = TOK_ANY;
		}
		g_array_append_val(toks, t);
	}
	return toks;
}

/* The length of the character at s: a UTF-8 sequence when valid, else one octet. */
static gsize char_len(const char *s, gsize left)
{
	gunichar c = g_utf8_get_char_validated(s, (gssize)left);
	if (c == (gunichar)-1 || c == (gunichar)-2)
		return 1;
	return (gsize)(g_utf8_next_char(s) - s);
}

static void wild_captures(const char *value, gsize n, GArray *toks, GPtrArray *out)
{
	g_ptr_array_set_size(out, 0);
	g_ptr_array_add(out, g_strndup(value, n));
	for (guint k = 0; k < toks->len; k++) {
		const WildTok *t = &g_array_index(toks, WildTok, k);
		if (t->kind != TOK_LIT)
			g_ptr_array_add(out, g_strndup(value + t->start, t->end - t->start));
	}
}

/* The two-pointer glob match: on a mismatch, the last '*' takes one more
 * character. It finds a match whenever one exists, and each '*' but the
 * last takes as little as it can, which gives RFC 5229's example
 * "[*] *" on "[acme-users] [fwd] version" ${1} = "acme-users". */
gboolean dk_sieve_match_wildcard(const char *value, const char *pattern, gboolean casemap,
                                 GPtrArray *captures_out, gsize *work_out)
{
	gsize spent = 0;
	gsize *work = work_out ? work_out : &spent;
	*work = 0;
	g_autoptr(GArray) toks = wild_compile(pattern);
	gsize n = strlen(value), i = 0, star_i = 0;
	guint j = 0, m = toks->len;
	int star_j = -1;
	while (i < n) {
		if (++*work > DK_SIEVE_MAX_MATCH_WORK)
			return FALSE;
		WildTok *t = j < m ? &g_array_index(toks, WildTok, j) : NULL;
		if (t && t->kind == TOK_ANY) {
			t->start = i;
			i += char_len(value + i, n - i);
			t->end = i;
			j++;
		} else if (t && t->kind == TOK_LIT &&
		           (casemap ? g_ascii_tolower(t->c) == g_ascii_tolower(value[i])
		                    : t->c == value[i])) {
			i++;
			j++;
		} else if (t && t->kind == TOK_STAR) {
			star_j = (int)j;
			star_i = i;
			t->start = t->end = i;
			j++;
		} else if (star_j >= 0) {
			WildTok *s = &g_array_index(toks, WildTok, star_j);
			star_i += char_len(value + star_i, n - star_i);
			s->end = star_i;
			i = star_i;
			j = (guint)star_j + 1;
		} else {
			return FALSE;
		}
	}
	for (; j < m; j++) {
		WildTok *t = &g_array_index(toks, WildTok, j);
		if (t->kind != TOK_STAR)
			return FALSE;
		t->start = t->end = n;
	}
	if (captures_out)
		wild_captures(value, n, toks, captures_out);
	return TRUE;
}

GRegex *dk_sieve_regex_new(const char *pattern, gboolean casemap, GError **error)
{
	/* GRegex works in UTF-8 mode and does not check the pattern itself. */
	if (!g_utf8_validate(pattern, -1, NULL)) {
		g_set_error(error, G_REGEX_ERROR, G_REGEX_ERROR_COMPILE,
		            "pattern is not valid UTF-8");
		return NULL;
	}
	GRegexCompileFlags flags = G_REGEX_DOLLAR_ENDONLY | (casemap ? G_REGEX_CASELESS : 0);
	/* Compiled once as written, for an error message that names the
	 * script's own pattern... */
	GRegex *plain = g_regex_new(pattern, flags, 0, error);
	if (plain == NULL)
		return NULL;
	g_regex_unref(plain);
	/* ...and used with PCRE2's limit on backtracking, so a hostile pattern
	 * cannot spin. */
	g_autofree char *bounded = g_strconcat("(*LIMIT_MATCH=100000)", pattern, NULL);
	return g_regex_new(bounded, flags, 0, error);
}

static gboolean regex_match(DkSieveInterp *ip, const char *value, GRegex *re, GPtrArray *caps)
{
	g_autoptr(GMatchInfo) info = NULL;
	g_autofree char *valid =
	    g_utf8_validate(value, -1, NULL) ? NULL : g_utf8_make_valid(value, -1);
	if (valid != NULL)
		value = valid;
	if (!g_regex_match(re, value, 0, &info))
		return FALSE;
	g_ptr_array_set_size(caps, 0);
	gint count = g_match_info_get_match_count(info);
	for (gint k = 0; k < count && k < 10; k++) {
		char *s = g_match_info_fetch(info, k);
		g_ptr_array_add(caps, s ? s : g_strdup(""));
	}
	return TRUE;
}

/* What one comparison costs of the run's budget before it is made: one
 * step, one more per 64 octets of the value, and a regular expression
 * DK_SIEVE_REGEX_COST (PCRE2's match limit bounds each attempt). */
static gboolean charge_compare(DkSieveInterp *ip, const DkSieveNode *node, const char *value)
{
	guint64 cost = 1 + strlen(value) / 64;
	if (node->match.type == DK_MATCH_REGEX)
		cost += DK_SIEVE_REGEX_COST;
	return dk_sieve_interp_charge(ip, node, cost);
}

static gboolean match_one(DkSieveInterp *ip, const DkSieveNode *node, const char *value,
                          const char *key, guint key_index, GPtrArray *caps)
{
	gboolean casemap = node->match.comparator == DK_CMP_CASEMAP;
	if (!charge_compare(ip, node, value))
		return FALSE;
	switch (node->match.type) {
	case DK_MATCH_IS:
		return compare(value, key, node->match.comparator) == 0;
	case DK_MATCH_CONTAINS:
		return contains(value, key, casemap);
	case DK_MATCH_MATCHES: {
		gsize work = 0;
		gboolean matched = dk_sieve_match_wildcard(value, key, casemap, caps, &work);
		return dk_sieve_interp_charge(ip, node, work / 64) && matched;
	}
	case DK_MATCH_REGEX: {
		if (node->match.regexes)
			return regex_match(ip, value,
			                   g_ptr_array_index(node->match.regexes, key_index), caps);
		g_autoptr(GError) error = NULL;
		g_autoptr(GRegex) re = dk_sieve_regex_new(key, casemap, &error);
		if (re == NULL) {
			dk_sieve_interp_fail(ip, node, "invalid regular expression: %s",
			                     error->message);
			return FALSE;
		}
		return regex_match(ip, value, re, caps);
	}
	default: /* :value */
		return relation_holds(compare(value, key, node->match.comparator), node->match.rel);
	}
}

gboolean dk_sieve_match_values(DkSieveInterp *ip, const DkSieveNode *node, GPtrArray *values,
                               const DkSieveArg *keys_arg)
{
	g_autoptr(GPtrArray) keys = dk_sieve_expand_list(ip, keys_arg);
	if (node->match.type == DK_MATCH_COUNT) {
		g_autofree char *count = g_strdup_printf("%u", values->len);
		for (guint k = 0; k < keys->len; k++)
			if (relation_holds(
			        compare(count, g_ptr_array_index(keys, k), node->match.comparator),
			        node->match.rel))
				return TRUE;
		return FALSE;
	}
	g_autoptr(GPtrArray) caps = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < values->len; i++) {
		for (guint k = 0; k < keys->len; k++) {
			if (!match_one(ip, node, g_ptr_array_index(values, i),
			               g_ptr_array_index(keys, k), k, caps))
				continue;
			/* RFC 5229 section 3.2: only a successful match alters ${N}. */
			if (ip->script->variables && (node->match.type == DK_MATCH_MATCHES ||
			                              node->match.type == DK_MATCH_REGEX)) {
				g_ptr_array_unref(ip->captures);
				ip->captures = g_steal_pointer(&caps);
			}
			return TRUE;
		}
		if (ip->error)
			return FALSE;
	}
	return FALSE;
}
