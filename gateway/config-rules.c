/* The validator's second half: the rules between keys (a section that
 * needs a key, keys that exclude each other, a setting that only works
 * with another), and the notes a valid configuration still deserves:
 * settings that weaken security and defaults that deliver nothing. */
#include "gateway/config-private.h"

#include "gateway/desk/sla-policy.h"
#include "gateway/intake/imap-account.h"

#include <string.h>

static gboolean set(const DkConfig *c, const char *section, const char *key)
{
	return *dk_config_get_string(c, section, key) != '\0';
}

static gboolean is(const DkConfig *c, const char *section, const char *key, const char *value)
{
	return strcmp(dk_config_get_string(c, section, key), value) == 0;
}

/* Exactly one of key and key_file, or neither when optional. */
static void one_of(const DkConfig *c, DkConfReport *r, const char *section, const char *key,
                   const char *key_file, gboolean optional)
{
	if (set(c, section, key) && set(c, section, key_file))
		dk_conf_report_key(r, section, key_file, "set %s or %s, not both", key, key_file);
	else if (!optional && !set(c, section, key) && !set(c, section, key_file))
		dk_conf_report_key(r, section, NULL, "%s (or %s) is not set", key, key_file);
}

static void check_store(const DkConfig *c, DkConfReport *r)
{
	const char *dir = dk_config_get_string(c, "store", "data_dir");
	if (*dir == '\0')
		dk_conf_report_key(r, "store", "data_dir", "must not be empty");
	else if (g_file_test(dir, G_FILE_TEST_EXISTS) && !g_file_test(dir, G_FILE_TEST_IS_DIR))
		dk_conf_report_key(r, "store", "data_dir", "%s is not a directory", dir);
}

static void check_threading(const DkConfig *c, DkConfReport *r)
{
	if (!set(c, "threading", "token_prefix"))
		dk_conf_report_key(r, "threading", "token_prefix", "must not be empty");
	if (dk_config_get_bool(c, "threading", "reply_addresses") &&
	    !set(c, "threading", "reply_address"))
		dk_conf_report_key(r, "threading", "reply_addresses",
		                   "true needs reply_address (the base, e.g. support@example.com)");
}

static void check_smtp(DkConfig *c, DkConfReport *r)
{
	one_of(c, r, "smtp", "password", "password_file", TRUE);
	gboolean password = set(c, "smtp", "password") || set(c, "smtp", "password_file");
	if (set(c, "smtp", "user") && !password)
		dk_conf_report_key(r, "smtp", "user", "needs password or password_file");
	else if (!set(c, "smtp", "user") && password)
		dk_conf_report_key(
		    r, "smtp", set(c, "smtp", "password") ? "password" : "password_file",
		    "is set but user is not: the relay would not be asked to log in");
	if (!is(c, "smtp", "starttls", "required"))
		dk_conf_note(c,
		             "insecure: [smtp] starttls = %s: mail may reach the relay unencrypted",
		             dk_config_get_string(c, "smtp", "starttls"));
	if (dk_config_get_bool(c, "smtp", "insecure_skip_verify"))
		dk_conf_note(
		    c, "insecure: [smtp] insecure_skip_verify = true: the relay's certificate "
		       "is not checked");
}

/* TLS takes a certificate and its key; without TLS, passwords and tokens
 * cross in the clear unless the listener is on loopback (a reverse proxy
 * beside it terminates TLS). */
static void check_http(DkConfig *c, DkConfReport *r)
{
	if (set(c, "http", "tls_certificate") != set(c, "http", "tls_key"))
		dk_conf_report_key(r, "http",
		                   set(c, "http", "tls_key") ? "tls_key" : "tls_certificate",
		                   "needs tls_certificate and tls_key both");
	if (dk_config_get_bool(c, "http", "insecure_plain"))
		dk_conf_note(c, "insecure: [http] insecure_plain = true: passwords and API tokens "
		                "may cross the network unencrypted");
}

