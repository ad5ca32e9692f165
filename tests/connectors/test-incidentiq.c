/* Tests of the Incident IQ connector's parts that need no server: the type
 * in the configuration, and the headers its authentication adds (Bearer
 * token, SiteId, ProductId with the Ticketing default, Client). */
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/outbox/connectors/connector.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define SITE "bb6cece8-e4f4-e511-a789-005056bb000e"

/* A connector "iiq" of type incidentiq whose credentials file holds creds;
 * the folder in *dir_out, the configuration in *config_out. */
static DkConnector *make(const char *creds, char **dir_out, DkConfig **config_out)
{
	*dir_out = dk_test_tmpdir();
	g_autofree char *path = g_build_filename(*dir_out, "iiq.key", NULL);
	dk_test_write_secret(path, creds);
	g_autofree char *text = g_strdup_printf(
	    "[connector:iiq]\ntype = incidentiq\nbase_url = "
	    "https://district.incidentiq.com/api/v1.0\n"
	    "credentials_file = %s\nlocation_id = 1fd1574a-2243-e611-a93b-a45e60e682da\n",
	    path);
	g_autoptr(GError) error = NULL;
	*config_out = dk_config_load_data(text, strlen(text), "test.conf", &error);
	g_assert_no_error(error);
	DkConnector *c = dk_connector_new(*config_out, "iiq", &error);
	g_assert_no_error(error);
	return c;
}

static void done(DkConnector *c, char *dir, DkConfig *config)
{
	dk_connector_free(c);
	dk_config_free(config);
	dk_test_rmtree(dir);
	g_free(dir);
}

/* The headers of list, one string each, joined by "|". */
static char *joined(const struct curl_slist *list)
{
	g_autoptr(GString) s = g_string_new(NULL);
	for (; list != NULL; list = list->next)
		g_string_append_printf(s, "%s%s", s->len ? "|" : "", list->data);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void test_type_and_headers(void **state)
{
	char *dir;
	DkConfig *config;
	DkConnector *c =
	    make("token = tok.en\nsite_id = " SITE "\nproduct_id = p-1\n", &dir, &config);
	assert_ptr_equal(dk_connector_ops("incidentiq"), &dk_connector_incidentiq);
	assert_ptr_equal(c->ops, &dk_connector_incidentiq);
	assert_true(c->ops->remote_ids);
	struct curl_slist *h = NULL;
	g_autoptr(GError) error = NULL;
	assert_true(c->ops->auth(c, &h, &error));
	g_autofree char *all = joined(h);
	assert_string_equal(all, "Authorization: Bearer tok.en|SiteId: " SITE
	                         "|ProductId: p-1|Client: ApiClient");
	curl_slist_free_all(h);
	done(c, dir, config);
}

static void test_product_defaults_to_ticketing(void **state)
{
	char *dir;
	DkConfig *config;
	DkConnector *c = make("token = t\nsite_id = " SITE "\n", &dir, &config);
	struct curl_slist *h = NULL;
	assert_true(c->ops->auth(c, &h, NULL));
	g_autofree char *all = joined(h);
	assert_non_null(strstr(all, "|ProductId: 88df910c-91aa-e711-80c2-0004ffa00010|"));
	curl_slist_free_all(h);
	done(c, dir, config);
}

static void test_missing_site_is_permanent(void **state)
{
	char *dir;
	DkConfig *config;
	DkConnector *c = make("token = secret-token\n", &dir, &config);
	struct curl_slist *h = NULL;
	g_autoptr(GError) error = NULL;
	assert_false(c->ops->auth(c, &h, &error));
	assert_null(h);
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_PERMANENT));
	assert_non_null(strstr(error->message, "site_id"));
	assert_null(strstr(error->message, "secret-token"));
	done(c, dir, config);
}

static void test_unknown_type_is_a_config_error(void **state)
{
	const char text[] = "[connector:x]\ntype = incidentIQ\nbase_url = http://x\n";
	g_autoptr(GError) error = NULL;
	assert_null(dk_config_load_data(text, strlen(text), "test.conf", &error));
	assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_type_and_headers),
	    cmocka_unit_test(test_product_defaults_to_ticketing),
	    cmocka_unit_test(test_missing_site_is_permanent),
	    cmocka_unit_test(test_unknown_type_is_a_config_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
