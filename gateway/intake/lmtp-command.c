/* Parses LMTP command lines. Lenient where Postfix and Dovecot are (a
 * space after "FROM:", a path without brackets), strict where it matters
 * (NUL bytes, unknown parameters, malformed sizes). */
#include "gateway/intake/lmtp-command.h"

#include <string.h>

typedef struct {
	const char *name;
	DkLmtpVerb verb;
} Verb;

static const Verb verbs[] = {
    {"LHLO", DK_LMTP_LHLO}, {"HELO", DK_LMTP_HELO}, {"EHLO", DK_LMTP_HELO}, {"MAIL", DK_LMTP_MAIL},
    {"RCPT", DK_LMTP_RCPT}, {"DATA", DK_LMTP_DATA}, {"RSET", DK_LMTP_RSET}, {"NOOP", DK_LMTP_NOOP},
    {"QUIT", DK_LMTP_QUIT}, {"VRFY", DK_LMTP_VRFY},
};

static gboolean fail(char **reply_out, const char *reply)
{
	*reply_out = g_strdup(reply);
	return FALSE;
}

/* Splits "<path> params" after "FROM:"/"TO:"; the path may lack brackets. */
static gboolean parse_path(const char *s, char **address_out, const char **rest_out)
{
	while (*s == ' ')
		s++;
	const char *end;
	if (*s == '<') {
		end = strchr(s, '>');
		if (end == NULL)
			return FALSE;
		*address_out = g_strndup(s + 1, (gsize)(end - s - 1));
		end++;
	} else {
		end = s + strcspn(s, " ");
		if (end == s)
			return FALSE;
		*address_out = g_strndup(s, (gsize)(end - s));
	}
	/* A source route "@a,@b:user@host" (RFC 5321 section 4.1.2) is
	 * accepted and ignored. */
	char *colon = (*address_out)[0] == '@' ? strchr(*address_out, ':') : NULL;
	if (colon != NULL)
		memmove(*address_out, colon + 1, strlen(colon + 1) + 1);
	if (*end != '\0' && *end != ' ') {
		g_clear_pointer(address_out, g_free);
		return FALSE;
	}
	*rest_out = end;
	return TRUE;
}

static gboolean parse_mail_params(const char *rest, DkLmtpCommand *c, char **reply_out)
{
	g_auto(GStrv) params = g_strsplit(rest, " ", -1);
	for (int i = 0; params[i] != NULL; i++) {
		const char *p = params[i];
		if (*p == '\0')
			continue;
		if (g_ascii_strncasecmp(p, "SIZE=", 5) == 0) {
			guint64 size = 0;
			if (!g_ascii_string_to_unsigned(p + 5, 10, 0, G_MAXINT64, &size, NULL))
				return fail(reply_out, "501 5.5.4 Bad SIZE parameter");
			c->size = (gint64)size;
		} else if (g_ascii_strncasecmp(p, "BODY=", 5) == 0) {
			g_free(c->body);
			c->body = g_ascii_strup(p + 5, -1);
			if (strcmp(c->body, "7BIT") != 0 && strcmp(c->body, "8BITMIME") != 0)
				return fail(reply_out, "501 5.5.4 Unsupported BODY type");
		} else {
			return fail(reply_out, "555 5.5.4 Unsupported MAIL parameter");
		}
	}
	return TRUE;
}

static gboolean parse_path_command(const char *args, const char *keyword, DkLmtpCommand *c,
                                   char **reply_out)
{
	gsize kl = strlen(keyword);
	const char *syntax = c->verb == DK_LMTP_MAIL ? "501 5.5.4 Syntax: MAIL FROM:<address>"
	                                             : "501 5.5.4 Syntax: RCPT TO:<address>";
	if (g_ascii_strncasecmp(args, keyword, kl) != 0)
		return fail(reply_out, syntax);
	const char *rest = NULL;
	if (!parse_path(args + kl, &c->address, &rest))
		return fail(reply_out, syntax);
	if (c->verb == DK_LMTP_RCPT) {
		if (c->address[0] == '\0')
			return fail(reply_out, "501 5.1.3 Empty recipient address");
		while (*rest == ' ')
			rest++;
		if (*rest != '\0')
			return fail(reply_out, "555 5.5.4 Unsupported RCPT parameter");
		return TRUE;
	}
	return parse_mail_params(rest, c, reply_out);
}

gboolean dk_lmtp_command_parse(const char *line, gsize length, DkLmtpCommand *c, char **reply_out)
{
	memset(c, 0, sizeof *c);
	c->size = -1;
	*reply_out = NULL;
	if (memchr(line, '\0', length) != NULL)
		return fail(reply_out, "500 5.5.2 NUL byte in command");
	g_autofree char *text = g_strndup(line, length);
	g_strchomp(text);
	gsize vl = strcspn(text, " ");
	for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
		if (vl == 4 && g_ascii_strncasecmp(text, verbs[i].name, 4) == 0)
			c->verb = verbs[i].verb;
	}
	const char *args = text + vl;
	while (*args == ' ')
		args++;
	switch (c->verb) {
	case DK_LMTP_UNKNOWN:
		return fail(reply_out, "500 5.5.2 Unknown command");
	case DK_LMTP_LHLO:
		if (*args == '\0')
			return fail(reply_out, "501 5.5.4 Syntax: LHLO hostname");
		c->argument = g_strdup(args);
		return TRUE;
	case DK_LMTP_MAIL:
		return parse_path_command(args, "FROM:", c, reply_out);
	case DK_LMTP_RCPT:
		return parse_path_command(args, "TO:", c, reply_out);
	case DK_LMTP_DATA:
	case DK_LMTP_RSET:
	case DK_LMTP_QUIT:
		if (*args != '\0')
			return fail(reply_out, "501 5.5.4 No parameters allowed");
		return TRUE;
	case DK_LMTP_VRFY:
		if (*args == '\0')
			return fail(reply_out, "501 5.5.4 Syntax: VRFY address");
		/* fall through */
	case DK_LMTP_HELO:
	case DK_LMTP_NOOP:
		c->argument = *args ? g_strdup(args) : NULL;
		return TRUE;
	}
	return TRUE;
}

void dk_lmtp_command_clear(DkLmtpCommand *c)
{
	g_clear_pointer(&c->argument, g_free);
	g_clear_pointer(&c->address, g_free);
	g_clear_pointer(&c->body, g_free);
}
