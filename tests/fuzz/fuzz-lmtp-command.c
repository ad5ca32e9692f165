/* libFuzzer target for the LMTP command parser (gateway/intake/
 * lmtp-command.c): each line of the input is one command line. A parse
 * either succeeds or gives a reply line of the form "5xx x.y.z ..." with no
 * line break in it (a line break would be reply injection). */
#include "gateway/intake/lmtp-command.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_one(const char *line, gsize length)
{
	DkLmtpCommand command = {0};
	char *reply = NULL;
	if (dk_lmtp_command_parse(line, length, &command, &reply)) {
		if (reply != NULL)
			__builtin_trap();
		if ((command.verb == DK_LMTP_MAIL || command.verb == DK_LMTP_RCPT) &&
		    command.address == NULL)
			__builtin_trap();
	} else {
		if (reply == NULL || strlen(reply) < 4 || (reply[0] != '4' && reply[0] != '5') ||
		    strpbrk(reply, "\r\n") != NULL)
			__builtin_trap();
	}
	dk_lmtp_command_clear(&command);
	g_free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly the bytes, so that an over-read shows in ASan. */
	const char *p = (const char *)data, *end = p + size;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		gsize n = (gsize)(stop - p);
		char *line = g_malloc(n + 1);
		memcpy(line, p, n);
		line[n] = '\0';
		parse_one(line, n);
		g_free(line);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return 0;
}
