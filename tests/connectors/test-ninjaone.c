/* Tests of the NinjaOne connector's configuration (its init reads
 * ticket_form and organisation_map), the answer and text helpers it
 * shares, and that an unreachable token endpoint is a temporary failure
 * that sends nothing. The requests themselves are tested against the mock
 * in test_ninjaone.py. */
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/outbox/connectors/connector.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static char *dir; /* the group's scratch directory */

static int group_setup(void **state)
{
	dir = dk_test_tmpdir();
	return 0;
}

static int group_teardown(void **state)
{
	dk_test_rmtree(dir);
	g_free(dir);
	return 0;
}

/* The connector of [connector:ninja], type ninjaone, with more lines in
 * its section and creds as its credentials file; NULL and *error when it
 * cannot be made. */
static DkConnector *connector_new(const char *more, const char *creds, GError **error)
{
	g_autofree char *cpath = g_build_filename(dir, "creds", NULL);
	dk_test_write_secret(cpath, creds);
	g_autofree char *text = g_strdup_printf("[connector:ninja]\ntype = ninjaone\n"
	                                        "base_url = http://127.0.0.1:9\n"
	                                        "credentials_file = %s\ntimeout_seconds = 2\n%s",
	                                        cpath, more);
	g_autoptr(DkConfig) config = dk_config_load_data(text, strlen(text), "test.conf", NULL);
	g_assert_nonnull(config);
	return dk_connector_new(config, "ninja", error);
}

static void test_from_config(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConnector) c =
	    connector_new("ticket_form = 4\norganisation_map = Customer.Example = 12, *=3\n",
	                  "client_id = id\nclient_secret = s\n", &error);
	assert_non_null(c);
	assert_ptr_equal(c->ops, &dk_connector_ninjaone);
	assert_ptr_equal(dk_connector_ops("ninjaone"), &dk_connector_ninjaone);
	assert_non_null(c->state);
	assert_non_null(c->state_free);
}

/* Each line is refused, as a configuration error naming the key. */
static void test_config_errors(void **state)
{
	static const char *const cases[][2] = {
	    {"", "ticket_form"},
	    {"ticket_form = Email\n", "ticket_form"},
	    {"ticket_form = 0\n", "ticket_form"},
	    {"ticket_form = 99999999999\n", "ticket_form"},
	    {"ticket_form = 4\norganisation_map = customer.example\n", "organisation_map"},
	    {"ticket_form = 4\norganisation_map = customer.example=Customer Co\n",
	     "organisation_map"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		assert_null(connector_new(cases[i][0], "", &error));
		assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
		assert_non_null(strstr(error->message, cases[i][1]));
	}
}

static void test_answer_helpers(void **state)
{
	DkConnector c = {.name = "ninja"};
	g_autoptr(json_t) good = json_pack("{sI}", "id", (json_int_t)4711);
	g_autoptr(json_t) text = json_pack("{ss}", "id", "4711");
	g_autofree char *id = NULL, *none = NULL;
	g_autoptr(GError) error = NULL;
	assert_true(dk_connector_take_id(&c, good, &id, NULL));
	assert_string_equal(id, "4711");
	assert_null(dk_connector_id(text));
	assert_null(dk_connector_id(NULL));
	assert_false(dk_connector_take_id(&c, text, &none, &error));
	assert_null(none);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	DkArticle empty = {.new_text = ""}, full = {.new_text = "Toner."};
	assert_string_equal(dk_connector_text(NULL), "(no text)");
	assert_string_equal(dk_connector_text(&empty), "(no text)");
	assert_string_equal(dk_connector_text(&full), "Toner.");
}

/* Nothing listens on the discard port: the token cannot be had, which is
 * temporary, and no ticket is created. */
static void test_token_endpoint_unreachable(void **state)
{
	g_autoptr(DkConnector) c = connector_new("ticket_form = 4\norganisation_map = *=3\n",
	                                         "client_id = id\nclient_secret = s\n", NULL);
	assert_non_null(c);
	DkTicket t = {.number = 1,
	              .subject = "S",
	              .status = DK_STATUS_NEW,
	              .priority = "none",
	              .queue = "default",
	              .requester = "a@customer.example"};
	DkConnectorEvent e = {.event = "ticket.created", .ticket = &t, .reference = "docket-1"};
	g_autofree char *remote = NULL;
	g_autoptr(GError) error = NULL;
	assert_false(c->ops->create_ticket(c, &e, &remote, &error));
	assert_null(remote);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_TEMPORARY));
	assert_non_null(strstr(error->message, "http://127.0.0.1:9/ws/oauth/token"));
	assert_null(strstr(error->message, "client_secret"));
}

/* Without client_secret no request is made: a permanent error that says
 * which keys are needed. */
static void test_missing_credentials(void **state)
{
	g_autoptr(DkConnector) c = connector_new("ticket_form = 4\n", "client_id = id\n", NULL);
	g_autoptr(GString) report = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	assert_false(c->ops->check(c, report, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	assert_non_null(strstr(error->message, "client_id and client_secret"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_config),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_answer_helpers),
	    cmocka_unit_test(test_token_endpoint_unreachable),
	    cmocka_unit_test(test_missing_credentials),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
