/* The one log writer: every GLib log message of the program goes through
 * it, as "docket[pid]: LEVEL message" on stderr, or to syslog. */
#pragma once

#include "gateway/config.h"

G_BEGIN_DECLS

/* Installs the writer with [log] level and syslog. Call once, early. */
void dk_log_init(const DkConfig *config);

/* The same for a command whose stderr belongs to its caller (`docket
 * deliver`, an MTA's pipe): lines go to syslog with [log] syslog = true,
 * and nowhere otherwise. */
void dk_log_init_quiet(const DkConfig *config);

G_END_DECLS
