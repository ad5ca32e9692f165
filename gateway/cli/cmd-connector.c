/* `docket connector check NAME`: authenticates against a connector's
 * system, reads its vocabularies and reports misconfiguration; creates
 * nothing (the webhook gets a "ping" event). */
#include "gateway/cli/cli.h"
#include "gateway/core/error.h"
#include "gateway/ops/log.h"
#include "gateway/outbox/connectors/connector.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static int check(const DkConfig *config, const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConnector) c = dk_connector_new(config, name, &error);
	if (c == NULL) {
		dk_cli_error("connector check: %s", error->message);
		return DK_EXIT_CONFIG;
	}
	if (c->ops == NULL || c->ops->check == NULL) {
		dk_cli_error("connector check: %s: this type cannot be checked", name);
		return DK_EXIT_CONFIG;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	g_autoptr(GString) report = g_string_new(NULL);
	gboolean ok = c->ops->check(c, report, &error);
	curl_global_cleanup();
	fputs(report->str, stdout);
	if (error != NULL) {
		dk_cli_error("connector check: %s", error->message);
		return dk_error_is_temporary(error) ? DK_EXIT_TEMPFAIL : DK_EXIT_FAILURE;
	}
	if (!ok)
		return DK_EXIT_FAILURE;
	printf("%s: ok\n", name);
	return DK_EXIT_OK;
}

int dk_cmd_connector(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("check NAME");
	g_option_context_set_summary(context,
	                             "Checks a [connector:NAME]: authentication, vocabularies,\n"
	                             "configuration. Creates nothing.");
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	if (argc != 3 || strcmp(argv[1], "check") != 0) {
		dk_cli_error("connector: expected check NAME (see --help)");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_CONFIG;
	dk_log_init(config);
	return check(config, argv[2]);
}
