/* The Sieve validator: resolves each command and test against the plug-in
 * tables, checks arguments, tags, require (RFC 5228 section 3.2) and the
 * comparator and match-type rules of section 2.7. */
#include "rules/sieve-private.h"

#include <string.h>

struct _DkSieveValidator {
	DkSieveScript *script;
	GPtrArray *diags;
	GHashTable *required;
	gboolean failed;
};

void dk_sieve_validator_error(DkSieveValidator *v, guint line, guint column, const char *format,
                              ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	dk_sieve_diag_add(v->diags, line, column, "%s", msg);
	v->failed = TRUE;
}

gboolean dk_sieve_validator_has(DkSieveValidator *v, const char *extension)
{
	return g_hash_table_contains(v->required, extension);
}

gboolean dk_sieve_arg_constant(DkSieveValidator *v, const DkSieveArg *arg)
{
	if (!v->script->variables || arg->strings == NULL)
		return TRUE;
	for (guint i = 0; i < arg->strings->len; i++)
		if (strstr(g_ptr_array_index(arg->strings, i), "${") != NULL)
			return FALSE;
	return TRUE;
}

const DkSieveArg *dk_sieve_node_tag(const DkSieveNode *node, const char *name)
{
	for (guint i = 0; node->tagged && i < node->tagged->len; i++) {
		const DkSieveArg *a = g_ptr_array_index(node->tagged, i);
		if (strcmp(a->tag, name) == 0)
			return a;
	}
	return NULL;
}

const DkSieveArg *dk_sieve_node_arg(const DkSieveNode *node, guint index)
{
	return index < node->positional->len ? g_ptr_array_index(node->positional, index) : NULL;
}

static const DkSieveDef *find_def(const char *name, gboolean is_test)
{
	for (guint i = 0; dk_sieve_defs[i] != NULL; i++)
		if (dk_sieve_defs[i]->is_test == is_test &&
		    strcmp(dk_sieve_defs[i]->name, name) == 0)
			return dk_sieve_defs[i];
	return NULL;
}

static gboolean extension_known(const char *name)
{
	for (guint i = 0; dk_sieve_known_extensions[i] != NULL; i++)
		if (strcmp(dk_sieve_known_extensions[i], name) == 0)
			return TRUE;
	return FALSE;
}

/* require <capabilities: string-list>, section 3.2. */
static void validate_require(DkSieveValidator *v, DkSieveNode *node, gboolean allowed)
{
	if (!allowed) {
		dk_sieve_validator_error(v, node->line, node->column,
		                         "require must come before any other command");
		return;
	}
	if (node->args->len != 1 || node->tests->len > 0 || node->block != NULL) {
		dk_sieve_validator_error(v, node->line, node->column,
		                         "require expects one string list of extensions");
		return;
	}
	const DkSieveArg *a = g_ptr_array_index(node->args, 0);
	if (a->strings == NULL) {
		dk_sieve_validator_error(v, a->line, a->column,
		                         "require expects a string list of extensions");
		return;
	}
	for (guint i = 0; i < a->strings->len; i++) {
		const char *ext = g_ptr_array_index(a->strings, i);
		if (!extension_known(ext)) {
			dk_sieve_validator_error(v, a->line, a->column, "unknown extension '%s'",
			                         ext);
			continue;
		}
		if (!g_hash_table_contains(v->required, ext)) {
			g_hash_table_add(v->required, g_strdup(ext));
			g_ptr_array_add(v->script->extensions, g_strdup(ext));
		}
		if (strcmp(ext, "variables") == 0)
			v->script->variables = TRUE;
	}
}

typedef struct {
	const char *name;
	const char *extension;
	guint group;
	int value;
	int arg; /* -1 or DkSieveArgType */
} GroupTag;

