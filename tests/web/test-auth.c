/* gateway/web/auth.c and session.c: roles, Argon2id passwords, tokens,
 * the CSRF check, and the HTTP status of each error. */
#include "dk-test-store.h"
#include "gateway/error.h"
#include "gateway/store/store-users.h"
#include "gateway/web/auth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

static int setup(void **state)
{
	*state = dk_test_store_new();
	return 0;
}

static int teardown(void **state)
{
	dk_test_store_free(*state);
	return 0;
}

/* Runs ok, a write, in its own transaction. */
static void committed(DkStore *store, gboolean ok)
{
	assert_true(ok);
	assert_true(dk_store_commit(store, NULL));
}

static void add_user(DkStore *store, const char *name, DkUserRole role, const char *password)
{
	assert_true(dk_store_begin(store, NULL));
	committed(store,
	          dk_auth_user_add(store, name, role, NULL, NULL, 1, NULL, NULL) &&
	              (password == NULL || dk_auth_password_set(store, name, password, NULL)));
}

static void test_roles(void **state)
{
	DkUserRole role;
	for (DkUserRole r = DK_USER_READ_ONLY; r <= DK_USER_ADMIN; r++) {
		assert_true(dk_user_role_parse(dk_user_role_name(r), &role));
		assert_int_equal(role, r);
	}
	assert_false(dk_user_role_parse("root", &role));
	assert_false(dk_user_role_parse(NULL, &role));
	DkUser agent = {.name = "alice", .role = DK_USER_AGENT};
	assert_true(dk_user_can(&agent, DK_USER_READ_ONLY));
	assert_true(dk_user_can(&agent, DK_USER_AGENT));
	assert_false(dk_user_can(&agent, DK_USER_ADMIN));
	g_autoptr(GError) error = NULL;
	assert_false(dk_user_require(&agent, DK_USER_ADMIN, &error));
	assert_true(g_error_matches(error, DK_WEB_ERROR, DK_WEB_ERROR_FORBIDDEN));
	assert_int_equal(dk_web_error_status(error), 403);
	g_clear_error(&error);
	assert_false(dk_user_require(NULL, DK_USER_READ_ONLY, &error));
	assert_int_equal(dk_web_error_status(error), 401);
	agent.disabled = TRUE;
	assert_false(dk_user_can(&agent, DK_USER_READ_ONLY));
}

