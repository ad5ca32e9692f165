/* SHA-256 on Nettle. */
#include "parsers/digest.h"

#include <nettle/sha2.h>

struct DkSha256 {
	struct sha256_ctx ctx;
};

DkSha256 *dk_sha256_new(void)
{
	DkSha256 *sha = g_new(DkSha256, 1);
	sha256_init(&sha->ctx);
	return sha;
}

void dk_sha256_update(DkSha256 *sha, const void *data, gsize length)
{
	sha256_update(&sha->ctx, length, data);
}

void dk_sha256_finish(DkSha256 *sha, char hex_out[65])
{
	static const char digits[] = "0123456789abcdef";
	guint8 digest[SHA256_DIGEST_SIZE];
	sha256_digest(&sha->ctx, sizeof digest, digest);
	for (gsize i = 0; i < sizeof digest; i++) {
		hex_out[2 * i] = digits[digest[i] >> 4];
		hex_out[2 * i + 1] = digits[digest[i] & 15];
	}
	hex_out[64] = '\0';
}

void dk_sha256_free(DkSha256 *sha)
{
	g_free(sha);
}

void dk_sha256_hex(const void *data, gsize length, char hex_out[65])
{
	DkSha256 sha;
	sha256_init(&sha.ctx);
	sha256_update(&sha.ctx, length, data);
	dk_sha256_finish(&sha, hex_out);
}
