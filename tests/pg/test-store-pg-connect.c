/* [store] url and password_file against the fixture's cluster: the
 * conninfo dk_store_pg_conninfo() makes logs in over TLS that proves the
 * server, and a server that cannot prove its name is refused. */
#include "dk-test-pg.h"
#include "gateway/error.h"
#include "gateway/store/store-pg-conninfo.h"
#include "gateway/store/store-schema-pg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* The configuration of backend = postgresql with url and password_file. */
static DkConfig *config(const char *url, const char *password_file)
{
	g_autofree char *text = g_strdup_printf(
	    "[store]\nbackend = postgresql\nurl = %s\npassword_file = %s\n", url, password_file);
	g_autoptr(GError) error = NULL;
	DkConfig *c = dk_config_load_data(text, strlen(text), "test.conf", &error);
	if (c == NULL)
		fail_msg("%s", error->message);
	return c;
}

/* PQconnectdb on the conninfo of c. */
static PGconn *connect_config(DkConfig *c)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *conninfo = dk_store_pg_conninfo(c, &error);
	if (conninfo == NULL)
		fail_msg("%s", error->message);
	return PQconnectdb(conninfo);
}

/* The fixture's URL with the database, or the host part, replaced. */
static char *url_with(const char *from, const char *to)
{
	g_autoptr(GString) url = g_string_new(g_getenv("DOCKET_TEST_PG_URL"));
	assert_true(g_string_replace(url, from, to, 1) == 1);
	return g_string_free(g_steal_pointer(&url), FALSE);
}

static void test_connects_and_migrates(void **state)
{
	g_autofree char *db = dk_test_pg_create_database("docket_connect");
	g_autofree char *path = g_strdup_printf("/%s?", db);
	g_autofree char *url = url_with("/docket?", path);
	g_autoptr(DkConfig) c = config(url, g_getenv("DOCKET_TEST_PG_PASSWORD_FILE"));
	for (const char *const *note = dk_config_notes(c); *note != NULL; note++)
		assert_null(strstr(*note, "insecure"));
	PGconn *conn = connect_config(c);
	if (PQstatus(conn) != CONNECTION_OK)
		fail_msg("%s", PQerrorMessage(conn));
	assert_int_equal(PQsslInUse(conn), 1);
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_pg_schema_migrate(conn, &error));
	PGresult *res = PQexec(conn, "SELECT application_name FROM pg_stat_activity"
	                             " WHERE pid = pg_backend_pid()");
	assert_string_equal(PQgetvalue(res, 0, 0), "docket");
	PQclear(res);
	PQfinish(conn);
	dk_test_pg_drop_database(db);
}

/* The certificate names localhost and 127.0.0.1: a server reached as
 * another name does not prove itself. */
static void test_wrong_server_name_refused(void **state)
{
	g_autofree char *url = url_with("@127.0.0.1:", "@wrong.example:");
	g_autoptr(GString) with_addr = g_string_new(url);
	g_string_append(with_addr, "&hostaddr=127.0.0.1");
	g_autoptr(DkConfig) c = config(with_addr->str, g_getenv("DOCKET_TEST_PG_PASSWORD_FILE"));
	PGconn *conn = connect_config(c);
	assert_int_not_equal(PQstatus(conn), CONNECTION_OK);
	assert_non_null(strstr(PQerrorMessage(conn), "wrong.example"));
	PQfinish(conn);
}

static void test_wrong_password_refused(void **state)
{
	g_autofree char *dir = dk_test_tmpdir();
	g_autofree char *file = g_build_filename(dir, "wrong.secret", NULL);
	dk_test_write_secret(file, "not-the-password\n");
	g_autoptr(DkConfig) c = config(g_getenv("DOCKET_TEST_PG_URL"), file);
	PGconn *conn = connect_config(c);
	assert_int_not_equal(PQstatus(conn), CONNECTION_OK);
	assert_non_null(strstr(PQerrorMessage(conn), "password authentication failed"));
	PQfinish(conn);
	dk_test_rmtree(dir);
}

int main(void)
{
	dk_test_pg_setenv();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connects_and_migrates),
	    cmocka_unit_test(test_wrong_server_name_refused),
	    cmocka_unit_test(test_wrong_password_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
