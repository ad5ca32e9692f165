/* `docket ticket set|note|reply|participants|time|merge|autoclose|sla-check`: the
 * changes an agent makes from the command line, each in one transaction
 * through the desk (desk/desk.h), so they are recorded with the events mail
 * changes make, and the ticket's SLA clocks recomputed at its end. */
#include "gateway/cli/cmd-ticket.h"

#include "gateway/desk/desk.h"
#include "gateway/error.h"
#include "gateway/outbox/connector-events.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX (4 * 1024 * 1024)

typedef struct {
	const DkConfig *config;
	const DkTicketOptions *o;
	const DkSlaPolicy *sla;
	const DkConversation *conversation;
	GArray *files;       /* reply --attach: DkReplyFile */
	const char *verb;    /* participants: "add" or "remove" */
	const char *address; /* participants: whom */
	char **team;         /* [notify] team_addresses: who hears of a breach */
	gint64 ticket, other, minutes, now;
	const char *text;
	gint64 article_out;
	guint closed_out, breaches_out;
} Edit;

typedef gboolean (*EditFunc)(DkStore *store, Edit *e, GError **error);

/* --as, or $DOCKET_AGENT: "ADDR" or "Name <ADDR>". */
static const char *acting(const DkTicketOptions *o)
{
	if (o->as != NULL && *o->as != '\0')
		return o->as;
	const char *env = g_getenv("DOCKET_AGENT");
	return env != NULL && *env != '\0' ? env : NULL;
}

/* The address of the agent acting, or NULL. */
static const char *author(const DkTicketOptions *o)
{
	static char *address;
	const char *as = acting(o);
	const char *lt = as ? strrchr(as, '<') : NULL;
	if (lt == NULL || !g_str_has_suffix(as, ">"))
		return as;
	g_free(address);
	address = g_strndup(lt + 1, strlen(lt + 1) - 1);
	return g_strstrip(address);
}

/* The display name of the agent acting ("Name" of "Name <ADDR>"), or NULL. */
static char *author_name(const DkTicketOptions *o)
{
	const char *as = acting(o);
	const char *lt = as ? strrchr(as, '<') : NULL;
	if (lt == NULL || lt == as)
		return NULL;
	char *name = g_strstrip(g_strndup(as, (gsize)(lt - as)));
	if (name[0] == '"' && strlen(name) >= 2 && g_str_has_suffix(name, "\"")) {
		memmove(name, name + 1, strlen(name));
		name[strlen(name) - 1] = '\0';
	}
	return name;
}

/* Runs f in one transaction, with the ticket's SLA clocks recomputed
 * after it and its changes queued for the help-desk connectors, as mail's
 * are: all of it or nothing. */
static int in_transaction(DkStore *store, const char *command, EditFunc f, Edit *e)
{
	g_autoptr(GError) error = NULL;
	gint64 last_event = 0;
	if (!dk_store_begin(store, &error))
		return dk_ticket_fail(command, error);
	if (!dk_store_last_event(store, &last_event, &error) || !f(store, e, &error) ||
	    (e->ticket != 0 && !dk_desk_sla_update(store, e->sla, e->ticket, e->now, &error)) ||
	    !dk_connector_enqueue_desk(store, e->config, last_event, e->ticket, e->article_out,
	                               e->now, &error)) {
		dk_store_rollback(store);
		return dk_ticket_fail(command, error);
	}
	if (!dk_store_commit(store, &error))
		return dk_ticket_fail(command, error);
	return DK_EXIT_OK;
}

static gboolean do_set(DkStore *s, Edit *e, GError **error)
{
	const DkTicketOptions *o = e->o;
	const char *by = author(o) ? author(o) : "cli";
	if (o->priority && !dk_desk_set_priority(s, e->ticket, o->priority, by, e->now, error))
		return FALSE;
	if ((o->assign || o->unassign) &&
	    !dk_desk_assign(s, e->ticket, o->assign, by, e->now, error))
		return FALSE;
	if (o->queue && !dk_desk_set_queue(s, e->ticket, o->queue, by, e->now, error))
		return FALSE;
	for (guint i = 0; o->tags && o->tags[i]; i++)
		if (!dk_desk_tag(s, e->ticket, o->tags[i], by, e->now, error))
			return FALSE;
	for (guint i = 0; o->untags && o->untags[i]; i++)
		if (!dk_desk_untag(s, e->ticket, o->untags[i], by, e->now, error))
			return FALSE;
	/* Last, so that a ticket resolved here carries the rest already. */
	return o->statuses == NULL ||
	       dk_desk_set_status(s, e->ticket, o->statuses[0], by, e->now, error);
}

