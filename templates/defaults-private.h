/* The default notification templates compiled into docket: the table that
 * embed-defaults.cmake generates from templates/default/ at build time. */
#pragma once

typedef struct {
	const char *name;   /* the file name, e.g. "ack.txt"; NULL ends the table */
	const char *source; /* the file's contents, NUL-terminated */
} DkDefaultTemplate;

extern const DkDefaultTemplate dk_default_templates[];
