/* `docket connector check NAME`: authenticates against a connector's
 * system, reads its vocabularies and reports misconfiguration; creates
 * nothing (the webhook gets a "ping" event). `docket connector poll
 * [NAME]`: one pass of the way back (what agents did there reaches the
 * customer through docket), as `docket serve` makes every poll_seconds. */
#include "gateway/cli/cli.h"
#include "gateway/error.h"
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

static int poll_once(const char *name)
{
	DkConfig *config = NULL;
	DkStore *store = NULL;
	int rc = dk_cli_open("connector poll", FALSE, &config, &store);
	if (rc != DK_EXIT_OK)
		return rc;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	g_autoptr(GError) error = NULL;
	DkConnectors *set = dk_connectors_new(config, NULL);
	DkReadBackStats stats = {0};
	gboolean ok = dk_connectors_read_back(set, config, store, name,
	                                      g_get_real_time() / G_USEC_PER_SEC, &stats, &error);
	dk_connectors_free(set);
	curl_global_cleanup();
	dk_store_close(store);
	dk_config_free(config);
	if (!ok) {
		dk_cli_error("connector poll: %s", error->message);
		return dk_error_is_temporary(error) ? DK_EXIT_TEMPFAIL : DK_EXIT_FAILURE;
	}
	printf("read %u tickets, %u replies, %u statuses, %u skipped, %u failed\n", stats.tickets,
	       stats.comments, stats.statuses, stats.skipped, stats.failed);
	return stats.failed > 0 ? DK_EXIT_TEMPFAIL : DK_EXIT_OK;
}

int dk_cmd_connector(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("check NAME | poll [NAME]");
	g_option_context_set_summary(
	    context, "check: a [connector:NAME]'s authentication, vocabularies and\n"
	             "configuration; creates nothing. poll: one pass of the way\n"
	             "back for NAME (or every connector with poll_seconds set).");
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	gboolean checking = argc == 3 && strcmp(argv[1], "check") == 0;
	gboolean polling = (argc == 2 || argc == 3) && strcmp(argv[1], "poll") == 0;
	if (!checking && !polling) {
		dk_cli_error("connector: expected check NAME or poll [NAME] (see --help)");
		return DK_EXIT_USAGE;
	}
	if (polling)
		return poll_once(argc == 3 ? argv[2] : NULL);
	g_autoptr(DkConfig) config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_CONFIG;
	return check(config, argv[2]);
}
