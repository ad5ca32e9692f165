/* docket-net: the whole program, network commands included, and the
 * PostgreSQL store. `docket` executes it for serve, poll and outbox, and
 * for every command on a PostgreSQL store; it runs every command itself. */
#include "gateway/cli/cli.h"
#include "gateway/store/store-pg.h"
#include "parsers/message.h"

int main(int argc, char **argv)
{
	/* Every docket-net command runs threads that use GMime: its types
	 * are registered here, before any of them starts. */
	dk_gmime_init();
	dk_store_pg_register(); /* [store] backend = postgresql */
	return dk_cli_main(argc, argv, dk_cli_net_run);
}
