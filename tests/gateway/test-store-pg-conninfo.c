/* Tests of the libpq conninfo made of [store] url and password_file
 * (gateway/store/store-pg-conninfo.c): what libpq reads back from it. */
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/store/store-pg-conninfo.h"

#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
	char *dir;
	char *ca;       /* a file for sslrootcert */
	char *password; /* a 0600 file with an awkward password */
} Fixture;

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = dk_test_tmpdir();
	f->ca = g_build_filename(f->dir, "ca.crt", NULL);
	g_assert_true(g_file_set_contents(f->ca, "not checked here\n", -1, NULL));
	f->password = g_build_filename(f->dir, "pg.secret", NULL);
	dk_test_write_secret(f->password, "it's a \\ pass word\nsecond line\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f->ca);
	g_free(f->password);
	g_free(f);
	return 0;
}

/* A configuration of [store] with the lines given, @CA@ and @PW@ replaced. */
static DkConfig *config(Fixture *f, const char *lines)
{
	g_autoptr(GString) text = g_string_new("[store]\nbackend = postgresql\n");
	g_string_append(text, lines);
	g_string_replace(text, "@CA@", f->ca, 0);
	g_string_replace(text, "@PW@", f->password, 0);
	g_autoptr(GError) error = NULL;
	DkConfig *c = dk_config_load_data(text->str, text->len, "test.conf", &error);
	if (c == NULL)
		fail_msg("%s", error->message);
	return c;
}

/* The value of keyword in conninfo as libpq reads it, or NULL. */
static char *param(const char *conninfo, const char *keyword)
{
	char *why = NULL;
	PQconninfoOption *options = PQconninfoParse(conninfo, &why);
	if (options == NULL)
		fail_msg("libpq cannot read “%s”: %s", conninfo, why);
	char *value = NULL;
	for (PQconninfoOption *o = options; o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL)
			value = g_strdup(o->val);
	PQconninfoFree(options);
	return value;
}

static void assert_param(const char *conninfo, const char *keyword, const char *want)
{
	g_autofree char *have = param(conninfo, keyword);
	if (want == NULL && have != NULL)
		fail_msg("%s is set to “%s”", keyword, have);
	if (want != NULL && (have == NULL || strcmp(have, want) != 0))
		fail_msg("%s: “%s”, not “%s”", keyword, have ? have : "(unset)", want);
}

static void test_url_and_password(void **state)
{
	Fixture *f = *state;
	g_autoptr(DkConfig) c =
	    config(f, "url = postgresql://docket@db.example:5433,[::1]:5432/tickets"
	              "?sslmode=verify-full&sslrootcert=@CA@&connect_timeout=7\n"
	              "password_file = @PW@\n");
	g_autoptr(GError) error = NULL;
	g_autofree char *conninfo = dk_store_pg_conninfo(c, &error);
	assert_non_null(conninfo);
	assert_param(conninfo, "password", "it's a \\ pass word");
	assert_param(conninfo, "host", "db.example,::1");
	assert_param(conninfo, "port", "5433,5432");
	assert_param(conninfo, "user", "docket");
	assert_param(conninfo, "dbname", "tickets");
	assert_param(conninfo, "sslmode", "verify-full");
	assert_param(conninfo, "sslrootcert", f->ca);
	assert_param(conninfo, "connect_timeout", "7");
	assert_param(conninfo, "fallback_application_name", "docket");
}

/* A Unix socket's folder, no password file: libpq's own ways (peer,
 * ~/.pgpass) stand. */
static void test_socket_without_password(void **state)
{
	Fixture *f = *state;
	g_autoptr(DkConfig) c = config(f, "url = postgresql://docket@%2Frun%2Fpostgresql/docket\n");
	g_autoptr(GError) error = NULL;
	g_autofree char *conninfo = dk_store_pg_conninfo(c, &error);
	assert_non_null(conninfo);
	assert_param(conninfo, "host", "/run/postgresql");
	assert_param(conninfo, "password", NULL);
}

static void test_refused(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) error = NULL;
	/* a password file others may read, made so after the configuration
	 * was checked */
	g_autoptr(DkConfig) c = config(f, "url = postgresql://docket@%2Frun%2Fpg/docket\n"
	                                  "password_file = @PW@\n");
	assert_int_equal(chmod(f->password, 0644), 0);
	assert_null(dk_store_pg_conninfo(c, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
	assert_non_null(strstr(error->message, "[store] password_file: "));
	assert_non_null(strstr(error->message, "chmod 600"));
	g_clear_error(&error);
	/* no URL */
	g_autoptr(DkConfig) d = dk_config_new_default();
	assert_null(dk_store_pg_conninfo(d, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
	assert_non_null(strstr(error->message, "[store] url is not set"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_url_and_password, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_socket_without_password, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
