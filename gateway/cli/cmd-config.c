/* `docket config check|dump`: validate the configuration, or print the
 * effective one (every key, defaults included, secrets masked). */
#include "gateway/cli/cli.h"
#include "gateway/core/rules-apply.h"
#include "gateway/desk/sla-policy.h"
#include "gateway/outbox/notify.h"

#include <stdio.h>
#include <string.h>

int dk_cmd_config(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("check|dump");
	g_option_context_set_summary(context, "check: validate the configuration file (exit 0 when valid, 78 not).\n"
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
		g_autoptr(GError) error = NULL;
		dk_rules_unref(dk_rules_load(config, &error)); /* only whether it compiles */
		if (error == NULL)
			dk_sla_policy_free(dk_sla_policy_new(config, &error)); /* hours, zones, holidays */
		if (error != NULL) {
			dk_cli_error("%s", error->message);
			return DK_EXIT_CONFIG;
		}
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
		return DK_EXIT_OK;
	}
	g_autofree char *dump = dk_config_dump(config);
	fputs(dump, stdout);
	return DK_EXIT_OK;
}
