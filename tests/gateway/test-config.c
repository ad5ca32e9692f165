/* Tests of docket.conf reading and validation: defaults, values, a table
 * of bad files each with the message it must give (file, line, key and
 * why), every error of a file at once, and the files that stay valid. */
#include "dk-test.h"
#include "gateway/config-private.h"
#include "gateway/config.h"
#include "gateway/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

/* A folder with the files the configurations below name: @DIR@ in a
 * configuration text stands for it. */
typedef struct {
	char *dir;
} Fixture;

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_cmpint(chmod(path, mode), ==, 0);
}

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = dk_test_tmpdir();
	write_file(f->dir, "secret-0600", "pw\n", 0600);
	write_file(f->dir, "secret-0644", "pw\n", 0644);
	write_file(f->dir, "good.sieve", "require \"fileinto\";\nfileinto \"it\";\n", 0644);
	write_file(f->dir, "bad.sieve", "require \"fileinto\";\nfileinto \"it\"\n", 0644);
	write_file(f->dir, "holidays", "2026-12-25 Christmas\n", 0644);
	write_file(f->dir, "bad-holidays", "2026-12-25\nnext tuesday\n", 0644);
	g_autofree char *templates = g_build_filename(f->dir, "templates", NULL);
	g_assert_cmpint(g_mkdir(templates, 0755), ==, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static char *expand(const Fixture *f, const char *text)
{
	g_auto(GStrv) parts = g_strsplit(text, "@DIR@", -1);
	return g_strjoinv(f->dir, parts);
}

/* Loads text as the file name.conf in the fixture folder. */
static DkConfig *load(const Fixture *f, const char *text, GError **error)
{
	g_autofree char *expanded = expand(f, text);
	g_autofree char *path = g_build_filename(f->dir, "docket.conf", NULL);
	g_assert_true(g_file_set_contents(path, expanded, -1, NULL));
	return dk_config_load(path, error);
}

static void test_defaults(void **state)
{
	g_unsetenv("DOCKET_CONFIG");
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c = dk_config_load(NULL, &error);
	assert_non_null(c);
	assert_null(dk_config_path(c));
	assert_string_equal(dk_config_get_string(c, "store", "data_dir"), "./var");
	assert_int_equal(dk_config_get_int(c, "store", "inline_max"), 256 * 1024);
	assert_int_equal(dk_config_get_int(c, "intake", "max_message_size"), 64 << 20);
	assert_false(dk_config_get_bool(c, "log", "syslog"));
	assert_string_equal(dk_config_get_string(c, "threading", "token_prefix"), "docket");
	/* The embedded defaults send nothing: said once, where to look. */
	const char *const *notes = dk_config_notes(c);
	assert_non_null(notes[0]);
	assert_non_null(strstr(notes[0], "var/outbox-maildir"));
	assert_non_null(strstr(notes[0], "[smtp] url"));
	assert_null(notes[1]);
}

/* The validator leaves the defaults a file does not set unchecked: each
 * default that has a check must pass it when a file sets it (an instance
 * section alone may lack its other keys: only errors of the key count). */
static void test_defaults_valid(void **state)
{
	int checked = 0;
	for (gsize i = 0; i < dk_conf_schema_len; i++) {
		const DkConfKey *k = &dk_conf_schema[i];
		if (k->check == DK_CHECK_NONE || *k->value == '\0')
			continue;
		g_auto(GStrv) parts = g_strsplit(k->section, "*", 2);
		g_autofree char *section = g_strjoinv("test", parts);
		g_autofree char *text =
		    g_strdup_printf("[%s]\n%s = %s\n", section, k->key, k->value);
		g_autofree char *mark = g_strdup_printf(":2: [%s] %s:", section, k->key);
		g_autoptr(GError) error = NULL;
		g_autoptr(DkConfig) c = load(*state, text, &error);
		if (error != NULL &&
		    (strstr(section, ":test") == NULL || strstr(error->message, mark) != NULL))
			fail_msg("[%s] %s = %s: %s", section, k->key, k->value, error->message);
		checked++;
	}
	assert_true(checked > 10);
}

static void test_values(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c =
	    load(*state,
	         "# a comment\n[store]\ndata_dir = /srv/docket\ninline_max = 1M\n"
	         "[log]\nsyslog = yes\ntrace = lmtp, rules ,,\n; another\n"
	         "[parse]\nmax_depth=7\n",
	         &error);
	assert_null(error);
	assert_string_equal(dk_config_get_string(c, "store", "data_dir"), "/srv/docket");
	assert_int_equal(dk_config_get_int(c, "store", "inline_max"), 1 << 20);
	assert_true(dk_config_get_bool(c, "log", "syslog"));
	assert_int_equal(dk_config_get_int(c, "parse", "max_depth"), 7);
	g_auto(GStrv) trace = dk_config_get_list(c, "log", "trace");
	assert_int_equal(g_strv_length(trace), 2);
	assert_string_equal(trace[0], "lmtp");
	assert_string_equal(trace[1], "rules");
	/* Keys not in the file keep their defaults. */
	assert_string_equal(dk_config_get_string(c, "threading", "token_prefix"), "docket");
	assert_int_equal(dk_config_line(c, "parse", "max_depth"), 10);
	assert_int_equal(dk_config_line(c, "parse", NULL), 9);
}

static void test_env(void **state)
{
	Fixture *f = *state;
	g_autoptr(DkConfig) first = load(f, "[threading]\ntoken_prefix = ACME\n", NULL);
	g_setenv("DOCKET_CONFIG", dk_config_path(first), TRUE);
	g_autoptr(DkConfig) c = dk_config_load(NULL, NULL);
	g_unsetenv("DOCKET_CONFIG");
	assert_non_null(c);
	assert_string_equal(dk_config_get_string(c, "threading", "token_prefix"), "ACME");
}

/* Each bad file gives an error naming the file and containing every
 * expected fragment; the first fragment is the line and key. */
static const struct {
	const char *text;
	const char *fragments[3];
} bad[] = {
    /* What `config check` let pass and docket refused or misread later. */
    {"[lmtp]\nrecipients = a@x.example b@x.example\n",
     {":2: [lmtp] recipients:", "“a@x.example b@x.example” is not one address", "commas"}},
    {"[lmtp]\nlisten = 127.0.0.1\n", {":2: [lmtp] listen:", "has no port", "IP:PORT"}},
    {"[lmtp]\nlisten = localhost:99999\n", {":2: [lmtp] listen:", "“99999”", "0 to 65535"}},
    {"[lmtp]\nlisten = localhost:2424\n",
     {":2: [lmtp] listen:", "“localhost” is not an IP", "127.0.0.1"}},
    {"[imap:x]\nuser = u\npassword = p\n", {":1: [imap:x]:", "host is not set", NULL}},
    {"[imap:x]\nhost = h\nuser = u\npassword_file = @DIR@/secret-0644\n",
     {":4: [imap:x] password_file:", "mode 0644 lets other users read it", "chmod 600"}},
    {"[smtp]\nurl = smtp://relay.example:587\nuser = u\npassword_file = @DIR@/secret-0644\n",
     {":4: [smtp] password_file:", "mode 0644", "chmod 600"}},
    {"[lmtp]\nmax_recipients = 5\nhostname = a.example\nmax_recipients = 6\n",
     {":4: [lmtp] max_recipients:", "set twice", "first on line 2"}},
    {"[lmtp]\nmax_recipients = 5\n[store]\ninline_max = 1K\n[lmtp]\nmax_recipients = 6\n",
     {":6: [lmtp] max_recipients:", "set twice", "first on line 2"}},
    {"[notify]\ntemplates_dir = @DIR@/nonexistent\n",
     {":2: [notify] templates_dir:", "nonexistent is not a directory", NULL}},
    {"[agents]\naddresses = bob at msp.test\n",
     {":2: [agents] addresses:", "“bob at msp.test” is not a mail address", NULL}},
    {"[sla]\nhigh = 1h\n", {":2: [sla] high:", "“1h” is not a target", "15m/4h"}},
    {"[queue:billing]\ntimezone = Mars/Olympus\n",
     {":2: [queue:billing] timezone:", "Mars/Olympus", NULL}},
    {"[sla]\nbusiness_hours = mon-fri 9-5\n", {":2: [sla] business_hours:", "mon-fri 9-5", NULL}},
    {"[sla]\nholidays = 2026-13-45\n", {":2: [sla] holidays:", "2026-13-45", NULL}},
    {"[sla]\nholidays_file = @DIR@/bad-holidays\n",
     {":2: [sla] holidays_file:", "bad-holidays:2", NULL}},
    {"[sla]\nholidays_file = @DIR@/nope\n",
     {":2: [sla] holidays_file:", "nope does not exist", NULL}},
    {"\n[rules]\nscript = @DIR@/missing.sieve\n",
     {":3: [rules] script:", "missing.sieve does not exist", NULL}},
    {"[rules]\nscript = @DIR@/bad.sieve\n", {":2: [rules] script:", "bad.sieve:3:", NULL}},
    /* docket's words, not GLib's. */
    {"data_dir = /x\n", {":1: “data_dir = …” comes before any [section]", NULL, NULL}},
    {"[store]\njust some words\n", {":2: expected", "“just some words”", NULL}},
    {"[store\n", {":1: “[store” is not a section header", NULL, NULL}},
    {"[store]\ndata dir = x\n", {":2: [store]: “data dir” is not a key name", NULL, NULL}},
    {"[store]\n\xff\xfe = x\n", {":2: the line is not UTF-8", NULL, NULL}},
    /* The nearest known name. */
    {"[lmtp]\nrecipient = a@x.example\n",
     {":2: unknown key “recipient” in [lmtp]", "did you mean “recipients”?", NULL}},
    {"[lmtp]\nstarttls = required\n",
     {":2: unknown key “starttls” in [lmtp]", "“starttls” belongs in [smtp]", NULL}},
    /* a key of a named section's, whose name is the administrator's */
    {"[intake]\nhost = imap.example.org\n",
     {":2: unknown key “host” in [intake]", "“host” belongs in [imap:NAME]", NULL}},
    {"\n\n[nonsense]\na = b\n", {":3: unknown section [nonsense]", NULL, NULL}},
    {"[lmpt]\nlisten = 127.0.0.1:1\n",
     {":1: unknown section [lmpt]", "did you mean [lmtp]?", NULL}},
    {"[imap]\nhost = h\n",
     {":1: unknown section [imap]", "[imap:NAME] section needs its NAME", NULL}},
    /* Types and ranges. */
    {"[store]\ninline_max = lots\n", {":2: [store] inline_max:", "not a size", NULL}},
    {"[parse]\nmax_depth = 0\n", {":2: [parse] max_depth:", "out of range", NULL}},
    {"[parse]\nmax_depth = 12x\n", {":2: [parse] max_depth:", "not an integer", NULL}},
    {"[log]\nsyslog = maybe\n", {":2: [log] syslog:", "not true or false", NULL}},
    {"[log]\nlevel = loud\n", {":2: [log] level:", "not one of error|warning|info|debug", NULL}},
    {"[smtp]\nstarttls = optional\n",
     {":2: [smtp] starttls:", "“optional” is not one of", "insecure-optional"}},
    {"[imap:x]\nhost = h\nuser = u\npassword = p\nafter = move ; or flag\n",
     {":5: [imap:x] after:", "comment must stand on a line of its own", NULL}},
    /* Addresses, hosts, URLs, files, modes. */
    {"[notify]\nfrom = Support <s@x.example>\n",
     {":2: [notify] from:", "not a plain mail address", NULL}},
    {"[notify]\nteam_addresses = a@x.example, b@\n",
     {":2: [notify] team_addresses:", "“b@”", NULL}},
    {"[parse]\nown_domains = x.example y.example\n",
     {":2: [parse] own_domains:", "not one domain", "commas"}},
    {"[lmtp]\nrecipients = *@\n", {":2: [lmtp] recipients:", "*@", NULL}},
    {"[http]\nlisten = 9424\n", {":2: [http] listen:", "has no port", NULL}},
    {"[lmtp]\nlisten = unix:\n", {":2: [lmtp] listen:", "needs a path", NULL}},
    {"[lmtp]\nunix_mode = 0999\n", {":2: [lmtp] unix_mode:", "octal", NULL}},
    {"[lmtp]\nunix_group = no-such-group-here\n", {":2: [lmtp] unix_group:", "no group", NULL}},
    {"[parse]\nfallback_charset = klingon-8\n",
     {":2: [parse] fallback_charset:", "klingon-8", NULL}},
    {"[smtp]\nurl = relay.example:587\n", {":2: [smtp] url:", "smtp://HOST:PORT", NULL}},
    {"[smtp]\nurl = smtp://r.example\nuser = u\n",
     {":3: [smtp] user:", "needs password or password_file", NULL}},
    {"[smtp]\nurl = smtp://r.example\npassword = p\n",
     {":3: [smtp] password:", "user is not", NULL}},
    {"[notify]\ntransport = smtp\n", {":2: [notify] transport:", "needs [smtp] url", NULL}},
    {"[notify]\ntransport = sendmail\nsendmail = /nonexistent/sendmail\n",
     {":3: [notify] sendmail:", "not an executable", NULL}},
    {"[notify]\nretry_initial_seconds = 600\nretry_max_seconds = 60\n",
     {":2: [notify] retry_initial_seconds:", "larger than retry_max_seconds", NULL}},
    {"[threading]\nreply_addresses = true\n",
     {":2: [threading] reply_addresses:", "needs reply_address", NULL}},
    {"[threading]\ntoken_prefix = my desk\n", {":2: [threading] token_prefix:", "one word", NULL}},
    {"[foreign:acme]\npattern = ACME-[0-9]+\n",
     {":2: [foreign:acme] pattern:", "capture group", NULL}},
    {"[foreign:acme]\npattern = (\n",
     {":2: [foreign:acme] pattern:", "not a regular expression", NULL}},
    {"[imap:x]\nhost = h\nuser = u\npassword = p\npassword_file = @DIR@/secret-0600\n",
     {":5: [imap:x] password_file:", "not both", NULL}},
    {"[imap:x]\nhost = h\nuser = u\n",
     {":1: [imap:x]:", "password (or password_file) is not set", NULL}},
    {"[imap:x]\nhost = h\nuser = u\npassword = p\noauth_scope = s\n",
     {":5: [imap:x] oauth_scope:", "only with auth = xoauth2", NULL}},
    {"[imap:x]\nhost = h\nuser = u\nauth = xoauth2\noauth_client_id = c\n",
     {":1: [imap:x]:", "oauth_token_url is not set", NULL}},
    {"[imap:x]\nhost = h\nuser = u\nauth = xoauth2\noauth_client_id = c\n"
     "oauth_token_url = http://login.example/token\n",
     {":6: [imap:x] oauth_token_url:", "without TLS", "https://"}},
    {"[imap:x]\nhost = h\nuser = u\nauth = xoauth2\noauth_client_id = c\noauth_grant = "
     "client_credentials\n"
     "oauth_token_url = https://login.example/token\noauth_client_secret = s\n",
     {":6: [imap:x] oauth_grant:", "needs oauth_scope", NULL}},
    {"[imap:x]\nhost = h\nuser = u\npassword = p\nfolders = ,\n",
     {":5: [imap:x] folders:", "names no folder", NULL}},
    {"[imap:x]\nhost = h\nuser = u\npassword = p\nca_file = @DIR@/nope.pem\n",
     {":5: [imap:x] ca_file:", "nope.pem does not exist", NULL}},
    {"[connector:desk]\ntype = webhook\n", {":1: [connector:desk]:", "base_url is not set", NULL}},
    {"[connector:desk]\nbase_url = http://desk.example/hook\n",
     {":2: [connector:desk] base_url:", "without TLS", "insecure_http = true"}},
    {"[connector:desk]\nbase_url = https://d.example\nstatus_map = waiting = Parked, bogus\n",
     {":3: [connector:desk] status_map:", "“bogus” is not NAME=VALUE", NULL}},
    {"[connector:desk]\nbase_url = https://d.example\npriority_map = urgent=P1\n",
     {":3: [connector:desk] priority_map:", "“urgent” is not a ticket priority", NULL}},
    {"[store]\ndata_dir =\n", {":2: [store] data_dir:", "must not be empty", NULL}},
    /* [store] backend = postgresql: its URL, its TLS, its password. */
    {"[store]\nbackend = mysql\n", {":2: [store] backend:", "not one of sqlite|postgresql", NULL}},
    {"[store]\nbackend = postgresql\n", {":2: [store] backend:", "postgresql needs url", NULL}},
    {"[store]\nbackend = postgresql\nurl = mysql://db.example/docket\n",
     {":3: [store] url:", "is not a PostgreSQL URL", "postgresql://"}},
    {"[store]\nbackend = postgresql\nurl = postgres://db.example/docket\n",
     {":3: [store] url:", "is not a PostgreSQL URL", NULL}},
    {"[store]\nbackend = postgresql\nurl = postgresql://docket:s3cret@db.example/docket\n",
     {":3: [store] url:", "holds a password", "password_file"}},
    {"[store]\nbackend = postgresql\nurl = postgresql://db.example/d?sslmode=verify-full&"
     "password=s3cret\n",
     {":3: [store] url:", "holds a password (password=)", "password_file"}},
    {"[store]\nbackend = postgresql\nurl = postgresql://db.example/d?sslmode=verify%zzull\n",
     {":3: [store] url:", "sslmode=verify%zzull", "two hex digits"}},
    {"[store]\nbackend = postgresql\nurl = postgresql://db.example/docket\n",
     {":3: [store] url:", "sslmode=prefer does not prove the server", "insecure_tls = true"}},
    {"[store]\nbackend = postgresql\nurl = postgresql://db.example/docket?sslmode=require\n",
     {":3: [store] url:", "sslmode=require does not prove", "sslmode=verify-full"}},
    {"[store]\nbackend = postgresql\nurl = postgresql://db.example/docket?sslmode=verify-full\n",
     {":3: [store] url:", "without sslrootcert", NULL}},
    {"[store]\nbackend = postgresql\nurl = postgresql:///docket?host=/run/pg&hostaddr=10.0.0.1\n",
     {":3: [store] url:", "sslmode=prefer does not prove", NULL}},
    {"[store]\nbackend = postgresql\nurl = postgresql://%2Frun%2Fpg/d?host=db.example\n",
     {":3: [store] url:", "sslmode=prefer does not prove", NULL}},
    {"[store]\nbackend = postgresql\nurl = postgresql://db.example/docket?sslmode=verify-full&"
     "sslrootcert=@DIR@/nope.crt\n",
     {":3: [store] url:", "sslrootcert=", "nope.crt is not a file"}},
    {"[store]\nbackend = postgresql\nurl = postgresql://%2Frun%2Fpg/docket\n"
     "password_file = @DIR@/secret-0644\n",
     {":4: [store] password_file:", "mode 0644", "chmod 600"}},
    {"[store]\nurl = postgresql://%2Frun%2Fpg/docket\n",
     {":2: [store] url:", "is used only with backend = postgresql", NULL}},
    {"[store]\ninsecure_tls = true\n",
     {":2: [store] insecure_tls:", "is used only with backend = postgresql", NULL}},
};

static void test_bad_files(void **state)
{
	Fixture *f = *state;
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DkConfig) c = load(f, bad[i].text, &error);
		if (c != NULL)
			fail_msg("case %zu (%s) loaded", i, bad[i].fragments[0]);
		assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
		g_autofree char *path = g_build_filename(f->dir, "docket.conf", NULL);
		if (!g_str_has_prefix(error->message, path))
			fail_msg("case %zu: “%s” does not start with the file", i, error->message);
		for (int k = 0; k < 3 && bad[i].fragments[k] != NULL; k++) {
			if (strstr(error->message, bad[i].fragments[k]) == NULL)
				fail_msg("case %zu: “%s” lacks “%s”", i, error->message,
				         bad[i].fragments[k]);
		}
		/* One problem, one line. */
		if (strchr(error->message, '\n') != NULL)
			fail_msg("case %zu: more than one error: %s", i, error->message);
	}
}

