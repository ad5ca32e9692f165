/* The variables extension (RFC 5229): ${name} and ${N} expansion, the set
 * command with its modifiers and the string test. */
#include "rules/sieve-private.h"

#include <string.h>

gboolean dk_sieve_variable_name_valid(const char *name)
{
	if (name == NULL || !(g_ascii_isalpha(*name) || *name == '_'))
		return FALSE;
	for (const char *p = name; *p; p++)
		if (!(g_ascii_isalnum(*p) || *p == '_'))
			return FALSE;
	return TRUE;
}

const char *dk_sieve_variable_get(DkSieveInterp *ip, const char *name)
{
	g_autofree char *key = g_ascii_strdown(name, -1);
	const char *v = g_hash_table_lookup(ip->variables, key);
	return v ? v : "";
}

void dk_sieve_variable_set(DkSieveInterp *ip, const char *name, const char *value)
{
	g_autofree char *key = g_ascii_strdown(name, -1);
	if (!g_hash_table_contains(ip->variables, key) &&
	    g_hash_table_size(ip->variables) >= DK_SIEVE_MAX_VARIABLES) {
		dk_sieve_interp_fail(ip, NULL, "more than %d variables", DK_SIEVE_MAX_VARIABLES);
		return;
	}
	gsize len = strlen(value);
	char *copy = g_strndup(value, MIN(len, DK_SIEVE_MAX_STRING));
	g_hash_table_replace(ip->variables, g_steal_pointer(&key), copy);
}

/* One ${...} reference at s (which starts with "${"): appends its value and
 * returns the length consumed, or 0 when it is not a valid reference and
 * stays literal (RFC 5229 section 3). */
static gsize expand_one(DkSieveInterp *ip, const char *s, GString *out)
{
	const char *end = strchr(s + 2, '}');
	if (end == NULL || end == s + 2)
		return 0;
	g_autofree char *name = g_strndup(s + 2, (gsize)(end - s - 2));
	if (g_ascii_isdigit(name[0])) {
		guint64 n = 0;
		for (const char *p = name; *p; p++) {
			if (!g_ascii_isdigit(*p))
				return 0;
			n = MIN(n * 10 + (guint64)(*p - '0'), 1000);
		}
		if (n < ip->captures->len)
			g_string_append(out, g_ptr_array_index(ip->captures, n));
		return (gsize)(end - s) + 1;
	}
	if (!dk_sieve_variable_name_valid(name))
		return 0;
	g_string_append(out, dk_sieve_variable_get(ip, name));
	return (gsize)(end - s) + 1;
}

char *dk_sieve_expand(DkSieveInterp *ip, const char *s)
{
	if (!ip->script->variables || strstr(s, "${") == NULL)
		return g_strdup(s);
	GString *out = g_string_new(NULL);
	while (*s && out->len <= DK_SIEVE_MAX_STRING) {
		gsize used = (s[0] == '$' && s[1] == '{') ? expand_one(ip, s, out) : 0;
		if (used > 0) {
			s += used;
		} else {
			g_string_append_c(out, *s);
			s++;
		}
	}
	if (out->len > DK_SIEVE_MAX_STRING)
		g_string_truncate(out, DK_SIEVE_MAX_STRING);
	return g_string_free(out, FALSE);
}

GPtrArray *dk_sieve_expand_list(DkSieveInterp *ip, const DkSieveArg *arg)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; arg && arg->strings && i < arg->strings->len; i++)
		g_ptr_array_add(out, dk_sieve_expand(ip, g_ptr_array_index(arg->strings, i)));
	return out;
}

char *dk_sieve_expand_arg(DkSieveInterp *ip, const DkSieveArg *arg)
{
	return dk_sieve_expand(ip, g_ptr_array_index(arg->strings, 0));
}

/* Modifiers of set, RFC 5229 section 4.1, with their precedence. */
typedef struct {
	const char *name;
	guint precedence;
} Modifier;

static const Modifier modifiers[] = {
    {"lower", 40},         {"upper", 40},  {"lowerfirst", 30}, {"upperfirst", 30},
    {"quotewildcard", 20}, {"length", 10}, {NULL, 0},
};

static const DkSieveTagDef set_tags[] = {
    {"lower", NULL, -1},      {"upper", NULL, -1},         {"lowerfirst", NULL, -1},
    {"upperfirst", NULL, -1}, {"quotewildcard", NULL, -1}, {"length", NULL, -1},
    {NULL, NULL, 0},
};

