/* Tests of [imap:NAME] sections: defaults, ports by TLS mode, secrets in
 * files and the refusal of files others can read, and the errors for what
 * is missing. */
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/intake/imap-account.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

static int setup(void **state)
{
	*state = dk_test_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	dk_test_rmtree(*state);
	g_free(*state);
	return 0;
}

/* The account "a" of a configuration made of text; NULL and error when
 * the account is refused. */
static DkImapAccount *account(const char *dir, const char *text, GError **error)
{
	g_autofree char *path = g_build_filename(dir, "docket.conf", NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	/* The validator refuses a wrong section when it loads the file. */
	g_autoptr(DkConfig) config = dk_config_load(path, error);
	return config ? dk_imap_account_new(config, "a", error) : NULL;
}

static char *secret_file(const char *dir, const char *content, mode_t mode)
{
	char *path = g_build_filename(dir, "secret", NULL);
	g_assert_true(g_file_set_contents(path, content, -1, NULL));
	g_assert_cmpint(chmod(path, mode), ==, 0);
	return path;
}

static void test_defaults(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkImapAccount) a = account(
	    *state, "[imap:a]\nhost = mail.example.com\nuser = support\npassword = pw\n", &error);
	assert_non_null(a);
	assert_string_equal(a->host, "mail.example.com");
	assert_int_equal(a->port, 993);
	assert_int_equal(a->tls, DK_IMAP_TLS_IMAPS);
	assert_int_equal(a->auth, DK_IMAP_AUTH_LOGIN);
	assert_null(a->ca_file);
	assert_string_equal(a->password, "pw");
	assert_string_equal(a->folders[0], "INBOX");
	assert_null(a->folders[1]);
	assert_true(a->move);
	assert_true(a->idle);
	assert_int_equal(a->batch_size, 50);
	assert_true(a->idle_renew_seconds < 29 * 60);
}

static void test_starttls_folders_flag(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkImapAccount) a =
	    account(*state,
	            "[imap:a]\nhost = h\nuser = u\npassword = p\ntls = starttls\n"
	            "folders = INBOX, Support/Urgent ,\nafter = flag\nauth = plain\n",
	            &error);
	assert_non_null(a);
	assert_int_equal(a->port, 143);
	assert_int_equal(a->auth, DK_IMAP_AUTH_PLAIN);
	assert_false(a->move);
	assert_string_equal(a->folders[1], "Support/Urgent");
	assert_null(a->folders[2]);
}

static void test_password_file(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *path = secret_file(*state, "from-file \nsecond line\n", 0600);
	g_autofree char *text =
	    g_strdup_printf("[imap:a]\nhost = h\nuser = u\npassword_file = %s\n", path);
	g_autoptr(DkImapAccount) a = account(*state, text, &error);
	assert_non_null(a);
	assert_string_equal(a->password, "from-file");
	for (mode_t mode = 0640; mode != 0; mode = mode == 0640 ? 0604 : 0) {
		chmod(path, mode);
		g_autoptr(DkImapAccount) b = account(*state, text, &error);
		assert_null(b);
		assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
		assert_non_null(strstr(error->message, "lets other users read it"));
		assert_non_null(strstr(error->message, "[imap:a] password_file"));
		g_clear_error(&error);
	}
}

static void test_refusals(void **state)
{
	static const struct {
		const char *text;
		const char *says;
	} cases[] = {
	    {"[imap:a]\nuser = u\npassword = p\n", "host is not set"},
	    {"[imap:a]\nhost = h\npassword = p\n", "user is not set"},
	    {"[imap:a]\nhost = h\nuser = u\n", "password (or password_file) is not set"},
	    {"[imap:a]\nhost = h\nuser = u\npassword = p\npassword_file = /nonexistent\n",
	     "not both"},
	    {"[imap:a]\nhost = h\nuser = u\npassword_file = /nonexistent/pw\n",
	     "cannot open secret file"},
	    {"[imap:a]\nhost = h\nuser = u\nauth = xoauth2\noauth_client_id = "
	     "c\noauth_refresh_token = r\n",
	     "oauth_token_url"},
	    {"[imap:a]\nhost = h\nuser = u\npassword = p\nfolders = ,\n",
	     "folders: names no folder"},
	    {"[imap:b]\nhost = h\nuser = u\npassword = p\n", "no [imap:a] section"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DkImapAccount) a = account(*state, cases[i].text, &error);
		assert_null(a);
		assert_non_null(error);
		if (strstr(error->message, cases[i].says) == NULL)
			fail_msg("case %u: “%s” does not say “%s”", i, error->message,
			         cases[i].says);
	}
}

static void test_xoauth2(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkImapAccount) a = account(*state,
	                                     "[imap:a]\nhost = h\nuser = u\nauth = xoauth2\n"
	                                     "oauth_token_url = https://login.example.com/token\n"
	                                     "oauth_client_id = cid\noauth_refresh_token = rt\n",
	                                     &error);
	assert_non_null(a);
	assert_null(a->password);
	assert_null(a->oauth_client_secret);
	assert_string_equal(a->oauth_refresh_token, "rt");
}

static char *replace(const char *text, const char *old, const char *new)
{
	g_auto(GStrv) parts = g_strsplit(text, old, -1);
	return g_strjoinv(new, parts);
}

/* The refresh token docket keeps: written 0600 in a 0700 folder; used
 * while it replaces the configured token, and not once the configuration
 * names another one. */
static void test_stored_refresh_token(void **state)
{
	g_autofree char *text = g_strdup_printf(
	    "[store]\ndata_dir = %s/var\n[imap:a]\nhost = h\nuser = u\nauth = xoauth2\n"
	    "oauth_token_url = https://login.example.com/token\noauth_client_id = cid\n"
	    "oauth_refresh_token = first\n",
	    (char *)*state);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkImapAccount) a = account(*state, text, &error);
	assert_non_null(a);
	assert_string_equal(a->oauth_refresh_token, "first");
	assert_true(dk_imap_oauth_token_store(a, "rotated", &error));
	assert_string_equal(a->oauth_refresh_token, "rotated");
	struct stat st;
	assert_int_equal(stat(a->oauth_token_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	g_autofree char *dir = g_path_get_dirname(a->oauth_token_path);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	g_autoptr(DkImapAccount) again = account(*state, text, &error);
	assert_string_equal(again->oauth_refresh_token, "rotated");
	/* The administrator writes a new token into the file: it wins. */
	g_autofree char *changed = replace(text, "= first", "= second");
	g_autoptr(DkImapAccount) b = account(*state, changed, &error);
	assert_string_equal(b->oauth_refresh_token, "second");
	/* None configured (after `docket imap authorize`): the stored one. */
	g_autofree char *none = replace(text, "oauth_refresh_token = first\n", "");
	g_autoptr(DkImapAccount) c = account(*state, none, &error);
	assert_string_equal(c->oauth_refresh_token, "rotated");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_starttls_folders_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_password_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_xoauth2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stored_refresh_token, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