/* Every error of a file at once, in the order of the lines. */
static void test_every_error_at_once(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c =
	    load(*state,
	         "[lmtp]\nrecipients = a@x.example b@x.example\nlisten = 127.0.0.1\n"
	         "[imap:x]\nuser = u\npassword_file = @DIR@/secret-0644\n"
	         "[agents]\naddresses = bob at msp.test\n[lmtp]\nrecipient = y\n",
	         &error);
	assert_null(c);
	g_auto(GStrv) lines = g_strsplit(error->message, "\n", -1);
	static const char *const expected[] = {
	    ":2: [lmtp] recipients:",        ":3: [lmtp] listen:",
	    ":4: [imap:x]: host is not set", ":6: [imap:x] password_file:",
	    ":8: [agents] addresses:",       ":10: unknown key “recipient”"};
	assert_int_equal(g_strv_length(lines), G_N_ELEMENTS(expected));
	for (guint i = 0; i < G_N_ELEMENTS(expected); i++)
		if (strstr(lines[i], expected[i]) == NULL)
			fail_msg("line %u: “%s” lacks “%s”", i, lines[i], expected[i]);
}

/* Files that were valid stay valid, and lists read as documented. */
static void test_good_files(void **state)
{
	static const char *const good[] = {
	    "[lmtp]\nrecipients = a@x.example ,*@y.example,\nlisten = 127.0.0.1:0, [::1]:2424, "
	    "unix:@DIR@/lmtp\n",
	    "[imap:x]\nhost = imap.example.com\nuser = support\npassword_file = @DIR@/secret-0600\n"
	    "folders = INBOX, Sent Items\nafter = flag\n",
	    "[imap:o]\nhost = 127.0.0.1\nuser = u\nauth = xoauth2\noauth_client_id = c\n"
	    "oauth_token_url = http://127.0.0.1:8080/token\noauth_refresh_token = r\n",
	    "[imap:app]\nhost = outlook.office365.com\nuser = shared@x.example\nauth = xoauth2\n"
	    "oauth_grant = client_credentials\noauth_client_id = c\noauth_client_secret_file = "
	    "@DIR@/secret-0600\noauth_token_url = https://login.example/t\n"
	    "oauth_scope = https://outlook.office365.com/.default\n",
	    "[rules]\nscript = @DIR@/good.sieve\n[sla]\nholidays_file = @DIR@/holidays\n"
	    "business_hours = mon-fri 09:00-17:00, sat 10:00-13:00\ntimezone = Europe/Berlin\n",
	    "[notify]\ntemplates_dir = @DIR@/templates\nfrom = help@x.example\n"
	    "team_addresses = t@x.example\n",
	    "[connector:w]\nbase_url = http://127.0.0.1:9/hook\nstatus_map = waiting = Waiting for "
	    "parts\norganisation_map = x.example=3, *=1\n",
	    "[foreign:acme]\npattern = ACME-([0-9]{4,})\n[http]\nlisten = 127.0.0.1:0\n",
	    "[smtp]\nurl = smtps://relay.example:465\nuser = u\npassword = p\n",
	    "[store]\nbackend = postgresql\nurl = postgresql://docket@db.example:5433,[::1]:5432/"
	    "docket?sslmode=verify-full&sslrootcert=@DIR@/secret-0600&application_name=x\n"
	    "password_file = @DIR@/secret-0600\n",
	    "[store]\nbackend = postgresql\nurl = "
	    "postgresql://docket@%2Fvar%2Frun%2Fpostgresql/d\n",
	    "[store]\nbackend = postgresql\nurl = postgresql:///docket?host=/run/pg,@abstract\n",
	    "[store]\nbackend = postgresql\nurl = postgresql://\n",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DkConfig) c = load(*state, good[i], &error);
		if (c == NULL)
			fail_msg("case %zu: %s", i, error->message);
	}
	g_autoptr(DkConfig) c = load(*state, good[0], NULL);
	g_auto(GStrv) recipients = dk_config_get_list(c, "lmtp", "recipients");
	assert_int_equal(g_strv_length(recipients), 2);
	assert_string_equal(recipients[1], "*@y.example");
	g_autoptr(DkConfig) x = load(*state, good[1], NULL);
	g_auto(GStrv) folders = dk_config_get_list(x, "imap:x", "folders");
	assert_string_equal(folders[1], "Sent Items");
}

