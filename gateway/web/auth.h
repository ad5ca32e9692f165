/* Who may do what: the users of the web desk and the API, their Argon2id
 * passwords, their API tokens and their browser sessions (store migration
 * 16: tables users, api_tokens, sessions).
 *
 * Roles, each allowing what the one before allows: read_only (reads
 * everything), agent (changes tickets: fields, replies, notes, time,
 * merges; retries the outbox), admin (also reprocesses the quarantine and
 * manages users). Tokens and session cookies are random 256-bit values;
 * the store keeps only their SHA-256, so a copy of the database logs no
 * one in. Sessions: a cookie "docket_session" (HttpOnly, SameSite=Strict,
 * Path=/, Secure unless the request came over plain HTTP: see
 * dk_web_request_is_https), valid [http] session_hours from its creation,
 * and a CSRF token per session that every form that writes must carry. */
#pragma once

#include "gateway/store/store.h"
#include "gateway/web/web.h"

G_BEGIN_DECLS

typedef enum {
	DK_USER_READ_ONLY,
	DK_USER_AGENT,
	DK_USER_ADMIN,
} DkUserRole;

/* "read_only", "agent", "admin"; NULL out of range. */
const char *dk_user_role_name(DkUserRole role);
/* FALSE for NULL or an unknown name. */
gboolean dk_user_role_parse(const char *name, DkUserRole *role_out);

typedef struct {
	gint64 id;
	char *name;         /* the login name: what events record as "by" */
	char *email;        /* the address replies are sent as, or NULL */
	char *display_name; /* or NULL */
	DkUserRole role;
	gboolean disabled;
	gint64 created_at;
} DkUser;

void dk_user_free(DkUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkUser, dk_user_free)

/* TRUE when user has at least role. */
gboolean dk_user_can(const DkUser *user, DkUserRole role);

/* dk_user_can(), or FALSE and DK_WEB_ERROR_FORBIDDEN ("NAME is read_only:
 * this needs agent"). user NULL: DK_WEB_ERROR_UNAUTHORIZED. */
gboolean dk_user_require(const DkUser *user, DkUserRole role, GError **error);

/* Users in the store (`docket user`). Writes inside a transaction. */

/* Adds a user (no password yet: cannot log in); DK_ERROR_PERMANENT when
 * the name is taken or not [a-z0-9._-]{1,64}. Its id into id_out (may be
 * NULL). */
gboolean dk_auth_user_add(DkStore *store, const char *name, DkUserRole role, const char *email,
                          const char *display_name, gint64 now, gint64 *id_out, GError **error);
/* Sets the password (hashed with Argon2id, a fresh salt); refuses one
 * under 8 characters (DK_ERROR_PERMANENT). Ends the user's sessions. */
gboolean dk_auth_password_set(DkStore *store, const char *name, const char *password,
                              GError **error);
/* Changes role, or disables (ends its sessions, revokes nothing else) /
 * enables a user. DK_ERROR_NOT_FOUND for an unknown name. */
gboolean dk_auth_user_set_role(DkStore *store, const char *name, DkUserRole role, GError **error);
gboolean dk_auth_user_set_disabled(DkStore *store, const char *name, gboolean disabled,
                                   GError **error);
/* The user named name, or with id; DK_ERROR_NOT_FOUND when none. */
DkUser *dk_auth_user_get(DkStore *store, const char *name, GError **error);
DkUser *dk_auth_user_get_id(DkStore *store, gint64 id, GError **error);
/* Of DkUser*, by name. */
GPtrArray *dk_auth_user_list(DkStore *store, GError **error);

/* Log-in by name and password: the user, or NULL and
 * DK_WEB_ERROR_UNAUTHORIZED for an unknown name, a wrong password, a user
 * without a password or disabled (one message for all: "wrong name or
 * password"). Costs one Argon2 computation even for an unknown name. */
DkUser *dk_auth_login(DkStore *store, const char *name, const char *password, GError **error);

/* A new API token for user name, labelled label (may be NULL): the
 * token's text ("dkt_" and 43 characters) into token_out, shown once;
 * its id into id_out (may be NULL). Inside a transaction. */
gboolean dk_auth_token_create(DkStore *store, const char *name, const char *label, gint64 now,
                              char **token_out, gint64 *id_out, GError **error);
/* Revokes token id; DK_ERROR_NOT_FOUND when none. */
gboolean dk_auth_token_revoke(DkStore *store, gint64 id, GError **error);
/* The user a token belongs to (enabled), or NULL and
 * DK_WEB_ERROR_UNAUTHORIZED for a token unknown, revoked or of a disabled
 * user. */
DkUser *dk_auth_token_user(DkStore *store, const char *token, GError **error);

/* A fresh secret: prefix and 32 random bytes in unpadded base64url. */
char *dk_auth_random_token(const char *prefix);
/* The hex SHA-256 of a secret: what the store keeps of it. */
char *dk_auth_digest(const char *secret);

/* A browser session. */
typedef struct {
	char *cookie; /* the cookie's value (only at creation; NULL on look-up) */
	char *csrf;   /* the token forms carry (hidden field "csrf", or the
	               * X-CSRF-Token header) */
	gint64 expires_at;
} DkSession;

void dk_session_free(DkSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkSession, dk_session_free)

/* Starts a session for user (after dk_auth_login) and sets its cookie on
 * msg's response (Set-Cookie). Returns the session (its csrf for the next
 * page), or NULL and an error. */
DkSession *dk_session_start(DkWeb *web, SoupServerMessage *msg, const DkUser *user, GError **error);

/* The user of msg's session cookie, and the session into session_out (may
 * be NULL); NULL and DK_WEB_ERROR_UNAUTHORIZED when msg has no valid
 * session (none, unknown, expired, user disabled). */
DkUser *dk_session_user(DkWeb *web, SoupServerMessage *msg, DkSession **session_out,
                        GError **error);

/* TRUE when token is session's CSRF token (compared in constant time);
 * else FALSE and DK_WEB_ERROR_CSRF. */
gboolean dk_session_check_csrf(const DkSession *session, const char *token, GError **error);

/* Ends msg's session (log-out) and clears the cookie on the response.
 * No session is no error. */
gboolean dk_session_end(DkWeb *web, SoupServerMessage *msg, GError **error);

/* The user of a request to the API: "Authorization: Bearer TOKEN", else
 * a session cookie (then, for a method other than GET and HEAD, an
 * X-CSRF-Token header matching the session). NULL and
 * DK_WEB_ERROR_UNAUTHORIZED (or _CSRF) otherwise. */
DkUser *dk_auth_request_user(DkWeb *web, SoupServerMessage *msg, GError **error);

G_END_DECLS