/* The From docket's notifications will carry, as notify.c makes it. */
static char *effective_from(const DkConfig *c)
{
	if (set(c, "notify", "from"))
		return g_strdup(dk_config_get_string(c, "notify", "from"));
	const char *domain = dk_config_get_string(c, "threading", "domain");
	return g_strdup_printf("docket@%s", *domain ? domain : g_get_host_name());
}

static void check_notify(DkConfig *c, DkConfReport *r)
{
	const char *transport = dk_config_get_string(c, "notify", "transport");
	gboolean relay = set(c, "smtp", "url");
	if (strcmp(transport, "smtp") == 0 && !relay)
		dk_conf_report_key(r, "notify", "transport", "smtp needs [smtp] url");
	const char *sendmail = dk_config_get_string(c, "notify", "sendmail");
	if (strcmp(transport, "sendmail") == 0 &&
	    (!g_file_test(sendmail, G_FILE_TEST_IS_REGULAR) ||
	     !g_file_test(sendmail, G_FILE_TEST_IS_EXECUTABLE)))
		dk_conf_report_key(r, "notify", "sendmail", "%s is not an executable program",
		                   sendmail);
	if (dk_config_get_int(c, "notify", "retry_initial_seconds") >
	    dk_config_get_int(c, "notify", "retry_max_seconds"))
		dk_conf_report_key(r, "notify", "retry_initial_seconds",
		                   "is larger than retry_max_seconds");
	g_autofree char *from = effective_from(c);
	g_autofree char *why = set(c, "notify", "from") ? NULL : dk_conf_address_why(from);
	if (why != NULL)
		dk_conf_report_key(r, "notify", "from",
		                   "empty means %s, and %s: set from (or [threading] domain)", from,
		                   why);
	if (strcmp(transport, "maildir") == 0 || (strcmp(transport, "auto") == 0 && !relay)) {
		g_autofree char *dir = g_build_filename(
		    dk_config_get_string(c, "store", "data_dir"), "outbox-maildir", NULL);
		dk_conf_note(
		    c,
		    "notifications are not sent: %s, they are written to the Maildir %s and "
		    "customers receive nothing by mail (set [smtp] url)",
		    relay ? "with [notify] transport = maildir" : "with no [smtp] url", dir);
	}
}

static void check_oauth(DkConfig *c, DkConfReport *r, const char *section, const char *name)
{
	if (!set(c, section, "oauth_token_url"))
		dk_conf_report_key(r, section, NULL, "oauth_token_url is not set (auth = xoauth2)");
	if (!set(c, section, "oauth_client_id"))
		dk_conf_report_key(r, section, NULL, "oauth_client_id is not set (auth = xoauth2)");
	gboolean app = is(c, section, "oauth_grant", "client_credentials");
	one_of(c, r, section, "oauth_client_secret", "oauth_client_secret_file", !app);
	one_of(c, r, section, "oauth_refresh_token", "oauth_refresh_token_file", TRUE);
	if (app &&
	    (set(c, section, "oauth_refresh_token") || set(c, section, "oauth_refresh_token_file")))
		dk_conf_report_key(r, section, "oauth_grant",
		                   "client_credentials uses no refresh token: remove "
		                   "oauth_refresh_token%s",
		                   set(c, section, "oauth_refresh_token_file") ? "_file" : "");
	if (app && !set(c, section, "oauth_scope"))
		dk_conf_report_key(r, section, "oauth_grant",
		                   "client_credentials needs oauth_scope (Microsoft 365: "
		                   "https://outlook.office365.com/.default)");
	g_autofree char *stored = dk_imap_oauth_token_path(c, name);
	if (!app && !set(c, section, "oauth_refresh_token") &&
	    !set(c, section, "oauth_refresh_token_file") &&
	    !g_file_test(stored, G_FILE_TEST_EXISTS))
		dk_conf_note(
		    c,
		    "[%s] has no refresh token yet: `docket imap authorize %s` obtains one "
		    "(until then the account cannot log in)",
		    section, name);
}

