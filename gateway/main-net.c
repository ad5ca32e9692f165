/* docket-net: the whole program, network commands included. `docket`
 * executes it for serve, poll and outbox; it runs every command itself. */
#include "gateway/cli/cli.h"

int main(int argc, char **argv)
{
#ifdef DOCKET_STATIC_GLIB
	g_setenv("GIO_MODULE_DIR", "/nonexistent", TRUE);
	g_setenv("GIO_USE_VFS", "local", TRUE);
#endif
	return dk_cli_main(argc, argv, dk_cli_net_run);
}
