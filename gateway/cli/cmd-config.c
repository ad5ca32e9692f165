/* `docket config check|dump`: validate the configuration, or print the
 * effective one (every key, defaults included, secrets masked). Both load
 * it through the one validator every command uses (config.h). */
#include "gateway/cli/cli.h"

#include <stdio.h>
#include <string.h>

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
		const char *path = dk_config_path(config);
		printf("%s: OK\n", path ? path : "(no configuration file: embedded defaults)");
		for (const char *const *note = dk_config_notes(config); *note != NULL; note++)
			printf("note: %s\n", *note);
		return DK_EXIT_OK;
	}
	g_autofree char *dump = dk_config_dump(config);
	fputs(dump, stdout);
	return DK_EXIT_OK;
}
