/* LMTP command lines (RFC 2033, with the SMTP syntax of RFC 5321 section
 * 4.1): parsed into a verb and its arguments, or an error reply. Pure: no
 * I/O, so it can be tested and fuzzed on strings. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	DK_LMTP_UNKNOWN,
	DK_LMTP_LHLO,
	DK_LMTP_HELO, /* HELO and EHLO: refused, RFC 2033 section 4.1 */
	DK_LMTP_MAIL,
	DK_LMTP_RCPT,
	DK_LMTP_DATA,
	DK_LMTP_RSET,
	DK_LMTP_NOOP,
	DK_LMTP_QUIT,
	DK_LMTP_VRFY,
} DkLmtpVerb;

typedef struct {
	DkLmtpVerb verb;
	char *argument; /* LHLO's domain, VRFY's argument, NOOP's text; or NULL */
	char *address;  /* MAIL/RCPT: the path without brackets; "" for <> */
	gint64 size;    /* MAIL's SIZE= (RFC 1870), or -1 */
	char *body;     /* MAIL's BODY= (RFC 6152) upper-cased, or NULL */
} DkLmtpCommand;

/* Parses one command line (without its line end). On a syntax error returns
 * FALSE and sets *reply_out to the complete reply line to send, e.g.
 * "501 5.5.4 Syntax: MAIL FROM:<address>" (caller frees). */
gboolean dk_lmtp_command_parse(const char *line, gsize length, DkLmtpCommand *command_out,
                               char **reply_out);

void dk_lmtp_command_clear(DkLmtpCommand *command);

G_END_DECLS
