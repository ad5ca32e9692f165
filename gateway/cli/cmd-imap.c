/* `docket imap authorize NAME`: the first OAuth refresh token of an
 * [imap:NAME] account with auth = xoauth2, by the device authorization
 * grant (RFC 8628): docket shows a code and a web address, the mailbox's
 * owner approves there, and docket keeps the refresh token in
 * data_dir/oauth/NAME.refresh_token (mode 0600). */
#include "gateway/cli/cli.h"
#include "gateway/error.h"
#include "gateway/intake/imap-oauth.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static void show(const DkImapOAuthPrompt *p, gpointer data)
{
	const char *name = data;
	printf(
	    "To let docket read the mailbox of [imap:%s], open\n  %s\nand enter the code\n  %s\n",
	    name, p->verification_uri, p->user_code);
	if (p->verification_uri_complete != NULL)
		printf("(or open %s)\n", p->verification_uri_complete);
	printf("within %" G_GINT64_FORMAT " minutes. Waiting...\n", (p->expires_in + 59) / 60);
	fflush(stdout);
}

static int authorize(const DkConfig *config, const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkImapAccount) account = dk_imap_account_new(config, name, &error);
	if (account == NULL) {
		dk_cli_error("imap authorize: %s", error->message);
		return DK_EXIT_CONFIG;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	gboolean ok = dk_imap_oauth_authorize(account, show, (gpointer)name, &error);
	curl_global_cleanup();
	if (!ok) {
		dk_cli_error("imap authorize: %s", error->message);
		return g_error_matches(error, DK_ERROR, DK_ERROR_TEMPORARY) ? DK_EXIT_TEMPFAIL
		                                                            : DK_EXIT_CONFIG;
	}
	printf("authorized: the refresh token of [imap:%s] is in %s\n", name,
	       account->oauth_token_path);
	return DK_EXIT_OK;
}

int dk_cmd_imap(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("authorize NAME");
	g_option_context_set_summary(
	    context, "authorize NAME: obtains the first OAuth refresh token of the account\n"
	             "[imap:NAME] (auth = xoauth2, with oauth_device_url) by the device\n"
	             "authorization grant: docket shows a code and a web address, the\n"
	             "mailbox's owner signs in there and approves, and docket keeps the\n"
	             "token in data_dir/oauth/NAME.refresh_token (mode 0600), where it also\n"
	             "keeps the token the provider rotates to. Exit status: 0 done, 75 the\n"
	             "provider could not be reached, 78 refused or a configuration problem.");
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	if (argc != 3 || strcmp(argv[1], "authorize") != 0) {
		dk_cli_error("imap: expected “authorize NAME” (see --help)");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_CONFIG;
	return authorize(config, argv[2]);
}
