/* docket: the program's entry. Dispatches to the subcommands in cli/.
 *
 * This binary carries no network library: `docket deliver` runs once per
 * message as an MTA pipe, and loading libcurl, libetpan and GnuTLS (with
 * their dozens of dependencies) would cost more than filing the message.
 * The commands that need them (serve, poll, outbox), and every command
 * on a PostgreSQL store (libpq), execute docket-net, installed beside
 * this binary, with the same arguments. */
#include "gateway/cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static char **original_argv;
/* GIO's settings as docket found them: docket-net, which links the
 * shared GLib and loads GIO's TLS module, gets them back. */
static char *original_gio_module_dir, *original_gio_use_vfs;

static void restore_env(const char *name, const char *value)
{
	if (value != NULL)
		g_setenv(name, value, TRUE);
	else
		g_unsetenv(name);
}

static int exec_net(const char *command, int argc, char **argv)
{
	g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = self ? g_path_get_dirname(self) : g_strdup(".");
	g_autofree char *net = g_build_filename(dir, "docket-net", NULL);
	restore_env("GIO_MODULE_DIR", original_gio_module_dir);
	restore_env("GIO_USE_VFS", original_gio_use_vfs);
	execv(net, original_argv);
	dk_cli_error("%s: cannot run %s: %s", command, net, g_strerror(errno));
	return DK_EXIT_SOFTWARE;
}

int main(int argc, char **argv)
{
	original_gio_module_dir = g_strdup(g_getenv("GIO_MODULE_DIR"));
	original_gio_use_vfs = g_strdup(g_getenv("GIO_USE_VFS"));
#ifdef DOCKET_STATIC_GLIB
	/* With GLib linked in statically, a GIO extension module (which links
	 * the shared GLib) must never be loaded: two GLibs in one process
	 * break. docket uses no GIO extension point. */
	g_setenv("GIO_MODULE_DIR", "/nonexistent", TRUE);
	g_setenv("GIO_USE_VFS", "local", TRUE);
#endif
	/* a copy: a command parses its options out of argv before it may be
	 * run again as docket-net (a PostgreSQL store, dk_cli_load_config) */
	original_argv = g_strdupv(argv);
	return dk_cli_main(argc, argv, exec_net);
}