/* What a valid file still deserves to be told. */
static void test_notes(void **state)
{
	g_autoptr(DkConfig) c =
	    load(*state,
	         "[smtp]\nurl = smtp://relay.example:587\nstarttls = insecure-optional\n"
	         "[imap:x]\nhost = h\nuser = u\npassword = p\ntls = insecure-plain\n",
	         NULL);
	assert_non_null(c);
	const char *const *notes = dk_config_notes(c);
	assert_int_equal(g_strv_length((char **)notes), 2);
	assert_non_null(strstr(notes[0], "insecure: [smtp] starttls = insecure-optional"));
	assert_non_null(strstr(notes[1], "insecure: [imap:x] tls = insecure-plain"));
	g_autoptr(DkConfig) pg = load(*state,
	                              "[store]\nbackend = postgresql\ninsecure_tls = true\n"
	                              "url = postgresql://db.example/docket?sslmode=require\n",
	                              NULL);
	assert_non_null(pg);
	notes = dk_config_notes(pg);
	assert_non_null(strstr(notes[0], "insecure: [store] insecure_tls = true: sslmode=require"));
	assert_int_equal(dk_config_store_backend(pg), DK_STORE_BACKEND_POSTGRESQL);
	g_autoptr(DkConfig) d = dk_config_new_default();
	assert_int_equal(dk_config_store_backend(d), DK_STORE_BACKEND_SQLITE);
}

