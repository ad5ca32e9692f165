/* `docket config check|dump`: validate the configuration, or print the
 * effective one (every key, defaults included, secrets masked). Both load
 * it through the one validator every command uses (config.h). */
#include "gateway/cli/cli.h"
#include "gateway/outbox/notify.h"
#include "gateway/ops/url-policy.h"

#include <stdio.h>
#include <string.h>

/* Warnings on how agent mail is trusted: agents that nothing can verify
 * (their commands and relays never apply), or the From trusted alone. */
static void warn_agents(const DkConfig *config)
{
	g_auto(GStrv) addresses = dk_config_get_list(config, "agents", "addresses");
	g_auto(GStrv) domains = dk_config_get_list(config, "agents", "domains");
	if (addresses[0] == NULL && domains[0] == NULL)
		return;
	if (dk_config_get_bool(config, "agents", "insecure_trust_from"))
		fprintf(stderr, "docket: warning: [agents] insecure_trust_from = true: anyone who "
		                "writes an agent's address in From runs its commands and mails "
		                "customers as support\n");
	else if (*dk_config_get_string(config, "agents", "authserv_id") == '\0' &&
	         *dk_config_get_string(config, "crypto", "gnupg_home") == '\0')
		fprintf(
		    stderr,
		    "docket: warning: [agents] no agent mail can be verified: set "
		    "[agents] authserv_id to the id your MTA writes in Authentication-Results "
		    "(or [crypto] gnupg_home for signed mail); until then agents' mail is stored "
		    "as inbound and its commands and relays are ignored\n");
}

int dk_cmd_config(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("check|dump");
	g_option_context_set_summary(
	    context, "check: validate the configuration file: every error is printed as\n"
	             "  FILE:LINE: [section] key: why (exit 78), else OK and the notes on\n"
	             "  insecure settings and on notifications that go nowhere (exit 0).\n"
	             "dump: print the effective configuration, defaults included.");
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	if (argc != 2 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "dump") != 0)) {
		dk_cli_error("config: expected “check” or “dump” (see --help)");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_CONFIG;
	if (strcmp(argv[1], "check") == 0) {
		warn_agents(config);
		g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
		dk_notify_check_templates(config, problems, notes);
		for (guint i = 0; i < notes->len; i++)
			printf("note: %s\n", (char *)g_ptr_array_index(notes, i));
		for (guint i = 0; i < problems->len; i++)
			dk_cli_error("%s", (char *)g_ptr_array_index(problems, i));
		if (problems->len > 0)
			return DK_EXIT_CONFIG;
		const char *path = dk_config_path(config);
		printf("%s: OK\n", path ? path : "(no configuration file: embedded defaults)");
		for (const char *const *note = dk_config_notes(config); *note != NULL; note++)
			printf("note: %s\n", *note);
		return DK_EXIT_OK;
	}
	g_autofree char *dump = dk_config_dump(config);
	g_autofree char *masked = dk_url_policy_mask(dump);
	fputs(masked, stdout);
	return DK_EXIT_OK;
}
