/* Helpers for the tests of the PostgreSQL store: the throwaway cluster
 * that the CTest fixture "pg" starts (tests/pg/pg-cluster.py) and scratch
 * databases in it. Header-only, as dk-test.h. */
#pragma once

#include "dk-test.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

/* Reads the fixture's file ($DOCKET_TEST_PG_ENV: KEY=VALUE lines, values
 * quoted for sh) into the environment: DOCKET_TEST_PG_URL,
 * DOCKET_TEST_PG_PASSWORD_FILE, DOCKET_TEST_PG_ADMIN_URL and the others
 * pg-cluster.py describes. Exits DK_TEST_SKIP when there is no cluster
 * (no server binaries, or the test run without the fixture). */
static inline void dk_test_pg_setenv(void)
{
	const char *path = g_getenv("DOCKET_TEST_PG_ENV");
	g_autofree char *text = NULL;
	if (path == NULL || !g_file_get_contents(path, &text, NULL, NULL)) {
		fprintf(stderr, "no PostgreSQL test cluster (%s): skipped\n",
		        path ? path : "DOCKET_TEST_PG_ENV unset");
		exit(DK_TEST_SKIP);
	}
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		char *eq = strchr(lines[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		g_autofree char *value = g_shell_unquote(eq + 1, NULL);
		g_assert_nonnull(value);
		g_setenv(lines[i], value, TRUE);
	}
}

/* A connection to the cluster as its superuser, to database db (NULL:
 * "docket"); aborts the test when it fails. PQfinish it. */
static inline PGconn *dk_test_pg_admin(const char *db)
{
	const char *keys[] = {"dbname", "dbname", NULL};
	const char *values[] = {g_getenv("DOCKET_TEST_PG_ADMIN_URL"), db ? db : "docket", NULL};
	PGconn *conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(conn) != CONNECTION_OK)
		fprintf(stderr, "admin connection: %s", PQerrorMessage(conn));
	g_assert_true(PQstatus(conn) == CONNECTION_OK);
	return conn;
}

/* Runs sql, which returns no rows, on conn; aborts the test when it fails. */
static inline void dk_test_pg_exec(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
	g_assert_true(PQresultStatus(res) == PGRES_COMMAND_OK);
	PQclear(res);
}

/* A new empty database owned by the role docket, named after prefix and
 * a random number; the caller drops it with dk_test_pg_drop_database. */
static inline char *dk_test_pg_create_database(const char *prefix)
{
	char *name = g_strdup_printf("%s_%08x", prefix, g_random_int());
	PGconn *admin = dk_test_pg_admin("postgres");
	g_autofree char *sql = g_strdup_printf("CREATE DATABASE %s OWNER docket", name);
	dk_test_pg_exec(admin, sql);
	PQfinish(admin);
	return name;
}

static inline void dk_test_pg_drop_database(const char *name)
{
	PGconn *admin = dk_test_pg_admin("postgres");
	g_autofree char *sql = g_strdup_printf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	dk_test_pg_exec(admin, sql);
	PQfinish(admin);
}

/* A connection as the role docket (password from its file, TLS verified)
 * to database db; aborts the test when it fails. */
static inline PGconn *dk_test_pg_connect(const char *db)
{
	g_autofree char *password = NULL;
	g_assert_true(
	    g_file_get_contents(g_getenv("DOCKET_TEST_PG_PASSWORD_FILE"), &password, NULL, NULL));
	g_strstrip(password);
	const char *keys[] = {"dbname", "dbname", "password", NULL};
	const char *values[] = {g_getenv("DOCKET_TEST_PG_URL"), db, password, NULL};
	PGconn *conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(conn) != CONNECTION_OK)
		fprintf(stderr, "connection: %s", PQerrorMessage(conn));
	g_assert_true(PQstatus(conn) == CONNECTION_OK);
	return conn;
}
