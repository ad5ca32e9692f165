/* `docket user add|password|role|disable|enable|list|token|revoke`: the
 * people of the web desk and the API (gateway/web/auth.h). Passwords are
 * read from stdin, never from the command line, where other users of the
 * machine could see them. */
#include "gateway/cli/cli.h"
#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/store/store-users.h"
#include "gateway/web/auth.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	char *role, *email, *display_name, *label;
	gboolean json;
} UserOptions;

static int fail(const char *verb, const GError *error)
{
	dk_cli_error("user %s: %s", verb, error->message);
	if (g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND))
		return DK_EXIT_NOINPUT;
	return dk_error_is_temporary(error) ? DK_EXIT_TEMPFAIL : DK_EXIT_DATAERR;
}

/* The first line of stdin, without its newline. */
static char *read_password(void)
{
	char buf[2048];
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password: ");
	if (fgets(buf, sizeof buf, stdin) == NULL)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	return g_strdup(buf);
}

static gboolean role_of(const char *name, DkUserRole *role_out)
{
	if (dk_user_role_parse(name, role_out))
		return TRUE;
	dk_cli_error("user: role “%s” is none of read_only, agent, admin", name ? name : "");
	return FALSE;
}

static void list_print(GPtrArray *users, gboolean as_json)
{
	g_autoptr(json_t) arr = json_array();
	for (guint i = 0; i < users->len; i++) {
		const DkUser *u = g_ptr_array_index(users, i);
		if (as_json)
			json_array_append_new(arr,
			                      json_pack("{ss ss ss? ss? sb}", "name", u->name,
			                                "role", dk_user_role_name(u->role), "email",
			                                u->email, "display_name", u->display_name,
			                                "disabled", u->disabled));
		else
			printf("%-20s %-9s %-30s %s\n", u->name, dk_user_role_name(u->role),
			       u->email ? u->email : "-", u->disabled ? "disabled" : "");
	}
	if (as_json) {
		g_autoptr(json_t) doc = json_pack("{sO}", "users", arr);
		g_autofree char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(text);
	}
}

/* `user tokens NAME`: id, label, created, and whether revoked. */
static int tokens_print(DkStore *store, const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkUserRow) user = dk_store_user_get(store, name, &error);
	g_autoptr(GPtrArray) rows = user ? dk_store_tokens(store, user->id, &error) : NULL;
	if (rows == NULL)
		return fail("tokens", error);
	for (guint i = 0; i < rows->len; i++) {
		const DkTokenRow *t = g_ptr_array_index(rows, i);
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t->created_at);
		g_autofree char *when = g_date_time_format_iso8601(dt);
		printf("%6" G_GINT64_FORMAT "  %-20s  %s%s\n", t->id, when,
		       t->label ? t->label : "-", t->revoked_at ? "  (revoked)" : "");
	}
	return DK_EXIT_OK;
}

/* The verbs that change something, in one transaction. */
static gboolean change(DkStore *store, const UserOptions *o, char **argv, GError **error)
{
	const char *verb = argv[1], *name = argv[2];
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	DkUserRole role = DK_USER_AGENT;
	if (strcmp(verb, "add") == 0)
		return (o->role == NULL || dk_user_role_parse(o->role, &role)) &&
		       dk_auth_user_add(store, name, role, o->email, o->display_name, now, NULL,
		                        error);
	if (strcmp(verb, "role") == 0)
		return dk_user_role_parse(argv[3], &role) &&
		       dk_auth_user_set_role(store, name, role, error);
	if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0)
		return dk_auth_user_set_disabled(store, name, strcmp(verb, "disable") == 0, error);
	if (strcmp(verb, "password") == 0) {
		g_autofree char *password = read_password();
		if (password != NULL)
			return dk_auth_password_set(store, name, password, error);
		g_set_error(error, DK_ERROR, DK_ERROR_PERMANENT, "no password on stdin");
		return FALSE;
	}
	if (strcmp(verb, "revoke") == 0) {
		gint64 id = 0;
		if (!g_ascii_string_to_signed(name, 10, 1, G_MAXINT64, &id, error))
			return FALSE;
		return dk_auth_token_revoke(store, id, error);
	}
	g_autofree char *token = NULL;
	gint64 id = 0;
	if (!dk_auth_token_create(store, name, o->label, now, &token, &id, error))
		return FALSE;
	/* Shown once: the store keeps only its hash. */
	printf("%s\n", token);
	fprintf(stderr,
	        "docket: token %" G_GINT64_FORMAT " for %s (revoke with `docket user "
	        "revoke %" G_GINT64_FORMAT "`)\n",
	        id, name, id);
	return TRUE;
}