static int set(DkStore *store, const DkTicketOptions *o, Edit *e)
{
	if (o->statuses && o->statuses[0] && o->statuses[1]) {
		dk_cli_error("ticket set: one --status at a time");
		return DK_EXIT_USAGE;
	}
	if (o->assign && o->unassign) {
		dk_cli_error("ticket set: --assign or --unassign, not both");
		return DK_EXIT_USAGE;
	}
	if (!o->statuses && !o->priority && !o->assign && !o->unassign && !o->queue && !o->tags &&
	    !o->untags) {
		dk_cli_error("ticket set: nothing to change (--status, --priority, --assign, "
		             "--unassign, --queue,"
		             " --tag, --untag)");
		return DK_EXIT_USAGE;
	}
	return in_transaction(store, "ticket set", do_set, e);
}

static char *read_fd(int fd, GError **error)
{
	GString *out = g_string_new(NULL);
	char buf[8192];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, DK_ERROR, DK_ERROR_TEMPORARY, "reading the text: %s",
			            g_strerror(errno));
			g_string_free(out, TRUE);
			return NULL;
		}
		if (n == 0 || out->len + (gsize)n > BODY_MAX)
			break;
		g_string_append_len(out, buf, n);
	}
	return g_string_free(out, FALSE);
}

/* The text from $EDITOR (or vi) on a temporary file. */
static char *from_editor(GError **error)
{
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("docket-XXXXXX.txt", &path, error);
	if (fd < 0)
		return NULL;
	close(fd);
	const char *editor = g_getenv("VISUAL") ? g_getenv("VISUAL") : g_getenv("EDITOR");
	const char *argv[] = {"/bin/sh", "-c", "exec ${DK_EDITOR} \"$1\"", "sh", path, NULL};
	g_auto(GStrv) env =
	    g_environ_setenv(g_get_environ(), "DK_EDITOR", editor ? editor : "vi", TRUE);
	int status = 0;
	char *text = NULL;
	if (g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL,
	                 NULL, &status, error) &&
	    g_spawn_check_wait_status(status, error))
		g_file_get_contents(path, &text, NULL, error);
	g_unlink(path);
	return text;
}

/* The article's text: stdin, or the editor when stdin is a terminal. An
 * empty text is refused. */
static char *read_text(const char *command)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text =
	    isatty(STDIN_FILENO) ? from_editor(&error) : read_fd(STDIN_FILENO, &error);
	if (text == NULL) {
		dk_cli_error("%s: %s", command, error->message);
		return NULL;
	}
	if (!g_utf8_validate(text, -1, NULL)) {
		dk_cli_error("%s: the text is not UTF-8", command);
		return NULL;
	}
	g_strchomp(text);
	if (*text == '\0') {
		dk_cli_error("%s: the text is empty: nothing written", command);
		return NULL;
	}
	return g_steal_pointer(&text);
}

static gboolean do_note(DkStore *s, Edit *e, GError **error)
{
	return (e->article_out =
	            dk_desk_note(s, e->ticket, e->text, author(e->o), e->now, error)) != 0;
}

static gboolean do_reply(DkStore *s, Edit *e, GError **error)
{
	g_autofree char *name = author_name(e->o);
	DkReply reply = {
	    .text = e->text,
	    .author = author(e->o),
	    .author_name = name,
	    .files = (const DkReplyFile *)e->files->data,
	    .n_files = e->files->len,
	};
	return (e->article_out =
	            dk_desk_reply(s, e->conversation, e->ticket, &reply, e->now, error)) != 0;
}

static void file_clear(gpointer data)
{
	DkReplyFile *f = data;
	g_free((char *)f->filename);
	g_free((char *)f->content_type);
	g_bytes_unref(f->data);
}

/* Reads the --attach files into e->files, after checking their sizes
 * against the limits (so that no oversized file is read whole); the
 * type is guessed from the name and the content (shared-mime-info). */
