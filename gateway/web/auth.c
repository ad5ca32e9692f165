/* Users, passwords and API tokens (auth.h): Argon2id hashes with a fresh
 * salt, 256-bit random tokens kept as their SHA-256. */
#include "gateway/web/auth.h"

#include "gateway/error.h"
#include "gateway/store/store-users.h"

#include <argon2.h>
#include <string.h>
#include <sys/random.h>

/* Argon2id with OWASP's smallest recommended memory: 19 MiB, 2 passes. */
#define HASH_T_COST 2
#define HASH_M_COST_KIB 19456
#define HASH_LANES 1
#define HASH_SALT_BYTES 16
#define HASH_BYTES 32
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024
#define NAME_MAX_LEN 64

static const char *const role_names[] = {
    [DK_USER_READ_ONLY] = "read_only",
    [DK_USER_AGENT] = "agent",
    [DK_USER_ADMIN] = "admin",
};

const char *dk_user_role_name(DkUserRole role)
{
	return (guint)role < G_N_ELEMENTS(role_names) ? role_names[role] : NULL;
}

gboolean dk_user_role_parse(const char *name, DkUserRole *role_out)
{
	for (guint i = 0; name != NULL && i < G_N_ELEMENTS(role_names); i++) {
		if (strcmp(name, role_names[i]) == 0) {
			*role_out = (DkUserRole)i;
			return TRUE;
		}
	}
	return FALSE;
}

void dk_user_free(DkUser *user)
{
	if (user == NULL)
		return;
	g_free(user->name);
	g_free(user->email);
	g_free(user->display_name);
	g_free(user);
}

gboolean dk_user_can(const DkUser *user, DkUserRole role)
{
	return user != NULL && !user->disabled && user->role >= role;
}

gboolean dk_user_require(const DkUser *user, DkUserRole role, GError **error)
{
	if (user == NULL) {
		g_set_error(error, DK_WEB_ERROR, DK_WEB_ERROR_UNAUTHORIZED, "log in first");
		return FALSE;
	}
	if (dk_user_can(user, role))
		return TRUE;
	g_set_error(error, DK_WEB_ERROR, DK_WEB_ERROR_FORBIDDEN, "%s is %s: this needs %s",
	            user->name, dk_user_role_name(user->role), dk_user_role_name(role));
	return FALSE;
}

static DkUser *user_from_row(const DkUserRow *row)
{
	DkUser *user = g_new0(DkUser, 1);
	user->id = row->id;
	user->name = g_strdup(row->name);
	user->email = g_strdup(row->email);
	user->display_name = g_strdup(row->display_name);
	user->disabled = row->disabled;
	user->created_at = row->created_at;
	if (!dk_user_role_parse(row->role, &user->role))
		user->role = DK_USER_READ_ONLY;
	return user;
}

static gboolean name_valid(const char *name)
{
	gsize len = strlen(name);
	if (len == 0 || len > NAME_MAX_LEN)
		return FALSE;
	for (const char *p = name; *p; p++)
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && !strchr("._-", *p))
			return FALSE;
	return TRUE;
}

gboolean dk_auth_user_add(DkStore *store, const char *name, DkUserRole role, const char *email,
                          const char *display_name, gint64 now, gint64 *id_out, GError **error)
{
	if (!name_valid(name)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "user name “%s”: 1 to 64 of a-z, 0-9, '.', '_', '-'", name);
		return FALSE;
	}
	if (email != NULL && (strchr(email, '@') == NULL || strpbrk(email, " <>\r\n,") != NULL)) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "“%s” is not an address", email);
		return FALSE;
	}
	return dk_store_user_add(store, name, dk_user_role_name(role), email, display_name, now,
	                         id_out, error);
}

static void random_bytes(guint8 *out, gsize len)
{
	gsize got = 0;
	while (got < len) {
		ssize_t n = getrandom(out + got, len - got, 0);
		if (n > 0)
			got += (gsize)n;
		else
			g_assert(errno == EINTR); /* getrandom cannot fail otherwise */
	}
}

/* The Argon2id encoded hash of password with a fresh salt. */
static char *hash_password(const char *password, GError **error)
{
	guint8 salt[HASH_SALT_BYTES];
	random_bytes(salt, sizeof salt);
	gsize len = argon2_encodedlen(HASH_T_COST, HASH_M_COST_KIB, HASH_LANES, sizeof salt,
	                              HASH_BYTES, Argon2_id);
	g_autofree char *encoded = g_malloc0(len);
	int rc =
	    argon2id_hash_encoded(HASH_T_COST, HASH_M_COST_KIB, HASH_LANES, password,
	                          strlen(password), salt, sizeof salt, HASH_BYTES, encoded, len);
	if (rc != ARGON2_OK) {
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "hashing the password: %s",
		            argon2_error_message(rc));
		return NULL;
	}
	return g_steal_pointer(&encoded);
}

