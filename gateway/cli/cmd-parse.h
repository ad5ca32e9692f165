/* `docket parse FILE.eml [--json]`: how docket reads one message. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Parses the file named in argv (argv[0] is "parse") and prints the
 * normalised message: as JSON with --json (the keys are documented in
 * README.md and stable), else as readable text. Returns a DK_EXIT_*
 * status: OK, USAGE for bad arguments, DATAERR when the file is not a
 * readable message (the reason on stderr). */
int dk_cmd_parse(int argc, char **argv);

G_END_DECLS
