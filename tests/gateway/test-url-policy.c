/* Tests of the rule for URLs that carry credentials (gateway/ops/url-policy.c). */
#include "dk-test.h"
#include "gateway/error.h"
#include "gateway/ops/url-policy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void test_cases(void **state)
{
	static const struct {
		const char *url;
		gboolean insecure;
		gboolean ok;
		const char *says; /* in the error */
	} cases[] = {
	    {"https://api.example.com/v1", FALSE, TRUE, NULL},
	    {"HTTPS://api.example.com", FALSE, TRUE, NULL},
	    {"http://127.0.0.1:8080/hook", FALSE, TRUE, NULL},
	    {"http://127.8.9.10/hook", FALSE, TRUE, NULL},
	    {"http://[::1]:9000/token", FALSE, TRUE, NULL},
	    {"http://localhost/token", FALSE, TRUE, NULL},
	    {"http://helpdesk.example.com/hook", FALSE, FALSE, "insecure_http = true"},
	    {"http://10.0.0.5/hook", FALSE, FALSE, "without TLS"},
	    {"http://127.0.0.1.evil.example/hook", FALSE, FALSE, "without TLS"},
	    {"http://helpdesk.example.com/hook", TRUE, TRUE, NULL},
	    {"ftp://files.example.com/", TRUE, FALSE, "not an https:// URL"},
	    {"not a url", FALSE, FALSE, "[connector:x] base_url"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gboolean ok =
		    dk_url_policy_check(cases[i].url, cases[i].insecure, "[connector:x] base_url",
		                        "insecure_http", &error);
		if (ok != cases[i].ok)
			fail_msg("%s: %s", cases[i].url, error ? error->message : "accepted");
		if (cases[i].says != NULL) {
			assert_true(g_error_matches(error, DK_ERROR, DK_ERROR_CONFIG));
			if (strstr(error->message, cases[i].says) == NULL)
				fail_msg("%s: “%s” lacks “%s”", cases[i].url, error->message,
				         cases[i].says);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
