/* docket: the program's entry. Dispatches to the subcommands in cli/. */
#include "gateway/cli/cli.h"

int main(int argc, char **argv)
{
#ifdef DOCKET_STATIC_GLIB
	/* With GLib linked in statically, a GIO extension module (which links
	 * the shared GLib) must never be loaded: two GLibs in one process
	 * break. docket uses no GIO extension point. */
	g_setenv("GIO_MODULE_DIR", "/nonexistent", TRUE);
	g_setenv("GIO_USE_VFS", "local", TRUE);
#endif
	return dk_cli_main(argc, argv);
}