static const GroupTag group_tags[] = {
    {"is", NULL, DK_TAGS_MATCH, DK_MATCH_IS, -1},
    {"contains", NULL, DK_TAGS_MATCH, DK_MATCH_CONTAINS, -1},
    {"matches", NULL, DK_TAGS_MATCH, DK_MATCH_MATCHES, -1},
    {"regex", "regex", DK_TAGS_MATCH, DK_MATCH_REGEX, -1},
    {"count", "relational", DK_TAGS_MATCH, DK_MATCH_COUNT, DK_ARGT_STRING},
    {"value", "relational", DK_TAGS_MATCH, DK_MATCH_VALUE, DK_ARGT_STRING},
    {"comparator", NULL, DK_TAGS_COMPARATOR, 0, DK_ARGT_STRING},
    {"all", NULL, DK_TAGS_ADDRESS, DK_PART_ALL, -1},
    {"localpart", NULL, DK_TAGS_ADDRESS, DK_PART_LOCAL, -1},
    {"domain", NULL, DK_TAGS_ADDRESS, DK_PART_DOMAIN, -1},
    {"user", "subaddress", DK_TAGS_ADDRESS, DK_PART_USER, -1},
    {"detail", "subaddress", DK_TAGS_ADDRESS, DK_PART_DETAIL, -1},
    {NULL, NULL, 0, 0, 0},
};

static gboolean arg_fits(const DkSieveArg *a, int type)
{
	switch (type) {
	case DK_ARGT_STRING:
		return a->kind == DK_SIEVE_ARG_STRING;
	case DK_ARGT_LIST:
		return a->kind == DK_SIEVE_ARG_STRING || a->kind == DK_SIEVE_ARG_LIST;
	case DK_ARGT_NUMBER:
		return a->kind == DK_SIEVE_ARG_NUMBER;
	default:
		return FALSE;
	}
}

static const char *argt_name(int type)
{
	return type == DK_ARGT_STRING ? "a string"
	       : type == DK_ARGT_LIST ? "a string list"
	                              : "a number";
}

/* Applies a tag of the match, comparator or address-part groups. */
static void apply_group_tag(DkSieveValidator *v, DkSieveNode *node, const GroupTag *g,
                            const DkSieveArg *tag, guint *seen)
{
	if (*seen & g->group) {
		const char *what = g->group == DK_TAGS_MATCH        ? "match type"
		                   : g->group == DK_TAGS_COMPARATOR ? "comparator"
		                                                    : "address part";
		dk_sieve_validator_error(v, tag->line, tag->column, "more than one %s for '%s'",
		                         what, node->name);
		return;
	}
	*seen |= g->group;
	if (g->group == DK_TAGS_MATCH) {
		node->match.type = (DkSieveMatchType)g->value;
		if (tag->value && !dk_sieve_relop_parse(g_ptr_array_index(tag->value->strings, 0),
		                                        &node->match.rel))
			dk_sieve_validator_error(
			    v, tag->value->line, tag->value->column,
			    "expected a relational operator (gt ge lt le eq ne)");
	} else if (g->group == DK_TAGS_ADDRESS) {
		node->match.part = (DkSieveAddressPart)g->value;
	} else {
		const char *name = g_ptr_array_index(tag->value->strings, 0);
		if (!dk_sieve_comparator_parse(name, &node->match.comparator))
			dk_sieve_validator_error(v, tag->value->line, tag->value->column,
			                         "unknown comparator '%s'", name);
		else if (node->match.comparator == DK_CMP_NUMERIC &&
		         !dk_sieve_validator_has(v, "comparator-i;ascii-numeric"))
			dk_sieve_validator_error(v, tag->value->line, tag->value->column,
			                         "comparator 'i;ascii-numeric' needs require "
			                         "\"comparator-i;ascii-numeric\"");
	}
}

