/* Subcommand dispatch and the helpers the subcommands share. */
#include "gateway/cli/cli.h"
#include "gateway/cli/cmd-parse.h"
#include "gateway/cli/cmd-rules.h"
#include "gateway/cli/cmd-template.h"

#include "gateway/error.h"
#include "gateway/ops/log.h"

#include <errno.h>
#include <grp.h>
#include <locale.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *config_path;

const GOptionEntry dk_cli_config_entries[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
     "Configuration file (default: $DOCKET_CONFIG, or none)", "FILE"},
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
    {"imap", NULL, "authorize NAME: the first OAuth token of an IMAP account"},
    {"user", NULL, "users of the web desk and the API: add, password, role, token"},
};

static const DkCommand commands[] = {
    {"deliver", dk_cmd_deliver, "read one message on stdin and file it (the MTA pipe)"},
    {"ticket", dk_cmd_ticket,
     "work tickets: list, show, export, search, set, note, reply, time, merge, autoclose,"
     " sla-check"},
    {"parse", dk_cmd_parse, "show how docket reads a message (--json)"},
    {"rules", dk_cmd_rules, "check a Sieve script, or test it on a message"},
    {"template", dk_cmd_template, "preview a notification template with JSON data"},
    {"quarantine", dk_cmd_quarantine,
     "list, show, reprocess and release mail that became no article"},
    {"bounces", dk_cmd_bounces, "list or clear the addresses marked as bouncing"},
    {"config", dk_cmd_config, "check or dump the configuration"},
    {"import", dk_cmd_import, "import an mbox file or a Maildir"},
    {"attachment", dk_cmd_attachment, "get an attachment's bytes as they were received"},
    {"store", dk_cmd_store, "purge the raw mail retention lets go ([store] keep_raw_days)"},
};

void dk_cli_error(const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	/* A configuration's errors come one a line: each gets the prefix. */
	g_auto(GStrv) lines = g_strsplit(msg, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++)
		fprintf(stderr, "docket: %s\n", lines[i]);
}

gboolean dk_cli_parse_options(GOptionContext *context, int *argc, char ***argv)
{
	g_autoptr(GError) error = NULL;
	if (g_option_context_parse(context, argc, argv, &error))
		return TRUE;
	dk_cli_error("%s (see --help)", error->message);
	return FALSE;
}

/* Run by root on a data directory another user owns (the service's),
 * docket becomes that user, so that nothing it makes there (a database
 * file, the outbox Maildir, an OAuth token) ends up owned by root where
 * the service cannot write. */
static gboolean act_as_owner(const char *data_dir, gboolean *switched_out, GError **error)
{
	struct stat st;
	*switched_out = FALSE;
	if (geteuid() != 0 || stat(data_dir, &st) != 0 || st.st_uid == 0)
		return TRUE;
	struct passwd *pw = getpwuid(st.st_uid);
	gid_t gid = pw ? pw->pw_gid : st.st_gid;
	g_autofree char *who =
	    pw ? g_strdup(pw->pw_name) : g_strdup_printf("%u", (unsigned)st.st_uid);
	if ((pw ? initgroups(pw->pw_name, gid) : setgroups(0, NULL)) != 0 || setgid(gid) != 0 ||
	    setuid(st.st_uid) != 0) {
		int saved = errno;
		g_set_error(
		    error, DK_ERROR, DK_ERROR_CONFIG,
		    "the data directory %s belongs to %s and docket cannot become that user "
		    "(%s): run the command as %s, e.g. sudo -u %s docket ...",
		    data_dir, who, g_strerror(saved), who, who);
		return FALSE;
	}
	*switched_out = TRUE;
	return TRUE;
}

/* The command being run, so that a command of `docket` on a store only
 * docket-net can open (PostgreSQL) is run again there, before it has read
 * anything (dk_cli_load_config() comes first in every command). */
static struct {
	DkNetRunner net;
	const char *command;
	int argc;
	char **argv;
} running;

DkConfig *dk_cli_load_config(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) config = dk_config_load(config_path, &error);
	gboolean switched = FALSE;
	if (config != NULL &&
	    !act_as_owner(dk_config_get_string(config, "store", "data_dir"), &switched, &error))
		g_clear_pointer(&config, dk_config_free);
	/* Validated again as the user the command now runs as: a file that
	 * user cannot read is said now, not when the service meets it. */
	if (switched) {
		g_clear_pointer(&config, dk_config_free);
		config = dk_config_load(config_path, &error);
		struct passwd *pw = getpwuid(getuid());
		g_autofree char *who = pw ? g_strdup(pw->pw_name) : g_strdup_printf("%u", getuid());
		if (config == NULL)
			g_prefix_error(&error,
			               "as user %s, the owner of the data directory: ", who);
	}
	if (config == NULL)
		dk_cli_error("%s", error->message);
	else
		dk_log_init(config); /* every command's log lines in docket's format */
	if (config != NULL && !dk_store_backend_available(config) && running.net != NULL)
		exit(running.net(running.command, running.argc, running.argv));
	return g_steal_pointer(&config);
}

gboolean dk_cli_data_dir_exists(const DkConfig *config, const char *command)
{
	const char *dir = dk_config_get_string(config, "store", "data_dir");
	if (dk_config_path(config) != NULL || g_file_test(dir, G_FILE_TEST_IS_DIR))
		return TRUE;
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *absolute = g_canonicalize_filename(dir, cwd);
	dk_cli_error("%s: no data directory %s: without -c FILE or $DOCKET_CONFIG docket uses "
	             "./var, here %s (name your configuration with -c FILE)",
	             command, dir, absolute);
	return FALSE;
}

int dk_cli_open(const char *command, gboolean create, DkConfig **config_out, DkStore **store_out)
{
	g_autoptr(DkConfig) config = dk_cli_load_config();
	if (config == NULL)
		return DK_EXIT_CONFIG;
	if (!create && !dk_cli_data_dir_exists(config, command))
		return DK_EXIT_NOINPUT;
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
	             "Options:\n  -c, --config FILE  configuration file\n  --version          "
	             "print the version\n");
}

int dk_cli_main(int argc, char **argv, DkNetRunner net)
{
	/* Only the character set comes from the environment (file names, the
	 * terminal): docket's messages are English, and the numbers and dates
	 * it writes must not follow local conventions. It also spares each
	 * `docket deliver` the dozen files of the other categories. */
	setlocale(LC_CTYPE, "");
	int i = 1;
	/* Options before the command: --config, --version, --help. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--version") == 0) {
			printf("docket %s\n", DOCKET_VERSION);
			return DK_EXIT_OK;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return DK_EXIT_OK;
		} else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		           i + 1 < argc) {
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
			running.net = net;
			running.command = argv[i];
			running.argc = argc - i;
			running.argv = argv + i;
			int rc = commands[c].run(argc - i, argv + i);
			g_clear_pointer(&config_path, g_free);
			return rc;
		}
	}
	dk_cli_error("unknown command “%s” (see --help)", argv[i]);
	return DK_EXIT_USAGE;
}