gboolean dk_auth_password_set(DkStore *store, const char *name, const char *password,
                              GError **error)
{
	glong chars = g_utf8_validate(password, -1, NULL) ? g_utf8_strlen(password, -1) : -1;
	if (chars < PASSWORD_MIN || strlen(password) > PASSWORD_MAX) {
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT,
		            "a password has %d to %d characters of UTF-8", PASSWORD_MIN,
		            PASSWORD_MAX);
		return FALSE;
	}
	g_autoptr(DkUserRow) row = dk_store_user_get(store, name, error);
	g_autofree char *hash = row ? hash_password(password, error) : NULL;
	return hash != NULL &&
	       dk_store_user_set(store, name, DK_USER_COLUMN_PASSWORD_HASH, hash, error) &&
	       dk_store_session_remove(store, NULL, row->id, error);
}

gboolean dk_auth_user_set_role(DkStore *store, const char *name, DkUserRole role, GError **error)
{
	return dk_store_user_set(store, name, DK_USER_COLUMN_ROLE, dk_user_role_name(role), error);
}

gboolean dk_auth_user_set_disabled(DkStore *store, const char *name, gboolean disabled,
                                   GError **error)
{
	g_autoptr(DkUserRow) row = dk_store_user_get(store, name, error);
	return row != NULL &&
	       dk_store_user_set(store, name, DK_USER_COLUMN_DISABLED, disabled ? "1" : "0",
	                         error) &&
	       (!disabled || dk_store_session_remove(store, NULL, row->id, error));
}

DkUser *dk_auth_user_get(DkStore *store, const char *name, GError **error)
{
	g_autoptr(DkUserRow) row = dk_store_user_get(store, name, error);
	return row ? user_from_row(row) : NULL;
}

DkUser *dk_auth_user_get_id(DkStore *store, gint64 id, GError **error)
{
	g_autoptr(DkUserRow) row = dk_store_user_get_id(store, id, error);
	return row ? user_from_row(row) : NULL;
}

GPtrArray *dk_auth_user_list(DkStore *store, GError **error)
{
	g_autoptr(GPtrArray) rows = dk_store_user_list(store, error);
	if (rows == NULL)
		return NULL;
	GPtrArray *users = g_ptr_array_new_with_free_func((GDestroyNotify)dk_user_free);
	for (guint i = 0; i < rows->len; i++)
		g_ptr_array_add(users, user_from_row(g_ptr_array_index(rows, i)));
	return users;
}

static DkUser *unauthorized(GError **error)
{
	g_set_error(error, DK_WEB_ERROR, DK_WEB_ERROR_UNAUTHORIZED, "wrong name or password");
	return NULL;
}

DkUser *dk_auth_login(DkStore *store, const char *name, const char *password, GError **error)
{
	/* A hash to check against when there is none, so that an unknown
	 * name costs as long as a known one. */
	static char *decoy;
	g_autoptr(GError) local = NULL;
	if (decoy == NULL)
		decoy = hash_password("docket decoy password", NULL);
	g_autoptr(DkUserRow) row = dk_store_user_get(store, name, &local);
	if (row == NULL && !g_error_matches(local, DK_ERROR, DK_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	const char *hash = row && row->password_hash ? row->password_hash : decoy;
	gboolean match = hash != NULL && strlen(password) <= PASSWORD_MAX &&
	                 argon2id_verify(hash, password, strlen(password)) == ARGON2_OK;
	if (!match || row == NULL || row->password_hash == NULL || row->disabled)
		return unauthorized(error);
	return user_from_row(row);
}

/* "PREFIX" and 32 random bytes in unpadded base64url. */
char *dk_auth_random_token(const char *prefix)
{
	guint8 bytes[32];
	random_bytes(bytes, sizeof bytes);
	g_autofree char *b64 = g_base64_encode(bytes, sizeof bytes);
	g_strdelimit(b64, "+", '-');
	g_strdelimit(b64, "/", '_');
	char *end = strchr(b64, '=');
	if (end != NULL)
		*end = '\0';
	return g_strconcat(prefix, b64, NULL);
}

char *dk_auth_digest(const char *secret)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, secret, -1);
}

gboolean dk_auth_token_create(DkStore *store, const char *name, const char *label, gint64 now,
                              char **token_out, gint64 *id_out, GError **error)
{
	g_autoptr(DkUserRow) row = dk_store_user_get(store, name, error);
	if (row == NULL)
		return FALSE;
	g_autofree char *token = dk_auth_random_token("dkt_");
	g_autofree char *digest = dk_auth_digest(token);
	if (!dk_store_token_add(store, row->id, digest, label, now, id_out, error))
		return FALSE;
	*token_out = g_steal_pointer(&token);
	return TRUE;
}

gboolean dk_auth_token_revoke(DkStore *store, gint64 id, GError **error)
{
	return dk_store_token_revoke(store, id, g_get_real_time() / G_USEC_PER_SEC, error);
}

DkUser *dk_auth_token_user(DkStore *store, const char *token, GError **error)
{
	g_autofree char *digest = dk_auth_digest(token);
	gint64 id = 0;
	gboolean found = FALSE;
	if (!dk_store_token_find(store, digest, &id, &found, error))
		return NULL;
	g_autoptr(DkUser) user = found ? dk_auth_user_get_id(store, id, NULL) : NULL;
	if (user == NULL || user->disabled) {
		g_set_error(error, DK_WEB_ERROR, DK_WEB_ERROR_UNAUTHORIZED,
		            "the token is unknown, revoked or its user disabled");
		return NULL;
	}
	return g_steal_pointer(&user);
}
