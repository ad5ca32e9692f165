/* `docket bounces list|clear`: the addresses marked as bouncing (no
 * automatic mail goes to them while the mark lasts, [notify]
 * bounce_expiry_days after their last bounce), and forgetting a mark. */
#include "gateway/cli/cli.h"
#include "gateway/json.h"

#include <stdio.h>
#include <string.h>

static char *when(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
	return dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("-");
}

static int list(DkStore *store, const DkConfig *config, gboolean as_json)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) marks = dk_store_bouncing_list(store, &error);
	if (marks == NULL) {
		dk_cli_error("bounces: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	gint64 expiry = dk_config_get_int(config, "notify", "bounce_expiry_days") * 86400;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(json_t) arr = json_array();
	if (!as_json)
		printf("%-40s  %-20s  %-20s  %5s  %-7s  %s\n", "ADDRESS", "SINCE", "LAST", "COUNT",
		       "STATUS", "MARK");
	for (guint i = 0; i < marks->len; i++) {
		const DkBouncing *b = g_ptr_array_index(marks, i);
		gboolean active = b->last_at >= now - expiry;
		g_autofree char *since = when(b->since), *last = when(b->last_at);
		if (as_json)
			json_array_append_new(
			    arr, json_pack("{ss ss ss sI ss? sb sI}", "address", b->address,
			                   "since", since, "last", last, "count",
			                   (json_int_t)b->count, "status", b->last_status, "active",
			                   active, "expires", (json_int_t)(b->last_at + expiry)));
		else
			printf("%-40s  %-20s  %-20s  %5" G_GINT64_FORMAT "  %-7s  %s\n", b->address,
			       since, last, b->count, b->last_status ? b->last_status : "-",
			       active ? "active" : "expired");
	}
	if (as_json) {
		g_autoptr(json_t) doc = json_pack("{sO}", "bounces", arr);
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(text);
		free(text);
	}
	return DK_EXIT_OK;
}

static int clear(DkStore *store, const char *address)
{
	g_autoptr(GError) error = NULL;
	gint64 count = 0;
	if (!dk_store_bouncing_clear(store, address, &count, &error)) {
		dk_cli_error("bounces clear: %s", error->message);
		return DK_EXIT_TEMPFAIL;
	}
	if (address != NULL && count == 0) {
		dk_cli_error("bounces clear: %s is not marked as bouncing", address);
		return DK_EXIT_NOINPUT;
	}
	printf("cleared %" G_GINT64_FORMAT "\n", count);
	return DK_EXIT_OK;
}

int dk_cmd_bounces(int argc, char **argv)
{
	gboolean as_json = FALSE, all = FALSE;
	const GOptionEntry entries[] = {
	    {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "list: print JSON", NULL},
	    {"all", 0, 0, G_OPTION_ARG_NONE, &all, "clear: every mark", NULL},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new("list | clear ADDRESS|--all");
	g_option_context_set_summary(
	    context,
	    "Addresses marked as bouncing get no automatic mail until [notify]\n"
	    "bounce_expiry_days after their last bounce. A bounce marks an address only\n"
	    "when it came back to the bounce address of a notification docket sent there.");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv))
		return DK_EXIT_USAGE;
	const char *verb = argc > 1 ? argv[1] : "";
	gboolean is_list = strcmp(verb, "list") == 0 && argc == 2;
	gboolean is_clear = strcmp(verb, "clear") == 0 && (all ? argc == 2 : argc == 3);
	if (!is_list && !is_clear) {
		dk_cli_error("bounces: expected list or clear ADDRESS|--all (see --help)");
		return DK_EXIT_USAGE;
	}
	g_autoptr(DkConfig) config = NULL;
	g_autoptr(DkStore) store = NULL;
	int rc = dk_cli_open("bounces", FALSE, &config, &store);
	if (rc != DK_EXIT_OK)
		return rc;
	return is_list ? list(store, config, as_json) : clear(store, all ? NULL : argv[2]);
}
