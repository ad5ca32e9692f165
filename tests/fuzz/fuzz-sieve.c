/* libFuzzer target for the Sieve engine: the input is a script; it goes
 * through the lexer, parser and validator, and a script that compiles runs
 * on a fixed message with every extension's input present. */
#include <stdint.h>
#include <string.h>

#include "rules/sieve.h"

static const char message_text[] = "Date: Tue, 10 Aug 2004 14:15:16 -0700\r\n"
                                   "From: \"Joe\" <joe+lists@example.com>\r\n"
                                   "To: Alice <alice@example.org>, bob@example.net\r\n"
                                   "Cc: undisclosed-recipients:;\r\n"
                                   "Subject: [acme-users] [fwd] version 1.0 is out\r\n"
                                   "List-ID: Acme <acme.lists.example.com>\r\n"
                                   "X-Priority: 2\r\n"
                                   "\r\n"
                                   "Hello, the server web01 is DOWN since 10:00.\r\n";

static DkMessage *fixed_message(void)
{
	static DkMessage *message;
	if (message == NULL) {
		GBytes *raw = g_bytes_new_static(message_text, sizeof(message_text) - 1);
		message = dk_message_parse(raw, NULL, NULL);
		g_bytes_unref(raw);
	}
	return message;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	DkSieveScript *script = dk_sieve_compile((const char *)data, (gssize)size, NULL, NULL);
	if (script == NULL)
		return 0;
	DkSieveTicket ticket = {.is_new = TRUE, .status = "open", .priority = "high", .queue = "q"};
	DkSieveInput input = {
	    .message = fixed_message(),
	    .size = sizeof(message_text) - 1,
	    .envelope_from = "sender@example.com",
	    .envelope_to = "support+billing@example.org",
	    .ticket = &ticket,
	    .now = 1577934245,
	};
	DkSieveResult *result = dk_sieve_execute(script, &input);
	dk_sieve_result_free(result);
	dk_sieve_script_free(script);
	return 0;
}
