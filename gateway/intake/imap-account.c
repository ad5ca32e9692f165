/* [imap:NAME] configuration to DkImapAccount, secrets included, and the
 * refresh token docket keeps for an XOAUTH2 account. */
#include "gateway/intake/imap-account.h"

#include "gateway/error.h"
#include "gateway/ops/secret-file.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define STORED_ORIGIN "replaces "

/* A string key, NULL when empty. */
static char *get_opt(const DkConfig *config, const char *section, const char *key)
{
	const char *v = dk_config_get_string(config, section, key);
	return (v != NULL && *v != '\0') ? g_strdup(v) : NULL;
}

/* The secret in key, or in the file named by key_file; NULL with *error
 * unset when neither is set. */
static char *get_secret(const DkConfig *config, const char *section, const char *key,
                        const char *key_file, GError **error)
{
	g_autofree char *path = get_opt(config, section, key_file);
	if (path == NULL)
		return get_opt(config, section, key);
	if (*dk_config_get_string(config, section, key) != '\0') {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "[%s]: set %s or %s, not both",
		            section, key, key_file);
		return NULL;
	}
	char *secret = dk_secret_file_read_line(path, error);
	if (secret == NULL)
		g_prefix_error(error, "[%s] %s: ", section, key_file);
	return secret;
}

static gboolean require(const char *value, const char *section, const char *what, GError **error)
{
	if (value != NULL)
		return TRUE;
	g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "[%s]: %s is not set", section, what);
	return FALSE;
}

char *dk_imap_oauth_token_path(const DkConfig *config, const char *name)
{
	g_autofree char *file = g_strconcat(name, ".refresh_token", NULL);
	return g_build_filename(dk_config_get_string(config, "store", "data_dir"), "oauth", file,
	                        NULL);
}

/* The refresh token to use: the stored one when it replaced what the
 * configuration holds now (or the configuration holds none), else the
 * configured one. */
static gboolean choose_refresh_token(DkImapAccount *a, char *configured, GError **error)
{
	a->oauth_token_origin =
	    configured ? g_compute_checksum_for_string(G_CHECKSUM_SHA256, configured, -1)
	               : g_strdup("none");
	a->oauth_refresh_token = configured;
	if (!g_file_test(a->oauth_token_path, G_FILE_TEST_EXISTS))
		return TRUE;
	g_autofree char *stored = dk_secret_file_read(a->oauth_token_path, error);
	if (stored == NULL)
		return FALSE;
	char *eol = strchr(stored, '\n');
	const char *origin = eol ? eol + 1 : "";
	if (eol != NULL)
		*eol = '\0';
	g_strstrip(stored);
	gboolean replaces = g_str_has_prefix(origin, STORED_ORIGIN) &&
	                    strncmp(origin + strlen(STORED_ORIGIN), a->oauth_token_origin,
	                            strlen(a->oauth_token_origin)) == 0;
	if (*stored != '\0' && (configured == NULL || replaces)) {
		if (configured != NULL)
			explicit_bzero(configured, strlen(configured));
		g_free(configured);
		a->oauth_refresh_token = g_strdup(stored);
	}
	explicit_bzero(stored, strlen(stored));
	return TRUE;
}

gboolean dk_imap_oauth_token_store(DkImapAccount *a, const char *token, GError **error)
{
	if (a->oauth_refresh_token != NULL)
		explicit_bzero(a->oauth_refresh_token, strlen(a->oauth_refresh_token));
	g_free(a->oauth_refresh_token);
	a->oauth_refresh_token = g_strdup(token);
	g_autofree char *dir = g_path_get_dirname(a->oauth_token_path);
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		int saved = errno;
		g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "cannot make %s: %s", dir,
		            g_strerror(saved));
		return FALSE;
	}
	g_autofree char *text =
	    g_strdup_printf("%s\n" STORED_ORIGIN "%s\n", token, a->oauth_token_origin);
	gboolean ok = dk_secret_file_write(a->oauth_token_path, text, error);
	explicit_bzero(text, strlen(text));
	return ok;
}

static gboolean read_oauth(DkImapAccount *a, const DkConfig *config, const char *section,
                           GError **error)
{
	GError *local = NULL;
	a->oauth_app =
	    strcmp(dk_config_get_string(config, section, "oauth_grant"), "client_credentials") == 0;
	a->oauth_token_url = get_opt(config, section, "oauth_token_url");
	a->oauth_device_url = get_opt(config, section, "oauth_device_url");
	a->oauth_scope = get_opt(config, section, "oauth_scope");
	a->oauth_client_id = get_opt(config, section, "oauth_client_id");
	a->oauth_token_path = dk_imap_oauth_token_path(config, a->name);
	a->oauth_client_secret =
	    get_secret(config, section, "oauth_client_secret", "oauth_client_secret_file", &local);
	char *configured = NULL;
	if (local == NULL && !a->oauth_app)
		configured = get_secret(config, section, "oauth_refresh_token",
		                        "oauth_refresh_token_file", &local);
	if (local != NULL)
		return g_propagate_error(error, local), FALSE;
	return (a->oauth_app || choose_refresh_token(a, configured, error)) &&
	       require(a->oauth_token_url, section, "oauth_token_url (auth = xoauth2)", error) &&
	       require(a->oauth_client_id, section, "oauth_client_id (auth = xoauth2)", error);
}