static int read_files(Edit *e)
{
	char **paths = e->o->attach;
	guint n = paths ? g_strv_length(paths) : 0;
	g_autofree gsize *sizes = g_new0(gsize, n + 1);
	g_autofree char **names = g_new0(char *, n + 1);
	for (guint i = 0; i < n; i++) {
		GStatBuf st;
		if (g_stat(paths[i], &st) != 0 || !S_ISREG(st.st_mode)) {
			dk_cli_error("ticket reply: --attach %s: %s", paths[i],
			             errno ? g_strerror(errno) : "not a file");
			return DK_EXIT_NOINPUT;
		}
		sizes[i] = (gsize)st.st_size;
		names[i] = g_path_get_basename(paths[i]);
	}
	g_autoptr(GError) error = NULL;
	gboolean fit = dk_conversation_files_fit(e->conversation, (const char *const *)names, sizes,
	                                         n, &error);
	for (guint i = 0; i < n; i++) {
		char *contents = NULL;
		gsize len = 0;
		if (fit && !g_file_get_contents(paths[i], &contents, &len, &error)) {
			fit = FALSE;
			g_prefix_error(&error, "--attach: ");
		}
		if (!fit) {
			g_free(names[i]);
			continue;
		}
		g_autofree char *guess =
		    g_content_type_guess(names[i], (const guchar *)contents, len, NULL);
		DkReplyFile f = {.filename = names[i],
		                 .content_type = g_content_type_get_mime_type(guess),
		                 .data = g_bytes_new_take(contents, len)};
		g_array_append_val(e->files, f);
	}
	if (!fit) {
		dk_cli_error("ticket reply: %s: nothing sent", error->message);
		return DK_EXIT_DATAERR;
	}
	return DK_EXIT_OK;
}

static int article(DkStore *store, Edit *e, gboolean public)
{
	const char *command = public ? "ticket reply" : "ticket note";
	if (!public && e->o->attach != NULL) {
		dk_cli_error("ticket note: --attach goes with reply only");
		return DK_EXIT_USAGE;
	}
	int rc = public ? read_files(e) : DK_EXIT_OK;
	if (rc != DK_EXIT_OK)
		return rc;
	g_autofree char *text = read_text(command);
	if (text == NULL)
		return DK_EXIT_DATAERR;
	e->text = text;
	rc = in_transaction(store, command, public ? do_reply : do_note, e);
	if (rc == DK_EXIT_OK)
		printf("article %" G_GINT64_FORMAT " on #%" G_GINT64_FORMAT "%s\n", e->article_out,
		       e->ticket, public ? ", queued for the requester" : " (internal)");
	return rc;
}

static gboolean do_participants(DkStore *s, Edit *e, GError **error)
{
	const char *by = author(e->o) ? author(e->o) : "cli";
	if (strcmp(e->verb, "add") == 0)
		return dk_conversation_participant_add(e->conversation, s, e->ticket, e->address,
		                                       by, e->now, error);
	return dk_conversation_participant_remove(e->conversation, s, e->ticket, e->address, by,
	                                          e->now, error);
}

/* participants N: the list; participants N add|remove ADDRESS: a change. */
static int participants(DkStore *store, Edit *e, int argc, char **argv)
{
	if (argc == 3) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) people = dk_store_participants(store, e->ticket, &error);
		if (people == NULL)
			return dk_ticket_fail("ticket participants", error);
		g_autoptr(DkTicket) t = dk_store_ticket_get(store, e->ticket, &error);
		if (t == NULL)
			return dk_ticket_fail("ticket participants", error);
		gboolean copies = dk_conversation_copies(e->conversation, t->queue);
		for (guint i = 0; i < people->len; i++) {
			const DkParticipant *p = g_ptr_array_index(people, i);
			gboolean copied =
			    p->role == DK_ROLE_REQUESTER || (p->role == DK_ROLE_CC && copies);
			printf("%s %s%s\n", p->address, dk_participant_role_name(p->role),
			       copied ? " (gets public replies)" : "");
		}
		return DK_EXIT_OK;
	}
	if (argc != 5 || (strcmp(argv[3], "add") != 0 && strcmp(argv[3], "remove") != 0)) {
		dk_cli_error("ticket participants: expected NUMBER [add|remove ADDRESS]");
		return DK_EXIT_USAGE;
	}
	e->verb = argv[3];
	e->address = argv[4];
	return in_transaction(store, "ticket participants", do_participants, e);
}

static gboolean do_time(DkStore *s, Edit *e, GError **error)
{
	return dk_desk_add_time(s, e->ticket, e->minutes, e->text, author(e->o), e->now, error);
}