static void test_login(void **state)
{
	DkTestStore *f = *state;
	add_user(f->store, "alice", DK_USER_AGENT, "correct horse battery");
	add_user(f->store, "nopass", DK_USER_AGENT, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(DkUser) alice = dk_auth_login(f->store, "alice", "correct horse battery", &error);
	assert_non_null(alice);
	assert_string_equal(alice->name, "alice");
	assert_int_equal(alice->role, DK_USER_AGENT);
	/* The store keeps an Argon2id hash, not the password. */
	g_autoptr(DkUserRow) row = dk_store_user_get(f->store, "alice", NULL);
	assert_true(g_str_has_prefix(row->password_hash, "$argon2id$"));
	assert_null(strstr(row->password_hash, "correct horse"));
	const char *const wrong[][2] = {
	    {"alice", "wrong horse battery"}, {"bob", "correct horse battery"}, {"nopass", ""}};
	for (guint i = 0; i < G_N_ELEMENTS(wrong); i++) {
		g_clear_error(&error);
		assert_null(dk_auth_login(f->store, wrong[i][0], wrong[i][1], &error));
		assert_true(g_error_matches(error, DK_WEB_ERROR, DK_WEB_ERROR_UNAUTHORIZED));
		assert_string_equal(error->message, "wrong name or password");
	}
	assert_true(dk_store_begin(f->store, NULL));
	committed(f->store, dk_auth_user_set_disabled(f->store, "alice", TRUE, NULL));
	g_clear_error(&error);
	assert_null(dk_auth_login(f->store, "alice", "correct horse battery", &error));
}

static void test_bad_names_and_passwords(void **state)
{
	DkTestStore *f = *state;
	g_autoptr(GError) error = NULL;
	assert_true(dk_store_begin(f->store, NULL));
	assert_false(
	    dk_auth_user_add(f->store, "Alice Smith", DK_USER_AGENT, NULL, NULL, 1, NULL, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	assert_true(dk_auth_user_add(f->store, "alice", DK_USER_AGENT, NULL, NULL, 1, NULL, NULL));
	g_clear_error(&error);
	assert_false(
	    dk_auth_user_add(f->store, "alice", DK_USER_ADMIN, NULL, NULL, 1, NULL, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	g_clear_error(&error);
	assert_false(dk_auth_password_set(f->store, "alice", "short", &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	g_clear_error(&error);
	assert_false(dk_auth_password_set(f->store, "nobody", "long enough", &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
	dk_store_rollback(f->store);
}

static void test_tokens(void **state)
{
	DkTestStore *f = *state;
	add_user(f->store, "alice", DK_USER_ADMIN, NULL);
	g_autofree char *token = NULL;
	gint64 id = 0;
	assert_true(dk_store_begin(f->store, NULL));
	committed(f->store, dk_auth_token_create(f->store, "alice", "ci", 1, &token, &id, NULL));
	assert_true(g_str_has_prefix(token, "dkt_"));
	assert_int_equal(strlen(token), 4 + 43);
	g_autoptr(DkUser) user = dk_auth_token_user(f->store, token, NULL);
	assert_non_null(user);
	assert_string_equal(user->name, "alice");
	g_autoptr(GError) error = NULL;
	g_autofree char *other = g_strdup(token);
	other[10] = other[10] == 'a' ? 'b' : 'a';
	assert_null(dk_auth_token_user(f->store, other, &error));
	assert_true(g_error_matches(error, DK_WEB_ERROR, DK_WEB_ERROR_UNAUTHORIZED));
	assert_true(dk_store_begin(f->store, NULL));
	committed(f->store, dk_auth_token_revoke(f->store, id, NULL));
	g_clear_error(&error);
	assert_null(dk_auth_token_user(f->store, token, &error));
	assert_true(dk_store_begin(f->store, NULL));
	g_clear_error(&error);
	assert_false(dk_auth_token_revoke(f->store, id, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_NOT_FOUND));
	dk_store_rollback(f->store);
}

static void test_random_tokens_differ(void **state)
{
	g_autofree char *a = dk_auth_random_token("");
	g_autofree char *b = dk_auth_random_token("");
	assert_int_equal(strlen(a), 43);
	assert_string_not_equal(a, b);
	assert_null(strpbrk(a, "+/="));
}

static void test_csrf(void **state)
{
	DkSession session = {.csrf = "s3cret-token"};
	g_autoptr(GError) error = NULL;
	assert_true(dk_session_check_csrf(&session, "s3cret-token", NULL));
	const char *const wrong[] = {"s3cret-tokeN", "s3cret-toke", "s3cret-token!", ""};
	for (guint i = 0; i < G_N_ELEMENTS(wrong); i++) {
		g_clear_error(&error);
		assert_false(dk_session_check_csrf(&session, wrong[i], &error));
		assert_true(g_error_matches(error, DK_WEB_ERROR, DK_WEB_ERROR_CSRF));
	}
	assert_false(dk_session_check_csrf(&session, NULL, NULL));
}

static void test_error_statuses(void **state)
{
	const struct {
		GQuark domain;
		int code;
		guint status;
		const char *name;
	} cases[] = {
	    {DK_WEB_ERROR, DK_WEB_ERROR_INVALID, 400, "invalid"},
	    {DK_WEB_ERROR, DK_WEB_ERROR_TOO_LARGE, 413, "too_large"},
	    {DK_ERROR, DK_ERROR_NOT_FOUND, 404, "not_found"},
	    {DK_ERROR, DK_ERROR_PERMANENT, 409, "conflict"},
	    {DK_ERROR, DK_ERROR_TEMPORARY, 503, "unavailable"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) e = g_error_new_literal(cases[i].domain, cases[i].code, "x");
		assert_int_equal(dk_web_error_status(e), cases[i].status);
		assert_string_equal(dk_web_error_code(e), cases[i].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test_setup_teardown(test_login, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names_and_passwords, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
	    cmocka_unit_test(test_random_tokens_differ),
	    cmocka_unit_test(test_csrf),
	    cmocka_unit_test(test_error_statuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
