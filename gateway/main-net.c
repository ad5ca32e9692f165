/* docket-net: the whole program, network commands included. `docket`
 * executes it for serve, poll and outbox; it runs every command itself. */
#include "gateway/cli/cli.h"
#include "parsers/message.h"

int main(int argc, char **argv)
{
	/* Every docket-net command runs threads that use GMime: its types
	 * are registered here, before any of them starts. */
	dk_gmime_init();
	return dk_cli_main(argc, argv, dk_cli_net_run);
}