static const char *const oauth_keys[] = {
    "oauth_token_url",     "oauth_device_url",         "oauth_scope",
    "oauth_client_id",     "oauth_client_secret",      "oauth_client_secret_file",
    "oauth_refresh_token", "oauth_refresh_token_file",
};

static void check_imap(DkConfig *c, DkConfReport *r, const char *name)
{
	g_autofree char *section = g_strconcat("imap:", name, NULL);
	if (is(c, section, "auth", "xoauth2")) {
		check_oauth(c, r, section, name);
	} else {
		one_of(c, r, section, "password", "password_file", FALSE);
		for (guint i = 0; i < G_N_ELEMENTS(oauth_keys); i++)
			if (set(c, section, oauth_keys[i]))
				dk_conf_report_key(r, section, oauth_keys[i],
				                   "is used only with auth = xoauth2 (auth is %s)",
				                   dk_config_get_string(c, section, "auth"));
	}
	g_auto(GStrv) folders = dk_config_get_list(c, section, "folders");
	if (folders[0] == NULL)
		dk_conf_report_key(r, section, "folders", "names no folder");
	if (is(c, section, "after", "move") && !set(c, section, "processed_folder"))
		dk_conf_report_key(r, section, "processed_folder", "must be set with after = move");
	if (!set(c, section, "error_folder"))
		dk_conf_report_key(r, section, "error_folder", "must not be empty");
	if (is(c, section, "tls", "insecure-plain"))
		dk_conf_note(c,
		             "insecure: [%s] tls = insecure-plain: the password and the mail cross "
		             "the network unencrypted",
		             section);
}

static void check_connector(DkConfig *c, DkConfReport *r, const char *name)
{
	g_autofree char *section = g_strconcat("connector:", name, NULL);
	if (dk_config_get_bool(c, section, "insecure_http"))
		dk_conf_note(c,
		             "insecure: [%s] insecure_http = true: credentials may cross the "
		             "network unencrypted",
		             section);
}

/* The SLA policy as a whole, once each of its values passed: what
 * dk_sla_policy_new() refuses that no single key shows. */
static void check_sla(const DkConfig *c, DkConfReport *r)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkSlaPolicy) policy = dk_sla_policy_new(c, &error);
	if (policy == NULL)
		dk_conf_report_key(r, "sla", NULL, "%s", error->message);
}

/* The keys a [kind:NAME] section cannot do without. */
static const struct {
	const char *kind, *key, *what;
} required[] = {
    {"imap", "host", " (the IMAP server)"},
    {"imap", "user", " (the mailbox's login)"},
    {"connector", "base_url", ""},
    {"foreign", "pattern", " (a regular expression)"},
};

static void check_required(DkConfig *c, DkConfReport *r)
{
	for (guint i = 0; i < G_N_ELEMENTS(required); i++) {
		g_auto(GStrv) names = dk_config_get_instances(c, required[i].kind);
		for (guint n = 0; names[n] != NULL; n++) {
			g_autofree char *section =
			    g_strconcat(required[i].kind, ":", names[n], NULL);
			if (!set(c, section, required[i].key))
				dk_conf_report_key(r, section, NULL, "%s is not set%s",
				                   required[i].key, required[i].what);
		}
	}
}

typedef void (*InstanceRule)(DkConfig *c, DkConfReport *r, const char *name);

static void each_instance(DkConfig *c, DkConfReport *r, const char *prefix, InstanceRule rule)
{
	g_auto(GStrv) names = dk_config_get_instances(c, prefix);
	for (guint i = 0; names[i] != NULL; i++)
		rule(c, r, names[i]);
}

void dk_conf_check(DkConfig *config, DkConfReport *r)
{
	guint before = r->errors->len;
	dk_conf_check_values(config, r);
	check_store(config, r);
	dk_conf_check_store_backend(config, r);
	check_threading(config, r);
	check_smtp(config, r);
	check_http(config, r);
	check_notify(config, r);
	each_instance(config, r, "imap", check_imap);
	each_instance(config, r, "connector", check_connector);
	check_required(config, r);
	if (r->errors->len == before)
		check_sla(config, r);
}
