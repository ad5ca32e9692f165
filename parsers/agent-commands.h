/* Commands an agent writes on the first lines of a reply ("#status
 * resolved", "#priority high", "#assign bob@example.com", "#tag vip",
 * "#internal"). Whether the agent is who the From says is decided
 * elsewhere (parsers/authres.h, the gateway's policy).
 *
 * Pure functions; whether the commands apply (the sender is a verified
 * agent) is the gateway's decision. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	DK_AGENT_STATUS,   /* new|open|in_progress|waiting|on_hold|resolved|closed */
	DK_AGENT_PRIORITY, /* critical|high|medium|low|none */
	DK_AGENT_ASSIGN,   /* an address, lower-cased */
	DK_AGENT_TAG,      /* letters, digits, "-", "_", "."; lower-cased; up to 64 bytes */
	DK_AGENT_INTERNAL, /* no value: the reply is an internal note */
} DkAgentCommandKind;

typedef struct {
	DkAgentCommandKind kind;
	char *value; /* NULL for #internal */
} DkAgentCommand;

typedef struct {
	GPtrArray *commands; /* of DkAgentCommand*, in order */
	GPtrArray *errors;   /* of char*: "#priority urgent: unknown priority" */
	gboolean internal;   /* #internal was among them */
	char *text;          /* the text after the command lines */
} DkAgentCommands;

/* Reads the commands at the start of text (the new text of a reply): blank
 * lines, then lines "#name value" (a ":" after the name allowed), up to 32
 * of them; the first line that is not a known command ends the block, so
 * "#1 is broken" is text. A known command with a bad value goes to errors
 * and its line is dropped too. Never NULL; free with
 * dk_agent_commands_free(). */
DkAgentCommands *dk_agent_commands_parse(const char *text);

/* "status", "priority", "assign", "tag", "internal". */
const char *dk_agent_command_name(DkAgentCommandKind kind);

void dk_agent_commands_free(DkAgentCommands *commands);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkAgentCommands, dk_agent_commands_free)

G_END_DECLS
