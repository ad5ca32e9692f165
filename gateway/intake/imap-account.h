/* One [imap:NAME] section of docket.conf as an account: where the server
 * is, how to reach it safely, how to log in, which folders to work and
 * what to do with a message once it is stored. The configuration's
 * validator has checked the section (config-rules.c); secrets named by a
 * file are read here, and a file other users can read is refused.
 *
 * XOAUTH2's refresh token: the one written in the section (or its file),
 * unless docket holds a newer one in data_dir/oauth/NAME.refresh_token
 * (mode 0600): the one `docket imap authorize NAME` obtained, or the one
 * the provider rotated to. That file records which configured token it
 * replaced, so writing a different token into the configuration wins
 * over it. */
#pragma once

#include "gateway/config.h"

G_BEGIN_DECLS

typedef enum {
	DK_IMAP_TLS_IMAPS,    /* implicit TLS (RFC 8314), port 993 */
	DK_IMAP_TLS_STARTTLS, /* RFC 3501 section 6.2.1, port 143 */
	DK_IMAP_TLS_NONE,     /* plain text: only with tls = insecure-plain */
} DkImapTls;

typedef enum {
	DK_IMAP_AUTH_LOGIN,   /* the LOGIN command (RFC 3501 section 6.2.3) */
	DK_IMAP_AUTH_PLAIN,   /* AUTHENTICATE PLAIN (RFC 4616) */
	DK_IMAP_AUTH_XOAUTH2, /* AUTHENTICATE XOAUTH2 with a refreshed access token */
} DkImapAuth;

typedef struct {
	char *name; /* the NAME of [imap:NAME] */
	char *host;
	guint16 port;
	DkImapTls tls;
	char *ca_file; /* NULL: the system trust store */
	char *user;
	DkImapAuth auth;
	char *password;     /* LOGIN and PLAIN; NULL for XOAUTH2 */
	gboolean oauth_app; /* oauth_grant = client_credentials */
	char *oauth_token_url;
	char *oauth_device_url; /* RFC 8628 device authorization; may be NULL */
	char *oauth_scope;      /* may be NULL */
	char *oauth_client_id;
	char *oauth_client_secret; /* may be NULL (public clients) */
	char *oauth_refresh_token; /* the current one; NULL before authorize */
	char *oauth_token_origin;  /* SHA-256 of the configured token, or "none" */
	char *oauth_token_path;    /* data_dir/oauth/NAME.refresh_token */
	char **folders;
	gboolean move; /* after = move; FALSE: after = flag (set \Seen) */
	char *processed_folder;
	char *error_folder;
	guint poll_seconds;
	gboolean idle;
	guint idle_renew_seconds;
	guint timeout_seconds;
	guint batch_size;
} DkImapAccount;

/* The account of section [imap:name]. DK_ERROR_CONFIG naming the section
 * and the key for a missing host, user or secret, a secret file that cannot
 * be read or that group or others may read. The caller frees the result. */
DkImapAccount *dk_imap_account_new(const DkConfig *config, const char *name, GError **error);
void dk_imap_account_free(DkImapAccount *account);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkImapAccount, dk_imap_account_free)

/* Where docket keeps the refresh token of account name. The caller frees
 * it. */
char *dk_imap_oauth_token_path(const DkConfig *config, const char *name);

/* Makes token account's refresh token and keeps it in
 * account->oauth_token_path (mode 0600, its folder 0700), recording the
 * configured token it replaces. DK_ERROR_TEMPORARY when the file cannot
 * be written (the token is still used until the process ends). */
gboolean dk_imap_oauth_token_store(DkImapAccount *account, const char *token, GError **error);

G_END_DECLS
