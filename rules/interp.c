/* The Sieve interpreter: compiles a script through lexer, parser and
 * validator, then runs it over one message, collecting actions, the trace
 * and the implicit keep of RFC 5228 section 2.10.2. */
#include "rules/sieve-private.h"

#include <gmime/gmime.h>
#include <string.h>

G_DEFINE_QUARK(dk - sieve - error - quark, dk_sieve_error)

void dk_sieve_diagnostic_free(DkSieveDiagnostic *diagnostic)
{
	if (diagnostic == NULL)
		return;
	g_free(diagnostic->message);
	g_free(diagnostic);
}

void dk_sieve_script_free(DkSieveScript *script)
{
	if (script == NULL)
		return;
	if (script->commands)
		g_ptr_array_unref(script->commands);
	g_ptr_array_unref(script->extensions);
	g_free(script);
}

const char *const *dk_sieve_script_extensions(const DkSieveScript *script)
{
	return (const char *const *)script->extensions->pdata;
}

DkSieveScript *dk_sieve_compile(const char *source, gssize len, GPtrArray **diagnostics_out,
                                GError **error)
{
	gsize n = len < 0 ? strlen(source) : (gsize)len;
	g_autoptr(GPtrArray) diags =
	    g_ptr_array_new_with_free_func((GDestroyNotify)dk_sieve_diagnostic_free);
	DkSieveScript *script = g_new0(DkSieveScript, 1);
	script->extensions = g_ptr_array_new_with_free_func(g_free);
	int code = DK_SIEVE_ERROR_SYNTAX;
	if (n > DK_SIEVE_MAX_SCRIPT_BYTES) {
		dk_sieve_diag_add(diags, 1, 1, "script larger than %d bytes",
		                  DK_SIEVE_MAX_SCRIPT_BYTES);
		code = DK_SIEVE_ERROR_LIMIT;
	} else if (dk_sieve_parse(script, source, n, diags)) {
		code = DK_SIEVE_ERROR_INVALID;
		dk_sieve_validate(script, diags);
	}
	g_ptr_array_add(script->extensions, NULL);
	if (diags->len == 0)
		return script;
	dk_sieve_script_free(script);
	const DkSieveDiagnostic *d = g_ptr_array_index(diags, 0);
	g_set_error(error, DK_SIEVE_ERROR, code, "%u:%u: %s", d->line, d->column, d->message);
	if (diagnostics_out)
		*diagnostics_out = g_steal_pointer(&diags);
	return NULL;
}

const char *dk_sieve_action_type_name(DkSieveActionType type)
{
	static const char *const names[] = {
	    [DK_SIEVE_ACTION_KEEP] = "keep",
	    [DK_SIEVE_ACTION_DISCARD] = "discard",
	    [DK_SIEVE_ACTION_FILEINTO] = "fileinto",
	    [DK_SIEVE_ACTION_REDIRECT] = "redirect",
	    [DK_SIEVE_ACTION_REJECT] = "reject",
	    [DK_SIEVE_ACTION_EREJECT] = "ereject",
	    [DK_SIEVE_ACTION_ADDFLAG] = "addflag",
	    [DK_SIEVE_ACTION_SETFLAG] = "setflag",
	    [DK_SIEVE_ACTION_REMOVEFLAG] = "removeflag",
	    [DK_SIEVE_ACTION_TICKET_PRIORITY] = "ticket_priority",
	    [DK_SIEVE_ACTION_TICKET_STATUS] = "ticket_status",
	    [DK_SIEVE_ACTION_TICKET_ASSIGN] = "ticket_assign",
	    [DK_SIEVE_ACTION_TICKET_ORGANISATION] = "ticket_organisation",
	    [DK_SIEVE_ACTION_TICKET_FIELD] = "ticket_field",
	    [DK_SIEVE_ACTION_TICKET_CORRELATE] = "ticket_correlate",
	    [DK_SIEVE_ACTION_TICKET_NOACK] = "ticket_noack",
	    [DK_SIEVE_ACTION_TICKET_TEMPLATE] = "ticket_template",
	};
	return (guint)type < G_N_ELEMENTS(names) ? names[type] : "unknown";
}

