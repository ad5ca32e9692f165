/* The registry of Sieve plug-ins: every command and test docket knows, and
 * the extensions a script may require. */
#include "rules/sieve-private.h"

// clang-format off
#define DEFS(X) \
	X(cmd_if) \
	X(cmd_elsif) \
	X(cmd_else) \
	X(cmd_stop) \
	X(cmd_keep) \
	X(cmd_discard) \
	X(cmd_fileinto) \
	X(cmd_redirect) \
	X(cmd_reject) \
	X(cmd_ereject) \
	X(cmd_setflag) \
	X(cmd_addflag) \
	X(cmd_removeflag) \
	X(cmd_set) \
	X(cmd_ticket_priority) \
	X(cmd_ticket_status) \
	X(cmd_ticket_assign) \
	X(cmd_ticket_organisation) \
	X(cmd_ticket_field) \
	X(cmd_ticket_correlate) \
	X(cmd_ticket_noack) \
	X(cmd_ticket_template) \
	X(tst_address) \
	X(tst_envelope) \
	X(tst_header) \
	X(tst_exists) \
	X(tst_size) \
	X(tst_allof) \
	X(tst_anyof) \
	X(tst_not) \
	X(tst_true) \
	X(tst_false) \
	X(tst_body) \
	X(tst_date) \
	X(tst_currentdate) \
	X(tst_string) \
	X(tst_hasflag) \
	X(tst_ticket_is_new) \
	X(tst_ticket_status) \
	X(tst_ticket_priority) \
	X(tst_ticket_queue) \
	X(tst_message_class) \
	X(tst_ticket_sla)
// clang-format on

#define DECLARE(n) extern const DkSieveDef dk_sieve_##n;
DEFS(DECLARE)
#undef DECLARE

#define ENTRY(n) &dk_sieve_##n,
const DkSieveDef *const dk_sieve_defs[] = {DEFS(ENTRY) NULL};
#undef ENTRY

const char *const dk_sieve_known_extensions[] = {
    "fileinto",
    "envelope",
    "reject",
    "ereject",
    "imap4flags",
    "variables",
    "regex",
    "body",
    "relational",
    "subaddress",
    "copy",
    "date",
    "comparator-i;octet",
    "comparator-i;ascii-casemap",
    "comparator-i;ascii-numeric",
    "vnd.docket.ticket",
    NULL,
};
