/* Agent commands on the first lines of a reply, and Authentication-Results. */
#include "parsers/agent-commands.h"

#include <string.h>

#define MAX_COMMANDS 32
#define MAX_TAG 64

static const char *const names[] = {
    [DK_AGENT_STATUS] = "status", [DK_AGENT_PRIORITY] = "priority", [DK_AGENT_ASSIGN] = "assign",
    [DK_AGENT_TAG] = "tag",       [DK_AGENT_INTERNAL] = "internal",
};

static const char *const statuses[] = {"new",     "open",     "in_progress", "waiting",
                                       "on_hold", "resolved", "closed",      NULL};
static const char *const priorities[] = {"critical", "high", "medium", "low", "none", NULL};

const char *dk_agent_command_name(DkAgentCommandKind kind)
{
	return names[kind];
}

static void command_free(DkAgentCommand *c)
{
	g_free(c->value);
	g_free(c);
}

void dk_agent_commands_free(DkAgentCommands *c)
{
	if (c == NULL)
		return;
	g_ptr_array_unref(c->commands);
	g_ptr_array_unref(c->errors);
	g_free(c->text);
	g_free(c);
}

static gboolean valid_tag(const char *v)
{
	gsize n = strlen(v);
	if (n == 0 || n > MAX_TAG)
		return FALSE;
	for (const char *p = v; *p; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

static gboolean valid_address(const char *v)
{
	const char *at = strchr(v, '@');
	return at != NULL && at != v && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
	       strpbrk(v, " \t<>,;\"") == NULL && strlen(v) <= 254;
}

/* Checks value for kind; an explanation when it is not valid. */
static const char *check(DkAgentCommandKind kind, const char *value)
{
	switch (kind) {
	case DK_AGENT_STATUS:
		return g_strv_contains(statuses, value) ? NULL : "unknown status";
	case DK_AGENT_PRIORITY:
		return g_strv_contains(priorities, value) ? NULL : "unknown priority";
	case DK_AGENT_ASSIGN:
		return valid_address(value) ? NULL : "not an address";
	case DK_AGENT_TAG:
		return valid_tag(value) ? NULL : "not a tag";
	case DK_AGENT_INTERNAL:
		return *value == '\0' ? NULL : "takes no value";
	}
	return "unknown";
}

/* One line: FALSE when it is not a command line at all (the block ends). */
static gboolean parse_line(const char *line, DkAgentCommands *out)
{
	if (line[0] != '#')
		return FALSE;
	const char *p = line + 1;
	gsize n = 0;
	while (g_ascii_isalpha(p[n]) || p[n] == '_')
		n++;
	int kind = -1;
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		if (strlen(names[i]) == n && g_ascii_strncasecmp(p, names[i], n) == 0)
			kind = (int)i;
	}
	if (kind < 0 || (p[n] != '\0' && p[n] != ' ' && p[n] != '\t' && p[n] != ':'))
		return FALSE;
	const char *v = p + n;
	if (*v == ':')
		v++;
	g_autofree char *value = g_ascii_strdown(v, -1);
	g_strstrip(value);
	const char *why = check((DkAgentCommandKind)kind, value);
	if (why != NULL) {
		g_ptr_array_add(out->errors, g_strdup_printf("%s: %s", line, why));
		return TRUE;
	}
	DkAgentCommand *c = g_new0(DkAgentCommand, 1);
	c->kind = (DkAgentCommandKind)kind;
	c->value = kind == DK_AGENT_INTERNAL ? NULL : g_steal_pointer(&value);
	out->internal |= kind == DK_AGENT_INTERNAL;
	g_ptr_array_add(out->commands, c);
	return TRUE;
}

DkAgentCommands *dk_agent_commands_parse(const char *text)
{
	DkAgentCommands *out = g_new0(DkAgentCommands, 1);
	out->commands = g_ptr_array_new_with_free_func((GDestroyNotify)command_free);
	out->errors = g_ptr_array_new_with_free_func(g_free);
	const char *p = text ? text : "";
	const char *rest = p;
	for (guint seen = 0; *p != '\0' && seen < MAX_COMMANDS;) {
		const char *eol = strchr(p, '\n');
		gsize len = eol ? (gsize)(eol - p) : strlen(p);
		g_autofree char *line = g_strndup(p, len);
		g_strstrip(line);
		const char *next = eol ? eol + 1 : p + len;
		if (*line == '\0') {
			p = next;
			continue;
		}
		if (!parse_line(line, out))
			break;
		seen++;
		p = rest = next;
	}
	/* The blank lines between the commands and the text go too. */
	while (*rest == '\n' || *rest == '\r' || *rest == ' ' || *rest == '\t')
		rest++;
	out->text = g_strdup(out->commands->len || out->errors->len ? rest : (text ? text : ""));
	return out;
}
