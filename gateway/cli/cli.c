/* Subcommand dispatch and the helpers the subcommands share. */
#include "gateway/cli/cli.h"
#include "gateway/cli/cmd-parse.h"
#include "gateway/cli/cmd-rules.h"
#include "gateway/cli/cmd-template.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char *config_path;

const GOptionEntry dk_cli_config_entries[] = {
	{"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file (default: $DOCKET_CONFIG, or none)",
	 "FILE"},
	G_OPTION_ENTRY_NULL,
};

typedef struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} DkCommand;

/* The commands that need the network libraries (libcurl, libetpan,
 * GnuTLS) run in docket-net; see dk_cli_main(). */
static const DkCommand net_commands[] = {
	{"serve", NULL, "run the gateway: LMTP listener, IMAP pollers, outbox worker, /metrics"},
	{"poll", NULL, "fetch mail from the IMAP accounts (--once for one round)"},
	{"outbox", NULL, "list, run, retry and drop pending notifications"},
	{"connector", NULL, "check a help-desk connector's configuration and access"},
};

static const DkCommand commands[] = {
	{"deliver", dk_cmd_deliver, "read one message on stdin and file it (the MTA pipe)"},
	{"ticket", dk_cmd_ticket, "work tickets: list, show, search, set, note, reply, time, merge, autoclose, sla-check"},
	{"parse", dk_cmd_parse, "show how docket reads a message (--json)"},
	{"rules", dk_cmd_rules, "check a Sieve script, or test it on a message"},
	{"template", dk_cmd_template, "preview a notification template with JSON data"},
	{"quarantine", dk_cmd_quarantine, "list, show and reprocess mail docket could not read"},
	{"config", dk_cmd_config, "check or dump the configuration"},
	{"import", dk_cmd_import, "import an mbox file or a Maildir"},
	{"attachment", dk_cmd_attachment, "get an attachment's bytes as they were received"},
};

void dk_cli_error(const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	fprintf(stderr, "docket: %s\n", msg);
}

gboolean dk_cli_parse_options(GOptionContext *context, int *argc, char ***argv)
{
	g_autoptr(GError) error = NULL;
	if (g_option_context_parse(context, argc, argv, &error))
		return TRUE;
	dk_cli_error("%s (see --help)", error->message);
	return FALSE;
}

DkConfig *dk_cli_load_config(void)
{
	g_autoptr(GError) error = NULL;
	DkConfig *config = dk_config_load(config_path, &error);
	if (config == NULL)
		dk_cli_error("%s", error->message);
	return config;
}

int dk_cli_open(const char *command, DkConfig **config_out, DkStore **store_out)
{
	g_autoptr(DkConfig) config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_CONFIG;
	g_autoptr(GError) error = NULL;
	DkStore *store = dk_store_open_config(config, &error);
	if (store == NULL) {
		dk_cli_error("%s: %s", command, error->message);
		return DK_EXIT_TEMPFAIL;
	}
	*config_out = g_steal_pointer(&config);
	*store_out = store;
	return DK_EXIT_OK;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: docket [--config FILE] COMMAND [OPTIONS]\n\n"
		     "An email-to-ticket gateway.\n\nCommands:\n");
	for (gsize i = 0; i < G_N_ELEMENTS(net_commands); i++)
		fprintf(out, "  %-10s %s\n", net_commands[i].name, net_commands[i].summary);
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`docket COMMAND --help` describes each command.\n"
		     "Options:\n  -c, --config FILE  configuration file\n  --version          print the version\n");
}

int dk_cli_main(int argc, char **argv, DkNetRunner net)
{
	setlocale(LC_ALL, "");
	int i = 1;
	/* Options before the command: --config, --version, --help. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("docket %s\n", DOCKET_VERSION);
			return DK_EXIT_OK;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return DK_EXIT_OK;
		} else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			g_free(config_path);
			config_path = g_strdup(argv[++i]);
		} else if (g_str_has_prefix(argv[i], "--config=")) {
			g_free(config_path);
			config_path = g_strdup(argv[i] + strlen("--config="));
		} else {
			dk_cli_error("unknown option %s (see --help)", argv[i]);
			return DK_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return DK_EXIT_USAGE;
	}
	for (gsize c = 0; c < G_N_ELEMENTS(net_commands); c++) {
		if (strcmp(argv[i], net_commands[c].name) == 0) {
			int rc = net(argv[i], argc - i, argv + i);
			g_clear_pointer(&config_path, g_free);
			return rc;
		}
	}
	for (gsize c = 0; c < G_N_ELEMENTS(commands); c++) {
		if (strcmp(argv[i], commands[c].name) == 0) {
			int rc = commands[c].run(argc - i, argv + i);
			g_clear_pointer(&config_path, g_free);
			return rc;
		}
	}
	dk_cli_error("unknown command “%s” (see --help)", argv[i]);
	return DK_EXIT_USAGE;
}