static gboolean validate_set(DkSieveValidator *v, DkSieveNode *node)
{
	const DkSieveArg *name = dk_sieve_node_arg(node, 0);
	if (!dk_sieve_variable_name_valid(g_ptr_array_index(name->strings, 0))) {
		dk_sieve_validator_error(v, name->line, name->column, "invalid variable name '%s'",
		                         (const char *)g_ptr_array_index(name->strings, 0));
		return FALSE;
	}
	guint seen[50] = {0};
	for (guint i = 0; i < node->tagged->len; i++) {
		const DkSieveArg *t = g_ptr_array_index(node->tagged, i);
		for (const Modifier *m = modifiers; m->name; m++) {
			if (strcmp(m->name, t->tag) != 0)
				continue;
			if (seen[m->precedence]++) {
				dk_sieve_validator_error(v, t->line, t->column,
				                         "two modifiers of the same precedence");
				return FALSE;
			}
		}
	}
	return TRUE;
}

static char *apply_modifier(const char *name, const char *value)
{
	if (strcmp(name, "lower") == 0)
		return g_ascii_strdown(value, -1);
	if (strcmp(name, "upper") == 0)
		return g_ascii_strup(value, -1);
	if (strcmp(name, "lowerfirst") == 0 || strcmp(name, "upperfirst") == 0) {
		char *s = g_strdup(value);
		if (*s)
			s[0] = name[0] == 'l' ? g_ascii_tolower(s[0]) : g_ascii_toupper(s[0]);
		return s;
	}
	if (strcmp(name, "quotewildcard") == 0) {
		GString *out = g_string_new(NULL);
		for (const char *p = value; *p; p++) {
			if (*p == '*' || *p == '?' || *p == '\\')
				g_string_append_c(out, '\\');
			g_string_append_c(out, *p);
		}
		return g_string_free(out, FALSE);
	}
	/* :length counts characters, not octets */
	glong n =
	    g_utf8_validate(value, -1, NULL) ? g_utf8_strlen(value, -1) : (glong)strlen(value);
	return g_strdup_printf("%ld", n);
}

static DkSieveStep run_set(DkSieveInterp *ip, const DkSieveNode *node)
{
	char *value = dk_sieve_expand_arg(ip, dk_sieve_node_arg(node, 1));
	for (guint prec = 40; prec >= 10; prec -= 10) {
		for (const Modifier *m = modifiers; m->name; m++) {
			if (m->precedence != prec || dk_sieve_node_tag(node, m->name) == NULL)
				continue;
			char *next = apply_modifier(m->name, value);
			g_free(value);
			value = next;
		}
	}
	dk_sieve_variable_set(ip, g_ptr_array_index(dk_sieve_node_arg(node, 0)->strings, 0), value);
	g_free(value);
	return ip->error ? DK_STEP_ERROR : DK_STEP_NEXT;
}

/* string [MATCH-TYPE] [COMPARATOR] <source> <keys>, RFC 5229 section 5:
 * for :count, empty strings are not counted. */
static gboolean test_string(DkSieveInterp *ip, const DkSieveNode *node)
{
	g_autoptr(GPtrArray) values = dk_sieve_expand_list(ip, dk_sieve_node_arg(node, 0));
	if (node->match.type == DK_MATCH_COUNT)
		for (guint i = values->len; i-- > 0;)
			if (*(const char *)g_ptr_array_index(values, i) == '\0')
				g_ptr_array_remove_index(values, i);
	return dk_sieve_match_values(ip, node, values, dk_sieve_node_arg(node, 1));
}

static const DkSieveArgType set_args[] = {DK_ARGT_STRING, DK_ARGT_STRING};
static const DkSieveArgType string_args[] = {DK_ARGT_LIST, DK_ARGT_LIST};

const DkSieveDef dk_sieve_cmd_set = {
    .name = "set",
    .extension = "variables",
    .tags = set_tags,
    .min_args = 2,
    .max_args = 2,
    .args = set_args,
    .validate = validate_set,
    .run = run_set,
};

const DkSieveDef dk_sieve_tst_string = {
    .name = "string",
    .extension = "variables",
    .is_test = TRUE,
    .groups = DK_TAGS_MATCH | DK_TAGS_COMPARATOR,
    .min_args = 2,
    .max_args = 2,
    .args = string_args,
    .test = test_string,
};
