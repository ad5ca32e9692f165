/* Tokens, MAC'd Message-IDs and signed reply addresses. */
#include "gateway/core/ids.h"

#include "gateway/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define MESSAGE_ID_MAC_HEX 16 /* 64 bits */
#define REPLY_MAC_HEX 10      /* 40 bits: reply addresses should stay short */
#define BOUNCE_MAC_HEX 12     /* 48 bits */

void dk_ids_random(void *buf, gsize n)
{
	guint8 *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			g_error("getrandom: %s",
			        g_strerror(errno)); /* no CSPRNG: nothing is safe */
		p += got;
		n -= (gsize)got;
	}
}

char *dk_ids_random_hex(gsize n)
{
	g_autofree guint8 *bytes = g_malloc(n);
	dk_ids_random(bytes, n);
	GString *hex = g_string_sized_new(2 * n);
	for (gsize i = 0; i < n; i++)
		g_string_append_printf(hex, "%02x", bytes[i]);
	return g_string_free(hex, FALSE);
}

char *dk_ids_uuid(void)
{
	guint8 u[16];
	dk_ids_random(u, sizeof u);
	u[6] = (guint8)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (guint8)((u[8] & 0x3f) | 0x80); /* variant 10 */
	return g_strdup_printf(
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
	    u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
	    u[15]);
}

char *dk_ids_token(const char *prefix, gint64 ticket)
{
	return g_strdup_printf("[%s #%" G_GINT64_FORMAT "]", prefix, ticket);
}

/* Hex HMAC-SHA256 of "purpose:data", truncated to hex_length digits. */
static char *mac(GBytes *secret, const char *purpose, const char *data, gsize hex_length)
{
	gsize klen = 0;
	const guint8 *key = g_bytes_get_data(secret, &klen);
	g_autoptr(GHmac) h = g_hmac_new(G_CHECKSUM_SHA256, key, klen);
	g_hmac_update(h, (const guint8 *)purpose, -1);
	g_hmac_update(h, (const guint8 *)":", 1);
	g_hmac_update(h, (const guint8 *)data, -1);
	char *hex = g_strdup(g_hmac_get_string(h));
	hex[hex_length] = '\0';
	return hex;
}

/* Compares two equal-length strings without leaking where they differ. */
static gboolean equal_constant_time(const char *a, const char *b, gsize length)
{
	guint8 diff = 0;
	for (gsize i = 0; i < length; i++)
		diff |= (guint8)(g_ascii_tolower(a[i]) ^ g_ascii_tolower(b[i]));
	return diff == 0;
}

static gboolean parse_number(const char *s, gsize len, gint64 *out)
{
	if (len == 0 || len > 18)
		return FALSE;
	g_autofree char *text = g_strndup(s, len);
	guint64 n = 0;
	if (!g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &n, NULL))
		return FALSE;
	*out = (gint64)n;
	return TRUE;
}

char *dk_ids_message_id(GBytes *secret, gint64 ticket, const char *domain)
{
	g_autofree char *random = dk_ids_random_hex(8);
	g_autofree char *data = g_strdup_printf("%" G_GINT64_FORMAT ".%s", ticket, random);
	g_autofree char *m = mac(secret, "message-id", data, MESSAGE_ID_MAC_HEX);
	return g_strdup_printf("docket.%s.%s@%s", data, m, domain);
}

