/* libFuzzer target for the agent commands (parsers/agent-commands.c): the
 * input is the new text of a reply; the first line also serves as an
 * Authentication-Results value list (split at NUL) for the RFC 8601 parser
 * and check (parsers/authres.c).
 * Invariants: at most 32 commands, values of the documented shape, the
 * remaining text never longer than the input. */
#include "parsers/agent-commands.h"
#include "parsers/authres.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const DkAgentCommands *c, gsize len)
{
	if (c == NULL || c->commands->len > 32 || strlen(c->text) > len)
		__builtin_trap();
	for (guint i = 0; i < c->commands->len; i++) {
		const DkAgentCommand *cmd = c->commands->pdata[i];
		if ((cmd->kind == DK_AGENT_INTERNAL) != (cmd->value == NULL))
			__builtin_trap();
		if (cmd->kind == DK_AGENT_TAG && strlen(cmd->value) > 64)
			__builtin_trap();
		if (dk_agent_command_name(cmd->kind) == NULL)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = g_utf8_make_valid((const char *)data, (gssize)size);
	g_autoptr(DkAgentCommands) c = dk_agent_commands_parse(text);
	check(c, strlen(text));
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		const char *stop = nul != NULL ? nul : end;
		g_ptr_array_add(values, g_strndup(p, (gsize)(stop - p)));
		p = stop + 1;
	}
	const char *method = NULL;
	DkAuthresVerdict v =
	    dk_authres_verify(values, "mx.example.org", "example.com", TRUE, &method);
	if ((v == DK_AUTHRES_PASS) != (method != NULL))
		__builtin_trap();
	for (guint i = 0; i < values->len; i++) {
		g_autoptr(DkAuthres) ar = dk_authres_parse(g_ptr_array_index(values, i), NULL);
		if (ar != NULL && ar->results->len > 64)
			__builtin_trap();
	}
	return 0;
}
