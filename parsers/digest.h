/* SHA-256 for the parsers and the store, on Nettle (which uses the CPU's
 * SHA instructions where it has them: four times GLib's GChecksum here, and
 * hashing every message and attachment is a large share of the parse). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct DkSha256 DkSha256;

DkSha256 *dk_sha256_new(void);
void dk_sha256_update(DkSha256 *sha, const void *data, gsize length);
/* Writes the digest as 64 lower-case hex digits and a NUL into hex_out. */
void dk_sha256_finish(DkSha256 *sha, char hex_out[65]);
void dk_sha256_free(DkSha256 *sha);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkSha256, dk_sha256_free)

/* The digest of one buffer, in hex. */
void dk_sha256_hex(const void *data, gsize length, char hex_out[65]);

G_END_DECLS
