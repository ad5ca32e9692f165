/* Tests of what the OpsPilot and Omnidesk connectors share with the
 * others: the keys they add to [connector:NAME] and their defaults,
 * vocabulary words over the maps, the organisation of a requester's
 * domain, ids in answers, and an API key carried on the URL that never
 * shows in an error. */
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/json.h"
#include "gateway/outbox/connectors/connector.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

/* The configuration holding section (credentials: api_key = KEY-1234)
 * as connector "x", kept alive beside the connector that borrows it. */
typedef struct {
	DkConfig *config;
	DkConnector *c;
} Loaded;

static Loaded load(const char *section, GError **error)
{
	Loaded l = {0};
	g_autofree char *dir = dk_test_tmpdir();
	g_autofree char *creds = g_build_filename(dir, "key", NULL);
	g_autofree char *conf = g_build_filename(dir, "docket.conf", NULL);
	g_autofree char *text =
	    g_strdup_printf("[connector:x]\ncredentials_file = %s\n%s", creds, section);
	dk_test_write_secret(creds, "api_key = KEY-1234\n");
	g_assert_true(g_file_set_contents(conf, text, -1, NULL));
	l.config = dk_config_load(conf, error);
	l.c = l.config ? dk_connector_new(l.config, "x", error) : NULL;
	dk_test_rmtree(dir);
	return l;
}

static void unload(Loaded *l)
{
	dk_connector_free(l->c);
	dk_config_free(l->config);
}

static const DkConnectorWord defaults[] = {{"new", "New"}, {"resolved", "Resolved"}};
static const char *const known[] = {"New", "Resolved", "Closed", NULL};
static const DkConnectorVocabulary status = {"status", defaults, G_N_ELEMENTS(defaults), known};
static const DkConnectorVocabulary priority = {"priority", defaults, 0, known};

static void test_new_keys_and_defaults(void **state)
{
	g_autoptr(GError) error = NULL;
	Loaded l = load("type = omnidesk\nbase_url = http://127.0.0.1:9\n", &error);
	assert_non_null(l.c);
	assert_ptr_equal(l.c->ops, &dk_connector_omnidesk);
	assert_int_equal(dk_connector_setting_int(l.c, "channel"), 1);
	assert_string_equal(dk_connector_setting(l.c, "note_type"), "calllog");
	assert_string_equal(dk_connector_setting(l.c, "api_key_in"), "query");
	assert_string_equal(dk_connector_setting(l.c, "brand"), "");
	g_autoptr(GHashTable) domains = dk_connector_setting_map(l.c, "organisation_map");
	assert_int_equal(g_hash_table_size(domains), 0);
	assert_ptr_equal(dk_connector_ops("opspilot"), &dk_connector_opspilot);
	unload(&l);
	g_autoptr(GError) bad = NULL;
	l = load("type = omnidesk\nbase_url = https://h.example\napi_key_in = cookie\n", &bad);
	assert_null(l.c);
	assert_true(g_error_matches(bad, DK_ERROR, DK_ERROR_CONFIG));
	unload(&l);
}

static void test_words(void **state)
{
	Loaded l = load("type = opspilot\nbase_url = https://h.example\nstatus_map = "
	                "resolved=Closed, waiting=Later\n",
	                NULL);
	DkConnector *c = l.c;
	assert_non_null(c);
	assert_string_equal(dk_connector_word(c, &status, "new"), "New");
	assert_string_equal(dk_connector_word(c, &status, "resolved"), "Closed");
	assert_string_equal(dk_connector_word(c, &status, "waiting"), "Later");
	assert_null(dk_connector_word(c, &status, "on_hold"));
	assert_null(dk_connector_word(c, &status, NULL));
	assert_null(dk_connector_word(c, &priority, "resolved"));
	g_autoptr(GString) report = g_string_new(NULL);
	assert_false(dk_connector_words_known(c, &status, &priority, report));
	assert_string_equal(report->str,
	                    "x: status \"Later\" (for waiting) is not one of the system's\n");
	g_hash_table_remove(c->status_map, "waiting");
	g_string_truncate(report, 0);
	assert_true(dk_connector_words_known(c, &status, &priority, report));
	assert_string_equal(report->str, "");
	unload(&l);
}

static void assert_domain(DkConnector *c, const char *address, const char *fallback,
                          const char *want)
{
	g_autofree char *got = dk_connector_for_domain(c, address, fallback);
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void test_for_domain(void **state)
{
	Loaded l = load("type = opspilot\nbase_url = https://h.example\n"
	                "organisation_map = Customer.Example=cus_1, b.example=\n",
	                NULL);
	assert_non_null(l.c);
	assert_domain(l.c, "Alice@customer.EXAMPLE", "dflt", "cus_1");
	assert_domain(l.c, "bob@other.example", "dflt", "dflt");
	assert_domain(l.c, "no-domain", "dflt", "dflt");
	assert_domain(l.c, "bob@other.example", "", NULL);
	assert_domain(l.c, NULL, NULL, NULL);
	assert_domain(l.c, "x@b.example", "", NULL);
	unload(&l);
	l = load(
	    "type = omnidesk\nbase_url = https://h.example\norganisation_map = *=2, a.example=3\n",
	    NULL);
	assert_domain(l.c, "x@A.example", "9", "3");
	assert_domain(l.c, "x@other.example", "9", "2");
	unload(&l);
}

static void test_ids(void **state)
{
	g_autoptr(json_t) o =
	    json_pack("{sI ss ss sb}", "n", (json_int_t)858462, "s", "tkt_1", "empty", "", "b", 1);
	g_autofree char *n = dk_connector_member_id(o, "n");
	g_autofree char *s = dk_connector_member_id(o, "s");
	assert_string_equal(n, "858462");
	assert_string_equal(s, "tkt_1");
	assert_null(dk_connector_member_id(o, "empty"));
	assert_null(dk_connector_member_id(o, "b"));
	assert_null(dk_connector_member_id(o, "missing"));
	assert_null(dk_connector_member_id(NULL, "n"));
}

/* Nothing listens on the discard port: the error names the path, not the
 * key the URL carried. */
static void test_key_on_the_url_stays_out_of_errors(void **state)
{
	Loaded l =
	    load("type = omnidesk\nbase_url = http://127.0.0.1:9\ntimeout_seconds = 2\n", NULL);
	assert_non_null(l.c);
	g_autoptr(GError) error = NULL;
	assert_false(
	    dk_connector_http(l.c, "GET", "/api/v2/ticket?itemLimit=1", NULL, NULL, NULL, &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_TEMPORARY));
	assert_non_null(strstr(error->message, "x: GET /api/v2/ticket?itemLimit=1"));
	assert_null(strstr(error->message, "KEY-1234"));
	unload(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_keys_and_defaults),
	    cmocka_unit_test(test_words),
	    cmocka_unit_test(test_for_domain),
	    cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_key_on_the_url_stays_out_of_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
