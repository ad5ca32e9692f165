/* `docket ticket`: what its files share (cmd-ticket.c: the dispatcher,
 * list, show and search; cmd-ticket-edit.c: the agent's changes). */
#pragma once

#include "gateway/cli/cli.h"
#include "gateway/json.h"

G_BEGIN_DECLS

/* Every option of every ticket subcommand (one GOptionContext). */
typedef struct {
	gboolean json;
	char **statuses; /* --status, repeatable */
	char *priority, *queue, *assignee, *requester;
	char *created_since, *updated_since;
	int limit;
	gboolean all;      /* list: merged tickets too */
	gboolean breached; /* list: only those that missed an SLA target */
	char *assign;      /* set --assign */
	gboolean unassign;
	char **tags, **untags;
	char *as;      /* the agent acting: --as, or $DOCKET_AGENT */
	char **attach; /* reply --attach FILE, repeatable */
	char *now;     /* hidden: the clock, for tests */
	int days;      /* autoclose: [desk] close_after_days */
	char *to;      /* export: the folder */
} DkTicketOptions;

/* The current time, or the one --now gives (Unix seconds or ISO 8601);
 * FALSE after printing why when --now cannot be read. */
gboolean dk_ticket_now(const DkTicketOptions *o, gint64 *now_out);

/* A ticket number ("12" or "#12"); prints why and returns FALSE when arg
 * is none. */
gboolean dk_ticket_number(const char *command, const char *arg, gint64 *number_out);

/* The exit status for a failure of command (printed). */
int dk_ticket_fail(const char *command, const GError *error);

/* Runs set, note, reply, participants, time, merge, autoclose or
 * sla-check (argv[1]); -1 when argv[1] is none of them. */
int dk_ticket_edit(DkStore *store, const DkConfig *config, const DkTicketOptions *o, int argc,
                   char **argv);

char *dk_ticket_iso_time(gint64 t);
void dk_ticket_print_json(json_t *doc);

G_END_DECLS
