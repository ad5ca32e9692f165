/* Agent commands on the first lines of a reply, and Authentication-Results. */
#include "parsers/agent-commands.h"

#include <string.h>

#define MAX_COMMANDS 32
#define MAX_TAG 64
#define MAX_RESULTS 64

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

/* The domain of an address or "@domain", or the value itself. */
static const char *domain_of(const char *v)
{
	const char *at = strrchr(v, '@');
	return at ? at + 1 : v;
}

/* A copy of value without RFC 5322 comments "(...)", which
 * Authentication-Results uses freely (RFC 8601 section 2.2). */
static char *without_comments(const char *value)
{
	GString *out = g_string_new(NULL);
	int depth = 0;
	for (const char *p = value; *p; p++) {
		if (*p == '\\' && depth > 0 && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0)
			g_string_append_c(out, *p == '\t' || *p == '\r' || *p == '\n' ? ' ' : *p);
	}
	return g_string_free(out, FALSE);
}

/* One resinfo ("dkim=pass header.d=example.com header.s=x"): whether it is
 * a pass for domain. */
static gboolean resinfo_passes(const char *resinfo, const char *domain)
{
	g_auto(GStrv) words = g_strsplit_set(resinfo, " ", -1);
	gboolean dkim = FALSE, spf = FALSE;
	for (int i = 0; words[i] != NULL; i++) {
		const char *w = words[i];
		if (*w == '\0')
			continue;
		if (!dkim && !spf) {
			dkim = g_ascii_strcasecmp(w, "dkim=pass") == 0;
			spf = g_ascii_strcasecmp(w, "spf=pass") == 0;
			if (!dkim && !spf)
				return FALSE;
			continue;
		}
		const char *eq = strchr(w, '=');
		if (eq == NULL)
			continue;
		g_autofree char *property = g_ascii_strdown(w, eq - w);
		g_autofree char *v = g_strdup(eq + 1);
		g_strstrip(g_strdelimit(v, "\"", ' '));
		gboolean relevant =
		    dkim ? (strcmp(property, "header.d") == 0 || strcmp(property, "header.i") == 0)
		         : strcmp(property, "smtp.mailfrom") == 0;
		if (relevant && g_ascii_strcasecmp(domain_of(v), domain) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean value_passes(const char *value, const char *authserv_id, const char *domain,
                             gboolean *present_out)
{
	g_autofree char *clean = without_comments(value);
	g_auto(GStrv) parts = g_strsplit(clean, ";", MAX_RESULTS);
	if (parts[0] == NULL)
		return FALSE;
	g_strstrip(parts[0]);
	/* authserv-id [ CFWS authres-version ] */
	char *space = strchr(parts[0], ' ');
	if (space != NULL)
		*space = '\0';
	if (g_ascii_strcasecmp(parts[0], authserv_id) != 0)
		return FALSE;
	*present_out = TRUE;
	for (int i = 1; parts[i] != NULL; i++) {
		if (resinfo_passes(g_strstrip(parts[i]), domain))
			return TRUE;
	}
	return FALSE;
}

gboolean dk_agent_commands_authenticated(const GPtrArray *values, const char *authserv_id,
                                         const char *domain, gboolean *present_out)
{
	*present_out = FALSE;
	if (values == NULL || authserv_id == NULL || domain == NULL)
		return FALSE;
	gboolean pass = FALSE;
	for (guint i = 0; i < values->len && i < MAX_RESULTS; i++)
		pass |=
		    value_passes(g_ptr_array_index(values, i), authserv_id, domain, present_out);
	return pass;
}