gboolean dk_ids_message_id_ticket(GBytes *secret, const char *message_id, gint64 *ticket_out)
{
	/* docket.<ticket>.<random16>.<mac16>@domain */
	if (!g_str_has_prefix(message_id, "docket."))
		return FALSE;
	const char *data = message_id + strlen("docket.");
	const char *dot1 = strchr(data, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	const char *at = dot2 ? strchr(dot2 + 1, '@') : NULL;
	if (at == NULL || (gsize)(at - dot2 - 1) != MESSAGE_ID_MAC_HEX ||
	    (gsize)(dot2 - dot1 - 1) != 16)
		return FALSE;
	gint64 ticket = 0;
	if (!parse_number(data, (gsize)(dot1 - data), &ticket))
		return FALSE;
	g_autofree char *signed_part = g_strndup(data, (gsize)(dot2 - data));
	g_autofree char *expected = mac(secret, "message-id", signed_part, MESSAGE_ID_MAC_HEX);
	if (!equal_constant_time(expected, dot2 + 1, MESSAGE_ID_MAC_HEX))
		return FALSE;
	*ticket_out = ticket;
	return TRUE;
}

/* "local+<number>.<mac>@domain" for base local@domain, the MAC of
 * purpose over the number. */
static char *signed_address(GBytes *secret, const char *base, const char *purpose, gint64 number,
                            gsize hex)
{
	const char *at = strrchr(base, '@');
	g_return_val_if_fail(at != NULL, NULL);
	g_autofree char *text = g_strdup_printf("%" G_GINT64_FORMAT, number);
	g_autofree char *m = mac(secret, purpose, text, hex);
	return g_strdup_printf("%.*s+%s.%s%s", (int)(at - base), base, text, m, at);
}

/* The number of "<number>.<mac>" (from text up to end) when its MAC of
 * purpose is valid, else 0. */
static gint64 signed_number(GBytes *secret, const char *purpose, const char *text, const char *end,
                            gsize hex)
{
	const char *dot = memchr(text, '.', (gsize)(end - text));
	gint64 number = 0;
	if (dot == NULL || (gsize)(end - dot - 1) != hex ||
	    !parse_number(text, (gsize)(dot - text), &number))
		return 0;
	g_autofree char *canonical = g_strdup_printf("%" G_GINT64_FORMAT, number);
	g_autofree char *expected = mac(secret, purpose, canonical, hex);
	return equal_constant_time(expected, dot + 1, hex) ? number : 0;
}

char *dk_ids_reply_address(GBytes *secret, const char *base, gint64 ticket)
{
	return signed_address(secret, base, "reply", ticket, REPLY_MAC_HEX);
}

gboolean dk_ids_reply_address_ticket(GBytes *secret, const char *base, const char *address,
                                     gint64 *ticket_out)
{
	const char *base_at = strrchr(base, '@');
	const char *at = strrchr(address, '@');
	if (base_at == NULL || at == NULL || g_ascii_strcasecmp(base_at, at) != 0)
		return FALSE;
	gsize local = (gsize)(base_at - base);
	if ((gsize)(at - address) <= local + 1 || g_ascii_strncasecmp(address, base, local) != 0 ||
	    address[local] != '+')
		return FALSE;
	gint64 ticket = signed_number(secret, "reply", address + local + 1, at, REPLY_MAC_HEX);
	if (ticket == 0)
		return FALSE;
	*ticket_out = ticket;
	return TRUE;
}

char *dk_ids_bounce_address(GBytes *secret, const char *base, gint64 id)
{
	return signed_address(secret, base, "bounce", id, BOUNCE_MAC_HEX);
}

gint64 dk_ids_bounce_id(GBytes *secret, const char *address)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	const char *plus = at ? g_strrstr_len(address, at - address, "+") : NULL;
	return plus ? signed_number(secret, "bounce", plus + 1, at, BOUNCE_MAC_HEX) : 0;
}

/* Creates data_dir/secret with fresh random bytes, atomically, so that two
 * processes starting at once agree on one secret. */
static gboolean create_secret(const char *path, GError **error)
{
	g_autofree char *tmp = g_strdup_printf("%s.%d", path, (int)getpid());
	int fd = g_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	guint8 key[32];
	dk_ids_random(key, sizeof key);
	gboolean ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
	close(fd);
	/* link() fails if another process won the race: then use theirs. */
	if (ok && link(tmp, path) != 0 && errno != EEXIST)
		ok = FALSE;
	g_unlink(tmp);
	if (ok)
		return TRUE;
fail:
	g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "creating %s: %s", path,
	            g_strerror(errno));
	return FALSE;
}

GBytes *dk_ids_secret_load(const DkConfig *config, GError **error)
{
	const char *configured = dk_config_get_string(config, "threading", "secret");
	if (*configured != '\0')
		return g_bytes_new(configured, strlen(configured));
	const char *dir = dk_config_get_string(config, "store", "data_dir");
	g_autofree char *path = g_build_filename(dir, "secret", NULL);
	if (!g_file_test(path, G_FILE_TEST_EXISTS) &&
	    (g_mkdir_with_parents(dir, 0750) != 0 || !create_secret(path, error)))
		return NULL;
	g_autofree char *contents = NULL;
	gsize length = 0;
	if (!g_file_get_contents(path, &contents, &length, error))
		return NULL;
	if (length < 16) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "%s is too short to be a secret",
		            path);
		return NULL;
	}
	return g_bytes_new_take(g_steal_pointer(&contents), length);
}
