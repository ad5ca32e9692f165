/* `docket template render FILE DATA.json [--partials DIR]`: previews a
 * notification or Mustache template against JSON data. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs the template command; ARGV[0] is "template", ARGV[1] the subcommand.
 * Prints the rendered output on stdout and returns the exit status: 0, 64
 * (usage), 65 (a bad template or bad data, reported as FILE:LINE:COLUMN),
 * 66 (a file that cannot be read). */
int dk_cmd_template(int argc, char **argv);

G_END_DECLS
