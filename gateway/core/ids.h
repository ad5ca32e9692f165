/* The identifiers docket puts into the mail it sends, and checks in the
 * mail that comes back: the subject token ("[docket #12]"), Message-IDs
 * that carry a MAC of their ticket number (so a reply naming one is trusted
 * even after a restore from backup), and signed reply addresses
 * ("support+12.3f9a0c1d2e@example.com"). MACs are HMAC-SHA256 with the
 * installation's secret, truncated, and compared in constant time.
 *
 * The secret and every random part of an identifier that leaves docket
 * come from the operating system's CSPRNG (getrandom(2)), never from
 * GLib's g_random_*: that generator is a Mersenne Twister whose state its
 * published outputs give away (GMime's MIME boundaries use it). */
#pragma once

#include "gateway/config.h"

G_BEGIN_DECLS

/* Fills buf with n bytes from the kernel's CSPRNG (getrandom(2)). It
 * cannot fail on a supported kernel; aborts if the kernel has none. */
void dk_ids_random(void *buf, gsize n);

/* n random bytes from dk_ids_random() as 2n lower-case hex digits. */
char *dk_ids_random_hex(gsize n);

/* A random (version 4) UUID from dk_ids_random(), RFC 9562 section 5.4. */
char *dk_ids_uuid(void);

/* "[prefix #ticket]". */
char *dk_ids_token(const char *prefix, gint64 ticket);

/* A new Message-ID (without brackets) for mail docket sends about ticket:
 * "docket.<ticket>.<random>.<mac>@domain", the random part 64 bits from
 * dk_ids_random(). */
char *dk_ids_message_id(GBytes *secret, gint64 ticket, const char *domain);

/* TRUE when message_id (without brackets) is one dk_ids_message_id made
 * with this secret; its ticket into ticket_out. */
gboolean dk_ids_message_id_ticket(GBytes *secret, const char *message_id, gint64 *ticket_out);

/* "local+<ticket>.<mac>@domain" for base "local@domain". */
char *dk_ids_reply_address(GBytes *secret, const char *base, gint64 ticket);

/* TRUE when address is base's signed reply address for some ticket with a
 * valid MAC; the ticket into ticket_out. Case-insensitive in the domain. */
gboolean dk_ids_reply_address_ticket(GBytes *secret, const char *base, const char *address,
                                     gint64 *ticket_out);

/* The envelope sender of outbox row id (VERP): "local+<id>.<mac>@domain"
 * for the bounce base local@domain, the MAC keyed by the secret. */
char *dk_ids_bounce_address(GBytes *secret, const char *base, gint64 id);

/* The outbox row a bounce address names when its MAC is valid (whatever
 * its local part and domain), else 0. */
gint64 dk_ids_bounce_id(GBytes *secret, const char *address);

/* The installation's secret: [threading] secret when set, else the file
 * data_dir/secret, created with 32 random bytes (mode 0600) on first use. */
GBytes *dk_ids_secret_load(const DkConfig *config, GError **error);

G_END_DECLS
