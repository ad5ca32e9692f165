/* The command line: one entry per subcommand, each in its own file
 * (cmd-NAME.c holding dk_cmd_NAME), and the few helpers they share. */
#pragma once

#include "gateway/config.h"
#include "gateway/store/store.h"

#include <glib.h>

G_BEGIN_DECLS

/* Exit statuses from sysexits.h: what an MTA expects of a delivery agent. */
enum {
	DK_EXIT_OK = 0,
	DK_EXIT_FAILURE = 1,   /* a check found problems */
	DK_EXIT_USAGE = 64,    /* EX_USAGE */
	DK_EXIT_DATAERR = 65,  /* EX_DATAERR: input that can never be accepted */
	DK_EXIT_NOINPUT = 66,  /* EX_NOINPUT: no such file or ticket */
	DK_EXIT_SOFTWARE = 70, /* EX_SOFTWARE */
	DK_EXIT_TEMPFAIL = 75, /* EX_TEMPFAIL: try again later */
	DK_EXIT_CONFIG = 78,   /* EX_CONFIG */
};

/* Runs a command that needs the network libraries (serve, poll, outbox):
 * in docket-net it is dk_cli_net_run(); in docket it executes docket-net,
 * so that the MTA pipe (`docket deliver`) never pays for loading them.
 * argv[0] is the command's name. */
typedef int (*DkNetRunner)(const char *command, int argc, char **argv);

/* Runs the program; returns the exit status. */
int dk_cli_main(int argc, char **argv, DkNetRunner net);

/* docket-net's runner: serve, poll and outbox in this process. */
int dk_cli_net_run(const char *command, int argc, char **argv);

/* The --config option every subcommand accepts; add it to a GOptionContext
 * with g_option_context_add_main_entries. */
extern const GOptionEntry dk_cli_config_entries[];

/* Parses a subcommand's options; on error prints it with the usage hint and
 * returns FALSE. argv[0] is the subcommand's name. */
gboolean dk_cli_parse_options(GOptionContext *context, int *argc, char ***argv);

/* Loads and validates the configuration named by --config,
 * $DOCKET_CONFIG or none; on error prints every problem and returns NULL.
 * Run by root while the data directory belongs to another user (the
 * service's), the process becomes that user first and the file is
 * validated as that user reads it (or it refuses, naming the user to run
 * as). */
DkConfig *dk_cli_load_config(void);

/* FALSE, having said which data directory the command looked in, when
 * there is no configuration file and the default ./var does not exist
 * here (a command run in the wrong folder, or without -c); TRUE
 * otherwise. */
gboolean dk_cli_data_dir_exists(const DkConfig *config, const char *command);

/* Loads the configuration and opens its store for command; on failure
 * prints why and returns the exit status (config 78, no ./var without a
 * configuration file 66 unless create, store 75), else 0. Commands that
 * only work on what is there pass create FALSE, so they never make an
 * empty ./var wherever they happen to run. */
int dk_cli_open(const char *command, gboolean create, DkConfig **config_out, DkStore **store_out);

/* Prints "docket: message" to stderr. */
void dk_cli_error(const char *format, ...) G_GNUC_PRINTF(1, 2);

int dk_cmd_deliver(int argc, char **argv);
int dk_cmd_ticket(int argc, char **argv);
int dk_cmd_config(int argc, char **argv);
int dk_cmd_serve(int argc, char **argv);
int dk_cmd_quarantine(int argc, char **argv);
int dk_cmd_bounces(int argc, char **argv);
int dk_cmd_outbox(int argc, char **argv);
int dk_cmd_poll(int argc, char **argv);
int dk_cmd_import(int argc, char **argv);
int dk_cmd_connector(int argc, char **argv);
int dk_cmd_attachment(int argc, char **argv);
int dk_cmd_store(int argc, char **argv);
int dk_cmd_imap(int argc, char **argv);
int dk_cmd_user(int argc, char **argv);

G_END_DECLS
