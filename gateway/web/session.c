/* Browser sessions (auth.h): a random cookie, its SHA-256 in the store
 * with the user and a CSRF token, and the look-up of the user of a
 * request, by session cookie or API token. */
#include "gateway/web/auth.h"

#include "gateway/error.h"
#include "gateway/store/store-users.h"

#include <string.h>

#define COOKIE_NAME "docket_session"

void dk_session_free(DkSession *session)
{
	if (session == NULL)
		return;
	g_free(session->cookie);
	g_free(session->csrf);
	g_free(session);
}

static gint64 now_seconds(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* Sets the cookie on msg's response: value for max_age seconds (0 and ""
 * clear it). RFC 6265 section 4.1; SameSite=Strict keeps it off requests
 * other sites start. */
static void set_cookie(DkWeb *web, SoupServerMessage *msg, const char *value, gint64 max_age)
{
	g_autofree char *header = g_strdup_printf(
	    COOKIE_NAME "=%s; Path=/; Max-Age=%" G_GINT64_FORMAT "; HttpOnly; SameSite=Strict%s",
	    value, max_age, dk_web_request_is_https(web, msg) ? "; Secure" : "");
	soup_message_headers_append(soup_server_message_get_response_headers(msg), "Set-Cookie",
	                            header);
}

/* Ends the transaction the caller began: commits what was written when
 * ok_so_far, else rolls it back. */
static gboolean transaction_end(DkStore *store, gboolean ok_so_far, GError **error)
{
	if (!ok_so_far) {
		dk_store_rollback(store);
		return FALSE;
	}
	return dk_store_commit(store, error);
}

DkSession *dk_session_start(DkWeb *web, SoupServerMessage *msg, const DkUser *user, GError **error)
{
	DkStore *store = dk_web_store(web);
	gint64 now = now_seconds();
	gint64 hours = dk_config_get_int(dk_web_config(web), "http", "session_hours");
	g_autoptr(DkSession) session = g_new0(DkSession, 1);
	session->cookie = dk_auth_random_token("");
	session->csrf = dk_auth_random_token("");
	session->expires_at = now + hours * 3600;
	g_autofree char *digest = dk_auth_digest(session->cookie);
	if (!dk_store_begin(store, error) ||
	    !transaction_end(store,
	                     dk_store_session_add(store, digest, user->id, session->csrf, now,
	                                          session->expires_at, error),
	                     error))
		return NULL;
	set_cookie(web, msg, session->cookie, hours * 3600);
	return g_steal_pointer(&session);
}

/* The value of msg's session cookie, or NULL. */
static char *cookie_value(SoupServerMessage *msg)
{
	const char *header =
	    soup_message_headers_get_list(soup_server_message_get_request_headers(msg), "Cookie");
	if (header == NULL)
		return NULL;
	/* RFC 6265 section 5.4: NAME=VALUE pairs separated by "; ". */
	g_autoptr(GHashTable) pairs = soup_header_parse_semi_param_list(header);
	const char *value = g_hash_table_lookup(pairs, COOKIE_NAME);
	return value != NULL && *value != '\0' ? g_strdup(value) : NULL;
}

static DkUser *no_session(GError **error)
{
	g_set_error(error, DK_WEB_ERROR, DK_WEB_ERROR_UNAUTHORIZED, "no session: log in (again)");
	return NULL;
}

DkUser *dk_session_user(DkWeb *web, SoupServerMessage *msg, DkSession **session_out, GError **error)
{
	g_autofree char *cookie = cookie_value(msg);
	if (cookie == NULL)
		return no_session(error);
	DkStore *store = dk_web_store(web);
	g_autofree char *digest = dk_auth_digest(cookie);
	g_autoptr(DkSession) session = g_new0(DkSession, 1);
	gint64 id = 0;
	gboolean found = FALSE;
	if (!dk_store_session_find(store, digest, now_seconds(), &id, &session->csrf,
	                           &session->expires_at, &found, error))
		return NULL;
	g_autoptr(DkUser) user = found ? dk_auth_user_get_id(store, id, NULL) : NULL;
	if (user == NULL || user->disabled)
		return no_session(error);
	if (session_out != NULL)
		*session_out = g_steal_pointer(&session);
	return g_steal_pointer(&user);
}

gboolean dk_session_check_csrf(const DkSession *session, const char *token, GError **error)
{
	/* Compared in time that does not depend on where they differ. */
	gsize a = strlen(session->csrf), b = token ? strlen(token) : 0;
	guint diff = a != b;
	for (gsize i = 0; i < a && i < b; i++)
		diff |= (guint)(session->csrf[i] ^ token[i]);
	if (token != NULL && diff == 0)
		return TRUE;
	g_set_error(error, DK_WEB_ERROR, DK_WEB_ERROR_CSRF,
	            "the form's CSRF token is missing or wrong: reload the page");
	return FALSE;
}

gboolean dk_session_end(DkWeb *web, SoupServerMessage *msg, GError **error)
{
	g_autofree char *cookie = cookie_value(msg);
	set_cookie(web, msg, "", 0);
	if (cookie == NULL)
		return TRUE;
	DkStore *store = dk_web_store(web);
	g_autofree char *digest = dk_auth_digest(cookie);
	return dk_store_begin(store, error) &&
	       transaction_end(store, dk_store_session_remove(store, digest, 0, error), error);
}

DkUser *dk_auth_request_user(DkWeb *web, SoupServerMessage *msg, GError **error)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	const char *auth = soup_message_headers_get_one(headers, "Authorization");
	if (auth != NULL) {
		if (g_ascii_strncasecmp(auth, "Bearer ", 7) != 0) {
			g_set_error(error, DK_WEB_ERROR, DK_WEB_ERROR_UNAUTHORIZED,
			            "Authorization: Bearer TOKEN expected");
			return NULL;
		}
		return dk_auth_token_user(dk_web_store(web), auth + 7, error);
	}
	g_autoptr(DkSession) session = NULL;
	g_autoptr(DkUser) user = dk_session_user(web, msg, &session, error);
	if (user == NULL)
		return NULL;
	const char *method = soup_server_message_get_method(msg);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    !dk_session_check_csrf(session, soup_message_headers_get_one(headers, "X-CSRF-Token"),
	                           error))
		return NULL;
	return g_steal_pointer(&user);
}
