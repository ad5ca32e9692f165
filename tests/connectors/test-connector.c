/* Tests of the connectors' common parts: [connector:NAME] to DkConnector
 * (credentials, maps, errors), queue matching, the webhook's event JSON,
 * and HTTP failures classified as temporary. */
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/outbox/connector-events.h"
#include "gateway/outbox/connectors/connector.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

typedef struct {
	char *dir;
	DkConfig *config;
} Fixture;

/* A configuration of text, with @CREDS@ replaced by a credentials file
 * holding creds. */
static Fixture *fixture_new(const char *text, const char *creds)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = dk_test_tmpdir();
	g_autofree char *cpath = g_build_filename(f->dir, "creds", NULL);
	dk_test_write_secret(cpath, creds);
	g_auto(GStrv) parts = g_strsplit(text, "@CREDS@", -1);
	g_autofree char *conf = g_strjoinv(cpath, parts);
	g_autofree char *path = g_build_filename(f->dir, "docket.conf", NULL);
	g_assert_true(g_file_set_contents(path, conf, -1, NULL));
	g_autoptr(GError) error = NULL;
	f->config = dk_config_load(path, &error);
	g_assert_no_error(error);
	return f;
}

static void fixture_free(Fixture *f)
{
	dk_config_free(f->config);
	dk_test_rmtree(f->dir);
	g_free(f->dir);
	g_free(f);
}

static void test_from_config(void **state)
{
	Fixture *f = fixture_new("[connector:psa]\ntype = connectwise\n"
	                         "base_url = https://cw.example/v4_6_release/apis/3.0//\n"
	                         "credentials_file = @CREDS@\nqueues = it, billing\n"
	                         "status_map = waiting = Waiting Customer\n",
	                         "# keys\ncompany = acme\n public_key=pub \nprivate_key = p=v\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConnector) c = dk_connector_new(f->config, "psa", &error);
	assert_non_null(c);
	assert_ptr_equal(c->ops, &dk_connector_connectwise);
	assert_string_equal(c->base_url, "https://cw.example/v4_6_release/apis/3.0");
	assert_string_equal(dk_connector_credential(c, "company"), "acme");
	assert_string_equal(dk_connector_credential(c, "public_key"), "pub");
	assert_string_equal(dk_connector_credential(c, "private_key"), "p=v");
	assert_null(dk_connector_credential(c, "client_id"));
	assert_string_equal(dk_connector_map(c->status_map, "waiting"), "Waiting Customer");
	assert_string_equal(dk_connector_map(c->status_map, "open"), "open");
	assert_int_equal(g_hash_table_size(c->status_map), 1);
	assert_int_equal(c->timeout_seconds, 30);
	assert_string_equal(c->reference_prefix, "docket");
	assert_true(dk_connector_queue_matches(c->queues, "billing"));
	assert_false(dk_connector_queue_matches(c->queues, "default"));
	fixture_free(f);
}

/* A section without base_url, or naming a credentials file that is not
 * there, is refused when the configuration loads (the validator). */
static void test_config_errors(void **state)
{
	static const char text[] = "[connector:a]\ntype = webhook\n"
	                           "[connector:b]\nbase_url = https://x\n"
	                           "credentials_file = /nonexistent/k\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(DkConfig) config = dk_config_load_data(text, strlen(text), "t.conf", &error);
	assert_null(config);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
	assert_non_null(strstr(error->message, "t.conf:1: [connector:a]: base_url is not set"));
	assert_non_null(strstr(error->message, "t.conf:5: [connector:b] credentials_file:"));
	Fixture *f = fixture_new("[connector:a]\nbase_url = https://x\n", "");
	g_autoptr(GError) e3 = NULL;
	assert_null(dk_connector_new(f->config, "c", &e3));
	assert_true(g_error_matches(e3, DK_ERROR, DK_ERROR_CONFIG));
	fixture_free(f);
}

static void test_queue_matches(void **state)
{
	char *all[] = {"*", NULL}, *none[] = {NULL};
	assert_true(dk_connector_queue_matches(all, "default"));
	assert_false(dk_connector_queue_matches(none, "default"));
	assert_false(dk_connector_queue_matches(NULL, "default"));
	assert_null(dk_connector_ops("zendesk"));
	assert_ptr_equal(dk_connector_ops("webhook"), &dk_connector_webhook);
}

static void test_event_json(void **state)
{
	Fixture *f = fixture_new("[connector:hook]\nbase_url = http://127.0.0.1:9/\n", "");
	g_autoptr(DkConnector) c = dk_connector_new(f->config, "hook", NULL);
	assert_non_null(c);
	DkTicket t = {.number = 7,
	              .subject = "S",
	              .status = DK_STATUS_RESOLVED,
	              .priority = "high",
	              .queue = "default",
	              .requester = "a@example.org",
	              .created_at = 10,
	              .updated_at = 20};
	DkArticle a = {.id = 3,
	               .direction = DK_OUTBOUND,
	               .visibility = DK_INTERNAL,
	               .sender = "agent@example.org",
	               .new_text = "Done.",
	               .created_at = 20};
	DkConnectorEvent e = {.event = "ticket.updated",
	                      .ticket = &t,
	                      .article = &a,
	                      .field = "status",
	                      .old_value = "new",
	                      .new_value = "resolved",
	                      .reference = "docket-7",
	                      .outbox_id = 42};
	g_autoptr(json_t) o = dk_connector_event_json(c, &e);
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "hook-42");
	assert_string_equal(json_string_value(json_object_get(o, "reference")), "docket-7");
	json_t *ticket = json_object_get(o, "ticket");
	assert_int_equal(json_integer_value(json_object_get(ticket, "number")), 7);
	assert_true(json_is_null(json_object_get(ticket, "assignee")));
	json_t *article = json_object_get(o, "article");
	assert_string_equal(json_string_value(json_object_get(article, "visibility")), "internal");
	assert_true(json_is_null(json_object_get(article, "message_id")));
	json_t *change = json_object_get(o, "change");
	assert_string_equal(json_string_value(json_object_get(change, "new")), "resolved");
	e.field = NULL;
	e.article = NULL;
	g_autoptr(json_t) bare = dk_connector_event_json(c, &e);
	assert_null(json_object_get(bare, "change"));
	assert_null(json_object_get(bare, "article"));
	fixture_free(f);
}

/* Nothing listens on the discard port of loopback: refused, temporary. */
static void test_http_refused_is_temporary(void **state)
{
	Fixture *f = fixture_new("[connector:hook]\nbase_url = http://127.0.0.1:9\n"
	                         "timeout_seconds = 2\n",
	                         "");
	g_autoptr(DkConnector) c = dk_connector_new(f->config, "hook", NULL);
	g_autoptr(GError) error = NULL;
	assert_false(dk_connector_http(c, "GET", "/x", NULL, NULL, NULL, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_TEMPORARY));
	assert_non_null(strstr(error->message, "hook: GET /x"));
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_config),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_queue_matches),
	    cmocka_unit_test(test_event_json),
	    cmocka_unit_test(test_http_refused_is_temporary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
