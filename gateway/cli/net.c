/* docket-net's half of the command line: the commands that need libcurl,
 * libetpan, GnuTLS, libsoup and Argon2 (serve, poll, outbox, connector,
 * imap, user). */
#include "gateway/cli/cli.h"

#include <string.h>

int dk_cli_net_run(const char *command, int argc, char **argv)
{
	if (strcmp(command, "serve") == 0)
		return dk_cmd_serve(argc, argv);
	if (strcmp(command, "poll") == 0)
		return dk_cmd_poll(argc, argv);
	if (strcmp(command, "outbox") == 0)
		return dk_cmd_outbox(argc, argv);
	if (strcmp(command, "connector") == 0)
		return dk_cmd_connector(argc, argv);
	if (strcmp(command, "imap") == 0)
		return dk_cmd_imap(argc, argv);
	if (strcmp(command, "user") == 0)
		return dk_cmd_user(argc, argv);
	dk_cli_error("%s: not available in this build", command);
	return DK_EXIT_SOFTWARE;
}
