/* OAuth 2.0 for IMAP XOAUTH2: exchanges the account's refresh token for an
 * access token at the provider's token endpoint (RFC 6749 section 6), with
 * libcurl. */
#pragma once

#include "gateway/intake/imap-account.h"

G_BEGIN_DECLS

/* A fresh access token for account. Errors in DK_ERROR: temporary when the
 * endpoint cannot be reached or answers 5xx, permanent when it refuses the
 * refresh token or client (4xx, with its error and error_description).
 * The caller frees the token. */
char *dk_imap_oauth_access_token(const DkImapAccount *account, GError **error);

G_END_DECLS