static void action_free(DkSieveAction *a)
{
	if (a == NULL)
		return;
	g_free(a->value);
	g_free(a->name);
	if (a->flags)
		g_ptr_array_unref(a->flags);
	g_free(a);
}

void dk_sieve_result_free(DkSieveResult *result)
{
	if (result == NULL)
		return;
	g_ptr_array_unref(result->actions);
	g_ptr_array_unref(result->trace);
	g_array_unref(result->fired_lines);
	g_ptr_array_unref(result->flags);
	g_free(result->error);
	g_free(result);
}

DkSieveStep dk_sieve_interp_fail(DkSieveInterp *ip, const DkSieveNode *node, const char *format,
                                 ...)
{
	if (ip->error != NULL)
		return DK_STEP_ERROR;
	va_list ap;
	va_start(ap, format);
	g_autofree char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	ip->error = node ? g_strdup_printf("line %u: %s: %s", node->line, node->name, msg)
	                 : g_steal_pointer(&msg);
	return DK_STEP_ERROR;
}

DkSieveAction *dk_sieve_interp_action(DkSieveInterp *ip, DkSieveActionType type,
                                      const DkSieveNode *node)
{
	if (ip->result->actions->len >= DK_SIEVE_MAX_ACTIONS) {
		dk_sieve_interp_fail(ip, node, "more than %d actions", DK_SIEVE_MAX_ACTIONS);
		return NULL;
	}
	DkSieveAction *a = g_new0(DkSieveAction, 1);
	a->type = type;
	a->line = node ? node->line : 0;
	g_ptr_array_add(ip->result->actions, a);
	if (node)
		g_array_append_val(ip->result->fired_lines, node->line);
	return a;
}

gboolean dk_sieve_interp_charge(DkSieveInterp *ip, const DkSieveNode *node, guint64 cost)
{
	if (ip->error != NULL)
		return FALSE;
	ip->steps += cost;
	if (ip->steps <= ip->max_steps)
		return TRUE;
	dk_sieve_interp_fail(ip, node, "the rules' budget of %" G_GUINT64_FORMAT " steps is spent",
	                     ip->max_steps);
	ip->result->budget_exceeded = TRUE;
	return FALSE;
}

static gboolean count_step(DkSieveInterp *ip, const DkSieveNode *node)
{
	return dk_sieve_interp_charge(ip, node, 1);
}

gboolean dk_sieve_interp_test(DkSieveInterp *ip, const DkSieveNode *test)
{
	if (ip->error || !count_step(ip, test))
		return FALSE;
	gboolean r = test->def->test(ip, test);
	if (ip->error)
		return FALSE;
	DkSieveTraceEntry *e = g_new0(DkSieveTraceEntry, 1);
	e->line = test->line;
	e->test = test->def->name;
	e->result = r;
	g_ptr_array_add(ip->result->trace, e);
	return r;
}

static DkSieveStep run_list(DkSieveInterp *ip, const GPtrArray *list);

/* if/elsif/else, RFC 5228 section 3.1: a chain runs at most one block. */
static DkSieveStep run_conditional(DkSieveInterp *ip, const DkSieveNode *node, gboolean *taken)
{
	if (strcmp(node->name, "if") == 0)
		*taken = FALSE;
	if (*taken)
		return DK_STEP_NEXT;
	if (node->tests->len > 0 && !dk_sieve_interp_test(ip, g_ptr_array_index(node->tests, 0)))
		return ip->error ? DK_STEP_ERROR : DK_STEP_NEXT;
	*taken = TRUE;
	return run_list(ip, node->block);
}

static DkSieveStep run_list(DkSieveInterp *ip, const GPtrArray *list)
{
	gboolean taken = FALSE;
	for (guint i = 0; i < list->len; i++) {
		const DkSieveNode *node = g_ptr_array_index(list, i);
		if (node->def == NULL) /* require */
			continue;
		if (!count_step(ip, node))
			return DK_STEP_ERROR;
		DkSieveStep step;
		if (node->def->block)
			step = run_conditional(ip, node, &taken);
		else
			step = node->def->run(ip, node);
		if (step != DK_STEP_NEXT)
			return step;
	}
	return DK_STEP_NEXT;
}