static gboolean usage_ok(int argc, char **argv, const UserOptions *o)
{
	static const char *const one[] = {"add",   "password", "disable", "enable",
	                                  "token", "tokens",   "revoke",  NULL};
	const char *verb = argc > 1 ? argv[1] : "";
	DkUserRole role;
	if (strcmp(verb, "list") == 0 && argc == 2)
		return TRUE;
	if (strcmp(verb, "role") == 0 && argc == 4)
		return role_of(argv[3], &role);
	if (g_strv_contains(one, verb) && argc == 3)
		return strcmp(verb, "add") != 0 || o->role == NULL || role_of(o->role, &role);
	dk_cli_error("user: expected list, add NAME, password NAME, role NAME ROLE, disable NAME, "
	             "enable NAME, token NAME, tokens NAME or revoke ID (see --help)");
	return FALSE;
}

static void options_clear(UserOptions *o)
{
	g_free(o->role);
	g_free(o->email);
	g_free(o->display_name);
	g_free(o->label);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(UserOptions, options_clear)

int dk_cmd_user(int argc, char **argv)
{
	g_auto(UserOptions) o = {0};
	const GOptionEntry entries[] = {
	    {"role", 0, 0, G_OPTION_ARG_STRING, &o.role,
	     "add: read_only, agent (the default) or admin", "ROLE"},
	    {"email", 0, 0, G_OPTION_ARG_STRING, &o.email,
	     "add: the address the user's replies are sent as", "ADDR"},
	    {"name", 0, 0, G_OPTION_ARG_STRING, &o.display_name, "add: the display name", "NAME"},
	    {"label", 0, 0, G_OPTION_ARG_STRING, &o.label, "token: what the token is for", "TEXT"},
	    {"json", 0, 0, G_OPTION_ARG_NONE, &o.json, "list: print JSON", NULL},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new(
	    "list | add NAME | password NAME | role NAME ROLE | disable NAME | enable NAME | "
	    "token NAME | tokens NAME | revoke ID");
	g_option_context_set_summary(
	    context, "The users of the web desk and the API, with their roles: read_only\n"
	             "(reads), agent (works tickets, retries the outbox), admin (also\n"
	             "reprocesses the quarantine). password reads the new password from\n"
	             "stdin (Argon2id-hashed; ends the user's sessions); token prints a new\n"
	             "API token once (\"Authorization: Bearer TOKEN\"); tokens lists a user's\n"
	             "tokens by id (never their secret); revoke ID ends one.");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_add_main_entries(context, dk_cli_config_entries, NULL);
	if (!dk_cli_parse_options(context, &argc, &argv) || !usage_ok(argc, argv, &o))
		return DK_EXIT_USAGE;
	g_autoptr(DkConfig) config = NULL;
	g_autoptr(DkStore) store = NULL;
	gboolean reads = strcmp(argv[1], "list") == 0 || strcmp(argv[1], "tokens") == 0;
	int rc = dk_cli_open("user", !reads, &config, &store);
	if (rc != DK_EXIT_OK)
		return rc;
	if (strcmp(argv[1], "tokens") == 0)
		return tokens_print(store, argv[2]);
	g_autoptr(GError) error = NULL;
	if (strcmp(argv[1], "list") == 0) {
		g_autoptr(GPtrArray) users = dk_auth_user_list(store, &error);
		if (users == NULL)
			return fail("list", error);
		list_print(users, o.json);
		return DK_EXIT_OK;
	}
	if (!dk_store_begin(store, &error))
		return fail(argv[1], error);
	if (!change(store, &o, argv, &error)) {
		dk_store_rollback(store);
		return fail(argv[1], error);
	}
	if (!dk_store_commit(store, &error))
		return fail(argv[1], error);
	return DK_EXIT_OK;
}
