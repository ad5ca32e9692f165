/* Runs the Sieve script for a message and applies what it decided. */
#include "gateway/core/rules-apply.h"

#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/desk/desk.h"

#include <string.h>

struct DkRules {
	gint refcount;
	DkSieveScript *script;
	guint64 max_steps; /* [rules] max_steps: each message's budget */
};

DkRules *dk_rules_load(const DkConfig *config, GError **error)
{
	const char *path = dk_config_get_string(config, "rules", "script");
	if (*path == '\0')
		return NULL;
	/* The script the validator compiled when the configuration loaded. */
	DkRules *checked = dk_config_get_derived(config, "rules");
	if (checked != NULL)
		return dk_rules_ref(checked);
	g_autofree char *source = NULL;
	gsize length = 0;
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, &source, &length, &local)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "rules: %s", local->message);
		return NULL;
	}
	DkSieveScript *script = dk_sieve_compile(source, (gssize)length, NULL, &local);
	if (script == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "rules: %s:%s", path, local->message);
		return NULL;
	}
	DkRules *rules = g_new0(DkRules, 1);
	rules->refcount = 1;
	rules->script = script;
	rules->max_steps = (guint64)dk_config_get_int(config, "rules", "max_steps");
	return rules;
}

DkRules *dk_rules_ref(DkRules *rules)
{
	g_atomic_int_inc(&rules->refcount);
	return rules;
}

void dk_rules_unref(DkRules *rules)
{
	if (rules == NULL || !g_atomic_int_dec_and_test(&rules->refcount))
		return;
	dk_sieve_script_free(rules->script);
	g_free(rules);
}

void dk_rules_run(const DkRules *rules, const DkMessage *message, gsize size,
                  const char *envelope_from, const char *envelope_to, const DkTicket *ticket,
                  const char *const *sla, gboolean from_agent, gint64 now, DkRulesVerdict *v)
{
	memset(v, 0, sizeof *v);
	DkSieveTicket context = {
	    .is_new = ticket == NULL,
	    .status = dk_ticket_status_name(ticket ? ticket->status : DK_STATUS_NEW),
	    .priority = ticket ? ticket->priority : "none",
	    .queue = ticket ? ticket->queue : "default",
	    .is_agent = from_agent,
	    .sla = sla,
	};
	DkSieveInput input = {
	    .message = message,
	    .size = size,
	    .envelope_from = envelope_from,
	    .envelope_to = envelope_to,
	    .ticket = &context,
	    .now = now,
	    .max_steps = rules->max_steps,
	};
	v->result = dk_sieve_execute(rules->script, &input);
	gboolean kept = FALSE;
	for (guint i = 0; i < v->result->actions->len; i++) {
		const DkSieveAction *a = g_ptr_array_index(v->result->actions, i);
		switch (a->type) {
		case DK_SIEVE_ACTION_KEEP:
			kept = TRUE;
			break;
		case DK_SIEVE_ACTION_FILEINTO:
			kept = TRUE;
			v->queue = a->value;
			break;
		case DK_SIEVE_ACTION_REJECT:
		case DK_SIEVE_ACTION_EREJECT:
			g_free(v->reject);
			v->reject = g_strdup(a->value ? a->value : "rejected");
			break;
		case DK_SIEVE_ACTION_TICKET_CORRELATE:
			v->correlation = a->value;
			break;
		case DK_SIEVE_ACTION_TICKET_NOACK:
			v->noack = TRUE;
			break;
		case DK_SIEVE_ACTION_TICKET_TEMPLATE:
			v->template_name = a->value;
			break;
		default:
			break;
		}
	}
	/* discard, or a redirect without :copy, cancels the implicit keep
	 * (RFC 5228 section 2.10.2): no article, no ticket. */
	v->discard = !kept && v->reject == NULL;
}

/* The event of a change the rules made: {"value", "by": "rules"}. */
static gboolean rules_event(DkStore *store, gint64 ticket, const char *event, const char *value,
                            gint64 now, GError **error)
{
	g_autoptr(json_t) detail = json_pack("{ss ss}", "value", value ? value : "", "by", "rules");
	g_autofree char *text = json_dumps(detail, JSON_COMPACT);
	return dk_store_event_add(store, ticket, 0, event, text, now, error);
}

static gboolean set_field(DkStore *store, gint64 ticket, DkTicketField field, const char *value,
                          gint64 now, const char *event, GError **error)
{
	return dk_store_ticket_set(store, ticket, field, value, now, error) &&
	       rules_event(store, ticket, event, value, now, error);
}

/* ticket_status: the rules check its value against the seven names, and
 * the lifecycle holds for them as for the command line: a status that
 * cannot follow the ticket's is refused with an event naming the line. */
static gboolean set_status(DkStore *store, const DkSieveAction *a, gint64 ticket, gint64 now,
                           GError **error)
{
	DkTicketStatus status;
	if (!dk_ticket_status_parse(a->value, &status)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "the rules set no status: “%s”",
		            a->value ? a->value : "");
		return FALSE;
	}
	g_autoptr(DkTicket) t = dk_store_ticket_get(store, ticket, error);
	if (t == NULL)
		return FALSE;
	if (dk_desk_transition_allowed(t->status, status))
		return dk_store_ticket_set_status(store, ticket, status, now, error) &&
		       rules_event(store, ticket, "status_change", a->value, now, error);
	g_autoptr(json_t) detail =
	    json_pack("{ss sI ss ss ss}", "action", "ticket_status", "line", (json_int_t)a->line,
	              "value", a->value, "why", "that status cannot follow the ticket's", "status",
	              dk_ticket_status_name(t->status));
	g_autofree char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	return dk_store_event_add(store, ticket, 0, "rule_action_refused", text, now, error);
}