static gboolean is_delivery(const DkSieveAction *a)
{
	return a->type == DK_SIEVE_ACTION_KEEP || a->type == DK_SIEVE_ACTION_FILEINTO ||
	       (a->type == DK_SIEVE_ACTION_REDIRECT && !a->copy);
}

/* RFC 5429 section 2.1: reject and ereject cannot be combined with actions
 * that deliver the message, nor with each other. */
static void check_conflicts(DkSieveInterp *ip)
{
	guint rejects = 0, deliveries = 0;
	for (guint i = 0; i < ip->result->actions->len; i++) {
		const DkSieveAction *a = g_ptr_array_index(ip->result->actions, i);
		if (a->type == DK_SIEVE_ACTION_REJECT || a->type == DK_SIEVE_ACTION_EREJECT)
			rejects++;
		else if (is_delivery(a) || a->type == DK_SIEVE_ACTION_REDIRECT)
			deliveries++;
	}
	if (rejects > 1)
		dk_sieve_interp_fail(ip, NULL, "more than one reject");
	else if (rejects == 1 && deliveries > 0)
		dk_sieve_interp_fail(ip, NULL, "reject conflicts with keep, fileinto or redirect");
}

static GPtrArray *copy_flags(const GPtrArray *flags)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; flags && i < flags->len; i++)
		g_ptr_array_add(out, g_strdup(g_ptr_array_index(flags, i)));
	return out;
}

static void finish(DkSieveInterp *ip)
{
	DkSieveResult *r = ip->result;
	if (ip->error == NULL)
		check_conflicts(ip);
	if (ip->error != NULL) {
		r->error = g_steal_pointer(&ip->error);
		g_ptr_array_set_size(r->actions, 0);
		g_ptr_array_set_size(ip->flags, 0); /* flags set before the error are no action */
		g_array_set_size(r->fired_lines, 0);
		ip->keep_cancelled = FALSE;
	}
	r->flags = copy_flags(ip->flags);
	if (!ip->keep_cancelled) {
		DkSieveAction *a = g_new0(DkSieveAction, 1);
		a->type = DK_SIEVE_ACTION_KEEP;
		a->implicit = TRUE;
		if (g_strv_contains(dk_sieve_script_extensions(ip->script), "imap4flags"))
			a->flags = copy_flags(ip->flags);
		g_ptr_array_add(r->actions, a);
	}
}

DkSieveResult *dk_sieve_execute(const DkSieveScript *script, const DkSieveInput *input)
{
	g_return_val_if_fail(script != NULL && input != NULL && input->message != NULL, NULL);
	dk_gmime_init(); /* address parsing uses GMime */
	DkSieveResult *r = g_new0(DkSieveResult, 1);
	r->actions = g_ptr_array_new_with_free_func((GDestroyNotify)action_free);
	r->trace = g_ptr_array_new_with_free_func(g_free);
	r->fired_lines = g_array_new(FALSE, FALSE, sizeof(guint));
	DkSieveInterp ip = {
	    .script = script,
	    .input = input,
	    .result = r,
	    .variables = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
	    .captures = g_ptr_array_new_with_free_func(g_free),
	    .flags = g_ptr_array_new_with_free_func(g_free),
	    .addresses = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                       (GDestroyNotify)g_ptr_array_unref),
	    .max_steps = input->max_steps ? input->max_steps : DK_SIEVE_DEFAULT_STEPS,
	};
	run_list(&ip, script->commands);
	finish(&ip);
	r->steps = ip.steps;
	g_hash_table_unref(ip.variables);
	g_ptr_array_unref(ip.captures);
	g_ptr_array_unref(ip.flags);
	g_hash_table_unref(ip.addresses);
	g_free(ip.body_lower);
	g_free(ip.error);
	return r;
}
