/* The people of the web desk and the API in the store: users with their
 * role and password hash, API tokens and browser sessions (migration 16).
 * Tokens and session ids are kept as their SHA-256 only. The hashing and
 * the rules of who may do what are gateway/web/auth.c's; this is storage.
 * Writes inside a transaction. */
#pragma once

#include "gateway/store/store.h"

G_BEGIN_DECLS

typedef struct {
	gint64 id;
	char *name;
	char *role; /* "read_only", "agent" or "admin" (the schema checks it) */
	char *email;
	char *display_name;
	char *password_hash; /* an Argon2 encoded hash, or NULL: none set */
	gboolean disabled;
	gint64 created_at;
} DkUserRow;

void dk_user_row_free(DkUserRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkUserRow, dk_user_row_free)

/* Adds a user; DK_ERROR_PERMANENT when the name is taken. Its id into
 * id_out (may be NULL). */
gboolean dk_store_user_add(DkStore *store, const char *name, const char *role, const char *email,
                           const char *display_name, gint64 now, gint64 *id_out, GError **error);

/* The user by name, or by id; DK_ERROR_NOT_FOUND when none. */
DkUserRow *dk_store_user_get(DkStore *store, const char *name, GError **error);
DkUserRow *dk_store_user_get_id(DkStore *store, gint64 id, GError **error);
/* Of DkUserRow*, by name. */
GPtrArray *dk_store_user_list(DkStore *store, GError **error);

/* The columns dk_store_user_set() changes. */
typedef enum {
	DK_USER_COLUMN_PASSWORD_HASH,
	DK_USER_COLUMN_ROLE,
	DK_USER_COLUMN_DISABLED, /* "0" or "1" */
	DK_USER_COLUMN_EMAIL,
	DK_USER_COLUMN_DISPLAY_NAME,
} DkUserColumn;

/* Sets one column of user name; DK_ERROR_NOT_FOUND when none, and
 * DK_ERROR_PERMANENT for a value the schema refuses. */
gboolean dk_store_user_set(DkStore *store, const char *name, DkUserColumn column, const char *value,
                           GError **error);

/* An API token (its SHA-256, hex) of user; its id into id_out. */
gboolean dk_store_token_add(DkStore *store, gint64 user, const char *sha256, const char *label,
                            gint64 now, gint64 *id_out, GError **error);
/* The user of the unrevoked token with that SHA-256 into user_out;
 * *found_out FALSE when there is none. */
gboolean dk_store_token_find(DkStore *store, const char *sha256, gint64 *user_out,
                             gboolean *found_out, GError **error);
/* An API token as listed (never its secret). */
typedef struct {
	gint64 id;
	char *label; /* or NULL */
	gint64 created_at;
	gint64 revoked_at; /* 0 while active */
} DkTokenRow;

void dk_token_row_free(DkTokenRow *row);
/* Of DkTokenRow*: user's tokens, oldest first. */
GPtrArray *dk_store_tokens(DkStore *store, gint64 user, GError **error);

/* Revokes token id (at now); DK_ERROR_NOT_FOUND when none is active. */
gboolean dk_store_token_revoke(DkStore *store, gint64 id, gint64 now, GError **error);

/* A session (the SHA-256 of its cookie, hex) of user, with its CSRF
 * token, valid until expires_at. Forgets the expired ones as of now. */
gboolean dk_store_session_add(DkStore *store, const char *sha256, gint64 user, const char *csrf,
                              gint64 now, gint64 expires_at, GError **error);
/* The session with that SHA-256, valid at now: its user into user_out, a
 * copy of its CSRF token into csrf_out, its end into expires_out;
 * *found_out FALSE when none. */
gboolean dk_store_session_find(DkStore *store, const char *sha256, gint64 now, gint64 *user_out,
                               char **csrf_out, gint64 *expires_out, gboolean *found_out,
                               GError **error);
/* Ends one session, or every session of user (sha256 NULL). */
gboolean dk_store_session_remove(DkStore *store, const char *sha256, gint64 user, GError **error);

G_END_DECLS
