/* OAuth 2.0 for IMAP XOAUTH2, with libcurl: access tokens from the
 * provider's token endpoint, by the account's refresh token (RFC 6749
 * section 6; a refresh token the provider rotates is kept, see
 * imap-account.h) or, for an application's own access (Microsoft 365
 * app-only), by the client-credentials grant (section 4.4); and the first
 * refresh token by the device authorization grant (RFC 8628). */
#pragma once

#include "gateway/intake/imap-account.h"

G_BEGIN_DECLS

/* A fresh access token for account. Errors in DK_ERROR: temporary when the
 * endpoint cannot be reached or answers 5xx (or 429), permanent when it
 * refuses the refresh token or client (4xx, with its error and
 * error_description), DK_ERROR_CONFIG when the account has no refresh
 * token yet. When the answer carries a new refresh token, it replaces the
 * account's and is stored (a failure to store it is logged). The caller
 * frees the token. */
char *dk_imap_oauth_access_token(DkImapAccount *account, GError **error);

/* What the device authorization endpoint asks the user to do. */
typedef struct {
	const char *verification_uri;
	const char *verification_uri_complete; /* may be NULL */
	const char *user_code;
	gint64 expires_in; /* seconds */
} DkImapOAuthPrompt;

/* Tells the user what to do (called once, before the wait). */
typedef void (*DkImapOAuthPromptFunc)(const DkImapOAuthPrompt *prompt, gpointer data);

/* The device authorization grant (RFC 8628): asks account's
 * oauth_device_url for a code (with client_id and oauth_scope), shows it
 * through prompt, polls the token endpoint at the interval the provider
 * sets until the user has approved (or the code expires, or the user
 * declines), and stores the refresh token it receives
 * (dk_imap_oauth_token_store()). DK_ERROR_CONFIG without
 * oauth_device_url; DK_ERROR_PERMANENT when the user declines, the code
 * expires or no refresh token comes (with what to add to oauth_scope);
 * DK_ERROR_TEMPORARY for the network and 5xx. */
gboolean dk_imap_oauth_authorize(DkImapAccount *account, DkImapOAuthPromptFunc prompt,
                                 gpointer data, GError **error);

G_END_DECLS