/* Whether an action changes a field of the ticket (or its tags). */
static gboolean changes_fields(const DkSieveAction *a)
{
	switch (a->type) {
	case DK_SIEVE_ACTION_FILEINTO:
	case DK_SIEVE_ACTION_TICKET_PRIORITY:
	case DK_SIEVE_ACTION_TICKET_STATUS:
	case DK_SIEVE_ACTION_TICKET_ASSIGN:
	case DK_SIEVE_ACTION_TICKET_ORGANISATION:
	case DK_SIEVE_ACTION_TICKET_FIELD:
	case DK_SIEVE_ACTION_ADDFLAG:
	case DK_SIEVE_ACTION_SETFLAG:
	case DK_SIEVE_ACTION_REMOVEFLAG:
		return TRUE;
	default:
		return FALSE;
	}
}

GPtrArray *dk_rules_redirects(const DkRulesVerdict *v)
{
	GPtrArray *out = NULL;
	for (guint i = 0; v->result != NULL && i < v->result->actions->len; i++) {
		const DkSieveAction *a = g_ptr_array_index(v->result->actions, i);
		if (a->type != DK_SIEVE_ACTION_REDIRECT)
			continue;
		if (out == NULL)
			out = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(out, g_strdup(a->value));
	}
	return out;
}

static gboolean apply_action(DkStore *store, const DkSieveAction *a, gint64 ticket, gint64 now,
                             GError **error)
{
	switch (a->type) {
	case DK_SIEVE_ACTION_FILEINTO:
		return set_field(store, ticket, DK_TICKET_QUEUE, a->value, now, "queue_change",
		                 error);
	case DK_SIEVE_ACTION_TICKET_PRIORITY:
		return set_field(store, ticket, DK_TICKET_PRIORITY, a->value, now,
		                 "priority_change", error);
	case DK_SIEVE_ACTION_TICKET_STATUS:
		return set_status(store, a, ticket, now, error);
	case DK_SIEVE_ACTION_TICKET_ASSIGN:
		return set_field(store, ticket, DK_TICKET_ASSIGNEE, a->value, now, "assignment",
		                 error);
	case DK_SIEVE_ACTION_TICKET_ORGANISATION:
		return set_field(store, ticket, DK_TICKET_ORGANISATION, a->value, now,
		                 "organisation_change", error);
	case DK_SIEVE_ACTION_TICKET_FIELD:
		return dk_store_ticket_field_set(store, ticket, a->name, a->value, error);
	default:
		return TRUE;
	}
}

static json_t *fired_json(const DkRulesVerdict *v)
{
	json_t *actions = json_array();
	for (guint i = 0; i < v->result->actions->len; i++) {
		const DkSieveAction *a = g_ptr_array_index(v->result->actions, i);
		if (a->implicit)
			continue;
		json_t *item = json_pack("{ss sI}", "type", dk_sieve_action_type_name(a->type),
		                         "line", (json_int_t)a->line);
		if (a->value != NULL)
			json_object_set_new(item, "value", json_string(a->value));
		json_array_append_new(actions, item);
	}
	json_t *o = json_pack("{so}", "actions", actions);
	if (v->result->error != NULL)
		json_object_set_new(o, "error", json_string(v->result->error));
	if (v->result->budget_exceeded)
		json_object_set_new(o, "steps", json_integer((json_int_t)v->result->steps));
	return o;
}

gboolean dk_rules_apply(DkStore *store, const DkRulesVerdict *v, gint64 ticket, gint64 article,
                        gint64 now, GError **error)
{
	if (v->result == NULL)
		return TRUE;
	g_autoptr(json_t) ignored = json_array();
	for (guint i = 0; i < v->result->actions->len; i++) {
		const DkSieveAction *a = g_ptr_array_index(v->result->actions, i);
		if (v->fields_locked != NULL && !a->implicit && changes_fields(a)) {
			json_array_append_new(ignored, json_pack("{ss sI}", "type",
			                                         dk_sieve_action_type_name(a->type),
			                                         "line", (json_int_t)a->line));
			continue;
		}
		if (!apply_action(store, a, ticket, now, error))
			return FALSE;
	}
	if (json_array_size(ignored) > 0) {
		g_autoptr(json_t) detail =
		    json_pack("{ss sO}", "why", v->fields_locked, "actions", ignored);
		g_autofree char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
		if (!dk_store_event_add(store, ticket, article, "rule_actions_ignored", text, now,
		                        error))
			return FALSE;
	}
	for (guint i = 0;
	     v->fields_locked == NULL && v->result->flags != NULL && i < v->result->flags->len;
	     i++) {
		if (!dk_store_tag_add(store, ticket, g_ptr_array_index(v->result->flags, i), error))
			return FALSE;
	}
	g_autoptr(json_t) fired = fired_json(v);
	if (json_array_size(json_object_get(fired, "actions")) == 0 && v->result->error == NULL)
		return TRUE;
	g_autofree char *text = json_dumps(fired, JSON_COMPACT);
	/* A run stopped by its budget did nothing: the message is stored as if
	 * no rule had matched, and this event says so. */
	const char *type = v->result->budget_exceeded ? "rules_budget_exceeded" : "rule_fired";
	return dk_store_event_add(store, ticket, article, type, text, now, error);
}

void dk_rules_verdict_clear(DkRulesVerdict *v)
{
	g_clear_pointer(&v->result, dk_sieve_result_free);
	g_clear_pointer(&v->reject, g_free);
}