static void test_missing_file(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c = dk_config_load("/nonexistent/docket.conf", &error);
	assert_null(c);
	assert_string_equal(error->message, "/nonexistent/docket.conf: no such configuration file");
}

static void test_dump_roundtrip(void **state)
{
	g_autoptr(DkConfig) d = dk_config_new_default();
	g_autofree char *dump = dk_config_dump(d);
	assert_non_null(strstr(dump, "[store]\ndata_dir = ./var\n"));
	/* What dump prints is itself a valid configuration. */
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) again = load(*state, dump, &error);
	assert_null(error);
	g_autofree char *dump2 = dk_config_dump(again);
	assert_string_equal(dump, dump2);
}

/* The in-memory loader: the same reading as a file, the name in errors,
 * and a NUL byte refused rather than cutting the text short. */
static void test_load_data(void **state)
{
	(void)state;
	static const char text[] = "[store]\ninline_max = 1M\n[lmtp]\nmax_recipients = 7\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) c = dk_config_load_data(text, sizeof(text) - 1, "mem.conf", &error);
	assert_non_null(c);
	assert_string_equal(dk_config_path(c), "mem.conf");
	assert_int_equal(dk_config_get_int(c, "store", "inline_max"), 1 << 20);
	assert_int_equal(dk_config_get_int(c, "lmtp", "max_recipients"), 7);
	static const char nul[] = "[lmtp]\nmax_recipients = 7\0\n[nope]\n";
	g_autoptr(DkConfig) bad = dk_config_load_data(nul, sizeof(nul) - 1, "nul.conf", &error);
	assert_null(bad);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
	assert_non_null(strstr(error->message, "nul.conf"));
	g_clear_error(&error);
	g_autoptr(DkConfig) unknown = dk_config_load_data("[nope]\n", 7, "x.conf", &error);
	assert_null(unknown);
	assert_non_null(strstr(error->message, "x.conf:1: unknown section [nope]"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_defaults_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_error_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_good_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dump_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_data, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
