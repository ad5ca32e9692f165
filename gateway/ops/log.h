/* The one log writer: every GLib log message of the program goes through
 * it, as "docket[pid]: LEVEL message" on stderr, or to syslog. */
#pragma once

#include "gateway/config.h"

G_BEGIN_DECLS

/* Installs the writer with [log] level and syslog. Call once, early. */
void dk_log_init(const DkConfig *config);

G_END_DECLS