static const DkSieveTagDef *find_own_tag(const DkSieveDef *def, const char *name)
{
	for (const DkSieveTagDef *t = def->tags; t && t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* Sorts the arguments into tagged and positional, taking each tag's own
 * argument along with it. */
static void validate_tags(DkSieveValidator *v, DkSieveNode *node)
{
	const DkSieveDef *def = node->def;
	guint seen = 0;
	for (guint i = 0; i < node->args->len && !v->failed; i++) {
		DkSieveArg *a = g_ptr_array_index(node->args, i);
		if (a->kind != DK_SIEVE_ARG_TAG) {
			g_ptr_array_add(node->positional, a);
			continue;
		}
		if (node->positional->len > 0) {
			dk_sieve_validator_error(
			    v, a->line, a->column,
			    "tag ':%s' must come before the positional arguments", a->tag);
			return;
		}
		const GroupTag *g = NULL;
		for (const GroupTag *t = group_tags; t->name; t++)
			if ((def->groups & t->group) && strcmp(t->name, a->tag) == 0)
				g = t;
		const DkSieveTagDef *own = g ? NULL : find_own_tag(def, a->tag);
		const char *ext = g ? g->extension : own ? own->extension : NULL;
		int argtype = g ? g->arg : own ? own->arg : -1;
		if (g == NULL && own == NULL) {
			dk_sieve_validator_error(v, a->line, a->column,
			                         "unknown tag ':%s' for '%s'", a->tag, node->name);
			continue;
		}
		if (ext && !dk_sieve_validator_has(v, ext))
			dk_sieve_validator_error(v, a->line, a->column,
			                         "tag ':%s' needs require \"%s\"", a->tag, ext);
		if (own && node->tagged->len > 0 && dk_sieve_node_tag(node, a->tag))
			dk_sieve_validator_error(v, a->line, a->column, "tag ':%s' given twice",
			                         a->tag);
		if (argtype >= 0) {
			DkSieveArg *val =
			    i + 1 < node->args->len ? g_ptr_array_index(node->args, i + 1) : NULL;
			if (val == NULL || !arg_fits(val, argtype)) {
				dk_sieve_validator_error(v, a->line, a->column,
				                         "expected %s after ':%s'",
				                         argt_name(argtype), a->tag);
				continue;
			}
			a->value = val;
			i++;
		}
		g_ptr_array_add(node->tagged, a);
		if (g)
			apply_group_tag(v, node, g, a, &seen);
	}
}

static void validate_positional(DkSieveValidator *v, DkSieveNode *node)
{
	const DkSieveDef *def = node->def;
	guint n = node->positional->len;
	if (n < def->min_args || n > def->max_args) {
		if (def->min_args == def->max_args)
			dk_sieve_validator_error(v, node->line, node->column,
			                         "'%s' expects %u positional argument%s, found %u",
			                         node->name, def->max_args,
			                         def->max_args == 1 ? "" : "s", n);
		else
			dk_sieve_validator_error(
			    v, node->line, node->column,
			    "'%s' expects %u to %u positional arguments, found %u", node->name,
			    def->min_args, def->max_args, n);
		return;
	}
	guint offset = def->max_args - n;
	for (guint i = 0; i < n; i++) {
		const DkSieveArg *a = g_ptr_array_index(node->positional, i);
		int type = def->args[i + offset];
		if (!arg_fits(a, type))
			dk_sieve_validator_error(v, a->line, a->column,
			                         "argument %u of '%s': expected %s", i + 1,
			                         node->name, argt_name(type));
	}
}

static void validate_regex_keys(DkSieveValidator *v, DkSieveNode *node)
{
	const DkSieveArg *keys = dk_sieve_node_arg(node, node->positional->len - 1);
	if (keys == NULL || keys->strings == NULL || !dk_sieve_arg_constant(v, keys))
		return;
	node->match.regexes = g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);
	for (guint i = 0; i < keys->strings->len; i++) {
		g_autoptr(GError) error = NULL;
		GRegex *re = dk_sieve_regex_new(g_ptr_array_index(keys->strings, i),
		                                node->match.comparator == DK_CMP_CASEMAP, &error);
		if (re == NULL) {
			dk_sieve_validator_error(v, keys->line, keys->column,
			                         "invalid regular expression: %s", error->message);
			g_clear_pointer(&node->match.regexes, g_ptr_array_unref);
			return;
		}
		g_ptr_array_add(node->match.regexes, re);
	}
}

static void validate_match(DkSieveValidator *v, DkSieveNode *node)
{
	if (!(node->def->groups & DK_TAGS_MATCH))
		return;
	DkSieveMatchType t = node->match.type;
	if (node->match.comparator == DK_CMP_NUMERIC &&
	    (t == DK_MATCH_CONTAINS || t == DK_MATCH_MATCHES || t == DK_MATCH_REGEX))
		dk_sieve_validator_error(
		    v, node->line, node->column,
		    "comparator 'i;ascii-numeric' does not support this match type");
	if (t == DK_MATCH_REGEX && node->match.comparator == DK_CMP_NUMERIC)
		return;
	if (t == DK_MATCH_REGEX)
		validate_regex_keys(v, node);
}

static void validate_list(DkSieveValidator *v, GPtrArray *list, gboolean top, guint depth);

/* Whether the node has the tests and block its definition asks for. */
static void validate_shape(DkSieveValidator *v, DkSieveNode *node)
{
	const DkSieveDef *def = node->def;
	const char *problem = NULL;
	if (def->tests == 0 && node->tests->len > 0)
		problem = "'%s' takes no test";
	else if (def->tests == 1 && node->tests->len != 1)
		problem = "'%s' expects one test";
	else if (def->tests < 0 && node->tests->len == 0)
		problem = "'%s' expects a list of tests in parentheses";
	else if (def->block && node->block == NULL)
		problem = "'%s' expects a block";
	else if (!def->block && node->block != NULL)
		problem = "'%s' takes no block";
	if (problem != NULL)
		dk_sieve_validator_error(v, node->line, node->column, problem, node->name);
}

static gboolean resolve_def(DkSieveValidator *v, DkSieveNode *node, gboolean is_test)
{
	node->def = find_def(node->name, is_test);
	if (node->def == NULL) {
		const char *want = is_test ? "test" : "command";
		if (find_def(node->name, !is_test) != NULL)
			dk_sieve_validator_error(v, node->line, node->column, "'%s' is not a %s",
			                         node->name, want);
		else
			dk_sieve_validator_error(v, node->line, node->column, "unknown %s '%s'",
			                         want, node->name);
		return FALSE;
	}
	if (node->def->extension && !dk_sieve_validator_has(v, node->def->extension)) {
		dk_sieve_validator_error(v, node->line, node->column, "'%s' needs require \"%s\"",
		                         node->name, node->def->extension);
		return FALSE;
	}
	return TRUE;
}

/* Checks one command or test. Like Pigeonhole, a node reports its first
 * problem only; its tests and block are checked in any case. */
static void validate_node(DkSieveValidator *v, DkSieveNode *node, gboolean is_test, guint depth)
{
	gboolean outer = v->failed;
	v->failed = FALSE;
	node->positional = g_ptr_array_new();
	node->tagged = g_ptr_array_new();
	node->match.type = DK_MATCH_IS;
	node->match.comparator = DK_CMP_CASEMAP;
	node->match.part = DK_PART_ALL;
	if (resolve_def(v, node, is_test))
		validate_tags(v, node);
	if (!v->failed)
		validate_positional(v, node);
	if (!v->failed)
		validate_shape(v, node);
	if (!v->failed)
		validate_match(v, node);
	if (!v->failed && node->def->validate)
		node->def->validate(v, node);
	for (guint i = 0; i < node->tests->len; i++)
		validate_node(v, g_ptr_array_index(node->tests, i), TRUE, depth + 1);
	if (node->block)
		validate_list(v, node->block, FALSE, depth + 1);
	v->failed = v->failed || outer;
}

static void validate_list(DkSieveValidator *v, GPtrArray *list, gboolean top, guint depth)
{
	gboolean require_allowed = top;
	const char *prev = NULL;
	for (guint i = 0; i < list->len && v->diags->len < DK_SIEVE_MAX_DIAGNOSTICS; i++) {
		DkSieveNode *node = g_ptr_array_index(list, i);
		if (strcmp(node->name, "require") == 0) {
			validate_require(v, node, require_allowed);
			prev = node->name;
			continue;
		}
		require_allowed = FALSE;
		if ((strcmp(node->name, "elsif") == 0 || strcmp(node->name, "else") == 0) &&
		    (prev == NULL || (strcmp(prev, "if") != 0 && strcmp(prev, "elsif") != 0)))
			dk_sieve_validator_error(v, node->line, node->column,
			                         "'%s' must follow 'if' or 'elsif'", node->name);
		else
			validate_node(v, node, FALSE, depth);
		prev = node->name;
	}
}

gboolean dk_sieve_validate(DkSieveScript *script, GPtrArray *diags)
{
	DkSieveValidator v = {
	    .script = script,
	    .diags = diags,
	    .required = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
	};
	validate_list(&v, script->commands, TRUE, 0);
	g_hash_table_unref(v.required);
	return !v.failed && diags->len == 0;
}