static gboolean do_merge(DkStore *s, Edit *e, GError **error)
{
	return dk_desk_merge(s, e->ticket, e->other, author(e->o) ? author(e->o) : "cli", e->now,
	                     error);
}

static gboolean do_autoclose(DkStore *s, Edit *e, GError **error)
{
	return dk_desk_autoclose(s, e->o->days, e->now, &e->closed_out, error);
}

static gboolean do_sla_check(DkStore *s, Edit *e, GError **error)
{
	return dk_desk_sla_check(s, e->sla, (const char *const *)e->team, e->now, &e->breaches_out,
	                         error);
}

static int time_entry(DkStore *store, Edit *e, int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	if (argc < 4 || argc > 5) {
		dk_cli_error("ticket time: expected NUMBER DURATION [\"what was done\"]");
		return DK_EXIT_USAGE;
	}
	if (!dk_desk_parse_duration(argv[3], &e->minutes, &error)) {
		dk_cli_error("ticket time: %s", error->message);
		return DK_EXIT_USAGE;
	}
	e->text = argc == 5 ? argv[4] : "";
	return in_transaction(store, "ticket time", do_time, e);
}

static int merge(DkStore *store, Edit *e, int argc, char **argv)
{
	if (argc != 4 || !dk_ticket_number("ticket merge", argv[3], &e->other))
		return DK_EXIT_USAGE;
	int rc = in_transaction(store, "ticket merge", do_merge, e);
	if (rc == DK_EXIT_OK)
		printf("#%" G_GINT64_FORMAT " merged into #%" G_GINT64_FORMAT "\n", e->other,
		       e->ticket);
	return rc;
}

int dk_ticket_edit(DkStore *store, const DkConfig *config, const DkTicketOptions *o, int argc,
                   char **argv)
{
	static const char *const known[] = {"set",          "note",      "reply",
	                                    "participants", "time",      "merge",
	                                    "autoclose",    "sla-check", NULL};
	if (argc < 2 || !g_strv_contains(known, argv[1]))
		return -1;
	g_autoptr(GError) error = NULL;
	g_autoptr(DkSlaPolicy) sla = dk_sla_policy_new(config, &error);
	if (sla == NULL) {
		dk_cli_error("ticket: %s", error->message);
		return DK_EXIT_CONFIG;
	}
	g_auto(GStrv) team = dk_config_get_list(config, "notify", "team_addresses");
	g_autoptr(DkConversation) conversation = dk_conversation_new(config);
	g_autoptr(GArray) files = g_array_new(FALSE, TRUE, sizeof(DkReplyFile));
	g_array_set_clear_func(files, file_clear);
	Edit e = {.config = config,
	          .o = o,
	          .sla = sla,
	          .team = team,
	          .conversation = conversation,
	          .files = files};
	if (!dk_ticket_now(o, &e.now))
		return DK_EXIT_USAGE;
	if (strcmp(argv[1], "autoclose") == 0) {
		int rc = in_transaction(store, "ticket autoclose", do_autoclose, &e);
		if (rc == DK_EXIT_OK)
			printf("closed %u ticket%s\n", e.closed_out, e.closed_out == 1 ? "" : "s");
		return rc;
	}
	if (strcmp(argv[1], "sla-check") == 0) {
		int rc = in_transaction(store, "ticket sla-check", do_sla_check, &e);
		if (rc == DK_EXIT_OK)
			printf("%u breach%s\n", e.breaches_out, e.breaches_out == 1 ? "" : "es");
		return rc;
	}
	g_autofree char *command = g_strconcat("ticket ", argv[1], NULL);
	if (argc < 3 || !dk_ticket_number(command, argv[2], &e.ticket))
		return DK_EXIT_USAGE;
	if (strcmp(argv[1], "time") == 0)
		return time_entry(store, &e, argc, argv);
	if (strcmp(argv[1], "merge") == 0)
		return merge(store, &e, argc, argv);
	if (strcmp(argv[1], "participants") == 0)
		return participants(store, &e, argc, argv);
	if (argc != 3) {
		dk_cli_error("%s: expected one ticket number", command);
		return DK_EXIT_USAGE;
	}
	if (strcmp(argv[1], "set") == 0)
		return set(store, o, &e);
	return article(store, &e, strcmp(argv[1], "reply") == 0);
}