static gboolean read_credentials(DkImapAccount *a, const DkConfig *config, const char *section,
                                 GError **error)
{
	static const char *const auths[] = {"login", "plain", "xoauth2"};
	const char *auth = dk_config_get_string(config, section, "auth");
	for (guint i = 0; i < G_N_ELEMENTS(auths); i++)
		if (strcmp(auth, auths[i]) == 0)
			a->auth = (DkImapAuth)i;
	if (a->auth == DK_IMAP_AUTH_XOAUTH2)
		return read_oauth(a, config, section, error);
	GError *local = NULL;
	a->password = get_secret(config, section, "password", "password_file", &local);
	if (local != NULL)
		return g_propagate_error(error, local), FALSE;
	return require(a->password, section, "password (or password_file)", error);
}

static void read_behaviour(DkImapAccount *a, const DkConfig *config, const char *section)
{
	a->folders = dk_config_get_list(config, section, "folders");
	a->move = strcmp(dk_config_get_string(config, section, "after"), "move") == 0;
	a->processed_folder = g_strdup(dk_config_get_string(config, section, "processed_folder"));
	a->error_folder = g_strdup(dk_config_get_string(config, section, "error_folder"));
	a->poll_seconds = (guint)dk_config_get_int(config, section, "poll_seconds");
	a->idle = dk_config_get_bool(config, section, "idle");
	a->idle_renew_seconds = (guint)dk_config_get_int(config, section, "idle_renew_seconds");
	a->timeout_seconds = (guint)dk_config_get_int(config, section, "timeout_seconds");
	a->batch_size = (guint)dk_config_get_int(config, section, "batch_size");
}

DkImapAccount *dk_imap_account_new(const DkConfig *config, const char *name, GError **error)
{
	g_auto(GStrv) names = dk_config_get_instances(config, "imap");
	if (!g_strv_contains((const char *const *)names, name)) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG,
		            "no [imap:%s] section in the configuration", name);
		return NULL;
	}
	g_autofree char *section = g_strconcat("imap:", name, NULL);
	g_autoptr(DkImapAccount) a = g_new0(DkImapAccount, 1);
	a->name = g_strdup(name);
	a->host = get_opt(config, section, "host");
	a->user = get_opt(config, section, "user");
	a->ca_file = get_opt(config, section, "ca_file");
	const char *tls = dk_config_get_string(config, section, "tls");
	a->tls = strcmp(tls, "imaps") == 0      ? DK_IMAP_TLS_IMAPS
	         : strcmp(tls, "starttls") == 0 ? DK_IMAP_TLS_STARTTLS
	                                        : DK_IMAP_TLS_NONE;
	gint64 port = dk_config_get_int(config, section, "port");
	a->port = (guint16)(port != 0 ? port : a->tls == DK_IMAP_TLS_IMAPS ? 993 : 143);
	read_behaviour(a, config, section);
	if (!require(a->host, section, "host", error) ||
	    !require(a->user, section, "user", error) ||
	    !read_credentials(a, config, section, error))
		return NULL;
	if (a->folders[0] == NULL) {
		g_set_error(error, DK_ERROR, DK_ERROR_CONFIG, "[%s]: folders is empty", section);
		return NULL;
	}
	return g_steal_pointer(&a);
}

static void free_secret(char *secret)
{
	if (secret != NULL)
		explicit_bzero(secret, strlen(secret));
	g_free(secret);
}

void dk_imap_account_free(DkImapAccount *a)
{
	if (a == NULL)
		return;
	g_free(a->name);
	g_free(a->host);
	g_free(a->ca_file);
	g_free(a->user);
	free_secret(a->password);
	g_free(a->oauth_token_url);
	g_free(a->oauth_device_url);
	g_free(a->oauth_scope);
	g_free(a->oauth_client_id);
	free_secret(a->oauth_client_secret);
	free_secret(a->oauth_refresh_token);
	g_free(a->oauth_token_origin);
	g_free(a->oauth_token_path);
	g_strfreev(a->folders);
	g_free(a->processed_folder);
	g_free(a->error_folder);
	g_free(a);
}
