/* The command line: one entry per subcommand, each in its own file. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit statuses from sysexits.h: what an MTA expects of a delivery agent. */
enum {
	DK_EXIT_OK = 0,
	DK_EXIT_USAGE = 64,    /* EX_USAGE */
	DK_EXIT_DATAERR = 65,  /* EX_DATAERR: input that can never be accepted */
	DK_EXIT_SOFTWARE = 70, /* EX_SOFTWARE */
	DK_EXIT_CONFIG = 78,   /* EX_CONFIG */
	DK_EXIT_TEMPFAIL = 75, /* EX_TEMPFAIL: try again later */
};

/* Runs the program; returns the exit status. */
int dk_cli_main(int argc, char **argv);

G_END_DECLS
