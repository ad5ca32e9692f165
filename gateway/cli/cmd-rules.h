/* `docket rules`: check a Sieve script, or test it on one message. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* `docket rules check FILE` prints each error as FILE:LINE:COL: message and
 * returns 1 when there are errors, 0 when the script is valid.
 * `docket rules test SCRIPT FILE.eml [--json] [--envelope-from A]
 * [--envelope-to B]` prints the tests evaluated and the resulting actions
 * without touching any store. argv[0] is "rules". Returns an exit status. */
int dk_cmd_rules(int argc, char **argv);

G_END_DECLS
