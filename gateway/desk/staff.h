/* Who is support: docket's own addresses (where customers write, the
 * signed reply address's base, the From of its mail, the IMAP accounts)
 * and the agents ([agents] addresses and domains). Such addresses are
 * never a ticket's participants and never get a copy of a reply; the
 * threading reads the agents from here too. Read from the configuration
 * once; the queries are pure. */
#pragma once

#include "gateway/config.h"

G_BEGIN_DECLS

typedef struct DkStaff DkStaff;

/* Reads [lmtp] recipients, [threading] reply_address, [notify] from, the
 * user of every [imap:NAME] that is an address, and [agents]. */
DkStaff *dk_staff_new(const DkConfig *config);
void dk_staff_free(DkStaff *staff);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkStaff, dk_staff_free)

/* TRUE when address (any case, a "+detail" subaddress ignored, RFC 5233)
 * is one of docket's own; a "*@domain" entry of [lmtp] recipients covers
 * the domain. */
gboolean dk_staff_is_support_address(const DkStaff *staff, const char *address);

/* TRUE when address (any case) is an agent's: listed, or in an agent
 * domain. */
gboolean dk_staff_is_agent(const DkStaff *staff, const char *address);

/* The support mailbox a customer who wrote to address wrote to: address
 * in lower case without its subaddress, when that is listed in [lmtp]
 * recipients (or covered by a "*@domain" entry), an IMAP account's user
 * or [threading] reply_address; NULL otherwise. The caller frees it. */
char *dk_staff_support_mailbox(const DkStaff *staff, const char *address);

/* TRUE when address can go into a header and an SMTP envelope as it is:
 * local@domain of printable ASCII or UTF-8, at most 254 bytes, without
 * spaces, controls, brackets, quotes, commas or semicolons. Keeps values
 * out of headers they could break (header injection). */
gboolean dk_staff_address_ok(const char *address);

G_END_DECLS
